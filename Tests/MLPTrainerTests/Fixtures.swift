import ArenaPlanner
import Foundation
@testable import MLPTrainer
import ModelProfile
import NUMAArena
import TestSupport

/// A trainer over a real planned arena, with its data loaded (synthetic unless the model says otherwise).
final class Fixture<T: TrainingScalar> {
    let model: Model
    let local: LocalTrainer<T>
    var trainer: Trainer<T> { local.trainer }
    var arena: Arena { local.arena }
    var pool: WorkerPool { local.pool }

    /// - Parameter fusesUpdate: false plans stored gradients and an update op even for SGD (gradient checks).
    init(
        _ model: Model, threads: Int = 1, fusesUpdate: Bool = true, guardsLifetimes: Bool = false,
        planAdjustment: ((StepProgram) throws -> ArenaPlan)? = nil
    ) throws {
        self.model = model
        local = try LocalTrainer<T>(
            model: model, threads: threads, fusesUpdate: fusesUpdate, guardsLifetimes: guardsLifetimes,
            planAdjustment: planAdjustment)
    }

    /// Every parameter tensor (W, b, and layer norm's γ, β) with its gradient (nil when the update is fused) and count.
    var parameters: [(values: UnsafeMutablePointer<T>, gradient: UnsafeMutablePointer<T>?, count: Int)] {
        trainer.tensors.layers.flatMap { layer in layer.parameters.map { ($0.values, $0.gradient, $0.count) } }
    }

    /// Every parameter's values, flattened.
    var parameterValues: [T] { parameters.flatMap { Array(UnsafeBufferPointer(start: $0.values, count: $0.count)) } }
}

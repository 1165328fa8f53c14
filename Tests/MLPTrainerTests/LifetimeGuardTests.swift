import ArenaPlanner
import Foundation
@testable import MLPTrainer
import MemoryBudget
import ModelProfile
import TestSupport
import Testing

/// The trainer touches no tensor outside its planned lifetime: with every arena byte outside the live buffers
/// poisoned with NaN around each op, the losses are bit-identical to a run without the poison.
@Suite("Lifetimes in the trainer")
struct LifetimeGuardTests {
    static let profiles = shippedExactProfileNames()

    /// The profile's model (layers, loss, batch) on a small synthetic data set of its shape.
    func model(_ name: String, optimizer: OptimizerKind, batch: Int? = nil) throws -> Model {
        guard case .exact(var model) = try ProfileParser.load(path: profilePath(name)) else { throw ModelError.noLayers }
        model = try model.with(batchSize: min(batch ?? model.batchSize, 32), optimizer: optimizer)
        let task: SyntheticTask =
            model.loss == .softmaxCrossEntropy
            ? .classes : (model.loss.isClassification ? (model.outputWidth > 1 ? .multilabel : .binary) : .regression)
        model.data = .synthetic(task: task, count: 97, testCount: 5, noise: 0.05, seed: 9)
        return model
    }

    /// Losses of a few steps (a full batch, a one-row batch, another full batch) and an evaluation.
    func losses<T: TrainingScalar>(_ fixture: Fixture<T>) -> [Double] {
        let batch = fixture.model.batchSize
        var result: [Double] = []
        result.append(fixture.trainer.trainStep(.training(orderStart: 0), rows: batch).loss)
        result.append(fixture.trainer.trainStep(.training(orderStart: batch), rows: 1).loss)
        result.append(fixture.trainer.trainStep(.training(orderStart: 3), rows: batch).loss)
        result.append(fixture.trainer.evaluate(.test(start: 0), rows: min(batch, 5)).loss)
        return result + fixture.parameterValues.prefix(64).map { Double($0) }
    }

    @Test("every shipped profile × optimizer, 1 and 2 threads: poisoned and plain runs agree bit for bit", arguments: profiles)
    func shippedProfiles(name: String) throws {
        for optimizer in OptimizerKind.allCases {
            for threads in [1, 2] {
                let m = try model(name, optimizer: optimizer)
                let plain = try Fixture<Float>(m, threads: threads)
                let guarded = try Fixture<Float>(m, threads: threads, guardsLifetimes: true)
                // Equal shares in both: the poisoned run is slower, and what this compares is lifetimes, not splits.
                // (SplitDeterminismTests checks the splits; a 1-ulp difference once seen here in CI is under study.)
                plain.pool.balances = false
                guarded.pool.balances = false
                let expected = losses(plain)
                let observed = losses(guarded)
                let what = "\(name) \(optimizer) \(threads) threads"
                #expect(
                    observed.map(\.bitPattern) == expected.map(\.bitPattern),
                    "\(what): \(observed.prefix(4)) vs \(expected.prefix(4))")
                #expect(guarded.trainer.lifetimeGuard?.violations == [], "\(what)")
                #expect(expected.allSatisfy { $0.isFinite }, "\(what)")
            }
        }
    }

    @Test("a plan that cuts a buffer's lifetime short makes the poisoned run differ")
    func shortenedLifetimeIsCaught() throws {
        let m = try model("fashion-mnist-mlp", optimizer: .adam)
        let plain = try Fixture<Float>(m, threads: 1)
        // a1 is read by fwd2 and, for dW2 and f'(a1), by bwd2; this plan lets it die after fwd2.
        let wrong = try Fixture<Float>(m, threads: 1, guardsLifetimes: true) { program in
            var requests = program.buffers
            let index = try #require(requests.firstIndex { $0.name == "a1" })
            let forward2 = try #require(program.index(of: .forward(layer: 2)))
            requests[index].lifetime = requests[index].lifetime.lowerBound...forward2
            return try BestPlanner().plan(requests, alignment: 64)
        }
        let expected = losses(plain)
        let observed = losses(wrong)
        #expect(observed.map(\.bitPattern) != expected.map(\.bitPattern), "a lifetime cut short went unnoticed")
    }
}

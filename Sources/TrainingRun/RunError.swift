// What can stop a training run once its data and plan are in hand.

import Foundation

/// Why a run stopped or could not start.
public enum RunError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Too few samples to train on after the validation split.
    case notEnoughSamples(reason: String)
    /// The loss became NaN or infinite.
    case diverged(epoch: Int, step: Int, loss: Double, learningRate: Double)
    /// The kernel mapped fewer bytes for the arena than the plan needs (found before any step ran).
    case arenaSmallerThanPlanned(mappedBytes: Int, plannedBytes: Int)
    /// The plan failed its validation (two live buffers share bytes): a bug in a planner, caught before the run.
    case invalidPlan(String)

    public var description: String {
        switch self {
        case .notEnoughSamples(let reason):
            return reason
        case .diverged(let epoch, let step, let loss, let learningRate):
            return "the loss became \(loss.isNaN ? "NaN" : "infinite") at epoch \(epoch), step \(step); "
                + "the learning rate \(String(format: "%g", learningRate)) is probably too large, "
                + "try --learning-rate \(String(format: "%g", learningRate / 10))"
        case .arenaSmallerThanPlanned(let mapped, let planned):
            return "the kernel mapped \(mapped) bytes for the arena but the plan needs \(planned); nothing was trained"
        case .invalidPlan(let reason):
            return "the plan is invalid (\(reason)); this is a bug in memplan's planner, please report it"
        }
    }

}

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
    /// An address-space limit (`ulimit -v`) leaves no room for OpenBLAS's per-thread buffers (found before any step).
    case addressSpaceLimit(limitBytes: Int, mappedBytes: Int, neededBytes: Int, threads: Int)
    /// The test or validation loss is NaN or infinite after training (the training loss stayed finite).
    case nonFiniteEvaluation(set: String, loss: Double, epoch: Int, learningRate: Double)

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
        case .addressSpaceLimit(let limit, let mapped, let needed, let threads):
            let mib = { (bytes: Int) in "\(bytes >> 20) MiB" }
            return
                "the address-space limit (ulimit -v \(limit >> 10)) leaves \(mib(max(0, limit - mapped))) of its \(mib(limit)) free, "
                + "and OpenBLAS needs a 128 MiB buffer for each of \(threads) thread\(threads == 1 ? "" : "s") "
                + "(\(mib(needed)) with their heaps) beyond the arena; raise it to at least ulimit -v \((mapped + needed) >> 10 + 65_536)"
                + (threads > 1 ? " or train with --threads 1" : "") + "; nothing was trained"
        case .nonFiniteEvaluation(let set, let loss, let epoch, let learningRate):
            return "the \(set) loss is \(loss.isNaN ? "NaN" : "infinite") after epoch \(epoch) although the training loss stayed "
                + "finite: the last updates overflowed the model's precision; the learning rate \(String(format: "%g", learningRate)) "
                + "is probably too large (try --learning-rate \(String(format: "%g", learningRate / 10))), or the data's scale "
                + "too large (try --precision double); no record was written"
        }
    }

}

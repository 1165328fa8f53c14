// What a training loop has done so far, kept the same way by the MLP's and the transformer's loops.

import Foundation

/// A run's finished epochs, its seconds and samples in training steps, its global steps, and whether a stop request
/// ended it early.
struct RunTally {
    var epochs: [EpochMetrics] = []
    var trainingSeconds = 0.0
    /// Samples (MLP rows, transformer windows) trained, over every rank.
    var samplesTrained = 0
    var stopped = false
    var globalStep = 0
    /// The first steps, not measured as steady state: two, or one fewer than the run's steps.
    let warmupSteps: Int

    /// The tally of a run planned to take `plannedSteps` global steps.
    init(plannedSteps: Int) { warmupSteps = min(2, max(0, plannedSteps - 1)) }

    /// Runs one training step between the meter's marks (its allocations counted past the warm-up steps) and counts
    /// it; returns its result and its seconds.
    mutating func step<R>(_ meter: RunMeter, _ body: () -> R) -> (result: R, seconds: Double) {
        let started = DispatchTime.now().uptimeNanoseconds
        meter.stepStarts(steady: globalStep >= warmupSteps)
        let result = body()
        meter.stepEnds()
        globalStep += 1
        return (result, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }

    /// Samples per second of training steps.
    var samplesPerSecond: Double { Double(samplesTrained) / max(trainingSeconds, 1e-9) }
}

extension TrainingOptions {
    /// Tells `progress` where an epoch is after its 1-based step `step` of `steps`, every `progressInterval` steps: the
    /// mean training loss so far and the epoch's samples per second.
    func reportStep(epoch: Int, of epochs: Int, step: Int, of steps: Int, trainLoss: Double, samples: Int, seconds: Double) {
        guard let progress, step % progressInterval == 0 else { return }
        progress(
            TrainingProgress(
                epoch: epoch, epochs: epochs, step: step, steps: steps, trainLoss: trainLoss,
                samplesPerSecond: Double(samples) / max(seconds, 1e-9), isEpochEnd: false, epochMetrics: nil))
    }
}

// A transformer's training run, stage by stage as an MLP's: text size → step program → plan (validated) → arena
// (measured) → text read into it → epochs of shuffled windows → measurements.

import ArenaPlanner
import Foundation
import MLPTrainer
import MemoryBudget
import ModelProfile
import NUMAArena
import TrainingData

/// Trains a transformer on its text inside one planned arena.
public enum TransformerSession {
    /// The plan a run of `model` would use (the text's bytes and window order included), without running it.
    /// With `ranks`, the plan is one rank's (`StepProgram.rankBuffers`).
    public static func plan(
        _ model: TransformerModel, dataPath: String? = nil, alignment: Int = 64, threads: Int = 1,
        ranks: (strategy: ShardingStrategy, devices: Int)? = nil
    ) throws -> (TextLoader, StepProgram, ArenaPlan) {
        let loader = try TextLoader(model: model, dataPath: dataPath)
        let table = try StepTable(
            transformer: model, options: StepOptions(parts: threads, plansPacking: BF16.amxEnabled),
            textBytes: (loader.trainCount, loader.validationCount))
        let program = StepProgram(table: table)
        let buffers = try ranks.map { try program.rankBuffers(strategy: $0.strategy, devices: $0.devices) } ?? program.buffers
        return (loader, program, try TrainingSession.validatedPlan(buffers, alignment: alignment))
    }

    /// Trains `model` for its epochs: each epoch shuffles the training windows (T + 1 tokens every T) and steps over
    /// them B at a time; after each epoch the loss on the held-out text (up to 64 batches of B windows).
    ///
    /// - Throws: `DataError`, `RunError` (divergence, a short arena), `TrainerError`, `NUMAError`, `BudgetError`/`PlanError`.
    public static func run(_ model: TransformerModel, options: TrainingOptions = TrainingOptions()) throws -> TrainingResult {
        guard model.precision.isTrainable else { throw TrainerError.unsupportedPrecision(model.precision.rawValue) }
        guard model.lora == nil else { throw TrainerError.unsupportedAdapters }
        let threads = max(1, options.threadCount ?? ProcessMemory.allowedCPUCount())
        let ranks = options.ranks
        let rankCount = ranks?.link.size ?? 1
        precondition(
            options.checkpointPath == nil || ranks?.strategy != .zero3,
            "TransformerSession: under zero3 no rank holds the whole model to save (the CLI refuses --save-checkpoint)")
        let (loader, program, plan) = try plan(
            model, dataPath: options.dataPath, alignment: options.alignment, threads: threads,
            ranks: ranks.map { ($0.strategy, $0.link.size) })
        let budget = try MemoryBudget.estimate(program.table)
        let placed = try RunArena(plan, options: options)
        let (arena, meter, threadsBound, plannedNode) = (placed.arena, placed.meter, placed.threadsBound, placed.plannedNode)
        let engine = try TransformerEngine(
            program: program, plan: plan, arena: arena, threads: threads, guardsLifetimes: options.guardsLifetimes,
            ranks: ranks)
        try engine.load(loader)
        engine.initializeParameters(seed: model.seed)
        let windows = engine.windowCount
        let order = engine.order
        for index in 0..<windows { order[index] = Int32(index) }
        var generator = SplitMix64(seed: model.seed &+ 0x5EED)
        meter.afterLoad()

        let batch = model.batchSize
        // Over ranks a global step takes N·B windows of the shared order; rank r the B from r·B.
        let globalBatch = batch * rankCount
        let stepsPerEpoch = windows / globalBatch
        guard stepsPerEpoch >= 1 else {
            throw RunError.notEnoughSamples(
                reason:
                    "\(loader.summary) gives \(windows) training window(s) of \(model.sequenceLength + 1) tokens; a step needs \(globalBatch)"
            )
        }
        try options.afterPrepare?()
        let totalSteps = min(stepsPerEpoch * model.epochs, options.maxSteps ?? Int.max)
        var tally = RunTally(plannedSteps: totalSteps)
        epochLoop: for epoch in 1...model.epochs {
            TrainingSession.shuffle(order, count: windows, using: &generator)
            var lossSum = 0.0
            var epochSeconds = 0.0
            var steps = 0
            for step in 0..<stepsPerEpoch {
                let (loss, elapsed) = tally.step(meter) {
                    engine.trainStep(windowStart: step * globalBatch + (ranks?.link.rank ?? 0) * batch)
                }
                epochSeconds += elapsed
                guard loss.isFinite else {
                    throw RunError.diverged(epoch: epoch, step: step + 1, loss: loss, learningRate: model.optimizer.learningRate)
                }
                lossSum += loss
                steps += 1
                meter.afterFirstStep(arena)
                options.reportStep(
                    epoch: epoch, of: model.epochs, step: step + 1, of: stepsPerEpoch, trainLoss: lossSum / Double(steps),
                    samples: steps * globalBatch, seconds: epochSeconds)
                if ranks == nil, let shouldStop = options.shouldStop, shouldStop() {
                    tally.stopped = true
                    break
                }
                if let maxSteps = options.maxSteps, tally.globalStep >= maxSteps { break }
            }
            if let ranks { lossSum = ranks.link.sum([lossSum])[0] / Double(rankCount) }  // each rank's mean, averaged
            tally.trainingSeconds += epochSeconds
            tally.samplesTrained += steps * globalBatch
            var metrics = EpochMetrics(
                epoch: epoch, trainLoss: lossSum / Double(max(steps, 1)), trainAccuracy: nil, validationLoss: nil,
                validationAccuracy: nil, seconds: epochSeconds)
            if !tally.stopped {
                // Batches of the global batch's windows; over ranks each rank takes its B of every one, and the mean of
                // the ranks' means is the mean over all of them.
                let batches = min(64, max(1, (engine.validationWindowCount + globalBatch - 1) / globalBatch))
                var validation = 0.0
                for index in 0..<batches {
                    validation += engine.validationLoss(windowStart: index * globalBatch + (ranks?.link.rank ?? 0) * batch)
                }
                if let ranks { validation = ranks.link.sum([validation])[0] / Double(rankCount) }
                metrics.validationLoss = validation / Double(batches)
            }
            tally.epochs.append(metrics)
            options.progress?(
                TrainingProgress(
                    epoch: epoch, epochs: model.epochs, step: steps, steps: stepsPerEpoch, trainLoss: metrics.trainLoss,
                    samplesPerSecond: Double(steps * globalBatch) / max(epochSeconds, 1e-9), isEpochEnd: true,
                    epochMetrics: metrics))
            if tally.stopped { break epochLoop }
            if let maxSteps = options.maxSteps, tally.globalStep >= maxSteps { break epochLoop }
        }
        let measurement = meter.finish(arena, threadsBound: threadsBound)
        if let path = options.checkpointPath, (ranks?.link.rank ?? 0) == 0 { try engine.saveGPT2Checkpoint(to: path) }
        let sequencesPerSecond = tally.samplesPerSecond
        return TrainingResult(
            network: .transformer(model), program: program, plan: plan, budget: budget, dataSummary: loader.summary,
            trainCount: loader.trainCount, validationCount: loader.validationCount, testCount: 0, placement: options.placement,
            isNUMABacked: arena.isNUMABacked, plannedNode: plannedNode, measurement: measurement,
            lifetimeViolations: engine.lifetimeViolations, epochs: tally.epochs, testLoss: nil, testAccuracy: nil,
            samplesPerSecond: sequencesPerSecond, tokensPerSecond: sequencesPerSecond * Double(model.sequenceLength),
            trainingSeconds: tally.trainingSeconds, blasCore: BLASInfo.coreName,
            gemmKernels: engine.mixedProductKernel ?? BLASInfo.gemmKernels,
            blasThreads: threads,
            isPartial: tally.stopped,
            rank: RankRun(ranks, globalBatch: globalBatch, exchangeSeconds: engine.exchangeSeconds, steps: tally.globalStep))
    }
}

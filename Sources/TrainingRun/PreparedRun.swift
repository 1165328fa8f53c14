// A run whose every check has passed (`TrainingSession.prepare`): the epochs, the evaluations and the measurements.

import ArenaPlanner
import Foundation
import MLPTrainer
import MemoryBudget
import ModelProfile
import NUMAArena
import TrainingData

/// A training run ready for its first step: data in the arena, weights drawn, nothing trained yet.
public final class PreparedRun {
    /// The model as it will train (its batch clamped to the training set when it was larger).
    public let model: Model
    /// What the caller should tell the user before training (a clamped batch).
    public let warnings: [String]
    public let plan: ArenaPlan
    public let threads: Int
    /// How the run goes; `progress` and `shouldStop` may be set between `prepare` and `run`.
    public var options: TrainingOptions
    let loader: DatasetLoader
    let program: StepProgram
    let budget: Budget
    /// The arena with its meter, bound threads and planned node.
    let placed: RunArena
    var arena: Arena { placed.arena }
    var meter: RunMeter { placed.meter }
    let engine: StepEngine
    let trainCount: Int
    let validationCount: Int
    var generator: SplitMix64
    let majorityBaselineAccuracy: Double?

    init(
        model: Model, options: TrainingOptions, warnings: [String], loader: DatasetLoader, program: StepProgram,
        plan: ArenaPlan, budget: Budget, placed: RunArena, engine: StepEngine, threads: Int, trainCount: Int,
        validationCount: Int, generator: SplitMix64, majorityBaselineAccuracy: Double?
    ) {
        self.model = model
        self.options = options
        self.warnings = warnings
        self.loader = loader
        self.program = program
        self.plan = plan
        self.budget = budget
        self.placed = placed
        self.engine = engine
        self.threads = threads
        self.trainCount = trainCount
        self.validationCount = validationCount
        self.generator = generator
        self.majorityBaselineAccuracy = majorityBaselineAccuracy
    }

    /// Trains every epoch (or until `options.shouldStop`), evaluates, and measures.
    ///
    /// - Throws: `RunError.diverged` for a non-finite training loss, `.nonFiniteEvaluation` for a non-finite
    ///   validation or test loss.
    public func run() throws -> TrainingResult {
        let shape = loader.shape
        let batch = model.batchSize
        // Over ranks each global step takes `globalBatch` samples of the order, cut into the ranks' shares.
        let ranks = options.ranks
        let rankCount = ranks?.link.size ?? 1
        let globalBatch = batch * rankCount
        let trainCount = self.trainCount
        let validationCount = self.validationCount
        let engine = self.engine
        let order = engine.order
        let stepsPerEpoch = trainCount / globalBatch + (trainCount % globalBatch == 0 ? 0 : 1)
        let (allSteps, overflow) = stepsPerEpoch.multipliedReportingOverflow(by: model.epochs)
        var tally = RunTally(plannedSteps: overflow ? .max : allSteps)

        epochLoop: for epoch in 1...model.epochs {
            TrainingSession.shuffle(order, count: trainCount, using: &generator)
            var lossSum = 0.0
            var correct = 0
            var judged = 0
            var epochSamples = 0
            var epochSeconds = 0.0
            for step in 0..<stepsPerEpoch {
                let first = step * globalBatch
                let globalRows = min(globalBatch, trainCount - first)
                let share =
                    ranks.map { WorkerPool.range(of: $0.link.rank, parts: rankCount, count: globalRows) } ?? 0..<globalRows
                let rows = share.count
                if let death = options.rankDeath, death.rank == ranks?.link.rank, death.step == tally.globalStep + 1 {
                    kill(getpid(), SIGKILL)
                }
                let (result, elapsed) = tally.step(meter) {
                    ranks == nil
                        ? engine.trainStep(orderStart: first, rows: rows)
                        : engine.rankTrainStep(
                            orderStart: rows > 0 ? first + share.lowerBound : first, rows: rows, globalRows: globalRows)
                }
                epochSeconds += elapsed
                guard result.loss.isFinite else {
                    throw RunError.diverged(
                        epoch: epoch, step: step + 1, loss: result.loss, learningRate: model.optimizer.learningRate)
                }
                lossSum += result.loss
                correct += result.correct
                judged += result.judged
                epochSamples += rows
                meter.afterFirstStep(arena)
                options.reportStep(
                    epoch: epoch, of: model.epochs, step: step + 1, of: stepsPerEpoch, trainLoss: lossSum / Double(epochSamples),
                    samples: epochSamples, seconds: epochSeconds)
                // Over ranks a stop must be the same step on every rank; mpirun forwards the signal and ends the job.
                if ranks == nil, let shouldStop = options.shouldStop, shouldStop() {
                    tally.stopped = true
                    tally.trainingSeconds += epochSeconds
                    tally.samplesTrained += epochSamples
                    tally.epochs.append(
                        EpochMetrics(
                            epoch: epoch, trainLoss: lossSum / Double(max(epochSamples, 1)),
                            trainAccuracy: judged > 0 ? Double(correct) / Double(judged) : nil, validationLoss: nil,
                            validationAccuracy: nil, seconds: epochSeconds))
                    break epochLoop
                }
            }
            if let ranks {  // the epoch's sums over every rank's share
                let sums = ranks.link.sum([lossSum, Double(correct), Double(judged), Double(epochSamples)])
                (lossSum, correct, judged, epochSamples) = (sums[0], Int(sums[1]), Int(sums[2]), Int(sums[3]))
            }
            tally.trainingSeconds += epochSeconds
            tally.samplesTrained += epochSamples
            var metrics = EpochMetrics(
                epoch: epoch, trainLoss: lossSum / Double(epochSamples),
                trainAccuracy: judged > 0 ? Double(correct) / Double(judged) : nil,
                validationLoss: nil, validationAccuracy: nil, seconds: epochSeconds)
            if validationCount > 0 {
                let evaluation = TrainingSession.evaluate(count: validationCount, batch: batch) { first, rows in
                    engine.evaluate(orderStart: trainCount + first, rows: rows)
                }
                guard evaluation.loss.isFinite else {
                    throw RunError.nonFiniteEvaluation(
                        set: "validation", loss: evaluation.loss, epoch: epoch, learningRate: model.optimizer.learningRate)
                }
                metrics.validationLoss = evaluation.loss
                metrics.validationAccuracy = evaluation.accuracy
            }
            tally.epochs.append(metrics)
            options.progress?(
                TrainingProgress(
                    epoch: epoch, epochs: model.epochs, step: stepsPerEpoch, steps: stepsPerEpoch, trainLoss: metrics.trainLoss,
                    samplesPerSecond: Double(epochSamples) / max(epochSeconds, 1e-9), isEpochEnd: true, epochMetrics: metrics))
        }

        var testLoss: Double?
        var testAccuracy: Double?
        if shape.testCount > 0 {
            let evaluation = TrainingSession.evaluate(count: shape.testCount, batch: batch) { first, rows in
                engine.evaluateTest(start: first, rows: rows)
            }
            guard evaluation.loss.isFinite else {
                throw RunError.nonFiniteEvaluation(
                    set: "test", loss: evaluation.loss, epoch: tally.epochs.last?.epoch ?? 0,
                    learningRate: model.optimizer.learningRate
                )
            }
            testLoss = evaluation.loss
            testAccuracy = evaluation.accuracy
        }
        let measurement = meter.finish(arena, threadsBound: placed.threadsBound)
        return TrainingResult(
            network: .mlp(model), program: program, plan: plan, budget: budget, dataSummary: loader.summary,
            trainCount: trainCount,
            validationCount: validationCount, testCount: shape.testCount, placement: options.placement,
            isNUMABacked: arena.isNUMABacked,
            plannedNode: placed.plannedNode, measurement: measurement, lifetimeViolations: engine.lifetimeViolations,
            epochs: tally.epochs, testLoss: testLoss, testAccuracy: testAccuracy,
            majorityBaselineAccuracy: testAccuracy == nil ? nil : majorityBaselineAccuracy,
            samplesPerSecond: tally.samplesPerSecond, trainingSeconds: tally.trainingSeconds,
            blasCore: BLASInfo.coreName, gemmKernels: engine.mixedProductKernel ?? BLASInfo.gemmKernels, blasThreads: threads,
            isPartial: tally.stopped,
            rank: RankRun(ranks, globalBatch: globalBatch, exchangeSeconds: engine.exchangeSeconds, steps: tally.globalStep))
    }
}

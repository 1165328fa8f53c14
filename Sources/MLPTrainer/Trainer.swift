// The step engine: runs a step program's ops, in order, on the tensors resolved from its plan.
// Everything runs on arena memory resolved once; nothing here allocates.

import ArenaPlanner
import MemoryBudget
import ModelProfile

/// Where a program's `load` op takes the batch from.
enum StepBatch {
    /// Training samples `order[orderStart ..< orderStart + rows]` (the tail of `order` is the validation set).
    case training(orderStart: Int)
    /// Test samples `start ..< start + rows`, in file order.
    case test(start: Int)
}

/// Runs the ops of a `StepProgram` on the tensors of `ModelTensors`: `load` gathers the batch, `fwd k`,
/// `bwd k` and `bwd k+sgd` go to the layer's kernels (`DenseLayer`), `loss` and `update` run here. The
/// trainer executes exactly the program's ops, in its order: there is no second description of the step.
///
/// Lifecycle, as llm.c's: `initializeParameters`, then per batch `trainStep`; `evaluate` for validation
/// and test sets. Each op that carries real work is split into `pool.partCount` parts: by rows of the batch
/// when there are enough rows, else by columns (outputs or inputs), so batch 1 splits too. The caller runs
/// part 0; parts never write the same bytes.
final class Trainer<T: TrainingScalar> {
    let program: StepProgram
    let model: Model
    let tensors: ModelTensors<T>
    /// Poisons and checks every byte outside the live tensors around each op (tests of the plan's lifetimes).
    let lifetimeGuard: LifetimeGuard?
    /// Updates applied so far (Adam's t).
    private var optimizerStep = 0
    /// This rank's place among the others (`Trainer+Ranks`); nil in one process.
    var ranks: RankSharding<T>?
    /// The factor of the loss's gradient when not 1/rows: 1/global rows for a rank's share of a global batch, 0 for a
    /// rank without rows this step.
    var lossGradientScale: T?
    /// The layer whose parameters the zero3 gather buffer holds now (-1: none, or stale after an update).
    var gatheredLayer = -1
    /// Nanoseconds spent exchanging gradients and parameters with the other ranks.
    var exchangeNanoseconds: UInt64 = 0

    init(program: StepProgram, tensors: ModelTensors<T>, lifetimeGuard: LifetimeGuard? = nil) {
        self.program = program
        self.model = program.model
        self.tensors = tensors
        self.lifetimeGuard = lifetimeGuard
    }

    // MARK: - Parameters

    /// Draws the first weights (He normal for relu layers, Glorot uniform otherwise, or as the
    /// profile's `init` says), zeroes biases and optimizer state.
    func initializeParameters(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        for layer in tensors.layers {
            layer.initialize(model.weightInit(for: layer.activation), generator: &generator)
            keepOwnedChunks(of: layer)
        }
        gatheredLayer = -1
        optimizerStep = 0
    }

    // MARK: - Running the program

    @inline(__always)
    func loss(rows: Int, training: Bool) -> Kernels.LossResult {
        let output = tensors.layers[tensors.layers.count - 1]
        return Kernels.loss(
            output.output, targets: tensors.targets, rows: rows, columns: output.outputWidth, loss: model.loss,
            outputActivation: output.activation, writeGradient: training, gradientScale: lossGradientScale)
    }

    /// bwd k: every phase, then the gradients' exchange over ranks; bwd+upd k: every phase, then the join of the
    /// deltas staged when the pass split by outputs.
    @inline(__always)
    func backward(layer index: Int, rows: Int, updating: Bool) {
        let layer = tensors.layers[index]
        if updating {
            for phase in 0..<layer.backwardPhases { dispatch(.backwardUpdate(layer: index, rows: rows, phase: phase)) }
            if index > 0, layer.fusedSplitsByOutputs(rows: rows, parts: partCount) {
                layer.joinStagedDelta(previous: tensors.layers[index - 1], parts: partCount)
            }
        } else {
            gatherParameters(ofLayer: index)
            for phase in 0..<layer.backwardPhases { dispatch(.backward(layer: index, rows: rows, phase: phase)) }
            reduceGradients(ofLayer: index)
        }
    }

    @inline(__always)
    func update() {
        optimizerStep += 1
        dispatch(.update)
    }

    /// fwd k (0-based `index`) on the first `rows` rows, with softmax after the join when the outputs were split.
    @inline(__always)
    func forward(layer index: Int, rows: Int) {
        gatherParameters(ofLayer: index)
        let layer = tensors.layers[index]
        for phase in 0..<layer.forwardPhases { dispatch(.forward(layer: index, rows: rows, phase: phase)) }
        if layer.needsSoftmaxAfterJoin(rows: rows, parts: partCount) {
            Kernels.activate(layer.output, rows: rows, columns: layer.outputWidth, stride: layer.outputWidth, .softmax)
        }
    }

    // MARK: - load

    @inline(__always)
    func load(_ batch: StepBatch, rows: Int) {
        switch batch {
        case .training(let first):
            if partCount > 1, rows >= partCount * SplitRules.minimumRowsPerPart {
                dispatch(.gather(orderStart: first, rows: rows))
            } else {
                gatherTrainingRows(orderStart: first, rows: 0..<rows, batchRows: rows)
            }
        case .test(let first):
            let data = tensors.data
            data.testFeatures.read(from: first * data.featureWidth, count: rows * data.featureWidth, into: tensors.features)
            tensors.targets.update(from: data.testTargets + first * data.targetWidth, count: rows * data.targetWidth)
        }
    }

    /// Copies training samples `order[first + r]` for r in `rows` into row r of x and y (byte features scaled to T),
    /// split by rows over the workers when there are enough rows (the copy is a step's largest piece of work that
    /// is not a product: B·I values read from rows scattered over the training set).
    @inline(__always)
    private func gatherTrainingRows(orderStart first: Int, rows: Range<Int>, batchRows: Int) {
        let data = tensors.data
        let width = data.featureWidth
        let targetWidth = data.targetWidth
        // First touch one byte of every cache line of every row (features and targets): the rows are random,
        // so read one after the other each waits out its own cache misses; touched together, the misses overlap.
        var touched: UInt8 = 0
        for row in rows {
            let sample = Int(data.order[first + row])
            touched |= data.trainFeatures.touch(from: sample * width, count: width)
            touched |= touchCacheLines(data.trainTargets + sample * targetWidth, byteCount: targetWidth * MemoryLayout<T>.stride)
        }
        touchSink = touched
        for row in rows {
            let sample = Int(data.order[first + row])
            data.trainFeatures.read(from: sample * width, count: width, into: tensors.features + row * width)  // (1, I)
            // (1, K)
            (tensors.targets + row * targetWidth).update(from: data.trainTargets + sample * targetWidth, count: targetWidth)
        }
        // The next batch in the order (if this epoch has one) is gathered after this step: start its rows' misses now,
        // so they are served from cache then. Each part prefetches the rows it will likely gather itself.
        let next = first + batchRows
        for row in rows where next + row < data.trainCount {
            let sample = Int(data.order[next + row])
            data.trainFeatures.prefetch(from: sample * width, count: width)
            prefetchCacheLines(data.trainTargets + sample * targetWidth, byteCount: targetWidth * MemoryLayout<T>.stride)
        }
    }

    // MARK: - Splitting ops over the pool

    /// What the workers are running now. An op of a layer may run in phases (`DenseLayer.forwardPhases`,
    /// `backwardPhases`): every part finishes phase p before any starts p + 1, so a phase may split the work
    /// another way than the one before it (rows, then columns).
    enum Job {
        case gather(orderStart: Int, rows: Int)
        case forward(layer: Int, rows: Int, phase: Int)
        case backward(layer: Int, rows: Int, phase: Int)
        case backwardUpdate(layer: Int, rows: Int, phase: Int)
        case update
    }

    private var job = Job.update
    /// Where the gather's touch pass leaves its byte, so the loads are not optimised away.
    private var touchSink: UInt8 = 0
    private var pool: WorkerPool?

    /// Uses `pool` to split each op; `nil` runs everything on the calling thread. The pool's part count must be the
    /// program's (a fused backward split over P parts stages P − 1 partial deltas in a buffer planned for P).
    func attach(_ pool: WorkerPool) {
        precondition(
            pool.partCount <= program.options.parts || !program.table.fusesUpdate,
            "Trainer.attach: \(pool.partCount) parts, but the program was planned for \(program.options.parts)")
        self.pool = pool
        pool.setBody { [unowned self] part in self.runPart(part) }
    }

    @inline(__always)
    private func dispatch(_ job: Job) {
        self.job = job
        if let pool {
            // Only batch-sized work teaches the pool the parts' speeds (see `WorkerPool.shortestMeasuredJob`).
            let measured: Bool
            switch job {
            case .gather(_, let rows), .forward(_, let rows, _), .backward(_, let rows, _), .backwardUpdate(_, let rows, _):
                measured = rows >= partCount * SplitRules.minimumRowsPerPart
            case .update: measured = true
            }
            pool.run(measured: measured) { part in self.runPart(part) }
        } else {
            runPart(0)
        }
    }

    @inline(__always)
    var partCount: Int { pool?.partCount ?? 1 }

    @inline(__always)
    private var splitter: Splitter { Splitter(pool: pool, partCount: partCount) }

    @inline(__always)
    func runPart(_ part: Int) {
        switch job {
        case .gather(let first, let rows):
            gatherTrainingRows(orderStart: first, rows: splitter.share(part, of: rows), batchRows: rows)
        case .forward(let layer, let rows, let phase):
            tensors.layers[layer].forwardPart(rows: rows, part: part, phase: phase, split: splitter)
        case .backward(let layer, let rows, let phase):
            tensors.layers[layer].backwardPart(rows: rows, part: part, phase: phase, previous: previous(layer), split: splitter)
        case .backwardUpdate(let layer, let rows, let phase):
            tensors.layers[layer].fusedBackwardPart(
                rows: rows, part: part, phase: phase, previous: previous(layer), learningRate: T(model.optimizer.learningRate),
                split: splitter)
        case .update: updatePart(part)
        }
    }

    @inline(__always)
    private func previous(_ layer: Int) -> DenseLayer<T>? { layer > 0 ? tensors.layers[layer - 1] : nil }

    /// The optimizer step on this part's share of every parameter tensor (of the rank's chunk of it under zero1, whose
    /// state tensors hold that chunk only).
    @inline(__always)
    private func updatePart(_ part: Int) {
        let rule = OptimizerRule<T>(model.optimizer, step: optimizerStep)
        let split = splitter
        for layer in tensors.layers {
            for parameter in layer.parameters {
                guard let gradient = parameter.gradient else { preconditionFailure("Trainer: update without planned gradients") }
                let owned = ranks?.updatedRange(of: parameter.count) ?? 0..<parameter.count
                // Weights split in multiples of 16 elements; small tensors (biases) by parts, not recorded for balancing.
                let range =
                    owned.count >= 16 * split.partCount
                    ? split.share(part, of: owned.count, granule: 16) : split.share(part, of: owned.count, records: false)
                // Stored shards (zero2's gradients, zero3's values) start at the chunk; whole tensors at element 0.
                let valueStart = ranks?.shardsParameters == true ? 0 : owned.lowerBound
                let gradientStart = ranks?.shardsGradients == true ? 0 : owned.lowerBound
                rule.apply(
                    parameter.values + valueStart, gradient: gradient + gradientStart, states: parameter.states, range: range)
            }
        }
    }
}

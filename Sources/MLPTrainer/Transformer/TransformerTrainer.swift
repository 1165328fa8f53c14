// The transformer's step engine: runs its step program's sub-ops, in order, on the planned tensors, each split over
// the worker pool (rows of B·T, attention's (b, head) pairs, a parameter's output channels). Nothing allocates.

import ArenaPlanner
import MemoryBudget
import ModelProfile

/// Runs a transformer's `StepProgram`: `load` gathers B windows of T + 1 tokens, the forward sub-ops (`embed`, and
/// per block `ln1`, `qkv`, `attn`, `proj`, `ln2`, `fc`, `act`, `fcproj`; `lnf`, `logits`), `loss`, their backward in
/// reverse, and `update` (the optimizer's rule on every parameter). Kernels: `TransformerKernels`.
final class TransformerTrainer<T: TrainingScalar>: TransformerStepRunner {
    let program: StepProgram
    let model: TransformerModel
    let tensors: TransformerTensors<T>
    let lifetimeGuard: LifetimeGuard?
    private var optimizerStep = 0
    private var pool: WorkerPool?
    private var job = TransformerJob.update
    /// The loss gradient's scale, 1/(tokens of the global batch), while a training step runs; nil otherwise.
    private(set) var gradientScale: T?
    /// This rank's place among the others (`TransformerTrainer+Ranks`: dp and zero1–3); nil in one process.
    var ranks: RankSharding<T>?
    /// zero3: the layer whose parameters the gather buffer holds (-1: none).
    var gatheredLayer = -1
    /// Nanoseconds spent exchanging gradients and parameters with the other ranks.
    var exchangeNanoseconds: UInt64 = 0

    let (batch, sequence, channels, vocabulary, padded): (Int, Int, Int, Int, Int)
    var rows: Int { batch * sequence }
    var spec: TransformerSpec { model.spec }

    init(program: StepProgram, tensors: TransformerTensors<T>, lifetimeGuard: LifetimeGuard? = nil) {
        self.program = program
        self.model = tensors.model
        self.tensors = tensors
        self.lifetimeGuard = lifetimeGuard
        (batch, sequence, channels) = (model.batchSize, model.sequenceLength, model.spec.hiddenSize)
        (vocabulary, padded) = (model.spec.vocabularySize, model.spec.paddedVocabularySize)
    }

    // MARK: - Parameters

    /// GPT-2's initialisation: every matrix and the embeddings N(0, 0.02²), the residual projections (attention's and
    /// the feed-forward network's output) N(0, (0.02/√(2L))²), biases and shifts 0, norm gains 1, optimizer state 0;
    /// and the rotary table. Drawn in the table's parameter order from `seed`.
    func initializeParameters(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        gatheredLayer = -1  // zero3: the gather buffer is overwritten below
        for (index, id) in program.table.parameterIDs.enumerated() {
            let parameter = tensors.parameters[index]
            let (deviation, value) = spec.initialValues(of: program.table.spec(id)!)
            if let deviation {
                for i in 0..<parameter.count { parameter.workingValues[i] = T(generator.nextNormal() * deviation) }
            } else {
                parameter.workingValues.update(repeating: T(value), count: parameter.count)
            }
            keepOwnedChunk(of: parameter)
            for state in parameter.states { state.update(repeating: 0, count: parameter.stateCount) }
        }
        if let rope = tensors.rope {
            TransformerKernels.rotaryTable(rope, maxSequenceLength: model.spec.contextLength, headSize: model.spec.headSize)
        }
        optimizerStep = 0
    }

    // MARK: - Running the program

    typealias Windows = TransformerWindows

    func beginRun(training: Bool) {
        // Over ranks the mean is over the global batch's tokens: the sum over ranks is then one process's gradient.
        gradientScale = training ? 1 / T(rows * (ranks?.ring.size ?? 1)) : nil
    }

    func loadWindows(_ windows: TransformerWindows) { tensors.load(windows) }

    func rowLoss(_ r: Int) -> Double { Double(tensors.losses[r]) }

    func runUpdate() {
        exchangeGradients()
        optimizerStep += 1
        dispatch(.update)
        gatherUpdatedChunks()
    }

    func beforeSubOp(_ op: StepOp) { gatherParameters(for: op) }

    func afterSubOp(_ op: StepOp) { reduceGradients(after: op) }

    // MARK: - Splitting over the pool

    func attach(_ pool: WorkerPool) {
        self.pool = pool
        pool.setBody { [unowned self] part in self.runPart(part) }
    }

    var partCount: Int { pool?.partCount ?? 1 }
    private var splitter: Splitter { Splitter(pool: pool, partCount: partCount) }

    func dispatch(_ job: TransformerJob) {
        self.job = job
        if let pool { pool.run(measured: true) { part in self.runPart(part) } } else { runPart(0) }
    }

    private func runPart(_ part: Int) {
        switch job {
        case .update:
            let rule = OptimizerRule<T>(model.optimizer, step: optimizerStep)
            for parameter in tensors.parameters {
                // zero1: the rank's chunk, with the state that holds that chunk only.
                // zero2/zero3: the stored gradient is that chunk; zero3: the stored values too.
                let owned = ranks?.updatedRange(of: parameter.count) ?? 0..<parameter.count
                let range = splitter.share(part, of: owned.count, granule: 16, records: false)
                let valuesStart = ranks?.shardsParameters == true ? 0 : owned.lowerBound
                let gradientStart = ranks?.shardsGradients == true ? 0 : owned.lowerBound
                rule.apply(
                    parameter.values + valuesStart, gradient: parameter.gradient + gradientStart, states: parameter.states,
                    range: range)
            }
        case .op(let index, let phase): runOp(index: index, phase: phase, part: part)
        }
    }

    func lossPart(_ part: Int) {
        TransformerKernels.softmaxCrossEntropy(
            logits: tensors.logits, losses: tensors.losses, targets: tensors.targets, vocabulary: vocabulary,
            paddedVocabulary: padded, rows: share(part, rows), gradientScale: gradientScale)
    }

    /// Part `part`'s share of `count` (rows in multiples of 8, like the GEMM kernels' tile).
    @inline(__always)
    func share(_ part: Int, _ count: Int, granule: Int = 1) -> Range<Int> {
        splitter.share(part, of: count, granule: granule, records: false)
    }

    /// Part `part`'s share of a product's split edge (`count` items; `edges` its other two), by
    /// `Splitter.productShare`: by the parts' speeds only where memplan's own kernels take every part, else equal
    /// shares — a part too small for them would fall to BLAS, whose rounding differs, and the losses would follow the
    /// machine's load.
    @inline(__always)
    func productShare(_ part: Int, _ count: Int, granule: Int, edges: (Int, Int)) -> Range<Int> {
        splitter.productShare(part, of: count, granule: granule, edges: edges, records: false)
    }

    /// The rows of part `part` for ops that mix row-split products with per-row work: every projection's other two
    /// edges are at least the narrowest width (C, the MLP's inner width, the padded vocabulary).
    @inline(__always)
    func productRows(_ part: Int) -> Range<Int> {
        let narrowest = min(channels, spec.feedForwardSize, padded)
        return productShare(part, rows, granule: 8, edges: (narrowest, narrowest))
    }
}

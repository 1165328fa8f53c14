// A transformer's bf16-mixed step: the same step program as `TransformerTrainer` on the recipe's plan — bf16 weights,
// activations, deltas and gradients, fp32 master weights and optimizer state — with `MixedKernels`. One process.
// The products pack their operands in the plan's packing workspace, a slice per part; outside the arena only each part's
// fp32 work area (`MixedKernels.workCount` floats, allocated before the first step). Nothing allocates in the step loop.

import ArenaPlanner
import CGEMM
import MemoryBudget
import ModelProfile
import NUMAArena

/// Runs a transformer's `StepProgram` at bf16-mixed (`TransformerTrainer` describes the ops).
final class MixedTransformerTrainer: TransformerStepRunner {
    let program: StepProgram
    let model: TransformerModel
    /// Every bf16 tensor at its planned offset (the parameters' `states` there are not used: see `masters`, `states`).
    let tensors: TransformerTensors<UInt16>
    /// Each parameter's fp32 master copy and fp32 optimizer state, in the table's parameter order.
    let masters: [UnsafeMutablePointer<Float>]
    let states: [[UnsafeMutablePointer<Float>]]
    let lifetimeGuard: LifetimeGuard?
    /// The plan's packing workspace (`StepTensor.packing`, planned where AMX runs): part p's slice of `bytes` starts at
    /// base + p·bytes. Without it (the portable path) the products pack nothing.
    let packing: (base: UnsafeMutableRawPointer, bytes: Int)?
    private var optimizerStep = 0
    private var pool: WorkerPool?
    private var job = TransformerJob.update
    /// Each part's fp32 work area (`workCount` floats), allocated by `attach`.
    private var work: [UnsafeMutablePointer<Float>] = []
    let workCount: Int
    /// The loss gradient's scale, 1/(B·T), while a training step runs; nil otherwise.
    private(set) var gradientScale: Float?

    let (batch, sequence, channels, vocabulary, padded): (Int, Int, Int, Int, Int)
    var rows: Int { batch * sequence }
    var spec: TransformerSpec { model.spec }

    init(program: StepProgram, plan: ArenaPlan, arena: Arena, lifetimeGuard: LifetimeGuard? = nil) {
        self.program = program
        tensors = TransformerTensors(program: program, plan: plan, arena: arena)
        model = tensors.model
        self.lifetimeGuard = lifetimeGuard
        func float(_ id: TensorID) -> UnsafeMutablePointer<Float> {
            guard let index = program.index(of: id) else { preconditionFailure("MixedTransformerTrainer: the plan has no \(id)") }
            return arena.pointer(at: plan.offsets[index], count: plan.requests[index].byteCount / 4, as: Float.self)
        }
        packing = program.index(of: TensorID(.packing)).map { slot in
            let spec = program.table.spec(TensorID(.packing))!
            return (
                UnsafeMutableRawPointer(arena.pointer(at: plan.offsets[slot], count: spec.byteCount, as: UInt8.self)),
                spec.byteCount / max(1, spec.shape[0])
            )
        }
        let stateCount = model.optimizer.kind.stateTensorsPerParameter
        masters = program.table.parameterIDs.map { float($0.master) }
        states = program.table.parameterIDs.map { id in (0..<stateCount).map { float(id.state($0)) } }
        (batch, sequence, channels) = (model.batchSize, model.sequenceLength, model.spec.hiddenSize)
        (vocabulary, padded) = (model.spec.vocabularySize, model.spec.paddedVocabularySize)
        workCount = MixedKernels.workCount(
            widest: max(channels, model.spec.fcWidth, padded, model.spec.qkvWidth, sequence, 256))
        allocateWork(parts: 1)
    }

    private func allocateWork(parts: Int) {
        for area in work { area.deallocate() }
        work = (0..<parts).map { _ in .allocate(capacity: workCount) }
        for area in work { area.initialize(repeating: 0, count: workCount) }
    }

    deinit { for area in work { area.deallocate() } }

    /// Attaches the pool and allocates each part's work area.
    func attach(_ pool: WorkerPool) {
        if let packing {
            precondition(
                pool.partCount * packing.bytes <= program.table.spec(TensorID(.packing))!.byteCount,
                "MixedTransformerTrainer: \(pool.partCount) parts, a packing workspace planned for fewer")
        }
        self.pool = pool
        allocateWork(parts: pool.partCount)
        pool.setBody { [unowned self] part in self.runPart(part) }
    }

    // MARK: - Parameters

    /// The fp32 trainer's first weights for the same seed (`TransformerSpec.initialValues`, the same draws in the same
    /// order) into the masters, rounded into the bf16 copies; optimizer state 0; the rotary table in bf16.
    func initializeParameters(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        for (index, id) in program.table.parameterIDs.enumerated() {
            let (master, count) = (masters[index], tensors.parameters[index].count)
            let (deviation, value) = spec.initialValues(of: program.table.spec(id)!)
            if let deviation {
                for i in 0..<count { master[i] = Float(generator.nextNormal() * deviation) }
            } else {
                master.update(repeating: Float(value), count: count)
            }
            BF16.round(master, into: tensors.parameters[index].values, count: count)
            for state in states[index] { state.update(repeating: 0, count: count) }
        }
        if let rope = tensors.rope {
            TransformerKernels.rotaryTable(rope, maxSequenceLength: spec.contextLength, headSize: spec.headSize) {
                BF16.rounded(Float($0))
            }
        }
        optimizerStep = 0
    }

    // MARK: - Running the program

    func beginRun(training: Bool) { gradientScale = training ? 1 / Float(rows) : nil }

    func loadWindows(_ windows: TransformerWindows) { tensors.load(windows) }

    func rowLoss(_ r: Int) -> Double { Double(BF16.value(tensors.losses[r])) }

    func runUpdate() {
        optimizerStep += 1
        dispatch(.update)
    }

    /// One process: no exchange around a sub-op.
    func beforeSubOp(_ op: StepOp) {}
    func afterSubOp(_ op: StepOp) {}

    // MARK: - Splitting over the pool

    var partCount: Int { pool?.partCount ?? 1 }
    private var splitter: Splitter { Splitter(pool: pool, partCount: partCount) }

    func dispatch(_ job: TransformerJob) {
        self.job = job
        if let pool { pool.run(measured: true) { part in self.runPart(part) } } else { runPart(0) }
    }

    /// Part `part`'s share of `count` items; every product's result is independent of where a share starts.
    @inline(__always)
    func share(_ part: Int, _ count: Int, granule: Int = 1) -> Range<Int> {
        splitter.share(part, of: count, granule: granule, records: false)
    }

    /// Part `part`'s work area.
    @inline(__always)
    func workArea(_ part: Int) -> UnsafeMutablePointer<Float> { work[part] }

    /// Part `part` of the current job, its products packing in the part's slice of the planned workspace (lent to the
    /// thread for the job only: another trainer may lend it its own next).
    private func runPart(_ part: Int) {
        if let packing { memplan_bf16_use_workspace(packing.base + part * packing.bytes, packing.bytes) }
        defer { memplan_bf16_use_workspace(nil, 0) }
        switch job {
        case .update:
            let rule = OptimizerRule<Float>(model.optimizer, step: optimizerStep)
            for (index, parameter) in tensors.parameters.enumerated() {
                rule.applyMixed(
                    copy: parameter.values, master: masters[index], gradient: parameter.gradient, states: states[index],
                    range: share(part, parameter.count, granule: 16))
            }
        case .op(let index, let phase): runOp(index: index, phase: phase, part: part)
        }
    }

    func lossPart(_ part: Int) {
        MixedKernels.softmaxCrossEntropy(
            logits: tensors.logits, losses: tensors.losses, targets: tensors.targets, vocabulary: vocabulary,
            paddedVocabulary: padded, rows: share(part, rows), gradientScale: gradientScale)
    }
}

// A transformer's tensors, resolved once from its plan against the arena by `TensorID`.

import ArenaPlanner
import MemoryBudget
import ModelProfile
import NUMAArena

/// A parameter with its gradient and the optimizer's state tensors, for the update op.
struct TransformerParameter<T: TrainingScalar> {
    let values: UnsafeMutablePointer<T>
    let gradient: UnsafeMutablePointer<T>
    let states: [UnsafeMutablePointer<T>]
    let count: Int
    /// Elements of each state tensor: `count`, or ⌈count/N⌉ when zero1 shards the state over N ranks.
    let stateCount: Int
}

/// One block's tensors (`BlockTensor`). Optional pointers are absent for the model's shape (no biases, RMSNorm).
struct BlockTensors<T: TrainingScalar> {
    let ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb: UnsafeMutablePointer<T>?
    let dln1w, dln1b, dqkvw, dqkvb, dattprojw, dattprojb, dln2w, dln2b, dfcw, dfcb, dfcprojw, dfcprojb: UnsafeMutablePointer<T>?
    /// (B, T, C) the block's input (the previous block's output, or the embedding's)
    let input: UnsafeMutablePointer<T>
    let ln1, ln1Mean, ln1Rstd, qkv, att, atty, residual2, ln2, ln2Mean, ln2Rstd, fch, fchAct, output: UnsafeMutablePointer<T>?
    let dfchAct, dfch, dln2, datty, dqkv, dln1, attScratch: UnsafeMutablePointer<T>?
}

/// Every tensor of a transformer's step at its planned offset.
struct TransformerTensors<T: TrainingScalar> {
    let model: TransformerModel
    /// (B, T) Int32 tokens and targets
    let tokens: UnsafeMutablePointer<Int32>
    let targets: UnsafeMutablePointer<Int32>
    let wte, dwte: UnsafeMutablePointer<T>
    let wpe, dwpe, rope: UnsafeMutablePointer<T>?
    let encoded: UnsafeMutablePointer<T>
    /// Each block's tensors for its forward sub-ops, and for its recompute and backward sub-ops (which read the
    /// recomputed activations where the plan has them; identical to `blocks` without recompute).
    let blocks, recomputedBlocks: [BlockTensors<T>]
    let lnfw, dlnfw: UnsafeMutablePointer<T>
    let lnfb, dlnfb, lnfMean: UnsafeMutablePointer<T>?
    /// The head's weights: wte when tied, lm_head when not; and their gradient.
    let headWeight, dHeadWeight: UnsafeMutablePointer<T>
    let lnf, lnfRstd, logits, losses, dlnf, dresidual: UnsafeMutablePointer<T>
    /// The text in the arena (bytes) and the shuffled window order; empty without data.
    let trainText, validationText: UnsafeMutablePointer<UInt8>
    let order: UnsafeMutablePointer<Int32>
    let trainCount, validationCount, windowCount: Int
    let parameters: [TransformerParameter<T>]

    /// Resolves every tensor at its planned offset; `stateShards` > 1 for a rank's plan whose optimizer state is sharded
    /// (`StepProgram.rankBuffers`, zero1).
    init(program: StepProgram, plan: ArenaPlan, arena: Arena, stateShards: Int = 1) {
        guard let model = program.table.transformer else {
            preconditionFailure("TransformerTensors: not a transformer's program")
        }
        self.model = model
        func bytes(_ id: TensorID) -> (Int, Int)? {
            program.index(of: id).map { (plan.offsets[$0], plan.requests[$0].byteCount) }
        }
        func view(_ id: TensorID) -> UnsafeMutablePointer<T>? {
            bytes(id).map { arena.pointer(at: $0.0, count: $0.1 / MemoryLayout<T>.stride, as: T.self) }
        }
        func required(_ id: TensorID) -> UnsafeMutablePointer<T> {
            guard let pointer = view(id) else { preconditionFailure("TransformerTensors: the plan has no \(id)") }
            return pointer
        }
        func integers(_ id: TensorID) -> UnsafeMutablePointer<Int32> {
            guard let (offset, count) = bytes(id) else { return arena.pointer(at: 0, count: 0, as: Int32.self) }
            return arena.pointer(at: offset, count: count / 4, as: Int32.self)
        }
        func text(_ id: TensorID) -> (UnsafeMutablePointer<UInt8>, Int) {
            guard let (offset, count) = bytes(id) else { return (arena.pointer(at: 0, count: 0, as: UInt8.self), 0) }
            return (arena.pointer(at: offset, count: count, as: UInt8.self), count)
        }
        let embedding = { (role: EmbeddingTensor) in TensorID(layer: 1, role) }
        let headLayer = model.spec.layerCount + 2
        let head = { (role: HeadTensor) in TensorID(layer: headLayer, role) }
        tokens = integers(TensorID(.features))
        targets = integers(TensorID(.targets))
        wte = required(embedding(.tokenTable))
        dwte = required(embedding(.tokenTable).gradient)
        wpe = view(embedding(.positionTable))
        dwpe = view(embedding(.positionTable).gradient)
        rope = view(embedding(.rotaryTable))
        encoded = required(embedding(.output))
        /// Block k's tensors as the forward pass sees them, or (`recomputed`) as the backward pass does: activations
        /// that a recompute op forms again resolve to their recomputed buffers.
        func blockTensors(_ k: Int, recomputed: Bool) -> BlockTensors<T> {
            func id(_ role: BlockTensor) -> TensorID { TensorID(layer: k, role) }
            func p(_ role: BlockTensor) -> UnsafeMutablePointer<T>? {
                (recomputed ? view(id(role).recomputed) : nil) ?? view(id(role))
            }
            func g(_ role: BlockTensor) -> UnsafeMutablePointer<T>? { view(id(role).gradient) }
            let input = k == 2 ? embedding(.output) : TensorID(layer: k - 1, BlockTensor.output)
            return BlockTensors(
                ln1w: p(.norm1Gain), ln1b: p(.norm1Shift), qkvw: p(.qkvWeight), qkvb: p(.qkvBias),
                attprojw: p(.projectionWeight),
                attprojb: p(.projectionBias), ln2w: p(.norm2Gain), ln2b: p(.norm2Shift), fcw: p(.fcWeight), fcb: p(.fcBias),
                fcprojw: p(.fcProjectionWeight), fcprojb: p(.fcProjectionBias), dln1w: g(.norm1Gain), dln1b: g(.norm1Shift),
                dqkvw: g(.qkvWeight), dqkvb: g(.qkvBias), dattprojw: g(.projectionWeight), dattprojb: g(.projectionBias),
                dln2w: g(.norm2Gain), dln2b: g(.norm2Shift), dfcw: g(.fcWeight), dfcb: g(.fcBias),
                dfcprojw: g(.fcProjectionWeight), dfcprojb: g(.fcProjectionBias),
                input: (recomputed ? view(input.recomputed) : nil) ?? required(input),
                ln1: p(.norm1), ln1Mean: p(.norm1Mean), ln1Rstd: p(.norm1Rstd), qkv: p(.qkv), att: p(.attention),
                atty: p(.attentionOutput), residual2: p(.residual), ln2: p(.norm2), ln2Mean: p(.norm2Mean),
                ln2Rstd: p(.norm2Rstd),
                fch: p(.fc), fchAct: p(.fcActivation), output: p(.output), dfchAct: p(.dFCActivation), dfch: p(.dFC),
                dln2: p(.dNorm2), datty: p(.dAttentionOutput), dqkv: p(.dQKV), dln1: p(.dNorm1),
                attScratch: p(.attentionScratch))
        }
        blocks = (2..<headLayer).map { blockTensors($0, recomputed: false) }
        recomputedBlocks = (2..<headLayer).map { blockTensors($0, recomputed: true) }
        lnfw = required(head(.normGain))
        dlnfw = required(head(.normGain).gradient)
        lnfb = view(head(.normShift))
        dlnfb = view(head(.normShift).gradient)
        lnfMean = view(head(.normMean))
        headWeight = model.spec.tiedEmbeddings ? wte : required(head(.weight))
        dHeadWeight = model.spec.tiedEmbeddings ? dwte : required(head(.weight).gradient)
        lnf = required(head(.norm))
        lnfRstd = required(head(.normRstd))
        logits = required(head(.logits))
        losses = required(head(.losses))
        dlnf = required(head(.dNorm))
        dresidual = required(head(.dResidual))
        (trainText, trainCount) = text(TensorID(.trainText))
        (validationText, validationCount) = text(TensorID(.validationText))
        order = integers(TensorID(.order))
        windowCount = bytes(TensorID(.order)).map { $0.1 / 4 } ?? 0
        let states = model.optimizer.kind.stateTensorsPerParameter
        parameters = program.table.parameterIDs.map { id in
            let spec = program.table.spec(id)!
            let (count, shards) = (spec.elementCount, max(1, stateShards))
            return TransformerParameter(
                values: required(id), gradient: required(id.gradient), states: (0..<states).map { required(id.state($0)) },
                count: count, stateCount: count / shards + (count % shards == 0 ? 0 : 1))
        }
    }
}

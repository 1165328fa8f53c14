// A transformer's tensors, resolved once from its plan against the arena by `TensorID`.

import ArenaPlanner
import MemoryBudget
import ModelProfile
import NUMAArena

/// A parameter with its gradient and the optimizer's state tensors, for the update op.
///
/// Over ranks, what the rank stores and what the ops use can differ: under zero2 and zero3 the stored gradient is the
/// rank's chunk (⌈count/N⌉ elements) while the ops form the whole gradient in the "gradient bucket"; under zero3 the
/// stored values are the rank's chunk while the ops read the whole tensor from the "gather buffer". Each place is the
/// tensor's offset among its layer's parameters (`TensorID.layer`), so one layer's fit in the buffers at once.
struct TransformerParameter<T> {
    /// θ as stored: whole, or the rank's chunk (zero3).
    let values: UnsafeMutablePointer<T>
    /// ∂L/∂θ as stored: whole, or the rank's chunk (zero2, zero3).
    let gradient: UnsafeMutablePointer<T>
    /// θ where the ops read it (count elements): `values`, or its place in the gather buffer (zero3).
    let workingValues: UnsafeMutablePointer<T>
    /// ∂L/∂θ where the ops form it (count elements): `gradient`, or its place in the gradient bucket (zero2, zero3).
    let workingGradient: UnsafeMutablePointer<T>
    let states: [UnsafeMutablePointer<T>]
    let count: Int
    /// Elements of each state tensor: `count`, or ⌈count/N⌉ when zero1–3 shard the state over N ranks.
    let stateCount: Int
    /// Its tensor; `id.layer` the layer it belongs to (1 the embedding, 2 … L + 1 the blocks, L + 2 the final norm
    /// and an untied head).
    let id: TensorID
}

/// One block's tensors (`BlockTensor`). Optional pointers are absent for the model's shape (no biases, RMSNorm).
struct BlockTensors<T> {
    let ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb: UnsafeMutablePointer<T>?
    let dln1w, dln1b, dqkvw, dqkvb, dattprojw, dattprojb, dln2w, dln2b, dfcw, dfcb, dfcprojw, dfcprojb: UnsafeMutablePointer<T>?
    /// (B, T, C) the block's input (the previous block's output, or the embedding's)
    let input: UnsafeMutablePointer<T>
    let ln1, ln1Mean, ln1Rstd, qkv, att, atty, residual2, ln2, ln2Mean, ln2Rstd, fch, fchAct, output: UnsafeMutablePointer<T>?
    let dfchAct, dfch, dln2, datty, dqkv, dln1, attScratch: UnsafeMutablePointer<T>?
}

/// One norm's tensors (a block's ln1 or ln2, or the final lnf), as the block stores them: absent ones nil (no mean nor
/// shift for RMSNorm).
struct NormTensors<T> {
    /// (B·T, C) the normalised output n and ∂L/∂n
    let out, dout: UnsafeMutablePointer<T>?
    /// (B·T) μ (LayerNorm) and s = 1/σ
    let mean, rstd: UnsafeMutablePointer<T>?
    /// (C) γ and β, and their gradients
    let gain, shift, dgain, dshift: UnsafeMutablePointer<T>?
}

extension BlockTensors {
    var norm1: NormTensors<T> {
        NormTensors(out: ln1, dout: dln1, mean: ln1Mean, rstd: ln1Rstd, gain: ln1w, shift: ln1b, dgain: dln1w, dshift: dln1b)
    }

    var norm2: NormTensors<T> {
        NormTensors(out: ln2, dout: dln2, mean: ln2Mean, rstd: ln2Rstd, gain: ln2w, shift: ln2b, dgain: dln2w, dshift: dln2b)
    }
}

/// The text in the arena (bytes), its windows' shuffled order and counts: the same whatever a transformer trainer's
/// element type, so the engine reads them without switching over the precision.
struct TextTensors {
    let train, validation: UnsafeMutablePointer<UInt8>
    let order: UnsafeMutablePointer<Int32>
    /// Bytes of validation text, and training windows.
    let validationCount, windowCount: Int
}

/// Every tensor of a transformer's step at its planned offset, as elements of T (Float, Double, or bf16 patterns
/// `UInt16` for bf16-mixed, whose masters and fp32 state `MixedTransformerTrainer` resolves itself).
struct TransformerTensors<T> {
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

    /// The residual stream leaving the last block (lnf's input).
    var lastOutput: UnsafeMutablePointer<T> { blocks.last?.output ?? encoded }

    /// The final norm, lnf.
    var finalNorm: NormTensors<T> {
        NormTensors(out: lnf, dout: dlnf, mean: lnfMean, rstd: lnfRstd, gain: lnfw, shift: lnfb, dgain: dlnfw, dshift: dlnfb)
    }

    var text: TextTensors {
        TextTensors(
            train: trainText, validation: validationText, order: order, validationCount: validationCount,
            windowCount: windowCount)
    }

    /// Resolves every tensor at its planned offset. A rank's plan (`StepProgram.rankBuffers`) places the program's
    /// buffers first, sharded as `sharding` says over its `shards` ranks, then the exchange's: the ops then use the
    /// "gradient bucket" for the gradients (zero2, zero3) and the "gather buffer" for the parameters (zero3), each
    /// parameter at its offset among its layer's (`TransformerParameter`).
    init(program: StepProgram, plan: ArenaPlan, arena: Arena, sharding: (strategy: ShardingStrategy, shards: Int)? = nil) {
        guard let model = program.table.transformer else {
            preconditionFailure("TransformerTensors: not a transformer's program")
        }
        self.model = model
        let stateShards = sharding.map { $0.strategy == .dp ? 1 : $0.shards } ?? 1
        func bytes(_ id: TensorID) -> (Int, Int)? {
            program.index(of: id).map { (plan.offsets[$0], plan.requests[$0].byteCount) }
        }
        func stored(_ id: TensorID) -> UnsafeMutablePointer<T>? {
            bytes(id).map { arena.pointer(at: $0.0, count: $0.1 / MemoryLayout<T>.stride, as: T.self) }
        }
        func communication(_ name: String) -> UnsafeMutablePointer<T>? {
            let found = plan.requests.indices.first {
                plan.requests[$0].category == .communication && plan.requests[$0].name == name
            }
            return found.map {
                arena.pointer(at: plan.offsets[$0], count: plan.requests[$0].byteCount / MemoryLayout<T>.stride, as: T.self)
            }
        }
        let strategy = sharding?.strategy
        let bucket = strategy == .zero2 || strategy == .zero3 ? communication("gradient bucket") : nil
        let gather = strategy == .zero3 ? communication("gather buffer") : nil
        // Each parameter's offset among its layer's parameters (elements), in the table's order.
        func key(_ id: TensorID) -> Int { id.layer << 16 | Int(id.role) }
        var positions: [Int: Int] = [:]
        var layerElements: [Int: Int] = [:]
        for id in program.table.parameterIDs {
            positions[key(id)] = layerElements[id.layer] ?? 0
            layerElements[id.layer, default: 0] += program.table.spec(id)!.elementCount
        }
        /// Where the ops use tensor `id`: a parameter's place in the gather buffer, a gradient's in the bucket, else
        /// its own buffer.
        func view(_ id: TensorID) -> UnsafeMutablePointer<T>? {
            if let position = positions[key(id)] {
                if id.derivative == .gradient, let bucket { return bucket + position }
                if id.derivative == .value, let gather { return gather + position }
            }
            return stored(id)
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
            func storedRequired(_ id: TensorID) -> UnsafeMutablePointer<T> {
                guard let pointer = stored(id) else { preconditionFailure("TransformerTensors: the plan has no \(id)") }
                return pointer
            }
            return TransformerParameter(
                values: storedRequired(id), gradient: storedRequired(id.gradient), workingValues: required(id),
                workingGradient: required(id.gradient), states: (0..<states).map { storedRequired(id.state($0)) },
                count: count, stateCount: count / shards + (count % shards == 0 ? 0 : 1), id: id)
        }
    }
}

/// Where `load` takes the batch's windows from.
enum TransformerWindows {
    /// Training windows `order[start ..< start + B]` (window w is tokens w·T … w·T + T).
    case training(start: Int)
    /// Validation windows `start ..< start + B` of the held-out text.
    case validation(start: Int)
}

extension TransformerTensors {
    /// The load op: each window's T tokens into `tokens` and the next T into `targets`.
    func load(_ windows: TransformerWindows) {
        let (batch, t) = (model.batchSize, model.sequenceLength)
        for b in 0..<batch {
            let (text, offset): (UnsafeMutablePointer<UInt8>, Int)
            switch windows {
            case .training(let start): (text, offset) = (trainText, Int(order[start + b]) * t)
            case .validation(let start):
                // Windows past the end wrap around, so a batch is always B windows.
                let windows = max(1, (validationCount - 1) / t)
                (text, offset) = (validationText, ((start + b) % windows) * t)
            }
            for i in 0..<t {
                tokens[b * t + i] = Int32(text[offset + i])
                targets[b * t + i] = Int32(text[offset + i + 1])
            }
        }
    }
}

extension TransformerSpec {
    /// Phases of a sub-op: a backward sub-op that forms a parameter's gradient joins once between the input gradient
    /// (split by rows) and the parameter gradient (split by the parameter's columns).
    func phases(_ op: StepOp) -> Int {
        guard case .backwardPart(let layer, let sub) = op else { return 1 }
        if layer == 1 { return 1 }  // embedding: columns only
        if layer == layerCount + 2 { return 2 }
        switch BlockPart(rawValue: sub)! {
        case .attention, .activation: return 1
        default: return 2
        }
    }

    /// GPT-2's initialisation of parameter `spec`: every matrix and the embeddings N(0, 0.02²), the residual
    /// projections (attention's and the feed-forward network's output) N(0, (0.02/√(2L))²) — `deviation` — else the
    /// constant `value`: norm gains 1, biases and shifts 0.
    func initialValues(of spec: TensorSpec) -> (deviation: Double?, value: Double) {
        let name = spec.name
        if spec.shape.count >= 2 {
            let residualScale = 0.02 / (2 * Double(layerCount)).squareRoot()
            return (name.hasSuffix("attprojw") || name.hasSuffix("fcprojw") ? residualScale : 0.02, 0)
        }
        let isGain = name.hasSuffix("ln1w") || name.hasSuffix("ln2w") || name == "lnfw"
        return (nil, isGain ? 1 : 0)
    }
}

// The transformer kinds' tensors and op accesses: an embedding, L blocks and a head, each op a sub-op of its layer
// so every tensor's lifetime is the span of the sub-ops that touch it. Letters: B batch, T sequence, C hidden,
// NH heads, NKV key/value heads, HS head size, I feed-forward width, V vocabulary, Vp padded, maxT context, P parts.

import ModelProfile

/// The embedding layer's tensors (layer 1).
public enum EmbeddingTensor: UInt16, CaseIterable, Sendable {
    /// wte (Vp, C): token embeddings (also the head's weights when tied)
    case tokenTable
    /// wpe (maxT, C): learned position embeddings
    case positionTable
    /// (maxT, HS): rotary cos | sin per position, computed once (rotary positions)
    case rotaryTable
    /// (B, T, C): wte[token] + wpe[t], the residual stream entering block 1
    case output
}

/// One block's tensors (layers 2 … L + 1).
public enum BlockTensor: UInt16, CaseIterable, Sendable {
    /// Parameters: ln1 γ, β (C); qkv W ((NH + 2·NKV)·HS, C), b; attention projection W (C, C), b; ln2 γ, β (C);
    /// fc W (I or 2I for SwiGLU's gate | up, C), b; fc projection W (C, I), b.
    case norm1Gain, norm1Shift, qkvWeight, qkvBias, projectionWeight, projectionBias, norm2Gain, norm2Shift
    case fcWeight, fcBias, fcProjectionWeight, fcProjectionBias
    /// Kept for the backward pass: ln1 (B, T, C) and its mean, rstd (B, T); qkv (B, T, (NH + 2·NKV)·HS);
    /// attention probabilities (B, NH, T, T); attention output (B, T, C); the residual after attention (B, T, C);
    /// ln2 and its statistics; fc (B, T, I or 2I); its activation (B, T, I); the block's output (B, T, C).
    case norm1, norm1Mean, norm1Rstd, qkv, attention, attentionOutput, residual, norm2, norm2Mean, norm2Rstd
    case fc, fcActivation, output
    /// Backward transients: ∂ of the fc activation, fc, ln2, attention output, qkv, ln1; attention's
    /// (P, T, T) scratch for ∂scores.
    case dFCActivation, dFC, dNorm2, dAttentionOutput, dQKV, dNorm1, attentionScratch
}

/// The head's tensors (layer L + 2).
public enum HeadTensor: UInt16, CaseIterable, Sendable {
    /// lnf γ, β (C); the untied head's weights (Vp, C)
    case normGain, normShift, weight
    /// lnf (B, T, C) and its mean, rstd (B, T); logits (B, T, Vp), overwritten by ∂L/∂logits in the loss
    case norm, normMean, normRstd, logits
    /// ∂lnf (B, T, C); ∂ of the residual stream (B, T, C), carried from the head back to the embedding
    case dNorm, dResidual
    /// (B, T): each position's loss, summed into the step's
    case losses
}

/// The sub-ops of a block, in forward order.
public enum BlockPart: Int, CaseIterable, Sendable {
    case norm1, qkv, attention, projection, norm2, fc, activation, fcProjection

    /// The sub-op's name in plans: `ln1`, `qkv`, `attn`, `proj`, `ln2`, `fc`, `act`, `fcproj`.
    public var name: String {
        switch self {
        case .norm1: "ln1"
        case .qkv: "qkv"
        case .attention: "attn"
        case .projection: "proj"
        case .norm2: "ln2"
        case .fc: "fc"
        case .activation: "act"
        case .fcProjection: "fcproj"
        }
    }
}

/// Declares a transformer's tensors and ops (`StepTable.init(transformer:options:data:)` assembles them).
struct TransformerKinds {
    let model: TransformerModel
    let options: StepOptions
    /// Activations the backward pass reads as recomputed (`TensorID.recomputed`), per `model.recompute`.
    private(set) var recomputedIDs: Set<TensorID>

    init(model: TransformerModel, options: StepOptions) {
        self.model = model
        self.options = options
        recomputedIDs = []
        var ids = Set<TensorID>()
        for k in blocks { for part in recomputedParts(k) { ids.formUnion(forward(k, part).writes) } }
        recomputedIDs = ids
    }
    var spec: TransformerSpec { model.spec }
    var blocks: ClosedRange<Int> { 2...(spec.layerCount + 1) }
    var headLayer: Int { spec.layerCount + 2 }

    func embedding(_ role: EmbeddingTensor) -> TensorID { TensorID(layer: 1, role) }
    func block(_ k: Int, _ role: BlockTensor) -> TensorID { TensorID(layer: k, role) }
    func head(_ role: HeadTensor) -> TensorID { TensorID(layer: headLayer, role) }
    /// The residual stream entering block k: the embedding's output, or the previous block's.
    func input(of k: Int) -> TensorID { k == 2 ? embedding(.output) : block(k - 1, .output) }
    var hasShift: Bool { spec.norm == .layer }
    var fcWidth: Int { spec.fcWidth }

    // MARK: - Tensors

    func tensors(_ table: inout TableBuilder) throws(BudgetError) {
        let (b, t, c, vp) = (model.batchSize, model.sequenceLength, spec.hiddenSize, spec.paddedVocabularySize)
        let float = ElementType.float(model.precision)
        try table.parameter(embedding(.tokenTable), name: "wte", shape: [vp, c], elementType: float, trains: trainsBase)
        if spec.positions == .learned {
            try table.parameter(
                embedding(.positionTable), name: "wpe", shape: [spec.contextLength, c], elementType: float, trains: trainsBase)
        } else {
            try table.add(
                embedding(.rotaryTable), name: "rope", shape: [spec.contextLength, spec.headSize], elementType: float,
                category: .data,
                isPersistent: true)
        }
        try table.add(embedding(.output), name: "encoded", shape: [b, t, c], elementType: float, category: .activations)
        for k in blocks { try blockTensors(k, &table) }
        for original in table.tensors where recomputedIDs.contains(original.id) {
            try table.add(
                original.id.recomputed, name: original.name + ".re", shape: original.shape, elementType: original.elementType,
                category: .recomputed)
        }
        try table.parameter(head(.normGain), name: "lnfw", shape: [c], elementType: float, trains: trainsBase)
        if hasShift { try table.parameter(head(.normShift), name: "lnfb", shape: [c], elementType: float, trains: trainsBase) }
        if !spec.tiedEmbeddings {
            try table.parameter(head(.weight), name: "lm_head", shape: [vp, c], elementType: float, trains: trainsBase)
        }
        try table.add(head(.norm), name: "lnf", shape: [b, t, c], elementType: float, category: .activations)
        if hasShift {
            try table.add(head(.normMean), name: "lnf_mean", shape: [b, t], elementType: float, category: .activations)
        }
        try table.add(head(.normRstd), name: "lnf_rstd", shape: [b, t], elementType: float, category: .activations)
        try table.add(head(.logits), name: "logits", shape: [b, t, vp], elementType: float, category: .activations)
        try table.add(head(.losses), name: "losses", shape: [b, t], elementType: float, category: .scratch)
        try table.add(head(.dNorm), name: "dlnf", shape: [b, t, c], elementType: float, category: .deltas)
        try table.add(head(.dResidual), name: "dresidual", shape: [b, t, c], elementType: float, category: .deltas)
    }

    func blockTensors(_ k: Int, _ table: inout TableBuilder) throws(BudgetError) {
        let (b, t, c, i) = (model.batchSize, model.sequenceLength, spec.hiddenSize, spec.feedForwardSize)
        let float = ElementType.float(model.precision)
        let h = "h\(k - 1)."
        let parameters: [(BlockTensor, String, [Int], Bool)] = [
            (.norm1Gain, "ln1w", [c], true), (.norm1Shift, "ln1b", [c], hasShift),
            (.qkvWeight, "qkvw", [spec.qkvWidth, c], true), (.qkvBias, "qkvb", [spec.qkvWidth], spec.hasQKVBias),
            (.projectionWeight, "attprojw", [c, c], true), (.projectionBias, "attprojb", [c], spec.hasBiases),
            (.norm2Gain, "ln2w", [c], true), (.norm2Shift, "ln2b", [c], hasShift),
            (.fcWeight, "fcw", [fcWidth, c], true), (.fcBias, "fcb", [fcWidth], spec.hasBiases),
            (.fcProjectionWeight, "fcprojw", [c, i], true), (.fcProjectionBias, "fcprojb", [c], spec.hasBiases),
        ]
        for (role, name, shape, present) in parameters where present {
            try table.parameter(block(k, role), name: h + name, shape: shape, elementType: float, trains: trainsBase)
        }
        try adapterTensors(k, &table)
        let activations: [(BlockTensor, String, [Int], BufferCategory, Bool)] = [
            (.norm1, "ln1", [b, t, c], .activations, true), (.norm1Mean, "ln1_mean", [b, t], .activations, hasShift),
            (.norm1Rstd, "ln1_rstd", [b, t], .activations, true), (.qkv, "qkv", [b, t, spec.qkvWidth], .activations, true),
            (.attention, "att", [b, spec.headCount, t, t], .activations, true),
            (.attentionOutput, "atty", [b, t, c], .activations, true),
            (.residual, "residual2", [b, t, c], .activations, true), (.norm2, "ln2", [b, t, c], .activations, true),
            (.norm2Mean, "ln2_mean", [b, t], .activations, hasShift), (.norm2Rstd, "ln2_rstd", [b, t], .activations, true),
            (.fc, "fch", [b, t, fcWidth], .activations, true), (.fcActivation, "fch_act", [b, t, i], .activations, true),
            (.output, "residual3", [b, t, c], .activations, true),
            (.dFCActivation, "dfch_act", [b, t, i], .deltas, true), (.dFC, "dfch", [b, t, fcWidth], .deltas, true),
            (.dNorm2, "dln2", [b, t, c], .deltas, true), (.dAttentionOutput, "datty", [b, t, c], .deltas, true),
            (.dQKV, "dqkv", [b, t, spec.qkvWidth], .deltas, true), (.dNorm1, "dln1", [b, t, c], .deltas, true),
            (.attentionScratch, "datt", [options.parts, t, t], .scratch, true),
        ]
        for (role, name, shape, category, present) in activations where present {
            try table.add(block(k, role), name: h + name, shape: shape, elementType: float, category: category)
        }
    }

    // MARK: - Ops

    /// Parameters of block k used by sub-op `part`.
    func parameters(_ k: Int, _ part: BlockPart) -> [TensorID] {
        let roles: [BlockTensor] =
            switch part {
            case .norm1: hasShift ? [.norm1Gain, .norm1Shift] : [.norm1Gain]
            case .qkv: spec.hasQKVBias ? [.qkvWeight, .qkvBias] : [.qkvWeight]
            case .attention, .activation: []
            case .projection: spec.hasBiases ? [.projectionWeight, .projectionBias] : [.projectionWeight]
            case .norm2: hasShift ? [.norm2Gain, .norm2Shift] : [.norm2Gain]
            case .fc: spec.hasBiases ? [.fcWeight, .fcBias] : [.fcWeight]
            case .fcProjection: spec.hasBiases ? [.fcProjectionWeight, .fcProjectionBias] : [.fcProjectionWeight]
            }
        return roles.map { block(k, $0) } + adapterParameters(k, part)
    }

    /// What block k's forward sub-op reads (besides its parameters) and writes, LoRA's rank-r intermediates included.
    func forward(_ k: Int, _ part: BlockPart) -> (reads: [TensorID], writes: [TensorID]) {
        let base = baseForward(k, part)
        return (base.reads, base.writes + adapterIntermediates(k, part))
    }

    func baseForward(_ k: Int, _ part: BlockPart) -> (reads: [TensorID], writes: [TensorID]) {
        let stats1: [TensorID] = hasShift ? [block(k, .norm1Mean), block(k, .norm1Rstd)] : [block(k, .norm1Rstd)]
        let stats2: [TensorID] = hasShift ? [block(k, .norm2Mean), block(k, .norm2Rstd)] : [block(k, .norm2Rstd)]
        let rope: [TensorID] = spec.positions == .rotary ? [embedding(.rotaryTable)] : []
        switch part {
        case .norm1: return ([input(of: k)], [block(k, .norm1)] + stats1)
        case .qkv: return ([block(k, .norm1)] + rope, [block(k, .qkv)])
        case .attention: return ([block(k, .qkv)], [block(k, .attention), block(k, .attentionOutput)])
        case .projection: return ([block(k, .attentionOutput), input(of: k)], [block(k, .residual)])
        case .norm2: return ([block(k, .residual)], [block(k, .norm2)] + stats2)
        case .fc: return ([block(k, .norm2)], [block(k, .fc)])
        case .activation: return ([block(k, .fc)], [block(k, .fcActivation)])
        case .fcProjection: return ([block(k, .fcActivation), block(k, .residual)], [block(k, .output)])
        }
    }

    /// What block k's backward sub-op reads (besides its parameters) and writes (besides its parameters' gradients).
    /// The residual stream's gradient (`dresidual`) passes every block: the projections read it, the norms add to it.
    /// An adapted projection also reads its rank-r intermediates (for dB) and writes their deltas.
    func backward(_ k: Int, _ part: BlockPart) -> (reads: [TensorID], writes: [TensorID]) {
        let base = baseBackward(k, part)
        return (base.reads + adapterIntermediates(k, part), base.writes + adapterDeltas(k, part))
    }

    func baseBackward(_ k: Int, _ part: BlockPart) -> (reads: [TensorID], writes: [TensorID]) {
        let dResidual = head(.dResidual)
        let stats1: [TensorID] = hasShift ? [block(k, .norm1Mean), block(k, .norm1Rstd)] : [block(k, .norm1Rstd)]
        let stats2: [TensorID] = hasShift ? [block(k, .norm2Mean), block(k, .norm2Rstd)] : [block(k, .norm2Rstd)]
        let rope: [TensorID] = spec.positions == .rotary ? [embedding(.rotaryTable)] : []
        switch part {
        case .fcProjection: return ([dResidual, block(k, .fcActivation)], [block(k, .dFCActivation)])
        case .activation: return ([block(k, .dFCActivation), block(k, .fc)], [block(k, .dFC)])
        case .fc: return ([block(k, .dFC), block(k, .norm2)], [block(k, .dNorm2)])
        case .norm2: return ([block(k, .dNorm2), block(k, .residual)] + stats2, [dResidual])
        case .projection: return ([dResidual, block(k, .attentionOutput)], [block(k, .dAttentionOutput)])
        case .attention:
            return (
                [block(k, .dAttentionOutput), block(k, .qkv), block(k, .attention)],
                [block(k, .dQKV), block(k, .attentionScratch)]
            )
        case .qkv: return ([block(k, .dQKV), block(k, .norm1)] + rope, [block(k, .dNorm1)])
        case .norm1: return ([block(k, .dNorm1), input(of: k)] + stats1, [dResidual])
        }
    }

    /// Every op of the step, in order.
    func ops(fusedUpdate: Bool, parameterIDs: [TensorID], states: Int) -> [OpAccess] {
        var ops = [
            OpAccess(
                .load, reads: [TensorID(.trainText), TensorID(.order)], writes: [TensorID(.features), TensorID(.targets)],
                label: "load")
        ]
        var embedReads = [TensorID(.features), embedding(.tokenTable)]
        if spec.positions == .learned { embedReads.append(embedding(.positionTable)) }
        ops.append(OpAccess(.forwardPart(layer: 1, part: 0), reads: embedReads, writes: [embedding(.output)], label: "embed"))
        for k in blocks {
            for part in BlockPart.allCases {
                let (reads, writes) = forward(k, part)
                ops.append(
                    OpAccess(
                        .forwardPart(layer: k, part: part.rawValue), reads: reads + parameters(k, part), writes: writes,
                        label: "h\(k - 1).\(part.name)"))
            }
        }
        let normParameters = hasShift ? [head(.normGain), head(.normShift)] : [head(.normGain)]
        let headStats = hasShift ? [head(.normMean), head(.normRstd)] : [head(.normRstd)]
        let headWeight = spec.tiedEmbeddings ? embedding(.tokenTable) : head(.weight)
        ops.append(
            OpAccess(
                .forwardPart(layer: headLayer, part: 0), reads: [block(headLayer - 1, .output)] + normParameters,
                writes: [head(.norm)] + headStats, label: "lnf"))
        ops.append(
            OpAccess(
                .forwardPart(layer: headLayer, part: 1), reads: [head(.norm), headWeight], writes: [head(.logits)],
                label: "logits"))
        ops.append(
            OpAccess(.loss, reads: [head(.logits), TensorID(.targets)], writes: [head(.logits), head(.losses)], label: "loss"))
        ops.append(
            OpAccess(
                .backwardPart(layer: headLayer, part: 1), reads: [head(.logits), head(.norm), headWeight],
                writes: [head(.dNorm)] + gradients([headWeight]), label: "bwd logits"))
        ops.append(
            OpAccess(
                .backwardPart(layer: headLayer, part: 0),
                reads: [head(.dNorm), block(headLayer - 1, .output)] + headStats + normParameters,
                writes: [head(.dResidual)] + gradients(normParameters), label: "bwd lnf"))
        for k in blocks.reversed() {
            // A segment's recompute runs (in forward order) just before the backward of its last block.
            if let segment = segments.first(where: { $0.upperBound == k }) {
                for j in segment { ops += recomputeOps(j, parts: recomputedParts(j)) }
            }
            for part in BlockPart.allCases.reversed() {
                // Selective: attention's outputs are formed again just before their first backward reader.
                if model.recompute == .selective, part == .projection { ops += recomputeOps(k, parts: [.attention]) }
                let (reads, writes) = backward(k, part)
                let parameters = parameters(k, part)
                ops.append(
                    OpAccess(
                        .backwardPart(layer: k, part: part.rawValue), reads: reads.map(recomputed) + parameters,
                        writes: writes + gradients(parameters), label: "bwd h\(k - 1).\(part.name)"))
            }
        }
        var embedParameters = [embedding(.tokenTable)]
        if spec.positions == .learned { embedParameters.append(embedding(.positionTable)) }
        if trainsBase {  // frozen embeddings (LoRA) need no backward
            ops.append(
                OpAccess(
                    .backwardPart(layer: 1, part: 0), reads: [head(.dResidual), TensorID(.features)],
                    writes: gradients(embedParameters), label: "bwd embed"))
        }
        let stateIndices = 0..<states
        ops.append(
            OpAccess(
                .update, reads: parameterIDs.flatMap { id in [id, id.gradient] + stateIndices.map { id.state($0) } },
                writes: parameterIDs.flatMap { id in [id] + stateIndices.map { id.state($0) } }, label: "update"))
        return ops
    }

    // MARK: - Recompute (gradient checkpointing)

    /// Runs of consecutive blocks that the backward pass forms again from the first one's input: each block alone
    /// (`blocks`), ⌈√L⌉ blocks at a time (`sqrt`); none otherwise.
    var segments: [ClosedRange<Int>] {
        let size: Int
        switch model.recompute {
        case .none, .selective: return []
        case .blocks: size = 1
        case .sqrt: size = Self.ceilSquareRoot(spec.layerCount)
        }
        return stride(from: blocks.lowerBound, through: blocks.upperBound, by: size).map {
            $0...min($0 + size - 1, blocks.upperBound)
        }
    }

    /// ⌈√n⌉ by integers.
    static func ceilSquareRoot(_ n: Int) -> Int {
        var root = 1
        while root * root < n { root += 1 }
        return root
    }

    /// Block k's forward sub-ops that run again in the backward pass: a segment's blocks run all of theirs except the
    /// segment's last block's feed-forward projection (its output, the next segment's input, is kept); `selective`
    /// runs attention only.
    func recomputedParts(_ k: Int) -> [BlockPart] {
        switch model.recompute {
        case .none: return []
        case .selective: return [.attention]
        case .blocks, .sqrt:
            let last = segments.first { $0.contains(k) }?.upperBound == k
            return last ? BlockPart.allCases.filter { $0 != .fcProjection } : BlockPart.allCases
        }
    }

    /// The recomputed twin of an activation the backward pass reads, or the tensor itself when it is kept.
    func recomputed(_ id: TensorID) -> TensorID { recomputedIDs.contains(id) ? id.recomputed : id }

    /// Block k's recompute ops: the forward sub-ops again, reading and writing the recomputed twins.
    func recomputeOps(_ k: Int, parts: [BlockPart]) -> [OpAccess] {
        parts.map { part in
            let (reads, writes) = forward(k, part)
            return OpAccess(
                .recomputePart(layer: k, part: part.rawValue), reads: reads.map(recomputed) + parameters(k, part),
                writes: writes.map(recomputed), label: "re h\(k - 1).\(part.name)")
        }
    }

    // MARK: - Arithmetic

    /// Floating-point operations of block sub-op `part`'s forward pass (a multiply-add counts 2), counting the products
    /// only — norms, activations and residual sums add O(B·T·C), noise beside them. N = B·T rows:
    /// qkv 2·N·C·(NH + 2·NKV)·HS, projection 2·N·C², fc 2·N·C·I (2I with SwiGLU), fcproj 2·N·I·C; causal attention
    /// q·kᵀ and att·v over the T(T+1)/2 visible pairs, 2·2·B·NH·HS·T(T+1)/2.
    func forwardFLOPs(_ part: BlockPart) -> Double {
        let (n, c) = (Double(model.batchSize * model.sequenceLength), Double(spec.hiddenSize))
        let t = Double(model.sequenceLength)
        switch part {
        case .qkv: return 2 * n * c * Double(spec.qkvWidth)
        case .attention: return 2 * Double(model.batchSize * spec.headCount * spec.headSize) * t * (t + 1)
        case .projection: return 2 * n * c * c
        case .fc: return 2 * n * c * Double(fcWidth)
        case .fcProjection: return 2 * n * Double(spec.feedForwardSize) * c
        case .norm1, .norm2, .activation: return 0
        }
    }

    /// The step's products: forward (blocks and the head's 2·N·C·Vp) ×3 for forward + backward (each product's
    /// backward forms two of the same size), and the recompute ops' forward products on top.
    var flops: (step: Double, recomputed: Double) {
        let n = Double(model.batchSize * model.sequenceLength)
        let block = BlockPart.allCases.map(forwardFLOPs).reduce(0, +)
        let forward = Double(spec.layerCount) * block + 2 * n * Double(spec.hiddenSize * spec.paddedVocabularySize)
        var recomputed = 0.0
        for k in blocks { recomputed += recomputedParts(k).map(forwardFLOPs).reduce(0, +) }
        return (3 * forward + recomputed, recomputed)
    }
}

extension StepTable {
    /// A transformer step's floating-point operations (products only; see `TransformerKinds.forwardFLOPs`): the whole
    /// step including recompute, and the recompute ops' share. Nil for an MLP.
    public var transformerFLOPs: (step: Double, recomputed: Double)? {
        guard let model = transformer else { return nil }
        return TransformerKinds(model: model, options: options).flops
    }
}

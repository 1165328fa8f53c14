// Generating text one token at a time: the tensors and op accesses of decoding one token with a KV cache. The
// parameters are the training table's (same IDs, names and shapes); the cache holds every block's keys and values of
// the tokens so far; one token's activations are reused by every block. Letters as TransformerTable.swift: L blocks,
// C hidden, NH heads, NKV key/value heads, HS head size, I feed-forward width, Vp padded vocabulary, maxT context.

import ModelProfile

/// Decoding's own tensors (their IDs are in layer L + 3, after the head's).
public enum DecodeTensor: UInt16, CaseIterable, Sendable {
    /// (maxT, L, 2, NKV·HS): the KV cache, token-major. Position t's row holds block 1's key then value, block 2's, …,
    /// so n positions fill exactly the first n·(bytes per token) bytes, and a block's keys are rows of a strided view.
    case kvCache
    /// (maxT) Int32: the window's tokens from position 0; the sampler appends to it.
    case tokens
    /// (C): the residual stream of the token being decoded, updated in place by every block.
    case residual
    /// (C) a norm's output (ln1, ln2, lnf); its mean and inverse deviation (1) each.
    case norm, normMean, normRstd
    /// ((NH + 2·NKV)·HS): the token's q | k | v (k and v are copied into the cache).
    case qkv
    /// (NH, maxT): each head's attention weights over positions 0 … t.
    case scores
    /// (C): the heads' outputs, side by side.
    case attentionOutput
    /// (C): the attention's or the feed-forward network's projection, before it is added to the residual stream.
    case projection
    /// (I, or 2I for SwiGLU's gate | up) and its activation (I).
    case fc, fcActivation
    /// (Vp): the next token's logits.
    case logits
    /// (V): the sampler's probabilities (softmax of logits/temperature).
    case probabilities

    /// The name reports print.
    public var name: String {
        switch self {
        case .kvCache: "kv_cache"
        case .tokens: "tokens"
        case .residual: "residual"
        case .norm: "ln"
        case .normMean: "ln_mean"
        case .normRstd: "ln_rstd"
        case .qkv: "qkv"
        case .scores: "att"
        case .attentionOutput: "atty"
        case .projection: "proj"
        case .fc: "fch"
        case .fcActivation: "fch_act"
        case .logits: "logits"
        case .probabilities: "probs"
        }
    }
}

/// Every tensor of decoding one token and every op's accesses, in op order:
///
///     embed                    residual ← wte[token] + wpe[t]
///     h1.ln1 … h1.fcproj       each block's sub-ops on the one token; `qkv` also writes the token's k and v into
///     …                        the cache at position t, `attn` reads positions 0 … t of it
///     lnf, logits, sample      the head; the sampler writes the next token
///
/// Persistent (live at every op): the parameters, the rotary table, the KV cache and the window's tokens. The
/// activations live from their first op to their last over all blocks, so the planner reuses bytes only between
/// the blocks' working set and the head's logits and probabilities.
public struct DecodeTable: Sendable {
    /// The model decoded (its batch and sequence are not used: one token at a time, up to the context).
    public let model: TransformerModel
    public let tensors: [TensorSpec]
    public let ops: [OpAccess]
    /// The parameters in the training table's order (which `TensorID`s the checkpoint fills).
    public let parameterIDs: [TensorID]
    /// Bytes of the KV cache one token fills: 2 · L · NKV · HS · element bytes.
    public let kvBytesPerToken: Int
    private let indexByID: [TensorID: Int]

    /// - Throws: `BudgetError.overflow` when a tensor's bytes exceed `Int.max`.
    public init(model: TransformerModel) throws(BudgetError) {
        var step = model  // one token: the training table of batch 1, sequence 1 declares the parameters
        (step.batchSize, step.sequenceLength, step.recompute) = (1, 1, .none)
        step.lora = nil  // decoding reads the base weights (LoRA adapters are a training-time addition)
        self.model = model
        let spec = model.spec
        let checked = Checked(context: model.name)
        let float = ElementType.float(model.precision)
        let training = try StepTable(transformer: step)
        // The parameters and the rotary table exactly as training declares them.
        var tensors = training.tensors.filter {
            $0.category == .parameters || ($0.isPersistent && $0.id == TensorID(layer: 1, EmbeddingTensor.rotaryTable))
        }
        parameterIDs = training.parameterIDs
        let keyValueWidth = try checked.multiply(spec.keyValueHeadCount, spec.headSize, what: "NKV·HS")
        kvBytesPerToken = try checked.multiply(
            2 * float.byteCount, spec.layerCount, keyValueWidth, what: "the KV cache's bytes per token")
        var builder = TableBuilder(checked: checked, optimizer: .sgd, fusesUpdate: true)
        let fcWidth = spec.fcWidth
        let declared: [(DecodeTensor, [Int], ElementType, BufferCategory, Bool)] = [
            (.kvCache, [spec.contextLength, spec.layerCount, 2, keyValueWidth], float, .kvCache, true),
            (.tokens, [spec.contextLength], .int32, .inputs, true),
            (.residual, [spec.hiddenSize], float, .activations, false),
            (.norm, [spec.hiddenSize], float, .activations, false),
            (.normMean, [1], float, .activations, false),
            (.normRstd, [1], float, .activations, false),
            (.qkv, [spec.qkvWidth], float, .activations, false),
            (.scores, [spec.headCount, spec.contextLength], float, .scratch, false),
            (.attentionOutput, [spec.hiddenSize], float, .activations, false),
            (.projection, [spec.hiddenSize], float, .activations, false),
            (.fc, [fcWidth], float, .activations, false),
            (.fcActivation, [spec.feedForwardSize], float, .activations, false),
            (.logits, [spec.paddedVocabularySize], float, .activations, false),
            (.probabilities, [spec.vocabularySize], float, .scratch, false),
        ]
        for (role, shape, type, category, persistent) in declared where role != .normMean || spec.norm == .layer {
            try builder.add(
                Self.id(role, layers: spec.layerCount), name: role.name, shape: shape, elementType: type, category: category,
                isPersistent: persistent)
        }
        tensors += builder.tensors
        self.tensors = tensors
        ops = Self.ops(TransformerKinds(model: step, options: StepOptions()))
        indexByID = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.id, $0) })
    }

    /// The ID of a decode tensor of a model with `layers` blocks.
    public static func id(_ role: DecodeTensor, layers: Int) -> TensorID { TensorID(layer: layers + 3, role) }

    /// The ID of one of this table's decode tensors.
    public func id(_ role: DecodeTensor) -> TensorID { Self.id(role, layers: model.spec.layerCount) }

    /// The tensor with this ID, if the table has it.
    public func spec(_ id: TensorID) -> TensorSpec? { indexByID[id].map { tensors[$0] } }

    /// Bytes of the whole KV cache: maxT · `kvBytesPerToken`.
    public var kvCacheByteCount: Int { spec(id(.kvCache))?.byteCount ?? 0 }

    /// Bytes of one category, summed.
    public func bytes(of category: BufferCategory) -> Int {
        tensors.filter { $0.category == category }.reduce(0) { $0 + $1.byteCount }
    }

    /// The ops of one token (see the type's comment), with the same parameter accesses as training's forward sub-ops.
    static func ops(_ kinds: TransformerKinds) -> [OpAccess] {
        let spec = kinds.spec
        let d = { (role: DecodeTensor) in Self.id(role, layers: spec.layerCount) }
        let stats = spec.norm == .layer ? [d(.normMean), d(.normRstd)] : [d(.normRstd)]
        let rope = spec.positions == .rotary ? [kinds.embedding(.rotaryTable)] : []
        var embedReads = [d(.tokens), kinds.embedding(.tokenTable)]
        if spec.positions == .learned { embedReads.append(kinds.embedding(.positionTable)) }
        var ops = [OpAccess(.forwardPart(layer: 1, part: 0), reads: embedReads, writes: [d(.residual)], label: "embed")]
        for k in kinds.blocks {
            for part in BlockPart.allCases {
                let (reads, writes): ([TensorID], [TensorID])
                switch part {
                case .norm1, .norm2: (reads, writes) = ([d(.residual)], [d(.norm)] + stats)
                case .qkv: (reads, writes) = ([d(.norm)] + rope, [d(.qkv), d(.kvCache)])
                case .attention: (reads, writes) = ([d(.qkv), d(.kvCache)], [d(.scores), d(.attentionOutput)])
                case .projection: (reads, writes) = ([d(.attentionOutput), d(.residual)], [d(.projection), d(.residual)])
                case .fc: (reads, writes) = ([d(.norm)], [d(.fc)])
                case .activation: (reads, writes) = ([d(.fc)], [d(.fcActivation)])
                case .fcProjection: (reads, writes) = ([d(.fcActivation), d(.residual)], [d(.projection), d(.residual)])
                }
                ops.append(
                    OpAccess(
                        .forwardPart(layer: k, part: part.rawValue), reads: reads + kinds.parameters(k, part), writes: writes,
                        label: "h\(k - 1).\(part.name)"))
            }
        }
        let head = kinds.headLayer
        let normParameters = spec.norm == .layer ? [kinds.head(.normGain), kinds.head(.normShift)] : [kinds.head(.normGain)]
        let headWeight = spec.tiedEmbeddings ? kinds.embedding(.tokenTable) : kinds.head(.weight)
        ops.append(
            OpAccess(
                .forwardPart(layer: head, part: 0), reads: [d(.residual)] + normParameters, writes: [d(.norm)] + stats,
                label: "lnf"))
        ops.append(
            OpAccess(.forwardPart(layer: head, part: 1), reads: [d(.norm), headWeight], writes: [d(.logits)], label: "logits"))
        ops.append(
            OpAccess(
                .forwardPart(layer: head, part: 2), reads: [d(.logits)], writes: [d(.probabilities), d(.tokens)],
                label: "sample"))
        return ops
    }
}

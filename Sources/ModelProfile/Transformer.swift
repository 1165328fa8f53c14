// The transformer kind of profile: a decoder-only language model of GPT-2's or Llama's shape.

/// How a block normalises its inputs.
public enum TransformerNorm: String, CaseIterable, Sendable, Codable, Hashable {
    /// LayerNorm with gain and shift (GPT-2): y = γ ⊙ (x − μ)/√(σ² + ε) + β.
    case layer
    /// RMSNorm with a gain only (Llama): y = γ ⊙ x/√(mean(x²) + ε).
    case rms
}

/// The feed-forward network of a block.
public enum FeedForward: String, CaseIterable, Sendable, Codable, Hashable {
    /// fc (C → I), GELU (tanh approximation), proj (I → C): GPT-2.
    case gelu
    /// gate and up (C → I each), silu(gate) ⊙ up, down (I → C): Llama.
    case swiglu
}

/// How positions enter the model.
public enum Positions: String, CaseIterable, Sendable, Codable, Hashable {
    /// A learned table wpe (maxT, C) added to the token embeddings (GPT-2).
    case learned
    /// Rotary embeddings applied to q and k in every block; no parameters (Llama).
    case rotary
}

/// What the backward pass recomputes instead of keeping (gradient checkpointing).
public enum Recompute: String, CaseIterable, Sendable, Codable, Hashable {
    /// Keep every activation the backward pass reads.
    case none
    /// Keep only each block's input; recompute the block's forward before its backward (Chen et al. 2016).
    case blocks
    /// Keep the input of every ⌈√L⌉-th block; recompute the segment before its backward.
    case sqrt
    /// Keep everything but attention's softmax (B·NH·T² per block), recomputed from q and k (Korthikanti et al. 2022).
    case selective
}

/// The architecture of a decoder-only transformer. Letters: V vocabulary, Vp padded vocabulary, maxT positions,
/// L blocks, NH heads, NKV key/value heads, C hidden size, HS = C/NH head size, I feed-forward size.
public struct TransformerSpec: Sendable, Codable, Hashable {
    /// V: token ids 0 ..< V.
    public var vocabularySize: Int
    /// Vp ≥ V: the rows of the embedding and head (llm.c pads GPT-2's 50,257 to 50,304); the extra rows are never
    /// a target. Published parameter counts use V.
    public var paddedVocabularySize: Int
    /// maxT: the longest sequence (rows of wpe for learned positions).
    public var contextLength: Int
    public var layerCount: Int
    public var headCount: Int
    /// NKV: key/value heads (grouped-query attention when < NH); NH for plain multi-head attention.
    public var keyValueHeadCount: Int
    public var hiddenSize: Int
    /// I: the feed-forward network's inner width.
    public var feedForwardSize: Int
    public var norm: TransformerNorm
    public var feedForward: FeedForward
    public var positions: Positions
    /// Whether the head reuses the token embedding (wte) as its weights.
    public var tiedEmbeddings: Bool
    /// Whether the linear layers (and LayerNorm) have biases (GPT-2) or not (Llama).
    public var hasBiases: Bool
    /// Whether the q, k, v projection has a bias: `hasBiases`, or alone without the others' (Qwen2).
    public var hasQKVBias: Bool

    public init(
        vocabularySize: Int, paddedVocabularySize: Int? = nil, contextLength: Int, layerCount: Int, headCount: Int,
        keyValueHeadCount: Int? = nil, hiddenSize: Int, feedForwardSize: Int? = nil, norm: TransformerNorm = .layer,
        feedForward: FeedForward = .gelu, positions: Positions = .learned, tiedEmbeddings: Bool = true, hasBiases: Bool = true,
        hasQKVBias: Bool? = nil
    ) {
        self.vocabularySize = vocabularySize
        self.paddedVocabularySize = paddedVocabularySize ?? vocabularySize
        self.contextLength = contextLength
        self.layerCount = layerCount
        self.headCount = headCount
        self.keyValueHeadCount = keyValueHeadCount ?? headCount
        self.hiddenSize = hiddenSize
        self.feedForwardSize = feedForwardSize ?? (hiddenSize <= Int.max / 4 ? 4 * hiddenSize : Int.max)
        self.norm = norm
        self.feedForward = feedForward
        self.positions = positions
        self.tiedEmbeddings = tiedEmbeddings
        self.hasBiases = hasBiases
        self.hasQKVBias = hasQKVBias ?? hasBiases
    }

    /// The most blocks a transformer may have (the largest published models have under 200).
    public static let maximumLayers = 100_000
    /// The largest vocabulary, context, head count, hidden or feed-forward size: 2³².
    public static let maximumDimension = 1 << 32

    /// HS = C / NH.
    public var headSize: Int { headCount > 0 ? hiddenSize / headCount : 0 }

    /// Columns of the fused q, k, v projection: (NH + 2·NKV)·HS.
    public var qkvWidth: Int { (headCount + 2 * keyValueHeadCount) * headSize }

    /// Columns of the feed-forward network's first projection: I, or 2I for SwiGLU's gate | up.
    public var fcWidth: Int { feedForward == .swiglu ? 2 * feedForwardSize : feedForwardSize }

    /// Checks the shape: every size positive, NH divides C, NKV divides NH, V ≤ Vp; throws the first problem.
    public func validate() throws(ModelError) {
        for (what, value) in [
            ("vocabulary", vocabularySize), ("context", contextLength), ("layers", layerCount), ("heads", headCount),
            ("kv_heads", keyValueHeadCount), ("hidden", hiddenSize), ("feed_forward", feedForwardSize),
        ] where value < 1 {
            throw value < 0 ? .negativeWidth(what: what, value: value) : .zeroWidth(what: what)
        }
        // Bounds far above any model trained, so that no size or step count of the tables can overflow Int.
        for (what, value, limit) in [
            ("layers", layerCount, Self.maximumLayers), ("vocabulary", paddedVocabularySize, Self.maximumDimension),
            ("context", contextLength, Self.maximumDimension), ("heads", headCount, Self.maximumDimension),
            ("kv_heads", keyValueHeadCount, Self.maximumDimension), ("hidden", hiddenSize, Self.maximumDimension),
            ("feed_forward", feedForwardSize, Self.maximumDimension),
        ] where value > limit {
            throw .transformerShape("\(what) is \(value); memplan sizes transformers up to \(limit) \(what)")
        }
        guard hiddenSize % headCount == 0 else {
            throw .transformerShape(
                "heads (\(headCount)) must divide hidden (\(hiddenSize)): each head gets hidden/heads channels")
        }
        guard headCount % keyValueHeadCount == 0 else {
            throw .transformerShape(
                "kv_heads (\(keyValueHeadCount)) must divide heads (\(headCount)): each key/value head serves heads/kv_heads query heads"
            )
        }
        guard paddedVocabularySize >= vocabularySize else {
            throw .transformerShape("padded_vocabulary (\(paddedVocabularySize)) must be at least vocabulary (\(vocabularySize))")
        }
        if positions == .rotary, headSize % 2 != 0 {
            throw .transformerShape("rotary positions need an even head size; hidden/heads = \(headSize)")
        }
    }
}

/// A transformer and how to train it: the "transformer" kind of profile.
///
/// Invariants (checked by `init`): the spec's (`TransformerSpec.validate`); 1 ≤ sequence ≤ context; batch ≥ 1;
/// epochs ≥ 1; learning rate positive and finite; the adapters fit the blocks (`LoRA.validate`).
public struct TransformerModel: Sendable, Codable, Hashable {
    public var name: String
    public var spec: TransformerSpec
    /// B: sequences per step.
    public var batchSize: Int
    /// T: tokens per sequence trained on (≤ the context).
    public var sequenceLength: Int
    public var precision: Precision
    public var optimizer: Optimizer
    public var recompute: Recompute
    public var data: TextSource?
    /// Passes over the training tokens (each a set of B·T-token windows).
    public var epochs: Int
    public var seed: UInt64
    /// Low-rank adapters: every base weight frozen, only the adapters train; nil trains every weight.
    public var lora: LoRA?
    /// The profile's `loss_scaling`; nil: the precision's default (`LossScaling.defaultScaling(for:)`).
    public var lossScaling: LossScaling?

    public init(
        name: String, spec: TransformerSpec, batchSize: Int = 4, sequenceLength: Int? = nil, precision: Precision = .single,
        optimizer: Optimizer = Optimizer(kind: .adamw, learningRate: 3e-4), recompute: Recompute = .none, data: TextSource? = nil,
        epochs: Int = 1, seed: UInt64 = 42, lora: LoRA? = nil
    ) throws(ModelError) {
        self.name = name
        self.spec = spec
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength ?? spec.contextLength
        self.precision = precision
        self.optimizer = optimizer
        self.recompute = recompute
        self.data = data
        self.epochs = epochs
        self.seed = seed
        self.lora = lora
        try validate()
    }

    public func validate() throws(ModelError) {
        try spec.validate()
        guard batchSize >= 1 else { throw .nonPositive(what: "batch", value: Double(batchSize)) }
        guard sequenceLength >= 1 else { throw .nonPositive(what: "sequence", value: Double(sequenceLength)) }
        guard sequenceLength <= spec.contextLength else {
            throw .transformerShape("sequence (\(sequenceLength)) must not exceed the context (\(spec.contextLength))")
        }
        guard epochs >= 1 else { throw .nonPositive(what: "epochs", value: Double(epochs)) }
        guard optimizer.learningRate.isFinite, optimizer.learningRate > 0 else {
            throw .nonPositive(what: "learning rate", value: optimizer.learningRate)
        }
        try lora?.validate(for: spec)
        try LossScaling.check(lossScaling, precision: precision)
    }

    /// The same model with CLI overrides applied.
    public func with(
        precision: Precision? = nil, batchSize: Int? = nil, optimizer: OptimizerKind? = nil, sequenceLength: Int? = nil,
        recompute: Recompute? = nil, lora: LoRA? = nil
    ) throws(ModelError) -> TransformerModel {
        var copy = self
        if let lora { copy.lora = lora }
        if let precision { copy.precision = precision }
        if let batchSize { copy.batchSize = batchSize }
        if let sequenceLength { copy.sequenceLength = sequenceLength }
        if let recompute { copy.recompute = recompute }
        if let optimizer, optimizer != copy.optimizer.kind {
            copy.optimizer = Optimizer(kind: optimizer, learningRate: optimizer.defaultLearningRate)
        }
        try copy.validate()
        return copy
    }
}

/// Where a transformer's tokens come from: bytes of text (a byte-level vocabulary, V = 256).
public enum TextSource: Sendable, Codable, Hashable {
    /// The bytes of a text file, or of every file in a directory (sorted by name); the last `validationFraction` of the
    /// bytes is held out. The default is Debian's `fortunes` package.
    case text(path: String, validationFraction: Double)
    /// Random bytes from a small Markov chain (tests): `count` tokens.
    case synthetic(count: Int, seed: UInt64)

    /// Where Debian's `fortunes-min` and `fortunes` packages install their cookies.
    public static let defaultFortunesPath = "/usr/share/games/fortunes"
}

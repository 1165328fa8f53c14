// LoRA (Hu et al. 2021, arXiv 2106.09685): low-rank adapters on a transformer's frozen projections.

/// A projection of a transformer block that LoRA can adapt, named as PEFT names Llama's modules (`q_proj` → `q`).
/// GPT-2's feed-forward network has no gate: its fc is `up` (C → I) and its projection `down` (I → C).
public enum LoRATarget: String, CaseIterable, Sendable, Codable, Hashable {
    /// The query projection, C → NH·HS.
    case q
    /// The key projection, C → NKV·HS.
    case k
    /// The value projection, C → NKV·HS.
    case v
    /// The attention output projection, NH·HS → C.
    case o
    /// SwiGLU's gate, C → I.
    case gate
    /// The feed-forward network's first matrix (SwiGLU's up, GPT-2's fc), C → I.
    case up
    /// The feed-forward network's last matrix, I → C.
    case down

    /// Accepts the short names and PEFT's module names (`q_proj`, `gate_proj`, …).
    public init?(name: String) {
        var text = name.lowercased()
        if text.hasSuffix("_proj") { text.removeLast(5) }
        self.init(rawValue: text)
    }

    /// (d_in, d_out) of the adapted matrix W in `spec`; nil when the block has no such matrix (`gate` without SwiGLU).
    public func dimensions(in spec: TransformerSpec) -> (inputs: Int, outputs: Int)? {
        let (c, i) = (spec.hiddenSize, spec.feedForwardSize)
        switch self {
        case .q: return (c, spec.headCount * spec.headSize)
        case .k, .v: return (c, spec.keyValueHeadCount * spec.headSize)
        case .o: return (spec.headCount * spec.headSize, c)
        case .gate: return spec.feedForward == .swiglu ? (c, i) : nil
        case .up: return (c, i)
        case .down: return (i, c)
        }
    }
}

/// Low-rank adapters: every base weight of the model is frozen, and each adapted matrix W (d_out, d_in) gains
/// A (r, d_in) and B (d_out, r), so the block computes x·Wᵀ + (x·Aᵀ)·Bᵀ. Only A and B train: r·(d_in + d_out)
/// parameters per adapted matrix, with gradients, optimizer state and (mixed recipes) fp32 master copies; the frozen
/// weights keep their stored copy only.
///
///     LoRA r = 8 on q and v of Llama-2 7B: 32 blocks × 2 matrices × 8·(4096 + 4096) = 4,194,304 trainable parameters
public struct LoRA: Sendable, Codable, Hashable {
    /// r: the adapters' inner width.
    public var rank: Int
    /// The adapted projections of every block, in `LoRATarget` order, each once.
    public var targets: [LoRATarget]

    public init(rank: Int, targets: [LoRATarget]) {
        self.rank = rank
        self.targets = LoRATarget.allCases.filter(targets.contains)
    }

    /// Checks the adapters against the model: r ≥ 1, at least one target, every target present in the block, and
    /// r ≤ min(d_in, d_out) of each (a larger rank is no longer low: the full matrix would be smaller).
    public func validate(for spec: TransformerSpec) throws(ModelError) {
        guard rank >= 1 else { throw .transformerShape("lora rank must be at least 1, got \(rank)") }
        guard !targets.isEmpty else {
            throw .transformerShape(
                "lora needs at least one target (q, k, v, o, gate, up, down): with none, every weight is frozen and "
                    + "nothing trains")
        }
        for target in targets {
            guard let (inputs, outputs) = target.dimensions(in: spec) else {
                throw .transformerShape(
                    "lora target '\(target.rawValue)' needs a SwiGLU feed-forward network; this model's (activation: "
                        + "\(spec.feedForward.rawValue)) has up and down only")
            }
            guard rank <= min(inputs, outputs) else {
                throw .transformerShape(
                    "lora rank \(rank) exceeds the \(target.rawValue) projection (\(inputs) → \(outputs)): "
                        + "the rank must be at most \(min(inputs, outputs))")
            }
        }
    }

    /// L·Σ r·(d_in + d_out) over the targets: the closed form of the trainable count (the step table's adapter
    /// tensors sum to the same); nil when it exceeds `Int.max`.
    public func trainableParameterCount(in spec: TransformerSpec) -> Int? {
        var perBlock = 0
        for case let (inputs, outputs)? in targets.map({ $0.dimensions(in: spec) }) {
            let (product, overflow) = rank.multipliedReportingOverflow(by: inputs + outputs)
            let (sum, carry) = perBlock.addingReportingOverflow(product)
            guard !overflow, !carry else { return nil }
            perBlock = sum
        }
        let (total, overflow) = perBlock.multipliedReportingOverflow(by: spec.layerCount)
        return overflow ? nil : total
    }
}

// The numeric formats memplan budgets for; single and double can also be trained.

/// The floating-point format of parameters, gradients, activations and inputs.
///
/// A precision is a recipe: the element type of the stored parameters, gradients and activations, and of the
/// optimizer state and any fp32 master copy of the weights. `single` and `double` store everything in one type and
/// can be trained; `half` and `bfloat16` are pure 2-byte recipes (every tensor 2 bytes, as labelled), and
/// `bf16-mixed` / `fp16-mixed` the way models are trained in practice: 2-byte weights, gradients and activations,
/// plus fp32 master weights and fp32 optimizer state — 16 bytes per parameter with Adam (estimates only).
public enum Precision: String, CaseIterable, Sendable, Codable, Hashable {
    /// IEEE 754 binary32, 4 bytes.
    case single
    /// IEEE 754 binary64, 8 bytes.
    case double
    /// IEEE 754 binary16, 2 bytes (estimates only).
    case half
    /// bfloat16, 2 bytes (estimates only).
    case bfloat16
    /// bf16 weights, gradients and activations; fp32 master weights and optimizer state (estimates only).
    case bf16Mixed = "bf16-mixed"
    /// fp16 weights, gradients and activations with dynamic loss scaling; fp32 master weights and optimizer state.
    case fp16Mixed = "fp16-mixed"

    /// Bytes per element of the stored parameters, gradients and activations: 4, 8, 2, 2, 2, 2.
    public var byteCount: Int { computePrecision.byteCountOfOneType }

    /// The element type of weights, gradients and activations: bfloat16 for bf16-mixed, half for fp16-mixed.
    public var computePrecision: Precision {
        switch self {
        case .bf16Mixed: .bfloat16
        case .fp16Mixed: .half
        default: self
        }
    }

    /// The fp32 master copy of the weights a mixed recipe keeps; nil when the stored weights are the master.
    public var masterPrecision: Precision? { self == .bf16Mixed || self == .fp16Mixed ? .single : nil }

    /// The optimizer state's element type: fp32 in mixed recipes, else the stored type.
    public var optimizerPrecision: Precision { masterPrecision ?? self }

    private var byteCountOfOneType: Int {
        switch self {
        case .single: 4
        case .double: 8
        case .half, .bfloat16, .bf16Mixed, .fp16Mixed: 2
        }
    }

    /// Whether `memplan train` has kernels for this precision.
    public var isTrainable: Bool { self == .single || self == .double || self == .bf16Mixed }

    /// Conventional short names, as in `fp32`.
    public var shortName: String {
        switch self {
        case .single: "fp32"
        case .double: "fp64"
        case .half: "fp16"
        case .bfloat16: "bf16"
        case .bf16Mixed: "bf16-mixed"
        case .fp16Mixed: "fp16-mixed"
        }
    }

    /// Accepts the canonical names and the common aliases (`fp32`, `float64`, `bf16`, …).
    public init?(name: String) {
        switch name.lowercased() {
        case "single", "fp32", "float32", "float", "f32": self = .single
        case "double", "fp64", "float64", "f64": self = .double
        case "half", "fp16", "float16", "f16": self = .half
        case "bfloat16", "bf16": self = .bfloat16
        case "bf16-mixed", "bf16_mixed", "mixed-bf16", "bf16mixed": self = .bf16Mixed
        case "fp16-mixed", "fp16_mixed", "mixed-fp16", "fp16mixed", "half-mixed": self = .fp16Mixed
        default: return nil
        }
    }

    /// Every spelling `init(name:)` accepts, canonical names first (for suggestions).
    public static let acceptedNames = [
        "single", "double", "half", "bfloat16", "bf16-mixed", "fp16-mixed", "fp32", "float32", "fp64", "float64", "fp16",
        "float16", "bf16", "mixed-bf16", "mixed-fp16",
    ]
}

// The numeric formats memplan budgets for; single and double can also be trained.

/// The floating-point format of parameters, gradients, activations and inputs.
///
/// Every tensor of a model uses one precision. `single` and `double` can be trained;
/// `half` and `bfloat16` are for estimates only (no CPU kernels here).
public enum Precision: String, CaseIterable, Sendable, Codable, Hashable {
    /// IEEE 754 binary32, 4 bytes.
    case single
    /// IEEE 754 binary64, 8 bytes.
    case double
    /// IEEE 754 binary16, 2 bytes (estimates only).
    case half
    /// bfloat16, 2 bytes (estimates only).
    case bfloat16

    /// Bytes per element: 4, 8, 2, 2.
    public var byteCount: Int {
        switch self {
        case .single: 4
        case .double: 8
        case .half, .bfloat16: 2
        }
    }

    /// Whether `memplan train` has kernels for this precision.
    public var isTrainable: Bool { self == .single || self == .double }

    /// Conventional short names, as in `fp32`.
    public var shortName: String {
        switch self {
        case .single: "fp32"
        case .double: "fp64"
        case .half: "fp16"
        case .bfloat16: "bf16"
        }
    }

    /// Accepts the canonical names and the common aliases (`fp32`, `float64`, `bf16`, …).
    public init?(name: String) {
        switch name.lowercased() {
        case "single", "fp32", "float32", "float", "f32": self = .single
        case "double", "fp64", "float64", "f64": self = .double
        case "half", "fp16", "float16", "f16": self = .half
        case "bfloat16", "bf16": self = .bfloat16
        default: return nil
        }
    }

    /// Every spelling `init(name:)` accepts, canonical names first (for suggestions).
    public static let acceptedNames = [
        "single", "double", "half", "bfloat16", "fp32", "float32", "fp64", "float64", "fp16", "float16", "bf16",
    ]
}

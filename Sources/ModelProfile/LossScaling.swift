// Loss scaling: how an fp16 recipe keeps small gradients from underflowing, and the check that it does.

/// How the loss is scaled before the backward pass so that small gradients survive a 2-byte format.
///
/// fp16 has a 5-bit exponent: gradients below 2⁻²⁴ (about 6·10⁻⁸) flush to zero. Dynamic loss scaling multiplies
/// the loss by a scale S (typically 2¹⁶), divides the gradients by S before the update, halves S when a gradient
/// overflows (skipping that step) and doubles it after a run of clean steps. bf16 has fp32's 8-bit exponent and
/// needs none.
///
/// Loss scaling costs no memory beyond a scalar: the scale (and, dynamic, a count of clean steps) — the budget adds
/// nothing for it, and the gradients are unscaled in place.
public enum LossScaling: String, CaseIterable, Sendable, Codable, Hashable {
    /// The scale adapts: halved on overflow, doubled after a run of clean steps (PyTorch's GradScaler).
    case dynamic
    /// No scaling (written `none` in profiles): right for every recipe but fp16-mixed.
    case disabled = "none"

    /// `dynamic` for fp16-mixed, `none` for every other recipe.
    public static func defaultScaling(for precision: Precision) -> LossScaling {
        precision == .fp16Mixed ? .dynamic : .disabled
    }

    /// Accepts `dynamic` and `none` (also `off`, `false`, `disabled`).
    public init?(name: String) {
        switch name.lowercased() {
        case "dynamic": self = .dynamic
        case "none", "off", "false", "disabled": self = .disabled
        default: return nil
        }
    }

    /// Throws when `precision` cannot train with `scaling` (fp16-mixed without loss scaling).
    public static func check(_ scaling: LossScaling?, precision: Precision) throws(ModelError) {
        if precision == .fp16Mixed, scaling == .disabled { throw .fp16WithoutLossScaling }
    }

    /// The hint every fp16-without-scaling error ends with.
    public static let fp16Hint =
        "fp16's 5-bit exponent underflows small gradients; use loss_scaling: dynamic or bf16-mixed"
}

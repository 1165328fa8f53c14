// What can stop the trainer itself (data errors are `DataError`, run-level ones `RunError`).

/// Why the trainer cannot run a model.
public enum TrainerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// half and bfloat16 are for estimates only.
    case unsupportedPrecision(String)
    /// LoRA adapters (frozen base weights) are for estimates and plans; the trainer trains every weight.
    case unsupportedAdapters
    /// A model the bf16-mixed step has no kernels for (`mixedTrainingRefusal`), or a part of the run it does not cover.
    case unsupportedMixed(String)

    public var description: String {
        switch self {
        case .unsupportedPrecision(let precision):
            "\(precision) precision is for estimates only; train with --precision single, double or bf16-mixed"
        case .unsupportedAdapters:
            "LoRA adapters are for estimates and plans only; the trainer trains every weight (remove the lora key)"
        case .unsupportedMixed(let reason):
            "bf16-mixed training: \(reason); train this model with --precision single or double"
        }
    }
}

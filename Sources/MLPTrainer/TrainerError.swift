// What can stop the trainer itself (data errors are `DataError`, run-level ones `RunError`).

/// Why the trainer cannot run a model.
public enum TrainerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// half and bfloat16 are for estimates only.
    case unsupportedPrecision(String)
    /// LoRA adapters (frozen base weights) are for estimates and plans; the trainer trains every weight.
    case unsupportedAdapters

    public var description: String {
        switch self {
        case .unsupportedPrecision(let precision):
            "\(precision) precision is for estimates only; train with --precision single or double"
        case .unsupportedAdapters:
            "LoRA adapters are for estimates and plans only; the trainer trains every weight (remove the lora key)"
        }
    }
}

// What can stop the trainer itself (data errors are `DataError`, run-level ones `RunError`).

/// Why the trainer cannot run a model.
public enum TrainerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// half and bfloat16 are for estimates only.
    case unsupportedPrecision(String)

    public var description: String {
        switch self {
        case .unsupportedPrecision(let precision):
            "\(precision) precision is for estimates only; train with --precision single or double"
        }
    }
}

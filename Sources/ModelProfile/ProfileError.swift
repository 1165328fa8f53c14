// Everything that can be wrong with a profile, each with the file, line and a hint.

/// Where in a profile something was found: file, 1-based line and column when known.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?

    public init(file: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, as compilers print it.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        if let line = line, line > 0, let column { text += ":\(column)" }
        return text
    }
}

/// Why a profile could not be loaded. Every case renders as one line that names the file,
/// the line, the field and the offending value, and says what would be accepted.
public enum ProfileError: Error, Equatable, Sendable, CustomStringConvertible {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case malformed(SourceLocation, problem: String)
    case unknownKey(SourceLocation, key: String, section: String, suggestion: String?, valid: [String])
    case missingField(SourceLocation, field: String, section: String, hint: String)
    case wrongType(SourceLocation, field: String, expected: String, got: String)
    case unknownName(SourceLocation, field: String, value: String, valid: [String], suggestion: String?)
    case invalidValue(SourceLocation, field: String, value: String, reason: String)
    case invalidModel(SourceLocation, ModelError)
    case inconsistent(SourceLocation, String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such profile file; the shipped profiles are in profiles/ (e.g. profiles/fashion-mnist-mlp.yaml)"
        case .unreadable(let path, let reason):
            return "\(path): cannot read the profile: \(reason)"
        case .malformed(let location, let problem):
            return "\(location): malformed YAML/JSON: \(problem)"
        case .unknownKey(let location, let key, let section, let suggestion, let valid):
            return Self.unknown(
                "\(location): unknown key '\(Self.quoted(key))' in \(section)", suggestion: suggestion, "valid keys", valid)
        case .missingField(let location, let field, let section, let hint):
            return "\(location): \(section) is missing '\(field)'; \(hint)"
        case .wrongType(let location, let field, let expected, let got):
            return "\(location): '\(field)' must be \(expected), got \(got)"
        case .unknownName(let location, let field, let value, let valid, let suggestion):
            return Self.unknown(
                "\(location): unknown \(field) '\(Self.quoted(value))'", suggestion: suggestion, "expected one of", valid)
        case .invalidValue(let location, let field, let value, let reason):
            return "\(location): invalid \(field) '\(Self.quoted(value))': \(reason)"
        case .invalidModel(let location, let error):
            return "\(location): \(error)"
        case .inconsistent(let location, let message):
            return "\(location): \(message)"
        }
    }

    /// "`problem`; did you mean 'x'? (`label`: a, b, c)": an unknown name with the nearest known one and all of them.
    static func unknown(_ problem: String, suggestion: String?, _ label: String, _ valid: [String]) -> String {
        problem + (suggestion.map { "; did you mean '\($0)'?" } ?? "") + " (\(label): \(valid.joined(separator: ", ")))"
    }

    /// A value from the profile as an error quotes it: at most 60 characters, so a megabyte-long key stays a line.
    static func quoted(_ text: String) -> String {
        text.count <= 60 ? text : String(text.prefix(57)) + "…"
    }

    /// The location the error points at, when it has one.
    public var location: SourceLocation? {
        switch self {
        case .fileNotFound, .unreadable: nil
        case .malformed(let l, _), .unknownKey(let l, _, _, _, _), .missingField(let l, _, _, _),
            .wrongType(let l, _, _, _), .unknownName(let l, _, _, _, _), .invalidValue(let l, _, _, _),
            .invalidModel(let l, _), .inconsistent(let l, _):
            l
        }
    }
}

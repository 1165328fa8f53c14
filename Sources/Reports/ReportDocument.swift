// Every document memplan prints, behind one protocol: the formats it can be rendered in, and the rendering.
// Adding a format is a case here plus one branch in each document's `render`; the compiler lists them all.

/// The formats documents are rendered in.
public enum ReportFormat: String, CaseIterable, Sendable {
    /// A terminal table.
    case table
    /// The document's JSON contract (snake_case keys; integers for bytes and counts).
    case json
    case markdown
    /// A self-contained page with inline SVG charts.
    case html
}

/// A document: its data is its JSON contract; each format renders the same data.
///
///     let report = EstimateReport(budget)
///     print(report.render(.table))
public protocol ReportDocument: Encodable {
    /// The formats `render` supports, in the order `--help` lists them.
    static var formats: [ReportFormat] { get }
    /// The document in `format`, ending in a newline. Only called with one of `formats`.
    func render(_ format: ReportFormat) -> String
}

extension ReportDocument {
    /// "table, json or markdown", for help texts and errors.
    public static var formatList: String {
        let names = formats.map(\.rawValue)
        return names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    /// Whether `format` is one of `formats`.
    public static func supports(_ format: ReportFormat) -> Bool { formats.contains(format) }

    /// The JSON contract, pretty-printed with sorted keys.
    public var json: String { JSONText.encode(self) }
}

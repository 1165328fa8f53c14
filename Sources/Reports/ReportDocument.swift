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

/// A document: its data is its JSON contract; each format renders the same data. A document supplies the
/// renderings it supports (`tableText`, `markdownText`, `htmlText`; JSON is common to all) and lists them in
/// `formats`; `render` dispatches.
///
///     let report = EstimateReport(budget)
///     print(report.render(.table))
public protocol ReportDocument: Encodable {
    /// The formats `render` supports, in the order `--help` lists them.
    static var formats: [ReportFormat] { get }
    /// The terminal table.
    var tableText: String { get }
    /// Markdown (documents that have it).
    var markdownText: String { get }
    /// A self-contained HTML page (documents that have it).
    var htmlText: String { get }
}

extension ReportDocument {
    /// The document in `format`, ending in a newline. Only called with one of `formats`.
    public func render(_ format: ReportFormat) -> String {
        precondition(Self.supports(format), "\(Self.self) renders \(Self.formatList), not \(format)")
        switch format {
        case .table: return tableText
        case .json: return json
        case .markdown: return markdownText
        case .html: return htmlText
        }
    }

    public var markdownText: String { preconditionFailure("\(Self.self) has no Markdown rendering") }
    public var htmlText: String { preconditionFailure("\(Self.self) has no HTML rendering") }
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

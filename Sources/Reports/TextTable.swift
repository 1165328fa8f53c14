// A small table that renders as aligned terminal text or as a Markdown table.

/// Rows of cells with per-column alignment.
///
///     var table = TextTable(columns: [.left("Category"), .right("Bytes")])
///     table.append(["parameters", "940,584"])
///     print(table.renderText())
public struct TextTable: Sendable {
    public enum Alignment: Sendable { case left, right }

    public struct Column: Sendable {
        public var title: String
        public var alignment: Alignment
        public static func left(_ title: String) -> Column { Column(title: title, alignment: .left) }
        public static func right(_ title: String) -> Column { Column(title: title, alignment: .right) }
    }

    public var columns: [Column]
    public private(set) var rows: [[String]] = []

    public init(columns: [Column]) {
        self.columns = columns
    }

    /// Appends a row; missing cells are blank, extra cells are a programmer error.
    public mutating func append(_ row: [String]) {
        precondition(row.count <= columns.count, "TextTable.append: \(row.count) cells for \(columns.count) columns")
        rows.append(row + Array(repeating: "", count: columns.count - row.count))
    }

    /// Aligned columns separated by two spaces, a rule under the header; every cell escaped for a terminal
    /// (`Markup.terminal`), so text from a file can neither move the cursor nor break a row.
    public func renderText() -> String {
        let titles = columns.map { Markup.terminal($0.title) }
        let rows = rows.map { $0.map(Markup.terminal) }
        var widths = titles.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                parts.append(columns[index].alignment == .left ? cell + padding : padding + cell)
            }
            var text = parts.joined(separator: "  ")
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        var lines = [line(titles)]
        lines.append(widths.map { String(repeating: "─", count: $0) }.joined(separator: "  "))
        lines.append(contentsOf: rows.map(line))
        return lines.joined(separator: "\n") + "\n"
    }

    /// A GitHub-flavoured Markdown table; every cell is escaped (`Markup.markdown`).
    public func renderMarkdown() -> String {
        func escape(_ cell: String) -> String { Markup.markdown(cell) }
        var lines = ["| " + columns.map { escape($0.title) }.joined(separator: " | ") + " |"]
        lines.append("|" + columns.map { $0.alignment == .left ? " --- |" : " ---: |" }.joined())
        for row in rows { lines.append("| " + row.map(escape).joined(separator: " | ") + " |") }
        return lines.joined(separator: "\n") + "\n"
    }
}

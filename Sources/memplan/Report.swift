// `memplan report`: a training record or a capacity result, read back and rendered as Markdown, HTML, a table or
// JSON.

import ArgumentParser
import FileAccess
import Foundation
import Reports

extension Memplan {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render a training record or a capacity result as Markdown or a self-contained HTML page.",
            discussion: """
                Reads the JSON that `memplan train --record FILE` or `memplan capacity --format json` wrote (- reads standard input), checks every number against what a run or an analysis produces, and refuses anything else with the field and the value. Without --output it writes reports/<input name>.<ext>, creating reports/ when it is missing. HTML pages are one file with inline SVG charts (no scripts, no network): predicted bytes by category next to the measured ones, the arena timeline from the planner, the loss per epoch; or memory against batch size per precision with the node and machine limits drawn.

                Examples:
                  memplan report reports/fashion-mnist-mlp.json
                  memplan report reports/fashion-mnist-mlp.json --format markdown \\
                      --output reports/run.md
                  memplan train profiles/smallest-perceptron.yaml --record - | \\
                      memplan report - --format table --output -
                """)

        @Argument(help: "A JSON file from `memplan train --record` or `memplan capacity --format json`; - for standard input.")
        var input: String

        @Option(
            help: ArgumentHelp(
                "Output format: markdown, html, table or json (both documents render all four).",
                valueName: "markdown|html|table|json"))
        var format: ReportFormat = .html

        @Option(
            help: ArgumentHelp(
                "Output file (default: reports/<input name>.html or .md); - for standard output.", valueName: "path"))
        var output: String?

        func validate() throws {
            _ = try format.checked(for: TrainingRecord.self, command: "report")
            _ = try format.checked(for: CapacityReport.self, command: "report")
        }

        /// Whether both paths name one existing file (same device and inode): a default output must not replace its input.
        static func isSameFile(_ first: String, _ second: String) -> Bool {
            var a = stat()
            var b = stat()
            guard stat(first, &a) == 0, stat(second, &b) == 0 else { return false }
            return a.st_dev == b.st_dev && a.st_ino == b.st_ino
        }

        /// Records and capacity results are at most this large (a record of a 100,000-layer plan is about 30 MB).
        static let maximumInputByteCount = 256 << 20

        func run() throws {
            let data: Data
            do {
                data = Data(try InputFile.open(input, allowStandardInput: true).readAll(limit: Self.maximumInputByteCount))
            } catch {
                throw CLIFailure.badInput(error.description)
            }
            let text: String
            do {
                text = try ReportReader.read(data).render(format)
            } catch {
                throw CLIFailure.badInput("\(input): \(error)")
            }
            let base = input == InputFile.standardInputPath ? "stdin" : PathText.deletingExtension(PathText.lastComponent(input))
            let path =
                try output
                ?? DefaultOutput.reportsPath(
                    "\(PathText.safeComponent(base)).\(format == .markdown ? "md" : format == .table ? "txt" : format.rawValue)")
            if output == nil, Self.isSameFile(path, input) {
                throw CLIFailure.badInput(
                    "\(Markup.terminal(input)): the default output \(Markup.terminal(path)) is the input itself; give --output PATH "
                        + "(- for standard output)")
            }
            try RecordFile.write(text, to: path)
            if !RecordFile.isStandardOutput(path) { print("Wrote \(Markup.terminal(path))") }
        }
    }
}

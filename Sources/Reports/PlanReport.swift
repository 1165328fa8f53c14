// `memplan plan` output: the JSON contract, and a table with an ASCII timeline.

import ArenaPlanner
import ModelProfile

/// The `--format json` contract of `memplan plan` (stable; keys may be added):
///
///     {"arena_bytes", "lower_bound_bytes", "naive_bytes", "alignment",
///      "buffers": [{"name", "bytes", "offset", "first", "last", "category"}],
///      "profile", "precision", "batch", "optimizer", "strategy", "ops": ["load", "fwd1", …],
///      "threads", "validation", "devices", "sharding"}
///
/// Byte counts, offsets and op indices are integers; `first` and `last` are inclusive op indices; `validation` is
/// what `--validate` found, null without it.
public struct PlanReport: Codable, Sendable, Equatable, ReportDocument {
    public struct Buffer: Codable, Sendable, Equatable {
        public var name: String
        public var bytes: Int
        public var offset: Int
        public var first: Int
        public var last: Int
        public var category: String
    }

    public var arenaBytes: Int
    public var lowerBoundBytes: Int
    public var naiveBytes: Int
    public var alignment: Int
    public var buffers: [Buffer]
    public var profile: String
    public var precision: String
    public var batch: Int
    public var optimizer: String
    public var strategy: String
    public var ops: [String]
    /// Parts each op was planned to be split into (new key; absent in old records).
    @Nullable public var threads: Int?
    /// What `memplan plan --validate` found (new key; null without --validate).
    @Nullable public var validation: String?
    /// With `--devices N --strategy S`: the device count and the split the buffers are one rank's share of (new keys,
    /// null without).
    @Nullable public var devices: Int? = nil
    @Nullable public var sharding: String? = nil

    public static let formats: [ReportFormat] = [.table, .json]

    public var tableText: String { PlanRenderer.text(self, timelineRows: 16) }

    /// `render`, with `timelineRows` rows of the table's ASCII timeline (`--rows`).
    public func render(_ format: ReportFormat, timelineRows: Int) -> String {
        format == .table ? PlanRenderer.text(self, timelineRows: timelineRows) : render(format)
    }

    /// Every buffer of `plan` with its offset and lifetime, in the plan's order.
    public static func buffers(of plan: ArenaPlan) -> [Buffer] {
        plan.requests.indices.map { index in
            let request = plan.requests[index]
            return Buffer(
                name: request.name, bytes: request.byteCount, offset: plan.offsets[index], first: request.lifetime.lowerBound,
                last: request.lifetime.upperBound, category: request.category.rawValue)
        }
    }

    public init(plan: ArenaPlan, program: StepProgram, naiveBytes: Int) {
        arenaBytes = plan.arenaByteCount
        lowerBoundBytes = plan.lowerBound
        self.naiveBytes = naiveBytes
        alignment = plan.alignment
        buffers = Self.buffers(of: plan)
        profile = program.table.name
        precision = program.table.precision.rawValue
        batch = program.table.batchSize
        optimizer = program.table.optimizerKind.rawValue
        strategy = plan.strategy
        ops = program.opNames
        threads = program.options.parts
        validation = nil
    }
}

/// Renders plans for `memplan plan`.
public enum PlanRenderer {
    public static func json(_ report: PlanReport) -> String { report.json }

    /// Buffers (name, category, bytes, offset, lifetime), the ASCII timeline, and the three sizes.
    public static func text(_ report: PlanReport, timelineRows: Int = 16) -> String {
        var out = "memplan plan — \(Markup.terminal(report.profile)) (\(report.precision) precision, batch \(report.batch), "
        out +=
            "\(report.optimizer), \(report.threads ?? 1) thread\(report.threads == 1 ? "" : "s"), alignment \(report.alignment) B, "
        out += "placed by \(report.strategy))\n"
        if let devices = report.devices, let sharding = report.sharding {
            out +=
                sharding == "dp"
                ? "One rank of \(devices), dp: every tensor whole; communication buffers are the exchange's\n"
                : "One rank of \(devices), \(Markup.terminal(sharding)): sharded tensors hold 1/\(devices) of their elements "
                    + "([1/\(devices)]); communication buffers are the exchange's\n"
        }
        out += "\n"
        var table = TextTable(columns: [
            .left("Key"), .left("Buffer"), .left("Category"), .right("Bytes"), .right("Offset"), .right("End"),
            .left("Lifetime (ops)"),
        ])
        let keys = symbols(count: report.buffers.count)
        for (index, buffer) in report.buffers.enumerated() {
            let lifetime =
                buffer.first == buffer.last
                ? "\(buffer.first) \(opName(report, buffer.first))"
                : "\(buffer.first)–\(buffer.last) \(opName(report, buffer.first))…\(opName(report, buffer.last))"
            table.append([
                String(keys[index]), buffer.name, buffer.category, ByteUnits.grouped(buffer.bytes),
                ByteUnits.grouped(buffer.offset),
                ByteUnits.grouped(buffer.offset + buffer.bytes), lifetime,
            ])
        }
        out += table.renderText() + "\n"
        out += timeline(report, rows: timelineRows, keys: keys) + "\n"
        out += summary(report)
        if let validation = report.validation { out += "\nPlan check: \(validation).\n" }
        return out
    }

    static func opName(_ report: PlanReport, _ op: Int) -> String {
        op < report.ops.count ? report.ops[op] : "op\(op)"
    }

    /// One character per buffer: A–Z, a–z, 0–9, then `#`.
    static func symbols(count: Int) -> [Character] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return (0..<count).map { $0 < alphabet.count ? alphabet[$0] : "#" }
    }

    /// Ops across, offsets down: each row is an equal band of the arena, each cell the buffer
    /// covering most of that band at that op (`.` for free space).
    public static func timeline(_ report: PlanReport, rows: Int, keys: [Character]) -> String {
        guard report.arenaBytes > 0, !report.ops.isEmpty else { return "(empty arena)\n" }
        let rowCount = max(1, rows)
        let band = max(1, report.arenaBytes / rowCount + (report.arenaBytes % rowCount == 0 ? 0 : 1))
        let cellWidth = max(4, (report.ops.map(\.count).max() ?? 4) + 1)
        var lines: [String] = []
        let offsetWidth = ByteUnits.grouped(report.arenaBytes).count
        func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return right ? padding + text : text + padding
        }
        lines.append(pad("offset", offsetWidth, right: true) + "  " + report.ops.map { pad($0, cellWidth) }.joined())
        for row in 0..<rowCount {
            let low = row.saturatingMultiplying(by: band)
            let high = min(report.arenaBytes, low.saturatingAdding(band))
            guard low < high else { break }
            var line = pad(ByteUnits.grouped(low), offsetWidth, right: true) + "  "
            for op in report.ops.indices {
                var bestIndex: Int?
                var bestCover = 0
                for (index, buffer) in report.buffers.enumerated()
                where buffer.first <= op && op <= buffer.last && buffer.bytes > 0 {
                    let cover = min(high, buffer.offset.saturatingAdding(buffer.bytes)) - max(low, buffer.offset)
                    if cover > bestCover {
                        bestCover = cover
                        bestIndex = index
                    }
                }
                let symbol = bestIndex.map { String(keys[$0]) } ?? "."
                line += pad(String(repeating: symbol, count: cellWidth - 1), cellWidth)
            }
            while line.hasSuffix(" ") { line.removeLast() }
            lines.append(line)
        }
        lines.append(
            pad(ByteUnits.grouped(report.arenaBytes), offsetWidth, right: true)
                + "  (arena end; each row \(ByteUnits.grouped(band)) B)")
        return lines.joined(separator: "\n") + "\n"
    }

    static func summary(_ report: PlanReport) -> String {
        var table = TextTable(columns: [.left("Size"), .right("Bytes"), .right("Decimal"), .right("Binary")])
        for (name, bytes) in [
            ("naive sum (params + grads + activations + inputs + optimizer, no reuse)", report.naiveBytes),
            ("planned arena", report.arenaBytes), ("lower bound (most bytes live at one op)", report.lowerBoundBytes),
        ] {
            table.append([name, ByteUnits.grouped(bytes), ByteUnits.decimal(bytes), ByteUnits.binary(bytes)])
        }
        var out = table.renderText()
        let saving = report.naiveBytes > 0 ? 100 * Double(report.naiveBytes - report.arenaBytes) / Double(report.naiveBytes) : 0
        let overBound =
            report.lowerBoundBytes > 0
            ? 100 * Double(report.arenaBytes - report.lowerBoundBytes) / Double(report.lowerBoundBytes) : 0
        out += "\nThe arena is \(String(format2: abs(saving)))% \(saving >= 0 ? "below" : "above") the naive sum and "
        out +=
            "\(String(format2: overBound))% above the lower bound (\(ByteUnits.grouped(report.arenaBytes - report.lowerBoundBytes)) B of gaps and padding).\n"
        return out
    }
}

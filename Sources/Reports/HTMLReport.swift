// Self-contained HTML pages with inline SVG charts: no scripts, no fonts, no network.

import Foundation

/// Whole HTML pages.
public enum HTMLPage {
    static let style = """
        body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:920px;color:#222;background:#fff}
        h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
        p.sub{color:#666;margin-top:0}table{border-collapse:collapse;margin:8px 0;font-size:13px}
        th,td{border-bottom:1px solid #e5e5e5;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}
        th{background:#f6f6f6}svg.chart{display:block;margin:12px 0;background:#fbfbfb;border:1px solid #eee}
        .title{font-size:14px;font-weight:600;fill:#222}.tick{font-size:11px;fill:#555}.label{font-size:12px;fill:#222}
        .value{font-size:11px;fill:#222}.inside{font-size:10px;fill:#fff}.grid{stroke:#e4e4e4;stroke-width:1}
        blockquote{color:#555;border-left:3px solid #ddd;margin:8px 0;padding:2px 12px}code{background:#f3f3f3;padding:1px 4px}
        """

    /// A complete document: title, subtitle, then body HTML.
    static func document(title: String, subtitle: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(Markup.html(title))</title>
        <meta name="generator" content="memplan"><style>\(style)</style></head>
        <body><h1>\(Markup.html(title))</h1><p class="sub">\(Markup.html(subtitle))</p>
        \(body)
        </body></html>

        """
    }

    /// A table from rows of cells (the first row is the header).
    static func table(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var out = "<table><thead><tr>" + header.map { "<th>\(Markup.html($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in rows.dropFirst() { out += "<tr>" + row.map { "<td>\(Markup.html($0))</td>" }.joined() + "</tr>" }
        return out + "</tbody></table>"
    }

    static func rows(_ table: TextTable) -> [[String]] { [table.columns.map(\.title)] + table.rows }

    // MARK: - Training record

    /// A training record: predicted against measured bytes, the arena timeline, the loss per epoch.
    public static func training(_ record: TrainingRecord) -> String {
        let p = record.predicted
        let a = record.actual
        let categories = p.bytes.categories
        let pageBytes = max(1, a.mappedBytes / max(1, a.pagesByNode.values.saturatingSum().saturatingAdding(a.pagesNotResident)))
        let resident = a.pagesByNode.nodeKeys.map {
            (name: "resident on node \($0)", bytes: (a.pagesByNode[$0] ?? 0).saturatingMultiplying(by: pageBytes))
        }
        var body = "<h2>Predicted against measured</h2>"
        body += SVG.stackedBars(
            [
                ("estimate, no reuse", categories.filter { $0.0 != "deltas" }.map { (name: $0.0, bytes: $0.1) }),
                ("planned arena", planSegments(record.plan)),
                ("allocated arena", [(name: "allocated", bytes: a.arenaBytes)]),
                ("resident arena pages", resident),
                (
                    "peak RSS growth",
                    [
                        (name: "arena", bytes: min(a.peakRSSGrowthBytes, a.arenaBytes)),
                        (name: "runtime, BLAS, I/O", bytes: max(0, a.peakRSSGrowthBytes.saturatingSubtracting(a.arenaBytes))),
                    ]
                ),
            ], title: "Bytes: the estimate and the plan against what was allocated and resident")
        body += table(rows(predictedTable(record)))
        if let ranks = TrainingRenderer.rankTable(record) {
            body += "<h2>Every rank</h2>"
            if let line = TrainingRenderer.shardingLine(record) { body += "<p>\(Markup.html(line))</p>" }
            body += table(rows(ranks))
        }
        body += "<h2>The arena timeline</h2>"
        body += SVG.timeline(
            record.plan, title: "One training step: ops across, arena offsets down (dataset buffers omitted)",
            excludingCategory: "data")
        if record.predicted.bytes.data > 0 {
            body += SVG.timeline(record.plan, title: "The whole arena, the dataset included")
        }
        body += "<h2>Training</h2>"
        let losses = record.metrics.epochs.map { (x: Double($0.epoch), y: $0.trainLoss) }
        body += lossChart(losses)
        var epochRows = [["Epoch", "Train loss", "Train accuracy", "Validation loss", "Validation accuracy", "Seconds"]]
        for epoch in record.metrics.epochs { epochRows.append(TrainingRenderer.epochCells(epoch)) }
        body += table(epochRows)
        var summary = "Test accuracy " + TrainingRenderer.accuracy(record.metrics.testAccuracy)
        if let baseline = record.metrics.baselineText { summary += " (\(baseline))" }
        summary += ", \(ByteUnits.grouped(Int(saturating: record.throughput.samplesPerSecond))) samples/s"
        body += "<p>\(Markup.html(summary)).</p>"
        if let maps = a.numaMaps { body += "<p><code>numa_maps: \(Markup.html(maps))</code></p>" }
        let run = record.run
        return document(
            title: "memplan training record: \(run.profile)",
            subtitle:
                "\(run.precision) precision, batch \(run.batch), \(run.epochs) epochs, \(run.optimizer) η = \(run.learningRate), placement \(run.placement)\(run.partial ? ", partial (interrupted)" : ""), \(run.date)",
            body: body)
    }

    /// The arena as its persistent buffers (parameters, optimizer state, data) plus the space the
    /// step's short-lived buffers share (inputs, activations, deltas, gradients, reused across ops).
    static func planSegments(_ plan: PlanReport) -> [(name: String, bytes: Int)] {
        var segments: [(name: String, bytes: Int)] = []
        for category in ["parameters", "optimizer", "data"] {
            segments.append((category, plan.buffers.filter { $0.category == category }.map(\.bytes).saturatingSum()))
        }
        let fixed = segments.map(\.bytes).saturatingSum()
        segments.append(("step buffers (reused)", max(0, plan.arenaBytes.saturatingSubtracting(fixed))))
        return segments
    }

    static func predictedTable(_ record: TrainingRecord) -> TextTable {
        var table = TextTable(columns: [.left("Quantity"), .right("Predicted"), .right("Measured")])
        table.append(["planned arena bytes", ByteUnits.grouped(record.predicted.arenaBytes), ""])
        table.append([
            "arena as the kernel maps it (whole pages)",
            ByteUnits.grouped(record.predicted.arenaMappedBytes ?? record.predicted.arenaBytes),
            ByteUnits.grouped(record.actual.arenaBytes),
        ])
        table.append(["lower bound (most bytes live at one op)", ByteUnits.grouped(record.predicted.lowerBoundBytes), ""])
        table.append(["estimate without reuse (+ data)", ByteUnits.grouped(record.predicted.naiveBytes), ""])
        table.append([
            "resident arena bytes", ByteUnits.grouped(record.predicted.arenaMappedBytes ?? record.actual.mappedBytes),
            ByteUnits.grouped(record.actual.residentBytes),
        ])
        for node in record.actual.pagesByNode.keys.sorted() {
            table.append([
                "pages on node \(node)", record.actual.plannedNode.map { "\($0)" == node ? "all" : "0" } ?? "share",
                ByteUnits.grouped(record.actual.pagesByNode[node] ?? 0),
            ])
        }
        table.append(["peak RSS growth", "≤ arena + 8 MiB", ByteUnits.grouped(record.actual.peakRSSGrowthBytes)])
        table.append([
            "heap allocations per step", "0",
            record.actual.heapAllocationsPerStep.map { String(format: "%.2f", $0) } ?? "not measured",
        ])
        return table
    }

    static func lossChart(_ points: [(x: Double, y: Double)]) -> String {
        let width = 860.0
        let height = 260.0
        let left = 70.0
        let top = 40.0
        let bottom = 40.0
        let maxX = max(2, points.map(\.x).max() ?? 2)
        let maxY = max(1e-9, points.map(\.y).max() ?? 1) * 1.1
        func px(_ x: Double) -> Double { left + (x - 1) / (maxX - 1) * (width - left - 30) }
        func py(_ y: Double) -> Double { height - bottom - y / maxY * (height - top - bottom) }
        var out =
            "<svg class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
        out += "<title>Training loss per epoch</title><text x=\"10\" y=\"22\" class=\"title\">Training loss per epoch</text>"
        for tick in 0...4 {
            let value = maxY * Double(tick) / 4
            out +=
                "<line x1=\"\(SVG.number(left))\" y1=\"\(SVG.number(py(value)))\" x2=\"\(SVG.number(width - 30))\" y2=\"\(SVG.number(py(value)))\" class=\"grid\"/>"
            out +=
                "<text x=\"\(SVG.number(left - 6))\" y=\"\(SVG.number(py(value) + 4))\" class=\"tick\" text-anchor=\"end\">\(String(format: "%.3f", value))</text>"
        }
        let path = points.map { "\(SVG.number(px($0.x))),\(SVG.number(py($0.y)))" }.joined(separator: " ")
        out +=
            "<polyline class=\"series\" fill=\"none\" stroke=\"\(Palette.series[0])\" stroke-width=\"2.5\" points=\"\(path)\"/>"
        for point in points {
            out +=
                "<circle cx=\"\(SVG.number(px(point.x)))\" cy=\"\(SVG.number(py(point.y)))\" r=\"3\" fill=\"\(Palette.series[0])\"><title>epoch \(Int(saturating: point.x)): \(point.y)</title></circle>"
            if points.count <= 40 {
                out +=
                    "<text x=\"\(SVG.number(px(point.x)))\" y=\"\(SVG.number(height - bottom + 16))\" class=\"tick\" text-anchor=\"middle\">\(Int(saturating: point.x))</text>"
            }
        }
        return out + "</svg>"
    }

    // MARK: - Capacity

    /// A capacity result: memory against batch per precision with the node and machine limits.
    public static func capacity(_ report: CapacityReport) -> String {
        var body = "<h2>Memory against batch size</h2>"
        let series = report.results.map { result in
            (name: result.precision, points: result.curve.map { (x: Double($0.batch), y: Double($0.bytes)) })
        }
        var limits: [(label: String, y: Double)] = []
        if let first = report.results.first {
            limits.append(("machine \(ByteUnits.binary(first.usableBytes.machine))", Double(first.usableBytes.machine)))
            let nodes = first.usableBytes.perNode.nodeKeys
            if nodes.count > 1 || first.usableBytes.perNode.values.first != first.usableBytes.machine {
                // Identical nodes share one line.
                var seen = Set<Int>()
                for node in nodes {
                    let bytes = first.usableBytes.perNode[node] ?? 0
                    if seen.insert(bytes).inserted { limits.append(("node \(node) \(ByteUnits.binary(bytes))", Double(bytes))) }
                }
            }
        }
        let markers = report.results.compactMap { result -> (label: String, x: Double, y: Double)? in
            guard result.maxBatch.machine > 0, let bytes = result.arenaBytesAtMaxBatch else { return nil }
            return (
                "max \(result.precision) \(ByteUnits.grouped(result.maxBatch.machine))", Double(result.maxBatch.machine),
                Double(bytes)
            )
        }
        body += SVG.lines(
            series, limits: limits, markers: markers,
            title: report.mode == "bound" ? "The lecture's bound against batch size" : "Planned arena against batch size",
            xLabel: "batch size (samples per step)", yLabel: "bytes")
        body += "<h2>What fits</h2>" + table(rows(CapacityRenderer.table(report)))
        if let lecture = CapacityRenderer.lectureTable(report) { body += "<h2>The lecture's answer</h2>" + table(rows(lecture)) }
        if let devices = CapacityRenderer.devicesTable(report) {
            body += "<h2>Devices by strategy</h2>" + table(rows(devices))
        }
        body += "<ul>" + CapacityRenderer.sentences(report).map { "<li>\(Markup.html($0))</li>" }.joined() + "</ul>"
        var machineRows = [["Node", "Total", "Free"]]
        for node in report.machine.nodes {
            machineRows.append([String(node.node), ByteUnits.binary(node.totalBytes), ByteUnits.binary(node.freeBytes)])
        }
        body += "<h2>Machine: \(Markup.html(report.machine.name))</h2>"
        if let description = report.machine.description { body += "<p>\(Markup.html(description))</p>" }
        body += table(machineRows)
        body += CapacityRenderer.notes(report).map { "<blockquote>\(Markup.html($0))</blockquote>" }.joined()
        return document(
            title: "memplan capacity: \(report.profile) on \(report.machine.name)", subtitle: CapacityRenderer.headline(report),
            body: body)
    }
}

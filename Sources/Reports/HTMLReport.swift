// Self-contained HTML pages with inline SVG charts: no scripts, no fonts, no network.

import Foundation

/// Category colours shared by every chart (Tableau 10).
enum Palette {
    static let categories: [String: String] = [
        "parameters": "#4e79a7", "gradients": "#f28e2b", "optimizer": "#e15759", "inputs": "#76b7b2",
        "activations": "#59a14f", "deltas": "#edc948", "data": "#b07aa1", "other": "#9c755f", "free": "#d9d9d9",
        "step buffers (reused)": "#8cd17d", "allocated": "#79706e", "arena": "#79706e", "runtime, BLAS, I/O": "#9c755f",
    ]
    static let series = ["#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2"]

    static func color(_ category: String) -> String {
        if let color = categories[category] { return color }
        if category.hasPrefix("resident on node ") {
            let node = Int(category.dropFirst("resident on node ".count)) ?? 0
            return ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"][node % 6]
        }
        return "#bab0ac"
    }
}

/// Builds SVG charts as strings.
enum SVG {
    static func number(_ value: Double) -> String { String(format: "%.1f", value) }

    /// Horizontal stacked bars: one bar per group, segments in order, a shared byte axis.
    static func stackedBars(_ groups: [(label: String, segments: [(name: String, bytes: Int)])], title: String) -> String {
        let width = 860.0
        let labelWidth = 220.0
        let barHeight = 28.0
        let gap = 18.0
        let top = 40.0
        let plotWidth = width - labelWidth - 30
        let height = top + Double(groups.count) * (barHeight + gap) + 86
        let maximum = Double(max(1, groups.map { $0.segments.reduce(0) { $0 + $1.bytes } }.max() ?? 1))
        var out =
            "<svg class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
        out += "<title>\(Markup.html(title))</title>"
        out += "<text x=\"10\" y=\"22\" class=\"title\">\(Markup.html(title))</text>"
        for tick in 0...4 {
            let x = labelWidth + plotWidth * Double(tick) / 4
            out +=
                "<line x1=\"\(number(x))\" y1=\"\(number(top - 6))\" x2=\"\(number(x))\" y2=\"\(number(height - 60))\" class=\"grid\"/>"
            out +=
                "<text x=\"\(number(x))\" y=\"\(number(height - 44))\" class=\"tick\" text-anchor=\"middle\">\(ByteUnits.decimal(Int(maximum * Double(tick) / 4)))</text>"
        }
        var legend: [String] = []
        for (row, group) in groups.enumerated() {
            let y = top + Double(row) * (barHeight + gap)
            out +=
                "<text x=\"\(number(labelWidth - 8))\" y=\"\(number(y + barHeight * 0.65))\" class=\"label\" text-anchor=\"end\">\(Markup.html(group.label))</text>"
            var x = labelWidth
            for segment in group.segments where segment.bytes > 0 {
                let w = max(1, plotWidth * Double(segment.bytes) / maximum)
                out +=
                    "<rect class=\"bar\" x=\"\(number(x))\" y=\"\(number(y))\" width=\"\(number(w))\" height=\"\(number(barHeight))\" fill=\"\(Palette.color(segment.name))\">"
                out += "<title>\(Markup.html(segment.name)): \(ByteUnits.grouped(segment.bytes)) B</title></rect>"
                x += w
                if !legend.contains(segment.name) { legend.append(segment.name) }
            }
            let total = group.segments.reduce(0) { $0 + $1.bytes }
            out +=
                "<text x=\"\(number(min(x + 6, width - 4)))\" y=\"\(number(y + barHeight * 0.65))\" class=\"value\" text-anchor=\"\(x + 120 > width ? "end" : "start")\">\(ByteUnits.decimal(total))</text>"
        }
        out += legendRow(legend.map { ($0, Palette.color($0)) }, y: height - 18)
        return out + "</svg>"
    }

    /// A legend from `x` onwards at baseline `y`, wrapping to a new row before `maxX`.
    static func legendRow(_ items: [(String, String)], y: Double, x start: Double = 10, maxX: Double = 850) -> String {
        var out = ""
        var x = start
        var baseline = y
        for (name, color) in items {
            let width = 24 + Double(name.count) * 6.5
            if x + width > maxX, x > start {
                x = start
                baseline += 16
            }
            out += "<rect x=\"\(number(x))\" y=\"\(number(baseline - 10))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>"
            out += "<text x=\"\(number(x + 16))\" y=\"\(number(baseline))\" class=\"tick\">\(Markup.html(name))</text>"
            x += width
        }
        return out
    }

    /// Lines over a log-log plane, with labelled horizontal limits.
    static func lines(
        _ series: [(name: String, points: [(x: Double, y: Double)])], limits: [(label: String, y: Double)],
        markers: [(label: String, x: Double, y: Double)], title: String, xLabel: String, yLabel: String
    ) -> String {
        let width = 860.0
        let height = 420.0
        let left = 90.0
        let right = 150.0
        let top = 40.0
        let bottom = 60.0
        let xs = series.flatMap { $0.points.map(\.x) } + markers.map(\.x)
        let ys = series.flatMap { $0.points.map(\.y) } + limits.map(\.y) + markers.map(\.y)
        let xMin = log10(max(1, xs.min() ?? 1))
        let xMax = max(xMin + 1, log10(max(1, xs.max() ?? 10)))
        let yMin = log10(max(1, (ys.filter { $0 > 0 }.min() ?? 1) / 2))
        let yMax = max(yMin + 1, log10(max(1, (ys.max() ?? 10) * 2)))
        func px(_ x: Double) -> Double { left + (log10(max(x, 1)) - xMin) / (xMax - xMin) * (width - left - right) }
        func py(_ y: Double) -> Double { height - bottom - (log10(max(y, 1)) - yMin) / (yMax - yMin) * (height - top - bottom) }
        var out =
            "<svg class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
        out += "<title>\(Markup.html(title))</title><text x=\"10\" y=\"22\" class=\"title\">\(Markup.html(title))</text>"
        for decade in Int(xMin.rounded(.down))...Int(xMax.rounded(.up)) where Double(decade) >= xMin && Double(decade) <= xMax {
            let x = px(pow(10, Double(decade)))
            out +=
                "<line x1=\"\(number(x))\" y1=\"\(number(top))\" x2=\"\(number(x))\" y2=\"\(number(height - bottom))\" class=\"grid\"/>"
            out +=
                "<text x=\"\(number(x))\" y=\"\(number(height - bottom + 18))\" class=\"tick\" text-anchor=\"middle\">\(ByteUnits.grouped(Int(pow(10, Double(decade)))))</text>"
        }
        for decade in Int(yMin.rounded(.down))...Int(yMax.rounded(.up)) where Double(decade) >= yMin && Double(decade) <= yMax {
            let y = py(pow(10, Double(decade)))
            out +=
                "<line x1=\"\(number(left))\" y1=\"\(number(y))\" x2=\"\(number(width - right))\" y2=\"\(number(y))\" class=\"grid\"/>"
            out +=
                "<text x=\"\(number(left - 6))\" y=\"\(number(y + 4))\" class=\"tick\" text-anchor=\"end\">\(ByteUnits.decimal(Int(pow(10, Double(decade)))))</text>"
        }
        out +=
            "<text x=\"\(number((left + width - right) / 2))\" y=\"\(number(height - 18))\" class=\"label\" text-anchor=\"middle\">\(Markup.html(xLabel))</text>"
        out +=
            "<text x=\"16\" y=\"\(number(height / 2))\" class=\"label\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(number(height / 2)))\">\(Markup.html(yLabel))</text>"
        for (index, limit) in limits.enumerated() {
            let y = py(limit.y)
            out +=
                "<line class=\"limit\" x1=\"\(number(left))\" y1=\"\(number(y))\" x2=\"\(number(width - right))\" y2=\"\(number(y))\" stroke=\"#555\" stroke-dasharray=\"\(index == 0 ? "6 3" : "2 3")\"/>"
            out +=
                "<text x=\"\(number(width - right + 6))\" y=\"\(number(y + 4))\" class=\"tick\">\(Markup.html(limit.label))</text>"
        }
        var legend: [(String, String)] = []
        for (index, line) in series.enumerated() {
            let color = Palette.series[index % Palette.series.count]
            let path = line.points.map { "\(number(px($0.x))),\(number(py($0.y)))" }.joined(separator: " ")
            out += "<polyline class=\"series\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.5\" points=\"\(path)\"/>"
            for point in line.points {
                out +=
                    "<circle cx=\"\(number(px(point.x)))\" cy=\"\(number(py(point.y)))\" r=\"2.5\" fill=\"\(color)\"><title>batch \(ByteUnits.grouped(Int(point.x))): \(ByteUnits.grouped(Int(point.y))) B</title></circle>"
            }
            legend.append((line.name, color))
        }
        for (index, marker) in markers.enumerated() {
            let x = px(marker.x)
            let y = py(marker.y)
            out +=
                "<circle class=\"marker\" cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"5\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/>"
            // Labels go left of the point, one row each, so neighbouring maxima do not overlap.
            out +=
                "<text x=\"\(number(x - 8))\" y=\"\(number(y + 18 + Double(index) * 14))\" class=\"tick\" text-anchor=\"end\">\(Markup.html(marker.label))</text>"
        }
        out += legendRow(legend, y: 22, x: width - right - 140, maxX: width)
        return out + "</svg>"
    }

    /// The arena timeline: ops across, offsets down, one rectangle per buffer coloured by category.
    static func timeline(_ plan: PlanReport, title: String, excludingCategory excluded: String? = nil) -> String {
        let buffers = plan.buffers.filter { $0.bytes > 0 && $0.category != excluded }
        let width = 860.0
        let height = 460.0
        let left = 110.0
        let top = 40.0
        let bottom = 70.0
        let low = buffers.map(\.offset).min() ?? 0
        let high = max(low + 1, buffers.map { $0.offset + $0.bytes }.max() ?? 1)
        let opCount = max(1, plan.ops.count)
        let column = (width - left - 20) / Double(opCount)
        func py(_ offset: Int) -> Double { top + Double(offset - low) / Double(high - low) * (height - top - bottom) }
        var out =
            "<svg class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
        out += "<title>\(Markup.html(title))</title><text x=\"10\" y=\"22\" class=\"title\">\(Markup.html(title))</text>"
        for (index, op) in plan.ops.enumerated() {
            let x = left + column * (Double(index) + 0.5)
            out +=
                "<text x=\"\(number(x))\" y=\"\(number(height - bottom + 16))\" class=\"tick\" text-anchor=\"middle\">\(Markup.html(op))</text>"
        }
        for tick in 0...4 {
            let offset = low + (high - low) * tick / 4
            out +=
                "<text x=\"\(number(left - 6))\" y=\"\(number(py(offset) + 4))\" class=\"tick\" text-anchor=\"end\">\(ByteUnits.decimal(offset))</text>"
            out +=
                "<line x1=\"\(number(left))\" y1=\"\(number(py(offset)))\" x2=\"\(number(width - 20))\" y2=\"\(number(py(offset)))\" class=\"grid\"/>"
        }
        var legend: [String] = []
        for buffer in buffers {
            let x = left + column * Double(buffer.first)
            let w = column * Double(buffer.last - buffer.first + 1)
            let y = py(buffer.offset)
            let h = max(1, py(buffer.offset + buffer.bytes) - y)
            out +=
                "<rect class=\"buffer\" x=\"\(number(x + 1))\" y=\"\(number(y))\" width=\"\(number(max(1, w - 2)))\" height=\"\(number(h))\" fill=\"\(Palette.color(buffer.category))\" stroke=\"#fff\" stroke-width=\"0.5\">"
            out +=
                "<title>\(Markup.html(buffer.name)) (\(buffer.category)): \(ByteUnits.grouped(buffer.bytes)) B at \(ByteUnits.grouped(buffer.offset)), ops \(buffer.first)–\(buffer.last)</title></rect>"
            if h > 12, w > 40 {
                out +=
                    "<text x=\"\(number(x + w / 2))\" y=\"\(number(y + min(h, 40) / 2 + 4))\" class=\"inside\" text-anchor=\"middle\">\(Markup.html(buffer.name))</text>"
            }
            if !legend.contains(buffer.category) { legend.append(buffer.category) }
        }
        out += legendRow(legend.map { ($0, Palette.color($0)) }, y: height - 18)
        return out + "</svg>"
    }
}

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
        let b = p.bytes
        let categories: [(String, Int)] = [
            ("parameters", b.parameters), ("gradients", b.gradients), ("optimizer", b.optimizer), ("activations", b.activations),
            ("deltas", b.deltas), ("inputs", b.inputs), ("data", b.data),
        ]
        let pageBytes = max(1, a.mappedBytes / max(1, a.pagesByNode.values.reduce(0, +) + a.pagesNotResident))
        let resident = a.pagesByNode.keys.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.map {
            (name: "resident on node \($0)", bytes: (a.pagesByNode[$0] ?? 0) * pageBytes)
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
                        (name: "runtime, BLAS, I/O", bytes: max(0, a.peakRSSGrowthBytes - a.arenaBytes)),
                    ]
                ),
            ], title: "Bytes: the estimate and the plan against what was allocated and resident")
        body += table(rows(predictedTable(record)))
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
        for epoch in record.metrics.epochs {
            epochRows.append([
                String(epoch.epoch), String(format: "%.4f", epoch.trainLoss),
                epoch.trainAccuracy.map { String(format: "%.2f%%", $0 * 100) } ?? "–",
                epoch.validationLoss.map { String(format: "%.4f", $0) } ?? "–",
                epoch.validationAccuracy.map { String(format: "%.2f%%", $0 * 100) } ?? "–", String(format: "%.2f", epoch.seconds),
            ])
        }
        body += table(epochRows)
        var summary = "Test accuracy " + (record.metrics.testAccuracy.map { String(format: "%.2f%%", $0 * 100) } ?? "–")
        summary += ", \(ByteUnits.grouped(Int(record.throughput.samplesPerSecond))) samples/s"
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
            segments.append((category, plan.buffers.filter { $0.category == category }.reduce(0) { $0 + $1.bytes }))
        }
        let fixed = segments.reduce(0) { $0 + $1.bytes }
        segments.append(("step buffers (reused)", max(0, plan.arenaBytes - fixed)))
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
                "<circle cx=\"\(SVG.number(px(point.x)))\" cy=\"\(SVG.number(py(point.y)))\" r=\"3\" fill=\"\(Palette.series[0])\"><title>epoch \(Int(point.x)): \(point.y)</title></circle>"
            if points.count <= 40 {
                out +=
                    "<text x=\"\(SVG.number(px(point.x)))\" y=\"\(SVG.number(height - bottom + 16))\" class=\"tick\" text-anchor=\"middle\">\(Int(point.x))</text>"
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
            let nodes = first.usableBytes.perNode.keys.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
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

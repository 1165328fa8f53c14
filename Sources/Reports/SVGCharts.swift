// The inline SVG charts of the HTML pages: stacked bars, log-log lines, the arena timeline. Every number a record
// supplies is drawn through saturating arithmetic, every text through `Markup.html`.

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
            return ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"][Int(node.magnitude % 6)]
        }
        return "#bab0ac"
    }
}

/// Builds SVG charts as strings.
enum SVG {
    static func number(_ value: Double) -> String { String(format: "%.1f", value) }

    /// The opening `<svg>` of a `width` × `height` chart, its accessible title and the title drawn at the top left.
    static func header(width: Double, height: Double, title: String) -> String {
        "<svg class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
            + "<title>\(Markup.html(title))</title><text x=\"10\" y=\"22\" class=\"title\">\(Markup.html(title))</text>"
    }

    /// A grid line from (x1, y1) to (x2, y2).
    static func gridLine(x1: Double, y1: Double, x2: Double, y2: Double) -> String {
        "<line x1=\"\(number(x1))\" y1=\"\(number(y1))\" x2=\"\(number(x2))\" y2=\"\(number(y2))\" class=\"grid\"/>"
    }

    /// An axis label at (x, y), anchored `start`, `middle` or `end`; `text` is markup (escape what a file supplied).
    static func tick(x: Double, y: Double, anchor: String, _ text: String) -> String {
        "<text x=\"\(number(x))\" y=\"\(number(y))\" class=\"tick\" text-anchor=\"\(anchor)\">\(text)</text>"
    }

    /// The powers of ten, as exponents, from `low` to `high` (log10 values): the decades a log axis labels.
    static func decades(_ low: Double, _ high: Double) -> [Int] {
        (Int(low.rounded(.down))...Int(high.rounded(.up))).filter { Double($0) >= low && Double($0) <= high }
    }

    /// Horizontal stacked bars: one bar per group, segments in order, a shared byte axis.
    static func stackedBars(_ groups: [(label: String, segments: [(name: String, bytes: Int)])], title: String) -> String {
        let width = 860.0
        let labelWidth = 220.0
        let barHeight = 28.0
        let gap = 18.0
        let top = 40.0
        let plotWidth = width - labelWidth - 30
        let height = top + Double(groups.count) * (barHeight + gap) + 86
        let maximum = Double(max(1, groups.map { $0.segments.map(\.bytes).saturatingSum() }.max() ?? 1))
        var out = header(width: width, height: height, title: title)
        for quarter in 0...4 {
            let x = labelWidth + plotWidth * Double(quarter) / 4
            out += gridLine(x1: x, y1: top - 6, x2: x, y2: height - 60)
            out += tick(x: x, y: height - 44, anchor: "middle", ByteUnits.decimal(Int(saturating: maximum * Double(quarter) / 4)))
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
            let total = group.segments.map(\.bytes).saturatingSum()
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
        var out = header(width: width, height: height, title: title)
        for decade in decades(xMin, xMax) {
            let value = pow(10, Double(decade))
            out += gridLine(x1: px(value), y1: top, x2: px(value), y2: height - bottom)
            out += tick(x: px(value), y: height - bottom + 18, anchor: "middle", ByteUnits.grouped(Int(saturating: value)))
        }
        for decade in decades(yMin, yMax) {
            let value = pow(10, Double(decade))
            out += gridLine(x1: left, y1: py(value), x2: width - right, y2: py(value))
            out += tick(x: left - 6, y: py(value) + 4, anchor: "end", ByteUnits.decimal(Int(saturating: value)))
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
                    "<circle cx=\"\(number(px(point.x)))\" cy=\"\(number(py(point.y)))\" r=\"2.5\" fill=\"\(color)\"><title>batch \(ByteUnits.grouped(Int(saturating: point.x))): \(ByteUnits.grouped(Int(saturating: point.y))) B</title></circle>"
            }
            legend.append((line.name, color))
        }
        for (index, marker) in markers.enumerated() {
            let x = px(marker.x)
            let y = py(marker.y)
            out +=
                "<circle class=\"marker\" cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"5\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/>"
            // Labels go left of the point, one row each, so neighbouring maxima do not overlap.
            out += tick(x: x - 8, y: y + 18 + Double(index) * 14, anchor: "end", Markup.html(marker.label))
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
        let high = max(low.saturatingAdding(1), buffers.map { $0.offset.saturatingAdding($0.bytes) }.max() ?? 1)
        let opCount = max(1, plan.ops.count)
        let column = (width - left - 20) / Double(opCount)
        func py(_ offset: Int) -> Double {
            top + (Double(offset) - Double(low)) / (Double(high) - Double(low)) * (height - top - bottom)
        }
        var out = header(width: width, height: height, title: title)
        for (index, op) in plan.ops.enumerated() {
            let x = left + column * (Double(index) + 0.5)
            out += tick(x: x, y: height - bottom + 16, anchor: "middle", Markup.html(op))
        }
        for quarter in 0...4 {
            let offset = low.saturatingAdding(high.saturatingSubtracting(low) / 4 * quarter)
            out += tick(x: left - 6, y: py(offset) + 4, anchor: "end", ByteUnits.decimal(offset))
            out += gridLine(x1: left, y1: py(offset), x2: width - 20, y2: py(offset))
        }
        var legend: [String] = []
        for buffer in buffers {
            let x = left + column * Double(buffer.first)
            let w = column * (Double(buffer.last) - Double(buffer.first) + 1)
            let y = py(buffer.offset)
            let h = max(1, py(buffer.offset.saturatingAdding(buffer.bytes)) - y)
            out +=
                "<rect class=\"buffer\" x=\"\(number(x + 1))\" y=\"\(number(y))\" width=\"\(number(max(1, w - 2)))\" height=\"\(number(h))\" fill=\"\(Palette.color(buffer.category))\" stroke=\"#fff\" stroke-width=\"0.5\">"
            out +=
                "<title>\(Markup.html(buffer.name)) (\(Markup.html(buffer.category))): \(ByteUnits.grouped(buffer.bytes)) B at \(ByteUnits.grouped(buffer.offset)), ops \(buffer.first)–\(buffer.last)</title></rect>"
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

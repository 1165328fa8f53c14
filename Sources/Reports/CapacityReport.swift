// `memplan capacity` output: the JSON contract, a table, Markdown.

import ArenaPlanner
import Capacity
import Foundation
import MemoryBudget
import ModelProfile

/// The `--format json` contract of `memplan capacity` (stable; keys may be added):
///
///     {"machine": {"name", "source", "nodes": [{"node", "total_bytes", "free_bytes"}]},
///      "profile", "mode", "headroom", "profile_batch", "includes_data", "data_bytes", "scaling_rule",
///      "results": [{"precision", "max_batch": {"machine", "per_node": {"0": n}}, "max_scale",
///                   "arena_bytes_at_max_batch", "usable_bytes": {"machine", "per_node"},
///                   "bytes_at_profile_batch", "machines_needed", "scaled_widths", "scaled_parameters",
///                   "max_parameters", "curve": [{"batch", "bytes"}],
///                   "lecture": [{"batch", "total_bytes", "lecture", "machines_needed"}],
///                   "transformer_limits": [{"checkpoint", "machine": {"batch", "context", "layers"},
///                                           "per_node": {"0": {…}}}] | null,
///                   "devices": [{"strategy", "devices_needed", "machines_needed", "device_bytes",
///                                "model_state_bytes"}]}]}
///
/// `max_scale` is the largest hidden-width multiplier k at the profile's batch (null without hidden
/// layers or in bound mode); `max_parameters` is bound mode's largest parameter count.
public struct CapacityReport: Codable, Sendable, Equatable, ReportDocument {
    public struct Node: Codable, Sendable, Equatable {
        public var node: Int
        public var totalBytes: Int
        public var freeBytes: Int

    }

    public struct MachineInfo: Codable, Sendable, Equatable {
        public var name: String
        public var source: String
        @Nullable public var description: String?
        public var nodes: [Node]
        /// What each node's free bytes are: `free` (MemFree), `available` (MemAvailable), `stated` (a machine file)
        /// (new key; null in old results).
        @Nullable public var memorySource: String?
    }

    /// A count for the whole machine and one per node, `{"machine", "per_node": {"0": n}}`: the largest batch that fits
    /// (`MaxBatch`) or the usable bytes (`Usable`).
    public struct MachineAndNodes: Codable, Sendable, Equatable {
        public var machine: Int
        public var perNode: [String: Int]
    }

    public typealias MaxBatch = MachineAndNodes
    public typealias Usable = MachineAndNodes

    public struct Point: Codable, Sendable, Equatable {
        public var batch: Int
        public var bytes: Int
    }

    public struct LectureAnswer: Codable, Sendable, Equatable {
        public var batch: Int
        public var totalBytes: Int
        public var lecture: String
        public var machinesNeeded: Int

    }

    public struct Result: Codable, Sendable, Equatable {
        public var precision: String
        public var maxBatch: MaxBatch
        @Nullable public var maxScale: Double?
        @Nullable public var arenaBytesAtMaxBatch: Int?
        public var usableBytes: Usable
        @Nullable public var bytesAtProfileBatch: Int?
        @Nullable public var machinesNeeded: Int?
        @Nullable public var scaledWidths: [Int]?
        @Nullable public var scaledParameters: Int?
        @Nullable public var maxParameters: Int?
        public var curve: [Point]
        public var lecture: [LectureAnswer]
        /// A transformer's limits under each checkpoint mode (new key; null for other profiles).
        @Nullable public var transformerLimits: [TransformerLimit]? = nil
        /// The fewest devices under each strategy (new key; null in old results).
        @Nullable public var devices: [DeviceOption]? = nil
    }

    /// The largest batch, context (trained at full length) and block count that fit, each with the other two as the
    /// profile has them.
    public struct Dimensions: Codable, Sendable, Equatable {
        public var batch: Int
        public var context: Int
        public var layers: Int
    }

    public struct TransformerLimit: Codable, Sendable, Equatable {
        /// `none`, `blocks`, `sqrt`, `selective`.
        public var checkpoint: String
        public var machine: Dimensions
        public var perNode: [String: Dimensions]
    }

    public var machine: MachineInfo
    public var profile: String
    public var mode: String
    public var headroom: Double
    public var profileBatch: Int
    public var includesData: Bool
    public var dataBytes: Int
    @Nullable public var scalingRule: String?
    /// The training samples of the dataset the arenas include (new key; null without data and in old results).
    @Nullable public var datasetTrainSamples: Int?
    public var results: [Result]

    public init(_ result: CapacityResult) {
        machine = MachineInfo(
            name: result.machine.name, source: result.machine.source, description: result.machine.description,
            nodes: result.machine.nodes.map { Node(node: $0.id, totalBytes: $0.totalBytes, freeBytes: $0.freeBytes) },
            memorySource: result.machine.memorySource)
        datasetTrainSamples = result.data?.trainCount
        profile = result.profileName
        mode = result.mode.rawValue
        headroom = result.headroom
        profileBatch = result.profileBatch
        includesData = result.data != nil
        dataBytes = result.dataBytes
        scalingRule = result.scalingRule
        results = result.results.map { capacity in
            Result(
                precision: capacity.precision.rawValue,
                maxBatch: MaxBatch(machine: capacity.maxBatchMachine, perNode: capacity.maxBatchPerNode.keyedByNodeText),
                maxScale: capacity.maxScale, arenaBytesAtMaxBatch: capacity.arenaBytesAtMaxBatch,
                usableBytes: Usable(machine: capacity.usableMachineBytes, perNode: capacity.usableNodeBytes.keyedByNodeText),
                bytesAtProfileBatch: capacity.bytesAtProfileBatch, machinesNeeded: capacity.machinesNeeded,
                scaledWidths: capacity.scaledWidths, scaledParameters: capacity.scaledParameters,
                maxParameters: capacity.maxParameters,
                curve: capacity.curve.map { Point(batch: $0.batch, bytes: $0.bytes) },
                lecture: capacity.lectureAnswers.map {
                    LectureAnswer(
                        batch: $0.batch, totalBytes: $0.bytes, lecture: ByteUnits.lecture($0.bytes),
                        machinesNeeded: $0.machinesNeeded)
                },
                transformerLimits: capacity.transformerLimits.isEmpty
                    ? nil
                    : capacity.transformerLimits.map { limits in
                        func dimensions(_ values: [TransformerDimension: Int]) -> Dimensions {
                            Dimensions(batch: values[.batch] ?? 0, context: values[.context] ?? 0, layers: values[.layers] ?? 0)
                        }
                        return TransformerLimit(
                            checkpoint: limits.recompute.rawValue, machine: dimensions(limits.machine),
                            perNode: limits.perNode.mapValues(dimensions).keyedByNodeText)
                    },
                devices: capacity.deviceAnswers.map(DeviceOption.init))
        }
    }

    public static let formats: [ReportFormat] = [.table, .json, .markdown, .html]

    public var tableText: String { CapacityRenderer.text(self) }
    public var markdownText: String { CapacityRenderer.markdown(self) }
    public var htmlText: String { HTMLPage.capacity(self) }

    /// Node ids in order.
    var nodeIDs: [String] { machine.nodes.map { String($0.node) } }
}

/// Renders capacity reports.
public enum CapacityRenderer {
    public static func json(_ report: CapacityReport) -> String { report.json }

    /// `escape` is applied to the text the document's file supplied (names), for the format being written.
    static func headline(_ report: CapacityReport, escape: (String) -> String = { $0 }) -> String {
        let total = report.machine.nodes.map(\.totalBytes).saturatingSum()
        let free = report.machine.nodes.map(\.freeBytes).saturatingSum()
        let count = report.machine.nodes.count
        var text = "\(escape(report.profile)) on \(escape(report.machine.name)) (\(count) node\(count == 1 ? "" : "s"), "
        text += "\(ByteUnits.binary(total)) in all, \(ByteUnits.binary(free)) free), headroom \(percentText(report.headroom))"
        return text
    }

    static func percentText(_ fraction: Double) -> String {
        let percent = fraction * 100
        return percent == percent.rounded() ? "\(Int(saturating: percent))%" : String(format2: percent) + "%"
    }

    static func notes(_ report: CapacityReport, escape: (String) -> String = { $0 }) -> [String] {
        var notes: [String] = []
        if report.mode == "bound" {
            notes.append(
                "Bound mode (the lecture's method): parameters + gradients + activations (≤ parameter bytes per sample) + samples. "
                    + "The lecture counts in decimal GB and steps by 1024 above that, so 1,203,400 GB reads \"1.15 PB\".")
        } else {
            notes.append(
                "Max batch: exact search over the planner's arena (the largest B whose planned arena fits the usable bytes; B + 1 does not)."
                    + (report.includesData
                        ? " Every arena includes the dataset (\(ByteUnits.decimal(report.dataBytes)) at \(escape(report.results.first?.precision ?? "")) precision), as `memplan train` allocates it; --no-data leaves it out."
                        : ""))
            if let rule = report.scalingRule { notes.append("Max scale k: \(escape(rule)).") }
            if report.results.contains(where: { $0.transformerLimits != nil }) { notes.append(transformerNote) }
        }
        if devicesTable(report) != nil { notes.append(devicesNote) }
        let source =
            switch report.machine.memorySource {
            case "free": " (MemFree: memory nothing uses now; --memory available also counts reclaimable caches, MemAvailable)"
            case "available": " (MemAvailable: free memory plus the caches the kernel can reclaim, shared over the nodes by size)"
            case "stated": " (as the machine file states it)"
            default: ""
            }
        notes.append(
            "Usable bytes: each node's free memory\(source) less the headroom; \"machine\" spans all nodes (an interleaved or sharded arena)."
        )
        if let samples = report.datasetTrainSamples,
            let largest = report.results.map(\.maxBatch.machine).max(), largest > samples
        {
            notes.append(
                "The largest batch that fits (\(ByteUnits.grouped(largest))) exceeds the dataset's \(ByteUnits.grouped(samples)) "
                    + "training samples: memory does not limit the batch here, the data does (train clamps a larger batch to the "
                    + "training set, with a warning).")
        }
        return notes
    }

    static func table(_ report: CapacityReport) -> TextTable {
        var columns: [TextTable.Column] = [.left("Precision"), .right("Max batch (machine)")]
        columns += report.nodeIDs.prefix(8).map { .right("node \($0)") }
        columns += [
            .right("At max batch"), .right("At batch \(ByteUnits.grouped(report.profileBatch))"), .right("Machines (pooled)"),
        ]
        columns.append(report.mode == "bound" ? .right("Max parameters") : .left("Max scale k (widths)"))
        var table = TextTable(columns: columns)
        for result in report.results {
            var row = [result.precision, ByteUnits.grouped(result.maxBatch.machine)]
            row += report.nodeIDs.prefix(8).map { ByteUnits.grouped(result.maxBatch.perNode[$0] ?? 0) }
            row.append(result.arenaBytesAtMaxBatch.map(ByteUnits.decimal) ?? "–")
            row.append(result.bytesAtProfileBatch.map(ByteUnits.decimal) ?? "–")
            row.append(result.machinesNeeded.map(ByteUnits.grouped) ?? "–")
            if report.mode == "bound" {
                row.append(result.maxParameters.map(ByteUnits.grouped) ?? "–")
            } else if let scale = result.maxScale {
                row.append("\(String(format2: scale)) (\((result.scaledWidths ?? []).map(String.init).joined(separator: "-")))")
            } else {
                row.append(result.transformerLimits != nil ? "– (see the limits below)" : "– (no hidden layers)")
            }
            table.append(row)
        }
        return table
    }

    /// Per precision and checkpoint mode: the largest batch, context and depth on the machine (and each node, when
    /// there are several); nil for other profiles.
    static func transformerTable(_ report: CapacityReport) -> TextTable? {
        guard report.results.contains(where: { $0.transformerLimits != nil }) else { return nil }
        let nodes = report.nodeIDs.count > 1 ? Array(report.nodeIDs.prefix(8)) : []
        var columns: [TextTable.Column] = [
            .left("Precision"), .left("Checkpoint"), .right("Max batch"), .right("Max context"), .right("Max layers"),
        ]
        columns += nodes.map { .right("node \($0): batch/context/layers") }
        var table = TextTable(columns: columns)
        for result in report.results {
            for limit in result.transformerLimits ?? [] {
                var row = [
                    result.precision, limit.checkpoint, ByteUnits.grouped(limit.machine.batch),
                    ByteUnits.grouped(limit.machine.context), ByteUnits.grouped(limit.machine.layers),
                ]
                row += nodes.map { node in
                    guard let values = limit.perNode[node] else { return "–" }
                    return
                        "\(ByteUnits.grouped(values.batch)) / \(ByteUnits.grouped(values.context)) / \(ByteUnits.grouped(values.layers))"
                }
                table.append(row)
            }
        }
        return table
    }

    static let transformerNote =
        "Transformer limits: the largest batch, context (sequences trained at full length) and number of blocks whose "
        + "planned arena fits the machine, each with the other two as the profile has them, under each checkpoint mode "
        + "(`--checkpoint`: none keeps every activation; blocks keeps each block's input; sqrt every ⌈√L⌉-th; selective "
        + "recomputes attention only)."

    static func lectureTable(_ report: CapacityReport) -> TextTable? {
        guard report.mode == "bound" else { return nil }
        var table = TextTable(columns: [
            .left("Precision"), .right("Batch"), .right("Bytes"), .right("Lecture"), .right("Machines like this one"),
        ])
        for result in report.results {
            for answer in result.lecture {
                table.append([
                    result.precision, ByteUnits.grouped(answer.batch), ByteUnits.grouped(answer.totalBytes), answer.lecture,
                    ByteUnits.grouped(answer.machinesNeeded),
                ])
            }
        }
        return table
    }

    /// Sentences a reader can quote: "300 B parameters, 1,000 samples: 2.29 PB at double precision — needs N machines like this one".
    public static func sentences(_ report: CapacityReport, escape: (String) -> String = { $0 }) -> [String] {
        var lines: [String] = []
        let usable = report.results.first?.usableBytes.machine ?? 0
        for result in report.results {
            if report.mode == "bound" {
                for answer in result.lecture {
                    lines.append(
                        "\(escape(report.profile)), batch \(ByteUnits.grouped(answer.batch)): \(escape(answer.lecture)) at \(escape(result.precision)) precision — "
                            + "needs \(ByteUnits.grouped(answer.machinesNeeded)) machine\(answer.machinesNeeded == 1 ? "" : "s") like \(escape(report.machine.name)) "
                            + "(\(ByteUnits.binary(usable)) usable each)")
                }
            } else {
                var line =
                    "\(escape(result.precision)): the largest batch that fits \(escape(report.machine.name)) is \(ByteUnits.grouped(result.maxBatch.machine))"
                if let arena = result.arenaBytesAtMaxBatch { line += " (arena \(ByteUnits.decimal(arena)))" }
                if let scale = result.maxScale {
                    line += "; at batch \(report.profileBatch) the hidden layers can grow \(String(format2: scale))×"
                }
                lines.append(line)
                if report.nodeIDs.count > 1, result.maxBatch.machine > 0,
                    report.nodeIDs.allSatisfy({ (result.maxBatch.perNode[$0] ?? 0) == 0 })
                {
                    lines.append(shardingSentence(result, escape: escape))
                }
            }
        }
        return lines
    }

    public static func text(_ report: CapacityReport) -> String {
        let escape = Markup.terminal
        var out = "memplan capacity — " + headline(report, escape: escape) + "\n\n"
        out += table(report).renderText()
        if let limits = transformerTable(report) { out += "\n" + limits.renderText() }
        if let lecture = lectureTable(report) { out += "\n" + lecture.renderText() }
        if let devices = devicesTable(report) { out += "\nDevices by strategy:\n" + devices.renderText() }
        out += "\n" + sentences(report, escape: escape).joined(separator: "\n") + "\n"
        out += notes(report, escape: escape).map { "\n" + $0 }.joined() + "\n"
        return out
    }

    public static func markdown(_ report: CapacityReport) -> String {
        let escape = Markup.markdown
        var out = "# Capacity: \(escape(report.profile)) on \(escape(report.machine.name))\n\n"
        out += "*" + headline(report, escape: escape) + "*\n\n"
        var machineTable = TextTable(columns: [.right("Node"), .right("Total"), .right("Free")])
        for node in report.machine.nodes {
            machineTable.append([String(node.node), ByteUnits.binary(node.totalBytes), ByteUnits.binary(node.freeBytes)])
        }
        out += "## Machine\n\n" + machineTable.renderMarkdown() + "\n## What fits\n\n" + table(report).renderMarkdown()
        if let limits = transformerTable(report) { out += "\n## Transformer limits\n\n" + limits.renderMarkdown() }
        if let lecture = lectureTable(report) { out += "\n## The lecture's answer\n\n" + lecture.renderMarkdown() }
        if let devices = devicesTable(report) { out += "\n## Devices by strategy\n\n" + devices.renderMarkdown() }
        out += "\n" + sentences(report, escape: escape).map { "- " + $0 }.joined(separator: "\n") + "\n"
        out += notes(report, escape: escape).map { "\n> " + $0 + "\n" }.joined()
        return out
    }
}

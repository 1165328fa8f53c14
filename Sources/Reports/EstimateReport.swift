// `memplan estimate` output: the JSON contract, and the same content as a table or Markdown.

import Foundation
import MemoryBudget
import ModelProfile

/// The `--format json` contract of `memplan estimate` (keys are stable; new keys may be added):
///
///     {"profile", "precision", "batch", "mode": "exact"|"bound", "optimizer", "element_bytes", "fuses_update",
///      "counts": {"parameters", "weights", "biases", "neurons"},
///      "bytes": {"parameters", "gradients", "activations", "inputs", "optimizer", "total", "deltas", "scratch"},
///      "input_bytes": {"features", "targets"},
///      "layers": [{"index", "inputs", "units", "activation", "weights", "biases", "parameters",
///                  "bytes": {"parameters", "gradients", "activations", "optimizer", "deltas", "scratch"}}],
///      "tensors": [{"name", "layer", "shape", "element_type", "category", "bytes"}],
///      "human": {"total_decimal", "total_binary", "total_lecture"}}
///
/// All byte and count values are integers. `bytes.total` is every tensor of the step with no reuse, never below the
/// plan's lower bound. In bound mode only `parameters` is known of the counts: `weights` repeats it, `biases` and
/// `neurons` are 0, and `layers` and `tensors` are empty.
public struct EstimateReport: Codable, Sendable, Equatable, ReportDocument {
    public struct Counts: Codable, Sendable, Equatable {
        public var parameters: Int
        public var weights: Int
        public var biases: Int
        public var neurons: Int
    }

    public struct Bytes: Codable, Sendable, Equatable {
        public var parameters: Int
        public var gradients: Int
        public var activations: Int
        public var inputs: Int
        public var optimizer: Int
        public var total: Int
        public var deltas: Int
        public var scratch: Int
    }

    public struct InputBytes: Codable, Sendable, Equatable {
        public var features: Int
        public var targets: Int
    }

    public struct LayerBytes: Codable, Sendable, Equatable {
        public var parameters: Int
        public var gradients: Int
        public var activations: Int
        public var optimizer: Int
        public var deltas: Int
        public var scratch: Int
    }

    public struct Layer: Codable, Sendable, Equatable {
        public var index: Int
        public var inputs: Int
        public var units: Int
        public var activation: String
        public var weights: Int
        public var biases: Int
        public var parameters: Int
        public var bytes: LayerBytes
    }

    /// One row of the step's tensor table.
    public struct Tensor: Codable, Sendable, Equatable {
        public var name: String
        /// 1-based layer, 0 for the step's own tensors (x, y).
        public var layer: Int
        public var shape: [Int]
        public var elementType: String
        public var category: String
        public var bytes: Int
    }

    public struct Human: Codable, Sendable, Equatable {
        public var totalDecimal: String
        public var totalBinary: String
        public var totalLecture: String
    }

    public var profile: String
    public var precision: String
    public var batch: Int
    public var mode: String
    public var optimizer: String
    public var elementBytes: Int
    /// Plain SGD's update runs inside the backward pass: no gradients are stored.
    public var fusesUpdate: Bool
    public var counts: Counts
    public var bytes: Bytes
    public var inputBytes: InputBytes
    public var layers: [Layer]
    public var tensors: [Tensor]
    public var human: Human

    public static let formats: [ReportFormat] = [.table, .json, .markdown]

    public init(_ budget: Budget) {
        profile = budget.profileName
        precision = budget.precision.rawValue
        batch = budget.batchSize
        mode = budget.mode.rawValue
        optimizer = budget.optimizer.rawValue
        elementBytes = budget.precision.byteCount
        fusesUpdate = budget.fusesUpdate
        counts = Counts(
            parameters: budget.parameterCount, weights: budget.weightCount, biases: budget.biasCount, neurons: budget.neuronCount)
        bytes = Bytes(
            parameters: budget.parameterByteCount, gradients: budget.gradientByteCount, activations: budget.activationByteCount,
            inputs: budget.inputByteCount, optimizer: budget.optimizerByteCount, total: budget.totalByteCount,
            deltas: budget.deltaByteCount, scratch: budget.scratchByteCount)
        inputBytes = InputBytes(features: budget.inputFeatureByteCount, targets: budget.inputTargetByteCount)
        layers = budget.layers.map { layer in
            Layer(
                index: layer.index, inputs: layer.inputWidth, units: layer.outputWidth, activation: layer.activation.rawValue,
                weights: layer.weightCount, biases: layer.biasCount, parameters: layer.parameterCount,
                bytes: LayerBytes(
                    parameters: layer.parameterByteCount, gradients: layer.gradientByteCount,
                    activations: layer.activationByteCount,
                    optimizer: layer.optimizerByteCount, deltas: layer.deltaByteCount, scratch: layer.scratchByteCount))
        }
        tensors = budget.tensors.map { tensor in
            Tensor(
                name: tensor.name, layer: tensor.id.layer, shape: tensor.shape, elementType: tensor.elementType.description,
                category: tensor.category.rawValue, bytes: tensor.byteCount)
        }
        human = Human(
            totalDecimal: ByteUnits.decimal(budget.totalByteCount), totalBinary: ByteUnits.binary(budget.totalByteCount),
            totalLecture: ByteUnits.lecture(budget.totalByteCount))
    }

    public func render(_ format: ReportFormat) -> String {
        switch format {
        case .json: json
        case .table: EstimateRenderer.text(self)
        case .markdown: EstimateRenderer.markdown(self)
        case .html: preconditionFailure("estimate has no HTML page; ReportFormat.html is not in EstimateReport.formats")
        }
    }
}

/// Renders estimates for `memplan estimate`.
public enum EstimateRenderer {
    /// Pretty-printed, key-sorted JSON of `EstimateReport`, ending in a newline.
    public static func json(_ budget: Budget) -> String { EstimateReport(budget).json }

    /// The terminal table: layers (exact mode), counts, then each category in exact bytes,
    /// decimal and binary units; bound mode adds the lecture's units.
    public static func text(_ report: EstimateReport) -> String {
        var out = header(report) + "\n\n"
        if !report.layers.isEmpty { out += layerTable(report).renderText() + "\n" }
        out += countsLine(report) + "\n\n"
        out += categoryTable(report).renderText()
        out += notes(report).map { "\n" + $0 + "\n" }.joined()
        return out
    }

    public static func markdown(_ report: EstimateReport) -> String {
        var out = "## Memory estimate: \(Markup.markdown(report.profile))\n\n"
        out += "*\(report.mode) mode, \(report.precision) precision, batch \(report.batch), optimizer \(report.optimizer)*\n\n"
        if !report.layers.isEmpty { out += layerTable(report).renderMarkdown() + "\n" }
        out += countsLine(report) + "\n\n"
        out += categoryTable(report).renderMarkdown()
        if !report.tensors.isEmpty { out += "\n" + tensorTable(report).renderMarkdown() }
        out += notes(report).map { "\n> " + $0 + "\n" }.joined()
        return out
    }

    static func header(_ report: EstimateReport) -> String {
        "memplan estimate — \(Markup.terminal(report.profile)) (\(report.mode) mode, \(report.precision) precision, "
            + "\(report.elementBytes) B/element, batch \(report.batch), \(report.optimizer))"
    }

    static func countsLine(_ report: EstimateReport) -> String {
        let counts = report.counts
        if report.mode == "bound" {
            return "Parameters: \(ByteUnits.grouped(counts.parameters)) (bound mode: layers unknown)"
        }
        return "Parameters: \(ByteUnits.grouped(counts.parameters)) = \(ByteUnits.grouped(counts.weights)) weights + "
            + "\(ByteUnits.grouped(counts.biases)) biases; neurons: \(ByteUnits.grouped(counts.neurons))"
    }

    static func layerTable(_ report: EstimateReport) -> TextTable {
        var table = TextTable(columns: [
            .right("Layer"), .left("Shape"), .left("Activation"), .right("Weights"), .right("Biases"), .right("Params"),
            .right("Param B"), .right("Grad B"), .right("Act B"), .right("Delta B"), .right("Opt B"),
        ])
        for layer in report.layers {
            table.append([
                String(layer.index), "\(layer.inputs) → \(layer.units)", layer.activation, ByteUnits.grouped(layer.weights),
                ByteUnits.grouped(layer.biases), ByteUnits.grouped(layer.parameters), ByteUnits.grouped(layer.bytes.parameters),
                ByteUnits.grouped(layer.bytes.gradients), ByteUnits.grouped(layer.bytes.activations),
                ByteUnits.grouped(layer.bytes.deltas),
                ByteUnits.grouped(layer.bytes.optimizer),
            ])
        }
        return table
    }

    /// Every tensor of the step, as the layer kinds declare them.
    static func tensorTable(_ report: EstimateReport) -> TextTable {
        var table = TextTable(columns: [
            .left("Tensor"), .right("Layer"), .left("Shape"), .left("Type"), .left("Category"), .right("Bytes"),
        ])
        for tensor in report.tensors {
            table.append([
                tensor.name, String(tensor.layer), "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")",
                tensor.elementType,
                tensor.category, ByteUnits.grouped(tensor.bytes),
            ])
        }
        return table
    }

    static func categoryTable(_ report: EstimateReport) -> TextTable {
        let lecture = report.mode == "bound"
        var columns: [TextTable.Column] = [.left("Category"), .right("Bytes"), .right("Decimal"), .right("Binary")]
        if lecture { columns.append(.right("Lecture")) }
        var table = TextTable(columns: columns)
        let bytes = report.bytes
        var rows: [(String, Int)] = [
            ("parameters", bytes.parameters), ("gradients", bytes.gradients),
            (lecture ? "activations (≤ params/sample)" : "activations", bytes.activations),
        ]
        if !lecture { rows.append(("deltas", bytes.deltas)) }
        if bytes.scratch > 0 { rows.append(("scratch", bytes.scratch)) }
        rows += [("inputs", bytes.inputs), ("optimizer state", bytes.optimizer), ("total", bytes.total)]
        for (name, value) in rows {
            var row = [name, ByteUnits.grouped(value), ByteUnits.decimal(value), ByteUnits.binary(value)]
            if lecture { row.append(ByteUnits.lecture(value)) }
            table.append(row)
        }
        return table
    }

    static func notes(_ report: EstimateReport) -> [String] {
        if report.mode == "bound" {
            return [
                "Bound mode (the lecture's method): parameters + gradients (same shape) + activations (at most the "
                    + "parameter bytes, one copy per sample) + input samples. The lecture's column counts in decimal GB "
                    + "(10⁹ B) and then steps by 1024, so 1,203,400 GB reads \"1.15 PB\"; the Decimal column uses 1000 "
                    + "per step, the Binary column 1024 per step from bytes."
            ]
        }
        var notes = [
            "Every tensor of the step, with no reuse: `memplan plan` places them in an arena no larger than this total. "
                + "Activations: each layer's output a_l for the whole batch, kept for the backward pass (z_l is computed in place). "
                + "Deltas: dz_l = ∂L/∂z_l of the hidden layers. Inputs: the batch's features and dense targets."
        ]
        if report.fusesUpdate {
            notes.append(
                "Gradients: none stored — plain SGD's update is fused into the backward pass (W −= η·dzᵀ·x as each product is "
                    + "formed). Another optimizer (--optimizer momentum|adam) stores one gradient per parameter.")
        }
        return notes
    }
}

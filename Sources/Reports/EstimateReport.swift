// `memplan estimate` output: the JSON contract, and the same content as a table or Markdown.

import Foundation
import MemoryBudget
import ModelProfile

/// The `--format json` contract of `memplan estimate` (keys are stable; new keys may be added):
///
///     {"profile", "precision", "batch", "mode": "exact"|"bound", "optimizer", "element_bytes",
///      "counts": {"parameters", "weights", "biases", "neurons"},
///      "bytes": {"parameters", "gradients", "activations", "inputs", "optimizer", "total"},
///      "input_bytes": {"features", "targets"},
///      "layers": [{"index", "inputs", "units", "activation", "weights", "biases", "parameters",
///                  "bytes": {"parameters", "gradients", "activations", "optimizer"}}],
///      "human": {"total_decimal", "total_binary", "total_lecture"}}
///
/// All byte and count values are integers. In bound mode only `parameters` is known of the
/// counts: `weights` repeats it, `biases` and `neurons` are 0, and `layers` is empty.
public struct EstimateReport: Codable, Sendable, Equatable {
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

        public init(_ budget: Budget) {
            parameters = budget.parameterByteCount
            gradients = budget.gradientByteCount
            activations = budget.activationByteCount
            inputs = budget.inputByteCount
            optimizer = budget.optimizerByteCount
            total = budget.totalByteCount
        }
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

    public struct Human: Codable, Sendable, Equatable {
        public var totalDecimal: String
        public var totalBinary: String
        public var totalLecture: String

        enum CodingKeys: String, CodingKey {
            case totalDecimal = "total_decimal"
            case totalBinary = "total_binary"
            case totalLecture = "total_lecture"
        }
    }

    public var profile: String
    public var precision: String
    public var batch: Int
    public var mode: String
    public var optimizer: String
    public var elementBytes: Int
    public var counts: Counts
    public var bytes: Bytes
    public var inputBytes: InputBytes
    public var layers: [Layer]
    public var human: Human

    enum CodingKeys: String, CodingKey {
        case profile, precision, batch, mode, optimizer, counts, bytes, layers, human
        case elementBytes = "element_bytes"
        case inputBytes = "input_bytes"
    }

    public init(_ budget: Budget) {
        profile = budget.profileName
        precision = budget.precision.rawValue
        batch = budget.batchSize
        mode = budget.mode.rawValue
        optimizer = budget.optimizer.rawValue
        elementBytes = budget.precision.byteCount
        counts = Counts(
            parameters: budget.parameterCount, weights: budget.weightCount, biases: budget.biasCount,
            neurons: budget.neuronCount)
        bytes = Bytes(budget)
        inputBytes = InputBytes(features: budget.inputFeatureByteCount, targets: budget.inputTargetByteCount)
        layers = budget.layers.map { layer in
            Layer(
                index: layer.index, inputs: layer.inputWidth, units: layer.outputWidth, activation: layer.activation.rawValue,
                weights: layer.weightCount, biases: layer.biasCount, parameters: layer.parameterCount,
                bytes: LayerBytes(
                    parameters: layer.parameterByteCount, gradients: layer.gradientByteCount,
                    activations: layer.activationByteCount, optimizer: layer.optimizerByteCount))
        }
        human = Human(
            totalDecimal: ByteUnits.decimal(budget.totalByteCount), totalBinary: ByteUnits.binary(budget.totalByteCount),
            totalLecture: ByteUnits.lecture(budget.totalByteCount))
    }
}

/// Renders budgets for `memplan estimate`.
public enum EstimateRenderer {
    /// Pretty-printed, key-sorted JSON of `EstimateReport`, ending in a newline.
    public static func json(_ budget: Budget) -> String {
        JSONText.encode(EstimateReport(budget))
    }

    /// The terminal table: layers (exact mode), counts, then each category in exact bytes,
    /// decimal and binary units; bound mode adds the lecture's units.
    public static func text(_ budget: Budget) -> String {
        var out = header(budget) + "\n\n"
        if !budget.layers.isEmpty { out += layerTable(budget).renderText() + "\n" }
        out += countsLine(budget) + "\n\n"
        out += categoryTable(budget).renderText()
        out += notes(budget).map { "\n" + $0 + "\n" }.joined()
        return out
    }

    public static func markdown(_ budget: Budget) -> String {
        var out = "## Memory estimate: \(budget.profileName)\n\n"
        out += "*\(budget.mode.rawValue) mode, \(budget.precision.rawValue) precision, batch \(budget.batchSize), "
        out += "optimizer \(budget.optimizer.rawValue)*\n\n"
        if !budget.layers.isEmpty { out += layerTable(budget).renderMarkdown() + "\n" }
        out += countsLine(budget) + "\n\n"
        out += categoryTable(budget).renderMarkdown()
        out += notes(budget).map { "\n> " + $0 + "\n" }.joined()
        return out
    }

    static func header(_ budget: Budget) -> String {
        "memplan estimate — \(budget.profileName) (\(budget.mode.rawValue) mode, \(budget.precision.rawValue) precision, "
            + "\(budget.precision.byteCount) B/element, batch \(budget.batchSize), \(budget.optimizer.rawValue))"
    }

    static func countsLine(_ budget: Budget) -> String {
        if budget.mode == .bound {
            return "Parameters: \(ByteUnits.grouped(budget.parameterCount)) (bound mode: layers unknown)"
        }
        return "Parameters: \(ByteUnits.grouped(budget.parameterCount)) = \(ByteUnits.grouped(budget.weightCount)) weights + "
            + "\(ByteUnits.grouped(budget.biasCount)) biases; neurons: \(ByteUnits.grouped(budget.neuronCount))"
    }

    static func layerTable(_ budget: Budget) -> TextTable {
        var table = TextTable(columns: [
            .right("Layer"), .left("Shape"), .left("Activation"), .right("Weights"), .right("Biases"), .right("Params"),
            .right("Param B"), .right("Grad B"), .right("Act B"), .right("Opt B"),
        ])
        for layer in budget.layers {
            table.append([
                String(layer.index), "\(layer.inputWidth) → \(layer.outputWidth)", layer.activation.rawValue,
                ByteUnits.grouped(layer.weightCount), ByteUnits.grouped(layer.biasCount), ByteUnits.grouped(layer.parameterCount),
                ByteUnits.grouped(layer.parameterByteCount), ByteUnits.grouped(layer.gradientByteCount),
                ByteUnits.grouped(layer.activationByteCount), ByteUnits.grouped(layer.optimizerByteCount),
            ])
        }
        return table
    }

    static func categoryTable(_ budget: Budget) -> TextTable {
        let lecture = budget.mode == .bound
        var columns: [TextTable.Column] = [.left("Category"), .right("Bytes"), .right("Decimal"), .right("Binary")]
        if lecture { columns.append(.right("Lecture")) }
        var table = TextTable(columns: columns)
        let activationLabel = budget.mode == .bound ? "activations (≤ params/sample)" : "activations"
        let rows: [(String, Int)] = [
            ("parameters", budget.parameterByteCount), ("gradients", budget.gradientByteCount),
            (activationLabel, budget.activationByteCount), ("inputs", budget.inputByteCount),
            ("optimizer state", budget.optimizerByteCount), ("total", budget.totalByteCount),
        ]
        for (name, bytes) in rows {
            var row = [name, ByteUnits.grouped(bytes), ByteUnits.decimal(bytes), ByteUnits.binary(bytes)]
            if lecture { row.append(ByteUnits.lecture(bytes)) }
            table.append(row)
        }
        return table
    }

    static func notes(_ budget: Budget) -> [String] {
        var notes: [String] = []
        if budget.mode == .bound {
            notes.append(
                "Bound mode (the lecture's method): parameters + gradients (same shape) + activations (at most the "
                    + "parameter bytes, one copy per sample) + input samples. The lecture's column counts in decimal GB "
                    + "(10⁹ B) and then steps by 1024, so 1,203,400 GB reads \"1.15 PB\"; the Decimal column uses 1000 "
                    + "per step, the Binary column 1024 per step from bytes.")
        } else {
            notes.append(
                "Activations: each layer's output a_l for the whole batch, kept for the backward pass (z_l is computed "
                    + "in place). Inputs: the batch's features and dense targets. Backward deltas are placed by `memplan plan`.")
        }
        return notes
    }
}

/// JSON text with sorted keys and pretty printing, ending in a newline.
public enum JSONText {
    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) else {
            preconditionFailure("JSONText.encode: \(T.self) failed to encode")
        }
        return text + "\n"
    }
}

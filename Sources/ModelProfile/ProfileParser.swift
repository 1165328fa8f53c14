// YAML/JSON profile text → validated `Profile`. The only file that imports Yams.
//
// Profiles are read through Yams' node tree (not Codable) so that every error can name the
// line and column it comes from, and every unknown key can be reported with a suggestion.

import FileAccess
import Foundation
import Yams

/// Reads profiles: YAML, or JSON (which YAML reads too).
///
///     let profile = try ProfileParser.load(path: "profiles/fashion-mnist-mlp.yaml")
///
/// The format is documented in the README ("Profile format"); every key is listed in the
/// `*Keys` constants below, which the unknown-key error also prints.
public enum ProfileParser {
    /// Profiles are small; anything larger is almost certainly the wrong file.
    public static let maximumFileByteCount = 4 << 20

    /// The most epochs a profile (or `--epochs`) may ask for.
    public static let maximumEpochs = 1_000_000

    static let exactKeys = [
        "kind", "name", "description", "input", "hidden", "output", "loss", "metrics", "precision", "batch",
        "optimizer", "data", "epochs", "split", "seed", "init", "loss_scaling",
    ]
    static let boundKeys = ["kind", "name", "description", "parameters", "sample_bytes", "precision", "batch", "optimizer"]
    static let inputKeys = ["features", "shape"]
    static let layerKeys = ["units", "activation", "bias", "frozen"]
    static let optimizerKeys = ["kind", "learning_rate"] + Hyperparameter.allKeys
    static let splitKeys = ["validation", "folds"]
    static let dataKeysBySource: [String: [String]] = [
        "fashion-mnist": ["source", "path", "labels", "positive", "groups"],
        "polynomial": ["source", "degree", "count", "test_count", "noise", "function", "seed"],
        "synthetic": ["source", "task", "count", "test_count", "noise", "seed"],
        "csv": ["source", "path", "targets", "header", "test_fraction"],
    ]

    /// Reads `path` (`-`: standard input) and composes its YAML node tree.
    static func compose(path: String) throws -> (Node, NodeReader) {
        let (text, file, directory) = try readText(path: path)
        return try compose(text: text, file: file, baseDirectory: directory)
    }

    /// What messages call standard input, and the name a profile read from it gets.
    public static let standardInputName = "<stdin>"

    /// The deepest `[`/`{` nesting a profile may have; deeper flow collections would recurse
    /// through the YAML composer without bound.
    static let maximumNesting = 64

    /// Composes profile text into a node tree, after checking its nesting depth.
    static func compose(text: String, file: String, baseDirectory: String) throws -> (Node, NodeReader) {
        try checkNesting(text, file: file)
        try YAMLLimits.check(text, file: file)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text, .basic) else {
                throw ProfileError.malformed(SourceLocation(file: file, line: 1), problem: "the file is empty")
            }
            root = node
        } catch let error as YamlError {
            throw Self.malformed(error, file: file)
        }
        return (root, NodeReader(file: file, baseDirectory: baseDirectory))
    }

    /// Rejects text whose brackets nest deeper than `maximumNesting` (quoted text and comments
    /// are skipped). Block nesting needs an indentation step per level, so a profile under the
    /// size limit cannot nest deep enough in block style to exhaust the stack.
    static func checkNesting(_ text: String, file: String) throws(ProfileError) {
        var depth = 0
        var line = 1
        var quote: UInt8?
        var comment = false
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte == 10 {
                line += 1
                comment = false
            } else if comment {
            } else if let open = quote {
                if byte == open, previous != 92 { quote = nil }
            } else if byte == 35, previous == 32 || previous == 10 || previous == 0 || previous == 9 {
                comment = true
            } else if byte == 34 || byte == 39 {
                quote = byte
            } else if byte == 91 || byte == 123 {
                depth += 1
                if depth > maximumNesting {
                    throw .malformed(
                        SourceLocation(file: file, line: line),
                        problem: "lists or mappings nested more than \(maximumNesting) deep; a profile needs a handful")
                }
            } else if byte == 93 || byte == 125 {
                depth = max(0, depth - 1)
            }
            previous = byte
        }
    }

    /// The text of the profile at `path` (`-`: standard input), the name messages give it, and the directory its
    /// relative data paths start from. The file is opened once, only if it is a regular file, and its size is
    /// checked before a byte is read.
    static func readText(path: String) throws(ProfileError) -> (text: String, file: String, directory: String) {
        let bytes: [UInt8]
        do {
            bytes = try InputFile.open(path, allowStandardInput: true).readAll(limit: maximumFileByteCount)
        } catch {
            switch error {
            case .missing: throw .fileNotFound(path: path)
            case .tooLarge(_, let count, let limit):
                throw .unreadable(
                    path: path,
                    reason:
                        "\(count.map { "\($0) bytes is" } ?? "more than \(limit) bytes is") too large for a profile (limit \(limit))"
                )
            case .notRegular, .unreadable: throw .unreadable(path: path, reason: error.reason)
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .unreadable(path: path, reason: "not UTF-8 text") }
        if path == InputFile.standardInputPath { return (text, standardInputName, ".") }
        return (text, path, PathText.directory(of: path))
    }

    /// Loads and validates the profile at `path` (`-` reads it from standard input).
    ///
    /// - Throws: `ProfileError` naming the file (and line, where there is one).
    public static func load(path: String) throws(ProfileError) -> Profile {
        let (text, file, directory) = try readText(path: path)
        return try parse(text, file: file, baseDirectory: directory)
    }

    /// Parses profile text. Relative data paths are resolved against `baseDirectory`.
    public static func parse(_ text: String, file: String = "<profile>", baseDirectory: String = ".") throws(ProfileError)
        -> Profile
    {
        do {
            return try parseUntyped(text, file: file, baseDirectory: baseDirectory)
        } catch let error as ProfileError {
            throw error
        } catch {
            throw ProfileError.malformed(SourceLocation(file: file), problem: "\(error)")
        }
    }

    static func parseUntyped(_ text: String, file: String, baseDirectory: String) throws -> Profile {
        // The basic resolver (no implicit tag rules) is used: every scalar is read as text by
        // NodeReader, and Yams skips its regular-expression tag resolution (a third of the time on big files).
        let (root, reader) = try compose(text: text, file: file, baseDirectory: baseDirectory)
        let top = try reader.section(root, named: "the profile", allowed: exactKeys + boundKeys + transformerKeys)
        if isHuggingFaceConfig(top) { return .transformer(try parseHuggingFaceConfig(top, reader: reader)) }
        let kind = try top["kind"].map { try reader.string($0, field: "kind") }
        switch kind?.lowercased() {
        case "bound":
            return .bound(try parseBound(top, reader: reader))
        case nil where top["parameters"] != nil && top["input"] == nil:
            return .bound(try parseBound(top, reader: reader))
        case nil, "exact", "model", "mlp":
            return .exact(try parseExact(top, reader: reader))
        case "transformer", "gpt", "llama":
            return .transformer(try parseTransformer(top, reader: reader))
        case "machine":
            throw ProfileError.inconsistent(
                reader.location(top["kind"]!),
                "this is a machine profile; pass it as --machine \(file) and give a model profile first")
        case let other?:
            throw ProfileError.unknownName(
                reader.location(top["kind"]!), field: "kind", value: other, valid: ["exact", "bound", "transformer"],
                suggestion: Suggestion.closest(to: other, in: ["exact", "bound", "transformer"]))
        }
    }

    static func malformed(_ error: YamlError, file: String) -> ProfileError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var text = problem
            if let context { text += " (\(context.text))" }
            return .malformed(SourceLocation(file: file, line: mark.line, column: mark.column), problem: text)
        case .reader(let problem, let offset, _, _):
            return .malformed(SourceLocation(file: file), problem: "\(problem)" + (offset.map { " at byte \($0)" } ?? ""))
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .malformed(
                SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                problem: "duplicate keys: \(duplicates.joined(separator: ", "))")
        default:
            return .malformed(SourceLocation(file: file), problem: "\(error)")
        }
    }

    // MARK: - Bound profiles

    static func parseBound(_ top: Section, reader: NodeReader) throws -> BoundModel {
        try rejectLoRA(top, reader: reader, kind: "a bound")
        try reader.rejectUnknown(top, allowed: boundKeys)
        let name = try top["name"].map { try reader.string($0, field: "name") } ?? reader.defaultName
        let parameters = try reader.count(
            try top.require("parameters", hint: "state the parameter count, e.g. parameters: 300e9"),
            field: "parameters", minimum: 1)
        let sampleBytes = try reader.byteCount(
            try top.require("sample_bytes", hint: "state the bytes of one input sample, e.g. sample_bytes: 1GB"),
            field: "sample_bytes")
        let precision = try top["precision"].map { try reader.precision($0) } ?? .single
        let batch = try top["batch"].map { try reader.count($0, field: "batch", minimum: 1) } ?? 1
        let optimizer = try top["optimizer"].map { try reader.optimizer($0).kind } ?? .sgd
        do {
            return try BoundModel(
                name: name, parameterCount: parameters, sampleByteCount: sampleBytes, precision: precision,
                batchSize: batch, optimizer: optimizer)
        } catch {
            throw ProfileError.invalidModel(reader.location(top.node), error)
        }
    }

    // MARK: - Exact profiles

    static func parseExact(_ top: Section, reader: NodeReader) throws -> Model {
        try rejectLoRA(top, reader: reader, kind: "an MLP (exact)")
        try reader.rejectUnknown(top, allowed: exactKeys)
        let name = try top["name"].map { try reader.string($0, field: "name") } ?? reader.defaultName

        let inputNode = try top.require("input", hint: "give the input features, e.g. input: {features: 784}")
        let inputShape = try reader.inputShape(inputNode)

        var specs: [(spec: LayerSpec, mark: Mark?)] = []
        if let hidden = top["hidden"] {
            guard case .sequence(let sequence) = hidden else {
                throw ProfileError.wrongType(
                    reader.location(hidden), field: "hidden", expected: "a list", got: reader.describe(hidden))
            }
            specs.reserveCapacity(sequence.count + 1)
            var index = 0
            for layerNode in sequence {
                specs.append(try reader.hiddenLayer(layerNode, index: index))
                index += 1
            }
        }
        let lossNode = try top.require("loss", hint: "name the loss, e.g. loss: softmax-cross-entropy")
        let loss = try reader.loss(lossNode)
        let outputNode = try top.require("output", hint: "give the output layer, e.g. output: {units: 10, activation: softmax}")
        let output = try reader.section(outputNode, named: "output", allowed: layerKeys)
        let outputUnits = try reader.count(
            try output.require("units", hint: "give the number of outputs, e.g. units: 10"), field: "units", minimum: 1)
        let outputActivation = try output["activation"].map { try reader.activation($0) } ?? loss.impliedOutputActivation
        let outputBias = try output["bias"].map { try reader.bool($0, field: "bias") } ?? true
        let outputFrozen = try output["frozen"].map { try reader.bool($0, field: "frozen") } ?? false
        specs.append(
            (
                LayerSpec(
                    inputWidth: 0, outputWidth: outputUnits, activation: outputActivation, hasBias: outputBias,
                    isFrozen: outputFrozen),
                outputNode.mark
            ))

        var inputWidth = 1
        for dimension in inputShape {
            let (product, overflow) = inputWidth.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw ProfileError.invalidValue(
                    reader.location(inputNode), field: "input shape", value: "\(inputShape)", reason: "too large")
            }
            inputWidth = product
        }
        var layers: [LayerSpec] = []
        var previous = inputWidth
        for (spec, _) in specs {
            var layer = spec
            layer.inputWidth = previous
            layers.append(layer)
            previous = layer.outputWidth
        }

        var metrics: [Metric] = loss.isClassification ? [.zeroOne] : []
        if let metricsNode = top["metrics"] {
            metrics = []
            for item in try reader.list(metricsNode, field: "metrics") {
                let text = try reader.string(item, field: "metric")
                guard let metric = Metric(name: text) else {
                    throw ProfileError.unknownName(
                        reader.location(item), field: "metric", value: text, valid: ["zero-one"],
                        suggestion: Suggestion.closest(to: text, in: ["zero-one"]))
                }
                metrics.append(metric)
            }
        }
        let precision = try top["precision"].map { try reader.precision($0) } ?? .single
        let batch = try top["batch"].map { try reader.count($0, field: "batch", minimum: 1) } ?? 1
        let epochs = try top["epochs"].map { try reader.count($0, field: "epochs", minimum: 1, maximum: maximumEpochs) } ?? 1
        let optimizer = try top["optimizer"].map { try reader.optimizer($0) } ?? Optimizer(kind: .sgd, learningRate: 0.05)
        let split = try top["split"].map { try reader.split($0) } ?? Split()
        let seed = try top["seed"].map { UInt64(try reader.count($0, field: "seed", minimum: 0)) } ?? 42
        let weightInit =
            try top["init"].map { node throws -> WeightInit in
                let text = try reader.string(node, field: "init")
                guard let value = WeightInit(rawValue: text.lowercased()) else {
                    let valid = WeightInit.allCases.map(\.rawValue)
                    throw ProfileError.unknownName(
                        reader.location(node), field: "init", value: text, valid: valid,
                        suggestion: Suggestion.closest(to: text, in: valid))
                }
                return value
            } ?? .auto
        let data = try top["data"].map {
            try reader.dataSource($0, inputWidth: inputWidth, outputWidth: outputUnits, loss: loss)
        }

        let lossScaling = try top["loss_scaling"].map { try reader.lossScaling($0) }
        do {
            var model = try Model(
                name: name, inputShape: inputShape, layers: layers, loss: loss, metrics: metrics, precision: precision,
                batchSize: batch, optimizer: optimizer, data: data, epochs: epochs, split: split, seed: seed,
                weightInit: weightInit)
            model.lossScaling = lossScaling
            try model.validate()
            return model
        } catch {
            // Point at the node the problem is about where we can tell.
            let location: SourceLocation
            switch error {
            case .lossNeedsClasses, .lossNeedsActivation: location = reader.location(outputNode)
            case .softmaxInHiddenLayer(let layer): location = reader.location(mark: specs[layer - 1].mark)
            case .fp16WithoutLossScaling: location = reader.location(top["loss_scaling"] ?? top.node)
            case .nothingTrains: location = reader.location(outputNode)
            default: location = reader.location(top.node)
            }
            throw ProfileError.invalidModel(location, error)
        }
    }
}

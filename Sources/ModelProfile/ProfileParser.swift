// YAML/JSON profile text → validated `Profile`. The only file that imports Yams.
//
// Profiles are read through Yams' node tree (not Codable) so that every error can name the
// line and column it comes from, and every unknown key can be reported with a suggestion.

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

    static let exactKeys = [
        "kind", "name", "description", "input", "hidden", "output", "loss", "metrics", "precision", "batch",
        "optimizer", "data", "epochs", "split", "seed", "init",
    ]
    static let boundKeys = ["kind", "name", "description", "parameters", "sample_bytes", "precision", "batch", "optimizer"]
    static let inputKeys = ["features", "shape"]
    static let layerKeys = ["units", "activation", "bias"]
    static let optimizerKeys = ["kind", "learning_rate"] + Hyperparameter.allKeys
    static let splitKeys = ["validation", "folds"]
    static let dataKeysBySource: [String: [String]] = [
        "fashion-mnist": ["source", "path", "labels", "positive", "groups"],
        "polynomial": ["source", "degree", "count", "test_count", "noise", "function", "seed"],
        "synthetic": ["source", "task", "count", "test_count", "noise", "seed"],
        "csv": ["source", "path", "targets", "header", "test_fraction"],
    ]

    /// Reads `path` and composes its YAML node tree.
    static func compose(path: String) throws -> (Node, NodeReader) {
        let text = try readText(path: path)
        return try compose(text: text, file: path, baseDirectory: (path as NSString).deletingLastPathComponent)
    }

    /// The deepest `[`/`{` nesting a profile may have; deeper flow collections would recurse
    /// through the YAML composer without bound.
    static let maximumNesting = 64

    /// Composes profile text into a node tree, after checking its nesting depth.
    static func compose(text: String, file: String, baseDirectory: String) throws -> (Node, NodeReader) {
        try checkNesting(text, file: file)
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

    static func readText(path: String) throws(ProfileError) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else { throw .unreadable(path: path, reason: "it is a directory, not a file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(path: path, reason: "permission denied or I/O error")
        }
        guard data.count <= maximumFileByteCount else {
            throw .unreadable(path: path, reason: "\(data.count) bytes is too large for a profile (limit \(maximumFileByteCount))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(path: path, reason: "not UTF-8 text")
        }
        return text
    }

    /// Loads and validates the profile at `path`.
    ///
    /// - Throws: `ProfileError` naming the file (and line, where there is one).
    public static func load(path: String) throws(ProfileError) -> Profile {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ProfileError.fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else { throw ProfileError.unreadable(path: path, reason: "it is a directory, not a file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProfileError.unreadable(path: path, reason: "permission denied or I/O error")
        }
        guard data.count <= maximumFileByteCount else {
            throw ProfileError.unreadable(path: path, reason: "\(data.count) bytes is too large for a profile (limit \(maximumFileByteCount))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ProfileError.unreadable(path: path, reason: "not UTF-8 text")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(text, file: path, baseDirectory: directory)
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
        let top = try reader.section(root, named: "the profile", allowed: exactKeys + boundKeys)
        let kind = try top["kind"].map { try reader.string($0, field: "kind") }
        switch kind?.lowercased() {
        case "bound":
            return .bound(try parseBound(top, reader: reader))
        case nil where top["parameters"] != nil && top["input"] == nil:
            return .bound(try parseBound(top, reader: reader))
        case nil, "exact", "model", "mlp":
            return .exact(try parseExact(top, reader: reader))
        case "machine":
            throw ProfileError.inconsistent(
                reader.location(top["kind"]!), "this is a machine profile; pass it as --machine \(file) and give a model profile first")
        case let other?:
            throw ProfileError.unknownName(
                reader.location(top["kind"]!), field: "kind", value: other, valid: ["exact", "bound"],
                suggestion: Suggestion.closest(to: other, in: ["exact", "bound"]))
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
        try reader.rejectUnknown(top, allowed: exactKeys)
        let name = try top["name"].map { try reader.string($0, field: "name") } ?? reader.defaultName

        let inputNode = try top.require("input", hint: "give the input features, e.g. input: {features: 784}")
        let inputShape = try reader.inputShape(inputNode)

        var specs: [(units: Int, activation: Activation, hasBias: Bool, mark: Mark?)] = []
        if let hidden = top["hidden"] {
            guard case .sequence(let sequence) = hidden else {
                throw ProfileError.wrongType(reader.location(hidden), field: "hidden", expected: "a list", got: reader.describe(hidden))
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
        specs.append((outputUnits, outputActivation, outputBias, outputNode.mark))

        var inputWidth = 1
        for dimension in inputShape {
            let (product, overflow) = inputWidth.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw ProfileError.invalidValue(reader.location(inputNode), field: "input shape", value: "\(inputShape)", reason: "too large")
            }
            inputWidth = product
        }
        var layers: [LayerSpec] = []
        var previous = inputWidth
        for spec in specs {
            layers.append(
                LayerSpec(inputWidth: previous, outputWidth: spec.units, activation: spec.activation, hasBias: spec.hasBias))
            previous = spec.units
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
        let epochs = try top["epochs"].map { try reader.count($0, field: "epochs", minimum: 1) } ?? 1
        let optimizer = try top["optimizer"].map { try reader.optimizer($0) } ?? Optimizer(kind: .sgd, learningRate: 0.05)
        let split = try top["split"].map { try reader.split($0) } ?? Split()
        let seed = try top["seed"].map { UInt64(try reader.count($0, field: "seed", minimum: 0)) } ?? 42
        let weightInit = try top["init"].map { node throws -> WeightInit in
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

        do {
            let model = try Model(
                name: name, inputShape: inputShape, layers: layers, loss: loss, metrics: metrics, precision: precision,
                batchSize: batch, optimizer: optimizer, data: data, epochs: epochs, split: split, seed: seed,
                weightInit: weightInit)
            return model
        } catch {
            // Point at the node the problem is about where we can tell.
            let location: SourceLocation
            switch error {
            case .lossNeedsClasses, .lossNeedsActivation: location = reader.location(outputNode)
            case .softmaxInHiddenLayer(let layer): location = reader.location(mark: specs[layer - 1].mark)
            default: location = reader.location(top.node)
            }
            throw ProfileError.invalidModel(location, error)
        }
    }
}

// MARK: - Reading nodes

/// Whether a plain scalar spells YAML's null (`~`, `null`, or nothing).
func isNullText(_ text: String) -> Bool {
    switch text {
    case "", "~", "null", "Null", "NULL": true
    default: false
    }
}

/// Whether a node is YAML's null written plainly (`units:`, `units: ~`): a field given no value.
func isNullNode(_ node: Node) -> Bool {
    if case .scalar(let scalar) = node, scalar.style == .plain, isNullText(scalar.string) { return true }
    return false
}

/// A mapping whose keys have been checked for duplicates, with each key's node kept for its line.
struct Section {
    let node: Node
    let baseName: String
    /// The position in a list (`hidden[3]`), kept apart so the name is only built for errors.
    let index: Int?
    let reader: NodeReader
    let keys: [(key: String, keyNode: Node, value: Node)]

    var name: String { index.map { "\(baseName)[\($0)]" } ?? baseName }

    subscript(key: String) -> Node? {
        keys.first(where: { $0.key == key })?.value
    }

    func require(_ key: String, hint: String) throws -> Node {
        guard let node = self[key] else {
            throw ProfileError.missingField(reader.location(node), field: key, section: name, hint: hint)
        }
        if isNullNode(node) {
            throw ProfileError.missingField(reader.location(node), field: key, section: name, hint: hint)
        }
        return node
    }
}

struct NodeReader {
    let file: String
    let baseDirectory: String

    var defaultName: String {
        let last = (file as NSString).lastPathComponent
        return (last as NSString).deletingPathExtension
    }

    func location(_ node: Node) -> SourceLocation {
        location(mark: node.mark)
    }

    func location(mark: Mark?) -> SourceLocation {
        SourceLocation(file: file, line: mark?.line, column: mark?.column)
    }

    /// One entry of `hidden:` — `{units, activation = relu, bias = true}` — read straight from
    /// its mapping. The same checks and messages as `section` + `require`, without building a
    /// `Section` per layer: a generated 100,000-layer profile spends its time here.
    func hiddenLayer(_ node: Node, index: Int) throws -> (units: Int, activation: Activation, hasBias: Bool, mark: Mark?) {
        guard case .mapping(let mapping) = node else {
            throw ProfileError.wrongType(location(node), field: "hidden[\(index)]", expected: "a mapping of keys to values", got: describe(node))
        }
        var units: Int?
        var activation = Activation.relu
        var hasBias = true
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else {
                throw ProfileError.wrongType(location(keyNode), field: "a key in hidden[\(index)]", expected: "a plain name", got: describe(keyNode))
            }
            switch key.string {
            case "units":
                if isNullNode(value) {
                    throw ProfileError.missingField(location(node), field: "units", section: "hidden[\(index)]", hint: Self.unitsHint)
                }
                units = try count(value, field: "units", minimum: 1)
            case "activation": activation = try self.activation(value)
            case "bias": hasBias = try bool(value, field: "bias")
            default:
                throw unknownKey(key.string, at: keyNode, section: "hidden[\(index)]", allowed: ProfileParser.layerKeys)
            }
        }
        guard let units else {
            throw ProfileError.missingField(location(node), field: "units", section: "hidden[\(index)]", hint: Self.unitsHint)
        }
        return (units, activation, hasBias, node.mark)
    }

    static let unitsHint = "give the layer's width, e.g. units: 256"

    /// How a node reads in an error message: `'text'`, `a mapping`, `a list`.
    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): scalar.string.isEmpty ? "nothing" : "'\(scalar.string.prefix(60))'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    func section(_ node: Node, named name: String, index: Int? = nil, allowed: [String]) throws -> Section {
        guard case .mapping(let mapping) = node else {
            throw ProfileError.wrongType(
                location(node), field: index.map { "\(name)[\($0)]" } ?? name, expected: "a mapping of keys to values",
                got: describe(node))
        }
        var keys: [(String, Node, Node)] = []
        keys.reserveCapacity(mapping.count)
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                throw ProfileError.wrongType(location(keyNode), field: "a key in \(name)", expected: "a plain name", got: describe(keyNode))
            }
            keys.append((scalar.string, keyNode, value))
        }
        let section = Section(node: node, baseName: name, index: index, reader: self, keys: keys)
        if name != "the profile" { try rejectUnknown(section, allowed: allowed) }
        return section
    }

    func rejectUnknown(_ section: Section, allowed: [String]) throws {
        for entry in section.keys where !allowed.contains(entry.key) {
            throw unknownKey(entry.key, at: entry.keyNode, section: section.name, allowed: allowed)
        }
    }

    /// The error for a key `allowed` does not list, with the closest valid key as a suggestion.
    func unknownKey(_ key: String, at keyNode: Node, section: String, allowed: [String]) -> ProfileError {
        .unknownKey(location(keyNode), key: key, section: section, suggestion: Suggestion.closest(to: key, in: allowed), valid: allowed)
    }

    func scalarText(_ node: Node, field: String, expected: String) throws -> String {
        guard case .scalar(let scalar) = node else {
            throw ProfileError.wrongType(location(node), field: field, expected: expected, got: describe(node))
        }
        let text = scalar.string
        guard !text.isEmpty, scalar.style != .plain || !isNullText(text) else {
            throw ProfileError.wrongType(location(node), field: field, expected: expected, got: "nothing")
        }
        return text
    }

    func string(_ node: Node, field: String) throws -> String {
        try scalarText(node, field: field, expected: "a name or text")
    }

    func list(_ node: Node, field: String) throws -> [Node] {
        guard case .sequence(let sequence) = node else {
            throw ProfileError.wrongType(location(node), field: field, expected: "a list", got: describe(node))
        }
        return Array(sequence)
    }

    /// A whole number ≥ `minimum`, exact (`300e9`, `1_000`), never trapping on overflow.
    func count(_ node: Node, field: String, minimum: Int) throws -> Int {
        let text = try scalarText(node, field: field, expected: "a whole number")
        let value: Int
        do {
            value = try Quantity.count(text)
        } catch {
            throw ProfileError.invalidValue(location(node), field: field, value: text, reason: Self.reason(error))
        }
        guard value >= minimum else {
            throw ProfileError.invalidValue(location(node), field: field, value: text, reason: "must be at least \(minimum)")
        }
        return value
    }

    func byteCount(_ node: Node, field: String) throws -> Int {
        let text = try scalarText(node, field: field, expected: "a byte size such as 1GB or 4096")
        do {
            return try Quantity.byteCount(text)
        } catch {
            throw ProfileError.invalidValue(location(node), field: field, value: text, reason: Self.reason(error))
        }
    }

    func real(_ node: Node, field: String) throws -> Double {
        let text = try scalarText(node, field: field, expected: "a number")
        do {
            return try Quantity.real(text)
        } catch {
            throw ProfileError.invalidValue(location(node), field: field, value: text, reason: "must be a finite number")
        }
    }

    func bool(_ node: Node, field: String) throws -> Bool {
        let text = try scalarText(node, field: field, expected: "true or false")
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw ProfileError.wrongType(location(node), field: field, expected: "true or false", got: "'\(text)'")
        }
    }

    static func reason(_ error: Quantity.ParseError) -> String {
        switch error {
        case .notANumber: "not a number"
        case .notWhole: "must be a whole number"
        case .negative: "must not be negative"
        case .tooLarge: "too large: memplan counts in 64-bit integers (at most \(Int.max), about 9.2e18)"
        case .unknownUnit(let unit):
            "unknown unit '\(unit)'; use B, kB, MB, GB, TB, PB (powers of 1000) or KiB, MiB, GiB, TiB, PiB (powers of 1024)"
        }
    }

    /// Reads a name and maps it with `parse`; `valid` is only evaluated for the error message.
    func named<T>(
        _ node: Node, field: String, valid: @autoclosure () -> [String], parse: (String) -> T?
    ) throws -> T {
        let text = try string(node, field: field)
        guard let value = parse(text) else {
            let names = valid()
            throw ProfileError.unknownName(
                location(node), field: field, value: text, valid: names,
                suggestion: Suggestion.closest(to: text, in: names))
        }
        return value
    }

    func activation(_ node: Node) throws -> Activation {
        try named(node, field: "activation", valid: Activation.allCases.map(\.rawValue), parse: Activation.init(name:))
    }

    func loss(_ node: Node) throws -> Loss {
        try named(node, field: "loss", valid: Loss.allCases.map(\.rawValue) + ["mse", "mae", "bce", "softmax-ce"], parse: Loss.init(name:))
    }

    func precision(_ node: Node) throws -> Precision {
        try named(node, field: "precision", valid: Precision.acceptedNames, parse: Precision.init(name:))
    }

    func optimizerKind(_ node: Node) throws -> OptimizerKind {
        try named(node, field: "optimizer", valid: OptimizerKind.acceptedNames, parse: OptimizerKind.init(name:))
    }

    func inputShape(_ node: Node) throws -> [Int] {
        if case .scalar = node {
            return [try count(node, field: "input", minimum: 0)]
        }
        let input = try section(node, named: "input", allowed: ProfileParser.inputKeys)
        if let shape = input["shape"] {
            if input["features"] != nil {
                throw ProfileError.inconsistent(location(node), "input has both 'features' and 'shape'; give one")
            }
            let dimensions = try list(shape, field: "shape")
            guard !dimensions.isEmpty else {
                throw ProfileError.invalidValue(location(shape), field: "shape", value: "[]", reason: "give at least one dimension")
            }
            return try dimensions.map { dimension throws in try count(dimension, field: "shape", minimum: 1) }
        }
        let features = try input.require("features", hint: "give the input width, e.g. features: 784, or shape: [28, 28]")
        return [try count(features, field: "features", minimum: 0)]
    }

    func optimizer(_ node: Node) throws -> Optimizer {
        if case .scalar = node {
            let kind = try optimizerKind(node)
            return Optimizer(kind: kind, learningRate: Optimizer.defaultLearningRate(for: kind))
        }
        let section = try section(node, named: "optimizer", allowed: ProfileParser.optimizerKeys)
        let kind = try section["kind"].map { try optimizerKind($0) } ?? .sgd
        var optimizer = Optimizer(kind: kind, learningRate: Optimizer.defaultLearningRate(for: kind))
        if let rate = section["learning_rate"] {
            optimizer.learningRate = try real(rate, field: "learning_rate")
            guard optimizer.learningRate > 0 else {
                throw ProfileError.invalidValue(location(rate), field: "learning_rate", value: "\(optimizer.learningRate)", reason: "must be positive")
            }
        }
        // Each kind reads its own hyper-parameters (`OptimizerKind.hyperparameters`); keys of other kinds are refused.
        for key in Hyperparameter.allKeys where section[key] != nil && !kind.hyperparameters.contains(where: { $0.key == key }) {
            let valid = ["kind", "learning_rate"] + kind.hyperparameters.map(\.key)
            throw ProfileError.invalidValue(
                location(section[key]!), field: key, value: key,
                reason: "\(kind.rawValue) has no \(key); its keys are \(valid.joined(separator: ", "))")
        }
        for parameter in kind.hyperparameters {
            guard let valueNode = section[parameter.key] else { continue }
            let value = try real(valueNode, field: parameter.key)
            guard value >= parameter.lower, value < parameter.upper else {
                throw ProfileError.invalidValue(
                    location(valueNode), field: parameter.key, value: "\(value)", reason: "must be in \(parameter.rangeText)")
            }
            optimizer[keyPath: parameter.keyPath] = value
        }
        return optimizer
    }

    func split(_ node: Node) throws -> Split {
        let section = try section(node, named: "split", allowed: ProfileParser.splitKeys)
        var split = Split()
        if let validation = section["validation"] {
            let value = try real(validation, field: "validation")
            guard value >= 0, value < 1 else {
                throw ProfileError.invalidValue(
                    location(validation), field: "validation", value: "\(value)",
                    reason: "is the fraction held out for validation; must be in [0, 1), e.g. 0.1")
            }
            split.validationFraction = value
        }
        if let folds = section["folds"] {
            split.folds = try count(folds, field: "folds", minimum: 2)
        }
        return split
    }

    func resolvePath(_ path: String) -> String {
        if path.hasPrefix("/") || baseDirectory.isEmpty || baseDirectory == "." { return path }
        return (baseDirectory as NSString).appendingPathComponent(path)
    }

    func classList(_ node: Node, field: String) throws -> [Int] {
        let items = try list(node, field: field)
        guard !items.isEmpty else {
            throw ProfileError.invalidValue(location(node), field: field, value: "[]", reason: "list at least one class (0–9)")
        }
        return try items.map { item throws -> Int in
            let value = try count(item, field: field, minimum: 0)
            guard value <= 9 else {
                throw ProfileError.invalidValue(location(item), field: field, value: "\(value)", reason: "Fashion-MNIST classes are 0–9")
            }
            return value
        }
    }

    func dataSource(_ node: Node, inputWidth: Int, outputWidth: Int, loss: Loss) throws -> DataSource {
        let sources = ["fashion-mnist", "polynomial", "synthetic", "csv"]
        let preliminary = try section(node, named: "data", allowed: Array(Set(ProfileParser.dataKeysBySource.values.joined())))
        let sourceNode = try preliminary.require("source", hint: "name the data source: \(sources.joined(separator: ", "))")
        let source = try named(sourceNode, field: "data source", valid: sources) { text in
            let lowered = text.lowercased()
            return lowered == "fashion_mnist" || lowered == "fashionmnist" ? "fashion-mnist" : (sources.contains(lowered) ? lowered : nil)
        }
        let data = try section(node, named: "data (\(source))", allowed: ProfileParser.dataKeysBySource[source]!)
        func countOr(_ key: String, _ fallback: Int, minimum: Int) throws -> Int {
            try data[key].map { try count($0, field: key, minimum: minimum) } ?? fallback
        }
        func noise() throws -> Double? {
            guard let noiseNode = data["noise"] else { return nil }
            let value = try real(noiseNode, field: "noise")
            guard value >= 0 else {
                throw ProfileError.invalidValue(location(noiseNode), field: "noise", value: "\(value)", reason: "is a standard deviation; must not be negative")
            }
            return value
        }
        switch source {
        case "fashion-mnist":
            let path = try data["path"].map { resolvePath(try string($0, field: "path")) } ?? DataSource.defaultFashionMNISTPath
            let labelsText = try data["labels"].map { try string($0, field: "labels").lowercased() } ?? "classes"
            let labels: LabelMapping
            switch labelsText {
            case "classes", "one-hot":
                labels = .classes
            case "binary":
                let positive = try data.require("positive", hint: "list the classes that count as 1, e.g. positive: [5, 7, 9]")
                labels = .binary(positive: try classList(positive, field: "positive"))
            case "groups":
                let groupsNode = try data.require("groups", hint: "list one class group per output, e.g. groups: [[0, 2], [5, 7, 9]]")
                labels = .groups(
                    try list(groupsNode, field: "groups").map { group throws in try classList(group, field: "groups") })
            default:
                let valid = ["classes", "binary", "groups"]
                throw ProfileError.unknownName(
                    location(data["labels"]!), field: "labels", value: labelsText, valid: valid,
                    suggestion: Suggestion.closest(to: labelsText, in: valid))
            }
            guard inputWidth == 784 else {
                throw ProfileError.inconsistent(location(node), "fashion-mnist images have 784 features (28×28), but the input has \(inputWidth)")
            }
            guard outputWidth == labels.targetCount else {
                throw ProfileError.inconsistent(
                    location(node),
                    "labels '\(labelsText)' give \(labels.targetCount) target(s) per image, but the output layer has \(outputWidth) unit(s)")
            }
            return .fashionMNIST(path: path, labels: labels)
        case "polynomial":
            let degree = try countOr("degree", inputWidth, minimum: 0)
            guard degree == inputWidth else {
                throw ProfileError.inconsistent(
                    location(node), "a degree-\(degree) polynomial has \(degree) features (x … x^\(degree)), but the input has \(inputWidth)")
            }
            guard outputWidth == 1 else {
                throw ProfileError.inconsistent(location(node), "polynomial data has one target, but the output layer has \(outputWidth) units")
            }
            let functionText = try data["function"].map { try string($0, field: "function").lowercased() } ?? "sine"
            guard let target = PolynomialTarget(rawValue: functionText) else {
                let valid = PolynomialTarget.allCases.map(\.rawValue)
                throw ProfileError.unknownName(
                    location(data["function"]!), field: "function", value: functionText, valid: valid,
                    suggestion: Suggestion.closest(to: functionText, in: valid))
            }
            return .polynomial(
                degree: degree, count: try countOr("count", 30, minimum: 1), testCount: try countOr("test_count", 200, minimum: 1),
                noise: try noise() ?? 0.3, target: target, seed: UInt64(try countOr("seed", 1, minimum: 0)))
        case "synthetic":
            let defaultTask: SyntheticTask
            switch loss {
            case .l1, .l2: defaultTask = .regression
            case .softmaxCrossEntropy: defaultTask = .classes
            case .binaryCrossEntropy, .hinge: defaultTask = outputWidth > 1 ? .multilabel : .binary
            }
            let task = try data["task"].map { taskNode throws -> SyntheticTask in
                try named(taskNode, field: "task", valid: SyntheticTask.allCases.map(\.rawValue), parse: SyntheticTask.init(rawValue:))
            } ?? defaultTask
            if task == .classes, outputWidth < 2 {
                throw ProfileError.inconsistent(location(node), "task 'classes' needs at least 2 output units, the output layer has \(outputWidth)")
            }
            return .synthetic(
                task: task, count: try countOr("count", 1000, minimum: 1), testCount: try countOr("test_count", 200, minimum: 1),
                noise: try noise() ?? 0.1, seed: UInt64(try countOr("seed", 7, minimum: 0)))
        default:  // csv
            let path = resolvePath(try string(try data.require("path", hint: "give the CSV file's path"), field: "path"))
            let targets = try countOr("targets", outputWidth, minimum: 1)
            guard targets == outputWidth else {
                throw ProfileError.inconsistent(location(node), "the CSV has \(targets) target column(s), but the output layer has \(outputWidth) unit(s)")
            }
            let header = try data["header"].map { try bool($0, field: "header") } ?? false
            var testFraction = 0.2
            if let fractionNode = data["test_fraction"] {
                testFraction = try real(fractionNode, field: "test_fraction")
                guard testFraction > 0, testFraction < 1 else {
                    throw ProfileError.invalidValue(location(fractionNode), field: "test_fraction", value: "\(testFraction)", reason: "must be in (0, 1)")
                }
            }
            return .csv(path: path, targetColumns: targets, hasHeader: header, testFraction: testFraction)
        }
    }
}

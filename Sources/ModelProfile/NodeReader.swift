// Reading YAML nodes with file, line and column in every error: sections, scalars, counts, names.

import FileAccess
import Foundation
import Yams

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
        file == ProfileParser.standardInputName ? "stdin" : PathText.deletingExtension(PathText.lastComponent(file))
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
    /// The layer's input width is set by the caller, from the layer before it.
    func hiddenLayer(_ node: Node, index: Int) throws -> (spec: LayerSpec, mark: Mark?) {
        guard case .mapping(let mapping) = node else {
            throw ProfileError.wrongType(
                location(node), field: "hidden[\(index)]", expected: "a mapping of keys to values", got: describe(node))
        }
        var units: Int?
        var activation = Activation.relu
        var hasBias = true
        var normalization: Normalization?
        var isFrozen = false
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else {
                throw ProfileError.wrongType(
                    location(keyNode), field: "a key in hidden[\(index)]", expected: "a plain name", got: describe(keyNode))
            }
            switch key.string {
            case "units":
                if isNullNode(value) {
                    throw ProfileError.missingField(
                        location(node), field: "units", section: "hidden[\(index)]", hint: Self.unitsHint)
                }
                units = try count(value, field: "units", minimum: 1)
            case "activation": activation = try self.activation(value)
            case "bias": hasBias = try bool(value, field: "bias")
            case "frozen": isFrozen = try bool(value, field: "frozen")
            case "norm":
                normalization = try named(
                    value, field: "norm", valid: Normalization.acceptedNames, parse: Normalization.init(name:))
            default:
                throw unknownKey(key.string, at: keyNode, section: "hidden[\(index)]", allowed: Self.hiddenLayerKeys)
            }
        }
        guard let units else {
            throw ProfileError.missingField(location(node), field: "units", section: "hidden[\(index)]", hint: Self.unitsHint)
        }
        let spec = LayerSpec(
            inputWidth: 0, outputWidth: units, activation: activation, hasBias: hasBias, normalization: normalization,
            isFrozen: isFrozen)
        return (spec, node.mark)
    }

    static let unitsHint = "give the layer's width, e.g. units: 256"

    /// Keys of a hidden layer: the output layer's, and the options of hidden layers only (`norm: layer`).
    static let hiddenLayerKeys = ProfileParser.layerKeys + ["norm"]

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
                throw ProfileError.wrongType(
                    location(keyNode), field: "a key in \(name)", expected: "a plain name", got: describe(keyNode))
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
        .unknownKey(
            location(keyNode), key: key, section: section, suggestion: Suggestion.closest(to: key, in: allowed), valid: allowed)
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

    /// A whole number from `minimum` to `maximum`, exact (`300e9`, `1_000`), never trapping on overflow.
    func count(_ node: Node, field: String, minimum: Int, maximum: Int = .max) throws -> Int {
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
        guard value <= maximum else {
            throw ProfileError.invalidValue(
                location(node), field: field, value: text, reason: "must be at most \(maximum.groupedDigits)")
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

    /// A share strictly between 0 and 1 (a held-out fraction), `fallback` when the node is absent.
    func fraction(_ node: Node?, field: String, fallback: Double) throws -> Double {
        guard let node else { return fallback }
        let value = try real(node, field: field)
        guard value > 0, value < 1 else {
            throw ProfileError.invalidValue(location(node), field: field, value: "\(value)", reason: "must be in (0, 1)")
        }
        return value
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
}

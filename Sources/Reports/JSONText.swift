// JSON with one key convention for every document: property names in snake_case, written by the encoder's
// strategy (no hand-written key lists), optionals that are absent written as null.

import Foundation

/// JSON text with sorted keys and pretty printing, ending in a newline; keys in snake_case.
public enum JSONText {
    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFinite.infinity, negativeInfinity: nonFinite.negativeInfinity, nan: nonFinite.nan)
        guard let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) else {
            preconditionFailure("JSONText.encode: \(T.self) failed to encode")
        }
        return text + "\n"
    }

    /// Decodes what `encode` wrote: snake_case keys back to property names (`peak_rss_growth_bytes` →
    /// `peakRSSGrowthBytes`: the words in `acronyms` are upper case, as Swift spells them).
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in
            let key = path.last!
            guard let intValue = key.intValue else { return AnyKey(stringValue: camelCase(key.stringValue)) }
            return AnyKey(intValue: intValue)
        }
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: nonFinite.infinity, negativeInfinity: nonFinite.negativeInfinity, nan: nonFinite.nan)
        return try decoder.decode(type, from: data)
    }

    /// How a non-finite Double is spelled in the JSON: the strings `encode` writes and `decode` reads back.
    static let nonFinite = (infinity: "inf", negativeInfinity: "-inf", nan: "nan")

    /// Words written in capitals inside property names.
    static let acronyms: Set<String> = ["rss", "numa", "cpu", "gemm", "blas", "html", "json", "id", "kv"]

    /// `peak_rss_growth_bytes` → `peakRSSGrowthBytes`; keys without an underscore are left alone (dictionary keys such
    /// as node numbers pass through).
    static func camelCase(_ key: String) -> String {
        let words = key.split(separator: "_", omittingEmptySubsequences: false)
        guard words.count > 1 else { return key }
        return String(words[0])
            + words.dropFirst().map { word in
                acronyms.contains(String(word)) ? word.uppercased() : word.prefix(1).uppercased() + word.dropFirst()
            }.joined()
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(stringValue: String) { self.stringValue = stringValue }
        init(intValue: Int) {
            stringValue = String(intValue)
            self.intValue = intValue
        }
    }
}

/// An optional that a document always writes: `null` when absent, so every key of a contract is present.
/// Reading a record written before the key existed gives nil.
@propertyWrapper
public struct Nullable<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// A `Nullable` whose key is missing (a record from before the key existed) reads as nil.
    public func decode<Value>(_ type: Nullable<Value>.Type, forKey key: Key) throws -> Nullable<Value> {
        try decodeIfPresent(type, forKey: key) ?? Nullable(wrappedValue: nil)
    }
}

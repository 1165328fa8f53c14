// Reading a training record or a capacity result back (`memplan report`): decoded, then every number checked
// against what a run or an analysis can produce, so a crafted or damaged file is refused with the field and the
// value, and the renderers only ever see numbers they can draw.

import Foundation

/// Why a file is not a document `memplan report` can render.
public enum ReportError: Error, Equatable, Sendable, CustomStringConvertible {
    case notJSON
    /// JSON, but neither a training record nor a capacity result.
    case unknownDocument
    /// A field is missing, of the wrong type, or out of range; `reason` says what is accepted.
    case invalid(field: String, reason: String)

    public var description: String {
        switch self {
        case .notJSON: "it is not valid JSON"
        case .unknownDocument:
            "it is JSON, but neither a training record (memplan train --record) nor a capacity result (memplan capacity --format json)"
        case .invalid(let field, let reason): "\(field): \(reason)"
        }
    }
}

/// A document read back from a file.
public enum ReadDocument: Sendable {
    case training(TrainingRecord)
    case capacity(CapacityReport)

    public func render(_ format: ReportFormat) -> String {
        switch self {
        case .training(let record): record.render(format)
        case .capacity(let report): report.render(format)
        }
    }
}

/// Reads records and capacity results.
///
///     let document = try ReportReader.read(data)
///     print(document.render(.markdown))
public enum ReportReader {
    /// The largest byte count or count a record may hold: 2⁶⁰ (1 EiB), far beyond any machine a run measured.
    public static let maximumRecordNumber = 1 << 60

    /// Decodes and checks a training record or a capacity result (told apart by their top-level keys).
    public static func read(_ data: Data) throws(ReportError) -> ReadDocument {
        guard let object = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) else {
            throw .notJSON
        }
        guard let top = object as? [String: Any] else { throw .unknownDocument }
        if top["predicted"] != nil, top["actual"] != nil {
            let record = try decode(TrainingRecord.self, from: data, object: top)
            try record.validate()
            return .training(record)
        }
        if top["machine"] != nil, top["results"] != nil {
            let report = try decode(CapacityReport.self, from: data, object: top)
            try report.validate()
            return .capacity(report)
        }
        throw .unknownDocument
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, object: Any) throws(ReportError) -> T {
        do {
            return try JSONText.decode(type, from: data)
        } catch let error as DecodingError {
            // The decoder names no field for a number past Int's range; the document does.
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty, let field = hugeNumber(in: object) {
                throw .invalid(field: field, reason: "a number past 2⁶³; a record holds whole numbers up to 2⁶⁰")
            }
            throw describe(error)
        } catch {
            throw .notJSON
        }
    }

    /// The path of the first number in `value` whose magnitude is 2⁶³ or more.
    static func hugeNumber(in value: Any, path: String = "") -> String? {
        switch value {
        case let object as [String: Any]:
            for key in object.keys.sorted() {
                if let found = hugeNumber(in: object[key]!, path: path.isEmpty ? key : path + "." + key) { return found }
            }
        case let array as [Any]:
            for (index, element) in array.enumerated() {
                if let found = hugeNumber(in: element, path: path + "[\(index)]") { return found }
            }
        case let number as NSNumber where !(value is String):
            if abs(number.doubleValue) >= 9_223_372_036_854_775_807.0 { return path }
        default:
            break
        }
        return nil
    }

    /// A decoding error as the field (in the file's snake_case) and what went wrong there.
    static func describe(_ error: DecodingError) -> ReportError {
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue, key.stringValue == String(index) || key.stringValue.hasPrefix("Index") {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + snakeCase(key.stringValue)
                }
            }
            return text.isEmpty ? "the document" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .invalid(field: path(context.codingPath + [key]), reason: "missing")
        case .valueNotFound(let type, let context):
            return .invalid(field: path(context.codingPath), reason: "is null, expected \(expected(type))")
        case .typeMismatch(let type, let context):
            return .invalid(field: path(context.codingPath), reason: "expected \(expected(type))")
        case .dataCorrupted(let context):
            return .invalid(
                field: path(context.codingPath),
                reason: "not a value a record holds (a number past 2⁶³, or text that is not a number)")
        @unknown default:
            return .notJSON
        }
    }

    static func expected(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: "a whole number"
        case is Double.Type: "a number"
        case is String.Type: "text"
        case is Bool.Type: "true or false"
        default: "a \(type)"
        }
    }

    /// `peakRSSGrowthBytes` → `peak_rss_growth_bytes`.
    static func snakeCase(_ key: String) -> String {
        let characters = Array(key)
        var result = ""
        for (index, character) in characters.enumerated() {
            if character.isUppercase, index > 0 {
                let previous = characters[index - 1]
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && next?.isLowercase == true) {
                    result += "_"
                }
            }
            result += character.lowercased()
        }
        return result
    }
}

/// Checks numbers field by field; the first out-of-range one is the error.
struct NumberCheck {
    let limit: Int

    func count(_ field: String, _ value: Int?, atMost maximum: Int? = nil, atLeast minimum: Int = 0) throws(ReportError) {
        guard let value else { return }
        let top = maximum ?? limit
        guard value >= minimum, value <= top else {
            throw .invalid(field: field, reason: "is \(value); a record holds \(minimum) to \(top) here")
        }
    }

    func real(_ field: String, _ value: Double?, in range: ClosedRange<Double>, what: String) throws(ReportError) {
        guard let value else { return }
        guard value.isFinite, range.contains(value) else {
            throw .invalid(field: field, reason: "is \(value); \(what)")
        }
    }

    func fraction(_ field: String, _ value: Double?) throws(ReportError) {
        try real(field, value, in: 0...1, what: "an accuracy is from 0 to 1")
    }

    func nonNegative(_ field: String, _ value: Double?) throws(ReportError) {
        try real(field, value, in: 0...1e18, what: "expected a finite number from 0 to 1e18")
    }

    func finite(_ field: String, _ value: Double?) throws(ReportError) {
        try real(field, value, in: -1e300...1e300, what: "expected a finite number")
    }
}

// A strict, small JSON reader (RFC 8259) for safetensors headers and index files. Hand-written rather than
// Foundation's JSONSerialization so that numbers keep their exact text (every integer is range-checked by
// the caller, never rounded through a Double), duplicate keys and deep nesting are refused, and errors
// carry the byte offset.

/// A JSON value.
///
/// Objects keep their keys in file order; numbers keep the literal text.
enum JSONValue {
    case object([JSONMember])
    case array([JSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// "an object", "a string"… for messages.
    var typeName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number(let text): "the number \(printable(text, limit: 24))"
        case .bool(let value): "\(value)"
        case .null: "null"
        }
    }

    /// The value of an integer literal (no fraction, no exponent) that fits in Int; nil otherwise.
    var integer: Int? {
        guard case .number(let text) = self, !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else { return nil }
        return Int(text)
    }

    /// The member named `key` of an object; nil for a missing member or a non-object.
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }
}

/// One member of an object.
struct JSONMember {
    var key: String
    var value: JSONValue
}

/// Where and why a JSON text is malformed; `offset` counts bytes from the start of the text.
struct JSONError: Error {
    var offset: Int
    var problem: String
}

/// Parses one JSON document; trailing whitespace (safetensors pads its header with spaces) is allowed.
struct JSONParser {
    /// Objects and arrays nest at most this deep.
    static let maximumDepth = 64

    private let bytes: [UInt8]
    private var position = 0

    static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected \(parser.describeNext()) after the value") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func error(_ problem: String) -> JSONError { JSONError(offset: position, problem: problem) }

    private func describeNext() -> String {
        guard position < bytes.count else { return "end of text" }
        let byte = bytes[position]
        return byte >= 0x20 && byte < 0x7F ? "'\(Character(UnicodeScalar(byte)))'" : "byte 0x" + String(byte, radix: 16)
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func value(depth: Int) throws(JSONError) -> JSONValue {
        skipWhitespace()
        guard position < bytes.count else { throw error("the text ends where a value should be") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected \(describeNext()) where a value should be")
        }
    }

    private mutating func literal(_ word: String, _ value: JSONValue) throws(JSONError) -> JSONValue {
        let utf8 = Array(word.utf8)
        guard bytes.count - position >= utf8.count, Array(bytes[position..<position + utf8.count]) == utf8 else {
            throw error("unexpected \(describeNext()) where a value should be")
        }
        position += utf8.count
        return value
    }

    private mutating func object(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw error("objects and arrays nested more than \(Self.maximumDepth) deep") }
        position += 1  // {
        var members: [JSONMember] = []
        var keys = Set<String>()
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error("expected a key in quotes, found \(describeNext())")
            }
            let keyOffset = position
            let key = try string()
            guard keys.insert(key).inserted else { throw JSONError(offset: keyOffset, problem: "duplicate key \(quoted(key))") }
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                throw error("expected ':' after a key, found \(describeNext())")
            }
            position += 1
            members.append(JSONMember(key: key, value: try value(depth: depth)))
            if try endsAfterEntry(closedBy: "}", inside: "an object") { return .object(members) }
        }
    }

    private mutating func array(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw error("objects and arrays nested more than \(Self.maximumDepth) deep") }
        position += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            elements.append(try value(depth: depth))
            if try endsAfterEntry(closedBy: "]", inside: "an array") { return .array(elements) }
        }
    }

    /// After an object's member or an array's element: consumes the ',' before the next one (false) or the closing
    /// `close` (true).
    private mutating func endsAfterEntry(closedBy close: Unicode.Scalar, inside what: String) throws(JSONError) -> Bool {
        skipWhitespace()
        guard position < bytes.count else { throw error("the text ends inside \(what)") }
        let byte = bytes[position]
        guard byte == UInt8(ascii: ",") || byte == UInt8(ascii: close) else {
            throw error("expected ',' or '\(close)' in \(what), found \(describeNext())")
        }
        position += 1
        return byte == UInt8(ascii: close)
    }

    /// The literal text of a number.
    ///
    /// Checked against JSON's grammar: `-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?`.
    private mutating func number() throws(JSONError) -> String {
        let start = position
        func digits(_ parser: inout JSONParser) -> Int {
            let from = parser.position
            while parser.position < parser.bytes.count,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.position])
            {
                parser.position += 1
            }
            return parser.position - from
        }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        let leadingZero = position < bytes.count && bytes[position] == UInt8(ascii: "0")
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw error("a number needs digits after '-'") }
        guard !(leadingZero && integerDigits > 1) else {
            throw JSONError(offset: start, problem: "a number may not have leading zeros")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw error("a number needs digits after '.'") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard digits(&self) > 0 else { throw error("a number needs digits in its exponent") }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// A string's value, from the opening quote at `position`.
    ///
    /// Escapes are decoded; the result must be valid UTF-8.
    private mutating func string() throws(JSONError) -> String {
        let start = position
        position += 1
        var utf8: [UInt8] = []
        while true {
            guard position < bytes.count else { throw JSONError(offset: start, problem: "a string is not closed") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                break
            }
            if byte < 0x20 { throw error("a control character (0x\(String(byte, radix: 16))) inside a string must be escaped") }
            if byte != UInt8(ascii: "\\") {
                utf8.append(byte)
                position += 1
                continue
            }
            position += 1
            guard position < bytes.count else { throw JSONError(offset: start, problem: "a string is not closed") }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                        bytes[position + 1] == UInt8(ascii: "u")
                    else {
                        throw error("an unpaired UTF-16 surrogate in a \\u escape")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("an unpaired UTF-16 surrogate in a \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw error("an unpaired UTF-16 surrogate in a \\u escape")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw error("\\u escape of an invalid code point") }
                utf8.append(contentsOf: String(Character(unicode)).utf8)
            default:
                position -= 1
                throw error("unknown escape after a backslash: \(describeNext())")
            }
        }
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw JSONError(offset: start, problem: "a string is not valid UTF-8")
        }
        return text
    }

    private mutating func hex4() throws(JSONError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw error("a \\u escape needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("a \\u escape needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }
}

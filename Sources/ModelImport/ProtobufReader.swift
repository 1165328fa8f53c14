// The protobuf wire format, as much as ONNX needs: a field key (number << 3 | wire type), then a varint,
// a fixed 32/64-bit value or a length-delimited range. Every length is checked against the enclosing
// message before it is used; unknown fields of every wire type are skipped; groups are refused.

/// A protobuf wire type.
enum WireType: UInt64 {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
}

/// Reads the fields of one message: `bytes[position..<end]`.
struct ProtobufReader {
    /// Largest field number protobuf allows (2²⁹ − 1).
    static let maximumFieldNumber: UInt64 = (1 << 29) - 1

    let bytes: UnsafeRawBufferPointer
    let end: Int
    /// The message being read ("GraphProto"), for errors.
    let message: String
    let path: String
    private(set) var position: Int
    /// Where the current field's key starts: errors about a field point there.
    private(set) var fieldStart: Int

    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>, message: String, path: String) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.fieldStart = range.lowerBound
        self.end = range.upperBound
        self.message = message
        self.path = path
    }

    var isAtEnd: Bool { position >= end }

    func error(_ problem: String, at offset: Int? = nil) -> ImportError {
        .malformedProtobuf(path: path, offset: offset ?? position, message: message, problem: problem)
    }

    /// A reader for a nested message in `range` (from `lengthDelimited()`).
    func nested(_ range: Range<Int>, message: String) -> ProtobufReader {
        ProtobufReader(bytes, range: range, message: message, path: path)
    }

    /// The next field's number and wire type.
    ///
    /// Refuses field 0, numbers past 2²⁹ − 1, groups and wire types 6 and 7.
    mutating func field() throws(ImportError) -> (number: Int, wire: WireType) {
        let start = position
        fieldStart = start
        let key = try varint()
        let number = key >> 3
        guard number >= 1, number <= Self.maximumFieldNumber else {
            throw error("field number \(number) is out of range", at: start)
        }
        guard let wire = WireType(rawValue: key & 7) else { throw error("wire type \(key & 7) does not exist", at: start) }
        guard wire != .startGroup, wire != .endGroup else {
            throw error("field \(number) is a group (wire type \(wire.rawValue)), which ONNX never uses", at: start)
        }
        return (Int(number), wire)
    }

    /// A base-128 varint of at most 10 bytes whose value fits in 64 bits.
    mutating func varint() throws(ImportError) -> UInt64 {
        let start = position
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw error("the message ends inside a varint", at: start) }
            let byte = bytes[position]
            position += 1
            if shift == 63 {  // the tenth byte: it must end the varint and hold only the 64th bit
                guard byte & 0x80 == 0 else { throw error("a varint is longer than 10 bytes", at: start) }
                guard byte <= 1 else { throw error("a varint overflows 64 bits", at: start) }
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// A varint read as a two's-complement int64 (protobuf's `int64`, and `int32`, which is sign-extended).
    mutating func int64() throws(ImportError) -> Int { Int(Int64(bitPattern: try varint())) }

    /// A length-delimited field's byte range, checked to lie inside this message.
    mutating func lengthDelimited() throws(ImportError) -> Range<Int> {
        let start = fieldStart
        let length = try varint()
        guard length <= UInt64(end - position) else {
            throw error("a length of \(length) bytes runs past the end of the message (\(end - position) bytes left)", at: start)
        }
        let range = position..<position + Int(length)
        position = range.upperBound
        return range
    }

    /// A length-delimited field as text (invalid UTF-8 is replaced, as names are only compared and printed).
    mutating func string(limit: Int = 1 << 16) throws(ImportError) -> String {
        let range = try lengthDelimited()
        guard range.count <= limit else {
            throw error("a string of \(range.count) bytes (names are at most \(limit))", at: range.lowerBound)
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    mutating func fixed32() throws(ImportError) -> UInt32 {
        guard end - position >= 4 else { throw error("the message ends inside a 4-byte value", at: fieldStart) }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[position + index]) << (8 * UInt32(index)) }
        position += 4
        return value
    }

    /// Skips a field's value of any wire type.
    mutating func skip(_ wire: WireType) throws(ImportError) {
        switch wire {
        case .varint: _ = try varint()
        case .fixed32: _ = try fixed32()
        case .fixed64:
            guard end - position >= 8 else { throw error("the message ends inside an 8-byte value", at: fieldStart) }
            position += 8
        case .lengthDelimited: _ = try lengthDelimited()
        case .startGroup, .endGroup: throw error("a group, which ONNX never uses")  // refused by field() already
        }
    }

    /// Appends a repeated int64 field's values, written either packed (one length-delimited run) or one per key.
    mutating func appendInt64s(_ wire: WireType, to values: inout [Int], limit: Int, what: String) throws(ImportError) {
        switch wire {
        case .varint:
            guard values.count < limit else { throw .countLimit(path: path, what: what, limit: limit) }
            values.append(try int64())
        case .lengthDelimited:
            var packed = nested(try lengthDelimited(), message: message)
            while !packed.isAtEnd {
                guard values.count < limit else { throw .countLimit(path: path, what: what, limit: limit) }
                values.append(try packed.int64())
            }
        default:
            throw error("\(what) has wire type \(wire.rawValue); expected a varint or a packed run", at: fieldStart)
        }
    }

    /// Checks that a list of `count` entries may take one more: `count < limit` (a list past it marks a corrupt file).
    func expectRoom(_ count: Int, limit: Int, for what: String) throws(ImportError) {
        guard count < limit else { throw .countLimit(path: path, what: what, limit: limit) }
    }

    /// Checks that a field has the wire type its declaration says.
    func expect(_ wire: WireType, _ expected: WireType, field: String) throws(ImportError) {
        guard wire == expected else {
            throw error("\(field) has wire type \(wire.rawValue), expected \(expected.rawValue)", at: fieldStart)
        }
    }
}

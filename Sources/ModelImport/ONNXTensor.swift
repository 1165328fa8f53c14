// ONNX tensors (initializers and attribute values) and node attributes. A tensor's data is never read,
// except the few values of a small integer tensor (a shape for Reshape or ConstantOfShape, axes).

/// A TensorProto: its name, type and shape, and the values of small integer tensors.
public struct ONNXTensor: Sendable, Hashable {
    /// Integer tensors up to this many elements have their values decoded.
    public static let maximumDecodedValues = 1024

    public var name: String
    public var dtype: TensorDType
    public var dims: [Int]
    public var elementCount: Int
    public var byteCount: Int
    /// Data stored in another file (`data_location = EXTERNAL` or `external_data` entries).
    public var isExternal: Bool
    /// The values of an integer tensor of at most `maximumDecodedValues` elements stored in the file; else nil.
    public var integerValues: [Int]?

    init(
        name: String, dtype: TensorDType, dims: [Int], elementCount: Int, byteCount: Int, isExternal: Bool, integerValues: [Int]?
    ) {
        self.name = name
        self.dtype = dtype
        self.dims = dims
        self.elementCount = elementCount
        self.byteCount = byteCount
        self.isExternal = isExternal
        self.integerValues = integerValues
    }

    /// Reads a TensorProto; `context` ("initializer", "attribute 'value'") names it in errors.
    init(_ reader: inout ProtobufReader, context: String) throws(ImportError) {
        let path = reader.path
        var name = ""
        var code = 0
        var dims: [Int] = []
        var rawData: Range<Int>?
        var listed: [Int] = []  // int32_data or int64_data, while short
        var listedCount = 0
        var isExternal = false
        while !reader.isAtEnd {
            let (number, wire) = try reader.field()
            switch (number, wire) {
            case (1, _): try reader.appendInt64s(wire, to: &dims, limit: ONNXModel.maximumRank, what: "dims of a tensor")
            case (2, .varint): code = try reader.int64()
            case (5, .varint), (7, .varint):
                listedCount += 1
                let value = try reader.int64()
                if listedCount <= Self.maximumDecodedValues { listed.append(value) }
            case (5, .lengthDelimited), (7, .lengthDelimited):
                var packed = reader.nested(try reader.lengthDelimited(), message: "TensorProto")
                while !packed.isAtEnd {
                    listedCount += 1
                    let value = try packed.int64()
                    if listedCount <= Self.maximumDecodedValues { listed.append(value) }
                }
            case (8, .lengthDelimited): name = try reader.string()
            case (9, .lengthDelimited): rawData = try reader.lengthDelimited()
            case (13, .lengthDelimited):
                isExternal = true
                try reader.skip(wire)
            case (14, .varint): isExternal = try reader.int64() == 1 || isExternal
            default: try reader.skip(wire)
            }
        }
        let label = "\(context) \(quoted(name))"
        if let negative = dims.first(where: { $0 < 0 }) {
            throw .invalidValue(path: path, field: "\(label) dims", value: "\(negative)", reason: "dimensions are 0 or more")
        }
        guard let dtype = TensorDType(onnxCode: code) else {
            throw .invalidValue(
                path: path, field: "\(label) data_type", value: "\(code)",
                reason: "not a TensorProto.DataType memplan knows (1…26)")
        }
        guard let elements = checkedElementCount(dims), let bytes = dtype.byteCount(elements: elements) else {
            throw .sizeOverflow(path: path, tensor: name, shape: dims)
        }
        if let rawData, rawData.count != bytes, dtype != .string {
            throw .invalidValue(
                path: path, field: "\(label) raw_data", value: "\(rawData.count) bytes",
                reason: "its dims and data type need \(bytes) bytes")
        }
        self.name = name
        self.dtype = dtype
        self.dims = dims
        self.elementCount = elements
        self.byteCount = bytes
        self.isExternal = isExternal
        if dtype.isInteger, elements <= Self.maximumDecodedValues {
            if let rawData, dtype.bitsPerElement >= 8 {
                integerValues = Self.littleEndianIntegers(reader.bytes, rawData, dtype: dtype)
            } else if listedCount == elements {
                integerValues = listed
            }
        }
    }

    /// The values of a raw_data range of `dtype` (8, 16, 32 or 64 bits per element, little-endian).
    private static func littleEndianIntegers(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, dtype: TensorDType) -> [Int] {
        let width = dtype.bitsPerElement / 8
        let signed = ![TensorDType.uint8, .uint16, .uint32, .uint64, .bool].contains(dtype)
        return stride(from: range.lowerBound, to: range.upperBound, by: width).map { start in
            var value: UInt64 = 0
            for index in 0..<width { value |= UInt64(bytes[start + index]) << (8 * UInt64(index)) }
            if signed, width < 8, value >> (8 * width - 1) & 1 == 1 { value |= ~0 << (8 * UInt64(width)) }  // sign-extend
            return Int(truncatingIfNeeded: value)
        }
    }
}

/// A node attribute, with the value kinds memplan's shape inference reads.
public struct ONNXAttribute: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case float(Float)
        case int(Int)
        case string(String)
        case tensor(ONNXTensor)
        case ints([Int])
        /// Any other kind (floats, strings, graphs, …): present but not read.
        case other(type: Int)
    }

    public var name: String
    public var value: Value

    public var int: Int? { if case .int(let value) = value { value } else { nil } }
    public var ints: [Int]? { if case .ints(let value) = value { value } else { nil } }
    public var string: String? { if case .string(let value) = value { value } else { nil } }
    public var tensor: ONNXTensor? { if case .tensor(let value) = value { value } else { nil } }

    init(_ reader: inout ProtobufReader) throws(ImportError) {
        var name = ""
        var type = 0
        var float: Float?
        var int: Int?
        var string: String?
        var tensor: ONNXTensor?
        var ints: [Int] = []
        while !reader.isAtEnd {
            let (number, wire) = try reader.field()
            switch (number, wire) {
            case (1, .lengthDelimited): name = try reader.string()
            case (2, .fixed32): float = Float(bitPattern: try reader.fixed32())
            case (3, .varint): int = try reader.int64()
            case (4, .lengthDelimited): string = try reader.string()
            case (5, .lengthDelimited):
                var nested = reader.nested(try reader.lengthDelimited(), message: "TensorProto")
                tensor = try ONNXTensor(&nested, context: "attribute \(quoted(name))")
            case (8, _):
                try reader.appendInt64s(wire, to: &ints, limit: ONNXModel.maximumPerNode, what: "values of an ints attribute")
            case (20, .varint): type = try reader.int64()
            default: try reader.skip(wire)
            }
        }
        self.name = name
        // AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, INTS 7; IR version 1 files have no
        // type, and one field set.
        switch type {
        case 1: value = float.map { .float($0) } ?? .other(type: type)
        case 2: value = int.map { .int($0) } ?? .other(type: type)
        case 3: value = string.map { .string($0) } ?? .other(type: type)
        case 4: value = tensor.map { .tensor($0) } ?? .other(type: type)
        case 7: value = .ints(ints)
        case 0:
            if let tensor {
                value = .tensor(tensor)
            } else if !ints.isEmpty {
                value = .ints(ints)
            } else if let string {
                value = .string(string)
            } else if let int {
                value = .int(int)
            } else if let float {
                value = .float(float)
            } else {
                value = .other(type: 0)
            }
        default: value = .other(type: type)
        }
    }
}

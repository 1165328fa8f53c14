// A tiny protobuf writer, and ONNX builders on top of it, so the tests make their own .onnx files.
// Field numbers are onnx.proto's (see Sources/ModelImport/ONNXModel.swift).

/// One message being written: fields appended in order.
struct Proto {
    var bytes: [UInt8] = []

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        repeat {
            bytes.append(UInt8(value & 0x7F) | (value >= 0x80 ? 0x80 : 0))
            value >>= 7
        } while value != 0
        return bytes
    }

    static func key(_ field: Int, _ wire: Int) -> [UInt8] { varint(UInt64(field << 3 | wire)) }

    /// A varint field (negative values as 10-byte two's complement, as protobuf writes int64).
    func int(_ field: Int, _ value: Int) -> Proto {
        Proto(bytes: bytes + Self.key(field, 0) + Self.varint(UInt64(bitPattern: Int64(value))))
    }

    func data(_ field: Int, _ data: [UInt8]) -> Proto {
        Proto(bytes: bytes + Self.key(field, 2) + Self.varint(UInt64(data.count)) + data)
    }

    func string(_ field: Int, _ text: String) -> Proto { data(field, Array(text.utf8)) }
    func message(_ field: Int, _ message: Proto) -> Proto { data(field, message.bytes) }
    func packed(_ field: Int, _ values: [Int]) -> Proto {
        data(field, values.flatMap { Self.varint(UInt64(bitPattern: Int64($0))) })
    }
    func fixed32(_ field: Int, _ value: UInt32) -> Proto {
        Proto(bytes: bytes + Self.key(field, 5) + (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) })
    }
    func fixed64(_ field: Int, _ value: UInt64) -> Proto {
        Proto(bytes: bytes + Self.key(field, 1) + (0..<8).map { UInt8(value >> (8 * $0) & 0xFF) })
    }
    func raw(_ extra: [UInt8]) -> Proto { Proto(bytes: bytes + extra) }
}

// MARK: - ONNX

/// ONNX TensorProto.DataType codes used by the tests.
enum ONNXType {
    static let float = 1, uint8 = 2, int32 = 6, int64 = 7, bool = 9, float16 = 10, double = 11
}

/// A TensorProto: dims, data type, name; values as int64_data (packed), or raw bytes.
func tensorProto(_ name: String, _ dataType: Int, _ dims: [Int], int64s: [Int]? = nil, raw: [UInt8]? = nil) -> Proto {
    var proto = Proto()
    for dimension in dims { proto = proto.int(1, dimension) }
    proto = proto.int(2, dataType)
    if let int64s { proto = proto.packed(7, int64s) }
    proto = proto.string(8, name)
    if let raw { proto = proto.data(9, raw) }
    return proto
}

/// An int64 initializer holding `values` (a shape, axes…), stored as raw little-endian bytes.
func int64Initializer(_ name: String, _ values: [Int]) -> Proto {
    tensorProto(
        name, ONNXType.int64, [values.count],
        raw: values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } })
}

/// Attributes (AttributeProto: name 1, f 2, i 3, s 4, t 5, ints 8, type 20).
enum Attribute {
    static func int(_ name: String, _ value: Int) -> Proto { Proto().string(1, name).int(3, value).int(20, 2) }
    static func float(_ name: String, _ value: Float) -> Proto { Proto().string(1, name).fixed32(2, value.bitPattern).int(20, 1) }
    static func string(_ name: String, _ value: String) -> Proto { Proto().string(1, name).string(4, value).int(20, 3) }
    static func tensor(_ name: String, _ value: Proto) -> Proto { Proto().string(1, name).message(5, value).int(20, 4) }
    static func ints(_ name: String, _ values: [Int], packed: Bool = false) -> Proto {
        var proto = Proto().string(1, name)
        if packed {
            proto = proto.packed(8, values)
        } else {
            for value in values { proto = proto.int(8, value) }
        }
        return proto.int(20, 7)
    }
}

/// A NodeProto (input 1, output 2, name 3, op_type 4, attribute 5, domain 7).
func node(
    _ opType: String, _ inputs: [String], _ outputs: [String], name: String = "", domain: String? = nil,
    _ attributes: [Proto] = []
) -> Proto {
    var proto = Proto()
    for input in inputs { proto = proto.string(1, input) }
    for output in outputs { proto = proto.string(2, output) }
    if !name.isEmpty { proto = proto.string(3, name) }
    proto = proto.string(4, opType)
    for attribute in attributes { proto = proto.message(5, attribute) }
    if let domain { proto = proto.string(7, domain) }
    return proto
}

/// A dimension of a declared shape: a number, or a symbolic name.
enum Dim: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    case value(Int), param(String)
    /// A Dimension message with neither field set.
    case unknown
    init(integerLiteral value: Int) { self = .value(value) }
    init(stringLiteral value: String) { self = .param(value) }
}

/// A ValueInfoProto for a tensor (name 1, type 2 → tensor_type 1 → elem_type 1, shape 2 → dim 1 → value 1 / param 2).
func valueInfo(_ name: String, _ dims: [Dim]?, elementType: Int = ONNXType.float) -> Proto {
    var tensor = Proto().int(1, elementType)
    if let dims {
        var shape = Proto()
        for dim in dims {
            switch dim {
            case .value(let value): shape = shape.message(1, Proto().int(1, value))
            case .param(let name): shape = shape.message(1, Proto().string(2, name))
            case .unknown: shape = shape.message(1, Proto())
            }
        }
        tensor = tensor.message(2, shape)
    }
    return Proto().string(1, name).message(2, Proto().message(1, tensor))
}

/// A GraphProto (node 1, name 2, initializer 5, input 11, output 12, value_info 13).
func graphProto(
    nodes: [Proto], initializers: [Proto] = [], inputs: [Proto], outputs: [Proto], valueInfo: [Proto] = [], name: String = "test"
) -> Proto {
    var proto = Proto()
    for node in nodes { proto = proto.message(1, node) }
    proto = proto.string(2, name)
    for initializer in initializers { proto = proto.message(5, initializer) }
    for input in inputs { proto = proto.message(11, input) }
    for output in outputs { proto = proto.message(12, output) }
    for info in valueInfo { proto = proto.message(13, info) }
    return proto
}

/// A ModelProto (ir_version 1, graph 7, opset_import 8) as file bytes.
func modelBytes(_ graph: Proto, opset: Int = 13, irVersion: Int = 8) -> [UInt8] {
    Proto().int(1, irVersion).string(2, "memplan-tests").message(7, graph).message(8, Proto().string(1, "").int(2, opset)).bytes
}

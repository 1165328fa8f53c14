// An ONNX model as memplan reads it: the graph's nodes, initializers (sizes only, never their data) and
// declared inputs and outputs. Field numbers are onnx/onnx's onnx.proto (proto2):
//   ModelProto        ir_version = 1, graph = 7, opset_import = 8
//   OperatorSetIdProto domain = 1, version = 2
//   GraphProto        node = 1, name = 2, initializer = 5, input = 11, output = 12, value_info = 13
//   NodeProto         input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7
//   AttributeProto    name = 1, f = 2, i = 3, s = 4, t = 5, ints = 8, type = 20
//   TensorProto       dims = 1, data_type = 2, int32_data = 5, int64_data = 7, name = 8, raw_data = 9,
//                     external_data = 13, data_location = 14 (float_data = 4 and the rest are skipped)
//   ValueInfoProto    name = 1, type = 2 → TypeProto tensor_type = 1 → elem_type = 1, shape = 2
//                     → TensorShapeProto dim = 1 → dim_value = 1, dim_param = 2

/// An ONNX model's graph, without weight values.
///
///     let model = try ONNXModel.read(path: "resnet50.onnx")
///     model.weights().parameterCount                        // 25_557_032
///     try model.estimateActivations(batchSize: 32).totalBytes
public struct ONNXModel: Sendable {
    /// Most nodes, initializers or graph inputs/outputs/value infos (each) memplan reads from one graph.
    public static let maximumListCount = 1_000_000
    /// Most dimensions a tensor may have.
    public static let maximumRank = 64
    /// Most inputs, outputs or attributes of one node, and most values of one `ints` attribute.
    public static let maximumPerNode = 1 << 16

    public var path: String
    public var irVersion: Int
    public var opsetImports: [ONNXOpset]
    public var graph: ONNXGraph

    /// The default ("" or "ai.onnx") domain's opset version; nil when the model imports none.
    public var opsetVersion: Int? {
        opsetImports.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }?.version
    }

    /// Reads the model at `path` (mapped, so initializer data is skipped without being read from disk).
    public static func read(path: String) throws(ImportError) -> ONNXModel {
        let file = try ModelFile(path: path)
        return try file.withMappedBytes { bytes throws(ImportError) in try parse(bytes, path: path) }
    }

    /// Decodes a serialized ModelProto.
    ///
    /// - Throws: `ImportError.malformedProtobuf` for broken wire format (a varint over 10 bytes, a length past
    ///   its message, a group), `.countLimit` past the limits above, `.invalidValue` for a negative dimension,
    ///   an unknown data type, raw data of the wrong size or a model without a graph.
    public static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws(ImportError) -> ONNXModel {
        var reader = ProtobufReader(bytes, range: 0..<bytes.count, message: "ModelProto", path: path)
        var model = ONNXModel(path: path, irVersion: 0, opsetImports: [], graph: ONNXGraph())
        var sawGraph = false
        while !reader.isAtEnd {
            let (number, wire) = try reader.field()
            switch number {
            case 1:
                try reader.expect(wire, .varint, field: "ir_version")
                model.irVersion = try reader.int64()
            case 7:
                try reader.expect(wire, .lengthDelimited, field: "graph")
                var graph = reader.nested(try reader.lengthDelimited(), message: "GraphProto")
                try model.graph.decode(&graph)
                sawGraph = true
            case 8:
                try reader.expect(wire, .lengthDelimited, field: "opset_import")
                guard model.opsetImports.count < 1024 else { throw .countLimit(path: path, what: "opset imports", limit: 1024) }
                var opset = reader.nested(try reader.lengthDelimited(), message: "OperatorSetIdProto")
                model.opsetImports.append(try ONNXOpset(&opset))
            default:
                try reader.skip(wire)
            }
        }
        guard sawGraph else {
            throw .invalidValue(
                path: path, field: "ModelProto.graph", value: "absent", reason: "an ONNX model has a graph (field 7)")
        }
        return model
    }

    /// Decodes a serialized ModelProto held in an array.
    public static func parse(_ bytes: [UInt8], path: String) throws(ImportError) -> ONNXModel {
        try bytes.withUnsafeBytes { buffer in Result { () throws(ImportError) in try parse(buffer, path: path) } }.get()
    }
}

/// One `opset_import`: the operator set version the graph's nodes of `domain` follow.
public struct ONNXOpset: Sendable, Hashable {
    public var domain: String
    public var version: Int

    init(_ reader: inout ProtobufReader) throws(ImportError) {
        domain = ""
        version = 0
        while !reader.isAtEnd {
            let (number, wire) = try reader.field()
            switch (number, wire) {
            case (1, .lengthDelimited): domain = try reader.string()
            case (2, .varint): version = try reader.int64()
            default: try reader.skip(wire)
            }
        }
    }
}

/// The graph: nodes in topological order, initializers, and the declared inputs, outputs and value infos.
public struct ONNXGraph: Sendable {
    public var name = ""
    public var nodes: [ONNXNode] = []
    public var initializers: [ONNXTensor] = []
    public var inputs: [ONNXValueInfo] = []
    public var outputs: [ONNXValueInfo] = []
    public var valueInfo: [ONNXValueInfo] = []

    mutating func decode(_ reader: inout ProtobufReader) throws(ImportError) {
        func check(_ count: Int, _ what: String) throws(ImportError) {
            try reader.expectRoom(count, limit: ONNXModel.maximumListCount, for: what)
        }
        while !reader.isAtEnd {
            let (number, wire) = try reader.field()
            switch number {
            case 1, 5, 11, 12, 13:
                try reader.expect(wire, .lengthDelimited, field: "GraphProto field \(number)")
                let range = try reader.lengthDelimited()
                switch number {
                case 1:
                    try check(nodes.count, "nodes")
                    var node = reader.nested(range, message: "NodeProto")
                    nodes.append(try ONNXNode(&node))
                case 5:
                    try check(initializers.count, "initializers")
                    var tensor = reader.nested(range, message: "TensorProto")
                    initializers.append(try ONNXTensor(&tensor, context: "initializer"))
                default:
                    var info = reader.nested(range, message: "ValueInfoProto")
                    let value = try ONNXValueInfo(&info)
                    if number == 11 {
                        try check(inputs.count, "graph inputs")
                        inputs.append(value)
                    } else if number == 12 {
                        try check(outputs.count, "graph outputs")
                        outputs.append(value)
                    } else {
                        try check(valueInfo.count, "value infos")
                        valueInfo.append(value)
                    }
                }
            case 2:
                try reader.expect(wire, .lengthDelimited, field: "GraphProto.name")
                name = try reader.string()
            default:
                try reader.skip(wire)
            }
        }
    }
}

/// One node: an operator applied to named inputs, producing named outputs.
public struct ONNXNode: Sendable {
    public var name = ""
    public var opType = ""
    public var domain = ""
    /// Input names; "" marks an omitted optional input.
    public var inputs: [String] = []
    public var outputs: [String] = []
    public var attributes: [ONNXAttribute] = []

    /// The attribute named `name`, if the node has it.
    public func attribute(_ name: String) -> ONNXAttribute? { attributes.first { $0.name == name } }

    /// The node's name, or its first output's when it has none (exporters often leave names out).
    public var displayName: String { name.isEmpty ? (outputs.first ?? "") : name }

    init(_ reader: inout ProtobufReader) throws(ImportError) {
        func check(_ count: Int, _ what: String) throws(ImportError) {
            try reader.expectRoom(count, limit: ONNXModel.maximumPerNode, for: what)
        }
        while !reader.isAtEnd {
            let (number, wire) = try reader.field()
            switch number {
            case 1, 2, 3, 4, 7:
                try reader.expect(wire, .lengthDelimited, field: "NodeProto field \(number)")
                let text = try reader.string()
                switch number {
                case 1:
                    try check(inputs.count, "inputs of one node")
                    inputs.append(text)
                case 2:
                    try check(outputs.count, "outputs of one node")
                    outputs.append(text)
                case 3: name = text
                case 4: opType = text
                default: domain = text
                }
            case 5:
                try reader.expect(wire, .lengthDelimited, field: "NodeProto.attribute")
                try check(attributes.count, "attributes of one node")
                var attribute = reader.nested(try reader.lengthDelimited(), message: "AttributeProto")
                attributes.append(try ONNXAttribute(&attribute))
            default:
                try reader.skip(wire)
            }
        }
    }
}

/// A declared value: a graph input or output, or a `value_info` entry.
public struct ONNXValueInfo: Sendable, Hashable {
    public var name = ""
    /// The tensor's element type; nil when undeclared, not a tensor, or a type memplan does not know.
    public var elementType: TensorDType?
    /// The dimensions; nil when the shape is not declared (unknown rank).
    public var shape: [ONNXDimension]?

    init(_ reader: inout ProtobufReader) throws(ImportError) {
        while !reader.isAtEnd {
            let (number, wire) = try reader.field()
            switch (number, wire) {
            case (1, .lengthDelimited): name = try reader.string()
            case (2, .lengthDelimited):  // TypeProto
                var type = reader.nested(try reader.lengthDelimited(), message: "TypeProto")
                while !type.isAtEnd {
                    let (typeField, typeWire) = try type.field()
                    guard typeField == 1, typeWire == .lengthDelimited else {  // sequence, map, optional…: not tensors
                        try type.skip(typeWire)
                        continue
                    }
                    var tensor = type.nested(try type.lengthDelimited(), message: "TypeProto.Tensor")
                    try decodeTensorType(&tensor)
                }
            default: try reader.skip(wire)
            }
        }
    }

    private mutating func decodeTensorType(_ reader: inout ProtobufReader) throws(ImportError) {
        while !reader.isAtEnd {
            let (number, wire) = try reader.field()
            switch (number, wire) {
            case (1, .varint): elementType = TensorDType(onnxCode: try reader.int64())
            case (2, .lengthDelimited):
                var shapeReader = reader.nested(try reader.lengthDelimited(), message: "TensorShapeProto")
                var dimensions: [ONNXDimension] = []
                while !shapeReader.isAtEnd {
                    let (shapeField, shapeWire) = try shapeReader.field()
                    guard shapeField == 1, shapeWire == .lengthDelimited else {
                        try shapeReader.skip(shapeWire)
                        continue
                    }
                    guard dimensions.count < ONNXModel.maximumRank else {
                        throw .countLimit(path: reader.path, what: "dimensions of \(quoted(name))", limit: ONNXModel.maximumRank)
                    }
                    var dimension = shapeReader.nested(try shapeReader.lengthDelimited(), message: "TensorShapeProto.Dimension")
                    dimensions.append(try ONNXDimension(&dimension))
                }
                shape = dimensions
            default: try reader.skip(wire)
            }
        }
    }
}

/// One dimension of a declared shape.
public enum ONNXDimension: Sendable, Hashable {
    case value(Int)
    /// A symbolic dimension such as "batch_size": memplan substitutes the batch size it is given.
    case param(String)
    /// Neither (or a negative value, which some exporters write for "unknown").
    case unknown

    init(_ reader: inout ProtobufReader) throws(ImportError) {
        self = .unknown
        while !reader.isAtEnd {
            let (number, wire) = try reader.field()
            switch (number, wire) {
            case (1, .varint):
                let value = try reader.int64()
                self = value >= 0 ? .value(value) : .unknown
            case (2, .lengthDelimited): self = .param(try reader.string())
            default: try reader.skip(wire)
            }
        }
    }
}

import Testing

@testable import ModelImport

@Suite("ONNX protobuf decoding")
struct ProtobufTests {
    let path = "test.onnx"

    func parse(_ bytes: [UInt8]) throws(ImportError) -> ONNXModel { try ONNXModel.parse(bytes, path: path) }

    func failure(_ bytes: [UInt8]) -> ImportError? {
        do {
            _ = try parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    /// The problem text of a malformed-protobuf error, with its offset.
    func wireProblem(_ bytes: [UInt8]) -> String? {
        if case .malformedProtobuf(_, let offset, let message, let problem)? = failure(bytes) {
            return "\(offset) \(message): \(problem)"
        }
        return nil
    }

    let minimalGraph = graphProto(
        nodes: [node("Relu", ["x"], ["y"])], inputs: [valueInfo("x", [2])], outputs: [valueInfo("y", [2])])

    @Test("varints: 10 bytes at most, 64 bits at most; a key's field number and wire type")
    func varints() {
        // ir_version (field 1) = 2^63 - 1 takes 9 bytes; -1 takes 10.
        #expect(failure(Proto().int(1, Int.max).message(7, minimalGraph).bytes) == nil)
        #expect((try? parse(Proto().int(1, -1).message(7, minimalGraph).bytes))?.irVersion == -1)
        let eleven: [UInt8] = [0x08] + Array(repeating: 0x80, count: 10) + [0x00]
        #expect(wireProblem(eleven) == "1 ModelProto: a varint is longer than 10 bytes")
        let overflow: [UInt8] = [0x08] + Array(repeating: 0xFF, count: 9) + [0x02]
        #expect(wireProblem(overflow) == "1 ModelProto: a varint overflows 64 bits")
        #expect(wireProblem([0x08, 0x80]) == "1 ModelProto: the message ends inside a varint")
        #expect(wireProblem([0x00, 0x01]) == "0 ModelProto: field number 0 is out of range")
        #expect(wireProblem([0x0E]) == "0 ModelProto: wire type 6 does not exist")
        #expect(wireProblem(Proto.varint(UInt64(1) << 32 | 0)) == "0 ModelProto: field number 536870912 is out of range")
    }

    @Test("groups (wire types 3 and 4) are refused, at every level")
    func groups() {
        #expect(wireProblem([0x5B]) == "0 ModelProto: field 11 is a group (wire type 3), which ONNX never uses")
        #expect(wireProblem([0x5C]) == "0 ModelProto: field 11 is a group (wire type 4), which ONNX never uses")
        let inNode = graphProto(nodes: [node("Relu", ["x"], ["y"]).raw([0x7B])], inputs: [], outputs: [])
        #expect(wireProblem(modelBytes(inNode))?.contains("NodeProto: field 15 is a group (wire type 3)") == true)
    }

    @Test("lengths are checked against the enclosing message, not just the file")
    func lengths() {
        #expect(
            wireProblem([0x3A, 0x05, 0x00]) == "0 ModelProto: a length of 5 bytes runs past the end of the message (1 bytes left)"
        )
        // A node whose inner length (10) fits in the file but not in its graph (3 bytes).
        let graph: [UInt8] = [0x0A, 0x0A, 0x22, 0x01, 0x41] + Array(repeating: 0, count: 12)
        let model = Proto().data(7, Array(graph.prefix(3))).bytes + Array(graph.dropFirst(3))
        #expect(wireProblem(model)?.contains("GraphProto: a length of 10 bytes runs past the end of the message") == true)
        let huge = [0x3A] + Proto.varint(UInt64.max >> 1)
        #expect(wireProblem(huge)?.hasPrefix("0 ModelProto: a length of 9223372036854775807 bytes runs past") == true)
        #expect(wireProblem([0x15, 0x01, 0x02]) == "0 ModelProto: the message ends inside a 4-byte value")
        #expect(wireProblem([0x11, 0x01]) == "0 ModelProto: the message ends inside an 8-byte value")
    }

    @Test("unknown fields of every wire type are skipped; a known field with the wrong wire type is refused")
    func unknownFields() throws {
        let noisy = Proto().int(99, 7).fixed64(98, 1).fixed32(97, 2).string(96, "doc").int(1, 8).message(7, minimalGraph).int(
            5, 3)
        let model = try parse(noisy.bytes)
        #expect(model.irVersion == 8)
        #expect(model.graph.nodes.count == 1)
        #expect(
            wireProblem(Proto().string(1, "8").message(7, minimalGraph).bytes)
                == "0 ModelProto: ir_version has wire type 2, expected 0")
        #expect(
            failure(Proto().int(1, 8).bytes)
                == .invalidValue(
                    path: path, field: "ModelProto.graph", value: "absent", reason: "an ONNX model has a graph (field 7)"))
    }

    @Test("a model's graph, nodes, attributes and declared values")
    func decoding() throws {
        let weight = tensorProto("w", ONNXType.float, [3, 4])
        // dims unpacked, values packed
        let shape = Proto().int(1, 2).int(2, ONNXType.int64).packed(7, [6, -1]).string(8, "shape")
        let nodes = [
            node(
                "Conv", ["x", "w"], ["c"], name: "conv0",
                [
                    Attribute.ints("pads", [1, 1, 1, 1]), Attribute.ints("strides", [2, 2], packed: true),
                    Attribute.int("group", 1),
                    Attribute.string("auto_pad", "NOTSET"), Attribute.float("alpha", 0.5),
                ]),
            node(
                "Custom", ["c"], ["d"], domain: "com.example",
                [Attribute.tensor("value", tensorProto("", ONNXType.float, [1], raw: [0, 0, 128, 63]))]),
        ]
        let graph = graphProto(
            nodes: nodes, initializers: [weight, shape], inputs: [valueInfo("x", ["batch", 3, 8, 8]), valueInfo("w", [3, 4])],
            outputs: [valueInfo("d", nil, elementType: ONNXType.double)], valueInfo: [valueInfo("c", ["batch", 3, 4, 4])],
            name: "g")
        let model = try parse(modelBytes(graph, opset: 11, irVersion: 7))
        #expect(model.irVersion == 7)
        #expect(model.opsetVersion == 11)
        #expect(model.graph.name == "g")
        #expect(model.graph.nodes.map(\.opType) == ["Conv", "Custom"])
        #expect(model.graph.nodes[0].displayName == "conv0")
        #expect(model.graph.nodes[1].displayName == "d")
        #expect(model.graph.nodes[1].domain == "com.example")
        #expect(model.graph.nodes[0].attribute("pads")?.ints == [1, 1, 1, 1])
        #expect(model.graph.nodes[0].attribute("strides")?.ints == [2, 2])
        #expect(model.graph.nodes[0].attribute("group")?.int == 1)
        #expect(model.graph.nodes[0].attribute("auto_pad")?.string == "NOTSET")
        #expect(model.graph.nodes[0].attribute("alpha")?.value == .float(0.5))
        #expect(model.graph.nodes[1].attribute("value")?.tensor?.dtype == .float32)
        #expect(model.graph.initializers.map(\.name) == ["w", "shape"])
        #expect(model.graph.initializers[0].byteCount == 48)
        #expect(model.graph.initializers[1].integerValues == [6, -1])
        #expect(model.graph.inputs[0].shape == [.param("batch"), .value(3), .value(8), .value(8)])
        #expect(model.graph.inputs[0].elementType == .float32)
        #expect(model.graph.outputs[0].shape == nil)
        #expect(model.graph.outputs[0].elementType == .float64)
        #expect(model.graph.valueInfo.count == 1)
    }

    @Test("attributes without a type field (IR version 1) take the kind of the field that is set")
    func untypedAttributes() throws {
        let attributes = [
            Proto().string(1, "i").int(3, 5), Proto().string(1, "ints").int(8, 1).int(8, 2),
            Proto().string(1, "s").string(4, "x"),
            Proto().string(1, "f").fixed32(2, Float(2).bitPattern), Proto().string(1, "nothing"),
        ]
        let graph = graphProto(nodes: [node("Relu", ["x"], ["y"], attributes)], inputs: [], outputs: [])
        let relu = try parse(modelBytes(graph)).graph.nodes[0]
        #expect(relu.attribute("i")?.int == 5)
        #expect(relu.attribute("ints")?.ints == [1, 2])
        #expect(relu.attribute("s")?.string == "x")
        #expect(relu.attribute("f")?.value == .float(2))
        #expect(relu.attribute("nothing")?.value == .other(type: 0))
    }

    @Test("integer tensor values from int64_data, int32_data and raw_data; external data is flagged, never read")
    func tensorValues() throws {
        let int32 = Proto().int(1, 3).int(2, ONNXType.int32).packed(5, [1, -2, 3]).string(8, "a")
        let raw32 = tensorProto("b", ONNXType.int32, [2], raw: [0xFF, 0xFF, 0xFF, 0xFF, 7, 0, 0, 0])
        let external = tensorProto("c", ONNXType.float, [1000, 1000]).message(
            13, Proto().string(1, "location").string(2, "weights.bin")
        ).int(14, 1)
        let big = tensorProto("d", ONNXType.int64, [2000])  // no values read past 1024 elements
        let locationOnly = tensorProto("e", ONNXType.float, [10]).int(14, 1)
        let graph = graphProto(nodes: [], initializers: [int32, raw32, external, big, locationOnly], inputs: [], outputs: [])
        let initializers = try parse(modelBytes(graph)).graph.initializers
        #expect(initializers[0].integerValues == [1, -2, 3])
        #expect(initializers[1].integerValues == [-1, 7])
        #expect(initializers[2].isExternal)
        #expect(initializers[2].byteCount == 4_000_000)
        #expect(initializers[3].integerValues == nil)
        #expect(initializers[4].isExternal)  // data_location = EXTERNAL alone
        #expect(!initializers[3].isExternal)
    }

    @Test("bad tensors: negative dims, unknown data type, raw data of the wrong size, too many dims")
    func badTensors() {
        func bad(_ tensor: Proto) -> ImportError? {
            failure(modelBytes(graphProto(nodes: [], initializers: [tensor], inputs: [], outputs: [])))
        }
        #expect(
            bad(tensorProto("w", ONNXType.float, [3, -4]))
                == .invalidValue(path: path, field: "initializer 'w' dims", value: "-4", reason: "dimensions are 0 or more"))
        #expect(
            bad(tensorProto("w", 99, [3]))
                == .invalidValue(
                    path: path, field: "initializer 'w' data_type", value: "99",
                    reason: "not a TensorProto.DataType memplan knows (1…26)"))
        #expect(bad(tensorProto("w", 0, [3]))?.description.contains("data_type = '0'") == true)
        #expect(
            bad(tensorProto("w", ONNXType.float, [3], raw: [0, 0, 0, 0]))
                == .invalidValue(
                    path: path, field: "initializer 'w' raw_data", value: "4 bytes",
                    reason: "its dims and data type need 12 bytes"))
        #expect(
            bad(tensorProto("w", ONNXType.float, [1 << 40, 1 << 40]))
                == .sizeOverflow(path: path, tensor: "w", shape: [1 << 40, 1 << 40]))
        #expect(
            bad(tensorProto("w", ONNXType.float, Array(repeating: 1, count: 65)))
                == .countLimit(path: path, what: "dims of a tensor", limit: 64))
    }

    @Test("limits on names and per-node counts")
    func limits() {
        let longName = String(repeating: "n", count: 70_000)
        let graph = graphProto(nodes: [node("Relu", [longName], ["y"])], inputs: [], outputs: [])
        #expect(wireProblem(modelBytes(graph))?.contains("a string of 70000 bytes (names are at most 65536)") == true)
        let manyInts = graphProto(
            nodes: [node("Relu", ["x"], ["y"], [Attribute.ints("big", Array(repeating: 1, count: 70_000), packed: true)])],
            inputs: [], outputs: [])
        #expect(failure(modelBytes(manyInts)) == .countLimit(path: path, what: "values of an ints attribute", limit: 65536))
    }
}

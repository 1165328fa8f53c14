import ModelImport
import Testing

/// One node applied to graph inputs of fixed shapes; expected output shapes worked out by hand from the ONNX
/// operator definitions.
struct OneNode: Sendable, CustomStringConvertible {
    var label: String
    var opType: String
    var inputs: [[Int]]
    var attributes: [Proto] = []
    /// Int64 initializers appended after the inputs (a Reshape's shape, Unsqueeze's axes).
    var constants: [[Int]] = []
    var expected: [Int]
    var description: String { label }
}

extension Proto: @unchecked Sendable {}

/// Runs `opType` on inputs x0, x1, … (graph inputs of the given shapes) and constants k0, k1, ….
func inferred(_ opType: String, _ inputs: [[Int]], _ attributes: [Proto] = [], constants: [[Int]] = [], outputs: Int = 1) throws
    -> [[Int]]
{
    let names = inputs.indices.map { "x\($0)" } + constants.indices.map { "k\($0)" }
    let outputNames = (0..<outputs).map { "y\($0)" }
    let graph = graphProto(
        nodes: [node(opType, names, outputNames, name: "n", attributes)],
        initializers: constants.enumerated().map { int64Initializer("k\($0.offset)", $0.element) },
        inputs: inputs.enumerated().map { valueInfo("x\($0.offset)", $0.element.map { .value($0) }) },
        outputs: [valueInfo("y0", nil)])
    let estimate = try ONNXModel.parse(modelBytes(graph), path: "shape.onnx").estimateActivations(batchSize: 1)
    return estimate.nodes.first?.outputShapes ?? []
}

/// The problem an invalid node reports, or nil.
func nodeProblem(_ opType: String, _ inputs: [[Int]], _ attributes: [Proto] = [], constants: [[Int]] = []) -> String? {
    do {
        _ = try inferred(opType, inputs, attributes, constants: constants)
        return nil
    } catch {
        if case .invalidNode(_, "n", _, let problem) = error as? ImportError { return problem }
        return "\(error)"
    }
}

@Suite("ONNX shape inference")
struct ONNXShapeTests {
    static let cases: [OneNode] = [
        // Conv: out = ⌊(in + pads − ((k − 1)·d + 1)) / s⌋ + 1
        OneNode(
            label: "Conv 3×3 pad 1", opType: "Conv", inputs: [[1, 3, 32, 32], [16, 3, 3, 3]],
            attributes: [Attribute.ints("pads", [1, 1, 1, 1])], expected: [1, 16, 32, 32]),
        OneNode(
            label: "Conv 5×5 stride 2", opType: "Conv", inputs: [[2, 3, 32, 32], [8, 3, 5, 5]],
            attributes: [Attribute.ints("strides", [2, 2])], expected: [2, 8, 14, 14]),
        OneNode(
            label: "Conv dilation 2", opType: "Conv", inputs: [[1, 3, 32, 32], [16, 3, 3, 3]],
            attributes: [Attribute.ints("dilations", [2, 2])], expected: [1, 16, 28, 28]),
        OneNode(
            label: "Conv group 2, asymmetric pads", opType: "Conv", inputs: [[1, 4, 10, 10], [6, 2, 3, 3]],
            attributes: [Attribute.int("group", 2), Attribute.ints("pads", [0, 1, 2, 3])], expected: [1, 6, 10, 12]),
        OneNode(
            label: "Conv SAME_UPPER stride 2", opType: "Conv", inputs: [[1, 3, 7, 7], [16, 3, 3, 3]],
            attributes: [Attribute.string("auto_pad", "SAME_UPPER"), Attribute.ints("strides", [2, 2])], expected: [1, 16, 4, 4]),
        OneNode(
            label: "Conv SAME_LOWER", opType: "Conv", inputs: [[1, 3, 7, 7], [16, 3, 4, 4]],
            attributes: [Attribute.string("auto_pad", "SAME_LOWER")], expected: [1, 16, 7, 7]),
        OneNode(
            label: "Conv VALID stride 2", opType: "Conv", inputs: [[1, 3, 7, 7], [16, 3, 3, 3]],
            attributes: [
                Attribute.string("auto_pad", "VALID"), Attribute.ints("strides", [2, 2]), Attribute.ints("pads", [5, 5, 5, 5]),
            ], expected: [1, 16, 3, 3]),
        OneNode(
            label: "Conv 1-D", opType: "Conv", inputs: [[1, 2, 10], [4, 2, 3], [4]], attributes: [Attribute.ints("strides", [3])],
            expected: [1, 4, 3]),
        OneNode(label: "Conv 3-D", opType: "Conv", inputs: [[1, 1, 4, 6, 8], [2, 1, 2, 2, 2]], expected: [1, 2, 3, 5, 7]),
        // Pools
        OneNode(
            label: "MaxPool 3 stride 2", opType: "MaxPool", inputs: [[1, 3, 8, 8]],
            attributes: [Attribute.ints("kernel_shape", [3, 3]), Attribute.ints("strides", [2, 2])], expected: [1, 3, 3, 3]),
        OneNode(
            label: "MaxPool ceil_mode", opType: "MaxPool", inputs: [[1, 3, 8, 8]],
            attributes: [
                Attribute.ints("kernel_shape", [3, 3]), Attribute.ints("strides", [2, 2]), Attribute.int("ceil_mode", 1),
            ], expected: [1, 3, 4, 4]),
        OneNode(
            label: "MaxPool ceil_mode drops a window starting in the padding", opType: "MaxPool", inputs: [[1, 1, 5, 5]],
            attributes: [
                Attribute.ints("kernel_shape", [2, 2]), Attribute.ints("strides", [2, 2]), Attribute.ints("pads", [1, 1, 1, 1]),
                Attribute.int("ceil_mode", 1),
            ],
            expected: [1, 1, 3, 3]),
        OneNode(
            label: "MaxPool AlexNet's last (pads 0, 0, 1, 1)", opType: "MaxPool", inputs: [[1, 256, 12, 12]],
            attributes: [
                Attribute.ints("kernel_shape", [3, 3]), Attribute.ints("strides", [2, 2]), Attribute.ints("pads", [0, 0, 1, 1]),
            ], expected: [1, 256, 6, 6]),
        OneNode(
            label: "AveragePool SAME_UPPER", opType: "AveragePool", inputs: [[2, 3, 5, 5]],
            attributes: [
                Attribute.ints("kernel_shape", [2, 2]), Attribute.ints("strides", [2, 2]),
                Attribute.string("auto_pad", "SAME_UPPER"),
            ], expected: [2, 3, 3, 3]),
        OneNode(label: "GlobalAveragePool", opType: "GlobalAveragePool", inputs: [[2, 5, 7, 9]], expected: [2, 5, 1, 1]),
        // Matrix products
        OneNode(
            label: "Gemm transB", opType: "Gemm", inputs: [[4, 3], [5, 3], [5]], attributes: [Attribute.int("transB", 1)],
            expected: [4, 5]),
        OneNode(
            label: "Gemm transA", opType: "Gemm", inputs: [[3, 4], [3, 5], [1, 5]], attributes: [Attribute.int("transA", 1)],
            expected: [4, 5]),
        OneNode(label: "MatMul batched", opType: "MatMul", inputs: [[2, 3, 4], [4, 5]], expected: [2, 3, 5]),
        OneNode(label: "MatMul vector × matrix", opType: "MatMul", inputs: [[4], [4, 5]], expected: [5]),
        OneNode(label: "MatMul matrix × vector", opType: "MatMul", inputs: [[3, 4], [4]], expected: [3]),
        OneNode(
            label: "MatMul broadcast batches", opType: "MatMul", inputs: [[2, 1, 3, 4], [5, 4, 6]], expected: [2, 5, 3, 6]),
        // Elementwise
        OneNode(label: "Add broadcast", opType: "Add", inputs: [[3, 1, 5], [4, 1]], expected: [3, 4, 5]),
        OneNode(label: "Sum of three", opType: "Sum", inputs: [[2, 3], [3], [1, 1]], expected: [2, 3]),
        OneNode(label: "Mul", opType: "Mul", inputs: [[2, 3], [2, 3]], expected: [2, 3]),
        OneNode(label: "Relu", opType: "Relu", inputs: [[2, 3, 4]], expected: [2, 3, 4]),
        OneNode(
            label: "LRN", opType: "LRN", inputs: [[1, 8, 5, 5]], attributes: [Attribute.int("size", 5)], expected: [1, 8, 5, 5]),
        OneNode(
            label: "BatchNormalization", opType: "BatchNormalization", inputs: [[2, 4, 3, 3], [4], [4], [4], [4]],
            expected: [2, 4, 3, 3]),
        // Shape manipulation
        OneNode(
            label: "Flatten axis 2", opType: "Flatten", inputs: [[2, 3, 4, 5]], attributes: [Attribute.int("axis", 2)],
            expected: [6, 20]),
        OneNode(
            label: "Flatten axis 0", opType: "Flatten", inputs: [[2, 3, 4, 5]], attributes: [Attribute.int("axis", 0)],
            expected: [1, 120]),
        OneNode(
            label: "Flatten axis -1", opType: "Flatten", inputs: [[2, 3, 4, 5]], attributes: [Attribute.int("axis", -1)],
            expected: [24, 5]),
        OneNode(label: "Reshape 0 and -1", opType: "Reshape", inputs: [[2, 3, 4]], constants: [[0, -1]], expected: [2, 12]),
        OneNode(label: "Reshape -1 alone", opType: "Reshape", inputs: [[2, 3, 4]], constants: [[-1]], expected: [24]),
        OneNode(
            label: "Reshape 0 copies its own position", opType: "Reshape", inputs: [[2, 3, 4]], constants: [[4, 0, 2]],
            expected: [4, 3, 2]),
        OneNode(
            label: "Reshape allowzero", opType: "Reshape", inputs: [[0, 3]], attributes: [Attribute.int("allowzero", 1)],
            constants: [[3, 0]], expected: [3, 0]),
        OneNode(
            label: "Concat axis 1", opType: "Concat", inputs: [[2, 3], [2, 5]], attributes: [Attribute.int("axis", 1)],
            expected: [2, 8]),
        OneNode(
            label: "Concat axis -3", opType: "Concat", inputs: [[1, 2, 3], [4, 2, 3]], attributes: [Attribute.int("axis", -3)],
            expected: [5, 2, 3]),
        OneNode(
            label: "Unsqueeze axes attribute", opType: "Unsqueeze", inputs: [[3, 4]],
            attributes: [Attribute.ints("axes", [0, 3])], expected: [1, 3, 4, 1]),
        OneNode(
            label: "Unsqueeze axes input, negative", opType: "Unsqueeze", inputs: [[3, 4]], constants: [[-1]],
            expected: [3, 4, 1]),
        OneNode(label: "Transpose default reverses", opType: "Transpose", inputs: [[2, 3, 4]], expected: [4, 3, 2]),
        OneNode(
            label: "Transpose perm", opType: "Transpose", inputs: [[2, 3, 4]], attributes: [Attribute.ints("perm", [0, 2, 1])],
            expected: [2, 4, 3]),
        OneNode(
            label: "Shape start and end", opType: "Shape", inputs: [[2, 3, 4, 5]],
            attributes: [Attribute.int("start", 1), Attribute.int("end", -1)], expected: [2]),
    ]

    @Test("output shapes", arguments: cases)
    func shapes(_ test: OneNode) throws {
        let shapes = try inferred(test.opType, test.inputs, test.attributes, constants: test.constants)
        #expect(shapes.first == test.expected)
    }

    @Test("extra outputs: Dropout's mask, MaxPool's indices, BatchNorm's statistics")
    func extraOutputs() throws {
        #expect(try inferred("Dropout", [[2, 3]], outputs: 2) == [[2, 3], [2, 3]])
        #expect(
            try inferred(
                "MaxPool", [[1, 2, 4, 4]], [Attribute.ints("kernel_shape", [2, 2]), Attribute.ints("strides", [2, 2])], outputs: 2
            ) == [[1, 2, 2, 2], [1, 2, 2, 2]])
        #expect(try inferred("BatchNormalization", [[2, 4, 3], [4], [4], [4], [4]], outputs: 3) == [[2, 4, 3], [4], [4]])
    }

    @Test("contradictions name the node and the numbers")
    func invalid() {
        let conv = [[1, 3, 8, 8], [4, 3, 3, 3]]
        #expect(nodeProblem("Conv", conv, [Attribute.ints("strides", [0, 1])]) == "strides [0, 1] has a value below 1")
        #expect(nodeProblem("Conv", conv, [Attribute.ints("pads", [1, 1])]) == "pads has 2 values, the input needs 4")
        #expect(nodeProblem("Conv", conv, [Attribute.ints("pads", [-1, 0, 0, 0])]) == "pads [-1, 0, 0, 0] has a value below 0")
        #expect(
            nodeProblem("Conv", conv, [Attribute.string("auto_pad", "SAME")])
                == "auto_pad 'SAME' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER")
        #expect(
            nodeProblem("Conv", [[1, 2, 8, 8], [4, 3, 3, 3]]) == "W [4, 3, 3, 3] does not match 2 input channels in 1 group(s)")
        #expect(
            nodeProblem("Conv", [[1, 3, 2, 2], [4, 3, 3, 3]]) == "a window of 3 does not fit in 2 (input [2, 2], kernel [3, 3])")
        #expect(
            nodeProblem("Conv", conv, [Attribute.ints("kernel_shape", [5, 5])]) == "kernel_shape [5, 5] differs from W's [3, 3]")
        #expect(nodeProblem("Conv", conv, [Attribute.ints("dilations", [Int.max, 1])]) == "a size overflows 64 bits")
        #expect(
            nodeProblem("Conv", [[1, 3, 8], [4, 3, 3, 3]])
                == "X [1, 3, 8] and W [4, 3, 3, 3] must both be (N, C, spatial…) of one rank")
        #expect(
            nodeProblem("MaxPool", [[1, 3, 8, 8]]) == "kernel_shape must give one size per spatial dimension of [1, 3, 8, 8]")
        #expect(nodeProblem("Gemm", [[4, 3], [4, 5]]) == "A is 4×3 but B is 4×5 (after transA/transB)")
        #expect(nodeProblem("Gemm", [[4, 3], [3, 5], [4]]) == "C [4] does not broadcast to 4×5")
        #expect(nodeProblem("MatMul", [[2, 3], [4, 5]]) == "inner dimensions differ: [2, 3] × [4, 5]")
        #expect(nodeProblem("Add", [[3, 4], [5]]) == "shapes [3, 4] and [5] do not broadcast")
        #expect(nodeProblem("Reshape", [[2, 3]], constants: [[-1, -1]]) == "target shape [-1, -1] has more than one -1")
        #expect(nodeProblem("Reshape", [[2, 3]], constants: [[5]]) == "cannot reshape [2, 3] (6 elements) to [5]")
        #expect(nodeProblem("Reshape", [[2, 3]], constants: [[4, -1]]) == "cannot reshape [2, 3] to [4, -1]")
        #expect(
            nodeProblem("Reshape", [[2, 3]], constants: [[0, 0, 0]]) == "target shape [0, 0, 0] copies dimension 2 of [2, 3]")
        #expect(
            nodeProblem("Concat", [[2, 3], [3, 3]], [Attribute.int("axis", 1)])
                == "cannot concatenate [2, 3] and [3, 3] along axis 1")
        #expect(nodeProblem("Concat", [[2, 3]], [Attribute.int("axis", 2)]) == "axis 2 is outside a rank-2 tensor")
        #expect(nodeProblem("Flatten", [[2, 3]], [Attribute.int("axis", 3)]) == "axis 3 is outside -2…2")
        #expect(
            nodeProblem("Transpose", [[2, 3]], [Attribute.ints("perm", [0, 0])]) == "perm [0, 0] is not a permutation of 2 axes")
        #expect(nodeProblem("Unsqueeze", [[2, 3]], [Attribute.ints("axes", [1, 1])]) == "axes [1, 1] repeat an axis")
        #expect(nodeProblem("BatchNormalization", [[2, 4, 3], [3], [4], [4], [4]]) == "input 2 is [3], expected [4]")
        #expect(nodeProblem("Gemm", [[4, 3]]) == "needs input 2")
    }
}

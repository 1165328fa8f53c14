import ModelImport
import Testing

@Suite("ONNX weights, activation estimates and MLP recognition")
struct ONNXEstimateTests {
    let path = "test.onnx"

    /// x [N, 3, 8, 8] → Conv 3×3 pad 1 (W a ConstantOfShape stand-in) → BatchNorm → Relu → MaxPool 2 → Flatten
    /// → Gemm (transB) → Dropout → Softmax.
    var smallCNN: [UInt8] {
        let nodes = [
            node(
                "ConstantOfShape", ["w_shape"], ["w"],
                [Attribute.tensor("value", tensorProto("", ONNXType.float, [1], raw: [0, 0, 0, 0]))]),
            node(
                "Conv", ["x", "w", "b"], ["c"], name: "conv",
                [Attribute.ints("pads", [1, 1, 1, 1]), Attribute.ints("kernel_shape", [3, 3])]),
            node("BatchNormalization", ["c", "scale", "shift", "mean", "var"], ["bn"]),
            node("Relu", ["bn"], ["r"]),
            node("MaxPool", ["r"], ["p"], [Attribute.ints("kernel_shape", [2, 2]), Attribute.ints("strides", [2, 2])]),
            node("Flatten", ["p"], ["f"]),
            node("Gemm", ["f", "w2"], ["g"], [Attribute.int("transB", 1)]),
            node("Dropout", ["g"], ["d"]),
            node("Softmax", ["d"], ["y"]),
        ]
        let initializers = [
            int64Initializer("w_shape", [4, 3, 3, 3]), tensorProto("b", ONNXType.float, [4]),
            tensorProto("scale", ONNXType.float, [4]),
            tensorProto("shift", ONNXType.float, [4]), tensorProto("mean", ONNXType.float, [4]),
            tensorProto("var", ONNXType.float, [4]),
            tensorProto("w2", ONNXType.float, [10, 64]), tensorProto("orphan", ONNXType.float, [1000]),
        ]
        let graph = graphProto(
            nodes: nodes, initializers: initializers, inputs: [valueInfo("x", ["N", 3, 8, 8])],
            outputs: [valueInfo("y", ["N", 10])])
        return modelBytes(graph)
    }

    @Test("weights: float initializers and stand-ins are parameters, BatchNorm statistics buffers, shapes constants")
    func weights() throws {
        let weights = try ONNXModel.parse(smallCNN, path: path).weights()
        #expect(weights.parameterCount == 760)  // W 4·3·3·3 = 108, b, scale, shift 4 each, W2 640
        #expect(Set(weights.parameters.map(\.name)) == ["w", "b", "scale", "shift", "w2"])
        #expect(weights.buffers.map(\.name) == ["mean", "var"])
        #expect(weights.buffers.allSatisfy { $0.bufferKind == .batchNormStatistics })
        #expect(weights.constants.map(\.name) == ["w_shape"])
        #expect(weights.unusedInitializers == ["orphan"])
    }

    @Test("the activation estimate of a small CNN, added up by hand")
    func smallCNNEstimate() throws {
        let estimate = try ONNXModel.parse(smallCNN, path: path).estimateActivations(batchSize: 2)
        #expect(estimate.isComplete)
        #expect(estimate.batchDimensions == ["N"])
        #expect(estimate.inputBytes == 2 * 3 * 64 * 4)
        #expect(
            estimate.nodes.map(\.opType) == [
                "Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm", "Dropout", "Softmax",
            ])
        let byOp = Dictionary(uniqueKeysWithValues: estimate.nodes.map { ($0.opType, $0) })
        // Conv: output 2·4·8·8 floats; saves x, a graph input (not counted); im2col 2 · 3·3·3 · 8·8 floats.
        #expect(byOp["Conv"]?.outputBytes == 2048)
        #expect(byOp["Conv"]?.savedBytes == 0)
        #expect(byOp["Conv"]?.workspaceBytes == 13_824)
        // BatchNorm saves its input c and 2·4 fp32 statistics; Relu its output.
        #expect(byOp["BatchNormalization"]?.savedBytes == 2048 + 32)
        #expect(byOp["Relu"]?.savedBytes == 2048)
        // MaxPool's input is Relu's output, already saved: only its 2·4·4·4 int64 indices are new.
        #expect(byOp["MaxPool"]?.savedBytes == 1024)
        // Flatten is a view; Gemm saves f, which is p's storage: 512 bytes.
        #expect(byOp["Flatten"]?.outputBytes == 0)
        #expect(byOp["Gemm"]?.savedBytes == 512)
        #expect(byOp["Dropout"]?.savedBytes == 20)
        #expect(byOp["Softmax"]?.savedBytes == 80)
        #expect(estimate.outputBytes == 6896)  // 3 × 2048 + 512 + 3 × 80
        #expect(estimate.savedBytes == 5764)
        #expect(estimate.peakWorkspaceBytes == 13_824)
        #expect(estimate.totalBytes == 19_588)
        // Batch 1 halves everything that scales with the batch.
        let one = try ONNXModel.parse(smallCNN, path: path).estimateActivations(batchSize: 1)
        #expect(one.savedBytes == 5764 / 2 + 16)  // the BatchNorm statistics do not scale
    }

    @Test("a tensor saved twice, or reached through a view, counts once")
    func deduplication() throws {
        let graph = graphProto(
            nodes: [
                node("Relu", ["x"], ["a"]), node("Transpose", ["a"], ["t"]), node("MatMul", ["a", "t"], ["m"]),
                node("Sigmoid", ["m"], ["y"]),
            ],
            inputs: [valueInfo("x", [6, 6])], outputs: [valueInfo("y", [6, 6])])
        let estimate = try ONNXModel.parse(modelBytes(graph), path: path).estimateActivations(batchSize: 1)
        #expect(estimate.nodes.map(\.savedBytes) == [144, 0, 0, 144])
        #expect(estimate.savedBytes == 288)
    }

    @Test("unknown operators are listed with their counts, never dropped silently; later nodes go on from declared shapes")
    func skipped() throws {
        let nodes = [
            node("Erf", ["x"], ["e"]), node("Fancy", ["e"], ["f"], domain: "com.example"), node("Erf", ["e"], ["e2"]),
            node("Relu", ["e"], ["r1"]), node("Relu", ["f"], ["r2"], name: "after-fancy"),
        ]
        let graph = graphProto(
            nodes: nodes, inputs: [valueInfo("x", ["batch", "sequence", 4])], outputs: [valueInfo("r2", nil)],
            valueInfo: [valueInfo("e", ["batch", "sequence", 4])])
        let model = try ONNXModel.parse(modelBytes(graph, opset: 17), path: path)
        let estimate = try model.estimateActivations(batchSize: 3, dimensions: ["sequence": 5])
        #expect(estimate.skippedOps == [SkippedOp(opType: "Erf", count: 2), SkippedOp(opType: "com.example.Fancy", count: 1)])
        #expect(!estimate.isComplete)
        #expect(estimate.inputBytes == 3 * 5 * 4 * 4)
        #expect(estimate.nodes.map(\.name) == ["r1"])
        #expect(estimate.nodes.first?.savedBytes == 240)
        #expect(estimate.unresolvedNodes == ["after-fancy: input 'f' has no known shape"])
        // Without a value for "sequence", the input's shape is unknown and so is everything after it.
        let unknown = try model.estimateActivations(batchSize: 3)
        #expect(unknown.inputBytes == 0)
        #expect(unknown.unresolvedNodes.count == 2)
    }

    @Test("the batch size replaces the first dimension's symbol, or an unnamed first dimension; fixed ones stay")
    func batch() throws {
        let graph = graphProto(
            nodes: [node("Relu", ["x"], ["y"]), node("Relu", ["z"], ["w"])],
            inputs: [valueInfo("x", ["batch_size", 5]), valueInfo("z", [1, 5])], outputs: [valueInfo("y", nil)])
        let unnamed = graphProto(
            nodes: [node("Relu", ["x"], ["y"]), node("Relu", ["z"], ["w"])],
            inputs: [valueInfo("x", [.unknown, 5]), valueInfo("z", [2, .unknown])],
            outputs: [valueInfo("y", nil)])
        let unnamedEstimate = try ONNXModel.parse(modelBytes(unnamed), path: path).estimateActivations(batchSize: 4)
        #expect(unnamedEstimate.nodes.map(\.outputShapes) == [[[4, 5]]])  // an unknown second dimension stays unknown
        #expect(unnamedEstimate.unresolvedNodes == ["w: input 'z' has no known shape"])
        let model = try ONNXModel.parse(modelBytes(graph), path: path)
        let estimate = try model.estimateActivations(batchSize: 8)
        #expect(estimate.nodes.map(\.outputShapes) == [[[8, 5]], [[1, 5]]])
        #expect(estimate.batchDimensions == ["batch_size"])
        #expect(try model.estimateActivations(batchSize: 8, dimensions: ["batch_size": 2]).nodes.first?.outputShapes == [[2, 5]])
        #expect(throws: ImportError.invalidValue(path: path, field: "batch size", value: "0", reason: "must be at least 1")) {
            try model.estimateActivations(batchSize: 0)
        }
    }

    @Test("Reshape and ConstantOfShape follow shapes computed by Shape; a Constant gives a Reshape its target")
    func shapeValues() throws {
        let nodes = [
            node("Shape", ["x"], ["s"]), node("ConstantOfShape", ["s"], ["zeros"]), node("Add", ["x", "zeros"], ["sum"]),
            node("Constant", [], ["target"], [Attribute.ints("value_ints", [-1, 2])]),
            node("Reshape", ["sum", "target"], ["y"]),
        ]
        let graph = graphProto(nodes: nodes, inputs: [valueInfo("x", ["n", 4])], outputs: [valueInfo("y", nil)])
        let model = try ONNXModel.parse(modelBytes(graph), path: path)
        let estimate = try model.estimateActivations(batchSize: 3)
        #expect(estimate.isComplete)
        #expect(estimate.nodes.last?.outputShapes == [[6, 2]])
        // Its shape is computed at run time: an activation, not a weight stand-in.
        #expect(estimate.nodes.first { $0.opType == "ConstantOfShape" }?.outputBytes == 48)
        #expect(try model.weights().parameterCount == 0)
    }

    @Test("a stand-in with a negative dimension is an error")
    func negativeStandIn() {
        let graph = graphProto(
            nodes: [node("ConstantOfShape", ["s"], ["w"]), node("MatMul", ["x", "w"], ["y"])],
            initializers: [int64Initializer("s", [4, -2])],
            inputs: [valueInfo("x", [1, 4])], outputs: [valueInfo("y", nil)])
        #expect(
            throws: ImportError.invalidNode(
                path: path, node: "w", opType: "ConstantOfShape", problem: "shape [4, -2] has a negative dimension")
        ) {
            try ONNXModel.parse(modelBytes(graph), path: path).weights()
        }
    }

    // MARK: - MLPs

    func mlpGraph(_ nodes: [Proto], weights: [Proto], input: [Dim] = ["batch", 12], output: String = "y") -> ONNXModel? {
        try? ONNXModel.parse(
            modelBytes(
                graphProto(
                    nodes: nodes, initializers: weights, inputs: [valueInfo("x", input)], outputs: [valueInfo(output, nil)])),
            path: path)
    }

    @Test("an MLP of Gemm and MatMul+Add layers, flattened input, is recognized with its widths, activations and biases")
    func mlp() throws {
        let nodes = [
            node("Flatten", ["x"], ["f"]), node("Gemm", ["f", "w1", "b1"], ["g1"], [Attribute.int("transB", 1)]),
            node("Relu", ["g1"], ["r1"]),
            node("MatMul", ["r1", "w2"], ["m2"]), node("Add", ["m2", "b2"], ["a2"]), node("Tanh", ["a2"], ["t2"]),
            node("Dropout", ["t2"], ["d2"]),
            node("Gemm", ["d2", "w3"], ["g3"]), node("Softmax", ["g3"], ["y"]),
        ]
        let weights = [
            tensorProto("w1", ONNXType.float, [8, 12]), tensorProto("b1", ONNXType.float, [8]),
            tensorProto("w2", ONNXType.float, [8, 4]),
            tensorProto("b2", ONNXType.float, [1, 4]), tensorProto("w3", ONNXType.float, [4, 3]),
        ]
        let mlp = try #require(mlpGraph(nodes, weights: weights, input: ["batch", 3, 4])?.recognizeMLP())
        #expect(
            mlp
                == ImportedMLP(
                    widths: [12, 8, 4, 3], activations: [.relu, .tanh, .softmax], biases: [true, true, false], flattensInput: true
                ))
    }

    @Test("weights from ConstantOfShape stand-ins count; an identity last layer")
    func mlpStandIns() throws {
        let nodes = [
            node("ConstantOfShape", ["s1"], ["w1"]), node("ConstantOfShape", ["s2"], ["w2"]),
            node("MatMul", ["x", "w1"], ["m1"]), node("Sigmoid", ["m1"], ["h"]), node("MatMul", ["h", "w2"], ["y"]),
        ]
        let mlp = try #require(
            mlpGraph(nodes, weights: [int64Initializer("s1", [12, 6]), int64Initializer("s2", [6, 2])])?.recognizeMLP())
        #expect(
            mlp
                == ImportedMLP(
                    widths: [12, 6, 2], activations: [.sigmoid, .identity], biases: [false, false], flattensInput: false))
    }

    @Test("anything else is not an MLP")
    func notMLP() {
        let w = [
            tensorProto("w1", ONNXType.float, [12, 8]), tensorProto("w2", ONNXType.float, [8, 8]),
            tensorProto("w3", ONNXType.float, [7, 2]),
        ]
        // A branch: Relu's output feeds two nodes.
        #expect(
            mlpGraph(
                [node("MatMul", ["x", "w1"], ["a"]), node("Relu", ["a"], ["r"]), node("Add", ["r", "r"], ["y"])], weights: w)?
                .recognizeMLP() == nil)
        // Widths that do not chain (8 into a layer of 7).
        #expect(
            mlpGraph([node("MatMul", ["x", "w1"], ["a"]), node("MatMul", ["a", "w3"], ["y"])], weights: w)?.recognizeMLP() == nil)
        // Gemm with alpha ≠ 1, or transA.
        #expect(mlpGraph([node("Gemm", ["x", "w1"], ["y"], [Attribute.float("alpha", 0.5)])], weights: w)?.recognizeMLP() == nil)
        #expect(mlpGraph([node("Gemm", ["x", "w1"], ["y"], [Attribute.int("transA", 1)])], weights: w)?.recognizeMLP() == nil)
        // An input width that is not the first layer's.
        #expect(mlpGraph([node("MatMul", ["x", "w1"], ["y"])], weights: w, input: ["batch", 10])?.recognizeMLP() == nil)
        // A convolution.
        #expect(mlpGraph([node("Conv", ["x", "w2"], ["y"])], weights: w, input: [1, 8, 4, 4])?.recognizeMLP() == nil)
        // Every node must be part of the chain: a side branch that is not is refused.
        #expect(
            mlpGraph(
                [node("Relu", ["x"], ["side"]), node("MatMul", ["x", "w1"], ["a"]), node("Relu", ["a"], ["y"])], weights: w)?
                .recognizeMLP() == nil)
        #expect(
            mlpGraph(
                [node("MatMul", ["x", "w1"], ["a"]), node("Relu", ["a"], ["y"]), node("Relu", ["x"], ["side"])], weights: w)?
                .recognizeMLP() == nil)
        // The chain must end at the graph output.
        #expect(
            mlpGraph([node("MatMul", ["x", "w1"], ["a"]), node("Relu", ["a"], ["y"])], weights: w, output: "a")?.recognizeMLP()
                == nil)
        // And the plain version of the first one is one.
        #expect(
            mlpGraph([node("MatMul", ["x", "w1"], ["a"]), node("Relu", ["a"], ["y"])], weights: w)?.recognizeMLP()?.widths == [
                12, 8,
            ])
    }
}

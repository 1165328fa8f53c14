// Which of an ONNX graph's stored tensors are parameters, which are buffers, and which are only constants.

/// An ONNX model's stored tensors, sorted into what training would update and what it would not.
///
/// - **Parameters**: floating-point initializers some node reads, and the weight stand-ins of the onnx
///   package's "light" test models — `ConstantOfShape` nodes whose shape is a constant (an initializer or a
///   `Constant` node) and whose output is floating point. Such a node builds a tensor of a fixed shape from
///   nothing but that shape, which is what a weight is; one whose shape is computed at run time (from `Shape`)
///   is an ordinary op.
/// - **Buffers**: BatchNormalization's running mean and variance (its inputs 3 and 4), however stored.
/// - **Constants**: integer initializers and integer `ConstantOfShape` outputs (shapes, axes, indices):
///   neither trained nor state.
/// - **Unused initializers**: initializers no node reads (exporters leave some behind); not counted.
public struct ONNXWeights: Sendable {
    public var parameters: [ImportedTensor]
    public var buffers: [ImportedTensor]
    public var constants: [ImportedTensor]
    public var unusedInitializers: [String]

    public var parameterCount: Int { parameters.elementCount }
}

extension ONNXModel {
    /// The graph's parameters, buffers and constants (see `ONNXWeights`).
    ///
    /// - Throws: `ImportError.sizeOverflow` when a `ConstantOfShape` stand-in's shape overflows 64 bits, and
    ///   `.invalidNode` when its shape has a negative dimension.
    public func weights() throws(ImportError) -> ONNXWeights {
        let graph = graph
        var read = Set<String>()
        var batchNormStatistics = Set<String>()
        for node in graph.nodes {
            read.formUnion(node.inputs)
            if node.opType == "BatchNormalization", node.domain.isEmpty || node.domain == "ai.onnx" {
                batchNormStatistics.formUnion(node.inputs.dropFirst(3).prefix(2))
            }
        }
        var weights = ONNXWeights(parameters: [], buffers: [], constants: [], unusedInitializers: [])
        func add(_ name: String, _ dtype: TensorDType, _ shape: [Int]) throws(ImportError) {
            let kind: BufferKind? =
                batchNormStatistics.contains(name) ? .batchNormStatistics : (dtype.isInteger ? .integerTensor : nil)
            guard let tensor = ImportedTensor(name: name, dtype: dtype, shape: shape, bufferKind: kind) else {
                throw .sizeOverflow(path: path, tensor: name, shape: shape)
            }
            switch kind {
            case nil: weights.parameters.append(tensor)
            case .integerTensor?: weights.constants.append(tensor)
            default: weights.buffers.append(tensor)
            }
        }
        for initializer in graph.initializers {
            guard read.contains(initializer.name) else {
                weights.unusedInitializers.append(initializer.name)
                continue
            }
            try add(initializer.name, initializer.dtype, initializer.dims)
        }
        for standIn in try weightStandIns() { try add(standIn.name, standIn.dtype, standIn.shape) }
        return weights
    }

    /// The `ConstantOfShape` nodes whose shape is a constant: their output names, dtypes and shapes.
    func weightStandIns() throws(ImportError) -> [(name: String, dtype: TensorDType, shape: [Int])] {
        var constantValues: [String: [Int]] = [:]
        for initializer in graph.initializers {
            if let values = initializer.integerValues { constantValues[initializer.name] = values }
        }
        var standIns: [(name: String, dtype: TensorDType, shape: [Int])] = []
        for node in graph.nodes where node.domain.isEmpty || node.domain == "ai.onnx" {
            if node.opType == "Constant", let output = node.outputs.first, let values = node.constantTensor?.integerValues {
                constantValues[output] = values
            }
            guard node.opType == "ConstantOfShape", let input = node.inputs.first, let output = node.outputs.first,
                let shape = constantValues[input]
            else { continue }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw .invalidNode(
                    path: path, node: node.displayName, opType: node.opType,
                    problem: "shape \(shapeText(shape)) has a negative dimension")
            }
            standIns.append((output, node.attribute("value")?.tensor?.dtype ?? .float32, shape))
        }
        return standIns
    }
}

extension ONNXNode {
    /// A `Constant` node's value as a tensor: `value`, or `value_int` / `value_ints` as int64.
    var constantTensor: ONNXTensor? {
        if let tensor = attribute("value")?.tensor { return tensor }
        let values: [Int]
        if let value = attribute("value_int")?.int {
            values = [value]
        } else if let list = attribute("value_ints")?.ints {
            values = list
        } else {
            return nil
        }
        let isScalar = attribute("value_int") != nil
        return ONNXTensor(
            name: outputs.first ?? "", dtype: .int64, dims: isScalar ? [] : [values.count], elementCount: values.count,
            byteCount: 8 * values.count, isExternal: false, integerValues: values)
    }
}

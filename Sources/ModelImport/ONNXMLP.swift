// Recognising a plain multilayer perceptron in an ONNX graph, so it can become a profile memplan trains.
// Everything else (convolutions, branches, attention) is estimate-only.

/// An activation between the linear layers of an imported MLP.
public enum MLPActivation: String, Sendable, Hashable, CaseIterable {
    case identity, relu, sigmoid, tanh, softmax
}

/// A plain MLP found in an ONNX graph: widths, and each layer's activation and bias.
public struct ImportedMLP: Sendable, Hashable {
    /// The input width, then each layer's output width: `[784, 256, 128, 10]` is three layers.
    public var widths: [Int]
    /// One per layer: the activation applied to its output (`identity` when none).
    public var activations: [MLPActivation]
    /// One per layer: whether it adds a bias.
    public var biases: [Bool]
    /// Whether the graph flattens its input first.
    public var flattensInput: Bool

    public init(widths: [Int], activations: [MLPActivation], biases: [Bool], flattensInput: Bool) {
        self.widths = widths
        self.activations = activations
        self.biases = biases
        self.flattensInput = flattensInput
    }
}

extension ONNXModel {
    /// The MLP this graph is, or nil when it is anything else.
    ///
    /// Recognised: one graph input, optionally `Flatten` (axis 1), then layers that are each
    /// `Gemm(x, W, b?)` (transA = 0, alpha = beta = 1, W as [in, out] or with transB = 1 as [out, in]) or
    /// `MatMul(x, W)` optionally followed by `Add(·, b)`, each optionally followed by one of Relu, Sigmoid,
    /// Tanh, Softmax (and Dropout, which training ignores), ending at the single graph output. W and b are
    /// parameters (initializers or `ConstantOfShape` stand-ins); every other node must be part of the chain.
    public func recognizeMLP() -> ImportedMLP? {
        var shapes: [String: [Int]] = [:]  // the floating-point weights
        for initializer in graph.initializers where !initializer.dtype.isInteger { shapes[initializer.name] = initializer.dims }
        if let standIns = try? weightStandIns() {
            for standIn in standIns where !standIn.dtype.isInteger { shapes[standIn.name] = standIn.shape }
        }
        let stored = Set(graph.initializers.map(\.name))
        let inputs = graph.inputs.filter { !stored.contains($0.name) }
        guard inputs.count == 1, graph.outputs.count == 1 else { return nil }

        // The chain: every node that is not a weight producer, each consuming the previous one's output.
        let weightProducers = Set(
            graph.nodes.indices.filter { index in
                let node = graph.nodes[index]
                return node.opType == "Constant" || node.outputs.first.map { shapes[$0] != nil } == true
            })
        let chain = graph.nodes.indices.filter { !weightProducers.contains($0) }.map { graph.nodes[$0] }
        var position = 0
        var current = inputs[0].name
        var mlp = ImportedMLP(widths: [], activations: [], biases: [], flattensInput: false)

        func next(_ opTypes: Set<String>) -> ONNXNode? {
            guard position < chain.count, opTypes.contains(chain[position].opType), chain[position].inputs.first == current,
                chain[position].domain.isEmpty || chain[position].domain == "ai.onnx"
            else { return nil }
            defer { position += 1 }
            current = chain[position].outputs.first ?? ""
            return chain[position]
        }
        /// A bias of `width` elements: a weight of shape [width] or [1, width].
        func isBias(_ name: String, width: Int) -> Bool { shapes[name] == [width] || shapes[name] == [1, width] }

        if let flatten = next(["Flatten"]) {
            guard (flatten.attribute("axis")?.int ?? 1) == 1 else { return nil }
            mlp.flattensInput = true
        }
        while let layer = next(["Gemm", "MatMul"]) {
            guard layer.inputs.count >= 2, let weight = shapes[layer.inputs[1]], weight.count == 2 else { return nil }
            var (width, output) = (weight[0], weight[1])
            var hasBias = false
            if layer.opType == "Gemm" {
                guard (layer.attribute("transA")?.int ?? 0) == 0 else { return nil }
                for name in ["alpha", "beta"] {
                    if case .float(let value)? = layer.attribute(name)?.value, value != 1 { return nil }
                }
                if (layer.attribute("transB")?.int ?? 0) != 0 { (width, output) = (weight[1], weight[0]) }
                if layer.inputs.count > 2, !layer.inputs[2].isEmpty {
                    guard isBias(layer.inputs[2], width: output) else { return nil }
                    hasBias = true
                }
            } else if let add = next(["Add"]) {
                guard add.inputs.count == 2, isBias(add.inputs[1], width: output) else { return nil }
                hasBias = true
            }
            guard mlp.widths.last.map({ $0 == width }) ?? true else { return nil }
            if mlp.widths.isEmpty { mlp.widths.append(width) }
            mlp.widths.append(output)
            mlp.biases.append(hasBias)
            let activation = next(["Relu", "Sigmoid", "Tanh", "Softmax"])
            mlp.activations.append(activation.map { MLPActivation(rawValue: $0.opType.lowercased()) ?? .identity } ?? .identity)
            while next(["Dropout"]) != nil {}
        }
        guard position == chain.count, !mlp.activations.isEmpty, current == graph.outputs[0].name else { return nil }
        // The input's declared width, when it has one, must be the first layer's.
        if let shape = inputs[0].shape, shape.count >= 2 {
            var features: Int? = 1
            for dimension in shape.dropFirst() {
                guard case .value(let value) = dimension, let product = features else { features = nil; break }
                let (next, overflow) = product.multipliedReportingOverflow(by: value)
                features = overflow ? nil : next
            }
            if let features, features != mlp.widths[0] { return nil }
        }
        return mlp
    }
}

// The activation memory of training an ONNX graph at a batch size: what each node writes, what the backward
// pass keeps, and the largest temporary buffer. Nodes memplan cannot estimate are listed, never dropped.

/// One node's share of the activation memory.
public struct NodeActivation: Sendable, Hashable {
    public var name: String
    public var opType: String
    /// The shapes of the node's outputs, in order.
    public var outputShapes: [[Int]]
    /// Bytes the node's outputs take; 0 for views (Reshape, Flatten, Unsqueeze, Transpose, Identity) and Shape.
    public var outputBytes: Int
    /// Bytes the backward pass keeps because of this node: the tensors it saves that no earlier node saved,
    /// plus what only it keeps (MaxPool's indices, BatchNorm's statistics, Dropout's mask).
    public var savedBytes: Int
    /// Bytes of the node's temporary buffer (Conv's im2col), live only while it runs.
    public var workspaceBytes: Int
}

/// An operator memplan has no estimate for, and how many nodes use it.
public struct SkippedOp: Sendable, Hashable {
    /// `op_type`, prefixed with its domain when that is not the default one (`com.microsoft.FusedConv`).
    public var opType: String
    public var count: Int

    public init(opType: String, count: Int) {
        self.opType = opType
        self.count = count
    }
}

/// The activation memory of one training step of an ONNX graph.
///
/// What each operator keeps for the backward pass, as PyTorch's autograd does (a tensor saved by several
/// nodes, or reached through a view, counts once; parameters, constants and the graph's inputs never count):
///
///     Conv                     its input X                     + workspace: im2col, see below
///     Gemm, MatMul, Mul        both inputs
///     Relu, Sigmoid, Tanh      its output
///     Softmax                  its output
///     LRN                      its input and its output
///     BatchNormalization       its input X + 2·C statistics (mean, inverse std; fp32 or wider)
///     MaxPool                  its input X + int64 indices (one per output element)
///     AveragePool, GlobalAveragePool   its input X
///     Dropout                  its mask (one byte per element)
///     Add, Sum, Concat, Reshape, Flatten, Unsqueeze, Transpose, Identity, Shape   nothing
///
/// Conv's im2col workspace holds, per sample, (C_in / group) · k₁ · … · kₙ · out₁ · … · outₙ elements
/// (one group's unfolded input); times the batch size and the element size. Only one node runs at a time,
/// so the estimate adds the largest workspace, not their sum.
public struct ActivationEstimate: Sendable {
    public var batchSize: Int
    /// The nodes, in graph order, except Constants and weight stand-ins (see `ONNXWeights`).
    public var nodes: [NodeActivation]
    /// The graph's real inputs (the batch), counted apart from the activations.
    public var inputBytes: Int
    /// Σ every node's outputs: the forward pass with nothing freed.
    public var outputBytes: Int
    /// Σ what the backward pass keeps.
    public var savedBytes: Int
    /// The largest single workspace.
    public var peakWorkspaceBytes: Int
    /// Operators with no estimate; when not empty, the totals leave those nodes out.
    public var skippedOps: [SkippedOp]
    /// Nodes of known operators whose shapes could not be inferred, each as "name: reason".
    ///
    /// For example the nodes after a skipped op whose output shape the file does not declare.
    public var unresolvedNodes: [String]
    /// Symbolic dimension names (dim_param) replaced by the batch size.
    public var batchDimensions: [String]

    /// Activations kept for the backward pass, plus the largest workspace.
    public var totalBytes: Int { saturatingAdd(savedBytes, peakWorkspaceBytes) }
    /// True when every node was estimated: no skipped operator, no unresolved node.
    public var isComplete: Bool { skippedOps.isEmpty && unresolvedNodes.isEmpty }
}

extension ONNXModel {
    /// Estimates the activation memory of one training step at `batchSize` (see `ActivationEstimate`).
    ///
    /// A symbolic dimension takes its value from `dimensions` by name; one left out that is the first
    /// dimension of a graph input is the batch and takes `batchSize`, as does a first dimension with neither a
    /// value nor a name. Fixed dimensions are used as written. A graph input whose element type is not declared
    /// is taken to be float32.
    ///
    /// - Throws: `ImportError.invalidNode` when a node contradicts its operator (mismatched shapes, a stride of 0),
    ///   `.invalidValue` for a batch size below 1, and what `weights()` throws.
    public func estimateActivations(batchSize: Int, dimensions: [String: Int] = [:]) throws(ImportError) -> ActivationEstimate {
        guard batchSize >= 1 else {
            throw .invalidValue(path: path, field: "batch size", value: "\(batchSize)", reason: "must be at least 1")
        }
        var estimate = ActivationEstimate(
            batchSize: batchSize, nodes: [], inputBytes: 0, outputBytes: 0, savedBytes: 0, peakWorkspaceBytes: 0, skippedOps: [],
            unresolvedNodes: [], batchDimensions: [])
        var states: [String: ValueState] = [:]
        var root: [String: String] = [:]  // a view's storage is its source's
        var notActivations = Set<String>()  // initializers, constants, stand-ins, graph inputs
        var saved = Set<String>()
        var skipped: [String: Int] = [:]

        func bytes(_ state: ValueState) throws(ImportError) -> Int {
            guard let count = checkedElementCount(state.shape), let bytes = state.dtype.byteCount(elements: count) else {
                throw .sizeOverflow(path: path, tensor: "an activation", shape: state.shape)
            }
            return bytes
        }
        func add(_ a: Int, _ b: Int) throws(ImportError) -> Int {
            let (sum, overflow) = a.addingReportingOverflow(b)
            guard !overflow else { throw .sizeOverflow(path: path, tensor: "the activation total", shape: []) }
            return sum
        }

        for initializer in graph.initializers {
            states[initializer.name] = ValueState(
                dtype: initializer.dtype, shape: initializer.dims, values: initializer.integerValues)
            notActivations.insert(initializer.name)
        }
        for standIn in try weightStandIns() { notActivations.insert(standIn.name) }
        for input in graph.inputs where states[input.name] == nil {
            notActivations.insert(input.name)
            guard
                let state = declaredState(
                    input, batchSize: batchSize, dimensions: dimensions, batchNames: &estimate.batchDimensions)
            else {
                continue
            }
            states[input.name] = state
            estimate.inputBytes = try add(estimate.inputBytes, try bytes(state))
        }
        let declared = Dictionary(
            (graph.valueInfo + graph.outputs).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var ignored: [String] = []

        for node in graph.nodes {
            let inputs = node.inputs.map { $0.isEmpty ? nil : states[$0] }
            let isDefaultDomain = node.domain.isEmpty || node.domain == "ai.onnx"
            var outputs: [ValueState]?
            if isDefaultDomain, supportedOperators.contains(node.opType) {
                do {
                    outputs = try ShapeInference(path: path, node: node, inputs: inputs).infer()
                } catch {
                    switch error {
                    case .invalid(let importError): throw importError
                    case .unresolved(let reason): estimate.unresolvedNodes.append("\(printable(node.displayName)): \(reason)")
                    }
                }
            } else {
                skipped[isDefaultDomain ? node.opType : node.domain + "." + node.opType, default: 0] += 1
            }
            guard let outputs else {
                // Unknown: later nodes may still go on from the shapes the file declares for these outputs.
                for output in node.outputs where !output.isEmpty {
                    if let info = declared[output],
                        let state = declaredState(info, batchSize: batchSize, dimensions: dimensions, batchNames: &ignored)
                    {
                        states[output] = state
                        root[output] = output
                    }
                }
                continue
            }
            for (name, state) in zip(node.outputs, outputs) where !name.isEmpty {
                states[name] = state
                root[name] = name
            }
            if node.opType == "Constant" || notActivations.contains(node.outputs.first ?? "") {
                node.outputs.forEach { notActivations.insert($0) }
                continue
            }
            var entry = NodeActivation(
                name: node.displayName, opType: node.opType, outputShapes: outputs.prefix(node.outputs.count).map(\.shape),
                outputBytes: 0,
                savedBytes: 0, workspaceBytes: 0)
            if ["Reshape", "Flatten", "Unsqueeze", "Transpose", "Identity"].contains(node.opType) {
                if let output = node.outputs.first { root[output] = root[node.inputs[0]] ?? node.inputs[0] }
            } else if node.opType != "Shape" {
                for (name, state) in zip(node.outputs, outputs) where !name.isEmpty {
                    entry.outputBytes = try add(entry.outputBytes, try bytes(state))
                }
            }
            // What the backward pass keeps (see ActivationEstimate).
            let rule = savedByBackward[node.opType] ?? (inputs: [], outputs: [])
            let keptNames =
                rule.inputs.compactMap { $0 < node.inputs.count ? node.inputs[$0] : nil }
                + rule.outputs.compactMap { $0 < node.outputs.count ? node.outputs[$0] : nil }
            for name in keptNames where !name.isEmpty {
                let storage = root[name] ?? name
                guard !notActivations.contains(storage), let state = states[storage], saved.insert(storage).inserted else {
                    continue
                }
                entry.savedBytes = try add(entry.savedBytes, try bytes(state))
            }
            entry.savedBytes = try add(entry.savedBytes, try extraSaved(node, inputs: inputs, outputs: outputs))
            if node.opType == "Conv", let x = inputs[0], let w = inputs[1], let y = outputs.first {
                // (C_in / group) · Πk · Πout per sample, times N.
                let perSample =
                    [x.shape[1] / max(1, node.attribute("group")?.int ?? 1)] + w.shape.dropFirst(2) + y.shape.dropFirst(2)
                guard let elements = checkedElementCount(perSample + [x.shape[0]]),
                    let workspace = x.dtype.byteCount(elements: elements)
                else {
                    throw .sizeOverflow(path: path, tensor: "the im2col workspace of \(node.displayName)", shape: perSample)
                }
                entry.workspaceBytes = workspace
            }
            estimate.outputBytes = try add(estimate.outputBytes, entry.outputBytes)
            estimate.savedBytes = try add(estimate.savedBytes, entry.savedBytes)
            estimate.peakWorkspaceBytes = max(estimate.peakWorkspaceBytes, entry.workspaceBytes)
            estimate.nodes.append(entry)
        }
        estimate.skippedOps = skipped.map { SkippedOp(opType: $0.key, count: $0.value) }.sorted { $0.opType < $1.opType }
        return estimate
    }

    /// A graph input's or declared value's state, with symbolic dimensions resolved; nil when a dimension stays unknown.
    private func declaredState(
        _ info: ONNXValueInfo, batchSize: Int, dimensions: [String: Int], batchNames: inout [String]
    ) -> ValueState? {
        guard let declared = info.shape else { return nil }
        var shape: [Int] = []
        for (axis, dimension) in declared.enumerated() {
            switch dimension {
            case .value(let value): shape.append(value)
            case .param(let name):
                if let value = dimensions[name], value >= 0 {
                    shape.append(value)
                } else if axis == 0 {
                    shape.append(batchSize)
                    if !batchNames.contains(name) { batchNames.append(name) }
                } else {
                    return nil
                }
            case .unknown:
                guard axis == 0 else { return nil }
                shape.append(batchSize)
            }
        }
        return ValueState(dtype: info.elementType ?? .float32, shape: shape)
    }

    /// Bytes only this node keeps: MaxPool's int64 indices, BatchNorm's per-channel statistics, Dropout's mask.
    private func extraSaved(_ node: ONNXNode, inputs: [ValueState?], outputs: [ValueState]) throws(ImportError) -> Int {
        let elements: Int?
        let dtype: TensorDType
        switch node.opType {
        case "MaxPool":
            elements = outputs.first.flatMap { checkedElementCount($0.shape) }
            dtype = .int64
        case "BatchNormalization":
            elements = inputs[0].flatMap { $0.shape[1].multipliedReportingOverflow(by: 2).overflow ? nil : 2 * $0.shape[1] }
            dtype = (inputs[0]?.dtype.bitsPerElement ?? 32) > 32 ? .float64 : .float32
        case "Dropout":
            elements = inputs[0].flatMap { checkedElementCount($0.shape) }
            dtype = .bool
        default:
            return 0
        }
        guard let elements, let bytes = dtype.byteCount(elements: elements) else {
            throw .sizeOverflow(
                path: path, tensor: "what \(node.displayName) keeps for the backward pass", shape: outputs.first?.shape ?? [])
        }
        return bytes
    }
}

/// Which inputs and outputs (by index) each operator's backward pass reads (see `ActivationEstimate`).
private let savedByBackward: [String: (inputs: [Int], outputs: [Int])] = [
    "Conv": ([0, 1], []), "Gemm": ([0, 1], []), "MatMul": ([0, 1], []), "Mul": ([0, 1], []),
    "Relu": ([], [0]), "Sigmoid": ([], [0]), "Tanh": ([], [0]), "Softmax": ([], [0]), "LRN": ([0], [0]),
    "BatchNormalization": ([0], []), "MaxPool": ([0], []), "AveragePool": ([0], []), "GlobalAveragePool": ([0], []),
]

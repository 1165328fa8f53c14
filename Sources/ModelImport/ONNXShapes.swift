// Shape inference for the ONNX operators memplan estimates: each node's output shapes from its inputs' shapes
// and its attributes, following the ONNX operator specifications. Every size read from the file is checked:
// a contradiction (K = 3 against K = 4, a stride of 0) is an error naming the node; a shape that cannot be
// known before run time leaves the node unresolved instead.

/// What inference knows about one value: its element type, its shape, and for small integer tensors
/// (shapes, axes) their values.
struct ValueState: Hashable {
    var dtype: TensorDType
    var shape: [Int]
    var values: [Int]?
}

/// Why a node's outputs could not be inferred.
enum InferenceFailure: Error {
    /// The shapes depend on something only known at run time, or on an input that is itself unknown.
    case unresolved(String)
    case invalid(ImportError)
}

/// The operators `inferShapes` knows.
let supportedOperators: Set<String> = [
    "Gemm", "MatMul", "Add", "Sum", "Mul", "Relu", "Sigmoid", "Tanh", "Softmax", "LRN", "Dropout", "Identity",
    "Conv", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Concat",
    "Unsqueeze", "Transpose", "Constant", "ConstantOfShape", "Shape",
]

/// Infers one node's outputs (nil for an operator outside `supportedOperators`).
struct ShapeInference {
    let path: String
    let node: ONNXNode
    /// One per node input; nil for an omitted ("") or unknown input.
    let inputs: [ValueState?]

    func invalid(_ problem: String) -> InferenceFailure {
        .invalid(.invalidNode(path: path, node: node.displayName, opType: node.opType, problem: problem))
    }

    /// Input `index`, which the operator requires.
    func input(_ index: Int) throws(InferenceFailure) -> ValueState {
        guard index < node.inputs.count, !node.inputs[index].isEmpty else { throw invalid("needs input \(index + 1)") }
        guard let state = inputs[index] else { throw .unresolved("input \(quoted(node.inputs[index])) has no known shape") }
        return state
    }

    func optionalInput(_ index: Int) throws(InferenceFailure) -> ValueState? {
        index < node.inputs.count && !node.inputs[index].isEmpty ? try input(index) : nil
    }

    func int(_ name: String, default value: Int) -> Int { node.attribute(name)?.int ?? value }

    /// An `ints` attribute of exactly `count` values ≥ `minimum`, or `fill` repeated when absent.
    func ints(_ name: String, count: Int, minimum: Int, fill: Int) throws(InferenceFailure) -> [Int] {
        guard let values = node.attribute(name)?.ints else { return Array(repeating: fill, count: count) }
        guard values.count == count else { throw invalid("\(name) has \(values.count) values, the input needs \(count)") }
        guard values.allSatisfy({ $0 >= minimum }) else {
            throw invalid("\(name) \(shapeText(values)) has a value below \(minimum)")
        }
        return values
    }

    /// An axis attribute or value normalized into 0..<rank.
    func axis(_ value: Int, rank: Int, what: String = "axis") throws(InferenceFailure) -> Int {
        guard value >= -rank, value < rank else { throw invalid("\(what) \(value) is outside a rank-\(rank) tensor") }
        return value < 0 ? value + rank : value
    }

    func product(_ dims: some Collection<Int>) throws(InferenceFailure) -> Int {
        guard let count = checkedElementCount(Array(dims)) else { throw invalid("a shape's element count overflows 64 bits") }
        return count
    }

    func checked(_ result: (partialValue: Int, overflow: Bool)) throws(InferenceFailure) -> Int {
        guard !result.overflow else { throw invalid("a size overflows 64 bits") }
        return result.partialValue
    }

    /// Multidirectional (numpy) broadcasting of `shapes`.
    func broadcast(_ shapes: [[Int]]) throws(InferenceFailure) -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var result = Array(repeating: 1, count: rank)
        for shape in shapes {
            for (offset, dimension) in shape.reversed().enumerated() {
                let index = rank - 1 - offset
                if result[index] == 1 {
                    result[index] = dimension
                } else if dimension != 1 && dimension != result[index] {
                    throw invalid("shapes \(shapes.map(shapeText).joined(separator: " and ")) do not broadcast")
                }
            }
        }
        return result
    }

    func infer() throws(InferenceFailure) -> [ValueState]? {
        switch node.opType {
        case "Relu", "Sigmoid", "Tanh", "Softmax", "LRN", "Identity":
            return [try input(0)].map { ValueState(dtype: $0.dtype, shape: $0.shape) }
        case "Dropout":
            let x = try input(0)
            return [ValueState(dtype: x.dtype, shape: x.shape), ValueState(dtype: .bool, shape: x.shape)]
        case "Add", "Sum", "Mul":
            let operands = try (0..<node.inputs.count).map { (index: Int) throws(InferenceFailure) in try input(index) }
            guard let first = operands.first else { throw invalid("needs input 1") }
            return [ValueState(dtype: first.dtype, shape: try broadcast(operands.map(\.shape)))]
        case "Gemm": return [try gemm()]
        case "MatMul": return [try matMul()]
        case "Conv": return [try convolution()]
        case "MaxPool", "AveragePool":
            let y = try pool()
            return node.opType == "MaxPool" ? [y, ValueState(dtype: .int64, shape: y.shape)] : [y]
        case "GlobalAveragePool":
            let x = try input(0)
            guard x.shape.count >= 3 else { throw invalid("input \(shapeText(x.shape)) is not (N, C, spatial…)") }
            return [ValueState(dtype: x.dtype, shape: Array(x.shape.prefix(2)) + Array(repeating: 1, count: x.shape.count - 2))]
        case "BatchNormalization": return try batchNormalization()
        case "Flatten":
            let x = try input(0)
            let value = int("axis", default: 1)  // in -r…r; negative counts from the end
            guard value >= -x.shape.count, value <= x.shape.count else {
                throw invalid("axis \(value) is outside -\(x.shape.count)…\(x.shape.count)")
            }
            let split = value < 0 ? value + x.shape.count : value
            return [
                ValueState(dtype: x.dtype, shape: [try product(x.shape.prefix(split)), try product(x.shape.dropFirst(split))])
            ]
        case "Reshape": return [try reshape()]
        case "Concat": return [try concat()]
        case "Unsqueeze": return [try unsqueeze()]
        case "Transpose":
            let x = try input(0)
            let perm = node.attribute("perm")?.ints ?? Array((0..<x.shape.count).reversed())
            guard perm.sorted() == Array(0..<x.shape.count) else {
                throw invalid("perm \(shapeText(perm)) is not a permutation of \(x.shape.count) axes")
            }
            return [ValueState(dtype: x.dtype, shape: perm.map { x.shape[$0] })]
        case "Constant":
            guard let tensor = node.constantTensor else { throw .unresolved("a Constant of a kind memplan does not read") }
            return [ValueState(dtype: tensor.dtype, shape: tensor.dims, values: tensor.integerValues)]
        case "ConstantOfShape":
            guard let shape = try input(0).values else { throw .unresolved("its shape is computed at run time") }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw invalid("shape \(shapeText(shape)) has a negative dimension") }
            guard shape.count <= ONNXModel.maximumRank else { throw invalid("shape has \(shape.count) dimensions") }
            return [ValueState(dtype: node.attribute("value")?.tensor?.dtype ?? .float32, shape: shape)]
        case "Shape":
            let shape = try input(0).shape
            // start and end (opset 15) slice the shape; negative values count from the end; both are clamped.
            func clamp(_ value: Int) -> Int { min(max(value < 0 ? value + shape.count : value, 0), shape.count) }
            let start = clamp(int("start", default: 0))
            let values = Array(shape[start..<max(start, clamp(int("end", default: shape.count)))])
            return [ValueState(dtype: .int64, shape: [values.count], values: values)]
        default:
            return nil
        }
    }

    private func gemm() throws(InferenceFailure) -> ValueState {
        let a = try input(0)
        let b = try input(1)
        guard a.shape.count == 2, b.shape.count == 2 else {
            throw invalid("A \(shapeText(a.shape)) and B \(shapeText(b.shape)) must be matrices")
        }
        let (m, k) = int("transA", default: 0) != 0 ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (kB, n) = int("transB", default: 0) != 0 ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard k == kB else { throw invalid("A is \(m)×\(k) but B is \(kB)×\(n) (after transA/transB)") }
        if let c = try optionalInput(2) {
            // C broadcasts one way, to M × N.
            let fits = c.shape.count <= 2 && zip(c.shape.reversed(), [n, m]).allSatisfy { $0 == 1 || $0 == $1 }
            guard fits else { throw invalid("C \(shapeText(c.shape)) does not broadcast to \(m)×\(n)") }
        }
        return ValueState(dtype: a.dtype, shape: [m, n])
    }

    private func matMul() throws(InferenceFailure) -> ValueState {
        let a = try input(0)
        let b = try input(1)
        guard !a.shape.isEmpty, !b.shape.isEmpty else { throw invalid("MatMul of a scalar") }
        let left = a.shape.count == 1 ? [1] + a.shape : a.shape
        let right = b.shape.count == 1 ? b.shape + [1] : b.shape
        guard left[left.count - 1] == right[right.count - 2] else {
            throw invalid("inner dimensions differ: \(shapeText(a.shape)) × \(shapeText(b.shape))")
        }
        var shape = try broadcast([Array(left.dropLast(2)), Array(right.dropLast(2))])
        if a.shape.count > 1 { shape.append(left[left.count - 2]) }
        if b.shape.count > 1 { shape.append(right[right.count - 1]) }
        return ValueState(dtype: a.dtype, shape: shape)
    }

    /// Output spatial sizes of a sliding window (Conv, MaxPool, AveragePool) over `x`'s spatial dimensions.
    ///
    /// Effective kernel kₑ = (k − 1)·d + 1. With explicit pads (auto_pad NOTSET):
    /// out = ⌊(in + pad_begin + pad_end − kₑ) / s⌋ + 1 (⌈…⌉ with ceil_mode, dropping a last window that would
    /// start inside the end padding); VALID: out = ⌊(in − kₑ) / s⌋ + 1; SAME_UPPER / SAME_LOWER: out = ⌈in / s⌉.
    func window(input spatial: [Int], kernel: [Int], ceilMode: Bool) throws(InferenceFailure) -> [Int] {
        let count = spatial.count
        let strides = try ints("strides", count: count, minimum: 1, fill: 1)
        let dilations = try ints("dilations", count: count, minimum: 1, fill: 1)
        let pads = try ints("pads", count: 2 * count, minimum: 0, fill: 0)
        guard kernel.allSatisfy({ $0 >= 1 }) else { throw invalid("kernel \(shapeText(kernel)) has a size below 1") }
        let autoPad = node.attribute("auto_pad")?.string ?? "NOTSET"
        var output: [Int] = []
        for index in 0..<count {
            let effective = try checked(
                try checked((kernel[index] - 1).multipliedReportingOverflow(by: dilations[index])).addingReportingOverflow(1))
            let size = spatial[index]
            switch autoPad {
            case "SAME_UPPER", "SAME_LOWER":
                output.append(size / strides[index] + (size % strides[index] == 0 ? 0 : 1))
            case "VALID", "NOTSET":
                let padded =
                    autoPad == "VALID"
                    ? size
                    : try checked(
                        try checked(size.addingReportingOverflow(pads[index])).addingReportingOverflow(pads[index + count]))
                guard padded >= effective else {
                    throw invalid(
                        "a window of \(effective) does not fit in \(padded) (input \(shapeText(spatial)), kernel \(shapeText(kernel)))"
                    )
                }
                var out = (padded - effective) / strides[index] + 1
                if ceilMode && autoPad == "NOTSET" && (padded - effective) % strides[index] != 0 {
                    // One more window, unless it would start inside the end padding.
                    if try checked(out.multipliedReportingOverflow(by: strides[index])) < size + pads[index] { out += 1 }
                }
                output.append(out)
            default:
                throw invalid("auto_pad \(quoted(autoPad)) is not NOTSET, VALID, SAME_UPPER or SAME_LOWER")
            }
        }
        return output
    }

    private func convolution() throws(InferenceFailure) -> ValueState {
        let x = try input(0)
        let w = try input(1)
        let group = int("group", default: 1)
        guard x.shape.count >= 3, w.shape.count == x.shape.count else {
            throw invalid("X \(shapeText(x.shape)) and W \(shapeText(w.shape)) must both be (N, C, spatial…) of one rank")
        }
        guard group >= 1, x.shape[1] % group == 0, w.shape[0] % group == 0, w.shape[1] == x.shape[1] / group else {
            throw invalid("W \(shapeText(w.shape)) does not match \(x.shape[1]) input channels in \(group) group(s)")
        }
        let kernel = Array(w.shape.dropFirst(2))
        if let declared = node.attribute("kernel_shape")?.ints, declared != kernel {
            throw invalid("kernel_shape \(shapeText(declared)) differs from W's \(shapeText(kernel))")
        }
        if let b = try optionalInput(2), b.shape != [w.shape[0]] {
            throw invalid("B \(shapeText(b.shape)) is not [\(w.shape[0])]")
        }
        let spatial = try window(input: Array(x.shape.dropFirst(2)), kernel: kernel, ceilMode: false)
        return ValueState(dtype: x.dtype, shape: [x.shape[0], w.shape[0]] + spatial)
    }

    private func pool() throws(InferenceFailure) -> ValueState {
        let x = try input(0)
        guard x.shape.count >= 3 else { throw invalid("input \(shapeText(x.shape)) is not (N, C, spatial…)") }
        guard let kernel = node.attribute("kernel_shape")?.ints, kernel.count == x.shape.count - 2 else {
            throw invalid("kernel_shape must give one size per spatial dimension of \(shapeText(x.shape))")
        }
        let spatial = try window(input: Array(x.shape.dropFirst(2)), kernel: kernel, ceilMode: int("ceil_mode", default: 0) != 0)
        return ValueState(dtype: x.dtype, shape: Array(x.shape.prefix(2)) + spatial)
    }

    private func batchNormalization() throws(InferenceFailure) -> [ValueState] {
        let x = try input(0)
        guard x.shape.count >= 2 else { throw invalid("input \(shapeText(x.shape)) has no channel dimension") }
        let channels = [x.shape[1]]
        // Opset 1–8's spatial = 0 keeps statistics per channel and position; their shapes are not checked then.
        for index in 1...4 where int("spatial", default: 1) != 0 {
            if let statistic = try optionalInput(index), statistic.shape != channels {
                throw invalid("input \(index + 1) is \(shapeText(statistic.shape)), expected \(shapeText(channels))")
            }
        }
        // Optional outputs (running or saved mean and variance) are per channel.
        return [ValueState(dtype: x.dtype, shape: x.shape)]
            + node.outputs.dropFirst().map { _ in ValueState(dtype: x.dtype == .float16 ? .float32 : x.dtype, shape: channels) }
    }

    private func reshape() throws(InferenceFailure) -> ValueState {
        let x = try input(0)
        let target: [Int]
        if node.inputs.count > 1 {
            guard let values = try input(1).values else { throw .unresolved("its target shape is computed at run time") }
            target = values
        } else if let values = node.attribute("shape")?.ints {  // opset 1–4
            target = values
        } else {
            throw invalid("has no target shape")
        }
        let allowZero = int("allowzero", default: 0) != 0
        var shape: [Int] = []
        var inferred: Int?
        for (index, value) in target.enumerated() {
            switch value {
            case -1:
                guard inferred == nil else { throw invalid("target shape \(shapeText(target)) has more than one -1") }
                inferred = index
                shape.append(1)
            case 0 where !allowZero:
                guard index < x.shape.count else {
                    throw invalid("target shape \(shapeText(target)) copies dimension \(index) of \(shapeText(x.shape))")
                }
                shape.append(x.shape[index])
            case ..<0: throw invalid("target shape \(shapeText(target)) has a negative dimension")
            default: shape.append(value)
            }
        }
        let total = try product(x.shape)
        let known = try product(shape)
        if let inferred {
            guard known > 0, total % known == 0 else {
                throw invalid("cannot reshape \(shapeText(x.shape)) to \(shapeText(target))")
            }
            shape[inferred] = total / known
        }
        guard try product(shape) == total else {
            throw invalid("cannot reshape \(shapeText(x.shape)) (\(total) elements) to \(shapeText(target))")
        }
        return ValueState(dtype: x.dtype, shape: shape, values: x.values)
    }

    private func concat() throws(InferenceFailure) -> ValueState {
        let parts = try (0..<node.inputs.count).map { (index: Int) throws(InferenceFailure) in try input(index) }
        guard let first = parts.first else { throw invalid("needs input 1") }
        guard let axisValue = node.attribute("axis")?.int else { throw invalid("has no axis") }
        let axis = try axis(axisValue, rank: first.shape.count)
        var shape = first.shape
        for part in parts.dropFirst() {
            guard part.shape.count == shape.count,
                part.shape.indices.allSatisfy({ $0 == axis || part.shape[$0] == shape[$0] })
            else { throw invalid("cannot concatenate \(shapeText(first.shape)) and \(shapeText(part.shape)) along axis \(axis)") }
            shape[axis] = try checked(shape[axis].addingReportingOverflow(part.shape[axis]))
        }
        let values = parts.allSatisfy { $0.values != nil && $0.shape.count == 1 } ? parts.flatMap { $0.values ?? [] } : nil
        return ValueState(dtype: first.dtype, shape: shape, values: values)
    }

    private func unsqueeze() throws(InferenceFailure) -> ValueState {
        let x = try input(0)
        let axes: [Int]
        if let attribute = node.attribute("axes")?.ints {
            axes = attribute
        } else if node.inputs.count > 1 {
            guard let values = try input(1).values else { throw .unresolved("its axes are computed at run time") }
            axes = values
        } else {
            throw invalid("has no axes")
        }
        let rank = x.shape.count + axes.count
        guard rank <= ONNXModel.maximumRank else { throw invalid("output would have \(rank) dimensions") }
        let positions = try axes.map { (value: Int) throws(InferenceFailure) in try axis(value, rank: rank, what: "axes value") }
        guard Set(positions).count == positions.count else { throw invalid("axes \(shapeText(axes)) repeat an axis") }
        var remaining = x.shape.makeIterator()
        let shape = (0..<rank).map { positions.contains($0) ? 1 : remaining.next() ?? 1 }
        return ValueState(dtype: x.dtype, shape: shape, values: x.values)
    }
}

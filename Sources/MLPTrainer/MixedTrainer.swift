// bf16-mixed training of a dense network: the step program's ops on bf16 compute copies, fp32 master weights and fp32
// optimizer state, all at the plan's offsets. Products go through CGEMM's bf16 kernels (AMX where the CPU has it, else
// the same values multiplied in fp32), each with the epilogue that writes what the op produces.

import ArenaPlanner
import CGEMM
import MemoryBudget
import ModelProfile
import NUMAArena
import TrainingData

/// One dense layer's tensors in a bf16-mixed step. Shapes: B batch, I inputs, O outputs.
struct MixedLayer {
    let spec: LayerSpec
    let isLast: Bool
    /// x or the previous layer's output (B, I), bf16
    let input: UnsafeMutablePointer<UInt16>
    /// W (O, I) bf16 and its fp32 master
    let weights: UnsafeMutablePointer<UInt16>
    let masterWeights: UnsafeMutablePointer<Float>
    /// b (O) bf16 and its fp32 master, or nil
    let bias: UnsafeMutablePointer<UInt16>?
    let masterBias: UnsafeMutablePointer<Float>?
    /// a (B, O) bf16: f(z) of a hidden layer; the last layer's logits z, overwritten by ∂L/∂z in the loss
    let output: UnsafeMutablePointer<UInt16>
    /// dz (B, O) bf16 (hidden layers; the last layer's is its output)
    let delta: UnsafeMutablePointer<UInt16>?
    /// dW (O, I) and db (O), bf16; nil when the update is fused (plain SGD)
    let weightGradient: UnsafeMutablePointer<UInt16>?
    let biasGradient: UnsafeMutablePointer<UInt16>?
    /// The optimizer's fp32 state tensors of W and of b (`OptimizerKind.stateNames` order)
    let weightStates: [UnsafeMutablePointer<Float>]
    let biasStates: [UnsafeMutablePointer<Float>]

    var inputWidth: Int { spec.inputWidth }
    var outputWidth: Int { spec.outputWidth }
    /// Where ∂L/∂z arrives: the output of the last layer, else dz.
    var incomingDelta: UnsafeMutablePointer<UInt16> { delta ?? output }

    /// The epilogue's code for f: the last layer's f (softmax, sigmoid) runs in the loss, on fp32 logits.
    var epilogueActivation: Int32 { isLast ? Int32(MEMPLAN_ACTIVATION_IDENTITY) : MixedLayer.code(spec.activation) }

    static func code(_ activation: Activation) -> Int32 {
        switch activation {
        case .relu: Int32(MEMPLAN_ACTIVATION_RELU)
        case .sigmoid: Int32(MEMPLAN_ACTIVATION_SIGMOID)
        case .tanh: Int32(MEMPLAN_ACTIVATION_TANH)
        default: Int32(MEMPLAN_ACTIVATION_IDENTITY)
        }
    }
}

/// Why a model cannot train bf16-mixed (nil when it can): the mixed step covers dense layers without layer norm,
/// hidden activations relu, identity, sigmoid and tanh, and the pairs softmax + cross-entropy, sigmoid + binary
/// cross-entropy and identity + l2.
public func mixedTrainingRefusal(_ model: Model) -> String? {
    for (index, layer) in model.layers.enumerated() {
        if layer.normalization != nil { return "layer \(index + 1) has layer norm, which the bf16-mixed step does not run yet" }
        if layer.isFrozen { return "layer \(index + 1) is frozen, which the bf16-mixed step does not run yet" }
        if index < model.layers.count - 1, ![.relu, .identity, .sigmoid, .tanh].contains(layer.activation) {
            return "hidden layer \(index + 1)'s activation \(layer.activation.rawValue) has no bf16-mixed kernel"
        }
    }
    let output = model.layers.last?.activation
    switch (model.loss, output) {
    case (.softmaxCrossEntropy, .softmax), (.binaryCrossEntropy, .sigmoid), (.l2, .identity): return nil
    default:
        return "the loss \(model.loss.rawValue) after \(output?.rawValue ?? "no") output has no bf16-mixed kernel "
            + "(softmax + cross-entropy, sigmoid + binary cross-entropy, identity + l2 do)"
    }
}

/// Every tensor of a bf16-mixed dense step, resolved from the plan. The dataset is decoded once at the recipe's master
/// precision (fp32; byte features stay bytes), and the load op rounds each batch to bf16 into x and y.
struct MixedTensors {
    let features: UnsafeMutablePointer<UInt16>
    let targets: UnsafeMutablePointer<UInt16>
    let layers: [MixedLayer]
    let data: DataTensors<Float>

    init(program: StepProgram, plan: ArenaPlan, arena: Arena) {
        precondition(plan.requests.map(\.name) == program.buffers.map(\.name), "MixedTensors: the plan is not this program's")
        func view<T>(_ id: TensorID, _: T.Type) -> UnsafeMutablePointer<T>? {
            guard let index = program.index(of: id) else { return nil }
            return arena.pointer(
                at: plan.offsets[index], count: plan.requests[index].byteCount / MemoryLayout<T>.stride, as: T.self)
        }
        func required<T>(_ id: TensorID, _ type: T.Type) -> UnsafeMutablePointer<T> {
            guard let pointer = view(id, type) else { preconditionFailure("MixedTensors: the program has no tensor \(id)") }
            return pointer
        }
        let model = program.model
        features = required(TensorID(.features), UInt16.self)
        targets = required(TensorID(.targets), UInt16.self)
        let stateCount = model.optimizer.kind.stateNames.count
        var layers: [MixedLayer] = []
        for (offset, spec) in model.layers.enumerated() {
            let k = offset + 1
            let weight = TensorID(layer: k, DenseTensor.weight)
            let bias = TensorID(layer: k, DenseTensor.bias)
            let hasBias = program.index(of: bias) != nil
            layers.append(
                MixedLayer(
                    spec: spec, isLast: k == model.layers.count, input: offset == 0 ? features : layers[offset - 1].output,
                    weights: required(weight, UInt16.self), masterWeights: required(weight.master, Float.self),
                    bias: hasBias ? required(bias, UInt16.self) : nil,
                    masterBias: hasBias ? required(bias.master, Float.self) : nil,
                    output: required(TensorID(layer: k, DenseTensor.output), UInt16.self),
                    delta: view(TensorID(layer: k, DenseTensor.delta), UInt16.self),
                    weightGradient: view(weight.gradient, UInt16.self), biasGradient: view(bias.gradient, UInt16.self),
                    weightStates: (0..<stateCount).map { required(weight.state($0), Float.self) },
                    biasStates: hasBias ? (0..<stateCount).map { required(bias.state($0), Float.self) } : []))
        }
        self.layers = layers
        let shape = program.data ?? DataShape(trainCount: 0, testCount: 0)
        let batchFeatures = UnsafeMutableRawPointer(features).assumingMemoryBound(to: Float.self)
        func featureRows(_ id: TensorID) -> FeatureRows<Float> {
            guard let index = program.index(of: id) else { return .scalars(batchFeatures) }
            let offset = plan.offsets[index]
            return shape.featureStorage == .byte
                ? .bytes(arena.pointer(at: offset, count: plan.requests[index].byteCount, as: UInt8.self))
                : .scalars(required(id, Float.self))
        }
        let batchTargets = UnsafeMutableRawPointer(targets).assumingMemoryBound(to: Float.self)
        data = DataTensors(
            trainCount: shape.trainCount, testCount: shape.testCount, featureWidth: model.inputWidth,
            targetWidth: model.outputWidth, trainFeatures: featureRows(TensorID(.trainFeatures)),
            trainTargets: view(TensorID(.trainTargets), Float.self) ?? batchTargets,
            testFeatures: featureRows(TensorID(.testFeatures)),
            testTargets: view(TensorID(.testTargets), Float.self) ?? batchTargets,
            order: program.orderView(plan: plan, arena: arena))
    }
}

/// The loss of a bf16-mixed step, in fp32 from the last layer's bf16 logits z: softmax cross-entropy
/// (−Σ y·log softmax(z), one pass for the max, one for Σ exp), binary cross-entropy of σ(z), or l2 of z. With
/// `writeGradient`, z becomes ∂(mean loss)/∂z in bf16: (softmax(z) − y)/B, (σ(z) − y)/B or (z − y)/B.
enum MixedLoss {
    static func apply(
        logits z: UnsafeMutablePointer<UInt16>, targets y: UnsafePointer<UInt16>, rows: Int, columns: Int, loss: Loss,
        writeGradient: Bool
    ) -> Kernels.LossResult {
        let scale = 1 / Float(rows)
        var result = Kernels.LossResult(loss: 0, correct: 0, judged: 0)
        for row in 0..<rows {
            let (logits, target) = (z + row * columns, y + row * columns)
            switch loss {
            case .softmaxCrossEntropy:
                var (largest, best, truth) = (-Float.infinity, 0, 0)
                for column in 0..<columns {
                    let value = BF16.value(logits[column])
                    if value > largest { (largest, best) = (value, column) }
                    if BF16.value(target[column]) > BF16.value(target[truth]) { truth = column }
                }
                var sum: Float = 0
                for column in 0..<columns { sum += Float.exp(BF16.value(logits[column]) - largest) }
                let logSum = Float.log(sum)
                var rowLoss: Float = 0
                for column in 0..<columns {
                    let (value, wanted) = (BF16.value(logits[column]), BF16.value(target[column]))
                    if wanted != 0 { rowLoss -= wanted * (value - largest - logSum) }
                    if writeGradient {
                        logits[column] = BF16.rounded((Float.exp(value - largest) / sum - wanted) * scale)
                    }
                }
                result.loss += Double(rowLoss)
                if best == truth { result.correct += 1 }
                result.judged += 1
            case .binaryCrossEntropy:
                for column in 0..<columns {
                    let (value, wanted) = (BF16.value(logits[column]), BF16.value(target[column]))
                    // −[y·log σ(z) + (1 − y)·log(1 − σ(z))] = max(z, 0) − y·z + log(1 + e^−|z|)
                    result.loss += Double(max(value, 0) - wanted * value + Float.log(1 + Float.exp(-abs(value))))
                    if (value >= 0) == (wanted >= 0.5) { result.correct += 1 }
                    result.judged += 1
                    if writeGradient { logits[column] = BF16.rounded((1 / (1 + Float.exp(-value)) - wanted) * scale) }
                }
            default:  // l2 after identity
                for column in 0..<columns {
                    let difference = BF16.value(logits[column]) - BF16.value(target[column])
                    result.loss += Double(difference * difference) / 2
                    if writeGradient { logits[column] = BF16.rounded(difference * scale) }
                }
            }
        }
        return result
    }
}

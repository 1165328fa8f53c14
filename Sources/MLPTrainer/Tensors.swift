// Typed views of the arena at the plan's offsets: the one place planned names become pointers.

import ArenaPlanner
import ModelProfile
import NUMAArena

/// One layer's tensors. Shapes: O = outputWidth, I = inputWidth, B = the batch capacity.
struct LayerTensors<T: TrainingScalar> {
    let inputWidth: Int
    let outputWidth: Int
    let activation: Activation
    /// W (O, I)
    let weights: UnsafeMutablePointer<T>
    /// b (O), nil without bias
    let bias: UnsafeMutablePointer<T>?
    /// dW (O, I)
    let dWeights: UnsafeMutablePointer<T>
    /// db (O)
    let dBias: UnsafeMutablePointer<T>?
    /// a (B, O): the layer's output
    let output: UnsafeMutablePointer<T>
    /// dz (B, O): ∂L/∂z; the output layer's is `output` itself, overwritten by the loss
    let delta: UnsafeMutablePointer<T>
    /// Optimizer state for W and b: momentum v, or Adam m then v; empty for SGD.
    let weightState: [UnsafeMutablePointer<T>]
    let biasState: [UnsafeMutablePointer<T>]

    var weightCount: Int { outputWidth * inputWidth }
}

/// The dataset in the arena. Shapes: N = trainCount, M = testCount, I = features, K = targets.
struct DataTensors<T: TrainingScalar> {
    let trainCount: Int
    let testCount: Int
    let featureWidth: Int
    let targetWidth: Int
    /// (N, I)
    let trainFeatures: UnsafeMutablePointer<T>
    /// (N, K)
    let trainTargets: UnsafeMutablePointer<T>
    /// (M, I)
    let testFeatures: UnsafeMutablePointer<T>
    /// (M, K)
    let testTargets: UnsafeMutablePointer<T>
    /// (N): a permutation of 0 ..< N; its tail is the validation set
    let order: UnsafeMutablePointer<Int32>
}

/// Every tensor of a training run, resolved once from the plan against the arena.
struct ModelTensors<T: TrainingScalar> {
    let batchCapacity: Int
    /// x (B, I₀)
    let features: UnsafeMutablePointer<T>
    /// y (B, K)
    let targets: UnsafeMutablePointer<T>
    let layers: [LayerTensors<T>]
    let data: DataTensors<T>

    /// Resolves every buffer of `schedule` at its planned offset in `arena`.
    ///
    /// Traps (a programmer error) if the plan lacks a buffer the schedule defines.
    init(schedule: TrainingSchedule, plan: ArenaPlan, arena: Arena) {
        precondition(plan.requests.map(\.name) == schedule.buffers.map(\.name), "ModelTensors: the plan is not this schedule's")
        var offsets: [String: Int] = [:]
        var sizes: [String: Int] = [:]
        for (index, request) in plan.requests.enumerated() {
            offsets[request.name] = plan.offsets[index]
            sizes[request.name] = request.byteCount
        }
        func view(_ name: String) -> UnsafeMutablePointer<T> {
            guard let offset = offsets[name], let bytes = sizes[name] else { preconditionFailure("ModelTensors: no buffer '\(name)' in the plan") }
            return arena.pointer(at: offset, count: bytes / MemoryLayout<T>.stride, as: T.self)
        }
        func optionalView(_ name: String) -> UnsafeMutablePointer<T>? { offsets[name] == nil ? nil : view(name) }

        let model = schedule.model
        batchCapacity = model.batchSize
        features = view("x")
        targets = view("y")
        let stateNames: [String] = switch model.optimizer.kind {
        case .sgd: []
        case .momentum: ["v"]
        case .adam: ["m", "v"]
        }
        var layers: [LayerTensors<T>] = []
        for (offset, layer) in model.layers.enumerated() {
            let k = offset + 1
            let output = view("a\(k)")
            layers.append(
                LayerTensors(
                    inputWidth: layer.inputWidth, outputWidth: layer.outputWidth, activation: layer.activation,
                    weights: view("W\(k)"), bias: optionalView("b\(k)"), dWeights: view("dW\(k)"), dBias: optionalView("db\(k)"),
                    output: output, delta: k == model.layers.count ? output : view("dz\(k)"),
                    weightState: stateNames.map { view("\($0)W\(k)") }, biasState: layer.hasBias ? stateNames.map { view("\($0)b\(k)") } : []))
        }
        self.layers = layers
        let shape = schedule.data ?? DataShape(trainCount: 0, testCount: 0)
        let orderOffset = offsets["order"]
        data = DataTensors(
            trainCount: shape.trainCount, testCount: shape.testCount, featureWidth: model.inputWidth, targetWidth: model.outputWidth,
            trainFeatures: optionalView("train.x") ?? features, trainTargets: optionalView("train.y") ?? targets,
            testFeatures: optionalView("test.x") ?? features, testTargets: optionalView("test.y") ?? targets,
            order: orderOffset.map { arena.pointer(at: $0, count: shape.trainCount, as: Int32.self) }
                ?? arena.pointer(at: 0, count: 0, as: Int32.self))
    }
}

// Typed views of the arena at the plan's offsets: the one place planned names become pointers.

import ArenaPlanner
import CGEMM
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

/// Feature rows in the arena: elements of the model's precision, or bytes read as byte / 255
/// (`FeatureStorage.byte`: image files' pixel intensities, kept as the files hold them).
enum FeatureRows<T: TrainingScalar> {
    /// (rows, I) in T
    case scalars(UnsafeMutablePointer<T>)
    /// (rows, I) bytes; feature = T(byte) · (1 / 255), exactly what decoding to T up front would store
    case bytes(UnsafeMutablePointer<UInt8>)

    /// The factor from a stored byte to its feature value: T(1) / 255.
    static var byteScale: T { T(1) / 255 }

    /// destination[i] = feature(start + i), for i in 0 ..< count: a copy, or bytes scaled (SIMD).
    @inline(__always)
    func read(from start: Int, count: Int, into destination: UnsafeMutablePointer<T>) {
        switch self {
        case .scalars(let values): destination.update(from: values + start, count: count)
        case .bytes(let bytes): T.scaleBytes(bytes + start, by: Self.byteScale, count: count, into: destination)
        }
    }

    /// Prefetches the lines holding features `start ..< start + count` (see `prefetchCacheLines`).
    @inline(__always)
    func prefetch(from start: Int, count: Int) {
        switch self {
        case .scalars(let values): prefetchCacheLines(values + start, byteCount: count * MemoryLayout<T>.stride)
        case .bytes(let bytes): prefetchCacheLines(bytes + start, byteCount: count)
        }
    }

    /// Touches the lines holding features `start ..< start + count` (see `touchCacheLines`).
    @inline(__always)
    func touch(from start: Int, count: Int) -> UInt8 {
        switch self {
        case .scalars(let values): touchCacheLines(values + start, byteCount: count * MemoryLayout<T>.stride)
        case .bytes(let bytes): touchCacheLines(bytes + start, byteCount: count)
        }
    }

    /// The elements of a `.scalars` store; only sources that plan `FeatureStorage.precision` write here.
    var scalars: UnsafeMutablePointer<T> {
        guard case .scalars(let values) = self else { preconditionFailure("FeatureRows: byte-stored features have no scalar view") }
        return values
    }

    /// The bytes of a `.bytes` store; only sources that plan `FeatureStorage.byte` (image files) write here.
    var bytes: UnsafeMutablePointer<UInt8> {
        guard case .bytes(let bytes) = self else { preconditionFailure("FeatureRows: precision-stored features have no byte view") }
        return bytes
    }
}

/// Prefetches every 64-byte line of `base ..< base + byteCount` (and its last byte's): hints that return at once,
/// so the lines arrive while other work runs.
@inline(__always)
func prefetchCacheLines(_ base: UnsafeRawPointer, byteCount: Int) {
    guard byteCount > 0 else { return }
    var offset = 0
    while offset < byteCount {
        memplan_prefetch(base + offset)
        offset += 64
    }
    memplan_prefetch(base + byteCount - 1)
}

/// ORs one byte of each 64-byte line of `base ..< base + byteCount` (and its last byte): loads that start
/// those lines' cache misses together instead of one after another, without waiting on them.
@inline(__always)
func touchCacheLines(_ base: UnsafeRawPointer, byteCount: Int) -> UInt8 {
    guard byteCount > 0 else { return 0 }
    var touched: UInt8 = 0
    var offset = 0
    while offset < byteCount {
        touched |= base.load(fromByteOffset: offset, as: UInt8.self)
        offset += 64
    }
    return touched | base.load(fromByteOffset: byteCount - 1, as: UInt8.self)
}

/// The dataset in the arena. Shapes: N = trainCount, M = testCount, I = features, K = targets.
struct DataTensors<T: TrainingScalar> {
    let trainCount: Int
    let testCount: Int
    let featureWidth: Int
    let targetWidth: Int
    /// (N, I)
    let trainFeatures: FeatureRows<T>
    /// (N, K)
    let trainTargets: UnsafeMutablePointer<T>
    /// (M, I)
    let testFeatures: FeatureRows<T>
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
        let batchFeatures = features
        func featureRows(_ name: String) -> FeatureRows<T> {
            guard let offset = offsets[name], let bytes = sizes[name] else { return .scalars(batchFeatures) }
            return shape.featureStorage == .byte
                ? .bytes(arena.pointer(at: offset, count: bytes, as: UInt8.self)) : .scalars(view(name))
        }
        data = DataTensors(
            trainCount: shape.trainCount, testCount: shape.testCount, featureWidth: model.inputWidth, targetWidth: model.outputWidth,
            trainFeatures: featureRows("train.x"), trainTargets: optionalView("train.y") ?? targets,
            testFeatures: featureRows("test.x"), testTargets: optionalView("test.y") ?? targets,
            order: orderOffset.map { arena.pointer(at: $0, count: shape.trainCount, as: Int32.self) }
                ?? arena.pointer(at: 0, count: 0, as: Int32.self))
    }
}

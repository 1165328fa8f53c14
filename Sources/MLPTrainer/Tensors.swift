// Typed views of the arena at the plan's offsets: the one place planned tensor IDs become pointers.

import ArenaPlanner
import CGEMM
import MemoryBudget
import ModelProfile
import NUMAArena
import TrainingData

/// Every tensor of a training run, resolved once from the plan against the arena, by `TensorID`.
struct ModelTensors<T: TrainingScalar> {
    let batchCapacity: Int
    /// x (B, I₀)
    let features: UnsafeMutablePointer<T>
    /// y (B, K)
    let targets: UnsafeMutablePointer<T>
    let layers: [DenseLayer<T>]
    let data: DataTensors<T>

    /// Resolves every tensor of `program` at its planned offset in `arena`. A rank's plan
    /// (`StepProgram.rankBuffers`) places the program's buffers first, in order, sharded as `sharding` says over its
    /// `shards` ranks, then its exchange buffers: under zero2 and zero3 each layer's gradients are formed in the
    /// "gradient bucket" (its parameter tensors in order, W then b), under zero3 its parameters used from the "gather
    /// buffer" (the same layout), while the optimizer updates the rank's stored chunks.
    ///
    /// Traps (a programmer error) if the plan is not this program's, or lacks a tensor an op needs.
    init(program: StepProgram, plan: ArenaPlan, arena: Arena, sharding: (strategy: ShardingStrategy, shards: Int)? = nil) {
        let shards = sharding.map { $0.strategy == .dp ? 1 : $0.shards } ?? 1
        precondition(
            sharding != nil
                ? plan.requests.count >= program.buffers.count
                : plan.requests.map(\.name) == program.buffers.map(\.name)
                    && plan.requests.map(\.byteCount) == program.buffers.map(\.byteCount),
            "ModelTensors: the plan is not this program's")
        func view(_ id: TensorID) -> UnsafeMutablePointer<T> {
            guard let index = program.index(of: id) else { preconditionFailure("ModelTensors: the program has no tensor \(id)") }
            return arena.pointer(
                at: plan.offsets[index], count: plan.requests[index].byteCount / MemoryLayout<T>.stride, as: T.self)
        }
        func optionalView(_ id: TensorID) -> UnsafeMutablePointer<T>? { program.index(of: id) == nil ? nil : view(id) }
        func communication(_ name: String) -> UnsafeMutablePointer<T>? {
            let found = plan.requests.indices.first {
                plan.requests[$0].category == .communication && plan.requests[$0].name == name
            }
            guard let index = found else { return nil }
            return arena.pointer(
                at: plan.offsets[index], count: plan.requests[index].byteCount / MemoryLayout<T>.stride, as: T.self)
        }
        let strategy = sharding?.strategy
        let bucket = strategy == .zero2 || strategy == .zero3 ? communication("gradient bucket") : nil
        let gather = strategy == .zero3 ? communication("gather buffer") : nil

        let model = program.model
        batchCapacity = model.batchSize
        features = view(TensorID(.features))
        targets = view(TensorID(.targets))
        var layers: [DenseLayer<T>] = []
        for (offset, spec) in model.layers.enumerated() {
            let input = offset == 0 ? features : layers[offset - 1].output
            // Where each parameter tensor of this layer sits in the bucket and the gather buffer (elements).
            var positions: [UInt16: Int] = [:]
            var running = 0
            for role in [DenseTensor.weight, .bias, .gain, .shift]
            where program.index(of: TensorID(layer: offset + 1, role)) != nil {
                positions[role.rawValue] = running
                running += role == .weight ? spec.inputWidth * spec.outputWidth : spec.outputWidth
            }
            func working(_ id: TensorID) -> UnsafeMutablePointer<T>? {
                guard id.layer == offset + 1, let position = positions[id.role] else { return optionalView(id) }
                if id.derivative == .gradient, let bucket { return bucket + position }
                if id.derivative == .value, let gather { return gather + position }
                return optionalView(id)
            }
            layers.append(
                DenseLayer(
                    spec: spec, index: offset, isLast: offset == model.layers.count - 1, input: input,
                    optimizer: model.optimizer.kind, stateShards: shards, resolve: working,
                    stored: bucket == nil && gather == nil ? nil : optionalView))
        }
        self.layers = layers
        let shape = program.data ?? DataShape(trainCount: 0, testCount: 0)
        let (batchFeatures, batchTargets) = (features, targets)
        func featureRows(_ id: TensorID) -> FeatureRows<T> {
            guard let index = program.index(of: id) else { return .scalars(batchFeatures) }
            let offset = plan.offsets[index]
            return shape.featureStorage == .byte
                ? .bytes(arena.pointer(at: offset, count: plan.requests[index].byteCount, as: UInt8.self)) : .scalars(view(id))
        }
        data = DataTensors(
            trainCount: shape.trainCount, testCount: shape.testCount, featureWidth: model.inputWidth,
            targetWidth: model.outputWidth,
            trainFeatures: featureRows(TensorID(.trainFeatures)),
            trainTargets: optionalView(TensorID(.trainTargets)) ?? batchTargets,
            testFeatures: featureRows(TensorID(.testFeatures)), testTargets: optionalView(TensorID(.testTargets)) ?? batchTargets,
            order: program.orderView(plan: plan, arena: arena))
    }
}

extension FeatureRows where T: TrainingScalar {
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

extension StepProgram {
    /// The shuffle order: the training set's N Int32s at their planned offset in `arena` (empty without data).
    func orderView(plan: ArenaPlan, arena: Arena) -> UnsafeMutablePointer<Int32> {
        guard let index = index(of: TensorID(.order)) else { return arena.pointer(at: 0, count: 0, as: Int32.self) }
        return arena.pointer(
            at: plan.offsets[index], count: (data ?? DataShape(trainCount: 0, testCount: 0)).trainCount, as: Int32.self)
    }
}

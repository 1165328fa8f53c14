// One rank's step when the step is split over processes (`mpirun -np N memplan train --strategy dp|zero1|zero2|zero3`):
// its share of the global batch forward and backward, the gradients summed over ranks, the update of what the rank
// owns, and the parameters gathered where they are sharded. Only arena buffers are touched; nothing allocates.

import ArenaPlanner
import Dispatch
import MemoryBudget
import NUMAArena

/// How a rank's update joins the others': the strategy and the ring over the plan's "ring chunk".
///
/// What each strategy keeps whole and what it shards (chunk r of every tensor: `RingExchange.chunk`):
/// - dp: everything whole; gradients all-reduced after the backward pass; every parameter updated.
/// - zero1: optimizer state sharded; gradients reduce-scattered after the backward pass, the rank's chunk updated,
///   the chunks all-gathered.
/// - zero2: gradients sharded too: each layer's gradient is formed in the bucket and reduce-scattered right after its
///   backward op, the rank keeping its chunk.
/// - zero3: parameters sharded too: each layer is all-gathered into the gather buffer before its forward and backward
///   ops; the update writes the rank's stored chunk only.
struct RankSharding<T: TrainingScalar> {
    let strategy: ShardingStrategy
    let ring: RingExchange<T>

    var shardsGradients: Bool { strategy == .zero2 || strategy == .zero3 }
    var shardsParameters: Bool { strategy == .zero3 }

    /// The elements of a `count`-element parameter tensor this rank updates: all of them (dp), or its chunk.
    @inline(__always)
    func updatedRange(of count: Int) -> Range<Int> { strategy == .dp ? 0..<count : ring.ownedChunk(of: count) }

    /// zero3: a `count`-element tensor whole in `working`: the rank's `stored` chunk copied to its place there, then
    /// every rank's chunk gathered around it.
    @inline(__always)
    func gather(_ stored: UnsafePointer<T>, into working: UnsafeMutablePointer<T>, count: Int) {
        let owned = ring.ownedChunk(of: count)
        (working + owned.lowerBound).update(from: stored, count: owned.count)
        ring.allGather(working, count: count)
    }

    /// zero2 and zero3: a gradient formed whole in `formed` (`count` elements) reduce-scattered, the rank's chunk of
    /// the sum written to `kept` (its stored chunk), or added to it.
    @inline(__always)
    func reduce(_ formed: UnsafeMutablePointer<T>, into kept: UnsafeMutablePointer<T>, count: Int, adding: Bool = false) {
        ring.reduceScatter(formed, count: count)
        let owned = ring.ownedChunk(of: count)
        let sum = formed + owned.lowerBound
        if adding {
            for index in 0..<owned.count { kept[index] += sum[index] }  // (chunk)
        } else {
            kept.update(from: sum, count: owned.count)
        }
    }

    /// zero3: the rank's chunk of a `count`-element tensor drawn whole in `working` kept in `stored`.
    @inline(__always)
    func keepChunk(of working: UnsafePointer<T>, in stored: UnsafeMutablePointer<T>, count: Int) {
        let owned = ring.ownedChunk(of: count)
        stored.update(from: working + owned.lowerBound, count: owned.count)
    }
}

extension RankSharding {
    /// The sharding of `ranks` over the ring chunk `plan` places in `arena` (a rank's plan, `StepProgram.rankBuffers`);
    /// nil without ranks. Traps (a programmer error) for a strategy outside `trained` or a plan without a ring chunk.
    init?(
        _ ranks: (link: RankLink, strategy: ShardingStrategy)?, plan: ArenaPlan, arena: Arena, trained: Set<ShardingStrategy>
    ) {
        guard let ranks else { return nil }
        let chunk = plan.requests.indices.first {
            plan.requests[$0].category == .communication && plan.requests[$0].name == "ring chunk"
        }
        guard let chunk, trained.contains(ranks.strategy) else {
            preconditionFailure("RankSharding: \(ranks.strategy) is not trained here, or the plan has no ring chunk")
        }
        let count = plan.requests[chunk].byteCount / MemoryLayout<T>.stride
        let scratch = arena.pointer(at: plan.offsets[chunk], count: count, as: T.self)
        self.init(strategy: ranks.strategy, ring: RingExchange(link: ranks.link, scratch: scratch, scratchCount: count))
    }
}

extension Trainer {
    /// One step of this rank: forward and backward on its `rows` of a global batch of `globalRows`, the loss's
    /// gradient taken as the mean over the global batch (so the sum over ranks is the global batch's mean gradient, as
    /// one process computes it), the gradients summed over the ranks as the strategy says, the program's update, and
    /// the updated chunks all-gathered where parameters are whole (zero1, zero2).
    ///
    /// A rank without rows this step (the last, short global batch) runs one row with a zero loss gradient, so that it
    /// joins every exchange of the step in the same order as the others. Every rank must call it the same number of
    /// times.
    func rankStep(_ batch: StepBatch, rows: Int, globalRows: Int) -> Kernels.LossResult {
        guard let ranks, let update = program.index(of: .update) else {
            preconditionFailure("Trainer.rankStep: no ranks attached, or the program fuses its update")
        }
        lossGradientScale = rows > 0 ? 1 / T(globalRows) : 0
        var result = run(ops: 0..<update, batch: batch, rows: max(rows, 1), training: true)
        lossGradientScale = nil
        if rows == 0 { result = Kernels.LossResult(loss: 0, correct: 0, judged: 0) }
        if !ranks.shardsGradients {
            let started = DispatchTime.now().uptimeNanoseconds
            forEachParameter { parameter in
                guard let gradient = parameter.gradient else { preconditionFailure("Trainer: ranks without planned gradients") }
                switch ranks.strategy {
                case .dp: ranks.ring.allReduce(gradient, count: parameter.count)
                default: ranks.ring.reduceScatter(gradient, count: parameter.count)
                }
            }
            exchangeNanoseconds &+= DispatchTime.now().uptimeNanoseconds &- started
        }
        _ = run(ops: update..<program.ops.count, batch: batch, rows: max(rows, 1), training: true)
        gatheredLayer = -1
        if ranks.strategy == .zero1 || ranks.strategy == .zero2 {
            let started = DispatchTime.now().uptimeNanoseconds
            forEachParameter { parameter in ranks.ring.allGather(parameter.values, count: parameter.count) }
            exchangeNanoseconds &+= DispatchTime.now().uptimeNanoseconds &- started
        }
        return result
    }

    /// zero3, before fwd k and bwd k: layer `index`'s parameters gathered from every rank's chunk into the gather
    /// buffer (skipped when it holds them already, as at the last layer's backward right after its forward).
    @inline(__always)
    func gatherParameters(ofLayer index: Int) {
        guard let ranks, ranks.shardsParameters, gatheredLayer != index else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        for parameter in tensors.layers[index].parameters {
            ranks.gather(parameter.values, into: parameter.workingValues, count: parameter.count)
        }
        gatheredLayer = index
        // Counted only inside a training step (the record's exchange time is per training step); evaluation gathers too.
        if lossGradientScale != nil { exchangeNanoseconds &+= DispatchTime.now().uptimeNanoseconds &- started }
    }

    /// zero2 and zero3, after bwd k: layer `index`'s gradients, formed in the bucket, reduce-scattered; the rank keeps
    /// the sum of its chunk in its stored gradient.
    @inline(__always)
    func reduceGradients(ofLayer index: Int) {
        guard let ranks, ranks.shardsGradients else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        for parameter in tensors.layers[index].parameters {
            guard let formed = parameter.workingGradient, let kept = parameter.gradient else {
                preconditionFailure("Trainer: ranks without planned gradients")
            }
            ranks.reduce(formed, into: kept, count: parameter.count)
        }
        exchangeNanoseconds &+= DispatchTime.now().uptimeNanoseconds &- started
    }

    /// zero3, after a layer's first weights are drawn into the gather buffer (identically on every rank): the rank
    /// keeps its chunk of each.
    func keepOwnedChunks(of layer: DenseLayer<T>) {
        guard let ranks, ranks.shardsParameters else { return }
        for parameter in layer.parameters {
            ranks.keepChunk(of: parameter.workingValues, in: parameter.values, count: parameter.count)
        }
    }

    @inline(__always)
    private func forEachParameter(_ body: (ParameterTensor<T>) -> Void) {
        for layer in tensors.layers {
            for parameter in layer.parameters { body(parameter) }
        }
    }
}

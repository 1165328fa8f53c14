// One rank's step when the step is split over processes (`mpirun -np N memplan train --strategy dp|zero1`): its
// share of the global batch forward and backward, the gradients summed over ranks in place, the update, and (zero1)
// the updated chunks gathered. Only arena buffers are touched; nothing allocates.

import Dispatch
import MemoryBudget

/// How a rank's update joins the others': the strategy and the ring over the plan's "ring chunk".
struct RankSharding<T: TrainingScalar> {
    let strategy: ShardingStrategy
    let ring: RingExchange<T>

    /// The elements of a `count`-element parameter tensor this rank updates: all of them (dp), or its chunk (zero1,
    /// whose optimizer state holds that chunk only).
    @inline(__always)
    func updatedRange(of count: Int) -> Range<Int> { strategy == .dp ? 0..<count : ring.ownedChunk(of: count) }
}

extension Trainer {
    /// One step of this rank: forward and backward on its `rows` of the global batch of `globalRows` (none: zero
    /// gradients), the loss's gradient taken as the mean over the global batch (so the sum over ranks is the global
    /// batch's mean gradient, as one process computes it), the gradients summed over the ranks — all-reduce (dp) or
    /// reduce-scatter into the rank's chunk (zero1) — then the program's update, and for zero1 the updated chunks
    /// all-gathered.
    ///
    /// Every rank must call it the same number of times (the exchange pairs their calls).
    func rankStep(_ batch: StepBatch, rows: Int, globalRows: Int) -> Kernels.LossResult {
        guard let ranks, let update = program.index(of: .update) else {
            preconditionFailure("Trainer.rankStep: no ranks attached, or the program fuses its update")
        }
        var result = Kernels.LossResult(loss: 0, correct: 0, judged: 0)
        if rows > 0 {
            gradientMeanRows = globalRows
            result = run(ops: 0..<update, batch: batch, rows: rows, training: true)
            gradientMeanRows = nil
        } else {
            forEachParameter { parameter, gradient in gradient.update(repeating: 0, count: parameter.count) }
        }
        var started = DispatchTime.now().uptimeNanoseconds
        forEachParameter { parameter, gradient in
            switch ranks.strategy {
            case .dp: ranks.ring.allReduce(gradient, count: parameter.count)
            default: ranks.ring.reduceScatter(gradient, count: parameter.count)
            }
        }
        exchangeNanoseconds &+= DispatchTime.now().uptimeNanoseconds &- started
        _ = run(ops: update..<program.ops.count, batch: batch, rows: rows, training: true)
        if ranks.strategy != .dp {
            started = DispatchTime.now().uptimeNanoseconds
            forEachParameter { parameter, _ in ranks.ring.allGather(parameter.values, count: parameter.count) }
            exchangeNanoseconds &+= DispatchTime.now().uptimeNanoseconds &- started
        }
        return result
    }

    @inline(__always)
    private func forEachParameter(_ body: (ParameterTensor<T>, UnsafeMutablePointer<T>) -> Void) {
        for layer in tensors.layers {
            for parameter in layer.parameters {
                guard let gradient = parameter.gradient else { preconditionFailure("Trainer: ranks without planned gradients") }
                body(parameter, gradient)
            }
        }
    }
}

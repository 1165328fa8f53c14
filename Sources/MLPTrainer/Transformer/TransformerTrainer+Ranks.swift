// A transformer's step split over ranks (`mpirun -np N memplan train bytes-gpt.yaml --strategy dp|zero1`): each rank
// runs its B windows of the global batch of N·B, the loss gradient a mean over all N·B·T tokens; at the update op the
// gradients are summed over the ranks (dp: all-reduce; zero1: reduce-scatter into the rank's chunk, which it updates,
// then all-gather of the updated chunks). Arena buffers only; nothing allocates.

import Dispatch

extension TransformerTrainer {
    /// Before the update: every parameter's gradient summed over the ranks (all of it for dp, the rank's chunk for
    /// zero1). Nothing without ranks.
    @inline(__always)
    func exchangeGradients() {
        guard let ranks else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        for parameter in tensors.parameters {
            if ranks.strategy == .dp {
                ranks.ring.allReduce(parameter.gradient, count: parameter.count)
            } else {
                ranks.ring.reduceScatter(parameter.gradient, count: parameter.count)
            }
        }
        exchangeNanoseconds &+= DispatchTime.now().uptimeNanoseconds &- started
    }

    /// After zero1's update: each rank's updated chunk copied to every rank.
    @inline(__always)
    func gatherUpdatedChunks() {
        guard let ranks, ranks.strategy != .dp else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        for parameter in tensors.parameters { ranks.ring.allGather(parameter.values, count: parameter.count) }
        exchangeNanoseconds &+= DispatchTime.now().uptimeNanoseconds &- started
    }
}

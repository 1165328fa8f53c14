// A transformer's step split over ranks (`mpirun -np N memplan train bytes-gpt.yaml --strategy dp|zero1|zero2|zero3`):
// each rank runs its B windows of the global batch of N·B, the loss gradient a mean over all N·B·T tokens.
// dp all-reduces every gradient at the update op; zero1 reduce-scatters them there into the rank's chunk, which it
// updates, then all-gathers the updated chunks; zero2 reduce-scatters each layer's gradient, formed in the bucket, as
// soon as the backward pass has finished it; zero3 also gathers each layer's parameters into the gather buffer before
// the sub-ops that read them. Arena buffers only; nothing allocates.
//
// The layers of the exchange are the table's (`TensorID.layer`): 1 the embedding, each block, L + 2 the final norm
// (and an untied head). Tied embeddings read wte at the head and form its gradient at both ends: under zero3 the head's
// logits gather layer 1; under zero2 and zero3 the head's share of ∂wte is reduced right after bwd logits and the
// embedding's, formed from zero, is added to it after bwd embed.

import Dispatch
import MemoryBudget

extension TransformerTrainer {
    private var headLayer: Int { spec.layerCount + 2 }

    /// Before the update: every parameter's gradient summed over the ranks (all of it for dp, the rank's chunk for
    /// zero1). Nothing without ranks, or where the backward pass reduced them already (zero2, zero3).
    @inline(__always)
    func exchangeGradients() {
        guard let ranks, !ranks.shardsGradients else { return }
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

    /// After the update: each rank's updated chunk copied to every rank where parameters are stored whole (zero1,
    /// zero2); under zero3 the gather buffer no longer holds current parameters.
    @inline(__always)
    func gatherUpdatedChunks() {
        guard let ranks, ranks.strategy != .dp else { return }
        gatheredLayer = -1
        guard !ranks.shardsParameters else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        for parameter in tensors.parameters { ranks.ring.allGather(parameter.values, count: parameter.count) }
        exchangeNanoseconds &+= DispatchTime.now().uptimeNanoseconds &- started
    }

    /// zero3, before a sub-op: the parameters it reads gathered from every rank's chunk into the gather buffer —
    /// its layer's, or layer 1's for tied logits (wte) — unless the buffer holds them already. bwd embed reads none.
    @inline(__always)
    func gatherParameters(for op: StepOp) {
        guard let ranks, ranks.shardsParameters else { return }
        let layer: Int
        switch op {
        case .forwardPart(let at, let sub), .recomputePart(let at, let sub):
            layer = at == headLayer && sub == 1 && spec.tiedEmbeddings ? 1 : at
        case .backwardPart(let at, let sub):
            guard at != 1 else { return }
            layer = at == headLayer && sub == 1 && spec.tiedEmbeddings ? 1 : at
        default: return
        }
        guard gatheredLayer != layer else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        for parameter in tensors.parameters where parameter.id.layer == layer {
            ranks.gather(parameter.values, into: parameter.workingValues, count: parameter.count)
        }
        gatheredLayer = layer
        // Counted only inside a training step (the record's exchange time is per training step); evaluation gathers too.
        if gradientScale != nil { exchangeNanoseconds &+= DispatchTime.now().uptimeNanoseconds &- started }
    }

    /// zero2 and zero3, after a backward sub-op that finishes gradients: those gradients, formed in the bucket,
    /// reduce-scattered, the rank keeping its chunk's sum in its stored gradient. Finished: a block's after bwd ln1 (its
    /// last backward sub-op); the final norm's (and an untied head's) after bwd lnf; tied ∂wte's head share after bwd
    /// logits, overwriting the stored chunk, and its embedding share after bwd embed, added to it.
    @inline(__always)
    func reduceGradients(after op: StepOp) {
        guard let ranks, ranks.shardsGradients, case .backwardPart(let layer, let sub) = op else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        switch layer {
        case headLayer where sub == 1:
            for parameter in tensors.parameters where isTiedTable(parameter) { reduce(parameter, ranks, adding: false) }
        case headLayer, 1:
            for parameter in tensors.parameters where parameter.id.layer == layer {
                reduce(parameter, ranks, adding: layer == 1 && isTiedTable(parameter))
            }
        default:
            guard sub == BlockPart.norm1.rawValue else { return }
            for parameter in tensors.parameters where parameter.id.layer == layer { reduce(parameter, ranks, adding: false) }
        }
        exchangeNanoseconds &+= DispatchTime.now().uptimeNanoseconds &- started
    }

    @inline(__always)
    private func reduce(_ parameter: TransformerParameter<T>, _ ranks: RankSharding<T>, adding: Bool) {
        ranks.reduce(parameter.workingGradient, into: parameter.gradient, count: parameter.count, adding: adding)
    }

    /// Whether `parameter` is wte and the head reads it too. (Places in the bucket repeat from layer to layer, so the
    /// table is known by its ID, not its pointer.)
    @inline(__always)
    private func isTiedTable(_ parameter: TransformerParameter<T>) -> Bool {
        spec.tiedEmbeddings && parameter.id == TensorID(layer: 1, EmbeddingTensor.tokenTable)
    }

    /// zero3, after a parameter's first values are drawn where the ops read them (identically on every rank): the
    /// rank keeps its chunk.
    func keepOwnedChunk(of parameter: TransformerParameter<T>) {
        guard let ranks, ranks.shardsParameters else { return }
        ranks.keepChunk(of: parameter.workingValues, in: parameter.values, count: parameter.count)
    }
}

// The transformer's sub-ops, forward and backward, for one part: each calls `TransformerKernels` on its share.

import MemoryBudget
import ModelProfile

extension TransformerTrainer {
    typealias K = TransformerKernels

    /// The residual stream leaving the last block (lnf's input).
    var lastOutput: UnsafeMutablePointer<T> { tensors.blocks.last?.output ?? tensors.encoded }

    /// Elements of rows `range` in a (rows, width) matrix.
    @inline(__always)
    func elements(_ range: Range<Int>, width: Int) -> Range<Int> { (range.lowerBound * width)..<(range.upperBound * width) }

    // MARK: - Forward

    /// Forward sub-op `sub` of layer `layer`, part `part`'s share; `recomputing`: run again in the backward pass, on
    /// the recomputed buffers (gradient checkpointing).
    func forwardPart(layer: Int, sub: Int, part: Int, recomputing: Bool = false) {
        let (c, n) = (channels, rows)
        let r = productRows(part)
        if layer == 1 {
            K.embeddingForward(
                out: tensors.encoded, tokens: tensors.tokens, wte: tensors.wte, wpe: tensors.wpe, vocabulary: vocabulary,
                sequenceLength: sequence, channels: c, rows: r)
            return
        }
        if layer == spec.layerCount + 2 {
            if sub == 0 {
                norm(
                    out: tensors.lnf, mean: tensors.lnfMean, rstd: tensors.lnfRstd, inp: lastOutput, gain: tensors.lnfw,
                    shift: tensors.lnfb, rows: r)
            } else {
                K.linearForward(
                    out: tensors.logits, inp: tensors.lnf, weight: tensors.headWeight, bias: nil, inputChannels: c,
                    outputChannels: padded,
                    rows: r)
            }
            return
        }
        let block = recomputing ? tensors.recomputedBlocks[layer - 2] : tensors.blocks[layer - 2]
        let (qkvWidth, inner, fcWidth) = (spec.qkvWidth, spec.feedForwardSize, spec.fcWidth)
        switch BlockPart(rawValue: sub)! {
        case .norm1:
            norm(
                out: block.ln1!, mean: block.ln1Mean, rstd: block.ln1Rstd!, inp: block.input, gain: block.ln1w!,
                shift: block.ln1b, rows: r)
        case .qkv:
            K.linearForward(
                out: block.qkv!, inp: block.ln1!, weight: block.qkvw!, bias: block.qkvb, inputChannels: c,
                outputChannels: qkvWidth, rows: r)
            if let rope = tensors.rope {
                K.rotaryForward(
                    qkv: block.qkv!, table: rope, sequenceLength: sequence, heads: spec.headCount,
                    kvHeads: spec.keyValueHeadCount,
                    headSize: spec.headSize, rows: r)
            }
        case .attention:
            K.attentionForward(
                out: block.atty!, att: block.att!, qkv: block.qkv!, sequenceLength: sequence, heads: spec.headCount,
                kvHeads: spec.keyValueHeadCount, headSize: spec.headSize, pairs: share(part, batch * spec.headCount))
        case .projection:
            K.linearForward(
                out: block.residual2!, inp: block.atty!, weight: block.attprojw!, bias: block.attprojb, inputChannels: c,
                outputChannels: c, rows: r)
            K.residualForward(out: block.residual2!, a: block.residual2!, b: block.input, elements: elements(r, width: c))
        case .norm2:
            norm(
                out: block.ln2!, mean: block.ln2Mean, rstd: block.ln2Rstd!, inp: block.residual2!, gain: block.ln2w!,
                shift: block.ln2b, rows: r)
        case .fc:
            K.linearForward(
                out: block.fch!, inp: block.ln2!, weight: block.fcw!, bias: block.fcb, inputChannels: c, outputChannels: fcWidth,
                rows: r)
        case .activation:
            if spec.feedForward == .swiglu {
                K.swiGLUForward(out: block.fchAct!, inp: block.fch!, hidden: inner, rows: r)
            } else {
                K.geluForward(out: block.fchAct!, inp: block.fch!, elements: elements(r, width: inner))
            }
        case .fcProjection:
            K.linearForward(
                out: block.output!, inp: block.fchAct!, weight: block.fcprojw!, bias: block.fcprojb, inputChannels: inner,
                outputChannels: c, rows: r)
            K.residualForward(out: block.output!, a: block.output!, b: block.residual2!, elements: elements(r, width: c))
        }
    }

    /// LayerNorm (with mean) or RMSNorm (without), rows `r`.
    @inline(__always)
    func norm(
        out: UnsafeMutablePointer<T>, mean: UnsafeMutablePointer<T>?, rstd: UnsafeMutablePointer<T>, inp: UnsafePointer<T>,
        gain: UnsafePointer<T>, shift: UnsafePointer<T>?, rows r: Range<Int>
    ) {
        if spec.norm == .layer, let mean, let shift {
            K.layerNormForward(out: out, mean: mean, rstd: rstd, inp: inp, weight: gain, bias: shift, channels: channels, rows: r)
        } else {
            K.rmsNormForward(out: out, rstd: rstd, inp: inp, weight: gain, channels: channels, rows: r)
        }
    }

    // MARK: - Backward

    func backwardPart(layer: Int, sub: Int, phase: Int, part: Int) {
        let (c, n) = (channels, rows)
        let r = productRows(part)
        if layer == 1 {
            // Untied: nothing else writes dwte, so it starts from zero; tied, bwd logits wrote the head's share of it.
            let columns = share(part, c)
            // Sharded gradients: the head's share was reduced already, so the bucket starts from zero here too.
            if !spec.tiedEmbeddings || ranks?.shardsGradients == true {
                zeroColumns(tensors.dwte, rows: padded, columns: columns)
            }
            if let dwpe = tensors.dwpe { zeroColumns(dwpe, rows: spec.contextLength, columns: columns) }
            K.embeddingBackward(
                dwte: tensors.dwte, dwpe: tensors.dwpe, dout: tensors.dresidual, tokens: tensors.tokens, vocabulary: vocabulary,
                sequenceLength: sequence, channels: c, rowCount: n, columns: columns)
            return
        }
        if layer == spec.layerCount + 2 {
            if sub == 1 {
                if phase == 0 {
                    K.linearBackwardInput(
                        dinp: tensors.dlnf, dout: tensors.logits, weight: tensors.headWeight, inputChannels: c,
                        outputChannels: padded,
                        rows: r, accumulate: false)
                } else {
                    K.linearBackwardWeight(
                        dweight: tensors.dHeadWeight, dbias: nil, dout: tensors.logits, inp: tensors.lnf, inputChannels: c,
                        outputChannels: padded, rowCount: n, outputs: productShare(part, padded, granule: 16, edges: (c, n)),
                        accumulate: false)
                }
            } else {
                normBackward(
                    phase: phase, part: part, dinp: tensors.dresidual, dout: tensors.dlnf, inp: lastOutput, gain: tensors.lnfw,
                    mean: tensors.lnfMean, rstd: tensors.lnfRstd, dgain: tensors.dlnfw, dshift: tensors.dlnfb, accumulate: false)
            }
            return
        }
        let block = tensors.recomputedBlocks[layer - 2]
        let (qkvWidth, inner) = (spec.qkvWidth, spec.feedForwardSize)
        let fcWidth = spec.fcWidth
        switch BlockPart(rawValue: sub)! {
        case .fcProjection:
            linearBackward(
                phase: phase, part: part, dinp: block.dfchAct!, dout: tensors.dresidual, inp: block.fchAct!,
                weight: block.fcprojw!,
                dweight: block.dfcprojw!, dbias: block.dfcprojb, inputs: inner, outputs: c)
        case .activation:
            if spec.feedForward == .swiglu {
                K.swiGLUBackward(
                    dinp: block.dfch!, inp: block.fch!, dout: block.dfchAct!, hidden: inner, rows: r, accumulate: false)
            } else {
                K.geluBackward(
                    dinp: block.dfch!, inp: block.fch!, dout: block.dfchAct!, elements: elements(r, width: inner),
                    accumulate: false)
            }
        case .fc:
            linearBackward(
                phase: phase, part: part, dinp: block.dln2!, dout: block.dfch!, inp: block.ln2!, weight: block.fcw!,
                dweight: block.dfcw!,
                dbias: block.dfcb, inputs: c, outputs: fcWidth)
        case .norm2:
            normBackward(
                phase: phase, part: part, dinp: tensors.dresidual, dout: block.dln2!, inp: block.residual2!, gain: block.ln2w!,
                mean: block.ln2Mean, rstd: block.ln2Rstd!, dgain: block.dln2w!, dshift: block.dln2b, accumulate: true)
        case .projection:
            linearBackward(
                phase: phase, part: part, dinp: block.datty!, dout: tensors.dresidual, inp: block.atty!, weight: block.attprojw!,
                dweight: block.dattprojw!, dbias: block.dattprojb, inputs: c, outputs: c)
        case .attention:
            let groups = share(part, batch * spec.keyValueHeadCount)
            K.attentionBackward(
                dqkv: block.dqkv!, scratch: block.attScratch! + part * sequence * sequence, dout: block.datty!, qkv: block.qkv!,
                att: block.att!, sequenceLength: sequence, heads: spec.headCount, kvHeads: spec.keyValueHeadCount,
                headSize: spec.headSize,
                groups: groups, accumulate: false)
        case .qkv:
            if phase == 0, let rope = tensors.rope {
                K.rotaryBackward(
                    dqkv: block.dqkv!, table: rope, sequenceLength: sequence, heads: spec.headCount,
                    kvHeads: spec.keyValueHeadCount,
                    headSize: spec.headSize, rows: r)
            }
            linearBackward(
                phase: phase, part: part, dinp: block.dln1!, dout: block.dqkv!, inp: block.ln1!, weight: block.qkvw!,
                dweight: block.dqkvw!,
                dbias: block.dqkvb, inputs: c, outputs: qkvWidth)
        case .norm1:
            normBackward(
                phase: phase, part: part, dinp: tensors.dresidual, dout: block.dln1!, inp: block.input, gain: block.ln1w!,
                mean: block.ln1Mean, rstd: block.ln1Rstd!, dgain: block.dln1w!, dshift: block.dln1b, accumulate: true)
        }
    }

    /// A linear layer's backward: phase 0 the input gradient by rows (overwriting), phase 1 the weight and bias
    /// gradients by output channels (overwriting).
    func linearBackward(
        phase: Int, part: Int, dinp: UnsafeMutablePointer<T>, dout: UnsafePointer<T>, inp: UnsafePointer<T>,
        weight: UnsafePointer<T>,
        dweight: UnsafeMutablePointer<T>, dbias: UnsafeMutablePointer<T>?, inputs: Int, outputs: Int
    ) {
        if phase == 0 {
            K.linearBackwardInput(
                dinp: dinp, dout: dout, weight: weight, inputChannels: inputs, outputChannels: outputs,
                rows: productRows(part), accumulate: false)
        } else {
            K.linearBackwardWeight(
                dweight: dweight, dbias: dbias, dout: dout, inp: inp, inputChannels: inputs, outputChannels: outputs,
                rowCount: rows,
                outputs: productShare(part, outputs, granule: 16, edges: (inputs, rows)), accumulate: false)
        }
    }

    /// A norm's backward: phase 0 ∂input by rows (added into the residual stream's gradient when `accumulate`),
    /// phase 1 ∂γ (and ∂β) by columns.
    func normBackward(
        phase: Int, part: Int, dinp: UnsafeMutablePointer<T>, dout: UnsafePointer<T>, inp: UnsafePointer<T>,
        gain: UnsafePointer<T>,
        mean: UnsafePointer<T>?, rstd: UnsafePointer<T>, dgain: UnsafeMutablePointer<T>, dshift: UnsafeMutablePointer<T>?,
        accumulate: Bool
    ) {
        let c = channels
        if phase == 0 {
            let r = share(part, rows, granule: 8)
            if spec.norm == .layer, let mean {
                K.layerNormBackwardInput(
                    dinp: dinp, dout: dout, inp: inp, weight: gain, mean: mean, rstd: rstd, channels: c, rows: r,
                    accumulate: accumulate)
            } else {
                K.rmsNormBackwardInput(
                    dinp: dinp, dout: dout, inp: inp, weight: gain, rstd: rstd, channels: c, rows: r, accumulate: accumulate)
            }
        } else {
            let columns = share(part, c)
            if spec.norm == .layer, let mean {
                K.layerNormBackwardParameters(
                    dweight: dgain, dbias: dshift, dout: dout, inp: inp, mean: mean, rstd: rstd, channels: c, rowCount: rows,
                    columns: columns,
                    accumulate: false)
            } else {
                K.rmsNormBackwardWeight(
                    dweight: dgain, dout: dout, inp: inp, rstd: rstd, channels: c, rowCount: rows, columns: columns,
                    accumulate: false)
            }
        }
    }

    /// Sets columns `columns` of every row of a (rows, C) matrix to 0.
    func zeroColumns(_ matrix: UnsafeMutablePointer<T>, rows: Int, columns: Range<Int>) {
        guard !columns.isEmpty else { return }
        for row in 0..<rows { (matrix + row * channels + columns.lowerBound).update(repeating: 0, count: columns.count) }
    }
}

// The transformer's sub-ops, forward and backward, for one part: each calls `TransformerKernels` on its share.

import MemoryBudget
import ModelProfile

extension TransformerTrainer {
    typealias K = TransformerKernels

    // MARK: - Forward

    func embeddingForward(part: Int) {
        K.embeddingForward(
            out: tensors.encoded, tokens: tensors.tokens, wte: tensors.wte, wpe: tensors.wpe, vocabulary: vocabulary,
            sequenceLength: sequence, channels: channels, rows: productRows(part))
    }

    func logitsForward(part: Int) {
        K.linearForward(
            out: tensors.logits, inp: tensors.lnf, weight: tensors.headWeight, bias: nil, inputChannels: channels,
            outputChannels: padded, rows: productRows(part))
    }

    func blockForward(_ index: Int, sub: BlockPart, part: Int, recomputing: Bool) {
        let c = channels
        let r = productRows(part)
        let block = recomputing ? tensors.recomputedBlocks[index] : tensors.blocks[index]
        let (qkvWidth, inner, fcWidth) = (spec.qkvWidth, spec.feedForwardSize, spec.fcWidth)
        switch sub {
        case .norm1:
            norm(block.norm1, inp: block.input, rows: r)
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
            norm(block.norm2, inp: block.residual2!, rows: r)
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

    /// LayerNorm (with mean and shift) or RMSNorm (without), rows `r`.
    @inline(__always)
    func norm(_ norm: NormTensors<T>, inp: UnsafePointer<T>, rows r: Range<Int>) {
        let layer = spec.norm == .layer && norm.mean != nil && norm.shift != nil
        K.normForward(
            out: norm.out!, mean: layer ? norm.mean : nil, rstd: norm.rstd!, inp: inp, weight: norm.gain!,
            bias: layer ? norm.shift : nil, channels: channels, rows: r)
    }

    // MARK: - Backward

    func embeddingBackward(part: Int) {
        // Untied: nothing else writes dwte, so it starts from zero; tied, bwd logits wrote the head's share of it.
        let columns = share(part, channels)
        // Sharded gradients: the head's share was reduced already, so the bucket starts from zero here too.
        if !spec.tiedEmbeddings || ranks?.shardsGradients == true {
            zeroColumns(tensors.dwte, rows: padded, columns: columns)
        }
        if let dwpe = tensors.dwpe { zeroColumns(dwpe, rows: spec.contextLength, columns: columns) }
        K.embeddingBackward(
            dwte: tensors.dwte, dwpe: tensors.dwpe, dout: tensors.dresidual, tokens: tensors.tokens, vocabulary: vocabulary,
            sequenceLength: sequence, channels: channels, rowCount: rows, columns: columns)
    }

    func logitsBackward(phase: Int, part: Int) {
        let (c, n) = (channels, rows)
        if phase == 0 {
            K.linearBackwardInput(
                dinp: tensors.dlnf, dout: tensors.logits, weight: tensors.headWeight, inputChannels: c, outputChannels: padded,
                rows: productRows(part), accumulate: false)
        } else {
            K.linearBackwardWeight(
                dweight: tensors.dHeadWeight, dbias: nil, dout: tensors.logits, inp: tensors.lnf, inputChannels: c,
                outputChannels: padded, rowCount: n, outputs: productShare(part, padded, granule: 16, edges: (c, n)),
                accumulate: false)
        }
    }

    func blockBackward(_ index: Int, sub: BlockPart, phase: Int, part: Int) {
        let c = channels
        let r = productRows(part)
        let block = tensors.recomputedBlocks[index]
        let (qkvWidth, inner) = (spec.qkvWidth, spec.feedForwardSize)
        let fcWidth = spec.fcWidth
        switch sub {
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
            normBackward(block.norm2, phase: phase, part: part, inp: block.residual2!, accumulate: true)
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
            normBackward(block.norm1, phase: phase, part: part, inp: block.input, accumulate: true)
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

    /// A norm's backward: phase 0 ∂input by rows into the residual stream's gradient (added when `accumulate`),
    /// phase 1 ∂γ (and ∂β) by columns.
    func normBackward(_ norm: NormTensors<T>, phase: Int, part: Int, inp: UnsafePointer<T>, accumulate: Bool) {
        let c = channels
        let mean = spec.norm == .layer ? norm.mean : nil
        if phase == 0 {
            K.normBackwardInput(
                dinp: tensors.dresidual, dout: norm.dout!, inp: inp, weight: norm.gain!, mean: mean, rstd: norm.rstd!,
                channels: c, rows: share(part, rows, granule: 8), accumulate: accumulate)
        } else {
            K.normBackwardParameters(
                dweight: norm.dgain!, dbias: mean == nil ? nil : norm.dshift, dout: norm.dout!, inp: inp, mean: mean,
                rstd: norm.rstd!, channels: c, rowCount: rows, columns: share(part, c), accumulate: false)
        }
    }

    /// Sets columns `columns` of every row of a (rows, C) matrix to 0.
    func zeroColumns(_ matrix: UnsafeMutablePointer<T>, rows: Int, columns: Range<Int>) {
        guard !columns.isEmpty else { return }
        for row in 0..<rows { (matrix + row * channels + columns.lowerBound).update(repeating: 0, count: columns.count) }
    }
}

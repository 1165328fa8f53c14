// The bf16-mixed transformer's sub-ops for one part: the same ops, tensors and splits as `TransformerTrainer+Ops`, on
// `MixedKernels`. A projection that closes a residual branch adds the branch's input in its product's epilogue.

import MemoryBudget

extension MixedTransformerTrainer {
    typealias M = MixedKernels

    /// Rows of part `part` for row-split sub-ops (in multiples of 8).
    @inline(__always)
    func productRows(_ part: Int) -> Range<Int> { share(part, rows, granule: 8) }

    // MARK: - Forward

    func embeddingForward(part: Int) {
        M.embeddingForward(
            out: tensors.encoded, tokens: tensors.tokens, wte: tensors.wte, wpe: tensors.wpe, vocabulary: vocabulary,
            sequenceLength: sequence, channels: channels, rows: productRows(part))
    }

    func logitsForward(part: Int) {
        M.linearForward(
            out: tensors.logits, inp: tensors.lnf, weight: tensors.headWeight, bias: nil, residual: nil,
            inputChannels: channels, outputChannels: padded, rows: productRows(part))
    }

    func blockForward(_ index: Int, sub: BlockPart, part: Int, recomputing: Bool) {
        let c = channels
        let r = productRows(part)
        let work = workArea(part)
        let block = recomputing ? tensors.recomputedBlocks[index] : tensors.blocks[index]
        let inner = spec.feedForwardSize
        let fcWidth = spec.fcWidth
        switch sub {
        case .norm1:
            norm(block.norm1, inp: block.input, rows: r)
        case .qkv:
            M.linearForward(
                out: block.qkv!, inp: block.ln1!, weight: block.qkvw!, bias: block.qkvb, residual: nil, inputChannels: c,
                outputChannels: spec.qkvWidth, rows: r)
            if let rope = tensors.rope {
                M.rotate(
                    block.qkv!, table: rope, sign: 1, sequenceLength: sequence, heads: spec.headCount,
                    kvHeads: spec.keyValueHeadCount, headSize: spec.headSize, rows: r)
            }
        case .attention:
            M.attentionForward(
                out: block.atty!, att: block.att!, qkv: block.qkv!, sequenceLength: sequence, heads: spec.headCount,
                kvHeads: spec.keyValueHeadCount, headSize: spec.headSize, pairs: share(part, batch * spec.headCount),
                work: work)
        case .projection:
            M.linearForward(
                out: block.residual2!, inp: block.atty!, weight: block.attprojw!, bias: block.attprojb, residual: block.input,
                inputChannels: c, outputChannels: c, rows: r)
        case .norm2:
            norm(block.norm2, inp: block.residual2!, rows: r)
        case .fc:
            M.linearForward(
                out: block.fch!, inp: block.ln2!, weight: block.fcw!, bias: block.fcb, residual: nil, inputChannels: c,
                outputChannels: fcWidth, rows: r)
        case .activation:
            if spec.feedForward == .swiglu {
                M.swiGLUForward(out: block.fchAct!, inp: block.fch!, hidden: inner, rows: r)
            } else {
                M.geluForward(
                    out: block.fchAct!, inp: block.fch!, elements: elements(r, width: inner), work: work, chunk: workCount / 3)
            }
        case .fcProjection:
            M.linearForward(
                out: block.output!, inp: block.fchAct!, weight: block.fcprojw!, bias: block.fcprojb, residual: block.residual2!,
                inputChannels: inner, outputChannels: c, rows: r)
        }
    }

    // MARK: - Backward

    func embeddingBackward(part: Int) {
        M.embeddingBackward(
            dwte: tensors.dwte, dwpe: tensors.dwpe, dout: tensors.dresidual, tokens: tensors.tokens,
            paddedVocabulary: padded, sequenceLength: sequence, contextLength: spec.contextLength, channels: channels,
            rowCount: rows, columns: share(part, channels), addsToTable: spec.tiedEmbeddings, work: workArea(part))
    }

    func logitsBackward(phase: Int, part: Int) {
        linearBackward(
            phase: phase, part: part, dinp: tensors.dlnf, dout: tensors.logits, inp: tensors.lnf,
            weight: tensors.headWeight, dweight: tensors.dHeadWeight, dbias: nil, inputs: channels, outputs: padded)
    }

    func blockBackward(_ index: Int, sub: BlockPart, phase: Int, part: Int) {
        let c = channels
        let work = workArea(part)
        let block = tensors.recomputedBlocks[index]
        let inner = spec.feedForwardSize
        let fcWidth = spec.fcWidth
        let r = productRows(part)
        switch sub {
        case .fcProjection:
            linearBackward(
                phase: phase, part: part, dinp: block.dfchAct!, dout: tensors.dresidual, inp: block.fchAct!,
                weight: block.fcprojw!, dweight: block.dfcprojw!, dbias: block.dfcprojb, inputs: inner, outputs: c)
        case .activation:
            if spec.feedForward == .swiglu {
                M.swiGLUBackward(dinp: block.dfch!, inp: block.fch!, dout: block.dfchAct!, hidden: inner, rows: r)
            } else {
                M.geluBackward(
                    dinp: block.dfch!, inp: block.fch!, dout: block.dfchAct!, elements: elements(r, width: inner), work: work,
                    chunk: workCount / 3)
            }
        case .fc:
            linearBackward(
                phase: phase, part: part, dinp: block.dln2!, dout: block.dfch!, inp: block.ln2!, weight: block.fcw!,
                dweight: block.dfcw!, dbias: block.dfcb, inputs: c, outputs: fcWidth)
        case .norm2:
            normBackward(block.norm2, phase: phase, part: part, inp: block.residual2!)
        case .projection:
            linearBackward(
                phase: phase, part: part, dinp: block.datty!, dout: tensors.dresidual, inp: block.atty!,
                weight: block.attprojw!, dweight: block.dattprojw!, dbias: block.dattprojb, inputs: c, outputs: c)
        case .attention:
            M.attentionBackward(
                dqkv: block.dqkv!, scratch: block.attScratch! + part * sequence * sequence, dout: block.datty!, qkv: block.qkv!,
                att: block.att!, sequenceLength: sequence, heads: spec.headCount, kvHeads: spec.keyValueHeadCount,
                headSize: spec.headSize, groups: share(part, batch * spec.keyValueHeadCount))
        case .qkv:
            if phase == 0, let rope = tensors.rope {
                M.rotate(
                    block.dqkv!, table: rope, sign: -1, sequenceLength: sequence, heads: spec.headCount,
                    kvHeads: spec.keyValueHeadCount, headSize: spec.headSize, rows: r)
            }
            linearBackward(
                phase: phase, part: part, dinp: block.dln1!, dout: block.dqkv!, inp: block.ln1!, weight: block.qkvw!,
                dweight: block.dqkvw!, dbias: block.dqkvb, inputs: c, outputs: spec.qkvWidth)
        case .norm1:
            normBackward(block.norm1, phase: phase, part: part, inp: block.input)
        }
    }

    /// Phase 0 the input gradient by rows (overwriting), phase 1 the weight and bias gradients by output channels.
    func linearBackward(
        phase: Int, part: Int, dinp: UnsafeMutablePointer<UInt16>, dout: UnsafePointer<UInt16>, inp: UnsafePointer<UInt16>,
        weight: UnsafePointer<UInt16>, dweight: UnsafeMutablePointer<UInt16>, dbias: UnsafeMutablePointer<UInt16>?,
        inputs: Int, outputs: Int
    ) {
        if phase == 0 {
            M.linearBackwardInput(
                dinp: dinp, dout: dout, weight: weight, inputChannels: inputs, outputChannels: outputs, rows: productRows(part))
        } else {
            M.linearBackwardWeight(
                dweight: dweight, dbias: dbias, dout: dout, inp: inp, inputChannels: inputs, outputChannels: outputs,
                rowCount: rows, outputs: share(part, outputs, granule: 16), work: workArea(part))
        }
    }

    /// Phase 0 the norm's input gradient added into the residual stream's, by rows; phase 1 ∂γ (and ∂β) by columns.
    func normBackward(_ norm: NormTensors<UInt16>, phase: Int, part: Int, inp: UnsafePointer<UInt16>, accumulate: Bool = true) {
        if phase == 0 {
            M.normBackwardInput(
                dinp: tensors.dresidual, dout: norm.dout!, inp: inp, weight: norm.gain!, mean: norm.mean, rstd: norm.rstd!,
                channels: channels, rows: share(part, rows, granule: 8), accumulate: accumulate)
        } else {
            M.normBackwardParameters(
                dweight: norm.dgain!, dshift: norm.dshift, dout: norm.dout!, inp: inp, mean: norm.mean, rstd: norm.rstd!,
                channels: channels, rowCount: rows, columns: share(part, channels), work: workArea(part))
        }
    }

    /// LayerNorm (with mean and shift) or RMSNorm (without), rows `r`.
    func norm(_ norm: NormTensors<UInt16>, inp: UnsafePointer<UInt16>, rows r: Range<Int>) {
        M.normForward(
            out: norm.out!, mean: norm.mean, rstd: norm.rstd!, inp: inp, weight: norm.gain!, shift: norm.shift,
            channels: channels,
            rows: r)
    }
}

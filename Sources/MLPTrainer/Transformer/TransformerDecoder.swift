// Generating text: one token at a time through the blocks, keys and values appended to a KV cache in the planned
// arena, the token's query attending over the cached positions. Every tensor is resolved from the decode program's
// plan by `TensorID`; nothing allocates per token.

import ArenaPlanner
import MemoryBudget
import ModelProfile
import NUMAArena

/// The tensors of decoding one token, at their planned offsets.
struct DecodeTensors<T: TrainingScalar> {
    /// One block's parameters (nil where the model's shape has none: no biases, RMSNorm).
    struct Block {
        let ln1w, qkvw, attprojw, ln2w, fcw, fcprojw: UnsafeMutablePointer<T>
        let ln1b, qkvb, attprojb, ln2b, fcb, fcprojb: UnsafeMutablePointer<T>?
    }
    let wte, lnfw, headWeight: UnsafeMutablePointer<T>
    let wpe, rope, lnfb: UnsafeMutablePointer<T>?
    let blocks: [Block]
    /// (maxT, L, 2, NKV·HS) token-major
    let kvCache: UnsafeMutablePointer<T>
    /// (maxT) the window's tokens
    let tokens: UnsafeMutablePointer<Int32>
    let residual, norm, normRstd, qkv, scores, attentionOutput, projection, fc, fcActivation, logits,
        probabilities: UnsafeMutablePointer<T>
    let normMean: UnsafeMutablePointer<T>?
    /// Every parameter by name (`wte`, `h1.qkvw`, …) and its element count.
    let parameters: [String: UnsafeMutableBufferPointer<T>]

    init(program: DecodeProgram, plan: ArenaPlan, arena: Arena) {
        let table = program.table
        func view(_ id: TensorID) -> UnsafeMutablePointer<T>? {
            program.index(of: id).map {
                arena.pointer(at: plan.offsets[$0], count: plan.requests[$0].byteCount / MemoryLayout<T>.stride, as: T.self)
            }
        }
        func required(_ id: TensorID) -> UnsafeMutablePointer<T> {
            guard let pointer = view(id) else { preconditionFailure("DecodeTensors: the plan has no \(id)") }
            return pointer
        }
        let spec = table.model.spec
        let head = { (role: HeadTensor) in TensorID(layer: spec.layerCount + 2, role) }
        wte = required(TensorID(layer: 1, EmbeddingTensor.tokenTable))
        wpe = view(TensorID(layer: 1, EmbeddingTensor.positionTable))
        rope = view(TensorID(layer: 1, EmbeddingTensor.rotaryTable))
        lnfw = required(head(.normGain))
        lnfb = view(head(.normShift))
        headWeight = spec.tiedEmbeddings ? wte : required(head(.weight))
        blocks = (2...(spec.layerCount + 1)).map { k in
            let p = { (role: BlockTensor) in required(TensorID(layer: k, role)) }
            let o = { (role: BlockTensor) in view(TensorID(layer: k, role)) }
            return Block(
                ln1w: p(.norm1Gain), qkvw: p(.qkvWeight), attprojw: p(.projectionWeight), ln2w: p(.norm2Gain),
                fcw: p(.fcWeight), fcprojw: p(.fcProjectionWeight), ln1b: o(.norm1Shift), qkvb: o(.qkvBias),
                attprojb: o(.projectionBias), ln2b: o(.norm2Shift), fcb: o(.fcBias), fcprojb: o(.fcProjectionBias))
        }
        let d = { (role: DecodeTensor) in table.id(role) }
        kvCache = required(d(.kvCache))
        let tokenIndex = program.index(of: d(.tokens))!
        tokens = arena.pointer(at: plan.offsets[tokenIndex], count: spec.contextLength, as: Int32.self)
        (residual, norm, normRstd, qkv) = (required(d(.residual)), required(d(.norm)), required(d(.normRstd)), required(d(.qkv)))
        (scores, attentionOutput, projection) = (required(d(.scores)), required(d(.attentionOutput)), required(d(.projection)))
        (fc, fcActivation, logits) = (required(d(.fc)), required(d(.fcActivation)), required(d(.logits)))
        probabilities = required(d(.probabilities))
        normMean = view(d(.normMean))
        var parameters: [String: UnsafeMutableBufferPointer<T>] = [:]
        for id in table.parameterIDs {
            let tensor = table.spec(id)!
            parameters[tensor.name] = UnsafeMutableBufferPointer(start: required(id), count: tensor.elementCount)
        }
        self.parameters = parameters
    }
}

/// Decodes a transformer one token at a time inside its decode program's arena (`DecodeProgram`).
///
/// Position t's token is embedded (wte[token] + wpe[t], or rotary on q and k), and each block runs its training
/// sub-ops on that one row; `qkv` copies the token's key and value into the cache's row t, and attention reads rows
/// 0 … t. So the logits at t equal the training forward pass's row t for the same tokens.
final class TransformerDecoder<T: TrainingScalar> {
    typealias K = TransformerKernels
    let program: DecodeProgram
    let spec: TransformerSpec
    let tensors: DecodeTensors<T>
    /// Tokens in the cache: the next token is decoded at this position.
    private(set) var position = 0

    init(program: DecodeProgram, plan: ArenaPlan, arena: Arena) {
        self.program = program
        spec = program.table.model.spec
        tensors = DecodeTensors(program: program, plan: plan, arena: arena)
        if let rope = tensors.rope {
            K.rotaryTable(rope, maxSequenceLength: spec.contextLength, headSize: spec.headSize)
        }
    }

    /// The window's capacity, maxT.
    var contextLength: Int { spec.contextLength }

    /// Floats of one position's row of the cache: L · 2 · NKV·HS.
    var cacheRowWidth: Int { spec.layerCount * 2 * spec.keyValueHeadCount * spec.headSize }

    /// Empties the cache (its bytes are left as they are; position 0 overwrites row 0).
    func reset() { position = 0 }

    /// Decodes `token` at the next position: appends its keys and values to the cache and leaves the next token's
    /// logits in `tensors.logits`.
    /// - Precondition: the window is not full (`position < maxT`); 0 ≤ token < V.
    func decode(_ token: Int32) {
        precondition(position < spec.contextLength, "decode: the window of \(spec.contextLength) tokens is full; slide it first")
        tensors.tokens[position] = token
        forward(at: position)
        position += 1
    }

    /// Keeps the window's last `keep` tokens and decodes them again from position 0: every key depends on its
    /// position (through wpe or the rotation), so a window that slides must be recomputed.
    func slide(keep: Int) {
        let keep = min(max(0, keep), position)
        let start = position - keep
        for i in 0..<keep { tensors.tokens[i] = tensors.tokens[start + i] }
        position = 0
        for i in 0..<keep { decode(tensors.tokens[i]) }
    }

    /// The next token from the logits (`TransformerKernels.sampleToken`).
    func sample(temperature: Double, uniform: Double) -> Int32 {
        Int32(
            K.sampleToken(
                logits: tensors.logits, probabilities: tensors.probabilities, vocabulary: spec.vocabularySize,
                temperature: temperature, uniform: uniform))
    }

    // MARK: - One token

    private func forward(at t: Int) {
        let (c, one) = (spec.hiddenSize, 0..<1)
        let (heads, kvHeads, headSize) = (spec.headCount, spec.keyValueHeadCount, spec.headSize)
        let fcWidth = spec.fcWidth
        let keyValueWidth = kvHeads * headSize
        // One-row views at position t: the kernels take row r's position as r mod T, so T = 1 and the tables start at t.
        K.embeddingForward(
            out: tensors.residual, tokens: tensors.tokens + t, wte: tensors.wte, wpe: tensors.wpe.map { $0 + t * c },
            vocabulary: spec.vocabularySize, sequenceLength: 1, channels: c, rows: one)
        let row = tensors.kvCache + t * cacheRowWidth
        for (index, block) in tensors.blocks.enumerated() {
            norm(inp: tensors.residual, gain: block.ln1w, shift: block.ln1b)
            K.linearForward(
                out: tensors.qkv, inp: tensors.norm, weight: block.qkvw, bias: block.qkvb, inputChannels: c,
                outputChannels: spec.qkvWidth, rows: one)
            if let rope = tensors.rope {
                K.rotaryForward(
                    qkv: tensors.qkv, table: rope + t * headSize, sequenceLength: 1, heads: heads, kvHeads: kvHeads,
                    headSize: headSize, rows: one)
            }
            // Block `index`'s key then value at position t.
            let keys = tensors.kvCache + index * 2 * keyValueWidth
            (row + index * 2 * keyValueWidth).update(from: tensors.qkv + heads * headSize, count: 2 * keyValueWidth)
            K.attentionDecode(
                out: tensors.attentionOutput, scores: tensors.scores, query: tensors.qkv, keys: keys,
                values: keys + keyValueWidth, rowStride: cacheRowWidth, positions: t + 1, scoreStride: spec.contextLength,
                heads: heads, kvHeads: kvHeads, headSize: headSize)
            K.linearForward(
                out: tensors.projection, inp: tensors.attentionOutput, weight: block.attprojw, bias: block.attprojb,
                inputChannels: c, outputChannels: c, rows: one)
            K.residualForward(out: tensors.residual, a: tensors.residual, b: tensors.projection, elements: 0..<c)
            norm(inp: tensors.residual, gain: block.ln2w, shift: block.ln2b)
            K.linearForward(
                out: tensors.fc, inp: tensors.norm, weight: block.fcw, bias: block.fcb, inputChannels: c,
                outputChannels: fcWidth, rows: one)
            if spec.feedForward == .swiglu {
                K.swiGLUForward(out: tensors.fcActivation, inp: tensors.fc, hidden: spec.feedForwardSize, rows: one)
            } else {
                K.geluForward(out: tensors.fcActivation, inp: tensors.fc, elements: 0..<spec.feedForwardSize)
            }
            K.linearForward(
                out: tensors.projection, inp: tensors.fcActivation, weight: block.fcprojw, bias: block.fcprojb,
                inputChannels: spec.feedForwardSize, outputChannels: c, rows: one)
            K.residualForward(out: tensors.residual, a: tensors.residual, b: tensors.projection, elements: 0..<c)
        }
        norm(inp: tensors.residual, gain: tensors.lnfw, shift: tensors.lnfb)
        K.linearForward(
            out: tensors.logits, inp: tensors.norm, weight: tensors.headWeight, bias: nil, inputChannels: c,
            outputChannels: spec.paddedVocabularySize, rows: one)
    }

    /// LayerNorm or RMSNorm of one row into `tensors.norm`.
    private func norm(inp: UnsafePointer<T>, gain: UnsafePointer<T>, shift: UnsafePointer<T>?) {
        let layer = spec.norm == .layer && tensors.normMean != nil && shift != nil
        K.normForward(
            out: tensors.norm, mean: layer ? tensors.normMean : nil, rstd: tensors.normRstd, inp: inp, weight: gain,
            bias: layer ? shift : nil, channels: spec.hiddenSize, rows: 0..<1)
    }
}

/// The decoder's face outside this module: fp32 (llm.c's checkpoints are fp32), no generics.
///
///     let engine = try DecodeEngine(program: program, plan: plan, arena: arena)
///     try engine.loadGPT2Checkpoint(from: "model.bin")
///     for byte in prompt { engine.decode(Int32(byte)) }
///     let next = engine.sample(temperature: 0.8, uniform: generator.nextUnit())
public final class DecodeEngine {
    public let program: DecodeProgram
    public let plan: ArenaPlan
    public let arena: Arena
    let decoder: TransformerDecoder<Float>

    /// - Throws: `TrainerError.unsupportedPrecision` unless the program is fp32.
    public init(program: DecodeProgram, plan: ArenaPlan, arena: Arena) throws {
        guard program.table.model.precision == .single else {
            throw TrainerError.unsupportedPrecision(program.table.model.precision.rawValue)
        }
        self.program = program
        self.plan = plan
        self.arena = arena
        decoder = TransformerDecoder(program: program, plan: plan, arena: arena)
    }

    /// Reads an llm.c GPT-2 checkpoint straight into the planned parameter tensors.
    ///
    /// - Throws: `CheckpointShapeError` for a model the format cannot hold, `GPT2CheckpointError` for a bad file.
    @discardableResult
    public func loadGPT2Checkpoint(from path: String) throws -> GPT2Config {
        let model = program.table.model
        _ = try GPT2Config(model.spec, model: model.name)
        let buffers = GPT2Config.tensorNames(layers: model.spec.layerCount).map { decoder.tensors.parameters[$0]! }
        return try GPT2Checkpoint.read(from: path, scattering: buffers)
    }

    /// Tokens in the cache; the next one is decoded at this position.
    public var position: Int { decoder.position }
    public var contextLength: Int { decoder.contextLength }

    /// Decodes `token` at the next position (`TransformerDecoder.decode`).
    public func decode(_ token: Int32) { decoder.decode(token) }

    /// Keeps the last `keep` tokens and decodes them again from position 0 (`TransformerDecoder.slide`).
    public func slide(keep: Int) { decoder.slide(keep: keep) }

    /// The next token from the last decoded token's logits.
    public func sample(temperature: Double, uniform: Double) -> Int32 {
        decoder.sample(temperature: temperature, uniform: uniform)
    }

    /// The KV cache's bytes in the arena: its offset and size.
    public var kvCacheRegion: (offset: Int, byteCount: Int) {
        let index = program.kvCacheIndex
        return (plan.offsets[index], plan.requests[index].byteCount)
    }
}

// The bf16-mixed step engine of a dense network: runs the program's ops in order, like `Trainer`, on `MixedTensors`.
// Nothing here allocates: every product's result goes through a C epilogue, and the update widens bf16 gradients
// through a 1 KiB buffer on the stack.

import ArenaPlanner
import CGEMM
import MemoryBudget
import ModelProfile
import TrainingData

/// Runs a bf16-mixed dense program: `load` rounds the batch to bf16; `fwd k` is z = x·Wᵀ on bf16 operands with fp32
/// sums, then bf16(f(z + b)); `loss` reads the last layer's logits in fp32 and writes ∂L/∂z (bf16) over them;
/// `bwd k` forms dz_{k−1} = (dz·W) ⊙ f′(a_{k−1}) and then dW = dzᵀ·x, db = Σ dz in fp32 — stored as bf16 gradients,
/// or with plain SGD applied at once to the fp32 master (W ← W − η·dW) and copied back as bf16; `update` applies the
/// optimizer to the fp32 masters from the widened bf16 gradients and refreshes the bf16 copies.
final class MixedTrainer {
    let program: StepProgram
    let model: Model
    let tensors: MixedTensors
    let lifetimeGuard: LifetimeGuard?
    private var optimizerStep = 0
    private var pool: WorkerPool?
    private var job = Job.update
    /// Per part (a 64-byte line each, so parts never share one): products the portable fp32 loop ran, and products in
    /// all. The record says which kernels ran (`StepEngine.mixedProductKernel`).
    private var counts: UnsafeMutablePointer<Int>?
    private static let countStride = 8

    enum Job {
        case gather(StepBatch, rows: Int)
        case forward(layer: Int, rows: Int)
        case backwardDelta(layer: Int, rows: Int)
        case backwardParameters(layer: Int, rows: Int)
        case update
        /// Every part's AMX workspace sized for the largest product of the step (before the first step).
        case reserve
    }

    init(program: StepProgram, tensors: MixedTensors, lifetimeGuard: LifetimeGuard? = nil) {
        self.program = program
        self.model = program.model
        self.tensors = tensors
        self.lifetimeGuard = lifetimeGuard
    }

    deinit { counts.map { UnsafeMutableRawPointer($0).deallocate() } }

    func attach(_ pool: WorkerPool) {
        self.pool = pool
        counts.map { UnsafeMutableRawPointer($0).deallocate() }
        counts = UnsafeMutableRawPointer.allocate(byteCount: pool.partCount * Self.countStride * 8, alignment: 64)
            .bindMemory(to: Int.self, capacity: pool.partCount * Self.countStride)
        counts?.initialize(repeating: 0, count: pool.partCount * Self.countStride)
        // The body first: the workers run it, so each reserves its own thread's workspace.
        pool.setBody { [unowned self] part in self.runPart(part) }
        dispatch(.reserve, measured: false)
    }

    var partCount: Int { pool?.partCount ?? 1 }

    /// The same first weights as the fp32 trainer's for the same seed (He normal for relu layers, Glorot uniform
    /// otherwise, or the profile's `init`), drawn in fp32 into the masters and rounded into the bf16 copies; biases and
    /// optimizer state zero.
    func initializeParameters(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        for layer in tensors.layers {
            let count = layer.inputWidth * layer.outputWidth
            model.weightInit(for: layer.spec.activation).draw(
                into: layer.masterWeights, inputWidth: layer.inputWidth, outputWidth: layer.outputWidth, generator: &generator)
            BF16.round(layer.masterWeights, into: layer.weights, count: count)
            layer.masterBias?.update(repeating: 0, count: layer.outputWidth)
            layer.bias?.update(repeating: 0, count: layer.outputWidth)
            for state in layer.weightStates { state.update(repeating: 0, count: count) }
            for state in layer.biasStates { state.update(repeating: 0, count: layer.outputWidth) }
        }
        optimizerStep = 0
    }

    // MARK: - Running the program

    func load(_ batch: StepBatch, rows: Int) {
        precondition(rows >= 0 && rows <= model.batchSize, "MixedTrainer: \(rows) rows in a batch planned for \(model.batchSize)")
        dispatch(.gather(batch, rows: rows), measured: rows >= partCount * SplitRules.minimumRowsPerPart)
    }

    func forward(layer index: Int, rows: Int) { dispatch(.forward(layer: index, rows: rows)) }

    func loss(rows: Int, training: Bool) -> Kernels.LossResult {
        let last = tensors.layers[tensors.layers.count - 1]
        return MixedLoss.apply(
            logits: last.output, targets: tensors.targets, rows: rows, columns: last.outputWidth, loss: model.loss,
            writeGradient: training)
    }

    /// bwd k and bwd+upd k alike: dz_{k−1} (k > 1), then the parameters' gradients (or plain SGD's update).
    func backward(layer index: Int, rows: Int, updating: Bool) {
        if index > 0 { dispatch(.backwardDelta(layer: index, rows: rows)) }
        dispatch(.backwardParameters(layer: index, rows: rows))
    }

    func update() {
        optimizerStep += 1
        dispatch(.update)
    }

    private func dispatch(_ job: Job, measured: Bool = true) {
        self.job = job
        if let pool { pool.run(measured: measured) { part in self.runPart(part) } } else { runPart(0) }
    }

    /// Part `part`'s share of `count` items in multiples of `granule`.
    private func share(_ part: Int, of count: Int, granule: Int) -> Range<Int> {
        pool?.range(of: part, count: count, granule: granule) ?? 0..<count
    }

    /// Products run so far, and how many of them the portable fp32 loop ran (no AMX, or no memory for its workspace).
    var productCounts: (all: Int, portable: Int) {
        guard let counts else { return (0, 0) }
        return (0..<partCount).reduce((0, 0)) { ($0.0 + counts[$1 * Self.countStride], $0.1 + counts[$1 * Self.countStride + 1]) }
    }

    func runPart(_ part: Int) {
        switch job {
        case .gather(let batch, let rows): gather(batch, rows: share(part, of: rows, granule: 1))
        case .forward(let index, let rows):
            let layer = tensors.layers[index]
            // By W's rows (outputs) when each part gets at least a 32-wide block: each part then packs only its share of W
            // for the tiles (the larger operand at W1's shapes); else by batch rows.
            let byOutputs = partCount > 1 && layer.outputWidth >= 32 * partCount
            let rowRange = byOutputs ? 0..<rows : share(part, of: rows, granule: 16)
            let columns = byOutputs ? share(part, of: layer.outputWidth, granule: 32) : 0..<layer.outputWidth
            guard !rowRange.isEmpty, !columns.isEmpty else { return }
            // (B, O) = (B, I)·(O, I)ᵀ, then bf16(f(z + b))
            var epilogue = memplan_bf16_epilogue()
            epilogue.kind = Int32(MEMPLAN_EPILOGUE_BIAS_ACTIVATION)
            epilogue.activation = layer.epilogueActivation
            epilogue.bias = layer.bias.map { UnsafePointer($0 + columns.lowerBound) }
            epilogue.output = layer.output + rowRange.lowerBound * layer.outputWidth + columns.lowerBound
            epilogue.outputStride = layer.outputWidth
            product(
                transposeA: false, transposeB: true, m: rowRange.count, n: columns.count, k: layer.inputWidth,
                a: layer.input + rowRange.lowerBound * layer.inputWidth, lda: layer.inputWidth,
                b: layer.weights + columns.lowerBound * layer.inputWidth, ldb: layer.inputWidth, part: part, &epilogue)
        case .backwardDelta(let index, let rows):
            let (layer, below) = (tensors.layers[index], tensors.layers[index - 1])
            guard let target = below.delta else { preconditionFailure("MixedTrainer: hidden layer without dz") }
            let range = share(part, of: rows, granule: 16)
            guard !range.isEmpty else { return }
            // dz_{k−1} (B, I) = (dz (B, O)·W (O, I)) ⊙ f′(a_{k−1})
            var epilogue = memplan_bf16_epilogue()
            epilogue.kind = Int32(MEMPLAN_EPILOGUE_STORE)
            epilogue.scale = 1
            epilogue.activation = MixedLayer.code(below.spec.activation)
            epilogue.output = target + range.lowerBound * layer.inputWidth
            epilogue.outputStride = layer.inputWidth
            epilogue.derivativeOf = UnsafePointer(below.output + range.lowerBound * layer.inputWidth)
            product(
                transposeA: false, transposeB: false, m: range.count, n: layer.inputWidth, k: layer.outputWidth,
                a: layer.incomingDelta + range.lowerBound * layer.outputWidth, lda: layer.outputWidth, b: layer.weights,
                ldb: layer.inputWidth, part: part, &epilogue)
        case .backwardParameters(let index, let rows): backwardParameters(tensors.layers[index], rows: rows, part: part)
        case .update: updatePart(part)
        case .reserve:
            // A part's share of any product is at most the whole op: (B, O, I) forward, (B, I, O) delta, (O, I, B) weights.
            let batch = model.batchSize
            for layer in tensors.layers {
                let (i, o) = (Int32(layer.inputWidth), Int32(layer.outputWidth))
                _ = memplan_bf16_reserve(Int32(batch), o, i)
                _ = memplan_bf16_reserve(Int32(batch), i, o)
                _ = memplan_bf16_reserve(o, i, Int32(batch))
            }
        }
    }

    /// dW (O, I) = dzᵀ (O, B)·x (B, I) and db = Σ_rows dz for this part's outputs: stored as bf16 gradients, or with
    /// plain SGD applied to the fp32 masters and copied to the bf16 weights.
    private func backwardParameters(_ layer: MixedLayer, rows: Int, part: Int) {
        let outputs = share(part, of: layer.outputWidth, granule: 16)
        guard !outputs.isEmpty else { return }
        let (o0, width) = (outputs.lowerBound, layer.inputWidth)
        let dz = layer.incomingDelta
        let fused = layer.weightGradient == nil
        let learningRate = Float(model.optimizer.learningRate)
        var epilogue = memplan_bf16_epilogue()
        epilogue.outputStride = width
        if let gradient = layer.weightGradient {
            epilogue.kind = Int32(MEMPLAN_EPILOGUE_STORE)
            epilogue.scale = 1
            epilogue.output = gradient + o0 * width
        } else {
            epilogue.kind = Int32(MEMPLAN_EPILOGUE_SGD)
            epilogue.scale = -learningRate
            epilogue.output = layer.weights + o0 * width
            epilogue.master = layer.masterWeights + o0 * width
            epilogue.masterStride = width
        }
        product(
            transposeA: true, transposeB: false, m: outputs.count, n: width, k: rows, a: dz + o0, lda: layer.outputWidth,
            b: layer.input, ldb: width, part: part, &epilogue)
        guard let bias = layer.bias, let masterBias = layer.masterBias else { return }
        let columns = layer.outputWidth
        // db(o) = Σ_rows dz(row, o) in fp32, 64 outputs at a time (rows in order, so the sum does not depend on the split).
        var start = outputs.lowerBound
        while start < outputs.upperBound {
            let width = min(64, outputs.upperBound - start)
            var sums = (SIMD32<Float>(), SIMD32<Float>())
            withUnsafeMutableBytes(of: &sums) { bytes in
                let sum = bytes.baseAddress!.assumingMemoryBound(to: Float.self)
                for row in 0..<rows {
                    let line = dz + row * columns + start
                    for o in 0..<width { sum[o] += BF16.value(line[o]) }
                }
                for o in 0..<width {
                    if fused {
                        masterBias[start + o] -= learningRate * sum[o]
                        bias[start + o] = BF16.rounded(masterBias[start + o])
                    } else if let gradient = layer.biasGradient {
                        gradient[start + o] = BF16.rounded(sum[o])
                    }
                }
            }
            start += width
        }
    }

    private func product(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<UInt16>, lda: Int,
        b: UnsafePointer<UInt16>, ldb: Int, part: Int, _ epilogue: inout memplan_bf16_epilogue
    ) {
        let amx = memplan_gemm_bf16_epilogue(
            transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), &epilogue)
        if let counts, k > 0 {  // a product without k has nothing to multiply: it says nothing about the kernels
            counts[part * Self.countStride] &+= 1
            if amx == 0 { counts[part * Self.countStride + 1] &+= 1 }
        }
    }

    /// Rows `rows` of the batch into x and y, rounded to bf16 (features from bytes · 1/255 or from fp32 values).
    private func gather(_ batch: StepBatch, rows: Range<Int>) {
        let data = tensors.data
        let (width, targetWidth) = (data.featureWidth, data.targetWidth)
        for row in rows {
            let sample: Int
            let features: FeatureRows<Float>
            let targets: UnsafeMutablePointer<Float>
            switch batch {
            case .training(let first):
                (sample, features, targets) = (Int(data.order[first + row]), data.trainFeatures, data.trainTargets)
            case .test(let first): (sample, features, targets) = (first + row, data.testFeatures, data.testTargets)
            }
            let x = tensors.features + row * width
            switch features {
            case .bytes(let bytes):
                memplan_bf16_from_bytes(bytes + sample * width, 1 / 255, x, width)
            case .scalars(let values):
                BF16.round(values + sample * width, into: x, count: width)
            }
            BF16.round(targets + sample * targetWidth, into: tensors.targets + row * targetWidth, count: targetWidth)
        }
    }

    /// The optimizer on this part's share of every parameter: the fp32 master from the widened bf16 gradient, then
    /// the bf16 copy from the master.
    private func updatePart(_ part: Int) {
        let rule = OptimizerRule<Float>(model.optimizer, step: optimizerStep)
        func update(
            _ copy: UnsafeMutablePointer<UInt16>, master: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<UInt16>?,
            states: [UnsafeMutablePointer<Float>], count: Int
        ) {
            guard let gradient else { preconditionFailure("MixedTrainer: update without planned gradients") }
            rule.applyMixed(
                copy: copy, master: master, gradient: gradient, states: states, range: share(part, of: count, granule: 16))
        }
        for layer in tensors.layers {
            update(
                layer.weights, master: layer.masterWeights, gradient: layer.weightGradient, states: layer.weightStates,
                count: layer.inputWidth * layer.outputWidth)
            if let bias = layer.bias, let master = layer.masterBias {
                update(bias, master: master, gradient: layer.biasGradient, states: layer.biasStates, count: layer.outputWidth)
            }
        }
    }
}

extension OptimizerRule<Float> {
    /// The rule on `range` of one bf16-mixed parameter: the fp32 master from the widened bf16 gradient, in 256-element
    /// chunks on the stack, then the bf16 copy rounded from the master.
    func applyMixed(
        copy: UnsafeMutablePointer<UInt16>, master: UnsafeMutablePointer<Float>, gradient: UnsafePointer<UInt16>,
        states: [UnsafeMutablePointer<Float>], range: Range<Int>
    ) {
        // 256 floats on the stack (withUnsafeTemporaryAllocation allocated on the heap in debug builds).
        var storage = (SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>())
        withUnsafeMutableBytes(of: &storage) { bytes in
            let widened = bytes.baseAddress!.assumingMemoryBound(to: Float.self)
            var start = range.lowerBound
            while start < range.upperBound {
                let chunk = min(256, range.upperBound - start)
                BF16.widen(gradient + start, into: widened, count: chunk)
                // apply reads gradient[i] for i in start ..< start + chunk
                apply(master, gradient: widened - start, states: states, range: start..<(start + chunk))
                BF16.round(master + start, into: copy + start, count: chunk)
                start += chunk
            }
        }
    }
}

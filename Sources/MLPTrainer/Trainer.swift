// One model's training step over its planned tensors: gather, forward, loss, backward, update.
// Everything runs on arena memory resolved once; nothing here allocates.

import ModelProfile

/// Runs the ops of `TrainingSchedule` on the tensors of `ModelTensors`.
///
/// Lifecycle, as llm.c's: `initializeParameters`, then per batch `gatherTraining` and `step`;
/// `evaluate` for validation and test sets.
final class Trainer<T: TrainingScalar> {
    let model: Model
    let tensors: ModelTensors<T>
    private var adamStep = 0

    init(model: Model, tensors: ModelTensors<T>) {
        self.model = model
        self.tensors = tensors
    }

    // MARK: - Parameters

    /// Draws the first weights (He normal for relu layers, Glorot uniform otherwise, or as the
    /// profile's `init` says), zeroes biases and optimizer state.
    func initializeParameters(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        for layer in tensors.layers {
            let count = layer.weightCount
            let fanIn = Double(max(layer.inputWidth, 1))
            let fanOut = Double(layer.outputWidth)
            let rule: WeightInit = model.weightInit == .auto ? (layer.activation == .relu ? .he : .xavier) : model.weightInit
            switch rule {
            case .zeros, .auto:
                layer.weights.update(repeating: 0, count: count)
            case .he:
                let deviation = (2 / fanIn).squareRoot()
                for index in 0..<count { layer.weights[index] = T(generator.nextNormal() * deviation) }
            case .xavier:
                let limit = (6 / (fanIn + fanOut)).squareRoot()
                for index in 0..<count { layer.weights[index] = T((2 * generator.nextUnit() - 1) * limit) }
            }
            layer.bias?.update(repeating: 0, count: layer.outputWidth)
            for state in layer.weightState { state.update(repeating: 0, count: count) }
            for state in layer.biasState { state.update(repeating: 0, count: layer.outputWidth) }
        }
        adamStep = 0
    }

    // MARK: - Batches

    /// Copies training samples `order[first ..< first + rows]` into x and y, split by rows over
    /// the workers when there are enough rows (the copy is a step's largest piece of work that
    /// is not a product: B·I values read from rows scattered over the training set).
    @inline(__always)
    func gatherTraining(orderStart first: Int, rows: Int) {
        if partCount > 1, rows >= partCount * Self.minimumRowsPerPart {
            dispatch(.gather(orderStart: first, rows: rows))
        } else {
            gatherTrainingRows(orderStart: first, rows: 0..<rows, batchRows: rows)
        }
    }

    /// Copies training samples `order[first + r]` for r in `rows` into row r of x and y (byte features scaled to T).
    @inline(__always)
    private func gatherTrainingRows(orderStart first: Int, rows: Range<Int>, batchRows: Int) {
        let data = tensors.data
        let width = data.featureWidth
        let targetWidth = data.targetWidth
        // First touch one byte of every cache line of every row (features and targets): the rows are random,
        // so read one after the other each waits out its own cache misses; touched together, the misses overlap.
        var touched: UInt8 = 0
        for row in rows {
            let sample = Int(data.order[first + row])
            touched |= data.trainFeatures.touch(from: sample * width, count: width)
            touched |= touchCacheLines(data.trainTargets + sample * targetWidth, byteCount: targetWidth * MemoryLayout<T>.stride)
        }
        touchSink = touched
        for row in rows {
            let sample = Int(data.order[first + row])
            data.trainFeatures.read(from: sample * width, count: width, into: tensors.features + row * width)  // (1, I)
            (tensors.targets + row * targetWidth).update(from: data.trainTargets + sample * targetWidth, count: targetWidth)  // (1, K)
        }
        // The next batch in the order (if this epoch has one) is gathered after this step: start its rows' misses now,
        // so they are served from cache then. Each part prefetches the rows it will likely gather itself.
        let next = first + batchRows
        for row in rows where next + row < data.trainCount {
            let sample = Int(data.order[next + row])
            data.trainFeatures.prefetch(from: sample * width, count: width)
            prefetchCacheLines(data.trainTargets + sample * targetWidth, byteCount: targetWidth * MemoryLayout<T>.stride)
        }
    }

    /// Copies test samples `first ..< first + rows` into x and y.
    @inline(__always)
    func gatherTest(start first: Int, rows: Int) {
        let data = tensors.data
        data.testFeatures.read(from: first * data.featureWidth, count: rows * data.featureWidth, into: tensors.features)
        tensors.targets.update(from: data.testTargets + first * data.targetWidth, count: rows * data.targetWidth)
    }

    // MARK: - The step
    //
    // Each op that carries real work is split into `pool.partCount` parts: by rows of the batch
    // when there are enough rows, else by columns (outputs or inputs), so batch 1 splits too.
    // The caller runs part 0; parts never write the same bytes.

    /// What the workers are running now.
    enum Job {
        case gather(orderStart: Int, rows: Int)
        case forward(layer: Int, rows: Int)
        case backward(layer: Int, rows: Int)
        case update
    }

    private var job = Job.update
    /// Where the gather's touch pass leaves its byte, so the loads are not optimised away.
    private var touchSink: UInt8 = 0
    private var pool: WorkerPool?

    /// Uses `pool` to split each op; `nil` runs everything on the calling thread.
    func attach(_ pool: WorkerPool) {
        self.pool = pool
        pool.setBody { [unowned self] part in self.runPart(part) }
    }

    @inline(__always)
    private func dispatch(_ job: Job) {
        self.job = job
        if let pool {
            // Only batch-sized work teaches the pool the parts' speeds (see `WorkerPool.shortestMeasuredJob`).
            let measured: Bool
            switch job {
            case .gather(_, let rows), .forward(_, let rows), .backward(_, let rows): measured = rows >= partCount * Self.minimumRowsPerPart
            case .update: measured = true
            }
            pool.run(measured: measured) { part in self.runPart(part) }
        } else {
            runPart(0)
        }
    }

    @inline(__always)
    private var partCount: Int { pool?.partCount ?? 1 }

    /// Part `part`'s share of `count` items in the current job, by the parts' measured speeds
    /// (`WorkerPool.range(of:count:granule:records:)`); boundaries are multiples of `granule`.
    @inline(__always)
    private func share(_ part: Int, of count: Int, granule: Int = 1, records: Bool = true) -> Range<Int> {
        pool?.range(of: part, count: count, granule: granule, records: records) ?? 0..<count
    }

    /// Split granules: C's rows go to parts in multiples of the kernels' row tile (8), C's columns in multiples of
    /// their panel width (two 64-byte vectors: 32 floats, 16 doubles), so no part gets a ragged tile it could avoid.
    static var rowGranule: Int { 8 }
    static var columnGranule: Int { 128 / MemoryLayout<T>.stride }

    @inline(__always)
    func runPart(_ part: Int) {
        switch job {
        case .gather(let first, let rows): gatherTrainingRows(orderStart: first, rows: share(part, of: rows), batchRows: rows)
        case .forward(let layer, let rows): forwardPart(layer: layer, rows: rows, part: part)
        case .backward(let layer, let rows):
            if fusesUpdate { fusedBackwardPart(layer: layer, rows: rows, part: part) } else { backwardPart(layer: layer, rows: rows, part: part) }
        case .update: updatePart(part)
        }
    }

    /// Plain SGD updates each layer's parameters inside its backward op (W −= η·dzᵀ·x with one
    /// GEMM), after dz_{k−1} has been computed from the old W: dW and db are never written and
    /// the separate update op disappears. The result is the same step. Off for momentum and Adam,
    /// which need the gradient itself, and for `computeGradients`.
    private(set) var fusesUpdate = false

    /// Whether the fused bwd k splits W by rows (the layer's outputs) as fwd k does, so each thread
    /// keeps updating the rows of W it reads in the next forward pass and W never moves between
    /// the cores' caches. Two cases:
    /// - one sample, any layer: the parts' partial dz_{k−1} are summed after the join, part 1
    ///   onwards staging theirs in dW_k's planned bytes (unused when the update is fused, and live
    ///   exactly during bwd k);
    /// - the first layer whenever its forward splits outputs: it has no dz_{k−1} to compute, so
    ///   nothing needs the old W. (W1 is the step's largest tensor; split by columns instead, half
    ///   of each core's share moved to the other core twice a step.)
    @inline(__always)
    private func splitsBackwardByOutputs(layer: LayerTensors<T>, index: Int, rows: Int) -> Bool {
        guard partCount > 1, layer.outputWidth >= partCount else { return false }
        return rows == 1 || (index == 0 && Self.forwardSplitsOutputs(rows: rows, outputs: layer.outputWidth, parts: partCount))
    }

    /// bwd k with the SGD update fused in, for one part: the part owns a slice of W's columns (the
    /// layer's inputs), computes dz_{k−1} for those columns from the old W, then updates them.
    /// Where `splitsBackwardByOutputs` says so it owns a slice of W's rows instead.
    @inline(__always)
    private func fusedBackwardPart(layer index: Int, rows: Int, part: Int) {
        let layer = tensors.layers[index]
        if splitsBackwardByOutputs(layer: layer, index: index, rows: rows) {
            let x = input(of: index)
            let inputs = layer.inputWidth
            // One sample: equal parts, so every part writes the partial dz_{k−1} the join sums.
            let outputs =
                rows == 1
                ? WorkerPool.range(of: part, parts: partCount, count: layer.outputWidth)
                : share(part, of: layer.outputWidth, granule: Self.columnGranule)  // as fwd 1 splits them
            let learningRate = T(model.optimizer.learningRate)
            if index > 0 {
                // dz_{k−1} partial = W[o0..<o1, :]ᵀ · dz[o0..<o1], from the rows this part is about to update.
                let target = part == 0 ? tensors.layers[index - 1].delta : layer.dWeights + (part - 1) * inputs
                T.gemv(
                    transpose: true, m: outputs.count, n: inputs, alpha: 1, a: layer.weights + outputs.lowerBound * inputs, lda: inputs,
                    x: layer.delta + outputs.lowerBound, beta: 0, y: target)
            }
            Kernels.sgdWeightUpdate(
                dz: layer.delta + outputs.lowerBound, dzStride: layer.outputWidth, x: x, xStride: inputs,
                weights: layer.weights + outputs.lowerBound * inputs, wStride: inputs, batch: rows, outputs: outputs.count, inputs: inputs,
                learningRate: learningRate)
            if let bias = layer.bias {
                Kernels.sgdBiasUpdate(
                    dz: layer.delta + outputs.lowerBound, dzStride: layer.outputWidth, bias: bias + outputs.lowerBound, batch: rows,
                    outputs: outputs.count, learningRate: learningRate)
            }
            return
        }
        let x = input(of: index)
        let inputs = layer.inputWidth
        let outputs = layer.outputWidth
        let learningRate = T(model.optimizer.learningRate)
        let columns = share(part, of: inputs, granule: Self.columnGranule)
        if index > 0 {
            let previous = tensors.layers[index - 1]
            inputGradientTimesDerivative(
                layer: layer, previous: previous, dz: layer.delta, weights: layer.weights + columns.lowerBound, offset: columns.lowerBound,
                rows: rows, columns: columns.count)
        }
        Kernels.sgdWeightUpdate(
            dz: layer.delta, dzStride: outputs, x: x + columns.lowerBound, xStride: inputs, weights: layer.weights + columns.lowerBound,
            wStride: inputs, batch: rows, outputs: outputs, inputs: columns.count, learningRate: learningRate)
        if let bias = layer.bias {
            let biasColumns = share(part, of: outputs, records: false)
            Kernels.sgdBiasUpdate(
                dz: layer.delta + biasColumns.lowerBound, dzStride: outputs, bias: bias + biasColumns.lowerBound, batch: rows,
                outputs: biasColumns.count, learningRate: learningRate)
        }
    }

    /// Rows are split when each part gets at least this many; otherwise columns are.
    static var minimumRowsPerPart: Int { 8 }

    @inline(__always)
    private func input(of layer: Int) -> UnsafeMutablePointer<T> {
        layer == 0 ? tensors.features : tensors.layers[layer - 1].output
    }

    /// Whether fwd k splits its outputs (W's rows) rather than the batch rows across parts: each
    /// part then reads all of x and its share of W instead of its share of x and all of W, which
    /// reads less when the layer has more outputs than the batch has rows, and for small batches.
    @inline(__always)
    static func forwardSplitsOutputs(rows: Int, outputs: Int, parts: Int) -> Bool {
        guard parts > 1, outputs >= parts else { return false }
        return rows < parts * minimumRowsPerPart || outputs > rows
    }

    /// fwd k for one part: a_k = f(a_{k−1}·W_kᵀ + b_k).
    @inline(__always)
    private func forwardPart(layer index: Int, rows: Int, part: Int) {
        let layer = tensors.layers[index]
        let x = input(of: index)
        let inputs = layer.inputWidth
        let outputs = layer.outputWidth
        let parts = partCount
        // One row: the bias goes in before the matrix-vector product. More: the product runs with
        // β = 0 and the bias is added in the activation's pass (one pass over out instead of two).
        if !Self.forwardSplitsOutputs(rows: rows, outputs: outputs, parts: parts) {
            let range = share(part, of: rows, granule: Self.rowGranule)
            let out = layer.output + range.lowerBound * outputs
            if Kernels.linearActivated(
                x: x + range.lowerBound * inputs, xStride: inputs, weights: layer.weights, bias: layer.bias, out: out, outStride: outputs,
                rows: range.count, inputs: inputs, outputs: outputs, layer.activation)
            {
                return
            }
            let biasFirst = range.count == 1 ? layer.bias : nil
            Kernels.linear(
                x: x + range.lowerBound * inputs, xStride: inputs, weights: layer.weights, bias: biasFirst, out: out, outStride: outputs,
                rows: range.count, inputs: inputs, outputs: outputs)
            Kernels.activate(
                out, rows: range.count, columns: outputs, stride: outputs, bias: biasFirst == nil ? layer.bias : nil, layer.activation)
        } else {
            let range = share(part, of: outputs, granule: Self.columnGranule)
            let out = layer.output + range.lowerBound
            let bias = layer.bias.map { UnsafePointer($0 + range.lowerBound) }
            // softmax needs whole rows: only the bias here, softmax after the join
            let activation = layer.activation == .softmax ? Activation.identity : layer.activation
            if Kernels.linearActivated(
                x: x, xStride: inputs, weights: layer.weights + range.lowerBound * inputs, bias: bias, out: out, outStride: outputs,
                rows: rows, inputs: inputs, outputs: range.count, activation)
            {
                return
            }
            let biasFirst = rows == 1 ? bias : nil
            Kernels.linear(
                x: x, xStride: inputs, weights: layer.weights + range.lowerBound * inputs, bias: biasFirst,
                out: out, outStride: outputs, rows: rows, inputs: inputs, outputs: range.count)
            let biasLater = biasFirst == nil ? bias : nil
            Kernels.activate(out, rows: rows, columns: range.count, stride: outputs, bias: biasLater, activation)
        }
    }

    /// bwd k for one part: its share of dW_k and db_k (by output rows), and of dz_{k−1} (by rows,
    /// or by columns for small batches), which then gets multiplied by f'(a_{k−1}).
    @inline(__always)
    private func backwardPart(layer index: Int, rows: Int, part: Int) {
        let layer = tensors.layers[index]
        let x = input(of: index)
        let inputs = layer.inputWidth
        let outputs = layer.outputWidth
        let parts = partCount
        if outputs >= parts {
            let range = share(part, of: outputs, granule: Self.rowGranule)
            Kernels.weightGradient(
                dz: layer.delta + range.lowerBound, dzStride: outputs, x: x, xStride: inputs,
                dWeights: layer.dWeights + range.lowerBound * inputs, dWStride: inputs, batch: rows, outputs: range.count, inputs: inputs)
            if let dBias = layer.dBias {
                Kernels.biasGradient(dz: layer.delta + range.lowerBound, dzStride: outputs, dBias: dBias + range.lowerBound, batch: rows, outputs: range.count)
            }
        } else {
            let range = share(part, of: inputs, granule: Self.columnGranule)
            Kernels.weightGradient(
                dz: layer.delta, dzStride: outputs, x: x + range.lowerBound, xStride: inputs, dWeights: layer.dWeights + range.lowerBound,
                dWStride: inputs, batch: rows, outputs: outputs, inputs: range.count)
            if part == 0, let dBias = layer.dBias {
                Kernels.biasGradient(dz: layer.delta, dzStride: outputs, dBias: dBias, batch: rows, outputs: outputs)
            }
        }
        guard index > 0 else { return }
        let previous = tensors.layers[index - 1]
        if rows >= parts * Self.minimumRowsPerPart || inputs < parts {
            let range = share(part, of: rows, granule: Self.rowGranule)
            inputGradientTimesDerivative(
                layer: layer, previous: previous, dz: layer.delta + range.lowerBound * outputs, weights: layer.weights,
                offset: range.lowerBound * inputs, rows: range.count, columns: inputs)
        } else {
            let range = share(part, of: inputs, granule: Self.columnGranule)
            inputGradientTimesDerivative(
                layer: layer, previous: previous, dz: layer.delta, weights: layer.weights + range.lowerBound, offset: range.lowerBound,
                rows: rows, columns: range.count)
        }
    }

    /// dz_{k−1} = (dz_k · W_k) ⊙ f'(a_{k−1}) for the block of `rows` × `columns` at `offset` into dz_{k−1} and a_{k−1}
    /// (rows `inputs` apart): one pass where the kernels fuse the ReLU mask into the product, else the product
    /// and then the derivative. dz (rows, outputs) stride outputs; `weights` at the block's first column.
    @inline(__always)
    private func inputGradientTimesDerivative(
        layer: LayerTensors<T>, previous: LayerTensors<T>, dz: UnsafePointer<T>, weights: UnsafePointer<T>, offset: Int, rows: Int,
        columns: Int
    ) {
        let inputs = layer.inputWidth
        let outputs = layer.outputWidth
        let dx = previous.delta + offset
        let a = UnsafePointer(previous.output + offset)
        if Kernels.inputGradientTimesDerivative(
            dz: dz, dzStride: outputs, weights: weights, wStride: inputs, dx: dx, dxStride: inputs, output: a, rows: rows,
            outputs: outputs, inputs: columns, previous.activation)
        {
            return
        }
        Kernels.inputGradient(
            dz: dz, dzStride: outputs, weights: weights, wStride: inputs, dx: dx, dxStride: inputs, rows: rows, outputs: outputs,
            inputs: columns)
        Kernels.multiplyByDerivative(dx, output: a, rows: rows, columns: columns, stride: inputs, previous.activation)
    }

    /// fwd 1 … fwd L on the first `rows` rows of x.
    @inline(__always)
    func forward(rows: Int) {
        for index in tensors.layers.indices {
            dispatch(.forward(layer: index, rows: rows))
            let layer = tensors.layers[index]
            if layer.activation == .softmax, Self.forwardSplitsOutputs(rows: rows, outputs: layer.outputWidth, parts: partCount) {
                Kernels.activate(layer.output, rows: rows, columns: layer.outputWidth, stride: layer.outputWidth, .softmax)
            }
        }
    }

    /// One training step on the first `rows` rows of x and y: forward, loss, backward, update.
    /// Returns the batch's summed loss and its correct predictions.
    @inline(__always)
    func step(rows: Int) -> Kernels.LossResult {
        if model.optimizer.kind == .sgd {
            fusesUpdate = true
            defer { fusesUpdate = false }
            return computeGradients(rows: rows)
        }
        let result = computeGradients(rows: rows)
        if model.optimizer.kind == .adam { adamStep += 1 }
        dispatch(.update)
        return result
    }

    /// Forward, loss and backward: leaves ∂(mean loss)/∂θ in dW and db, parameters unchanged.
    @inline(__always)
    func computeGradients(rows: Int) -> Kernels.LossResult {
        forward(rows: rows)
        let output = tensors.layers[tensors.layers.count - 1]
        let result = Kernels.loss(
            output.output, targets: tensors.targets, rows: rows, columns: output.outputWidth, loss: model.loss,
            outputActivation: output.activation, writeGradient: true)
        for index in stride(from: tensors.layers.count - 1, through: 0, by: -1) {
            dispatch(.backward(layer: index, rows: rows))
            let layer = tensors.layers[index]
            if fusesUpdate, index > 0, splitsBackwardByOutputs(layer: layer, index: index, rows: rows) {
                // Sum the parts' partial dz_{k−1}, then apply f'(a_{k−1}).
                let previous = tensors.layers[index - 1]
                let inputs = layer.inputWidth
                for part in 1..<partCount {
                    let partial = layer.dWeights + (part - 1) * inputs
                    for column in 0..<inputs { previous.delta[column] += partial[column] }
                }
                Kernels.multiplyByDerivative(previous.delta, output: previous.output, rows: 1, columns: inputs, stride: inputs, previous.activation)
            }
        }
        return result
    }

    /// The optimizer step on this part's share of every parameter tensor.
    @inline(__always)
    private func updatePart(_ part: Int) {
        let optimizer = model.optimizer
        let learningRate = T(optimizer.learningRate)
        for layer in tensors.layers {
            let weights = share(part, of: layer.weightCount, granule: 16)
            let biases = share(part, of: layer.outputWidth, records: false)
            switch optimizer.kind {
            case .sgd:
                Kernels.sgd(layer.weights + weights.lowerBound, gradient: layer.dWeights + weights.lowerBound, count: weights.count, learningRate: learningRate)
                if let bias = layer.bias, let dBias = layer.dBias {
                    Kernels.sgd(bias + biases.lowerBound, gradient: dBias + biases.lowerBound, count: biases.count, learningRate: learningRate)
                }
            case .momentum:
                let momentum = T(optimizer.momentum)
                Kernels.momentum(
                    layer.weights + weights.lowerBound, gradient: layer.dWeights + weights.lowerBound,
                    velocity: layer.weightState[0] + weights.lowerBound, count: weights.count, learningRate: learningRate, momentum: momentum)
                if let bias = layer.bias, let dBias = layer.dBias {
                    Kernels.momentum(
                        bias + biases.lowerBound, gradient: dBias + biases.lowerBound, velocity: layer.biasState[0] + biases.lowerBound,
                        count: biases.count, learningRate: learningRate, momentum: momentum)
                }
            case .adam:
                let beta1 = T(optimizer.beta1)
                let beta2 = T(optimizer.beta2)
                let correction1 = T(1 - pow(optimizer.beta1, Double(adamStep)))
                let correction2 = T(1 - pow(optimizer.beta2, Double(adamStep)))
                let epsilon = T(optimizer.epsilon)
                Kernels.adam(
                    layer.weights + weights.lowerBound, gradient: layer.dWeights + weights.lowerBound,
                    first: layer.weightState[0] + weights.lowerBound, second: layer.weightState[1] + weights.lowerBound,
                    count: weights.count, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                    correction1: correction1, correction2: correction2)
                if let bias = layer.bias, let dBias = layer.dBias {
                    Kernels.adam(
                        bias + biases.lowerBound, gradient: dBias + biases.lowerBound, first: layer.biasState[0] + biases.lowerBound,
                        second: layer.biasState[1] + biases.lowerBound, count: biases.count, learningRate: learningRate, beta1: beta1,
                        beta2: beta2, epsilon: epsilon, correction1: correction1, correction2: correction2)
                }
            }
        }
    }

    /// Forward and loss without touching parameters, for the rows already in x and y.
    @inline(__always)
    func evaluate(rows: Int) -> Kernels.LossResult {
        forward(rows: rows)
        let output = tensors.layers[tensors.layers.count - 1]
        return Kernels.loss(
            output.output, targets: tensors.targets, rows: rows, columns: output.outputWidth, loss: model.loss,
            outputActivation: output.activation, writeGradient: false)
    }
}

#if canImport(Glibc)
    import Glibc
#endif


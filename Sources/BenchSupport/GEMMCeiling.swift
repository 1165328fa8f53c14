// The GEMM-only ceiling of a training step: the step's matrix products at its real shapes, nothing else.

import ArenaPlanner
import Foundation
import MLPTrainer
import MemoryBudget
import ModelProfile

/// Measures how many samples per second the products of one SGD step alone could sustain.
///
/// A step of an L-layer MLP at batch B runs 3L − 1 products: L forward (B, out) = (B, in)·Wᵀ,
/// L weight products (out, in) = dzᵀ·a and L − 1 input products (B, in) = dz·W. This walks the step
/// program the trainer runs (`StepProgram`, plain SGD) and runs exactly the products of its `fwd k` and
/// `bwd k+sgd` ops, on scratch buffers, `steps` times, either with OpenBLAS's own threads or split over
/// memplan's workers by the trainer's split rules (`SplitRules`, shares following the parts' speeds),
/// and reports samples per second.
public enum GEMMCeiling {
    public enum Threading: String, Sendable, CaseIterable {
        /// OpenBLAS splits each product over its own `threads` threads.
        case openblas
        /// memplan splits each product over its worker pool, with the kernels the trainer uses
        /// (`TrainingScalar.gemm`: memplan's own AVX-512 kernels where they run, else BLAS).
        case memplan
        /// memplan's split with every product in BLAS (single-threaded inside each part).
        case blasSplit = "blas-split"
    }

    /// Floating-point operations per sample of those products: 2·in·out each for the forward
    /// product and the weight product, and for the input product of every layer but the first
    /// (4·in·out for layer 1, 6·in·out for the others).
    public static func flopsPerSample(widths: [Int]) -> Double {
        zip(widths.dropLast(), widths.dropFirst()).enumerated().reduce(0.0) { total, entry in
            let (index, (inputs, outputs)) = entry
            return total + Double(inputs) * Double(outputs) * (index == 0 ? 4 : 6)
        }
    }

    public static func samplesPerSecond(
        widths: [Int], batch: Int, precision: Precision, threads: Int, threading: Threading, steps: Int
    ) throws -> Double {
        switch precision {
        case .single: try measure(Float.self, widths: widths, batch: batch, threads: threads, threading: threading, steps: steps)
        case .double: try measure(Double.self, widths: widths, batch: batch, threads: threads, threading: threading, steps: steps)
        default: throw TrainerError.unsupportedPrecision(precision.rawValue)  // estimate-only precisions
        }
    }

    static func measure<T: TrainingScalar>(_: T.Type, widths: [Int], batch: Int, threads: Int, threading: Threading, steps: Int)
        throws -> Double
    {
        let layers = Array(zip(widths.dropLast(), widths.dropFirst()))
        let parts = threading == .openblas ? 1 : threads
        let model = try Model(
            name: "ceiling", widths: widths, loss: .softmaxCrossEntropy, precision: T.self == Float.self ? .single : .double,
            batchSize: batch,
            optimizer: Optimizer(kind: .sgd, learningRate: 0.05))
        let program = try StepProgram(model: model, options: StepOptions(parts: parts))
        func buffer(_ count: Int) -> UnsafeMutablePointer<T> {
            // 64-byte aligned, as the planner aligns every buffer in the arena (a vector load of a row must not
            // straddle two cache lines here when it does not in the trainer).
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<T>.stride, alignment: 64)
                .bindMemory(to: T.self, capacity: max(count, 1))
            for index in 0..<max(count, 1) { pointer[index] = T(Double((index * 7919) % 97) / 97 - 0.5) }
            return pointer
        }
        let activations = widths.map { buffer(batch * $0) }
        let deltas = widths.map { buffer(batch * $0) }
        let weights = layers.map { buffer($0.0 * $0.1) }
        let gradients = layers.map { buffer($0.0 * $0.1) }
        defer {
            // raw, as allocated
            for pointer in activations + deltas + weights + gradients { UnsafeMutableRawPointer(pointer).deallocate() }
        }
        let ownKernels = threading == .memplan
        func gemm(
            transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: T, a: UnsafePointer<T>, lda: Int,
            b: UnsafePointer<T>,
            ldb: Int, beta: T, c: UnsafeMutablePointer<T>, ldc: Int
        ) {
            if ownKernels {
                T.gemm(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
                    ldb: ldb, beta: beta,
                    c: c, ldc: ldc)
            } else {
                T.blasGEMM(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
                    ldb: ldb, beta: beta,
                    c: c, ldc: ldc)
            }
        }
        BLASInfo.setThreadCount(threading == .openblas ? threads : 1)
        defer { BLASInfo.setThreadCount(1) }
        let pool = WorkerPool(partCount: parts)
        nonisolated(unsafe) var job: (Int) -> Void = { _ in }
        pool.setBody { part in job(part) }
        defer { job = { _ in } }  // the jobs capture the pool; drop the last one so the pool and its threads go
        func run(_ body: @escaping (Int) -> Void) {
            job = body
            pool.run { part in body(part) }
        }
        let rowGranule = SplitRules.rowGranule
        let columnGranule = SplitRules.columnGranule(T.self)
        /// The products of one op of the program, as the trainer splits them.
        func products(of op: StepOp) {
            switch op {
            case .forward(let k):
                let index = k - 1
                let (inputs, outputs) = layers[index]
                run { part in
                    if SplitRules.forwardSplitsOutputs(rows: batch, outputs: outputs, parts: parts) {
                        let columns = pool.range(of: part, count: outputs, granule: columnGranule)
                        gemm(
                            transposeA: false, transposeB: true, m: batch, n: columns.count, k: inputs, alpha: 1,
                            a: activations[index], lda: inputs, b: weights[index] + columns.lowerBound * inputs, ldb: inputs,
                            beta: 0,
                            c: activations[index + 1] + columns.lowerBound, ldc: outputs)
                    } else {
                        let rows = pool.range(of: part, count: batch, granule: rowGranule)
                        gemm(
                            transposeA: false, transposeB: true, m: rows.count, n: outputs, k: inputs, alpha: 1,
                            a: activations[index] + rows.lowerBound * inputs, lda: inputs, b: weights[index], ldb: inputs,
                            beta: 0,
                            c: activations[index + 1] + rows.lowerBound * outputs, ldc: outputs)
                    }
                }
            case .backward(let k), .backwardUpdate(let k):
                let index = k - 1
                let (inputs, outputs) = layers[index]
                run { part in
                    if index == 0, SplitRules.forwardSplitsOutputs(rows: batch, outputs: outputs, parts: parts) {
                        // The first layer's weight product by W's rows, as the trainer's fused update splits it.
                        let rows = pool.range(of: part, count: outputs, granule: columnGranule)
                        gemm(
                            transposeA: true, transposeB: false, m: rows.count, n: inputs, k: batch, alpha: 1,
                            a: deltas[index + 1] + rows.lowerBound, lda: outputs, b: activations[index], ldb: inputs, beta: 0,
                            c: gradients[index] + rows.lowerBound * inputs, ldc: inputs)
                        return
                    }
                    let columns = pool.range(of: part, count: inputs, granule: columnGranule)
                    if index > 0 {
                        gemm(
                            transposeA: false, transposeB: false, m: batch, n: columns.count, k: outputs, alpha: 1,
                            a: deltas[index + 1],
                            lda: outputs, b: weights[index] + columns.lowerBound, ldb: inputs, beta: 0,
                            c: deltas[index] + columns.lowerBound,
                            ldc: inputs)
                    }
                    gemm(
                        transposeA: true, transposeB: false, m: outputs, n: columns.count, k: batch, alpha: 1,
                        a: deltas[index + 1],
                        lda: outputs, b: activations[index] + columns.lowerBound, ldb: inputs, beta: 0,
                        c: gradients[index] + columns.lowerBound, ldc: inputs)
                }
            case .load, .loss, .update, .forwardPart, .backwardPart, .recomputePart:
                break  // no products
            }
        }
        func oneStep() {
            for op in program.ops { products(of: op) }
        }
        return timedSamplesPerSecond(pool: pool, steps: steps, batch: batch, oneStep)
    }

    /// Runs `oneStep` to warm up, then `steps` times on the clock: samples per second at `batch` samples a step.
    ///
    /// Warm-up: steps/20 (at least 3), and with a split until the shares have followed the parts' speeds eight
    /// times (each update halves the distance to them). The trainer's shares settle within the first of its
    /// ~2,300 steps; a 400-step block that starts from even shares would time mostly the settling (at 2 threads
    /// only 2–3 of a step's 6 jobs are long enough to be measured, so an update comes every ~25 steps).
    /// Capped, for products too short ever to be measured.
    static func timedSamplesPerSecond(pool: WorkerPool, steps: Int, batch: Int, _ oneStep: () -> Void) -> Double {
        let warmUpSteps = max(3, steps / 20)
        var warmed = 0
        while warmed < warmUpSteps || (pool.balances && pool.shareUpdates < 8 && warmed < warmUpSteps + 2_000) {
            oneStep()
            warmed += 1
        }
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { oneStep() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Double(steps * batch) / seconds
    }
}

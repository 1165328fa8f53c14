// The GEMM-only ceiling of a bf16-mixed step: the products the bf16-mixed trainer runs, with its kernels and splits.

import CGEMM
import Foundation
import MLPTrainer

extension GEMMCeiling {
    /// Samples per second the products of one bf16-mixed SGD step alone could sustain over `threads` parts: per layer
    /// (B, out) = (B, in)·Wᵀ with the bias + relu epilogue, (B, in) = dz·W with the masked-delta epilogue (layers
    /// after the first), and the weight product dzᵀ·a with SGD's master update — bf16 operands, fp32 sums (AMX where
    /// the CPU has it), split as `MixedTrainer` splits them (batch rows, then W's rows). Buffers on the heap.
    public static func mixedSamplesPerSecond(widths: [Int], batch: Int, threads: Int, steps: Int) -> Double {
        let layers = Array(zip(widths.dropLast(), widths.dropFirst()))
        func buffer<T: BinaryInteger>(_ count: Int, _: T.Type) -> UnsafeMutablePointer<T> {
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<T>.stride, alignment: 64)
                .bindMemory(to: T.self, capacity: max(count, 1))
            pointer.initialize(repeating: 0, count: max(count, 1))
            return pointer
        }
        func values(_ count: Int) -> UnsafeMutablePointer<UInt16> {
            let pointer = buffer(count, UInt16.self)
            for index in 0..<count { pointer[index] = BF16.rounded(Float((index * 7919) % 97) / 97 - 0.5) }
            return pointer
        }
        let activations = widths.map { values(batch * $0) }
        let deltas = widths.map { values(batch * $0) }
        let weights = layers.map { values($0.0 * $0.1) }
        let masters = layers.map { layer in
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: layer.0 * layer.1)
            pointer.initialize(repeating: 0, count: layer.0 * layer.1)
            return pointer
        }
        defer {
            for pointer in activations + deltas + weights { UnsafeMutableRawPointer(pointer).deallocate() }
            for pointer in masters { pointer.deallocate() }
        }
        let pool = WorkerPool(partCount: threads)
        nonisolated(unsafe) var job: (Int) -> Void = { _ in }
        pool.setBody { part in job(part) }
        defer { job = { _ in } }
        func run(_ body: @escaping (Int) -> Void) {
            job = body
            pool.run { part in body(part) }
        }
        func product(
            _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<UInt16>, _ lda: Int,
            _ b: UnsafePointer<UInt16>, _ ldb: Int, _ epilogue: memplan_bf16_epilogue
        ) {
            var epilogue = epilogue
            _ = memplan_gemm_bf16_epilogue(
                transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), &epilogue)
        }
        func oneStep() {
            for (index, (inputs, outputs)) in layers.enumerated() {
                run { part in
                    // As `MixedTrainer`: by W's rows when each part gets a 32-wide block, else by batch rows.
                    let byOutputs = threads > 1 && outputs >= 32 * threads
                    let rows = byOutputs ? 0..<batch : pool.range(of: part, count: batch, granule: 16)
                    let columns = byOutputs ? pool.range(of: part, count: outputs, granule: 32) : 0..<outputs
                    guard !rows.isEmpty, !columns.isEmpty else { return }
                    var e = memplan_bf16_epilogue()
                    e.kind = Int32(MEMPLAN_EPILOGUE_BIAS_ACTIVATION)
                    e.activation = Int32(MEMPLAN_ACTIVATION_RELU)
                    e.output = activations[index + 1] + rows.lowerBound * outputs + columns.lowerBound
                    e.outputStride = outputs
                    product(
                        false, true, rows.count, columns.count, inputs, activations[index] + rows.lowerBound * inputs, inputs,
                        weights[index] + columns.lowerBound * inputs, inputs, e)
                }
            }
            for (index, (inputs, outputs)) in layers.enumerated().reversed() {
                if index > 0 {
                    run { part in
                        let rows = pool.range(of: part, count: batch, granule: 16)
                        guard !rows.isEmpty else { return }
                        var e = memplan_bf16_epilogue()
                        e.kind = Int32(MEMPLAN_EPILOGUE_STORE)
                        e.scale = 1
                        e.activation = Int32(MEMPLAN_ACTIVATION_RELU)
                        e.output = deltas[index] + rows.lowerBound * inputs
                        e.outputStride = inputs
                        e.derivativeOf = UnsafePointer(activations[index] + rows.lowerBound * inputs)
                        product(
                            false, false, rows.count, inputs, outputs, deltas[index + 1] + rows.lowerBound * outputs, outputs,
                            weights[index], inputs, e)
                    }
                }
                run { part in
                    let range = pool.range(of: part, count: outputs, granule: 16)
                    guard !range.isEmpty else { return }
                    var e = memplan_bf16_epilogue()
                    e.kind = Int32(MEMPLAN_EPILOGUE_SGD)
                    e.scale = -1e-6
                    e.output = weights[index] + range.lowerBound * inputs
                    e.outputStride = inputs
                    e.master = masters[index] + range.lowerBound * inputs
                    e.masterStride = inputs
                    product(
                        true, false, range.count, inputs, batch, deltas[index + 1] + range.lowerBound, outputs,
                        activations[index], inputs, e)
                }
            }
        }
        return timedSamplesPerSecond(pool: pool, steps: steps, batch: batch, oneStep)
    }
}

// No kernel allocates: every transformer kernel, forward and backward, in both precisions and both attention
// paths, under the malloc interposer the test binary already links (through the memplan CLI's HeapCounting trait).
// The interposer counts every thread, and other suites run in parallel, so a hook counts only this test's thread.

import Foundation
@testable import MLPTrainer
import ModelProfile
import Testing

/// The interposer's C entry points, found at run time; nil when this binary does not have it (a build without
/// the HeapCounting trait, or a sanitizer build, where its global hooks are compiled out).
struct MallocInterposer {
    typealias Toggle = @convention(c) () -> Void
    typealias Hook = @convention(c) (Int) -> Void
    typealias SetHook = @convention(c) (Hook?) -> Void
    let enable: Toggle
    let disable: Toggle
    let setHook: SetHook

    static let shared: MallocInterposer? = {
        typealias Installed = @convention(c) () -> Int32
        func symbol<F>(_ name: String, as _: F.Type) -> F? { dlsym(nil, name).map { unsafeBitCast($0, to: F.self) } }
        guard let installed = symbol("malloc_interposer_global_hooks_installed", as: Installed.self), installed() != 0,
            let enable = symbol("malloc_interposer_enable", as: Toggle.self),
            let disable = symbol("malloc_interposer_disable", as: Toggle.self),
            let setHook = symbol("malloc_interposer_set_allocation_hook", as: SetHook.self)
        else { return nil }
        return MallocInterposer(enable: enable, disable: disable, setHook: setHook)
    }()
}

/// The thread whose allocations the hook counts, and its count (written only from the hook, on that thread).
nonisolated(unsafe) var countedThread: pthread_t = 0
nonisolated(unsafe) var countedAllocations = 0

/// Every kernel's inputs and outputs for one shape (sequence length L here: T is the scalar type), allocated up front; `run()` calls each kernel once.
final class KernelWorkload<T: TrainingScalar> {
    let (B, L, NH, NKV, HS, I, V, Vp): (Int, Int, Int, Int, Int, Int, Int, Int)
    var N: Int { B * L }
    var C: Int { NH * HS }
    var R: Int { (NH + 2 * NKV) * HS }
    let tokens, targets: Slab<Int32>
    let wte, wpe, x, y, out, dout, dx, weight, bias, dweight, dbias, mean, rstd, linearWeight, linearOut, dlinearWeight,
        dlinearBias: Slab<T>
    let wide, dwide, half, qkv, dqkv, att, scratch, table, logits, losses: Slab<T>

    init(sequence: Int) {
        // From T = 16 heads of 16: attention's GEMM path (`attentionUsesGEMM`).
        (B, L, NH, NKV, HS, I, V, Vp) = (2, sequence, 4, 2, sequence >= 16 ? 16 : 4, 24, 20, 24)
        var generator = SplitMix64(seed: 51)
        let (N, C, R) = (B * sequence, NH * HS, (NH + 2 * NKV) * HS)
        tokens = Slab((0..<N).map { Int32($0 % 20) })
        targets = Slab((0..<N).map { Int32(($0 * 3) % 20) })
        func normal(_ count: Int) -> Slab<T> { Slab<T>(normal: count, &generator) }
        (wte, wpe, x, y, out, dout, dx) = (
            normal(Vp * C), normal(sequence * C), normal(N * C), normal(N * C), normal(N * C), normal(N * C), normal(N * C)
        )
        (weight, bias, dweight, dbias, mean, rstd) = (normal(C), normal(C), normal(C), normal(C), normal(N), normal(N))
        (linearWeight, linearOut, dlinearWeight, dlinearBias) = (normal(Vp * C), normal(N * Vp), normal(Vp * C), normal(Vp))
        (wide, dwide, half) = (normal(N * 2 * I), normal(N * 2 * I), normal(N * I))
        (qkv, dqkv, att, scratch) = (
            normal(N * R), normal(N * R), normal(B * NH * sequence * sequence), normal(sequence * sequence)
        )
        table = Slab(sequence * HS, repeating: 0)
        K.rotaryTable(table.p, maxSequenceLength: sequence, headSize: HS)
        (logits, losses) = (normal(N * Vp), normal(N))
    }

    func run() {
        K.embeddingForward(
            out: out.p, tokens: tokens.p, wte: wte.p, wpe: wpe.p, vocabulary: V, sequenceLength: L, channels: C, rows: 0..<N)
        K.embeddingBackward(
            dwte: dlinearWeight.p, dwpe: wpe.p, dout: dout.p, tokens: tokens.p, vocabulary: V, sequenceLength: L, channels: C,
            rowCount: N,
            columns: 0..<C)
        K.residualForward(out: out.p, a: x.p, b: y.p, elements: 0..<(N * C))
        K.residualBackward(da: dx.p, db: out.p, dout: dout.p, elements: 0..<(N * C), accumulate: true)
        K.normForward(
            out: out.p, mean: mean.p, rstd: rstd.p, inp: x.p, weight: weight.p, bias: bias.p, channels: C, rows: 0..<N)
        K.normBackwardInput(
            dinp: dx.p, dout: dout.p, inp: x.p, weight: weight.p, mean: mean.p, rstd: rstd.p, channels: C, rows: 0..<N,
            accumulate: false)
        K.normBackwardParameters(
            dweight: dweight.p, dbias: dbias.p, dout: dout.p, inp: x.p, mean: mean.p, rstd: rstd.p, channels: C, rowCount: N,
            columns: 0..<C,
            accumulate: true)
        K.normForward(out: out.p, rstd: rstd.p, inp: x.p, weight: weight.p, channels: C, rows: 0..<N)
        K.normBackwardInput(
            dinp: dx.p, dout: dout.p, inp: x.p, weight: weight.p, rstd: rstd.p, channels: C, rows: 0..<N, accumulate: true)
        K.normBackwardParameters(
            dweight: dweight.p, dout: dout.p, inp: x.p, rstd: rstd.p, channels: C, rowCount: N, columns: 0..<C, accumulate: false)
        K.linearForward(
            out: linearOut.p, inp: x.p, weight: linearWeight.p, bias: wte.p, inputChannels: C, outputChannels: Vp, rows: 0..<N)
        K.linearBackwardInput(
            dinp: dx.p, dout: linearOut.p, weight: linearWeight.p, inputChannels: C, outputChannels: Vp, rows: 0..<N,
            accumulate: true)
        K.linearBackwardWeight(
            dweight: dlinearWeight.p, dbias: dlinearBias.p, dout: linearOut.p, inp: x.p, inputChannels: C, outputChannels: Vp,
            rowCount: N,
            outputs: 0..<Vp, accumulate: false)
        K.geluForward(out: dwide.p, inp: wide.p, elements: 0..<(N * 2 * I))
        K.geluBackward(dinp: dwide.p, inp: wide.p, dout: wide.p, elements: 0..<(N * 2 * I), accumulate: false)
        K.swiGLUForward(out: half.p, inp: wide.p, hidden: I, rows: 0..<N)
        K.swiGLUBackward(dinp: dwide.p, inp: wide.p, dout: half.p, hidden: I, rows: 0..<N, accumulate: true)
        K.rotaryForward(qkv: qkv.p, table: table.p, sequenceLength: L, heads: NH, kvHeads: NKV, headSize: HS, rows: 0..<N)
        K.attentionForward(
            out: out.p, att: att.p, qkv: qkv.p, sequenceLength: L, heads: NH, kvHeads: NKV, headSize: HS, pairs: 0..<(B * NH))
        K.attentionBackward(
            dqkv: dqkv.p, scratch: scratch.p, dout: dout.p, qkv: qkv.p, att: att.p, sequenceLength: L, heads: NH, kvHeads: NKV,
            headSize: HS,
            groups: 0..<(B * NKV), accumulate: false)
        K.rotaryBackward(dqkv: dqkv.p, table: table.p, sequenceLength: L, heads: NH, kvHeads: NKV, headSize: HS, rows: 0..<N)
        K.softmaxCrossEntropy(
            logits: logits.p, losses: losses.p, targets: targets.p, vocabulary: V, paddedVocabulary: Vp, rows: 0..<N,
            gradientScale: 1 / T(N))
    }
}

@Suite("Transformer kernel allocations")
struct TransformerAllocationTests {
    @Test(
        "no kernel allocates, forward or backward, fp32 and fp64, both attention paths",
        .enabled(
            if: MallocInterposer.shared != nil,
            "this test binary has no malloc interposer (built without HeapCounting, or sanitized)"))
    func noAllocations() throws {
        let interposer = try #require(MallocInterposer.shared)
        // Called directly: a partially applied method (`workload.run` as a closure) allocates when it is called.
        let (single5, double5) = (KernelWorkload<Float>(sequence: 5), KernelWorkload<Double>(sequence: 5))
        let (single17, double17) = (KernelWorkload<Float>(sequence: 17), KernelWorkload<Double>(sequence: 17))
        func runAll() {
            single5.run()
            double5.run()
            single17.run()
            double17.run()
        }
        runAll()  // warm up: generic metadata, the GEMM's per-thread workspace
        countedThread = pthread_self()
        countedAllocations = 0
        interposer.setHook { _ in if pthread_equal(pthread_self(), countedThread) != 0 { countedAllocations += 1 } }
        interposer.enable()
        runAll()
        interposer.disable()
        interposer.setHook(nil)
        #expect(countedAllocations == 0, "\(countedAllocations) allocations on the kernels' thread")
    }
}

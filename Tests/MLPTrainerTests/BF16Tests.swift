import Foundation
import MLPTrainer
import ModelProfile
import TestSupport
import Testing

/// fp32 → bf16 by the definition: the top 16 bits after rounding to nearest, ties to even; NaN kept a quiet NaN.
func referenceBF16(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
    let rounded = bits &+ 0x7fff &+ ((bits >> 16) & 1)
    return UInt16(truncatingIfNeeded: rounded >> 16)
}

func widenedBF16(_ value: UInt16) -> Double { Double(Float(bitPattern: UInt32(value) << 16)) }

@Suite("bfloat16 kernels", .enabled(if: BF16.kernelsEnabled, "this CPU has no avx512_bf16: the bf16 GEMM is not built to run"))
struct BF16Tests {
    @Test("rounding to bf16 is round-to-nearest-even on normal values, ties, infinities and NaN; widening is exact")
    func rounding() {
        var generator = SplitMix64(seed: 21)
        var values: [Float] = (0..<1000).map { Float(generator.nextNormal() * pow(10, Double($0 % 13) - 6)) }
        // Ties: exactly half an ulp of bf16 above a value with an even and with an odd last bit.
        values += [Float(bitPattern: 0x3f80_8000), Float(bitPattern: 0x3f81_8000), -Float(bitPattern: 0x3f80_8000)]
        values += [.infinity, -.infinity, 0, -0.0, .greatestFiniteMagnitude, 1, -1, 3.140625]
        values.append(.nan)
        var rounded = [UInt16](repeating: 0, count: values.count)
        var widened = [Float](repeating: 0, count: values.count)
        BF16.round(values, into: &rounded, count: values.count)
        BF16.widen(rounded, into: &widened, count: values.count)
        for (index, value) in values.enumerated() {
            let expected = referenceBF16(value)
            if value.isNaN {
                #expect(widened[index].isNaN)
            } else {
                #expect(rounded[index] == expected, "\(value): \(rounded[index]) vs \(expected)")
                #expect(widened[index].bitPattern == UInt32(expected) << 16)
            }
        }
        // The ties went to the even neighbour: 1.0 (…80) stays, 1.0078125 (…81) goes up to …82.
        #expect(rounded[1000] == 0x3f80 && rounded[1001] == 0x3f82 && rounded[1002] == 0xbf80)
        // Tails of every length below a vector (16 values).
        for count in 1..<16 {
            var tail = [UInt16](repeating: 0xffff, count: 17)
            BF16.round(values, into: &tail, count: count)
            #expect(Array(tail.prefix(count)) == Array(rounded.prefix(count)) && tail[count] == 0xffff, "tail \(count)")
        }
    }

    @Test("the bf16 GEMM equals an fp64 product of the same bf16 values within fp32 accumulation, every transpose and edge")
    func gemm() {
        var generator = SplitMix64(seed: 22)
        let shapes = [(1, 1, 1), (13, 37, 29), (8, 32, 256), (40, 70, 300), (17, 5, 513), (9, 33, 2)]
        for (m, n, k) in shapes {
            for (transposeA, transposeB) in [(false, true), (false, false), (true, false), (true, true)] {
                for (alpha, beta) in [(Float(1), Float(0)), (0.5, 2)] {
                    let a = (0..<(m * k)).map { _ in referenceBF16(Float(generator.nextNormal())) }
                    let b = (0..<(k * n)).map { _ in referenceBF16(Float(generator.nextNormal())) }
                    let initial = (0..<(m * n)).map { _ in Float(generator.nextNormal()) }
                    let (lda, ldb) = (transposeA ? m : k, transposeB ? k : n)
                    // β = 0 must not read C: NaN there would show.
                    var c = beta == 0 ? [Float](repeating: .nan, count: m * n) : initial
                    let ran = BF16.gemm(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
                        ldb: ldb, beta: beta, c: &c, ldc: n)
                    #expect(ran)
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum = 0.0
                            var magnitude = 0.0
                            for p in 0..<k {
                                let x = widenedBF16(transposeA ? a[p * lda + i] : a[i * lda + p])
                                let y = widenedBF16(transposeB ? b[j * ldb + p] : b[p * ldb + j])
                                sum += x * y
                                magnitude += abs(x * y)
                            }
                            let expected = Double(alpha) * sum + (beta == 0 ? 0 : Double(beta) * Double(initial[i * n + j]))
                            let scale = Double(alpha) * magnitude + abs(Double(beta) * Double(initial[i * n + j])) + 1e-30
                            worst = max(worst, abs(Double(c[i * n + j]) - expected) / scale)
                        }
                    }
                    #expect(
                        worst < 1e-5, "(\(m), \(n), \(k)) transposes \(transposeA) \(transposeB) α \(alpha) β \(beta): \(worst)")
                }
            }
        }
    }
}

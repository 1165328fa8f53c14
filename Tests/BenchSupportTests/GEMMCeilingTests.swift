import BenchSupport
import MLPTrainer
import ModelProfile
import Testing

@Suite("GEMM-only ceiling")
struct GEMMCeilingTests {
    @Test("flops per sample are the step's products exactly: 1,007,104 for 784-256-128-10")
    func flopCount() {
        // ../shared/reference/peer-baselines.md: fwd 2W + weight gradient 2W + input gradient of layers 2–3.
        #expect(GEMMCeiling.flopsPerSample(widths: [784, 256, 128, 10]) == 1_007_104)
        // One layer has no input gradient: 4·in·out.
        #expect(GEMMCeiling.flopsPerSample(widths: [3, 5]) == 60)
    }

    @Test("every threading measures a finite positive rate; half precision is refused")
    func measures() throws {
        for threading in GEMMCeiling.Threading.allCases {
            let rate = try GEMMCeiling.samplesPerSecond(
                widths: [64, 32, 10], batch: 16, precision: .single, threads: 2, threading: threading, steps: 5)
            #expect(rate.isFinite && rate > 0, "\(threading)")
        }
        #expect(throws: TrainerError.self) {
            try GEMMCeiling.samplesPerSecond(
                widths: [64, 10], batch: 16, precision: .half, threads: 1, threading: .memplan, steps: 1)
        }
    }
}

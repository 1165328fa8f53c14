import CGEMM
import Foundation
@testable import MLPTrainer
import ModelProfile
import TestSupport
import Testing

/// Training results depend on the seed and the thread count, never on how the pool's measured speeds split the
/// work: a run whose parts were handed uneven shares agrees bit for bit with one at equal shares.
@Suite("Splits and reproducibility")
struct SplitDeterminismTests {
    /// 128-192-32-10 at batch 192 on synthetic classes: the 192-row and 192-column products are the kernels' even at a
    /// part's smallest share (so they follow the shares), the 32- and 10-wide ones BLAS's or too thin to split by speed.
    func model(optimizer: OptimizerKind, precision: Precision) throws -> Model {
        let profile = try ProfileParser.parse(
            """
            kind: exact
            name: split-determinism
            input: {shape: [128]}
            hidden: [{units: 192, activation: relu}, {units: 32, activation: relu}]
            output: {units: 10, activation: softmax}
            loss: softmax-cross-entropy
            batch: 192
            optimizer: {kind: sgd, learning_rate: 0.05}
            data: {source: synthetic, task: classes, count: 600, test_count: 10, noise: 0.05, seed: 3}
            """)
        guard case .exact(var model) = profile else { throw ModelError.noLayers }
        model = try model.with(batchSize: 192, optimizer: optimizer)
        model.precision = precision
        return model
    }

    /// Losses of three full batches, then every parameter.
    func run<T: TrainingScalar>(_ fixture: Fixture<T>) -> [Double] {
        var result: [Double] = []
        for step in 0..<3 { result.append(fixture.trainer.trainStep(.training(orderStart: step * 192), rows: 192).loss) }
        return result + fixture.parameterValues.map { Double($0) }
    }

    @Test("uneven shares (SGD 0.75 / 0.25, Adam 0.2 / 0.8) give the bits equal shares give, fp32 and fp64")
    func unevenSharesAgree() throws {
        for (optimizer, first, second) in [(OptimizerKind.sgd, 0.75, 0.25), (.adam, 0.2, 0.8)] {
            do {
                func compare<T: TrainingScalar>(_: T.Type) throws {
                    let m = try model(optimizer: optimizer, precision: T.self == Float.self ? .single : .double)
                    let even = try Fixture<T>(m, threads: 2)
                    let uneven = try Fixture<T>(m, threads: 2)
                    uneven.pool.sharesForTesting[0] = first
                    uneven.pool.sharesForTesting[1] = second
                    let expected = run(even)
                    let observed = run(uneven)
                    #expect(
                        bitIdentical(observed, expected),
                        "\(T.self) \(optimizer) shares \(first)/\(second): \(firstDifference(observed, expected))")
                }
                try compare(Float.self)
                try compare(Double.self)
            }
        }
    }

    @Test("a transformer's steps under uneven shares (0.1 / 0.9, 0.75 / 0.25) give the bits equal shares give, GPT-2 and Llama")
    func transformerUnevenSharesAgree() throws {
        for llama in [false, true] {
            let model = try tinyTransformer(llama: llama, precision: .single, layers: 3)
            func run(_ shares: (Double, Double)?) throws -> [Double] {
                let fixture = try TransformerFixture<Float>(model, threads: 2)
                if let shares {
                    fixture.pool.sharesForTesting[0] = shares.0
                    fixture.pool.sharesForTesting[1] = shares.1
                }
                let losses = (0..<3).map { fixture.trainer.trainStep(.training(start: 2 * $0)) }
                return losses + fixture.parameterValues.map { Double($0) }
            }
            let expected = try run(nil)
            for shares in [(0.1, 0.9), (0.75, 0.25)] {
                let observed = try run(shares)
                #expect(
                    bitIdentical(observed, expected),
                    "\(llama ? "Llama" : "GPT-2") shares \(shares): \(firstDifference(observed, expected))")
            }
        }
    }

    @Test("a product BLAS runs is split evenly whatever the shares; one memplan's kernels take follows them")
    func productSplitRule() {
        let pool = WorkerPool(partCount: 2)
        pool.sharesForTesting[0] = 0.75
        pool.sharesForTesting[1] = 0.25
        let split = Splitter(pool: pool, partCount: 2)
        // The output layer's dW by its 10 rows: too thin for the kernels, so equal shares (8-row granule).
        #expect(split.productShare(0, of: 10, granule: 8, edges: (128, 128)) == 0..<8)
        // A 2-wide edge elsewhere: BLAS, equal shares.
        #expect(split.productShare(0, of: 256, granule: 8, edges: (2, 128)) == 0..<128)
        // 256 rows of a 784 × 256 product: the kernels' (on AVX-512F), so 3/4 to part 0; else equal.
        let expected = memplan_gemm_enabled() != 0 ? 0..<192 : 0..<128
        #expect(split.productShare(0, of: 256, granule: 8, edges: (784, 256)) == expected)
    }
}

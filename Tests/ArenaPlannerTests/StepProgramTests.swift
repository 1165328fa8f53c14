import ArenaPlanner
import Foundation
import MemoryBudget
import ModelProfile
import TestSupport
import Testing

@Suite("Step program")
struct StepProgramTests {
    func model(_ name: String) throws -> Model {
        guard case .exact(let model) = try ProfileParser.load(path: profilePath(name)) else {
            throw ModelError.noLayers
        }
        return model
    }

    static let exactProfiles = shippedExactProfileNames()

    @Test(
        "every shipped profile × optimizer at single/double, batch 1, 128, 8192, 1 and 2 parts: the plan validates; arena ≤ lower bound + buffers × alignment",
        arguments: exactProfiles)
    func shippedProfiles(name: String) throws {
        for optimizer in OptimizerKind.allCases {
            for precision in [Precision.single, .double] {
                for batch in [1, 128, 8192] {
                    for parts in [1, 2] {
                        let m = try model(name).with(precision: precision, batchSize: batch, optimizer: optimizer)
                        let program = try StepProgram(model: m, options: StepOptions(parts: parts))
                        let plan = try BestPlanner().plan(program.buffers, alignment: 64)
                        let what = "\(name) \(optimizer) \(precision) batch \(batch), \(parts) parts"
                        #expect(throws: Never.self, "\(what)") { try plan.validate() }
                        #expect(
                            plan.arenaByteCount <= plan.lowerBound + program.buffers.count * 64,
                            "\(what): arena \(plan.arenaByteCount), bound \(plan.lowerBound)")
                    }
                }
            }
        }
    }

    @Test("unfused ops and lifetimes follow the documented numbering (3 layers, Adam)")
    func numbering() throws {
        let program = try StepProgram(model: try model("fashion-mnist-mlp").with(optimizer: .adam))
        #expect(program.ops.map(\.description) == ["load", "fwd1", "fwd2", "fwd3", "loss", "bwd3", "bwd2", "bwd1", "update"])
        func lifetime(_ name: String) -> ClosedRange<Int>? { program.buffers.first { $0.name == name }?.lifetime }
        #expect(lifetime("W1") == 0...8)
        #expect(lifetime("mW1") == 0...8)
        #expect(lifetime("x") == 0...7)  // a_0 for dW1 at bwd1
        #expect(lifetime("y") == 0...4)
        #expect(lifetime("a1") == 1...6)  // read by bwd2 for dW2 and f'(a1)
        #expect(lifetime("a2") == 2...5)
        #expect(lifetime("a3") == 3...5)  // holds dz3 after the loss, read by bwd3
        #expect(lifetime("dz2") == 5...6)
        #expect(lifetime("dz1") == 6...7)
        #expect(lifetime("dz3") == nil)
        #expect(lifetime("dW3") == 5...8)
        #expect(lifetime("dW1") == 7...8)
    }

    @Test("plain SGD fuses the update into backward: no gradients, no update op, a staging buffer per split layer")
    func fusedSGD() throws {
        let m = try model("fashion-mnist-mlp")
        let one = try StepProgram(model: m)
        #expect(one.ops.map(\.description) == ["load", "fwd1", "fwd2", "fwd3", "loss", "bwd3+sgd", "bwd2+sgd", "bwd1+sgd"])
        #expect(one.buffers.allSatisfy { $0.category != .gradients && $0.category != .scratch })
        let two = try StepProgram(model: m, options: StepOptions(parts: 2))
        let staging = two.buffers.filter { $0.category == .scratch }
        // Layers 2 and 3 (not 1: it has no dz_0): one part's partial dz_{k−1}, 256 and 128 floats, live during bwd k only.
        #expect(staging.map(\.name) == ["stage2", "stage3"])
        #expect(staging.map(\.byteCount) == [256 * 4, 128 * 4])
        #expect(staging.map(\.lifetime) == [6...6, 5...5])
        // The same model with momentum stores its gradients and updates in an op of its own.
        let momentum = try StepProgram(model: m.with(optimizer: .momentum), options: StepOptions(parts: 2))
        #expect(momentum.ops.last == .update)
        #expect(!momentum.buffers.contains { $0.category == .scratch })
    }

    @Test("the Fashion-MNIST MLP at batch 128 (SGD): naive sum 1,745,448 B, lower bound 1,669,672 B at bwd2")
    func fashionNumbers() throws {
        let program = try StepProgram(model: try model("fashion-mnist-mlp"))
        let plan = try BestPlanner().plan(program.buffers, alignment: 64)
        // Parameters 940,584; x 401,408; y 5,120; a1 131,072; a2 65,536; a3 5,120; dz1 131,072; dz2 65,536.
        #expect(try program.naiveByteCount() == 1_745_448)
        // Live at bwd2: parameters, x (for dW1 at bwd1), a1 (dW2 and f'(a1)), dz2 (read) and dz1 (written).
        #expect(plan.lowerBound == 940_584 + 401_408 + 131_072 + 65_536 + 131_072)
        #expect(plan.arenaByteCount <= plan.lowerBound + 64 * program.buffers.count)
    }

    @Test("with data, the dataset and the shuffle order are persistent buffers")
    func dataBuffers() throws {
        let program = try StepProgram(
            model: try model("fashion-mnist-mlp"), data: DataShape(trainCount: 60_000, testCount: 10_000))
        let data = program.buffers.filter { $0.category == .data }
        #expect(data.map(\.name) == ["train.x", "train.y", "test.x", "test.y", "order"])
        #expect(data.map(\.byteCount) == [60_000 * 784 * 4, 60_000 * 10 * 4, 10_000 * 784 * 4, 10_000 * 10 * 4, 60_000 * 4])
        #expect(data.allSatisfy { $0.lifetime == 0...(program.ops.count - 1) })
    }

    @Test("byte-stored features take one byte each at every precision; targets keep the precision")
    func byteFeatures() throws {
        let shape = DataShape(trainCount: 60_000, testCount: 10_000, featureStorage: .byte)
        for precision in [Precision.single, .double] {
            let program = try StepProgram(model: try model("fashion-mnist-mlp").with(precision: precision), data: shape)
            let data = program.buffers.filter { $0.category == .data }
            let s = precision.byteCount
            #expect(data.map(\.byteCount) == [60_000 * 784, 60_000 * 10 * s, 10_000 * 784, 10_000 * 10 * s, 60_000 * 4])
        }
    }

    @Test("a data shape written before featureStorage existed decodes as precision-stored")
    func dataShapeDecodesOldJSON() throws {
        let old = try JSONDecoder().decode(DataShape.self, from: Data(#"{"trainCount": 5, "testCount": 2}"#.utf8))
        #expect(old == DataShape(trainCount: 5, testCount: 2, featureStorage: .precision))
        let bytes = DataShape(trainCount: 5, testCount: 2, featureStorage: .byte)
        #expect(try JSONDecoder().decode(DataShape.self, from: JSONEncoder().encode(bytes)) == bytes)
    }

    @Test("a batch so large the buffers overflow Int is an error, not a trap")
    func overflow() throws {
        let huge = try model("fashion-mnist-mlp").with(batchSize: Int.max / 100)
        #expect(throws: BudgetError.self) { try StepProgram(model: huge) }
    }

    @Test("the estimate's total is never below the plan's lower bound: 500 seeded random MLPs, batches, optimizers, parts")
    func totalCoversLowerBound() throws {
        var generator = SplitMix64(seed: 11)
        func draw(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(generator.next() % UInt64(range.count)) }
        for trial in 0..<500 {
            let widths = (0...draw(1...5)).map { _ in draw(1...300) }
            let loss: Loss = widths.last! >= 2 ? .softmaxCrossEntropy : .l2
            let optimizer = OptimizerKind.allCases[draw(0...(OptimizerKind.allCases.count - 1))]
            let m = try Model(
                name: "random", widths: widths, loss: loss, precision: draw(0...1) == 0 ? .single : .double,
                batchSize: draw(1...20_000),
                optimizer: Optimizer(kind: optimizer, learningRate: 0.1))
            let options = StepOptions(parts: draw(1...4))
            let budget = try MemoryBudget.estimate(m, options: options)
            let program = try StepProgram(model: m, options: options)
            let plan = try BestPlanner().plan(program.buffers, alignment: 64)
            #expect(budget.totalByteCount >= plan.lowerBound, "trial \(trial): \(widths) \(optimizer) batch \(m.batchSize)")
            #expect(budget.totalByteCount == program.buffers.reduce(0) { $0 + $1.byteCount }, "trial \(trial)")
        }
    }

    @Test("the validator finds two live buffers placed on shared bytes, and a buffer past the arena")
    func validatorCatches() throws {
        let requests = [
            BufferRequest(name: "a", byteCount: 100, lifetime: 0...2), BufferRequest(name: "b", byteCount: 100, lifetime: 2...3),
        ]
        let overlapping = ArenaPlan(requests: requests, offsets: [0, 64], arenaByteCount: 164, alignment: 64, strategy: "broken")
        #expect(throws: PlanError.overlap(first: "a", second: "b", op: 2)) { try overlapping.validate() }
        let outside = ArenaPlan(requests: requests, offsets: [0, 128], arenaByteCount: 200, alignment: 64, strategy: "broken")
        #expect(throws: PlanError.outsideArena(name: "b", offset: 128, arenaByteCount: 200)) { try outside.validate() }
        let good = try BestPlanner().plan(requests, alignment: 64)
        #expect(throws: Never.self) { try good.validate() }
    }
}

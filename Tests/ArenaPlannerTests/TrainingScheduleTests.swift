import Foundation
import ArenaPlanner
import MemoryBudget
import ModelProfile
import TestSupport
import Testing

@Suite("Training schedule")
struct TrainingScheduleTests {
    func model(_ name: String) throws -> Model {
        guard case .exact(let model) = try ProfileParser.load(path: profilePath(name)) else {
            throw ModelError.noLayers
        }
        return model
    }

    static let exactProfiles = shippedProfileNames().filter { $0 != "quiz-300b" }

    @Test(
        "every shipped profile at single/double and batch 1, 128, 8192: no overlap; arena ≤ lower bound + buffers × alignment",
        arguments: exactProfiles)
    func shippedProfiles(name: String) throws {
        for precision in [Precision.single, .double] {
            for batch in [1, 128, 8192] {
                let schedule = try TrainingSchedule(model: try model(name).with(precision: precision, batchSize: batch))
                let plan = try BestPlanner().plan(schedule.buffers, alignment: 64)
                checkInvariants(plan, "\(name) \(precision) batch \(batch)")
                #expect(
                    plan.arenaByteCount <= plan.lowerBound + schedule.buffers.count * 64,
                    "\(name) \(precision) batch \(batch): arena \(plan.arenaByteCount), bound \(plan.lowerBound)")
            }
        }
    }

    @Test("ops and lifetimes follow the documented numbering (3 layers)")
    func numbering() throws {
        let schedule = try TrainingSchedule(model: try model("fashion-mnist-mlp"))
        #expect(schedule.ops.map(\.description) == ["load", "fwd1", "fwd2", "fwd3", "loss", "bwd3", "bwd2", "bwd1", "update"])
        func lifetime(_ name: String) -> ClosedRange<Int>? { schedule.buffers.first { $0.name == name }?.lifetime }
        #expect(lifetime("W1") == 0...8)
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
        #expect(schedule.preactivationGradientName(layer: 3) == "a3")
        #expect(schedule.preactivationGradientName(layer: 1) == "dz1")
    }

    @Test("buffer bytes agree with the budget, category by category")
    func agreesWithBudget() throws {
        for name in Self.exactProfiles {
            for optimizer in OptimizerKind.allCases {
                let m = try model(name).with(precision: .double, batchSize: 33, optimizer: optimizer)
                let schedule = try TrainingSchedule(model: m)
                let budget = try MemoryBudget.estimate(m)
                func bytes(_ category: BufferCategory) -> Int {
                    schedule.buffers.filter { $0.category == category }.reduce(0) { $0 + $1.byteCount }
                }
                #expect(bytes(.parameters) == budget.parameterByteCount, "\(name)")
                #expect(bytes(.gradients) == budget.gradientByteCount, "\(name)")
                #expect(bytes(.activations) == budget.activationByteCount, "\(name)")
                #expect(bytes(.inputs) == budget.inputByteCount, "\(name)")
                #expect(bytes(.optimizer) == budget.optimizerByteCount, "\(name) \(optimizer)")
            }
        }
    }

    @Test("the Fashion-MNIST MLP at batch 128 plans smaller than the naive sum")
    func smallerThanNaive() throws {
        let schedule = try TrainingSchedule(model: try model("fashion-mnist-mlp"))
        let plan = try BestPlanner().plan(schedule.buffers, alignment: 64)
        let naive = try schedule.naiveByteCount()
        #expect(naive == 2_489_424)
        #expect(plan.lowerBound == 2_413_648)
        #expect(plan.arenaByteCount < naive)
        #expect(plan.arenaByteCount <= plan.lowerBound + 64 * schedule.buffers.count)
    }

    @Test("with data, the dataset and the shuffle order are persistent buffers")
    func dataBuffers() throws {
        let schedule = try TrainingSchedule(model: try model("fashion-mnist-mlp"), data: DataShape(trainCount: 60_000, testCount: 10_000))
        let data = schedule.buffers.filter { $0.category == .data }
        #expect(data.map(\.name) == ["train.x", "train.y", "test.x", "test.y", "order"])
        #expect(data.map(\.byteCount) == [60_000 * 784 * 4, 60_000 * 10 * 4, 10_000 * 784 * 4, 10_000 * 10 * 4, 60_000 * 4])
        #expect(data.allSatisfy { $0.lifetime == 0...8 })
    }

    @Test("byte-stored features take one byte each at every precision; targets keep the precision")
    func byteFeatures() throws {
        let shape = DataShape(trainCount: 60_000, testCount: 10_000, featureStorage: .byte)
        for precision in [Precision.single, .double] {
            let schedule = try TrainingSchedule(model: try model("fashion-mnist-mlp").with(precision: precision), data: shape)
            let data = schedule.buffers.filter { $0.category == .data }
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
        #expect(throws: BudgetError.self) { try TrainingSchedule(model: huge) }
    }
}

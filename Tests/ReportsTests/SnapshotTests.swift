import ArenaPlanner
import Capacity
import Foundation
import MemoryBudget
import ModelProfile
import Reports
import TestSupport
import Testing

/// Every document in every format it renders, against committed snapshots (Tests/ReportsTests/Snapshots/): a change
/// to a renderer shows up as a diff to review. Inputs are fixed, so the output is byte for byte the same every run.
@Suite("Report snapshots")
struct SnapshotTests {
    static let target = "ReportsTests"

    func check<Document: ReportDocument>(_ document: Document, _ name: String) {
        for format in Document.formats {
            let text = document.render(format)
            let file = "\(name).\(format == .markdown ? "md" : format == .table ? "txt" : format.rawValue)"
            #expect(snapshotMismatch(text, named: file, target: Self.target) == nil, "\(file)")
        }
    }

    func model() throws -> Model {
        // Names with markup in them, so the snapshots show the escaping.
        try Model(name: "snap<b>|*mlp*", widths: [6, 5, 3], loss: .softmaxCrossEntropy, batchSize: 4)
    }

    @Test("estimate: exact and bound")
    func estimate() throws {
        check(EstimateReport(try MemoryBudget.estimate(try model())), "estimate-exact")
        let bound = try BoundModel(name: "quiz", parameterCount: 300_000_000_000, sampleByteCount: 1_000_000_000)
        check(EstimateReport(try MemoryBudget.estimate(bound)), "estimate-bound")
    }

    @Test("plan")
    func plan() throws {
        let program = try StepProgram(model: try model(), options: StepOptions(parts: 2))
        let plan = try LinearPlanner().plan(program.buffers, alignment: 64)
        check(PlanReport(plan: plan, program: program, naiveBytes: try program.naiveByteCount()), "plan")
    }

    @Test("capacity")
    func capacity() throws {
        let machine = Machine(
            name: "box", source: "test",
            nodes: [
                MachineNode(id: 0, totalBytes: 1 << 30, freeBytes: 1 << 29),
                MachineNode(id: 1, totalBytes: 1 << 30, freeBytes: 1 << 30),
            ])
        let result = try CapacityAnalysis.analyze(
            .exact(try model()), machine: machine, precisions: [.single], headroom: 0.1, data: nil)
        check(CapacityReport(result), "capacity")
    }

    @Test("training record")
    func training() throws {
        let program = try StepProgram(model: try model(), data: DataShape(trainCount: 10, testCount: 2))
        let plan = try LinearPlanner().plan(program.buffers, alignment: 64)
        let record = TrainingRecord(
            predicted: .init(
                arenaBytes: plan.arenaByteCount, lowerBoundBytes: plan.lowerBound, naiveBytes: try program.naiveByteCount(),
                bytes: .init(
                    parameters: 132, gradients: 0, activations: 128, inputs: 144, optimizer: 0, total: 404, deltas: 80, data: 400),
                arenaMappedBytes: 4096),
            actual: .init(
                arenaBytes: 4096, mappedBytes: 4096, residentBytes: 4096, pagesByNode: ["0": 1], pagesNotResident: 0,
                pagesByNodeAfterFirstStep: ["0": 1], plannedNode: 0, pagesOnPlannedNode: 1, peakRSSGrowthBytes: 65_536,
                trainingRSSGrowthBytes: 0, heapAllocationsPerStep: 0, measuredSteps: 3, numaAvailable: true,
                numaMaps: "7f00 local anon=1 N0=1 <b>", threadsBound: 0, pageSource: "move_pages", pageBytes: 4096),
            metrics: .init(
                testAccuracy: 0.5, testLoss: 0.75,
                epochs: [
                    .init(
                        epoch: 1, trainLoss: 1.1, trainAccuracy: 0.4, validationLoss: nil, validationAccuracy: nil, seconds: 0.25),
                    .init(
                        epoch: 2, trainLoss: 0.9, trainAccuracy: 0.5, validationLoss: nil, validationAccuracy: nil, seconds: 0.25),
                ],
                trainSamples: 10, validationSamples: 0, testSamples: 2),
            throughput: .init(
                samplesPerSecond: 1234.5, trainingSeconds: 0.5, blasCore: "SkylakeX", blasThreads: 1, gemmKernels: "blas"),
            run: .init(
                profile: "snap<b>|*mlp*", precision: "single", batch: 4, epochs: 2, optimizer: "sgd", learningRate: 0.05,
                loss: "softmax-cross-entropy", placement: "node:0", seed: 42, data: "synthetic <data>", partial: false,
                memplanVersion: "0.1.0", date: "2026-12-02T00:00:00Z"),
            plan: PlanReport(plan: plan, program: program, naiveBytes: try program.naiveByteCount()))
        check(record, "training")
    }

    @Test("select and topology")
    func selectAndTopology() {
        check(
            SelectionReport(
                profile: "poly", folds: 3, epochs: 10, loss: "l2",
                degrees: [
                    .init(degree: 1, parameters: 2, trainLoss: 0.3, validationLoss: 0.31, validationLossStd: 0.01, testLoss: 0.3),
                    .init(
                        degree: 3, parameters: 4, trainLoss: 0.1, validationLoss: 0.12, validationLossStd: 0.02, testLoss: 0.11),
                    .init(degree: 9, parameters: 10, trainLoss: 0.05, validationLoss: 0.4, validationLossStd: 0.1, testLoss: 0.5),
                ]),
            "select")
        check(
            TopologyReport(
                numaAvailable: true,
                nodes: [
                    .init(node: 0, cpus: [0, 1], totalBytes: 1 << 33, freeBytes: 1 << 32),
                    .init(node: 1, cpus: [2, 3], totalBytes: 1 << 33, freeBytes: 1 << 31),
                ],
                distances: [[10, 21], [21, 10]]),
            "topology")
    }
}

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
        var predicted = TrainingRecord.Predicted()
        predicted.arenaBytes = plan.arenaByteCount
        predicted.lowerBoundBytes = plan.lowerBound
        predicted.naiveBytes = try program.naiveByteCount()
        predicted.arenaMappedBytes = 4096
        predicted.bytes.parameters = 132
        predicted.bytes.activations = 128
        predicted.bytes.inputs = 144
        predicted.bytes.total = 404
        predicted.bytes.deltas = 80
        predicted.bytes.data = 400
        var actual = TrainingRecord.Actual()
        actual.arenaBytes = 4096
        actual.mappedBytes = 4096
        actual.residentBytes = 4096
        actual.pagesByNode = ["0": 1]
        actual.pagesByNodeAfterFirstStep = ["0": 1]
        actual.plannedNode = 0
        actual.pagesOnPlannedNode = 1
        actual.peakRSSGrowthBytes = 65_536
        actual.trainingRSSGrowthBytes = 0
        actual.heapAllocationsPerStep = 0
        actual.measuredSteps = 3
        actual.numaAvailable = true
        actual.numaMaps = "7f00 local anon=1 N0=1 <b>"
        actual.pageSource = "move_pages"
        actual.pageBytes = 4096
        var metrics = TrainingRecord.Metrics()
        metrics.testAccuracy = 0.5
        metrics.testLoss = 0.75
        metrics.epochs = [(1, 1.1, 0.4), (2, 0.9, 0.5)].map { number, loss, accuracy in
            var epoch = TrainingRecord.Epoch()
            (epoch.epoch, epoch.trainLoss, epoch.trainAccuracy, epoch.seconds) = (number, loss, accuracy, 0.25)
            return epoch
        }
        metrics.trainSamples = 10
        metrics.testSamples = 2
        var throughput = TrainingRecord.Throughput()
        throughput.samplesPerSecond = 1234.5
        throughput.trainingSeconds = 0.5
        throughput.blasCore = "SkylakeX"
        throughput.blasThreads = 1
        throughput.gemmKernels = "blas"
        var run = TrainingRecord.Run()
        run.profile = "snap<b>|*mlp*"
        run.precision = "single"
        run.batch = 4
        run.epochs = 2
        run.optimizer = "sgd"
        run.learningRate = 0.05
        run.loss = "softmax-cross-entropy"
        run.placement = "node:0"
        run.seed = 42
        run.data = "synthetic <data>"
        run.memplanVersion = "0.1.0"
        run.date = "2026-12-02T00:00:00Z"
        let record = TrainingRecord(
            predicted: predicted, actual: actual, metrics: metrics, throughput: throughput, run: run,
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

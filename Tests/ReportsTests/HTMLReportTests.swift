import ArenaPlanner
import Capacity
import Foundation
import MemoryBudget
import ModelProfile
import Reports
import TestSupport
import Testing

@Suite("HTML and Markdown reports")
struct HTMLReportTests {
    func capacityReport() throws -> CapacityReport {
        let profile = try ProfileParser.load(path: profilePath("quiz-300b"))
        let machine = Machine(
            name: "box", source: "test",
            nodes: [
                MachineNode(id: 0, totalBytes: 1 << 40, freeBytes: 1 << 40),
                MachineNode(id: 1, totalBytes: 1 << 40, freeBytes: 1 << 40),
            ])
        return CapacityReport(
            try CapacityAnalysis.analyze(profile, machine: machine, precisions: [.single, .double], headroom: 0.1, data: nil))
    }

    @Test("a capacity page is one self-contained file with a chart and the lecture's figures")
    func capacityHTML() throws {
        let html = HTMLPage.capacity(try capacityReport())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<svg class=\"chart\""))
        #expect(html.contains("<polyline"))
        for figure in ["3,601 GB", "7,201 GB", "1,203,400 GB = 1.15 PB", "2,405,800 GB = 2.29 PB"] {
            #expect(html.contains(figure), "missing \(figure)")
        }
        #expect(
            !html.contains("http://")
                || html.components(separatedBy: "http://").count
                    == html.components(separatedBy: "http://www.w3.org/2000/svg").count
        )
        #expect(!html.contains("<script"))
        #expect(!html.contains("src="))
    }

    @Test("capacity JSON round-trips through Codable, and Markdown carries the same tables")
    func capacityJSON() throws {
        let report = try capacityReport()
        let decoded = try JSONText.decode(CapacityReport.self, from: Data(CapacityRenderer.json(report).utf8))
        #expect(decoded == report)
        let markdown = CapacityRenderer.markdown(report)
        #expect(markdown.contains("| Precision |"))
        #expect(markdown.contains("2.29 PB"))
    }

    @Test("a training page draws the plan's timeline and the loss, and escapes text")
    func trainingHTML() throws {
        let model = try Model(name: "a<b>&c", widths: [4, 8, 3], loss: .softmaxCrossEntropy, batchSize: 2)
        let program = try StepProgram(model: model, data: DataShape(trainCount: 10, testCount: 2))
        let plan = try BestPlanner().plan(program.buffers, alignment: 64)
        let planReport = PlanReport(plan: plan, program: program, naiveBytes: try program.naiveByteCount())
        let record = TrainingRecord(
            predicted: .init(
                arenaBytes: plan.arenaByteCount, lowerBoundBytes: plan.lowerBound, naiveBytes: 1000,
                bytes: .init(parameters: 1, gradients: 1, activations: 1, inputs: 1, optimizer: 0, total: 4, deltas: 1, data: 10)),
            actual: .init(
                arenaBytes: plan.arenaByteCount, mappedBytes: 4096, residentBytes: 4096, pagesByNode: ["0": 1],
                pagesNotResident: 0,
                pagesByNodeAfterFirstStep: ["0": 1], plannedNode: 0, pagesOnPlannedNode: 1, peakRSSGrowthBytes: 5000,
                heapAllocationsPerStep: 0, measuredSteps: 10, numaAvailable: true, numaMaps: nil, threadsBound: 0,
                pageSource: "move_pages"),
            metrics: .init(
                testAccuracy: 0.5, testLoss: 1,
                epochs: [
                    .init(epoch: 1, trainLoss: 2, trainAccuracy: 0.4, validationLoss: nil, validationAccuracy: nil, seconds: 1),
                    .init(epoch: 2, trainLoss: 1, trainAccuracy: 0.5, validationLoss: nil, validationAccuracy: nil, seconds: 1),
                ],
                trainSamples: 10, validationSamples: 0, testSamples: 2),
            throughput: .init(samplesPerSecond: 100, trainingSeconds: 1, blasCore: "x", blasThreads: 1),
            run: .init(
                profile: "a<b>&c", precision: "single", batch: 2, epochs: 2, optimizer: "sgd", learningRate: 0.1,
                loss: "softmax-cross-entropy",
                placement: "local", seed: 1, data: "synthetic", partial: false, memplanVersion: "test", date: "today"),
            plan: planReport)
        let html = HTMLPage.training(record)
        #expect(html.contains("a&lt;b&gt;&amp;c"))
        #expect(!html.contains("a<b>&c"))
        #expect(html.components(separatedBy: "<svg class=\"chart\"").count - 1 == 4)
        #expect(html.contains("class=\"buffer\""))
        #expect(html.contains("W1"))
        let json = TrainingRenderer.json(record)
        #expect(try JSONText.decode(TrainingRecord.self, from: Data(json.utf8)) == record)
        #expect(json.contains("\"validation_accuracy\" : null"))
        #expect(TrainingRenderer.markdown(record).contains("| Epoch |"))
    }
}

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
        var predicted = TrainingRecord.Predicted()
        predicted.arenaBytes = plan.arenaByteCount
        predicted.lowerBoundBytes = plan.lowerBound
        predicted.naiveBytes = 1000
        (predicted.bytes.parameters, predicted.bytes.gradients, predicted.bytes.activations) = (1, 1, 1)
        (predicted.bytes.inputs, predicted.bytes.total, predicted.bytes.deltas, predicted.bytes.data) = (1, 4, 1, 10)
        var actual = TrainingRecord.Actual()
        actual.arenaBytes = plan.arenaByteCount
        actual.mappedBytes = 4096
        actual.residentBytes = 4096
        actual.pagesByNode = ["0": 1]
        actual.pagesByNodeAfterFirstStep = ["0": 1]
        actual.plannedNode = 0
        actual.pagesOnPlannedNode = 1
        actual.peakRSSGrowthBytes = 5000
        actual.heapAllocationsPerStep = 0
        actual.measuredSteps = 10
        actual.numaAvailable = true
        actual.pageSource = "move_pages"
        var metrics = TrainingRecord.Metrics()
        metrics.testAccuracy = 0.5
        metrics.testLoss = 1
        metrics.epochs = [(1, 2, 0.4), (2, 1, 0.5)].map { number, loss, accuracy in
            var epoch = TrainingRecord.Epoch()
            (epoch.epoch, epoch.trainLoss, epoch.trainAccuracy, epoch.seconds) = (number, loss, accuracy, 1)
            return epoch
        }
        metrics.trainSamples = 10
        metrics.testSamples = 2
        var throughput = TrainingRecord.Throughput()
        (throughput.samplesPerSecond, throughput.trainingSeconds, throughput.blasCore, throughput.blasThreads) = (100, 1, "x", 1)
        var run = TrainingRecord.Run()
        (run.profile, run.precision, run.batch, run.epochs, run.optimizer) = ("a<b>&c", "single", 2, 2, "sgd")
        (run.learningRate, run.loss, run.placement, run.seed) = (0.1, "softmax-cross-entropy", "local", 1)
        (run.data, run.memplanVersion, run.date) = ("synthetic", "test", "today")
        let record = TrainingRecord(
            predicted: predicted, actual: actual, metrics: metrics, throughput: throughput, run: run, plan: planReport)
        let html = HTMLPage.training(record)
        #expect(html.contains("a&lt;b&gt;&amp;c"))
        #expect(!html.contains("a<b>&c"))
        #expect(html.components(separatedBy: "<svg class=\"chart\"").count - 1 == 4)
        #expect(html.contains("class=\"buffer\""))
        #expect(html.contains("W1"))
        let json = TrainingRenderer.json(record)
        #expect(try JSONText.decode(TrainingRecord.self, from: Data(json.utf8)) == record)
        #expect(json.contains("\"validation_accuracy\" : null"))
        // The fields' zero defaults are for building a record: decoding one still needs every key but the nullable ones.
        func decodes(without key: String, in part: String) throws -> Bool {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            var inner = try #require(object[part] as? [String: Any])
            inner[key] = nil
            object[part] = inner
            let data = try JSONSerialization.data(withJSONObject: object)
            return (try? JSONText.decode(TrainingRecord.self, from: data)) != nil
        }
        #expect(try !decodes(without: "measured_steps", in: "actual"))
        #expect(try !decodes(without: "blas_core", in: "throughput"))
        #expect(try decodes(without: "page_bytes", in: "actual"))
        #expect(TrainingRenderer.markdown(record).contains("| Epoch |"))
    }
}

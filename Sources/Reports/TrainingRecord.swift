// `memplan train` output and `--record` file: predicted against actual, metrics, throughput.

import Foundation

/// The `--format json` contract of `memplan train`, also written by `--record` (stable; keys may be added):
///
///     {"predicted": {"arena_bytes", "bytes": {"parameters", "gradients", "activations", "inputs",
///                                             "optimizer", "total", "deltas", "data"}},
///      "actual": {"arena_bytes", "resident_bytes", "pages_by_node": {"0": n, …}, "planned_node",
///                 "peak_rss_growth_bytes", "heap_allocations_per_step", …},
///      "metrics": {"test_accuracy", "epochs": [{"train_loss", "validation_accuracy", …}], …},
///      "throughput": {"samples_per_second", …},
///      "run": {"profile", "precision", "batch", "epochs", "placement", "partial", …},
///      "plan": <the `memplan plan` JSON of the run's arena, data buffers included>}
///
/// `bytes.total` is the estimate's total (the five categories of `memplan estimate`); `deltas` and
/// `data` are what the plan adds: backward deltas and the dataset decoded into the arena.
/// `planned_node` is null for interleave; `heap_allocations_per_step` is null when the binary has no
/// allocation counter; accuracies are null for regression.
///
/// Each part's fields start at zero (empty, false, null) and its `init()` takes nothing, so the CLI fills a part field by
/// field (`var run = TrainingRecord.Run(); run.batch = 32`). Decoding is unchanged: a synthesized `Decodable` reads a
/// `var` with an initial value like any other, so every key but the `@Nullable` ones must be present.
public struct TrainingRecord: Codable, Sendable, Equatable, ReportDocument {
    public struct PredictedBytes: Codable, Sendable, Equatable {
        public var parameters = 0
        public var gradients = 0
        public var activations = 0
        public var inputs = 0
        public var optimizer = 0
        public var total = 0
        public var deltas = 0
        public var data = 0
        /// Short-lived working memory the plan holds (new key; absent in old records).
        @Nullable public var scratch: Int? = nil
        /// The fp32 master weights of a mixed-precision recipe, 0 without one (new key; absent in old records).
        /// Parameters + master parameters + gradients + optimizer is the model state.
        @Nullable public var masterParameters: Int? = nil

        public init() {}

        /// The seven planned categories in the order the Markdown and HTML tables list them: parameters, gradients,
        /// optimizer, activations, deltas, inputs, data.
        var categories: [(name: String, bytes: Int)] {
            [
                ("parameters", parameters), ("gradients", gradients), ("optimizer", optimizer), ("activations", activations),
                ("deltas", deltas), ("inputs", inputs), ("data", data),
            ]
        }
    }

    public struct Predicted: Codable, Sendable, Equatable {
        public var arenaBytes = 0
        public var lowerBoundBytes = 0
        public var naiveBytes = 0
        public var bytes = PredictedBytes()
        /// The planned arena rounded up to whole pages: what the kernel must map for it (new key; absent in old records).
        @Nullable public var arenaMappedBytes: Int? = nil

        public init() {}
    }

    public struct Actual: Codable, Sendable, Equatable {
        public var arenaBytes = 0
        public var mappedBytes = 0
        public var residentBytes = 0
        public var pagesByNode: [String: Int] = [:]
        public var pagesNotResident = 0
        public var pagesByNodeAfterFirstStep: [String: Int] = [:]
        @Nullable public var plannedNode: Int? = nil
        @Nullable public var pagesOnPlannedNode: Int? = nil
        public var peakRSSGrowthBytes = 0
        /// Peak RSS during training − RSS once the data was loaded (new key; absent in old records).
        @Nullable public var trainingRSSGrowthBytes: Int? = nil
        @Nullable public var heapAllocationsPerStep: Double? = nil
        public var measuredSteps = 0
        public var numaAvailable = false
        @Nullable public var numaMaps: String? = nil
        public var threadsBound = 0
        public var pageSource = ""
        /// The page size the kernel maps in (new key; absent in old records).
        @Nullable public var pageBytes: Int? = nil

        public init() {}
    }

    public struct Epoch: Codable, Sendable, Equatable {
        public var epoch = 0
        public var trainLoss = 0.0
        @Nullable public var trainAccuracy: Double? = nil
        @Nullable public var validationLoss: Double? = nil
        @Nullable public var validationAccuracy: Double? = nil
        public var seconds = 0.0

        public init() {}
    }

    public struct Metrics: Codable, Sendable, Equatable {
        @Nullable public var testAccuracy: Double? = nil
        @Nullable public var testLoss: Double? = nil
        public var epochs: [Epoch] = []
        public var trainSamples = 0
        public var validationSamples = 0
        public var testSamples = 0
        /// The test accuracy of always predicting the most frequent class of the training targets (new key; null for
        /// regression and in old records).
        @Nullable public var majorityBaselineAccuracy: Double? = nil

        public init() {}

        /// Whether the test accuracy fails to beat the majority-class baseline (nil when either is unknown).
        public var isAtOrBelowBaseline: Bool? {
            guard let testAccuracy, let majorityBaselineAccuracy else { return nil }
            return testAccuracy <= majorityBaselineAccuracy
        }

        /// "majority-class baseline 10.00% (always the most frequent training class)", with "; not beaten" when so.
        public var baselineText: String? {
            guard let majorityBaselineAccuracy else { return nil }
            return "majority-class baseline \(String(format: "%.2f%%", majorityBaselineAccuracy * 100))"
                + (isAtOrBelowBaseline == true ? " — not beaten: the model learned nothing the class counts do not say" : "")
        }
    }

    public struct Throughput: Codable, Sendable, Equatable {
        public var samplesPerSecond = 0.0
        public var trainingSeconds = 0.0
        public var blasCore = ""
        public var blasThreads = 0
        /// Which code ran the step's large products: `memplan-avx512` (memplan's own kernels) or `blas` (the
        /// library `blas_core` names, which also runs the thin products either way); for bf16-mixed runs
        /// `memplan-amx-bf16` (AMX tiles on bf16, fp32 sums) or `memplan-bf16-fp32` (the same values multiplied in fp32). Absent in records written
        /// before memplan had its own kernels: those ran everything in BLAS.
        @Nullable public var gemmKernels: String? = nil
        /// A transformer's training tokens per second (new key; null for MLPs).
        @Nullable public var tokensPerSecond: Double? = nil

        public init() {}
    }

    public struct Run: Codable, Sendable, Equatable {
        public var profile = ""
        public var precision = ""
        public var batch = 0
        public var epochs = 0
        public var optimizer = ""
        public var learningRate = 0.0
        public var loss = ""
        public var placement = ""
        public var seed: UInt64 = 0
        public var data = ""
        public var partial = false
        public var memplanVersion = ""
        public var date = ""

        public init() {}
    }

    public var predicted: Predicted
    public var actual: Actual
    public var metrics: Metrics
    public var throughput: Throughput
    public var run: Run
    public var plan: PlanReport
    /// A run over ranks (`mpirun -np N memplan train --strategy S`): the split, and every rank's predicted and measured
    /// memory (`TrainingRecord+Ranks`); null for one process. The other keys are rank 0's.
    @Nullable public var sharding: Sharding? = nil
    @Nullable public var ranks: [RankEntry]? = nil

    public static let formats: [ReportFormat] = [.table, .json, .markdown, .html]

    public var tableText: String { TrainingRenderer.summary(self) }
    public var markdownText: String { TrainingRenderer.markdown(self) }
    public var htmlText: String { HTMLPage.training(self) }

    public init(predicted: Predicted, actual: Actual, metrics: Metrics, throughput: Throughput, run: Run, plan: PlanReport) {
        self.predicted = predicted
        self.actual = actual
        self.metrics = metrics
        self.throughput = throughput
        self.run = run
        self.plan = plan
    }
}

/// Renders training records for the terminal and as JSON.
public enum TrainingRenderer {
    public static func json(_ record: TrainingRecord) -> String { record.json }

    /// The epoch table is printed live by the CLI; this is the closing summary.
    public static func summary(_ record: TrainingRecord) -> String {
        var out = ""
        if let accuracy = record.metrics.testAccuracy {
            out += "Test accuracy: \(percent(accuracy)) on \(ByteUnits.grouped(record.metrics.testSamples)) samples"
            if let loss = record.metrics.testLoss { out += " (loss \(decimal(loss)))" }
            if let baseline = record.metrics.baselineText { out += "; \(baseline)" }
            out += "\n"
        } else if let loss = record.metrics.testLoss {
            out += "Test loss: \(decimal(loss)) per sample on \(ByteUnits.grouped(record.metrics.testSamples)) samples\n"
        }
        out += "Throughput: \(ByteUnits.grouped(Int(saturating: record.throughput.samplesPerSecond.rounded()))) samples/s "
        out += "(\(decimal(record.throughput.trainingSeconds)) s of training steps, \(record.throughput.blasThreads) "
        out +=
            "thread\(record.throughput.blasThreads == 1 ? "" : "s"); \(Markup.terminal(Self.kernelDescription(record.throughput.blasCore, gemmKernels: record.throughput.gemmKernels))))\n"
        if let sharding = shardingLine(record) { out += sharding + "\n" }
        if record.run.partial { out += "Stopped early (interrupted): the record is marked partial.\n" }
        out += "\nPredicted against actual\(record.ranks == nil ? "" : " (rank 0)")\n\n"
        var table = TextTable(columns: [.left("Quantity"), .right("Predicted"), .right("Actual"), .left("Note")])
        let predicted = record.predicted
        let actual = record.actual
        let plannedPages = predicted.arenaMappedBytes ?? predicted.arenaBytes
        table.append([
            "arena (kernel's mapping)", ByteUnits.grouped(plannedPages), ByteUnits.grouped(actual.arenaBytes),
            actual.arenaBytes == plannedPages
                ? "the plan's \(ByteUnits.grouped(predicted.arenaBytes)) B in whole pages, as mapped" : "differs from the plan!",
        ])
        table.append([
            "arena, resident", ByteUnits.grouped(plannedPages), ByteUnits.grouped(actual.residentBytes),
            actual.pagesNotResident == 0 ? "every page resident" : "\(actual.pagesNotResident) pages not resident",
        ])
        let nodes = actual.pagesByNode.nodeKeys
        let totalPages = max(1, actual.pagesByNode.values.saturatingSum().saturatingAdding(actual.pagesNotResident))
        for node in nodes {
            let pages = actual.pagesByNode[node] ?? 0
            let share = Double(pages) / Double(totalPages)
            let planned = actual.plannedNode.map { "\($0)" == node } ?? false
            table.append([
                "pages on node \(node)", planned ? "all" : (actual.plannedNode == nil ? "share" : "0"), ByteUnits.grouped(pages),
                "\(percent(share))\(planned ? ", the planned node" : "")",
            ])
        }
        table.append([
            "peak RSS growth", "≤ " + ByteUnits.grouped(predicted.arenaBytes.saturatingAdding(8 << 20)),
            ByteUnits.grouped(actual.peakRSSGrowthBytes),
            "arena + \(ByteUnits.decimal(max(0, actual.peakRSSGrowthBytes.saturatingSubtracting(predicted.arenaBytes)))) of runtime, BLAS and I/O buffers",
        ])
        if let training = actual.trainingRSSGrowthBytes {
            table.append([
                "RSS growth during training", "", ByteUnits.grouped(training), "peak while training − RSS with the data loaded",
            ])
        }
        let allocations = actual.heapAllocationsPerStep.map { decimal($0) } ?? "not measured"
        table.append([
            "heap allocations per step", "0", allocations, "over \(ByteUnits.grouped(actual.measuredSteps)) steady-state steps",
        ])
        out += table.renderText()
        out += "\nPlanned bytes by category: "
        let bytes = predicted.bytes
        var categories: [(name: String, bytes: Int)] = [("parameters", bytes.parameters)]
        if let master = bytes.masterParameters, master > 0 { categories.append(("master parameters", master)) }
        categories += [
            ("gradients", bytes.gradients), ("optimizer", bytes.optimizer), ("activations", bytes.activations),
            ("deltas", bytes.deltas), ("inputs", bytes.inputs), ("data", bytes.data),
        ]
        out += ByteUnits.decimalList(categories)
        out +=
            "; arena \(ByteUnits.decimal(predicted.arenaBytes)) (lower bound \(ByteUnits.decimal(predicted.lowerBoundBytes)))\n"
        if let maps = actual.numaMaps { out += "numa_maps: \(Markup.terminal(maps))\n" }
        if !actual.numaAvailable { out += "NUMA is not available here: the arena is plain memory, counted as node 0.\n" }
        if let ranks = rankTable(record) { out += "\nEvery rank, predicted against measured\n\n" + ranks.renderText() }
        return out
    }

    /// "OpenBLAS SkylakeX kernels", or "MKL 2026.2" as it stands when MKL did the products; led by
    /// "memplan's AVX-512 kernels" when those ran the large products.
    static func kernelDescription(_ blasCore: String, gemmKernels: String? = nil) -> String {
        let blas = blasCore.hasPrefix("MKL") ? blasCore : "OpenBLAS \(blasCore) kernels"
        switch gemmKernels {
        case "memplan-avx512": return "memplan's AVX-512 kernels, \(blas) for thin products"
        case "memplan-amx-bf16": return "memplan's AMX bf16 kernels, fp32 sums"
        case "memplan-bf16-fp32": return "bf16 values multiplied in fp32 (no AMX on this CPU)"
        default: return blas
        }
    }

    static func percent(_ value: Double) -> String { String(format2: value * 100) + "%" }

    /// An accuracy for the Markdown and HTML pages: `"50.00%"` (Foundation's `%.2f`), `"–"` when there is none.
    static func accuracy(_ value: Double?) -> String { value.map { String(format: "%.2f%%", $0 * 100) } ?? "–" }

    /// One row of the Markdown and HTML epoch tables: epoch, train loss, train accuracy, validation loss, validation
    /// accuracy, seconds (losses to 4 decimals, `"–"` for what the run did not measure).
    static func epochCells(_ epoch: TrainingRecord.Epoch) -> [String] {
        [
            String(epoch.epoch), String(format: "%.4f", epoch.trainLoss), accuracy(epoch.trainAccuracy),
            epoch.validationLoss.map { String(format: "%.4f", $0) } ?? "–", accuracy(epoch.validationAccuracy),
            String(format: "%.2f", epoch.seconds),
        ]
    }

    static func decimal(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if abs(value) >= 1 || value == 0 { return String(format2: value) }
        var text = String(Double(Int((value * 1e4).rounded())) / 1e4)
        if text.hasPrefix("0.") { text = "0." + text.dropFirst(2) }
        return text
    }
}

/// Renders training records as Markdown (the same tables as the HTML page).
extension TrainingRenderer {
    public static func markdown(_ record: TrainingRecord) -> String {
        let run = record.run
        let escape = Markup.markdown
        var out = "# Training record: \(escape(run.profile))\n\n"
        out +=
            "*\(escape(run.precision)) precision, batch \(run.batch), \(run.epochs) epochs, \(escape(run.optimizer)) η = \(run.learningRate), "
        out += "placement \(escape(run.placement))\(run.partial ? ", **partial** (interrupted)" : ""), \(escape(run.date))*\n\n"
        out += "## Predicted against measured\n\n" + HTMLPage.predictedTable(record).renderMarkdown()
        var categories = TextTable(columns: [.left("Category"), .right("Bytes")])
        for (name, bytes) in record.predicted.bytes.categories { categories.append([name, ByteUnits.grouped(bytes)]) }
        out += "\n## Planned bytes by category\n\n" + categories.renderMarkdown()
        if let ranks = rankTable(record) {
            out += "\n## Every rank\n\n" + (shardingLine(record).map { escape($0) + "\n\n" } ?? "") + ranks.renderMarkdown()
        }
        var epochs = TextTable(columns: [
            .right("Epoch"), .right("Train loss"), .right("Train acc"), .right("Val loss"), .right("Val acc"), .right("Seconds"),
        ])
        for epoch in record.metrics.epochs { epochs.append(epochCells(epoch)) }
        out += "\n## Training\n\n" + epochs.renderMarkdown()
        out += "\nTest accuracy: " + accuracy(record.metrics.testAccuracy)
        if let baseline = record.metrics.baselineText { out += " (\(baseline))" }
        out += "; throughput \(ByteUnits.grouped(Int(saturating: record.throughput.samplesPerSecond))) samples/s.\n"
        return out
    }
}

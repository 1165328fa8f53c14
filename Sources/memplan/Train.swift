// `memplan train`: train the real model inside exactly the planned arena, then compare.

import ArenaPlanner
import ArgumentParser
import Foundation
import MLPTrainer
import MemoryBudget
import TrainingRun
import ModelProfile
import NUMAArena
import Reports
import Synchronization

/// Set by SIGINT; the training loop stops after the current step.
let stopRequested = Atomic<Bool>(false)

extension Memplan {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the model inside its planned arena and compare predicted with actual memory.",
            discussion: """
                memplan plans the training step and the dataset into one arena, allocates exactly that arena with the chosen NUMA placement, decodes the data into it, trains, and then measures: the node of every arena page (move_pages), resident pages, peak RSS growth and heap allocations per step.

                Placement: local (pages where the training thread runs), node:N (every page on node N, and the training threads bound to N's CPUs), interleave (pages spread over all nodes).

                Ctrl-C stops after the current step; the record written then is marked partial.

                Examples:
                  memplan train profiles/fashion-mnist-mlp.yaml
                  memplan train profiles/fashion-mnist-mlp.yaml --epochs 20 --record reports/run.json
                  memplan train profiles/smallest-perceptron.yaml --format json
                  memplan train profiles/softmax-fashion.yaml --placement node:0 --precision double
                  memplan train profiles/bytes-gpt.yaml --save-checkpoint bytes-gpt.bin
                """)

        @Argument(help: "A model profile with a data source, e.g. profiles/fashion-mnist-mlp.yaml.")
        var profile: String

        @Option(help: ArgumentHelp("Epochs (default: the profile's).", valueName: "n"), transform: CountArgument.parse)
        var epochs: CountArgument?

        @Option(help: ArgumentHelp("Samples per step (default: the profile's).", valueName: "n"), transform: CountArgument.parse)
        var batch: CountArgument?

        @Option(help: ArgumentHelp("Element precision (default: the profile's).", valueName: "single|double"))
        var precision: Precision?

        @Option(name: .customLong("learning-rate"), help: ArgumentHelp("Learning rate (default: the profile's).", valueName: "η"))
        var learningRate: Double?

        @Option(
            help: ArgumentHelp(
                "Transformers: stop after n steps in all (a quick proof of the plan; the last epoch still reports its "
                    + "validation loss).", valueName: "n"), transform: CountArgument.parse)
        var steps: CountArgument?

        @Option(
            name: .customLong("checkpoint"),
            help: ArgumentHelp(
                "Transformers: what the backward pass recomputes instead of keeping (default: the profile's; see `memplan "
                    + "estimate --help`).", valueName: Recompute.allCases.map(\.rawValue).joined(separator: "|")))
        var recompute: Recompute?

        @Option(help: ArgumentHelp("Where the arena's pages go.", valueName: "local|node:N|interleave"))
        var placement: String = "local"

        @Option(
            help: ArgumentHelp(
                "Seed for initial weights, shuffling and generated data (default: the profile's).", valueName: "n"),
            transform: CountArgument.parse)
        var seed: CountArgument?

        @Option(
            help: ArgumentHelp(
                "Data location: a Fashion-MNIST directory or a CSV file; for a transformer a text file or directory, or "
                    + "'synthetic' (generated tokens). Default: the profile's.", valueName: "path"))
        var data: String?

        @Option(help: ArgumentHelp("Threads that split each step (default: the CPUs memplan may run on).", valueName: "n"))
        var threads: Int?

        @Flag(help: "Allocate even when the arena is larger than the free memory where it must go.")
        var force = false

        @Flag(name: .customLong("no-progress"), help: "Do not draw the progress bar (it is drawn only on a terminal anyway).")
        var noProgress = false

        @Option(help: formatHelp(TrainingRecord.self))
        var format: ReportFormat = .table

        @Option(
            help: ArgumentHelp("Also write the JSON record to this file (atomically), for `memplan report`.", valueName: "file"))
        var record: String?

        @Option(
            name: .customLong("save-checkpoint"),
            help: ArgumentHelp(
                "Transformers of GPT-2's shape: after training, write the parameters to this file as an llm.c GPT-2 "
                    + "checkpoint (atomically), for `memplan generate`.", valueName: "file"))
        var saveCheckpoint: String?

        func validate() throws {
            _ = try format.checked(for: TrainingRecord.self, command: "train")
            guard Placement(placement) != nil else {
                throw ValidationError("--placement must be local, node:N (e.g. node:1) or interleave; got '\(placement)'")
            }
            if let epochs, epochs.value < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs.value)") }
            if let epochs, epochs.value > 1_000_000 {
                throw ValidationError("--epochs must be at most 1,000,000, got \(epochs.value)")
            }
            if let batch, batch.value < 1 { throw ValidationError("--batch must be at least 1, got \(batch.value)") }
            if let steps, steps.value < 1 { throw ValidationError("--steps must be at least 1, got \(steps.value)") }
            if let learningRate, !(learningRate > 0 && learningRate.isFinite) {
                throw ValidationError("--learning-rate must be a positive number, got \(learningRate)")
            }
            if let threads, !(1...1024).contains(threads) {
                throw ValidationError("--threads must be between 1 and 1024, got \(threads)")
            }
            if let precision, !precision.isTrainable {
                throw ValidationError("--precision \(precision.rawValue) is for estimates only; train with single or double")
            }
        }

        func run() throws {
            // Ctrl-C: finish the current step, write the record marked partial, free the arena.
            // A second Ctrl-C (the handler restores the default) stops at once.
            signal(SIGINT) { _ in
                stopRequested.store(true, ordering: .relaxed)
                signal(SIGINT, SIG_DFL)
            }
            // A parent may have started us with SIGINT blocked (some process launchers do); unblock it.
            var interrupt = sigset_t()
            sigemptyset(&interrupt)
            sigaddset(&interrupt, SIGINT)
            pthread_sigmask(SIG_UNBLOCK, &interrupt, nil)
            let network: Network
            switch try ProfileParser.load(path: profile) {
            case .bound:
                throw CLIFailure.badInput(
                    "\(profile) is a bound profile: it has no layers or data to train; train an exact profile")
            case .exact(var model):
                if recompute != nil || steps != nil {
                    throw CLIFailure.badInput(
                        "--\(recompute != nil ? "checkpoint" : "steps") applies to transformer profiles; \(profile) is an MLP")
                }
                model = try model.with(precision: precision, batchSize: batch?.value)
                if let epochs { model.epochs = epochs.value }
                if let seed { model.seed = UInt64(seed.value) }
                if let learningRate { model.optimizer.learningRate = learningRate }
                network = .mlp(model)
            case .transformer(var model):
                model = try model.with(precision: precision, batchSize: batch?.value, recompute: recompute)
                if let epochs { model.epochs = epochs.value }
                if let seed { model.seed = UInt64(seed.value) }
                if let learningRate { model.optimizer.learningRate = learningRate }
                if data == "synthetic" {
                    // 64 batches of windows of a Markov chain over 16 symbols (about 1 nat per token).
                    model.data = .synthetic(
                        count: max(65_536, 64 * model.batchSize * (model.sequenceLength + 1)), seed: model.seed)
                }
                if model.data == nil {
                    throw CLIFailure.badInput(
                        "\(profile) names no data; add data: {source: text, path: …} or {source: synthetic}, "
                            + "or pass --data synthetic")
                }
                network = .transformer(model)
            }
            if let record { try RecordFile.checkWritable(record) }
            if let saveCheckpoint {
                // Before any training: a model llm.c's format cannot hold, or a file that cannot be written.
                guard case .transformer(let model) = network else {
                    throw CLIFailure.badInput("--save-checkpoint applies to transformer profiles; \(profile) is an MLP")
                }
                _ = try GPT2Config(model.spec, model: model.name)
                try RecordFile.checkWritable(saveCheckpoint)
            }

            var options = TrainingOptions()
            options.placement = Placement(placement)!
            options.force = force
            options.dataPath = data == "synthetic" && network.isTransformer ? nil : data
            options.maxSteps = steps?.value
            options.threadCount = threads
            options.allocationCounter = makeAllocationCounter()
            options.checkpointPath = saveCheckpoint
            let interactive = format == .table && !noProgress && isatty(STDERR_FILENO) == 1
            let bar = ProgressBar(enabled: interactive)
            let table = format == .table
            // The header waits for the first progress report, so a run that fails while planning or reading its
            // data prints only the error.
            let headerText = table ? header(network) : nil
            let headerPrinted = Atomic<Bool>(false)
            let printHeader = {
                if let headerText, !headerPrinted.exchange(true, ordering: .relaxed) { print(headerText) }
            }
            options.progress = { progress in
                printHeader()
                bar.update(progress)
                if progress.isEpochEnd, table, let metrics = progress.epochMetrics {
                    bar.clear()
                    print(EpochLine.format(metrics, samplesPerSecond: progress.samplesPerSecond))
                }
            }
            options.shouldStop = { stopRequested.load(ordering: .relaxed) }

            let result: TrainingResult
            switch network {
            case .mlp(let model): result = try TrainingSession.run(model, options: options)
            case .transformer(let model): result = try TransformerSession.run(model, options: options)
            }
            bar.clear()
            printHeader()
            let report = try Adapters.record(result)
            if let record { try RecordFile.write(report.json, to: record) }
            if table { print("") }
            print(report.render(format), terminator: "")
            if table, let record { print("Record written to \(record)") }
            if table, let saveCheckpoint { print("Checkpoint written to \(saveCheckpoint)") }
            if result.isPartial { throw ExitCode(130) }
        }

        func header(_ network: Network) -> String {
            let optimizer = network.optimizer
            var text = "memplan train — \(network.name): \(network.precision.rawValue) precision, batch \(network.batchSize), "
            if case .transformer(let model) = network { text += "sequence \(model.sequenceLength), " }
            text +=
                "\(optimizer.kind.rawValue) η = \(optimizer.learningRate), \(network.epochs) epoch\(network.epochs == 1 ? "" : "s"), "
            text += "placement \(placement)\n\n" + EpochLine.header
            return text
        }
    }
}

/// One line per epoch in the table output.
enum EpochLine {
    static let header = "Epoch  Train loss  Train acc  Val loss  Val acc     Time  Samples/s"

    static func format(_ metrics: EpochMetrics, samplesPerSecond: Double) -> String {
        func cell(_ text: String, _ width: Int) -> String { text.leftPadded(width) }
        func percent(_ value: Double?) -> String { value.map { String(format: "%.2f%%", $0 * 100) } ?? "–" }
        func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "–" }
        return cell(String(metrics.epoch), 5) + cell(number(metrics.trainLoss), 12) + cell(percent(metrics.trainAccuracy), 11)
            + cell(number(metrics.validationLoss), 10) + cell(percent(metrics.validationAccuracy), 9)
            + cell(String(format: "%.2fs", metrics.seconds), 9) + cell(String(Int(samplesPerSecond.rounded())), 11)
    }
}

/// A one-line progress bar on stderr, redrawn in place; silent when not on a terminal.
final class ProgressBar: @unchecked Sendable {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled }

    func update(_ progress: TrainingProgress) {
        guard enabled, !progress.isEpochEnd else { return }
        let width = 30
        let done = progress.steps > 0 ? progress.step * width / progress.steps : width
        let bar = String(repeating: "█", count: done) + String(repeating: "░", count: width - done)
        let line = String(
            format: "\r epoch %d/%d %@ %d/%d  loss %.4f  %.0f samples/s ", progress.epoch, progress.epochs, bar, progress.step,
            progress.steps, progress.trainLoss, progress.samplesPerSecond)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}

/// Writes result files atomically: a temporary file beside the target, then rename.
enum RecordFile {
    /// Fails early (before any training) when the file's directory is missing or not writable.
    static func checkWritable(_ path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIFailure.badInput("\(path): the directory \(directory) does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw CLIFailure.badInput("\(path): the directory \(directory) is not writable")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CLIFailure.badInput("\(path) is a directory; give a file name")
        }
    }

    static func write(_ text: String, to path: String) throws {
        try checkWritable(path)
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try Data(text.utf8).write(to: temporary)
            if rename(temporary.path, url.path) != 0 {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw CLIFailure.badInput("\(path): cannot write: \(reason)")
            }
        } catch let failure as CLIFailure {
            throw failure
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw CLIFailure.badInput("\(path): cannot write: \(error.localizedDescription)")
        }
    }
}

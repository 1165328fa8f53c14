// `memplan train`: train the real model inside exactly the planned arena, then compare.

import ArenaPlanner
import ArgumentParser
import Foundation
import MLPTrainer
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

        @Option(help: ArgumentHelp("Where the arena's pages go.", valueName: "local|node:N|interleave"))
        var placement: String = "local"

        @Option(
            help: ArgumentHelp(
                "Seed for initial weights, shuffling and generated data (default: the profile's).", valueName: "n"),
            transform: CountArgument.parse)
        var seed: CountArgument?

        @Option(
            help: ArgumentHelp(
                "Data location: a Fashion-MNIST directory or a CSV file (default: the profile's).", valueName: "path"))
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
            guard case .exact(var model) = try ProfileParser.load(path: profile) else {
                throw CLIFailure.badInput(
                    "\(profile) is a bound profile: it has no layers or data to train; train an exact profile")
            }
            model = try model.with(precision: precision, batchSize: batch?.value)
            if let epochs { model.epochs = epochs.value }
            if let seed { model.seed = UInt64(seed.value) }
            if let learningRate { model.optimizer.learningRate = learningRate }
            if let record { try RecordFile.checkWritable(record) }

            var options = TrainingOptions()
            options.placement = Placement(placement)!
            options.force = force
            options.dataPath = data
            options.threadCount = threads
            options.allocationCounter = makeAllocationCounter()
            let interactive = format == .table && !noProgress && isatty(STDERR_FILENO) == 1
            let bar = ProgressBar(enabled: interactive)
            let table = format == .table
            if table { print(header(model)) }
            options.progress = { progress in
                bar.update(progress)
                if progress.isEpochEnd, table, let metrics = progress.epochMetrics {
                    bar.clear()
                    print(EpochLine.format(metrics, samplesPerSecond: progress.samplesPerSecond))
                }
            }
            options.shouldStop = { stopRequested.load(ordering: .relaxed) }

            let result = try TrainingSession.run(model, options: options)
            bar.clear()
            let report = try Adapters.record(result)
            if let record { try RecordFile.write(report.json, to: record) }
            if table { print("") }
            print(report.render(format), terminator: "")
            if table, let record, !RecordFile.isStandardOutput(record) { print("Record written to \(Markup.terminal(record))") }
            if result.isPartial { throw ExitCode(130) }
        }

        func header(_ model: Model) -> String {
            var text =
                "memplan train — \(Markup.terminal(model.name)): \(model.precision.rawValue) precision, batch \(model.batchSize), "
            text +=
                "\(model.optimizer.kind.rawValue) η = \(model.optimizer.learningRate), \(model.epochs) epoch\(model.epochs == 1 ? "" : "s"), "
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
            + cell(String(format: "%.2fs", metrics.seconds), 9) + cell(String(Int(saturating: samplesPerSecond.rounded())), 11)
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

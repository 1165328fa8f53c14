// `memplan train`: train the real model inside exactly the planned arena, then compare.

import ArenaPlanner
import ArgumentParser
import FileAccess
import Foundation
import MLPTrainer
import MemoryBudget
import ModelProfile
import NUMAArena
import Reports
import Synchronization
import TrainingRun

extension Memplan {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the model inside its planned arena and compare predicted with actual memory.",
            discussion: """
                memplan plans the training step and the dataset into one arena, allocates exactly that arena with the chosen NUMA placement, decodes the data into it, trains, and then measures: the node of every arena page (move_pages), resident pages, peak RSS growth and heap allocations per step.

                Placement: local (pages where the training thread runs), node:N (every page on node N, and the training threads bound to N's CPUs), interleave (pages spread over all nodes).

                A batch larger than the training set is clamped to it, with a warning. Classification runs show the majority-class baseline (always predicting the most frequent training class) beside the test accuracy, and warn when the model does not beat it.

                Over several processes: start it with mpirun -np N (as root add --allow-run-as-root). Each rank trains its share of every global batch (N × the batch) in its own planned arena, on node (rank mod nodes); the gradients are summed by memplan's own ring over MPI, and rank 0 writes the record with every rank's measurements. --strategy dp, zero1, zero2 or zero3 says what each rank stores whole and what it shards; see memplan plan --devices N --strategy S for one rank's arena. A stop signal or a dead rank ends every rank at once, without a record.

                Precision: single or double trains every tensor in that type. bf16-mixed trains a dense network or a transformer (one process, not yet over ranks) as mixed-precision training does: bf16 weights, activations, deltas and gradients, products on bf16 operands with fp32 sums (AMX tiles where the CPU has them), fp32 master weights and optimizer state, the loss, softmax and norm statistics computed in fp32; the record's gemm_kernels says which kernels ran.

                Ctrl-C (or SIGTERM, SIGHUP, SIGQUIT) stops after the current step; the record written then is marked partial, and memplan exits with 128 + the signal's number.

                Examples:
                  memplan train profiles/fashion-mnist-mlp.yaml
                  memplan train profiles/fashion-mnist-mlp.yaml --epochs 20 \\
                      --record reports/run.json
                  memplan train profiles/smallest-perceptron.yaml --format json
                  memplan train profiles/softmax-fashion.yaml --placement node:0 \\
                      --precision double
                  memplan train profiles/fashion-mnist-mlp.yaml --precision bf16-mixed
                  memplan train --mlp 16,32,4 --loss softmax-ce --optimizer adam
                  memplan train profiles/bytes-gpt.yaml
                  memplan train profiles/bytes-gpt.yaml --checkpoint blocks --steps 40
                  memplan train profiles/gpt2-124m.yaml --data synthetic --batch 4 --steps 5
                  memplan train profiles/bytes-gpt.yaml --save-checkpoint bytes-gpt.bin
                  mpirun -np 2 memplan train profiles/fashion-mnist-mlp.yaml \\
                      --strategy zero1
                """)

        @Argument(help: "A model profile with a data source, e.g. profiles/fashion-mnist-mlp.yaml; - reads standard input.")
        var profile: String?

        @OptionGroup var network: MLPFlags

        @Option(
            parsing: .unconditional, help: ArgumentHelp("Epochs (default: the profile's).", valueName: "n"),
            transform: CountArgument.parse)
        var epochs: CountArgument?

        @OptionGroup var batch: BatchOption

        @Option(help: ArgumentHelp("Element precision (default: the profile's).", valueName: "single|double|bf16-mixed"))
        var precision: TrainPrecision?

        @OptionGroup var optimizer: OptimizerOption

        @Option(
            name: .customLong("learning-rate"), parsing: .unconditional,
            help: ArgumentHelp("Learning rate (default: the profile's).", valueName: "η"))
        var learningRate: Double?

        @Option(
            help: ArgumentHelp(
                "Where the arena's pages go (default: local; under mpirun rank r on node r mod nodes).",
                valueName: "local|node:N|interleave"))
        var placement: String?

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp(
                "Seed for initial weights, shuffling and generated data (default: the profile's).", valueName: "n"),
            transform: CountArgument.parse)
        var seed: CountArgument?

        @Option(
            help: ArgumentHelp(
                "Data location: a Fashion-MNIST directory or a CSV file; for a transformer a text file or directory, or "
                    + "'synthetic' (generated tokens). Default: the profile's.", valueName: "path"))
        var data: String?

        @Option(
            parsing: .unconditional,
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

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp("Threads that split each step (default: the CPUs memplan may run on).", valueName: "n"))
        var threads: Int?

        @OptionGroup(title: "Over several processes (mpirun -np N memplan train …)") var sharding: ShardingOptions

        @Flag(help: "Allocate even when the arena is larger than the free memory where it must go.")
        var force = false

        @Flag(name: .customLong("no-progress"), help: "Do not draw the progress bar (it is drawn only on a terminal anyway).")
        var noProgress = false

        @Option(help: formatHelp(TrainingRecord.self))
        var format: ReportFormat = .table

        @Option(
            help: ArgumentHelp(
                "Also write the JSON record to this file (atomically), for `memplan report`; - for standard output.",
                valueName: "file"))
        var record: String?

        @Option(
            name: .customLong("save-checkpoint"),
            help: ArgumentHelp(
                "Transformers of GPT-2's shape: after training, write the parameters to this file as an llm.c GPT-2 "
                    + "checkpoint (atomically), for `memplan generate`.", valueName: "file"))
        var saveCheckpoint: String?

        func validate() throws {
            _ = try format.checked(for: TrainingRecord.self, command: "train")
            guard (profile == nil) != (network.mlp == nil) else {
                throw ValidationError(
                    profile == nil
                        ? "give a profile file, or --mlp widths (trained on synthetic data)" : "give a profile or --mlp, not both"
                )
            }
            if let placement, Placement(placement) == nil {
                throw ValidationError("--placement must be local, node:N (e.g. node:1) or interleave; got '\(placement)'")
            }
            if let epochs, epochs.value < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs.value)") }
            if let epochs, epochs.value > ProfileParser.maximumEpochs {
                throw ValidationError("--epochs must be at most 1,000,000, got \(epochs.value)")
            }
            try batch.check()
            if let steps, steps.value < 1 { throw ValidationError("--steps must be at least 1, got \(steps.value)") }
            if let learningRate, !(learningRate > 0 && learningRate.isFinite) {
                throw ValidationError("--learning-rate must be a positive number, got \(learningRate)")
            }
            if let threads, !(1...1024).contains(threads) {
                throw ValidationError("--threads must be between 1 and 1024, got \(threads)")
            }
            if let precision, !precision.value.isTrainable {
                throw ValidationError(
                    "--precision \(precision.value.rawValue) is for estimates only; train with single, double or bf16-mixed")
            }
        }

        /// The network to train: the profile's (an MLP or a transformer), or --mlp's on synthetic data, with the flags
        /// applied.
        func resolveNetwork() throws -> Network {
            var model: Model
            if let profile {
                switch try ModelFiles.loadProfile(profile) {
                case .bound:
                    throw CLIFailure.badInput(
                        "\(profile) is a bound profile: it has no layers or data to train; train an exact profile")
                case .transformer(let transformer): return .transformer(try resolve(transformer))
                case .exact(let exact): model = exact
                }
                if let frozen = model.layers.indices.first(where: { model.layers[$0].isFrozen }) {
                    throw CLIFailure.badInput(
                        "\(profile): memplan train cannot freeze layers (it would train every weight); layer \(frozen + 1) is "
                            + "frozen: true, which is for estimate and plan — remove frozen to train the full model")
                }
            } else {
                model = try network.model()
                model.data = MLPFlags.syntheticData(for: model)
            }
            model = try model.with(precision: precision?.value, batchSize: batch.value, optimizer: optimizer.kind)
            if let epochs { model.epochs = epochs.value }
            if let seed { model.seed = UInt64(seed.value) }
            if let learningRate { model.optimizer.learningRate = learningRate }
            if recompute != nil || steps != nil {
                throw CLIFailure.badInput(
                    "--\(recompute != nil ? "checkpoint" : "steps") applies to transformer profiles; this is an MLP")
            }
            return .mlp(model)
        }

        /// A transformer profile with the flags applied; `--data synthetic` swaps its text for generated tokens.
        func resolve(_ profileModel: TransformerModel) throws -> TransformerModel {
            if let lora = profileModel.lora {
                throw CLIFailure.badInput(
                    "\(profile ?? "the profile"): memplan train cannot train LoRA adapters (it would train every weight); "
                        + "lora (rank \(lora.rank) on \(lora.targets.map(\.rawValue).joined(separator: ", "))) is for "
                        + "estimate, plan and capacity — remove the lora key to train the full model")
            }
            var model = try profileModel.with(
                precision: precision?.value, batchSize: batch.value, optimizer: optimizer.kind, recompute: recompute)
            if let epochs { model.epochs = epochs.value }
            if let seed { model.seed = UInt64(seed.value) }
            if let learningRate { model.optimizer.learningRate = learningRate }
            if data == "synthetic" {
                // 64 batches of windows of a Markov chain over 16 symbols (about 1 nat per token).
                model.data = .synthetic(count: max(65_536, 64 * model.batchSize * (model.sequenceLength + 1)), seed: model.seed)
            }
            if model.data == nil {
                throw CLIFailure.badInput(
                    "\(profile ?? "the profile") names no data; add data: {source: text, path: …} or {source: synthetic}, "
                        + "or pass --data synthetic")
            }
            return model
        }

        func run() throws {
            // Ctrl-C, SIGTERM, SIGHUP, SIGQUIT: finish the current step, write the record marked partial, free the
            // arena, exit 128 + the signal. A second signal stops at once.
            StopSignals.install()
            let network = try resolveNetwork()
            if let record { try RecordFile.checkWritable(record) }
            var checkpointFile: String?
            if let saveCheckpoint {
                // Before any training: a model llm.c's format cannot hold, or a file that cannot be written.
                guard case .transformer(let model) = network else {
                    throw CLIFailure.badInput(
                        "--save-checkpoint applies to transformer profiles; \(Markup.terminal(network.name)) is an MLP")
                }
                _ = try GPT2Config(model.spec, model: model.name)
                checkpointFile = try Self.checkpointTarget(saveCheckpoint)
            }

            var options = TrainingOptions()
            options.placement = Placement(placement ?? "local")!
            options.force = force
            options.dataPath = data == "synthetic" && network.isTransformer ? nil : data
            options.maxSteps = steps?.value
            options.threadCount = threads
            options.allocationCounter = makeAllocationCounter()
            options.checkpointPath = checkpointFile
            if let (world, strategy) = try joinRanks(network) {
                switch network {
                case .mlp(let model): try runRanks(model, options: options, world: world, strategy: strategy)
                case .transformer(let model): try runTransformerRanks(model, options: options, world: world, strategy: strategy)
                }
                return
            }
            switch network {
            case .mlp(let model): try runMLP(model, options: options)
            case .transformer(let model): try runTransformer(model, options: options)
            }
        }

        func runMLP(_ model: Model, options: TrainingOptions) throws {
            // Everything that can fail on the input or the machine happens before the header.
            let prepared = try TrainingSession.prepare(model, options: options)
            for warning in prepared.warnings { Main.printWarning(warning) }
            let interactive = format == .table && !noProgress && isatty(STDERR_FILENO) == 1
            let bar = ProgressBar(enabled: interactive)
            let table = format == .table
            if table { print(header(prepared.model)) }
            prepared.options.progress = { progress in
                bar.update(progress)
                if progress.isEpochEnd, table, let metrics = progress.epochMetrics {
                    bar.clear()
                    print(EpochLine.format(metrics, samplesPerSecond: progress.samplesPerSecond))
                }
            }
            prepared.options.shouldStop = { StopSignals.received != 0 }

            let result = try prepared.run()
            bar.clear()
            let report = try Adapters.record(result)
            if let record { try RecordFile.write(report.json, to: record) }
            if table { print("") }
            print(report.render(format), terminator: "")
            if table, let record, !RecordFile.isStandardOutput(record) { print("Record written to \(Markup.terminal(record))") }
            if report.metrics.isAtOrBelowBaseline == true, let accuracy = report.metrics.testAccuracy,
                let baseline = report.metrics.majorityBaselineAccuracy
            {
                Main.printWarning(
                    "the test accuracy \(String(format: "%.2f%%", accuracy * 100)) does not beat the majority-class baseline "
                        + "\(String(format: "%.2f%%", baseline * 100)) (always predicting the most frequent class of the training "
                        + "targets): the model has learned nothing the class counts do not say; try another learning rate, "
                        + "fewer layers or another activation")
            }
            if result.isPartial { throw ExitCode(128 + (StopSignals.received == 0 ? SIGINT : StopSignals.received)) }
        }

        /// A transformer's run: its header waits for the first progress report, so a run that fails while planning or
        /// reading its text prints only the error.
        func runTransformer(_ model: TransformerModel, options: TrainingOptions) throws {
            var options = options
            let interactive = format == .table && !noProgress && isatty(STDERR_FILENO) == 1
            let bar = ProgressBar(enabled: interactive)
            let table = format == .table
            let headerText = table ? header(.transformer(model)) : nil
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
            options.shouldStop = { StopSignals.received != 0 }
            let result = try TransformerSession.run(model, options: options)
            bar.clear()
            printHeader()
            let report = try Adapters.record(result)
            if let record { try RecordFile.write(report.json, to: record) }
            if table { print("") }
            print(report.render(format), terminator: "")
            if table, let record, !RecordFile.isStandardOutput(record) { print("Record written to \(Markup.terminal(record))") }
            if table, let saveCheckpoint { print("Checkpoint written to \(Markup.terminal(saveCheckpoint))") }
            if result.isPartial { throw ExitCode(128 + (StopSignals.received == 0 ? SIGINT : StopSignals.received)) }
        }

        /// The file a checkpoint goes to: a regular file (a symbolic link's target) or a device written through;
        /// never standard output, where the binary would mix with the report.
        static func checkpointTarget(_ path: String) throws -> String {
            do {
                switch try OutputFile.target(for: path) {
                case .regularFile(let file): return file
                case .device(let device): return device
                case .standardOutput, .descriptor:
                    throw CLIFailure.badInput(
                        "--save-checkpoint \(Markup.terminal(path)): a checkpoint is binary and cannot share standard output "
                            + "with the report; give a file name")
                }
            } catch let error as OutputFileError {
                throw CLIFailure.badInput(error.description)
            }
        }

        func header(_ model: Model) -> String { header(.mlp(model)) }

        func header(_ network: Network) -> String {
            let optimizer = network.optimizer
            var text =
                "memplan train — \(Markup.terminal(network.name)): \(network.precision.rawValue) precision, batch \(network.batchSize), "
            if case .transformer(let model) = network { text += "sequence \(model.sequenceLength), " }
            text +=
                "\(optimizer.kind.rawValue) η = \(optimizer.learningRate), \(network.epochs) epoch\(network.epochs == 1 ? "" : "s"), "
            text += "placement \(placement ?? "local")\n\n" + EpochLine.header
            return text
        }
    }
}

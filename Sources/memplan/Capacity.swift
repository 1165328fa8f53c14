// `memplan capacity`: what fits on this machine, on each NUMA node, or on a machine you plan for.

import ArenaPlanner
import ArgumentParser
import Foundation
import Capacity
import FileAccess
import MemoryBudget
import TrainingData
import ModelProfile
import NUMAArena
import Reports

extension Memplan {
    struct Capacity: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find the largest batch and model that fit each NUMA node and the whole machine.",
            discussion: """
                For each precision: the largest batch whose planned arena fits each node and the whole machine (an exact search over the planner, not a formula), the largest scale of the hidden layers at the profile's batch, and how many machines like this one the profile needs. For bound profiles the answers are the lecture's (300 B parameters, 1,000 samples: 2.29 PB at double precision).

                --machine local reads this machine's nodes and their free memory through libnuma; --machine FILE reads a machine profile (profiles/machines/*.yaml) for hardware you do not have. The headroom is left free on every node.

                Usable memory on this machine is each node's MemFree (memory nothing uses now) by default; --memory available counts MemAvailable (free memory plus caches the kernel can reclaim) instead. When the largest batch that fits exceeds the dataset, the output says so.

                --format html without --output writes reports/capacity-<profile>-<machine>.html, creating reports/ when it is missing.

                Examples:
                  memplan capacity profiles/fashion-mnist-mlp.yaml
                  memplan capacity profiles/fashion-mnist-mlp.yaml \\
                      --machine profiles/machines/two-socket-512g.yaml
                  memplan capacity profiles/quiz-300b.yaml \\
                      --machine profiles/machines/dgx-8x80g.yaml
                  memplan capacity profiles/quiz-300b.yaml --format html \\
                      --output reports/quiz-300b.html
                  memplan capacity profiles/fashion-mnist-mlp.yaml --memory available
                """)

        @Argument(help: "A model profile (exact or bound).")
        var profile: String

        @Option(help: ArgumentHelp("local, or a machine profile file.", valueName: "local|FILE"))
        var machine: String = "local"

        @Option(help: ArgumentHelp("Comma-separated precisions.", valueName: "single,double,…"))
        var precision: String = "single,double"

        @Option(
            parsing: .unconditional, help: ArgumentHelp("Memory to leave free on every node: 10% or 0.1.", valueName: "percent"))
        var headroom: String = "10%"

        @Option(
            help: ArgumentHelp(
                "On this machine (--machine local): a node's usable memory is its MemFree (free) or MemAvailable (available).",
                valueName: "free|available"))
        var memory: MemorySource = .free

        @Flag(
            name: .customLong("no-data"), help: "Plan the training step alone, without the dataset buffers `memplan train` adds.")
        var noData = false

        @Option(help: formatHelp(CapacityReport.self))
        var format: ReportFormat = .table

        @Option(
            help: ArgumentHelp(
                "Write to this file (atomically) instead of standard output; html defaults to reports/.", valueName: "path"))
        var output: String?

        func parsedPrecisions() throws -> [Precision] {
            var result: [Precision] = []
            for part in precision.split(separator: ",") {
                let name = part.trimmingCharacters(in: .whitespaces)
                guard let value = Precision(name: name) else {
                    throw ValidationError(
                        "--precision: unknown precision '\(name)'; use single, double, half or bfloat16, comma-separated")
                }
                if !result.contains(value) { result.append(value) }
            }
            guard !result.isEmpty else { throw ValidationError("--precision: give at least one precision") }
            return result
        }

        func parsedHeadroom() throws -> Double {
            var text = headroom.trimmingCharacters(in: .whitespaces)
            var scale = 1.0
            if text.hasSuffix("%") {
                text.removeLast()
                scale = 0.01
            }
            guard let value = Double(text), value.isFinite, value * scale >= 0, value * scale < 1 else {
                throw ValidationError(
                    "--headroom must be a fraction in [0, 1) or a percentage in [0%, 100%), such as 10%; got '\(headroom)'")
            }
            return value * scale
        }

        func validate() throws {
            _ = try parsedPrecisions()
            _ = try parsedHeadroom()
        }

        func run() throws {
            let loaded = try ModelFiles.loadProfile(profile)
            // A precision the profile cannot take (fp16-mixed against loss_scaling: none) is refused, not analysed at
            // the profile's own precision under the other's name.
            for precision in try parsedPrecisions() where precision == .fp16Mixed {
                do {
                    _ = try loaded.with(precision: precision)
                } catch {
                    throw CLIFailure.badInput("\(profile): \(error)")
                }
            }
            let target = try loadMachine()
            var data: DataShape?
            var dataNote: String?
            if !noData, case .exact(let model) = loaded, model.data != nil {
                do {
                    data = try DatasetLoader(model: model).shape
                } catch let error as DataError {
                    if case .fashionMNIST = model.data {
                        data = DatasetLoader.fashionMNISTShape()
                        dataNote = "Fashion-MNIST files not found (\(error)); planned with its standard 60,000 + 10,000 samples"
                    } else {
                        throw error
                    }
                }
            }
            let result = try CapacityAnalysis.analyze(
                loaded, machine: target, precisions: try parsedPrecisions(), headroom: try parsedHeadroom(), data: data)
            let report = CapacityReport(result)
            let text = report.render(format)
            if let dataNote { FileHandle.standardError.write(Data("memplan: note: \(Markup.terminal(dataNote))\n".utf8)) }
            let path =
                try output
                ?? (format == .html
                    ? DefaultOutput.reportsPath(
                        "capacity-\(PathText.safeComponent(report.profile))-\(PathText.safeComponent(report.machine.name)).html")
                    : nil)
            if let path {
                try RecordFile.write(text, to: path)
                if !RecordFile.isStandardOutput(path) { print("Wrote \(Markup.terminal(path))") }
            } else {
                print(text, terminator: "")
            }
        }

        func loadMachine() throws -> Machine {
            machine == "local" ? Adapters.localMachine(memory: memory) : try MachineParser.load(path: machine)
        }
    }
}

// `memplan plan`: one training step as buffers with lifetimes, placed in one arena.

import ArenaPlanner
import ArgumentParser
import MemoryBudget
import ModelProfile
import Reports

/// Which placement `--planner` asks for.
enum PlannerChoice: String, ExpressibleByArgument, CaseIterable {
    case best, greedy, sweep, skyline, linear

    var planner: any MemoryPlanner {
        switch self {
        case .best: BestPlanner()
        case .greedy: GreedyPlanner()
        case .sweep: SweepPlanner()
        case .skyline: SkylinePlanner()
        case .linear: LinearPlanner()
        }
    }
}

extension Memplan {
    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Plan one training step's buffers into one arena, with offsets and lifetimes.",
            discussion: """
                A training step is ops in order — load the batch, forward through each layer, the loss, backward through each layer, the optimizer update — and buffers with inclusive lifetimes [first op, last op]: parameters and optimizer state (live at every op), the batch x and y, each layer's output a_k, the backward deltas dz_k and the gradients dW_k, db_k.

                The planner places buffers that are live at the same op at disjoint offsets, and buffers that never meet on top of each other. The summary compares the naive sum (the lecture's method, no reuse), the planned arena, and the lower bound no plan can beat (the most bytes live at one op).

                With --devices N --strategy dp|zero1|zero2|zero3: one rank's buffers — master weights and optimizer state (zero1), gradients (zero2) and parameters (zero3) hold 1/N of their elements each — and the exchange's buffers (a ring chunk; zero2 and zero3 a bucket for one layer's gradient; zero3 a gather buffer for the largest layer's parameters), as `memplan estimate --devices N` counts them.

                Planners: best (default: every strategy below, keeping the smallest arena), greedy (greedy by size with best-fit gaps, as TensorFlow Lite), sweep (online best fit in op order), skyline (best fit by lifetime), linear (no reuse).

                Examples:
                  memplan plan profiles/fashion-mnist-mlp.yaml
                  memplan plan profiles/fashion-mnist-mlp.yaml --batch 8192 --format json
                  memplan plan profiles/multilabel.yaml --optimizer adam --alignment 4096
                  memplan plan profiles/bytes-gpt.yaml --devices 2 --strategy zero3
                """)

        @OptionGroup var source: ModelSource
        @OptionGroup var overrides: StepOverrides
        @OptionGroup var sharding: ShardingOptions

        @Option(
            parsing: .unconditional, help: ArgumentHelp("Offset alignment in bytes, a power of two.", valueName: "bytes"),
            transform: CountArgument.parse)
        var alignment: CountArgument = CountArgument(value: 64)

        @Option(help: ArgumentHelp("Placement strategy.", valueName: "best|greedy|sweep|skyline|linear"))
        var planner: PlannerChoice = .best

        @Option(parsing: .unconditional, help: ArgumentHelp("Rows of the ASCII timeline.", valueName: "n"))
        var rows: Int = 16

        @Option(help: formatHelp(PlanReport.self))
        var format: ReportFormat = .table

        @Flag(
            name: .customLong("validate"),
            help:
                "Check the plan (no two buffers live at one op share bytes; every offset aligned and inside the arena) and print the check."
        )
        var validates = false

        func validate() throws {
            _ = try format.checked(for: PlanReport.self, command: "plan")
            try source.checkBoundPair()
            let value = alignment.value
            guard value > 0, value & (value - 1) == 0, value <= 1 << 30 else {
                throw ValidationError("--alignment must be a power of two from 1 to 1 GiB, such as 64 or 4096; got \(value)")
            }
            guard (1...200).contains(rows) else { throw ValidationError("--rows must be between 1 and 200, got \(rows)") }
        }

        func run() throws {
            let profile = try source.attributing { try overrides.apply(to: try source.resolve()) }
            if sharding.split?.strategy == .tp {
                throw CLIFailure.badInput(
                    "--strategy tp is estimate-only (Korthikanti's formulas); memplan plans the ranks of dp, zero1, zero2 and "
                        + "zero3 — use `memplan estimate --strategy tp` for tensor parallelism")
            }
            let options = sharding.stepOptions(overrides.stepOptions)
            let table: StepTable
            switch profile {
            case .bound:
                throw CLIFailure.badInput(
                    "\(source.profile ?? "the model") is a bound profile: it states only a parameter count, so there are no layers to plan; "
                        + "use `memplan estimate` for its bound, or give an exact profile")
            case .exact(let model): table = try source.attributing { try StepTable(model: model, options: options) }
            case .transformer(let model):
                table = try source.attributing { try StepTable(transformer: model, options: options) }
            }
            let (report, plan) = try source.attributing {
                let program = StepProgram(table: table)
                guard let split = sharding.split else {
                    let plan = try planner.planner.plan(program.buffers, alignment: alignment.value)
                    return (PlanReport(plan: plan, program: program, naiveBytes: try program.naiveByteCount()), plan)
                }
                // The same checks as the estimate's (a ZeRO shard per parameter at least).
                _ = try DeviceBudget(try MemoryBudget.estimate(table), strategy: split.strategy, deviceCount: split.devices)
                let buffers = try program.rankBuffers(strategy: split.strategy, devices: split.devices)
                let plan = try planner.planner.plan(buffers, alignment: alignment.value)
                var naive = 0
                for buffer in buffers {
                    let (sum, overflow) = naive.addingReportingOverflow(buffer.byteCount)
                    guard !overflow else { throw PlanError.overflow(name: buffer.name) }
                    naive = sum
                }
                var report = PlanReport(plan: plan, program: program, naiveBytes: naive)
                (report.devices, report.sharding) = (split.devices, split.strategy.rawValue)
                return (report, plan)
            }
            var validation: String?
            if validates {
                do {
                    try plan.validate()
                    validation =
                        "valid: no two of the \(plan.requests.count) buffers live at one op share bytes; every offset is a multiple of "
                        + "\(plan.alignment) and every buffer ends inside the \(plan.arenaByteCount)-byte arena"
                } catch {
                    throw CLIFailure(
                        message: "the plan is invalid: \(error) (a bug in the \(plan.strategy) planner)",
                        exitCode: ExitStatus.failure)
                }
            }
            var output = report
            output.validation = validation
            print(output.render(format, timelineRows: rows), terminator: "")
        }
    }
}

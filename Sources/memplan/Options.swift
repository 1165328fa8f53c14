// Options shared by several subcommands, and argument types that parse exactly.

import ArenaPlanner
import ArgumentParser
import Reports
import MemoryBudget
import ModelProfile

extension ReportFormat: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
    /// Empty: each command's `--format` help names the formats its document renders (`ReportDocument.formatList`).
    public static var allValueStrings: [String] { [] }

    /// This format, if `Document` renders it; else the error names the ones it does.
    func checked<Document: ReportDocument>(for document: Document.Type, command: String) throws -> ReportFormat {
        guard Document.supports(self) else {
            throw ValidationError("\(command) prints \(Document.formatList); got --format \(rawValue)")
        }
        return self
    }
}

/// `--format`'s help for a document: exactly the formats it renders.
func formatHelp<Document: ReportDocument>(_ document: Document.Type) -> ArgumentHelp {
    ArgumentHelp("Output format: \(Document.formatList).", valueName: Document.formats.map(\.rawValue).joined(separator: "|"))
}

/// A whole count that accepts `128`, `1_000`, `1e3`, `300e9` (see `Quantity.count`).
struct CountArgument {
    var value: Int

    /// For `@Option(transform:)`: the parse error's reason reaches the user.
    @Sendable static func parse(_ text: String) throws -> CountArgument {
        CountArgument(value: try Quantity.count(text))
    }
}

/// A byte size that accepts `1GB`, `1.5GiB`, `4096`.
struct ByteCountArgument {
    var value: Int

    @Sendable static func parse(_ text: String) throws -> ByteCountArgument {
        ByteCountArgument(value: try Quantity.byteCount(text))
    }
}

extension Precision: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension OptimizerKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension Recompute: ExpressibleByArgument {}

extension Activation: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    /// The activations a hidden layer may have (softmax belongs to the output layer only).
    public static var allValueStrings: [String] { allCases.filter { $0 != .softmax }.map(\.rawValue) }
}

/// `train --precision`: its help lists the precisions training runs at; half and bfloat16 are parsed, then refused
/// with the reason (they are for estimates only).
struct TrainPrecision: ExpressibleByArgument {
    var value: Precision
    init?(argument: String) {
        guard let value = Precision(name: argument) else { return nil }
        self.value = value
    }
    static var allValueStrings: [String] { Precision.allCases.filter(\.isTrainable).map(\.rawValue) }
}

extension Loss: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { ["l1", "l2", "hinge", "binary-cross-entropy", "softmax-ce"] }
    public var defaultValueDescription: String { self == .softmaxCrossEntropy ? "softmax-ce" : rawValue }
}

/// `--mlp 784,256,128,10 [--activation relu] [--loss softmax-ce]`: an MLP given on the command line instead of a
/// profile, declared once for estimate, plan and train.
struct MLPFlags: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Without a profile: an MLP's layer widths from input to output, e.g. 784,256,128,10 (exact mode; train fits it "
                + "to synthetic teacher data).", valueName: "widths"))
    var mlp: String?

    @Option(help: ArgumentHelp("Hidden-layer activation for --mlp.", valueName: "name"))
    var activation: Activation = .relu

    @Option(
        help: ArgumentHelp(
            "Loss for --mlp; it also picks the output activation and, for train, the synthetic task.", valueName: "name")
    )
    var loss: Loss = .softmaxCrossEntropy

    /// The network --mlp describes, named mlp-784-256-128-10.
    func model() throws -> Model {
        let text = mlp ?? ""
        var widths: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            do {
                widths.append(try Quantity.count(String(part)))
            } catch {
                throw CLIFailure.badInput(
                    "--mlp \(text): '\(part)' is not a layer width (\(error)); give widths like 784,256,128,10")
            }
        }
        guard widths.count >= 2 else {
            throw CLIFailure.badInput("--mlp \(text): give at least an input and an output width, e.g. 784,10")
        }
        return try Model(
            name: "mlp-" + widths.map(String.init).joined(separator: "-"), widths: widths, hiddenActivation: activation,
            loss: loss)
    }

    /// What `train --mlp` trains on: a random teacher network of the same shape, its task set by the loss
    /// (1,000 training and 200 test samples, as a profile's `source: synthetic` without keys).
    static func syntheticData(for model: Model) -> DataSource {
        let task: SyntheticTask =
            switch model.loss {
            case .l1, .l2: .regression
            case .softmaxCrossEntropy: .classes
            case .binaryCrossEntropy, .hinge: model.outputWidth > 1 ? .multilabel : .binary
            }
        return .synthetic(task: task, count: 1000, testCount: 200, noise: 0.1, seed: 7)
    }
}

/// Where the model comes from: a profile file, or a size given on the command line.
struct ModelSource: ParsableArguments {
    @Argument(help: "A model profile (YAML or JSON), e.g. profiles/fashion-mnist-mlp.yaml. Omit it to use --parameters or --mlp.")
    var profile: String?

    @Option(
        help: ArgumentHelp("Bound mode without a profile: the parameter count, e.g. 300e9.", valueName: "count"),
        transform: CountArgument.parse)
    var parameters: CountArgument?

    @Option(
        name: .customLong("sample-bytes"),
        help: ArgumentHelp("Bound mode: bytes of one input sample, e.g. 1GB (10⁹ B) or 1GiB.", valueName: "size"),
        transform: ByteCountArgument.parse)
    var sampleBytes: ByteCountArgument?

    @OptionGroup var network: MLPFlags

    func validate() throws {
        let sources = [profile != nil, parameters != nil || sampleBytes != nil, network.mlp != nil].filter { $0 }.count
        guard sources == 1 else {
            throw ValidationError(
                sources == 0
                    ? "give a profile file, or --parameters and --sample-bytes (bound mode), or --mlp widths (exact mode)"
                    : "give only one of: a profile file, --parameters/--sample-bytes, --mlp")
        }
    }

    /// Bound mode needs both --parameters and --sample-bytes, except for a question about model state alone (the split
    /// over devices), where the samples count as 0 B. Called by each command's `validate`.
    func checkBoundPair(parametersAlone: Bool = false) throws {
        if sampleBytes != nil && parameters == nil || parameters != nil && sampleBytes == nil && !parametersAlone {
            throw ValidationError(
                "bound mode needs both --parameters and --sample-bytes (e.g. --parameters 300e9 --sample-bytes 1GB)")
        }
    }

    /// Runs `body`, prefixing budget and planning errors with the profile's path so the message
    /// names the file the numbers came from.
    func attributing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as BudgetError {
            guard let profile else { throw error }
            throw CLIFailure.badInput("\(profile): \(error)")
        } catch let error as PlanError {
            guard let profile else { throw error }
            throw CLIFailure.badInput("\(profile): \(error)")
        } catch let error as ModelError {
            // A flag the profile cannot take (--precision fp16-mixed against loss_scaling: none).
            guard let profile else { throw error }
            throw CLIFailure.badInput("\(profile): \(error)")
        }
    }

    /// Loads or builds the profile.
    func resolve() throws -> Profile {
        if let profile { return try ModelFiles.loadProfile(profile) }
        if let parameters {
            return .bound(
                try BoundModel(name: "bound", parameterCount: parameters.value, sampleByteCount: sampleBytes?.value ?? 0))
        }
        return .exact(try network.model())
    }
}

/// --batch: the samples of one step, in place of the profile's; declared and checked here for estimate, plan and train.
struct BatchOption: ParsableArguments {
    @Option(
        parsing: .unconditional, help: ArgumentHelp("Samples per step (default: the profile's).", valueName: "n"),
        transform: CountArgument.parse)
    var batch: CountArgument?

    /// The batch given, or nil for the profile's.
    var value: Int? { batch?.value }

    /// Called from each command's `validate`, where the flags are checked in order (a group's own `validate` would
    /// run before the command's other checks).
    func check() throws {
        if let batch, batch.value < 1 { throw ValidationError("--batch must be at least 1, got \(batch.value)") }
    }
}

/// --optimizer: the optimizer, in place of the profile's; declared here for estimate, plan and train.
struct OptimizerOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Optimizer, which sets the state kept per parameter (default: the profile's); to train, a kind with another "
                + "default learning rate brings it along.",
            valueName: OptimizerKind.allCases.map(\.rawValue).joined(separator: "|")))
    var optimizer: OptimizerKind?

    /// The optimizer given, or nil for the profile's.
    var kind: OptimizerKind? { optimizer }
}

/// --precision, --batch, --optimizer, --threads, and a transformer's --sequence and --checkpoint: overrides of what the
/// profile says.
struct StepOverrides: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Element precision (default: the profile's).", valueName: Precision.allCases.map(\.rawValue).joined(separator: "|")))
    var precision: Precision?

    @OptionGroup var batch: BatchOption

    @OptionGroup var optimizer: OptimizerOption

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Threads the step is split into, as `memplan train --threads`. With plain SGD, threads 2 … N stage "
                + "their partial deltas in a scratch buffer of the plan.", valueName: "n"))
    var threads: Int = 1

    @Option(
        help: ArgumentHelp(
            "Transformers: tokens per sequence, at most the context (default: the profile's).", valueName: "n"),
        transform: CountArgument.parse)
    var sequence: CountArgument?

    @Option(
        name: .customLong("checkpoint"),
        help: ArgumentHelp(
            "Transformers: what the backward pass recomputes instead of keeping — none; blocks (keep each block's input); "
                + "sqrt (keep every ⌈√L⌉-th block's input); selective (recompute attention only). Default: the profile's.",
            valueName: Recompute.allCases.map(\.rawValue).joined(separator: "|")))
    var recompute: Recompute?

    func validate() throws {
        try batch.check()
        if let sequence, sequence.value < 1 { throw ValidationError("--sequence must be at least 1, got \(sequence.value)") }
        guard (1...1024).contains(threads) else { throw ValidationError("--threads must be between 1 and 1024, got \(threads)") }
    }

    /// How the step is carried out: `threads` parts, the update fused where the optimizer allows.
    var stepOptions: StepOptions { StepOptions(parts: threads) }

    func apply(to profile: Profile) throws -> Profile {
        if case .transformer(let model) = profile {
            return .transformer(
                try model.with(
                    precision: precision, batchSize: batch.value, optimizer: optimizer.kind, sequenceLength: sequence?.value,
                    recompute: recompute))
        }
        if sequence != nil || recompute != nil {
            throw CLIFailure.badInput(
                "--\(sequence != nil ? "sequence" : "checkpoint") applies to transformer profiles (kind: transformer); "
                    + "\(profile.name) is not one")
        }
        return try profile.with(precision: precision, batchSize: batch.value, optimizer: optimizer.kind)
    }
}

/// `capacity --memory`: which of the kernel's figures counts as a node's usable memory.
enum MemorySource: String, ExpressibleByArgument, CaseIterable {
    /// MemFree: memory nothing uses now (what libnuma reports per node).
    case free
    /// MemAvailable: free memory plus the caches the kernel can reclaim without swapping.
    case available

    var explanation: String {
        switch self {
        case .free:
            "usable memory is MemFree (memory nothing uses now; --memory available also counts the caches the kernel can reclaim)"
        case .available:
            "usable memory is MemAvailable (free memory plus caches the kernel can reclaim; shared over the nodes by size)"
        }
    }
}

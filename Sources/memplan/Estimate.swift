// `memplan estimate`: the closed-form budget of one training step.

import ArgumentParser
import MemoryBudget
import ModelProfile
import Reports

extension Memplan {
    struct Estimate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Budget the bytes of one training step, layer by layer.",
            discussion: """
                Exact mode (a network profile, or --mlp) counts per layer the weights and biases, their gradients, the layer's output for the whole batch (kept for the backward pass) and the optimizer state; plus the input batch (features and targets).

                Bound mode (a bound profile, or --parameters with --sample-bytes) is the lecture's back-of-envelope method: parameters + gradients + activations (at most the parameter bytes per sample) + input samples.

                Model files: a Hugging Face config.json (gpt2, llama, mistral) is a transformer profile; an ONNX graph that is a plain MLP is an exact profile; any other ONNX graph, a .safetensors file or a model.safetensors.index.json is read from its headers only — parameters, buffers that are not parameters (position_ids, running statistics), bytes by element type, for ONNX the activations its ops save at --batch (default 1) and the ops it could not size — estimate-only (table or json).

                Split over devices (--devices N --strategy dp|zero1|zero2|zero3|tp): one device's bytes by category, the profile's batch being each device's, with the buffers the exchange needs (a ring chunk of the gradients; zero2's bucket of the largest layer's gradient; zero3's gather buffer of the largest layer's parameters), and every strategy's total side by side. Bound mode takes --parameters alone here (model state only; inputs 0 B): the ZeRO paper's example is `--parameters 7.5e9 --precision bf16-mixed --optimizer adam --devices 64 --strategy zero1`.

                Sizes are shown exactly in bytes, in decimal units (GB = 10⁹ B) and in binary units (GiB = 2³⁰ B); bound mode adds the lecture's own units.

                Examples:
                  memplan estimate profiles/perceptron-3-4-2.yaml
                  memplan estimate profiles/quiz-300b.yaml --precision double
                  memplan estimate --parameters 300e9 --sample-bytes 1GB
                  memplan estimate --mlp 784,256,128,10 --loss softmax-ce
                  memplan estimate config.json --batch 8 --sequence 2048
                  memplan estimate model.safetensors
                  memplan estimate resnet50.onnx --batch 32
                  memplan estimate profiles/llama2-7b.yaml --devices 8 --strategy zero3
                """)

        @OptionGroup var source: ModelSource
        @OptionGroup var overrides: StepOverrides
        @OptionGroup var sharding: ShardingOptions

        @Option(help: formatHelp(EstimateReport.self))
        var format: ReportFormat = .table

        func validate() throws {
            _ = try format.checked(for: EstimateReport.self, command: "estimate")
            try source.checkBoundPair(parametersAlone: sharding.devices != nil)
        }

        func run() throws {
            if let path = source.profile, let kind = ModelFiles.kind(of: path),
                try kind != .onnx || ModelFiles.mlpProfile(path) == nil
            {
                guard ModelFileReport.supports(format) else {
                    throw CLIFailure.badInput(
                        "the estimate of a \(kind.rawValue) file renders \(ModelFileReport.formatList), not \(format.rawValue)")
                }
                let report = try ModelFiles.report(path, kind: kind, batch: overrides.batch.value ?? 1)
                print(report.render(format), terminator: "")
                return
            }
            let profile = try source.attributing { try overrides.apply(to: try source.resolve()) }
            let options = sharding.stepOptions(overrides.stepOptions)
            let budget = try source.attributing { try MemoryBudget.estimate(profile, options: options) }
            var recompute: [EstimateReport.RecomputeOption]?
            if case .transformer(let model) = profile {
                recompute = try source.attributing { try Adapters.recomputeOptions(model, options: options) }
            }
            var report = EstimateReport(budget, recompute: recompute)
            if let split = sharding.split {
                let device = try source.attributing {
                    try DeviceBudget(budget, strategy: split.strategy, deviceCount: split.devices)
                }
                let alternatives = ShardingStrategy.allCases.compactMap {
                    try? DeviceBudget(budget, strategy: $0, deviceCount: split.devices)
                }
                report.attach(device: device, alternatives: alternatives)
            }
            print(report.render(format), terminator: "")
        }
    }
}

// `memplan generate`: decode text from a trained checkpoint with a KV cache in its own planned arena, then compare.

import ArgumentParser
import Foundation
import ModelProfile
import NUMAArena
import Reports
import TrainingRun

extension Memplan {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate text from a trained checkpoint, with a KV cache in a planned arena; compare its bytes.",
            discussion: """
                memplan plans the decoding of one token — the checkpoint's parameters, a KV cache of every block's keys and values for the whole context, and one token's working set — into one arena, reads the checkpoint (llm.c's GPT-2 format, as `memplan train --save-checkpoint` writes it) into it, decodes the prompt and samples one byte after another, each decoded in turn. When the context is full its last half is decoded again from position 0.

                Then it measures: the arena's mapping from /proc/self/maps, and the KV cache's bytes per token from the kernel — its pages are given back before the first token and counted by mincore at two token counts — against 2 · layers · kv_heads · head size · 4 bytes; tokens per second; heap allocations per token.

                The profile's vocabulary must be byte-level (256): the prompt's bytes are its tokens and the sampled bytes are printed as UTF-8 (invalid sequences replaced). The checkpoint's header must match the profile (vocabulary, layers, heads, hidden, context).

                Examples:
                  memplan train profiles/bytes-gpt.yaml --save-checkpoint bytes-gpt.bin
                  memplan generate profiles/bytes-gpt.yaml --checkpoint-file bytes-gpt.bin --prompt "The "
                  memplan generate profiles/bytes-gpt.yaml --checkpoint-file bytes-gpt.bin --tokens 500 --temperature 0.6 --seed 7
                  memplan generate profiles/bytes-gpt.yaml --checkpoint-file bytes-gpt.bin --format json
                """)

        @Argument(help: "The transformer profile the checkpoint was trained from, e.g. profiles/bytes-gpt.yaml.")
        var profile: String

        @Option(
            name: .customLong("checkpoint-file"),
            help: ArgumentHelp(
                "An llm.c GPT-2 checkpoint of the profile's shape (memplan train --save-checkpoint).", valueName: "file"))
        var checkpointFile: String

        @Option(help: ArgumentHelp("Text to continue (its bytes are the first tokens); default: a newline.", valueName: "text"))
        var prompt: String = ""

        @Option(help: ArgumentHelp("Bytes to generate.", valueName: "n"), transform: CountArgument.parse)
        var tokens: CountArgument = CountArgument(value: 200)

        @Option(help: ArgumentHelp("Softmax temperature; 0 takes the most likely byte every time.", valueName: "τ"))
        var temperature: Double = 0.8

        @Option(
            help: ArgumentHelp("Seed of the sampler (default: the profile's).", valueName: "n"), transform: CountArgument.parse)
        var seed: CountArgument?

        @Option(help: ArgumentHelp("Where the arena's pages go.", valueName: "local|node:N|interleave"))
        var placement: String = "local"

        @Flag(help: "Allocate even when the arena is larger than the free memory where it must go.")
        var force = false

        @Option(help: formatHelp(GenerationReport.self))
        var format: ReportFormat = .table

        func validate() throws {
            _ = try format.checked(for: GenerationReport.self, command: "generate")
            guard Placement(placement) != nil else {
                throw ValidationError("--placement must be local, node:N (e.g. node:1) or interleave; got '\(placement)'")
            }
            guard (1...1_000_000).contains(tokens.value) else {
                throw ValidationError("--tokens must be between 1 and 1,000,000, got \(tokens.value)")
            }
            guard temperature.isFinite, temperature >= 0, temperature <= 100 else {
                throw ValidationError("--temperature must be between 0 and 100, got \(temperature)")
            }
        }

        func run() throws {
            guard case .transformer(let model) = try ModelFiles.loadProfile(profile) else {
                throw CLIFailure.badInput("\(profile) is not a transformer profile; generate decodes text with a transformer")
            }
            var options = GenerationOptions(checkpointPath: checkpointFile)
            options.prompt = Array(prompt.utf8)
            options.tokenCount = tokens.value
            options.temperature = temperature
            options.seed = seed.map { UInt64($0.value) } ?? model.seed
            options.placement = Placement(placement)!
            options.force = force
            options.allocationCounter = makeAllocationCounter()
            let result = try GenerationSession.run(model, options: options)
            let report = Adapters.generation(result, checkpoint: checkpointFile, temperature: temperature, seed: options.seed)
            print(report.render(format), terminator: "")
        }
    }
}

extension Adapters {
    /// The `memplan generate` document of a finished generation.
    static func generation(_ result: GenerationResult, checkpoint: String, temperature: Double, seed: UInt64)
        -> GenerationReport
    {
        let plan = result.plan
        let table = result.program.table
        var predicted = GenerationReport.Predicted()
        predicted.arenaBytes = plan.arenaByteCount
        predicted.arenaMappedBytes = plan.mappedByteCount(pageSize: result.pageSize)
        predicted.kvBytesPerToken = table.kvBytesPerToken
        predicted.kvCacheBytes = table.kvCacheByteCount
        predicted.bytes = GenerationReport.PredictedBytes(plan: plan)

        let kv = result.kvCache
        var actual = GenerationReport.Actual()
        actual.arenaBytes = result.arenaMappedBytes
        actual.kvBytesPerToken = kv?.bytesPerToken
        actual.kvMeasuredTokens = kv.map { [$0.firstTokens, $0.secondTokens] } ?? []
        actual.kvResidentBytes = kv.map { [$0.firstResidentBytes, $0.secondResidentBytes] } ?? []
        actual.kvResidentBytesReleased = kv?.releasedResidentBytes ?? 0
        actual.kvResidentBytesAtEnd = kv?.finalResidentBytes ?? 0
        actual.heapAllocationsPerToken = result.heapAllocationsPerToken
        actual.pageBytes = result.pageSize
        actual.numaAvailable = result.isNUMABacked

        var throughput = GenerationReport.Throughput()
        throughput.tokens = result.generated.count
        throughput.seconds = result.generationSeconds
        throughput.tokensPerSecond = result.tokensPerSecond
        throughput.windowSlides = result.windowSlides

        var run = GenerationReport.Run()
        run.profile = result.model.name
        run.checkpoint = checkpoint
        run.context = result.model.spec.contextLength
        run.temperature = temperature
        run.seed = seed
        run.placement = result.placement.description
        run.memplanVersion = Memplan.configuration.version
        run.date = ISO8601DateFormatter().string(from: Date())

        return GenerationReport(
            prompt: result.prompt, generated: result.generated, predicted: predicted, actual: actual, throughput: throughput,
            run: run, buffers: PlanReport.buffers(of: plan))
    }
}

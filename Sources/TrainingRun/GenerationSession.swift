// Generating text from a trained model, stage by stage as a training run: checkpoint header checked against the
// profile → decode program → plan (validated, page-aligned) → arena (measured) → parameters read into it → the KV
// cache's pages given back to the kernel → prompt and sampled tokens decoded → what the kernel says the cache took.

import ArenaPlanner
import Foundation
import MLPTrainer
import MemoryBudget
import ModelProfile
import NUMAArena

/// Why text cannot be generated from a model (the checkpoint's own errors are `GPT2CheckpointError` and
/// `CheckpointShapeError`).
public enum GenerationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Generation reads a prompt and writes text as bytes: the vocabulary must be byte-level (at most 256).
    case vocabularyNotBytes(model: String, vocabulary: Int)
    /// A byte of the prompt is not a token of the model.
    case promptOutsideVocabulary(byte: UInt8, vocabulary: Int)

    public var description: String {
        switch self {
        case .vocabularyNotBytes(let model, let vocabulary):
            "generate reads and writes bytes, one token each; \(model)'s vocabulary of \(vocabulary) is not byte-level (≤ 256)"
        case .promptOutsideVocabulary(let byte, let vocabulary):
            "the prompt's byte \(byte) is not a token of a vocabulary of \(vocabulary); use bytes below \(vocabulary)"
        }
    }
}

/// How to generate.
public struct GenerationOptions {
    /// An llm.c GPT-2 checkpoint of the profile's shape (`memplan train --save-checkpoint`).
    public var checkpointPath: String
    /// The prompt's bytes; empty: generation starts from a newline.
    public var prompt: [UInt8] = []
    /// Tokens to sample after the prompt.
    public var tokenCount = 200
    /// Softmax temperature; 0 takes the most likely token every time.
    public var temperature = 0.8
    public var seed: UInt64 = 42
    public var placement: Placement = .local
    /// Allocate even when the arena exceeds the free memory where it must go.
    public var force = false
    /// Counts heap allocations while tokens are sampled and decoded, when set.
    public var allocationCounter: AllocationCounter?

    public init(checkpointPath: String) { self.checkpointPath = checkpointPath }
}

/// The KV cache's resident bytes (`mincore`) at two token counts of the first window: its bytes per token, measured.
public struct KVCacheMeasurement: Sendable, Equatable {
    /// Resident bytes of the cache once its pages were given back, before the first token.
    public var releasedResidentBytes: Int
    public var firstTokens: Int
    public var firstResidentBytes: Int
    public var secondTokens: Int
    public var secondResidentBytes: Int
    /// Resident bytes of the cache when generation ended.
    public var finalResidentBytes: Int

    /// (second − first resident bytes) / (second − first tokens).
    public var bytesPerToken: Double {
        Double(secondResidentBytes - firstResidentBytes) / Double(max(1, secondTokens - firstTokens))
    }
}

/// What a generation predicted, measured and wrote.
public struct GenerationResult: Sendable {
    /// The profile's model, at fp32 (the checkpoint's precision).
    public var model: TransformerModel
    public var program: DecodeProgram
    public var plan: ArenaPlan
    /// The checkpoint's header.
    public var checkpoint: GPT2Config
    /// The prompt as given, and the sampled tokens (bytes).
    public var prompt: [UInt8]
    public var generated: [UInt8]
    /// The arena as the kernel maps it (/proc/self/maps), and the page size.
    public var arenaMappedBytes: Int
    public var pageSize: Int
    /// The cache's bytes per token by `mincore`; nil when the first window held too few tokens to fill two
    /// whole pages' worth.
    public var kvCache: KVCacheMeasurement?
    /// Sampling and decoding the generated tokens (measurements excluded), and its rate.
    public var generationSeconds: Double
    public var tokensPerSecond: Double
    /// Mean heap allocations per generated token, when counted.
    public var heapAllocationsPerToken: Double?
    /// Times the window was full and its last half was decoded again from position 0.
    public var windowSlides: Int
    public var placement: Placement
    public var isNUMABacked: Bool
}

/// Generates text from a checkpoint inside one planned arena.
public enum GenerationSession {
    /// Decodes the prompt, then samples `options.tokenCount` tokens, each decoded in turn. The window holds the
    /// context's maxT tokens; when it is full its last ⌊maxT/2⌋ tokens are decoded again from position 0.
    ///
    /// - Throws: `GenerationError`, `CheckpointShapeError` (the model's shape, or a header that disagrees with the
    ///   profile), `GPT2CheckpointError`, `NUMAError`, `RunError`, `BudgetError`/`PlanError`.
    public static func run(_ model: TransformerModel, options: GenerationOptions) throws -> GenerationResult {
        var model = model
        model.precision = .single
        let spec = model.spec
        guard spec.vocabularySize <= 256 else {
            throw GenerationError.vocabularyNotBytes(model: model.name, vocabulary: spec.vocabularySize)
        }
        if let byte = options.prompt.first(where: { Int($0) >= spec.vocabularySize }) {
            throw GenerationError.promptOutsideVocabulary(byte: byte, vocabulary: spec.vocabularySize)
        }
        _ = try GPT2Config(spec, model: model.name)
        let config = try GPT2Checkpoint.readConfig(from: options.checkpointPath)
        if let (field, found, expected) = config.firstDifference(from: spec) {
            throw CheckpointShapeError.mismatch(
                path: options.checkpointPath, field: field, checkpoint: found, profile: model.name, profileValue: expected)
        }
        let program = try DecodeProgram(model: model)
        let pageSize = ProcessMemory.pageSize
        let plan: ArenaPlan
        do {
            plan = try program.plan(alignment: pageSize)
        } catch {
            switch error {
            case .overlap, .outsideArena: throw RunError.invalidPlan(error.description)
            default: throw error
            }
        }
        let placed = try RunArena(plan, placement: options.placement, force: options.force)
        let (arena, mapped) = (placed.arena, placed.mappedByteCount)
        BLASInfo.setThreadCount(1)
        let engine = try DecodeEngine(program: program, plan: plan, arena: arena)
        try engine.loadGPT2Checkpoint(from: options.checkpointPath)

        // The cache's pages go back to the kernel; each comes back when the first token's row on it is written.
        let (kvOffset, kvBytes) = engine.kvCacheRegion
        arena.releasePages(offset: kvOffset, byteCount: kvBytes)
        let probe = KVProbe(
            arena: arena, offset: kvOffset, byteCount: kvBytes, bytesPerToken: program.kvBytesPerToken, pageSize: pageSize,
            counter: options.allocationCounter)
        let window = engine.contextLength
        var slides = 0
        func feed(_ token: Int32) {
            if engine.position == window {
                engine.slide(keep: max(1, window / 2))
                slides += 1
            }
            engine.decode(token)
            if slides == 0 { probe.sample(tokens: engine.position) }
        }
        let start = min(10, spec.vocabularySize - 1)  // a newline, when the prompt is empty
        for byte in options.prompt.isEmpty ? [UInt8(start)] : options.prompt { feed(Int32(byte)) }

        var generated: [UInt8] = []
        generated.reserveCapacity(options.tokenCount)
        var generator = SplitMix64(seed: options.seed)
        probe.startCounting()
        let started = DispatchTime.now().uptimeNanoseconds
        for index in 0..<options.tokenCount {
            let token = engine.sample(temperature: options.temperature, uniform: generator.nextUnit())
            generated.append(UInt8(token))
            if index + 1 < options.tokenCount { feed(token) }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 - probe.seconds
        let allocations = probe.stopCounting()
        let seconds = max(elapsed, 1e-9)
        return GenerationResult(
            model: model, program: program, plan: plan, checkpoint: config, prompt: options.prompt, generated: generated,
            arenaMappedBytes: mapped, pageSize: pageSize, kvCache: probe.measurement(), generationSeconds: seconds,
            tokensPerSecond: Double(options.tokenCount) / seconds,
            heapAllocationsPerToken: allocations.map { Double($0) / Double(max(1, options.tokenCount)) },
            windowSlides: slides, placement: options.placement, isNUMABacked: arena.isNUMABacked)
    }
}

/// Reads the KV cache's resident bytes at the token counts whose rows end on a page boundary (every
/// pageSize/gcd(pageSize, bytes per token) tokens), keeping the first and the last; its own time and heap
/// allocations are left out of the generation's.
final class KVProbe {
    let arena: Arena
    let offset, byteCount: Int
    /// Tokens between two samples: their rows fill a whole number of pages.
    let stride: Int
    let counter: AllocationCounter?
    let released: Int
    private var first, last: (tokens: Int, bytes: Int)?
    private(set) var seconds = 0.0
    private var counting = false
    private var allocations = 0

    init(arena: Arena, offset: Int, byteCount: Int, bytesPerToken: Int, pageSize: Int, counter: AllocationCounter?) {
        (self.arena, self.offset, self.byteCount, self.counter) = (arena, offset, byteCount, counter)
        var (a, b) = (pageSize, max(1, bytesPerToken))
        while b != 0 { (a, b) = (b, a % b) }
        stride = pageSize / a
        released = arena.residentByteCount(offset: offset, byteCount: byteCount) ?? 0
    }

    /// After a token: the cache holds `tokens` rows from position 0.
    func sample(tokens: Int) {
        guard tokens % stride == 0 else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        if counting, let counter { allocations += counter.stop() }
        if let bytes = arena.residentByteCount(offset: offset, byteCount: byteCount) {
            if first == nil { first = (tokens, bytes) } else { last = (tokens, bytes) }
        }
        if counting { counter?.start() }
        seconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    }

    func startCounting() {
        guard let counter else { return }
        counting = true
        counter.start()
    }

    /// The allocations counted since `startCounting`, or nil without a counter.
    func stopCounting() -> Int? {
        guard let counter, counting else { return nil }
        counting = false
        return allocations + counter.stop()
    }

    /// The first and last samples (the released cache at 0 tokens stands in for a missing first), or nil with fewer
    /// than two token counts.
    func measurement() -> KVCacheMeasurement? {
        let end = arena.residentByteCount(offset: offset, byteCount: byteCount) ?? 0
        let (a, b): ((tokens: Int, bytes: Int), (tokens: Int, bytes: Int))
        if let first, let last {
            (a, b) = (first, last)
        } else if let first {
            (a, b) = ((0, released), first)
        } else {
            return nil
        }
        return KVCacheMeasurement(
            releasedResidentBytes: released, firstTokens: a.tokens, firstResidentBytes: a.bytes, secondTokens: b.tokens,
            secondResidentBytes: b.bytes, finalResidentBytes: end)
    }
}

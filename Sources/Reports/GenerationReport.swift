// `memplan generate` output: the text, then the decode arena and KV cache predicted against what the kernel shows.

import ArenaPlanner
import Foundation

/// The `--format json` contract of `memplan generate` (stable; keys may be added):
///
///     {"prompt", "generated",
///      "predicted": {"arena_bytes", "arena_mapped_bytes", "kv_bytes_per_token", "kv_cache_bytes",
///                    "bytes": {"parameters", "kv_cache", "activations", "scratch", "inputs"}},
///      "actual": {"arena_bytes", "kv_bytes_per_token", "kv_measured_tokens": [t1, t2],
///                 "kv_resident_bytes": [r1, r2], "kv_resident_bytes_released", "kv_resident_bytes_at_end",
///                 "heap_allocations_per_token", "page_bytes", "numa_available"},
///      "throughput": {"tokens", "seconds", "tokens_per_second", "window_slides"},
///      "run": {"profile", "checkpoint", "context", "temperature", "seed", "placement", "memplan_version", "date"},
///      "buffers": [{"name", "bytes", "offset", "first", "last", "category"}]}
///
/// `prompt` and `generated` are the bytes decoded as UTF-8, invalid sequences replaced by U+FFFD. `actual.arena_bytes`
/// is the arena's mapping in /proc/self/maps. `actual.kv_bytes_per_token` is (r2 − r1)/(t2 − t1), where r is the KV
/// cache's resident bytes by `mincore` once its first t tokens were decoded (its pages were given back to the kernel
/// first, and every buffer starts on a page, so its pages are its own); null, with the arrays empty, when the first
/// window held too few tokens. `heap_allocations_per_token` is null when the binary has no allocation counter.
/// `buffers` is the decode plan (`first`, `last`: inclusive op indices of one token's ops).
///
/// Each part's fields start at zero (empty, false, null) and its `init()` takes nothing, so the CLI fills a part field by
/// field; decoding still requires every key but the `@Nullable` ones (a synthesized `Decodable` reads a `var` with an
/// initial value like any other).
public struct GenerationReport: Codable, Sendable, Equatable, ReportDocument {
    /// One buffer of the decode plan, as `memplan plan` reports a training step's.
    public typealias Buffer = PlanReport.Buffer

    public struct PredictedBytes: Codable, Sendable, Equatable {
        public var parameters = 0
        public var kvCache = 0
        public var activations = 0
        public var scratch = 0
        public var inputs = 0

        public init() {}

        /// Each field the bytes of the plan's buffers of its category (the keys are the categories' names).
        public init(plan: ArenaPlan) {
            parameters = plan.bytes(of: .parameters)
            kvCache = plan.bytes(of: .kvCache)
            activations = plan.bytes(of: .activations)
            scratch = plan.bytes(of: .scratch)
            inputs = plan.bytes(of: .inputs)
        }
    }

    public struct Predicted: Codable, Sendable, Equatable {
        public var arenaBytes = 0
        /// The arena rounded up to whole pages: what the kernel must map.
        public var arenaMappedBytes = 0
        /// 2 · L · NKV · HS · element bytes.
        public var kvBytesPerToken = 0
        public var kvCacheBytes = 0
        public var bytes = PredictedBytes()

        public init() {}
    }

    public struct Actual: Codable, Sendable, Equatable {
        public var arenaBytes = 0
        @Nullable public var kvBytesPerToken: Double? = nil
        public var kvMeasuredTokens: [Int] = []
        public var kvResidentBytes: [Int] = []
        public var kvResidentBytesReleased = 0
        public var kvResidentBytesAtEnd = 0
        @Nullable public var heapAllocationsPerToken: Double? = nil
        public var pageBytes = 0
        public var numaAvailable = false

        public init() {}
    }

    public struct Throughput: Codable, Sendable, Equatable {
        public var tokens = 0
        public var seconds = 0.0
        public var tokensPerSecond = 0.0
        public var windowSlides = 0

        public init() {}
    }

    public struct Run: Codable, Sendable, Equatable {
        public var profile = ""
        public var checkpoint = ""
        public var context = 0
        public var temperature = 0.0
        public var seed: UInt64 = 0
        public var placement = ""
        public var memplanVersion = ""
        public var date = ""

        public init() {}
    }

    public var prompt: String
    public var generated: String
    public var predicted: Predicted
    public var actual: Actual
    public var throughput: Throughput
    public var run: Run
    public var buffers: [Buffer]

    public init(
        prompt: [UInt8], generated: [UInt8], predicted: Predicted, actual: Actual, throughput: Throughput, run: Run,
        buffers: [Buffer]
    ) {
        self.prompt = String(decoding: prompt, as: UTF8.self)
        self.generated = String(decoding: generated, as: UTF8.self)
        self.predicted = predicted
        self.actual = actual
        self.throughput = throughput
        self.run = run
        self.buffers = buffers
    }

    public static let formats: [ReportFormat] = [.table, .json]

    /// Text as a terminal may show it: line breaks and tabs kept, every other control character (ESC, NUL, CR, C1)
    /// and line or paragraph separators as `\u{…}`, so sampled bytes cannot drive the terminal.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if scalar == "\n" || scalar == "\t"
                || (value >= 0x20 && value != 0x7F && !(0x80...0x9F).contains(value)
                    && value != 0x2028 && value != 0x2029 && !(0x202A...0x202E).contains(value))
            {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{" + String(value, radix: 16) + "}"
            }
        }
        return out
    }

    public var tableText: String {
        var out = "memplan generate — \(run.profile) from \(run.checkpoint): \(throughput.tokens) tokens, "
        out += "temperature \(TrainingRenderer.decimal(run.temperature)), seed \(run.seed), context \(run.context)\n\n"
        out += Self.printable(prompt + generated) + "\n\n"
        var table = TextTable(columns: [.left(""), .right("Predicted"), .right("Actual"), .left("How")])
        table.append([
            "arena bytes", ByteUnits.grouped(predicted.arenaMappedBytes), ByteUnits.grouped(actual.arenaBytes),
            "the arena's mapping in /proc/self/maps (plan \(ByteUnits.grouped(predicted.arenaBytes)) B, whole pages)",
        ])
        if let measured = actual.kvBytesPerToken, actual.kvMeasuredTokens.count == 2, actual.kvResidentBytes.count == 2 {
            let (t, r) = (actual.kvMeasuredTokens, actual.kvResidentBytes)
            table.append([
                "KV cache bytes per token", ByteUnits.grouped(predicted.kvBytesPerToken), TrainingRenderer.decimal(measured),
                "mincore: \(ByteUnits.grouped(r[0])) B resident after \(t[0]) token\(t[0] == 1 ? "" : "s"), "
                    + "\(ByteUnits.grouped(r[1])) B after \(t[1])",
            ])
        } else {
            table.append([
                "KV cache bytes per token", ByteUnits.grouped(predicted.kvBytesPerToken), "not measured",
                "the first window held too few tokens to fill two page boundaries",
            ])
        }
        table.append([
            "KV cache resident at the end", ByteUnits.grouped(predicted.kvCacheBytes),
            ByteUnits.grouped(actual.kvResidentBytesAtEnd),
            "mincore (\(ByteUnits.grouped(actual.kvResidentBytesReleased)) B once its pages were given back)",
        ])
        table.append([
            "heap allocations per token", "0",
            actual.heapAllocationsPerToken.map { TrainingRenderer.decimal($0) } ?? "not measured",
            "over \(throughput.tokens) sampled and decoded tokens",
        ])
        table.append([
            "tokens per second", "", String(Int(throughput.tokensPerSecond.rounded())),
            "\(TrainingRenderer.decimal(throughput.seconds)) s, one thread"
                + (throughput.windowSlides > 0
                    ? ", \(throughput.windowSlides) window slide\(throughput.windowSlides == 1 ? "" : "s")" : ""),
        ])
        out += table.renderText()
        let bytes = predicted.bytes
        out += "\nPlanned bytes: "
        out += ByteUnits.decimalList([
            ("parameters", bytes.parameters), ("KV cache", bytes.kvCache), ("activations", bytes.activations),
            ("scratch", bytes.scratch), ("tokens", bytes.inputs),
        ])
        out += "; arena \(ByteUnits.decimal(predicted.arenaBytes)) (every buffer on its own \(actual.pageBytes)-byte page)\n"
        return out
    }
}

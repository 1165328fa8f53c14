import Foundation
import TestSupport
import Testing

/// `mpirun -np N memplan train --strategy dp|zero1|zero2|zero3`, end to end (Open MPI from `scripts/ensure-deps.sh`). Allocation
/// counts and speed are checked on the release build by `scripts/check-ranks.sh`.
@Suite("memplan train over MPI ranks, end to end", .serialized)
struct RanksCLITests {
    func record(_ result: ProcessResult, at url: URL) throws -> [String: Any] {
        #expect(result.status == 0, "stderr: \(result.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    func trainLosses(_ record: [String: Any]) -> [Double] {
        ((record["metrics"] as? [String: Any])?["epochs"] as? [[String: Any]] ?? []).compactMap { $0["train_loss"] as? Double }
    }

    @Test(
        "ranks follow one process on the same global batch: every epoch's loss within 1e-9 relative at fp64",
        arguments: [(2, "dp", 8), (2, "zero1", 8), (2, "zero2", 8), (2, "zero3", 8), (3, "zero3", 8), (7, "zero2", 1)])
    func sameLossCurve(ranks: Int, strategy: String, batch: Int) throws {
        // 7 ranks × batch 1 over 1,800 samples: the last global batch has 1 row, so six ranks have none that step.
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let common = [
            "train", "profiles/perceptron-3-4-2.yaml", "--precision", "double", "--optimizer", "adam", "--epochs", "4",
            "--format",
            "json",
        ]
        let single = directory.appendingPathComponent("single.json")
        let one = try runMemplan(common + ["--batch", String(batch * ranks), "--record", single.path])
        let split = directory.appendingPathComponent("split.json")
        let many = try runMemplanRanks(
            ranks, common + ["--batch", String(batch), "--strategy", strategy, "--record", split.path])
        let (reference, measured) = (trainLosses(try record(one, at: single)), trainLosses(try record(many, at: split)))
        #expect(reference.count == 4 && measured.count == 4)
        for (a, b) in zip(reference, measured) { #expect(abs(a - b) <= 1e-9 * abs(a), "\(a) vs \(b)") }
        // Rank 0 alone writes the output: one JSON document on standard output.
        #expect(try JSONSerialization.jsonObject(with: Data(many.standardOutput.utf8)) is [String: Any])
    }

    @Test(
        "a small transformer over 2 ranks (dp, zero1, zero2, zero3) follows one process: train and validation loss within 1e-9 at fp64",
        arguments: [true, false])
    func transformerFollowsOneProcess(tied: Bool) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let profile = directory.appendingPathComponent("tiny-gpt.yaml")
        try """
        kind: transformer
        name: tiny-gpt
        vocabulary: 256
        context: 16
        layers: 2
        heads: 2
        hidden: 32
        norm: layer
        activation: gelu
        positions: learned
        tied_embeddings: \(tied)
        batch: 2
        sequence: 16
        optimizer: {kind: adamw, learning_rate: 1e-3, weight_decay: 0.0}
        epochs: 1
        data: {source: text, path: /usr/share/games/fortunes, validation: 0.05}
        """.write(to: profile, atomically: true, encoding: .utf8)
        func losses(_ result: ProcessResult) throws -> [Double] {
            #expect(result.status == 0, "stderr: \(result.standardError)")
            let document = try #require(
                try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
            let epochs = try #require((document["metrics"] as? [String: Any])?["epochs"] as? [[String: Any]])
            return epochs.flatMap { [$0["train_loss"] as? Double ?? .nan, $0["validation_loss"] as? Double ?? .nan] }
        }
        let common = ["train", profile.path, "--precision", "double", "--steps", "8", "--format", "json"]
        let reference = try losses(try runMemplan(common + ["--batch", "4"]))
        // Tied, wte's gradient is formed at both ends: zero2 and zero3 reduce the head's share after bwd logits and add
        // the embedding's after bwd embed; zero3 gathers wte for the logits.
        for strategy in ["dp", "zero1", "zero2", "zero3"] {
            let measured = try losses(try runMemplanRanks(2, common + ["--strategy", strategy]))
            #expect(reference.count == 2 && measured.count == 2)
            for (a, b) in zip(reference, measured) {
                #expect(abs(a - b) <= 1e-9 * abs(a), "\(strategy), tied \(tied): \(a) vs \(b)")
            }
        }
    }

    @Test("the merged record: sharding, and every rank's planned arena mapped exactly, on its planned node")
    func mergedRecord() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("run.json")
        let result = try runMemplanRanks(
            2,
            [
                "train", "--mlp", "64,256,10", "--optimizer", "adam", "--strategy", "zero1", "--format", "json", "--record",
                url.path,
            ])
        let document = try record(result, at: url)
        let sharding = try #require(document["sharding"] as? [String: Any])
        #expect(sharding["devices"] as? Int == 2)
        #expect(sharding["strategy"] as? String == "zero1")
        #expect(sharding["exchange_seconds_per_step"] is Double)
        let ranks = try #require(document["ranks"] as? [[String: Any]])
        #expect(ranks.map { $0["rank"] as? Int } == [0, 1])
        for rank in ranks {
            let predicted = try #require(rank["predicted"] as? [String: Any])
            let actual = try #require(rank["actual"] as? [String: Any])
            #expect(actual["arena_bytes"] as? Int == predicted["arena_mapped_bytes"] as? Int)
            #expect((actual["heap_allocations_per_step"] as? Double) != nil)
            let node = try #require(rank["node"] as? Int)
            let pages = try #require(actual["pages_by_node"] as? [String: Int])
            #expect(pages[String(node)] ?? 0 > 0, "rank \(rank["rank"] ?? "?"): no pages on its planned node \(node)")
        }
        #expect(result.standardError.isEmpty, "\(result.standardError)")
    }

    @Test("zero1 and zero3 rank arenas are smaller than dp's by what the plan shards, as the kernel maps them")
    func shardedArenasShrink() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var measured: [String: (predicted: Int, actual: Int, optimizer: Int)] = [:]
        for strategy in ["dp", "zero1", "zero3"] {
            let url = directory.appendingPathComponent("\(strategy).json")
            let result = try runMemplanRanks(
                2,
                [
                    "train", "--mlp", "64,512,10", "--optimizer", "adam", "--precision", "double", "--epochs", "1",
                    "--strategy", strategy, "--format", "json", "--record", url.path,
                ])
            let rank = try #require((try record(result, at: url)["ranks"] as? [[String: Any]])?.first)
            let predicted = try #require(rank["predicted"] as? [String: Any])
            measured[strategy] = (
                predicted["arena_bytes"] as? Int ?? 0, (rank["actual"] as? [String: Any])?["arena_bytes"] as? Int ?? 0,
                (predicted["bytes"] as? [String: Any])?["optimizer"] as? Int ?? 0
            )
        }
        let dp = try #require(measured["dp"])
        // Adam's two fp64 states of 64·512 + 512 + 512·10 + 10 parameters, halved by zero1 and zero3.
        #expect(dp.optimizer == 2 * 8 * 38_410)
        for strategy in ["zero1", "zero3"] {
            let sharded = try #require(measured[strategy])
            #expect(sharded.optimizer == dp.optimizer / 2, "\(strategy)")
            let planned = dp.predicted - sharded.predicted
            #expect(planned > 0, "\(strategy): planned \(sharded.predicted) against dp's \(dp.predicted)")
            // The kernel's mapping differs by the planned difference in whole pages.
            #expect(
                abs((dp.actual - sharded.actual) - planned) < 2 * 4096,
                "\(strategy): measured \(dp.actual - sharded.actual), planned \(planned)")
        }
        #expect(dp.predicted - measured["zero1"]!.predicted >= dp.optimizer / 2 - 4096)
    }

    @Test("bad splits are one line from rank 0 and exit 2; --devices without mpirun names the launcher")
    func badSplits() throws {
        let cases: [(ranks: Int, arguments: [String], says: String)] = [
            (2, ["--devices", "3"], "does not match the 2 ranks"),
            (2, ["--strategy", "tp"], "estimates only"),
            (3, ["--strategy", "zero1", "--mlp", "1,1", "--loss", "mse"], "use at most 2 ranks"),
        ]
        for (ranks, arguments, says) in cases {
            let profile = arguments.contains("--mlp") ? [] : ["profiles/smallest-perceptron.yaml"]
            let result = try runMemplanRanks(ranks, ["train"] + profile + arguments)
            #expect(result.status == 2, "\(arguments): status \(result.status), stderr \(result.standardError)")
            let lines = result.standardError.split(separator: "\n")
            #expect(lines.count == 1 && lines.first?.contains(says) == true, "\(arguments): \(result.standardError)")
            #expect(result.standardOutput.isEmpty)
        }
        let checkpoint = try runMemplanRanks(
            2, ["train", "profiles/bytes-gpt.yaml", "--strategy", "zero3", "--save-checkpoint", "/tmp/memplan-never.bin"])
        #expect(
            checkpoint.status == 2 && checkpoint.standardError.contains("1/2 of the parameters"), "\(checkpoint.standardError)")
        let alone = try runMemplan(["train", "profiles/smallest-perceptron.yaml", "--devices", "2"])
        #expect(alone.status == 2 && alone.standardError.contains("mpirun -np 2"), "\(alone.standardError)")
    }

    @Test(
        "a rank that dies mid-run: the others stop, one line says so, the job exits non-zero, no record is written",
        arguments: [2, 3])
    func rankDies(ranks: Int) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("run.json")
        let result = try runMemplanRanks(
            ranks, ["train", "--mlp", "64,256,10", "--epochs", "50", "--record", url.path, "--format", "json"],
            environment: ["MEMPLAN_TEST_RANK_DEATH": "1:20"], timeout: 120)
        #expect(!result.timedOut)
        #expect(result.status != 0)
        #expect(!FileManager.default.fileExists(atPath: url.path), "a record was written")
        let memplanLines = result.standardError.split(separator: "\n").filter { $0.hasPrefix("memplan:") }
        #expect(
            memplanLines.count == 1
                && (memplanLines[0].contains("stopped by a signal") || memplanLines[0].contains("failed (MPI error")),
            "\(result.standardError)")
    }
}

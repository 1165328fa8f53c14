import Foundation
import TestSupport
import Testing

let fashionInstalled = FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")

/// Whether this test run is a sanitizer pass (CI sets these for `swift test --sanitize=…`).
let underSanitizer =
    ProcessInfo.processInfo.environment["ASAN_OPTIONS"] != nil || ProcessInfo.processInfo.environment["TSAN_OPTIONS"] != nil

@Suite("memplan train, topology and select, end to end")
struct TrainCLITests {
    func json(_ result: ProcessResult) throws -> [String: Any] {
        #expect(result.status == 0, "stderr: \(result.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    }

    @Test("the train JSON contract, predicted against actual, in a process of its own", .enabled(if: fashionInstalled))
    func contract() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let recordPath = directory.appendingPathComponent("run.json").path
        let document = try json(
            try runMemplan([
                "train", "profiles/fashion-mnist-mlp.yaml", "--epochs", "1", "--format", "json", "--record", recordPath,
            ]))
        let predicted = try #require(document["predicted"] as? [String: Any])
        let actual = try #require(document["actual"] as? [String: Any])
        let metrics = try #require(document["metrics"] as? [String: Any])
        let throughput = try #require(document["throughput"] as? [String: Any])
        let arena = try #require(predicted["arena_bytes"] as? Int)
        // Measured from the kernel's mapping: the plan's bytes in whole pages, no more, no less.
        let page = try #require(actual["page_bytes"] as? Int)
        #expect(actual["arena_bytes"] as? Int == (arena + page - 1) / page * page)
        #expect(predicted["arena_mapped_bytes"] as? Int == actual["arena_bytes"] as? Int)
        let bytes = try #require(predicted["bytes"] as? [String: Any])
        for key in ["parameters", "gradients", "activations", "inputs", "optimizer", "total"] {
            #expect(bytes[key] is Int, "\(key)")
        }
        #expect(bytes["parameters"] as? Int == 940_584)
        let pages = try #require(actual["pages_by_node"] as? [String: Int])
        let planned = try #require(actual["planned_node"] as? Int)
        #expect(pages.count == 1 && pages["\(planned)"] != nil, "pages \(pages), planned node \(planned)")
        #expect(actual["pages_not_resident"] as? Int == 0)
        let resident = try #require(actual["resident_bytes"] as? Int)
        #expect(resident >= arena)
        let growth = try #require(actual["peak_rss_growth_bytes"] as? Int)
        // Sanitizer runtimes (shadow memory, quarantine) add their own resident memory.
        if !underSanitizer {
            #expect(growth <= arena + 8 << 20, "peak RSS growth \(growth) exceeds arena \(arena) + 8 MiB")
        }
        // A number, or null in a build without the HeapCounting trait (sanitizer and static builds).
        let allocations = actual["heap_allocations_per_step"]
        #expect(allocations is Double || allocations is Int || allocations is NSNull)
        let epochs = try #require(metrics["epochs"] as? [[String: Any]])
        #expect(epochs.count == 1)
        #expect(epochs[0]["train_loss"] is Double)
        #expect(epochs[0].keys.contains("validation_accuracy"))
        let accuracy = try #require(metrics["test_accuracy"] as? Double)
        #expect(accuracy > 0.75)
        // Fashion-MNIST's test set holds 1,000 images of each class: always guessing one class scores 10%.
        #expect(metrics["majority_baseline_accuracy"] as? Double == 0.1)
        #expect((throughput["samples_per_second"] as? Double ?? 0) > 0)
        // --record holds the same document.
        let recorded = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: recordPath))) as? [String: Any])
        #expect((recorded["predicted"] as? [String: Any])?["arena_bytes"] as? Int == arena)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["run.json"])
    }

    @Test("the table output shows epochs and the comparison")
    func table() throws {
        let result = try runMemplan(["train", "profiles/smallest-perceptron.yaml"])
        #expect(result.status == 0, "\(result.standardError)")
        for text in [
            "Epoch", "Train loss", "Predicted against actual", "in whole pages, as mapped", "heap allocations per step",
            "pages on node",
        ] {
            #expect(result.standardOutput.contains(text), "missing '\(text)'")
        }
        #expect(result.standardError.isEmpty, "no progress bar when not on a terminal: \(result.standardError)")
    }

    @Test(
        "bad input and missing resources: one line, the right exit status, no record left behind",
        arguments: [
            (["--placement", "node:7"], Int32(3), "NUMA node 7 does not exist"),
            (["--placement", "remote"], 2, "--placement must be local, node:N"),
            (["--data", "/nonexistent/fashion"], 2, "no such data file"),
            (["--data", "/tmp"], 2, "--data applies to fashion-mnist and csv"),
            (["--learning-rate", "1e30"], 2, "probably too large"),
            (["--epochs", "0"], 2, "--epochs must be at least 1"),
            (["--precision", "half"], 2, "estimates only"),
            (["--batch", "1e30"], 2, "larger than"),
        ])
    func badInput(extra: [String], status: Int32, message: String) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let record = directory.appendingPathComponent("run.json").path
        let profile =
            extra == ["--data", "/nonexistent/fashion"]
            ? "profiles/softmax-fashion.yaml" : "profiles/second-smallest-perceptron.yaml"
        let arguments = ["train", profile, "--record", record] + extra
        let result = try runMemplan(arguments)
        #expect(!result.wasSignalled)
        #expect(result.status == status, "\(extra): \(result.standardError)")
        #expect(result.standardError.contains(message), "\(extra): \(result.standardError)")
        #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty, "a record was left behind")
    }

    @Test("profiles that cannot be trained, and unwritable records, fail before training")
    func cannotTrain() throws {
        let bound = try runMemplan(["train", "profiles/quiz-300b.yaml"])
        #expect(bound.status == 2)
        #expect(bound.standardError.contains("bound profile"))
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let noData = directory.appendingPathComponent("nodata.yaml")
        try "input: 3\noutput: {units: 1}\nloss: l2\n".write(to: noData, atomically: true, encoding: .utf8)
        let missing = try runMemplan(["train", noData.path])
        #expect(missing.status == 2)
        #expect(missing.standardError.contains("names no data source"))
        let unwritable = try runMemplan(["train", "profiles/smallest-perceptron.yaml", "--record", "/nonexistent-dir/run.json"])
        #expect(unwritable.status == 2)
        #expect(unwritable.standardError.contains("does not exist"))
    }

    @Test("bf16-mixed: a dense network trains in its planned arena, the record names the recipe's kernels; others refused")
    func mixedPrecision() throws {
        let result = try runMemplan([
            "train", "--mlp", "24,48,6", "--loss", "softmax-ce", "--optimizer", "adam", "--precision", "bf16-mixed", "--epochs",
            "2", "--format", "json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let document = try json(result)
        let predicted = try #require(document["predicted"] as? [String: Any])
        let actual = try #require(document["actual"] as? [String: Any])
        let bytes = try #require(predicted["bytes"] as? [String: Any])
        // 24·48 + 48 + 48·6 + 6 = 1,494 parameters: bf16 copies 2 B, fp32 master 4 B, bf16 gradients 2 B, Adam 8 B.
        #expect(bytes["parameters"] as? Int == 2 * 1494 && bytes["master_parameters"] as? Int == 4 * 1494)
        #expect(bytes["gradients"] as? Int == 2 * 1494 && bytes["optimizer"] as? Int == 8 * 1494)
        #expect(predicted["arena_mapped_bytes"] as? Int == actual["arena_bytes"] as? Int)
        let kernels = (document["throughput"] as? [String: Any])?["gemm_kernels"] as? String
        #expect(kernels == "memplan-amx-bf16" || kernels == "memplan-bf16-fp32", "\(String(describing: kernels))")
        for (arguments, message) in [
            (["--mlp", "8,8,2", "--loss", "hinge"], "no bf16-mixed kernel"),
            (["--mlp", "8,8,2", "--activation", "step"], "no bf16-mixed kernel"),
        ] {
            let refused = try runMemplan(["train"] + arguments + ["--precision", "bf16-mixed"])
            #expect(refused.status == 2 && refused.standardError.contains(message), "\(arguments): \(refused.standardError)")
            #expect(refused.standardError.split(separator: "\n").count == 1, "\(refused.standardError)")
        }
    }

    @Test("bf16-mixed: a transformer trains in its planned arena with fp32 masters; the record names the kernels")
    func mixedTransformer() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let profile = directory.appendingPathComponent("t.yaml")
        try "kind: transformer\nname: tiny\nvocabulary: 64\ncontext: 16\nlayers: 1\nheads: 2\nhidden: 32\nbatch: 2\n"
            .appending("sequence: 16\noptimizer: {kind: adamw, learning_rate: 1e-3}\n")
            .write(to: profile, atomically: true, encoding: .utf8)
        let result = try runMemplan([
            "train", profile.path, "--precision", "bf16-mixed", "--data", "synthetic", "--steps", "3", "--format", "json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let document = try json(result)
        let predicted = try #require(document["predicted"] as? [String: Any])
        let actual = try #require(document["actual"] as? [String: Any])
        let bytes = try #require(predicted["bytes"] as? [String: Any])
        let parameters = try #require(bytes["parameters"] as? Int)
        #expect(bytes["master_parameters"] as? Int == 2 * parameters && bytes["gradients"] as? Int == parameters)
        #expect(bytes["optimizer"] as? Int == 4 * parameters)
        #expect(predicted["arena_mapped_bytes"] as? Int == actual["arena_bytes"] as? Int)
        let kernels = (document["throughput"] as? [String: Any])?["gemm_kernels"] as? String
        #expect(kernels == "memplan-amx-bf16" || kernels == "memplan-bf16-fp32", "\(String(describing: kernels))")
    }

    @Test("topology prints the nodes as JSON")
    func topology() throws {
        let document = try json(try runMemplan(["topology", "--format", "json"]))
        let nodes = try #require(document["nodes"] as? [[String: Any]])
        #expect(!nodes.isEmpty)
        for node in nodes {
            #expect(node["node"] is Int)
            #expect((node["cpus"] as? [Int])?.isEmpty == false)
            #expect((node["total_bytes"] as? Int ?? 0) > 0)
            #expect(node["free_bytes"] is Int)
        }
        #expect(document["numa_available"] is Bool)
        let table = try runMemplan(["topology"])
        #expect(table.standardOutput.contains("node 0 cpus:"))
        #expect(table.standardOutput.contains("node distances:"))
    }

    @Test("select reports every degree and the best one")
    func select() throws {
        let document = try json(
            try runMemplan([
                "select", "profiles/polynomial-9.yaml", "--degrees", "0,1,6", "--folds", "3", "--epochs", "500", "--format",
                "json",
            ]))
        let degrees = try #require(document["degrees"] as? [[String: Any]])
        #expect(degrees.map { $0["degree"] as? Int } == [0, 1, 6])
        for degree in degrees {
            for key in ["train_loss", "validation_loss", "validation_loss_std", "test_loss"] {
                #expect(degree[key] is Double, "\(key)")
            }
        }
        #expect(document["best_degree"] is Int)
        let bad = try runMemplan(["select", "profiles/polynomial-9.yaml", "--degrees", "5...2"])
        #expect(bad.status == 2)
    }
}

@Suite("Faults during training")
struct FaultTests {
    @Test("SIGINT stops after the current step and writes the record, marked partial, atomically")
    func interrupt() throws {
        let directory = try makeTemporaryDirectory("sigint")
        defer { try? FileManager.default.removeItem(at: directory) }
        let record = directory.appendingPathComponent("run.json")
        let process = Process()
        process.executableURL = memplanExecutable()
        process.arguments = [
            "train", "profiles/perceptron-3-4-2.yaml", "--epochs", "1000000", "--record", record.path, "--format", "json",
        ]
        process.currentDirectoryURL = packageRoot
        // stdout to a file, not a pipe: a full pipe would block the child writing its JSON.
        let outputPath = directory.appendingPathComponent("stdout.json")
        FileManager.default.createFile(atPath: outputPath.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputPath)
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 1.5)
        kill(process.processIdentifier, SIGINT)
        // If the signal were ignored the run would go on for hours: give up after a minute.
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try output.close()
        let data = try Data(contentsOf: outputPath)
        try FileManager.default.removeItem(at: outputPath)
        #expect(process.terminationReason == .exit, "killed by a signal instead of stopping cleanly")
        #expect(process.terminationStatus == 130)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: record)) as? [String: Any])
        let run = try #require(document["run"] as? [String: Any])
        #expect(run["partial"] as? Bool == true)
        let epochs = try #require((document["metrics"] as? [String: Any])?["epochs"] as? [Any])
        #expect(!epochs.isEmpty)
        #expect(epochs.count < 100_000)
        #expect(!data.isEmpty, "the JSON also went to stdout")
        // Only the record: no temporary file left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["run.json"])
    }
}

import Foundation
import TestSupport
import Testing

@Suite("Rough edges a new user met")
struct UsabilityCLITests {
    @Test(
        "train checks everything it can before printing its header",
        arguments: [
            ["--placement", "node:9"], ["--data", "/nonexistent/fashion"], ["--batch", "1e30"],
        ])
    func headerAfterChecks(_ extra: [String]) throws {
        let profile = extra.first == "--data" ? "profiles/softmax-fashion.yaml" : "profiles/second-smallest-perceptron.yaml"
        let result = try runMemplan(["train", profile] + extra)
        #expect(result.status != 0)
        #expect(result.standardOutput.isEmpty, "printed before failing: \(result.standardOutput)")
    }

    @Test("train takes --optimizer, and --mlp trains on synthetic data")
    func trainOptions() throws {
        let adam = try runMemplan([
            "train", "profiles/perceptron-3-4-2.yaml", "--optimizer", "adam", "--epochs", "2", "--format", "json",
        ])
        #expect(adam.status == 0, "\(adam.standardError)")
        let run = try #require(try jsonObject(adam.standardOutput)["run"] as? [String: Any])
        #expect(run["optimizer"] as? String == "adam")
        let mlp = try runMemplan(["train", "--mlp", "4,8,3", "--loss", "softmax-ce", "--epochs", "2", "--format", "json"])
        #expect(mlp.status == 0, "\(mlp.standardError)")
        let document = try jsonObject(mlp.standardOutput)
        #expect((document["run"] as? [String: Any])?["profile"] as? String == "mlp-4-8-3")
        #expect(((document["run"] as? [String: Any])?["data"] as? String)?.contains("synthetic") == true)
        #expect((document["metrics"] as? [String: Any])?["test_accuracy"] is Double)
        let both = try runMemplan(["train", "profiles/perceptron-3-4-2.yaml", "--mlp", "4,8,3"])
        #expect(both.status == 2)
    }

    @Test(
        "a negative number for a numeric option is judged as a number, not as a missing value",
        arguments: [
            (
                ["train", "profiles/smallest-perceptron.yaml", "--learning-rate", "-1"],
                "--learning-rate must be a positive number"
            ),
            (["train", "profiles/smallest-perceptron.yaml", "--epochs", "-3"], "--epochs"),
            (["estimate", "profiles/quiz-300b.yaml", "--batch", "-5"], "negative"),
            (["capacity", "profiles/quiz-300b.yaml", "--headroom", "-10%"], "--headroom"),
        ])
    func negativeNumbers(_ arguments: [String], message: String) throws {
        let result = try runMemplan(arguments)
        #expect(result.status == 2)
        #expect(result.standardError.contains(message), "\(result.standardError)")
        #expect(!result.standardError.contains("Missing value"), "\(result.standardError)")
    }

    @Test("counts accept 7B, 70b and 1.5M")
    func counts() throws {
        for (count, expected) in [("7B", 7_000_000_000), ("70b", 70_000_000_000), ("1.5M", 1_500_000)] {
            let result = try runMemplan(["estimate", "--parameters", count, "--sample-bytes", "1GB", "--format", "json"])
            #expect(result.status == 0, "\(count): \(result.standardError)")
            let counts = try #require(try jsonObject(result.standardOutput)["counts"] as? [String: Any])
            #expect(counts["parameters"] as? Int == expected, "\(count)")
        }
    }

    @Test("capacity says where its usable memory comes from, and offers the other source")
    func memorySource() throws {
        let free = try runMemplan(["capacity", "profiles/quiz-300b.yaml", "--format", "json"])
        #expect(free.status == 0, "\(free.standardError)")
        let machine = try #require(try jsonObject(free.standardOutput)["machine"] as? [String: Any])
        #expect(machine["memory_source"] as? String == "free")
        let available = try runMemplan(["capacity", "profiles/quiz-300b.yaml", "--memory", "available"])
        #expect(available.status == 0, "\(available.standardError)")
        #expect(available.standardOutput.contains("MemAvailable"), "\(available.standardOutput)")
        let table = try runMemplan(["capacity", "profiles/quiz-300b.yaml"])
        #expect(table.standardOutput.contains("MemFree"), "\(table.standardOutput)")
    }

    @Test("report and capacity --format html work in a directory without reports/ (they create it)")
    func reportsFolder() throws {
        let directory = try makeTemporaryDirectory("no-reports")
        defer { try? FileManager.default.removeItem(at: directory) }
        let capacity = try runMemplan(
            [
                "capacity", profilePath("quiz-300b"), "--machine",
                packageRoot.appendingPathComponent("profiles/machines/dgx-8x80g.yaml").path,
                "--format", "html",
            ], directory: directory)
        #expect(capacity.status == 0, "\(capacity.standardError)")
        let record = directory.appendingPathComponent("run.json").path
        #expect(try runMemplan(["train", profilePath("smallest-perceptron"), "--record", record]).status == 0)
        let report = try runMemplan(["report", "run.json"], directory: directory)
        #expect(report.status == 0, "\(report.standardError)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("reports").path).sorted()
        #expect(files == ["capacity-quiz-300b-dgx-8x80g.html", "run.html"])
    }

    @Test(
        "help: examples are whole commands on their lines, and the values listed are the values accepted",
        arguments: ["estimate", "plan", "train", "select", "capacity", "report", "topology"])
    func help(_ command: String) throws {
        let result = try runMemplan([command, "--help"], environment: ["COLUMNS": "80"])
        #expect(result.status == 0)
        var inExamples = false
        var continued = false
        for line in result.standardOutput.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasSuffix("Examples:") { inExamples = true; continue }
            guard inExamples else { continue }
            if line.isEmpty { break }
            #expect(line.count <= 80, "\(line)")
            #expect(
                continued || line.hasPrefix("  memplan ") || line.hasPrefix("  mpirun "),
                "an example wrapped mid-command: '\(line)'")
            continued = line.hasSuffix(" \\")
        }
        #expect(inExamples, "\(command) --help has examples")
        // Every value a --help lists for --precision and --format is accepted by the command.
        if command == "train" {
            #expect(!result.standardOutput.contains("half"), "train lists a precision it refuses")
        }
        if command == "estimate" || command == "plan" {
            #expect(!result.standardOutput.contains("softmax;"), "--activation lists softmax, refused for hidden layers")
        }
    }
}

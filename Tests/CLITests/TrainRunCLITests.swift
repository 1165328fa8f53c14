import Foundation
import TestSupport
import Testing

/// Writes `files` into a fresh directory and returns it.
func scratch(_ label: String, _ files: [String: String]) throws -> URL {
    let directory = try makeTemporaryDirectory(label)
    for (name, text) in files { try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
    return directory
}

func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Suite("Training runs: limits, baselines, losses and signals")
struct TrainRunCLITests {
    @Test(
        "under an address-space limit train stops with the reason instead of spinning in OpenBLAS",
        .enabled(if: !underSanitizer, "a sanitizer's shadow memory does not fit under ulimit -v"))
    func addressSpace() throws {
        let result = try runMemplan(
            ["train", "profiles/perceptron-3-4-2.yaml", "--epochs", "2"], timeout: 60, shellLimits: "ulimit -v 300000")
        #expect(!result.timedOut, "still spinning after 60 s")
        #expect(!result.wasSignalled)
        #expect(result.status == 3, "\(result.standardError.prefix(300))")
        #expect(result.standardError.contains("address-space limit"), "\(result.standardError.prefix(300))")
        #expect(result.standardError.split(separator: "\n").count == 1)
        #expect(!result.standardOutput.contains("Epoch"), "the header comes after the checks")
    }

    @Test("a batch larger than the training set is clamped with a warning; the record says the batch that ran")
    func batchLargerThanData() throws {
        let result = try runMemplan(["train", "profiles/smallest-perceptron.yaml", "--batch", "100000", "--format", "json"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("warning: batch 100,000 is larger than the"), "\(result.standardError)")
        let document = try jsonObject(result.standardOutput)
        let samples = try #require((document["metrics"] as? [String: Any])?["train_samples"] as? Int)
        #expect((document["run"] as? [String: Any])?["batch"] as? Int == samples)
        #expect(samples < 100_000)
        let capacity = try runMemplan([
            "capacity", "profiles/perceptron-3-4-2.yaml", "--machine", "profiles/machines/two-socket-512g.yaml",
        ])
        #expect(capacity.status == 0, "\(capacity.standardError)")
        #expect(capacity.standardOutput.contains("exceeds the dataset's"), "\(capacity.standardOutput)")
        let json = try runMemplan([
            "capacity", "profiles/perceptron-3-4-2.yaml", "--machine", "profiles/machines/two-socket-512g.yaml", "--format",
            "json",
        ])
        #expect(try jsonObject(json.standardOutput)["dataset_train_samples"] is Int)
    }

    @Test("a model that learns nothing is flagged against the majority-class baseline")
    func majorityBaseline() throws {
        // Constant features: every sample gets the same prediction, so no model beats always saying class 0.
        var rows = ""
        for index in 0..<40 { rows += index % 10 == 0 ? "0,0,0,1\n" : "0,0,1,0\n" }
        let directory = try scratch(
            "baseline",
            [
                "p.yaml":
                    "input: 2\noutput: {units: 2}\nloss: softmax-ce\nbatch: 4\nepochs: 2\n"
                    + "data: {source: csv, path: d.csv, targets: 2, test_fraction: 0.25}\n",
                "d.csv": rows,
            ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let record = directory.appendingPathComponent("r.json").path
        let result = try runMemplan(["train", directory.appendingPathComponent("p.yaml").path, "--record", record])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("does not beat the majority-class baseline"), "\(result.standardError)")
        #expect(result.standardOutput.contains("majority-class baseline"), "\(result.standardOutput)")
        let metrics = try #require(
            try jsonObject(String(contentsOfFile: record, encoding: .utf8))["metrics"] as? [String: Any])
        let baseline = try #require(metrics["majority_baseline_accuracy"] as? Double)
        let accuracy = try #require(metrics["test_accuracy"] as? Double)
        #expect(accuracy <= baseline)
        #expect(baseline >= 0.8)
        let report = try runMemplan(["report", record, "--format", "markdown", "--output", "-"])
        #expect(report.standardOutput.contains("majority-class baseline"), "\(report.standardOutput)")
    }

    @Test("a test loss that overflows is an error with a hint, and no record is written")
    func nonFiniteTestLoss() throws {
        let directory = try scratch(
            "inf-loss",
            [
                "p.yaml": "input: 2\noutput: {units: 1}\nloss: l2\nbatch: 3\nepochs: 1\ndata: {source: csv, path: d.csv}\n",
                "d.csv": "1,1,2\n2,1,3\n1,2,3\n2,2,4\n",
            ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let record = directory.appendingPathComponent("r.json").path
        let result = try runMemplan([
            "train", directory.appendingPathComponent("p.yaml").path, "--learning-rate", "1e30", "--record", record,
        ])
        #expect(result.status == 2, "\(result.standardError)")
        #expect(result.standardError.contains("test loss is infinite"), "\(result.standardError)")
        #expect(result.standardError.contains("--learning-rate"), "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: record))
    }

    @Test("a value finite as a double but past single precision is an error with a hint")
    func singlePrecisionOverflow() throws {
        let directory = try scratch(
            "fp32-overflow",
            [
                "p.yaml": "input: 2\noutput: {units: 1}\nloss: l2\nbatch: 2\ndata: {source: csv, path: d.csv}\n",
                "d.csv": "1,2,3\n4,5,6\n1e300,2,3\n3,4,5\n",
            ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try runMemplan(["train", directory.appendingPathComponent("p.yaml").path])
        #expect(result.status == 2)
        #expect(result.standardError.contains("d.csv:3: column 1 is a number too large for single precision"))
        #expect(result.standardError.contains("--precision double"))
    }

    @Test("report reads every record memplan writes, in every format")
    func reportReadsOwnRecords() throws {
        let directory = try makeTemporaryDirectory("own-records")
        defer { try? FileManager.default.removeItem(at: directory) }
        var profiles = ["smallest-perceptron", "second-smallest-perceptron", "perceptron-3-4-2", "polynomial-9"]
        if fashionInstalled { profiles += ["logistic", "multilabel", "softmax-fashion"] }
        for name in profiles {
            let record = directory.appendingPathComponent("\(name).json").path
            let train = try runMemplan(["train", profilePath(name), "--epochs", "1", "--record", record])
            #expect(train.status == 0, "\(name): \(train.standardError)")
            for format in ["markdown", "html", "table", "json"] {
                let report = try runMemplan(["report", record, "--format", format, "--output", "-"])
                #expect(report.status == 0, "\(name) as \(format): \(report.standardError)")
            }
        }
    }

    @Test(
        "SIGQUIT, SIGTERM and SIGHUP stop training like Ctrl-C: a partial record, exit 128 + the signal, no backtrace",
        arguments: [SIGQUIT, SIGTERM, SIGHUP])
    func signals(_ signal: Int32) throws {
        let directory = try makeTemporaryDirectory("signal")
        defer { try? FileManager.default.removeItem(at: directory) }
        let record = directory.appendingPathComponent("run.json")
        let process = Process()
        process.executableURL = memplanExecutable()
        process.arguments = ["train", "profiles/perceptron-3-4-2.yaml", "--epochs", "1000000", "--record", record.path]
        process.currentDirectoryURL = packageRoot
        let errorPath = directory.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: errorPath.path, contents: nil)
        let errors = try FileHandle(forWritingTo: errorPath)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        Thread.sleep(forTimeInterval: 1.5)
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try errors.close()
        let stderr = try String(contentsOf: errorPath, encoding: .utf8)
        #expect(process.terminationReason == .exit, "killed by the signal")
        #expect(process.terminationStatus == 128 + signal, "\(stderr.prefix(300))")
        #expect(!stderr.contains("Backtracing") && !stderr.contains("crashed"), "\(stderr.prefix(300))")
        let document = try jsonObject(String(contentsOf: record, encoding: .utf8))
        #expect((document["run"] as? [String: Any])?["partial"] as? Bool == true)
    }

    @Test("SIGQUIT stops select quietly too")
    func quitSelect() throws {
        let process = Process()
        process.executableURL = memplanExecutable()
        process.arguments = ["select", "profiles/polynomial-9.yaml", "--epochs", "1000000"]
        process.currentDirectoryURL = packageRoot
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        // Past start-up: before main() runs, SIGQUIT still goes to the Swift runtime's backtracer.
        Thread.sleep(forTimeInterval: 3)
        let pid = process.processIdentifier
        kill(pid, SIGQUIT)
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        watchdog.cancel()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 128 + SIGQUIT)
        #expect(!stderr.contains("Backtracing"), "\(stderr.prefix(300))")
    }
}

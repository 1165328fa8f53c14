// Helpers shared by the test targets: the package's own files, and running the built CLI.

import Foundation

/// The package root, found from this file's location (Sources/TestSupport/TestSupport.swift).
public let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The path of a shipped profile, e.g. `profilePath("fashion-mnist-mlp")`.
public func profilePath(_ name: String) -> String {
    packageRoot.appendingPathComponent("profiles").appendingPathComponent(name + ".yaml").path
}

/// Names of every shipped model profile (profiles/*.yaml), without extension.
public func shippedProfileNames() -> [String] {
    let directory = packageRoot.appendingPathComponent("profiles")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
}

/// A fresh empty directory under the system temporary directory.
public func makeTemporaryDirectory(_ label: String = "memplan-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// What a finished process printed and how it ended.
public struct ProcessResult: Sendable {
    public var status: Int32
    /// True when the process was killed by a signal (a crash or trap), not an exit.
    public var wasSignalled: Bool
    /// True when the process outlived its time limit and was killed (`wasSignalled` is then true too).
    public var timedOut = false
    public var standardOutput: String
    public var standardError: String
}

/// The built `memplan` executable next to the test bundle (.build/<config>/memplan).
public func memplanExecutable() -> URL {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    // The Linux test runner is .build/<config>/<package>PackageTests.xctest; on macOS the bundle's
    // executable sits deeper inside Contents/MacOS.
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("memplan").path),
        directory.pathComponents.count > 1
    {
        directory = directory.deletingLastPathComponent()
    }
    return directory.appendingPathComponent("memplan")
}

/// Runs the built `memplan` with `arguments` from `directory` (default: the package root) and waits for it, at most
/// `timeout` seconds: then it is killed and the result says `timedOut`. `shellLimits` (e.g. `ulimit -v 400000`) runs
/// it through `/bin/sh -c` with those limits set first.
public func runMemplan(
    _ arguments: [String], environment: [String: String]? = nil, input: Data? = nil, directory: URL? = nil,
    timeout: TimeInterval = 300, shellLimits: String? = nil, launcher: [String]? = nil
) throws -> ProcessResult {
    let process = Process()
    if let launcher {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = launcher + [memplanExecutable().path] + arguments
    } else if let shellLimits {
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", shellLimits + "; exec \"$0\" \"$@\"", memplanExecutable().path] + arguments
    } else {
        process.executableURL = memplanExecutable()
        process.arguments = arguments
    }
    process.currentDirectoryURL = directory ?? packageRoot
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    if let input {
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
    } else {
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }
    let pid = process.processIdentifier
    let timer = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
    // Read both pipes to the end before waiting, so a chatty child never blocks on a full pipe.
    let group = DispatchGroup()
    nonisolated(unsafe) var errorData = Data()
    group.enter()
    DispatchQueue.global().async {
        errorData = error.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    timer.cancel()
    let signalled = process.terminationReason == .uncaughtSignal
    return ProcessResult(
        status: process.terminationStatus, wasSignalled: signalled,
        timedOut: signalled && process.terminationStatus == SIGKILL,
        standardOutput: String(decoding: outputData, as: UTF8.self),
        standardError: String(decoding: errorData, as: UTF8.self))
}

/// Runs the built `memplan` as `ranks` processes under Open MPI's mpirun (quiet, oversubscribed, allowed as root), as
/// `runMemplan` does.
public func runMemplanRanks(
    _ ranks: Int, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil, timeout: TimeInterval = 300
) throws -> ProcessResult {
    let root = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]
    return try runMemplan(
        arguments, environment: root.merging(environment) { $1 }, directory: directory, timeout: timeout,
        launcher: ["mpirun", "-q", "--oversubscribe", "-np", String(ranks)])
}

/// Compares `text` with the committed snapshot `Tests/<target>/Snapshots/<name>` and returns nil when they are
/// equal, else a message naming the first differing line. With `MEMPLAN_RECORD_SNAPSHOTS=1` in the environment (or
/// no snapshot yet) it writes the snapshot instead and says so, so the new file can be reviewed and committed.
///
///     #expect(snapshotMismatch(EstimateReport(budget).render(.table), named: "estimate.txt", target: "ReportsTests") == nil)
public func snapshotMismatch(_ text: String, named name: String, target: String) -> String? {
    let directory = packageRoot.appendingPathComponent("Tests").appendingPathComponent(target).appendingPathComponent("Snapshots")
    let url = directory.appendingPathComponent(name)
    let recording = ProcessInfo.processInfo.environment["MEMPLAN_RECORD_SNAPSHOTS"] == "1"
    guard !recording, let expected = try? String(contentsOf: url, encoding: .utf8) else {
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try? text.write(to: url, atomically: true, encoding: .utf8)
        return "recorded the snapshot \(url.path); review it and run the tests again"
    }
    guard expected != text else { return nil }
    let old = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let new = text.split(separator: "\n", omittingEmptySubsequences: false)
    for index in 0..<max(old.count, new.count) {
        let was = index < old.count ? String(old[index]) : "<end>"
        let now = index < new.count ? String(new[index]) : "<end>"
        if was != now {
            return "\(name) line \(index + 1): expected \"\(was)\", rendered \"\(now)\" (MEMPLAN_RECORD_SNAPSHOTS=1 re-records)"
        }
    }
    return "\(name) differs"
}

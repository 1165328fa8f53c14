import Foundation
import TestSupport
import Testing

/// The smallest trainable profile, for runs from a scratch directory.
let tinyProfile = """
    name: tiny
    input: 2
    output: {units: 1}
    loss: l2
    batch: 4
    epochs: 2
    data: {source: synthetic, count: 40, test_count: 10}

    """

/// Whether this process may create device nodes (the device tests use a private copy of /dev/null, never the real
/// one, so a regression cannot break the machine).
let isRoot = getuid() == 0

/// A private character device with /dev/null's numbers, in `directory`.
func makeNullDevice(in directory: URL, name: String = "null") throws -> String {
    let path = directory.appendingPathComponent(name).path
    // makedev(1, 3) in glibc's encoding: major << 8 | minor for small numbers.
    guard mknod(path, S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 else { throw POSIXError(.EPERM) }
    return path
}

func fileKind(_ path: String) -> mode_t {
    var status = stat()
    return lstat(path, &status) == 0 ? status.st_mode & S_IFMT : 0
}

@Suite("Paths: one-character names, - for standard input and output")
struct PathCLITests {
    @Test("a one-character path works as a profile, a machine file, a record and an output")
    func oneCharacterPaths() throws {
        let directory = try makeTemporaryDirectory("one-char")
        defer { try? FileManager.default.removeItem(at: directory) }
        try tinyProfile.write(to: directory.appendingPathComponent("p"), atomically: true, encoding: .utf8)
        try "nodes: [{memory: 1GiB}]\n".write(to: directory.appendingPathComponent("m"), atomically: true, encoding: .utf8)
        for arguments in [
            ["estimate", "p"], ["plan", "p"], ["capacity", "p", "--machine", "m", "--format", "json", "--output", "o"],
            ["train", "p", "--record", "r"], ["report", "r", "--format", "markdown", "--output", "h"],
        ] {
            let result = try runMemplan(arguments, directory: directory)
            #expect(!result.wasSignalled, "\(arguments): killed by a signal: \(result.standardError.prefix(300))")
            #expect(result.status == 0, "\(arguments): \(result.standardError.prefix(300))")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["h", "m", "o", "p", "r"])
    }

    @Test("report's default output never replaces its input: reports/r.json rendered as json is refused, the file kept")
    func reportKeepsItsInput() throws {
        let directory = try makeTemporaryDirectory("report-input")
        defer { try? FileManager.default.removeItem(at: directory) }
        try tinyProfile.write(to: directory.appendingPathComponent("p"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("reports"), withIntermediateDirectories: true)
        #expect(try runMemplan(["train", "p", "--record", "reports/r.json"], directory: directory).status == 0)
        let before = try Data(contentsOf: directory.appendingPathComponent("reports/r.json"))
        let result = try runMemplan(["report", "reports/r.json", "--format", "json"], directory: directory)
        #expect(result.status == 2, "\(result.standardError.prefix(300))")
        #expect(result.standardError.contains("is the input itself; give --output"))
        #expect(try Data(contentsOf: directory.appendingPathComponent("reports/r.json")) == before)
        let explicit = try runMemplan(
            ["report", "reports/r.json", "--format", "json", "--output", "copy.json"], directory: directory)
        #expect(explicit.status == 0, "\(explicit.standardError.prefix(300))")
    }

    @Test("- is standard input for a profile and standard output for every --record and --output")
    func dash() throws {
        let directory = try makeTemporaryDirectory("dash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let estimate = try runMemplan(["estimate", "-", "--format", "json"], input: Data(tinyProfile.utf8), directory: directory)
        #expect(estimate.status == 0, "\(estimate.standardError)")
        #expect(estimate.standardOutput.contains("\"profile\" : \"tiny\""))
        try tinyProfile.write(to: directory.appendingPathComponent("p.yaml"), atomically: true, encoding: .utf8)
        let train = try runMemplan(["train", "p.yaml", "--record", "-", "--format", "table"], directory: directory)
        #expect(train.status == 0, "\(train.standardError)")
        #expect(train.standardOutput.contains("\"predicted\" : {"), "the record goes to standard output")
        let capacity = try runMemplan(
            ["capacity", "p.yaml", "--machine", "profiles/machines/laptop-16g.yaml", "--format", "html", "--output", "-"]
                .map { $0.hasPrefix("profiles/") ? packageRoot.appendingPathComponent($0).path : $0 }, directory: directory)
        #expect(capacity.status == 0, "\(capacity.standardError)")
        #expect(capacity.standardOutput.hasPrefix("<!DOCTYPE html>"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["p.yaml"], "nothing else written")
    }
}

@Suite("Special files: FIFOs, devices, symbolic links, directories")
struct SpecialFileCLITests {
    @Test("a FIFO as a profile, a data file or a machine file is refused at once, not waited on")
    func fifoInputs() throws {
        let directory = try makeTemporaryDirectory("fifo-in")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        try "input: 2\noutput: {units: 1}\nloss: l2\nbatch: 2\ndata: {source: csv, path: fifo}\n".write(
            to: directory.appendingPathComponent("csv.yaml"), atomically: true, encoding: .utf8)
        for arguments in [
            ["estimate", fifo], ["train", directory.appendingPathComponent("csv.yaml").path],
            ["capacity", profilePath("quiz-300b"), "--machine", fifo],
        ] {
            let result = try runMemplan(arguments, timeout: 60)
            #expect(!result.timedOut, "\(arguments): waited on the FIFO")
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains("FIFO"), "\(arguments): \(result.standardError)")
            #expect(fileKind(fifo) == S_IFIFO)
        }
    }

    @Test("a device as a data file is refused, not read forever")
    func deviceData() throws {
        let directory = try makeTemporaryDirectory("device-in")
        defer { try? FileManager.default.removeItem(at: directory) }
        try "input: 2\noutput: {units: 1}\nloss: l2\nbatch: 2\ndata: {source: csv, path: /dev/zero}\n".write(
            to: directory.appendingPathComponent("csv.yaml"), atomically: true, encoding: .utf8)
        let result = try runMemplan(["train", directory.appendingPathComponent("csv.yaml").path], timeout: 60)
        #expect(!result.timedOut)
        #expect(result.status == 2, "\(result.standardError)")
        #expect(result.standardError.contains("character device"), "\(result.standardError)")
    }

    @Test("a record written to a FIFO, a directory: refused before training, the file left as it was")
    func specialRecords() throws {
        let directory = try makeTemporaryDirectory("special-out")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let profile = profilePath("smallest-perceptron")
        let toFIFO = try runMemplan(["train", profile, "--record", fifo], timeout: 60)
        #expect(!toFIFO.timedOut)
        #expect(toFIFO.status == 2, "\(toFIFO.standardError)")
        #expect(toFIFO.standardError.contains("FIFO"), "\(toFIFO.standardError)")
        #expect(!toFIFO.standardOutput.contains("Epoch"), "refused before training")
        #expect(fileKind(fifo) == S_IFIFO)
        let toDirectory = try runMemplan(["capacity", profilePath("quiz-300b"), "--output", directory.path])
        #expect(toDirectory.status == 2)
        #expect(toDirectory.standardError.contains("is a directory"))
    }

    @Test("a record written to a null device or /dev/stdout is written through, the device kept", .enabled(if: isRoot))
    func devices() throws {
        let directory = try makeTemporaryDirectory("device-out")
        defer { try? FileManager.default.removeItem(at: directory) }
        let null = try makeNullDevice(in: directory)
        let profile = profilePath("smallest-perceptron")
        let result = try runMemplan(["train", profile, "--record", null])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(fileKind(null) == S_IFCHR, "the device was replaced")
        let report = try runMemplan(["capacity", profilePath("quiz-300b"), "--format", "json", "--output", null])
        #expect(report.status == 0, "\(report.standardError)")
        #expect(fileKind(null) == S_IFCHR, "the device was replaced")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["null"])
        let stdout = try runMemplan(["train", profile, "--record", "/dev/stdout", "--format", "table"])
        #expect(stdout.status == 0, "\(stdout.standardError)")
        #expect(stdout.standardOutput.contains("\"predicted\" : {"))
    }

    @Test("a symbolic link as the record updates the file it points to; the link stays")
    func symlinkRecord() throws {
        let directory = try makeTemporaryDirectory("symlink-out")
        defer { try? FileManager.default.removeItem(at: directory) }
        let real = directory.appendingPathComponent("real.json")
        try "old".write(to: real, atomically: true, encoding: .utf8)
        let link = directory.appendingPathComponent("link.json").path
        #expect(symlink("real.json", link) == 0)
        let dangling = directory.appendingPathComponent("dangling.json").path
        #expect(symlink("new.json", dangling) == 0)
        let profile = profilePath("smallest-perceptron")
        for path in [link, dangling] {
            let result = try runMemplan(["train", profile, "--record", path])
            #expect(result.status == 0, "\(result.standardError)")
            #expect(fileKind(path) == S_IFLNK, "the link was replaced")
        }
        #expect(try String(contentsOf: real, encoding: .utf8).contains("\"predicted\""))
        #expect(try String(contentsOf: directory.appendingPathComponent("new.json"), encoding: .utf8).contains("\"predicted\""))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
                == ["dangling.json", "link.json", "new.json", "real.json"])
    }
}

@Suite("Sizes: checked before reading")
struct SizeCLITests {
    @Test(
        "a 3 GB profile is refused from its size, without reading it (1.5 GB address space)",
        .enabled(if: !underSanitizer, "a sanitizer's shadow memory does not fit under ulimit -v"))
    func hugeProfile() throws {
        let directory = try makeTemporaryDirectory("huge-profile")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("huge.yaml").path
        FileManager.default.createFile(atPath: path, contents: nil)
        #expect(truncate(path, 3 << 30) == 0)
        let result = try runMemplan(["estimate", path], timeout: 60, shellLimits: "ulimit -v 1500000")
        #expect(!result.wasSignalled, "\(result.standardError.prefix(300))")
        #expect(result.status == 2, "\(result.standardError.prefix(300))")
        #expect(result.standardError.contains("too large"), "\(result.standardError.prefix(300))")
    }

    @Test("a CSV with a 1 GB line is refused at the line-length cap, quickly")
    func hugeLine() throws {
        let directory = try makeTemporaryDirectory("huge-line")
        defer { try? FileManager.default.removeItem(at: directory) }
        let csv = directory.appendingPathComponent("data.csv").path
        FileManager.default.createFile(atPath: csv, contents: nil)
        #expect(truncate(csv, 1 << 30) == 0)
        try "input: 2\noutput: {units: 1}\nloss: l2\nbatch: 2\ndata: {source: csv, path: data.csv}\n".write(
            to: directory.appendingPathComponent("p.yaml"), atomically: true, encoding: .utf8)
        let result = try runMemplan(["train", directory.appendingPathComponent("p.yaml").path], timeout: 60)
        #expect(!result.timedOut)
        #expect(result.status == 2, "\(result.standardError.prefix(300))")
        #expect(result.standardError.contains("longer than"), "\(result.standardError.prefix(300))")
    }
}

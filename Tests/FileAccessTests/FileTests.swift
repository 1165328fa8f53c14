import FileAccess
import Foundation
import TestSupport
import Testing

@Suite("Input and output files: regular files only, special files never waited on or replaced")
struct FileTests {
    @Test("input: a FIFO, a directory and a device are refused at open; a size over the limit before reading")
    func inputs() throws {
        let directory = try makeTemporaryDirectory("input-file")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(throws: InputFileError.notRegular(path: fifo, kind: "a FIFO (named pipe)")) { try InputFile.open(fifo) }
        #expect(throws: InputFileError.notRegular(path: directory.path, kind: "a directory")) {
            try InputFile.open(directory.path)
        }
        #expect(throws: InputFileError.notRegular(path: "/dev/zero", kind: "a character device")) {
            try InputFile.open("/dev/zero")
        }
        #expect(throws: InputFileError.missing(path: "/nonexistent/x")) { try InputFile.open("/nonexistent/x") }
        let file = directory.appendingPathComponent("f").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: file))
        #expect(try InputFile.open(file).readAll(limit: 5) == Array("hello".utf8))
        #expect(throws: InputFileError.tooLarge(path: file, byteCount: 5, limit: 4)) {
            try InputFile.open(file).readAll(limit: 4)
        }
        let opened = try InputFile.open(file)
        _ = try opened.readAll(limit: 10)
        try opened.rewind()
        #expect(try opened.readAll(limit: 10) == Array("hello".utf8))
    }

    @Test("output: - and descriptors, devices written through, FIFOs and directories refused, links followed")
    func targets() throws {
        let directory = try makeTemporaryDirectory("output-file")
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try OutputFile.target(for: "-") == .standardOutput)
        #expect(try OutputFile.target(for: "/dev/stdout") == .descriptor(1))
        #expect(try OutputFile.target(for: "/dev/null") == .device(path: "/dev/null"))
        let fifo = directory.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(throws: OutputFileError.self) { try OutputFile.target(for: fifo) }
        #expect(throws: OutputFileError.isDirectory(path: directory.path)) { try OutputFile.target(for: directory.path) }
        let missing = directory.appendingPathComponent("absent/x.json").path
        #expect(
            throws: OutputFileError.missingDirectory(path: missing, directory: directory.appendingPathComponent("absent").path)
        ) {
            try OutputFile.target(for: missing)
        }
        let link = directory.appendingPathComponent("link").path
        #expect(symlink("sub/../real.json", link) == 0)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("sub"), withIntermediateDirectories: false)
        let target = try OutputFile.target(for: link)
        #expect(target == .regularFile(path: directory.appendingPathComponent("sub/../real.json").path))
        try OutputFile.write("new\n", to: link)
        #expect(try String(contentsOfFile: directory.appendingPathComponent("real.json").path, encoding: .utf8) == "new\n")
        let loop = directory.appendingPathComponent("loop").path
        #expect(symlink("loop", loop) == 0)
        #expect(throws: OutputFileError.tooManyLinks(path: loop)) { try OutputFile.target(for: loop) }
    }

    @Test("an atomic write keeps the file's permissions and leaves no temporary file")
    func atomic() throws {
        let directory = try makeTemporaryDirectory("atomic-file")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("r.json").path
        try OutputFile.write("one\n", to: file)
        #expect(chmod(file, 0o600) == 0)
        try OutputFile.write("two\n", to: file)
        var status = stat()
        #expect(stat(file, &status) == 0 && status.st_mode & 0o777 == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["r.json"])
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "two\n")
    }
}

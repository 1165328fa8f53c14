import Foundation
import TestSupport
import Testing

@Suite("What memplan prints: text from files escaped, warnings, baselines, help")
struct OutputCLITests {
    @Test("a profile's name with escape sequences reaches the terminal escaped, in every command's table")
    func escapedNames() throws {
        let directory = try makeTemporaryDirectory("escaped-name")
        defer { try? FileManager.default.removeItem(at: directory) }
        let profile = directory.appendingPathComponent("p.yaml")
        try tinyProfile.replacingOccurrences(of: "name: tiny", with: "name: \"x\\e[2J\\e]0;title\\a\\u202Ey\"")
            .write(to: profile, atomically: true, encoding: .utf8)
        for command in ["estimate", "plan", "train"] {
            let result = try runMemplan([command, profile.path])
            #expect(result.status == 0, "\(command): \(result.standardError)")
            #expect(!result.standardOutput.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{7}" || $0 == "\u{202E}" })
            #expect(result.standardOutput.contains("x\\u{1b}[2J"), "\(command)")
        }
        let machine = directory.appendingPathComponent("m.yaml")
        try "name: \"m\\e[31m\"\nnodes: [{memory: 1GiB}]\n".write(to: machine, atomically: true, encoding: .utf8)
        let capacity = try runMemplan(["capacity", profile.path, "--machine", machine.path])
        #expect(capacity.status == 0, "\(capacity.standardError)")
        #expect(!capacity.standardOutput.contains("\u{1B}"))
    }
}

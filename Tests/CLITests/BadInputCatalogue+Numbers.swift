import Foundation
import TestSupport

/// A record or capacity result memplan wrote (the record fuzzer's seeds), with `change` applied to its JSON.
func seed(_ name: String, _ change: (inout [String: Any]) -> Void) -> [UInt8] {
    let url = packageRoot.appendingPathComponent("fuzz/corpus/record/\(name).json")
    guard let data = try? Data(contentsOf: url),
        var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    else { return [] }
    change(&object)
    return Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data())
}

/// `object[first][second] = value`.
func set(_ object: inout [String: Any], _ first: String, _ second: String, _ value: Any) {
    var inner = object[first] as? [String: Any] ?? [:]
    inner[second] = value
    object[first] = inner
}

private let hugeMachine = text("nodes: [{memory: 1000PB, count: 10}]\n")

/// Numbers read from files: range-checked where they are read, every conversion checked; text from files escaped.
let numberCatalogue: [BadInput] = [
    BadInput(
        name: "a machine whose nodes add up past 2⁶³ bytes", files: ["m.yaml": hugeMachine],
        arguments: ["capacity", "profiles/quiz-300b.yaml", "--machine", "$DIR/m.yaml"],
        message: ["m.yaml", "adds up to more than"]),
    BadInput(
        name: "a machine whose nodes add up past 2⁶³ bytes, as HTML", files: ["m.yaml": hugeMachine],
        arguments: ["capacity", "profiles/quiz-300b.yaml", "--machine", "$DIR/m.yaml", "--format", "html", "--output", "-"],
        message: ["adds up to more than"]),
    BadInput(
        name: "epochs: 1e18 in a profile", files: ["p.yaml": text(mlp + "epochs: 1e18\ndata: {source: synthetic, count: 10}\n")],
        arguments: ["train", "$DIR/p.yaml"], message: ["p.yaml:4", "epochs", "at most 1,000,000"]),
    BadInput(
        name: "a record whose arena is 2⁶³ − 1 bytes",
        files: ["r.json": seed("record-classes") { set(&$0, "predicted", "arena_bytes", Int.max) }],
        arguments: ["report", "$DIR/r.json", "--output", "-"], message: ["r.json", "predicted.arena_bytes"]),
    BadInput(
        name: "a record with a throughput of 1e308",
        files: ["r.json": seed("record-classes") { set(&$0, "throughput", "samples_per_second", 1e308) }],
        arguments: ["report", "$DIR/r.json", "--format", "markdown", "--output", "-"],
        message: ["r.json", "throughput.samples_per_second"]),
    BadInput(
        name: "a record with a number past 2⁶³",
        files: [
            "r.json": Array(
                String(decoding: seed("record-classes") { _ in }, as: UTF8.self)
                    .replacingOccurrences(of: "\"batch\":", with: "\"batch\":9223372036854775808,\"x\":").utf8)
        ],
        arguments: ["report", "$DIR/r.json", "--output", "-"], message: ["r.json", "batch"]),
    BadInput(
        name: "a capacity result whose nodes add up past 2⁶³ bytes",
        files: [
            "c.json": seed("capacity-exact") { object in
                var machine = object["machine"] as? [String: Any] ?? [:]
                machine["nodes"] = (0..<3).map { ["node": $0, "total_bytes": Int.max / 2, "free_bytes": Int.max / 2] }
                object["machine"] = machine
            }
        ],
        arguments: ["report", "$DIR/c.json", "--format", "html", "--output", "-"], message: ["c.json", "machine.nodes"]),
    BadInput(
        name: "escape sequences and line breaks in a message stay on one printable line",
        files: ["p.yaml": text(mlp + "\"bad\\e[2J\\nkey\": 1\n")], arguments: ["estimate", "$DIR/p.yaml"],
        message: ["unknown key 'bad\\u{1b}[2J\\u{a}key'"], forbidden: ["\u{1B}"]),
    BadInput(
        name: "a profile name with escape sequences in an error", files: ["p.yaml": text("name: \"\\e]0;owned\\a\"\n" + mlp)],
        arguments: ["train", "$DIR/p.yaml"], message: ["names no data source"], forbidden: ["\u{1B}", "\u{7}"]),
]

/// Nine levels of aliases used as mapping keys (499 bytes took 106 s to compose, ×9 per level).
private func aliasBomb(levels: Int) -> String {
    var lines = ["a0: &a0 {x: 1, y: 2}"]
    for level in 1...levels {
        lines.append(
            "a\(level): &a\(level) {" + (0..<9).map { "? [*a\(level - 1), \($0)] : \($0)" }.joined(separator: ", ") + "}")
    }
    return lines.joined(separator: "\n") + "\n" + mlp
}

let yamlCatalogue: [BadInput] = [
    BadInput(
        name: "the GEMM ceiling with buffers larger than the machine",
        arguments: ["ceiling", "--mlp", "100000000,100000000", "--batch", "100000000", "--steps", "1"], status: 3,
        message: ["ceiling", "bytes are available"]),
    BadInput(
        name: "YAML aliases as mapping keys, nine levels deep", files: ["p.yaml": text(aliasBomb(levels: 9))],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["p.yaml:", "aliases expand"]),
    BadInput(
        name: "YAML aliases in a machine file", files: ["m.yaml": text(aliasBomb(levels: 9))],
        arguments: ["capacity", "profiles/quiz-300b.yaml", "--machine", "$DIR/m.yaml"], message: ["m.yaml:", "aliases expand"]),
]

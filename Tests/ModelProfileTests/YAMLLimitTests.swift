import Foundation
import ModelProfile
import Testing

/// `levels` mappings, each keyed by `fanout` sequences holding an alias of the level below: the expanded tree has
/// about fanoutˡᵉᵛᵉˡˢ nodes, and composing it hashes every key (Yams checks keys for duplicates).
func aliasBomb(levels: Int, fanout: Int = 9) -> String {
    var lines = ["a0: &a0 {x: 1, y: 2}"]
    for level in 1...levels {
        let keys = (0..<fanout).map { "? [*a\(level - 1), \($0)] : \($0)" }.joined(separator: ", ")
        lines.append("a\(level): &a\(level) {\(keys)}")
    }
    return lines.joined(separator: "\n") + "\ninput: 1\noutput: {units: 1}\nloss: l2\n"
}

@Suite("YAML limits: the work a profile can cause is bounded")
struct YAMLLimitTests {
    func failure(_ text: String) -> ProfileError? {
        do {
            _ = try ProfileParser.parse(text, file: "p.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test("aliases that expand past the limit are refused before composing, naming the limit")
    func aliasExpansion() {
        let started = Date()
        let error = failure(aliasBomb(levels: 9))
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(error?.description.contains("aliases expand") == true, "\(error.map(String.init(describing:)) ?? "parsed")")
        #expect(error?.description.contains("1,000,000 nodes") == true)
        #expect(error?.location?.line != nil)
        let machine = Result { try MachineParser.parse(aliasBomb(levels: 9), file: "m.yaml") }
        #expect(throws: ProfileError.self) { try machine.get() }
    }

    @Test("ordinary anchors and aliases still work")
    func ordinaryAliases() throws {
        let text = """
            input: 4
            hidden: [&layer {units: 8, activation: tanh}, *layer, *layer]
            output: {units: 2}
            loss: softmax-ce
            """
        guard case .exact(let model) = try ProfileParser.parse(text) else {
            Issue.record("not an exact profile")
            return
        }
        #expect(model.layers.map(\.outputWidth) == [8, 8, 8, 2])
    }

    @Test("block nesting deeper than 64 is refused too")
    func blockDepth() {
        var text = ""
        for level in 0..<80 { text += String(repeating: " ", count: level) + "k\(level):\n" }
        text += String(repeating: " ", count: 80) + "*x\n"
        #expect(failure(text)?.description.contains("nested more than 64") == true)
    }
}

import Foundation
import TestSupport
import Testing

@Suite("memplan estimate --devices --strategy, end to end")
struct ShardingCLITests {
    func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try runMemplan(arguments)
        #expect(result.status == 0, "stderr: \(result.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    }

    @Test("the contract: devices, strategy and per_device's keys in bound mode, the paper's zero1 figure")
    func contract() throws {
        let document = try json([
            "estimate", "--parameters", "7.5e9", "--precision", "bf16-mixed", "--optimizer", "adam", "--devices", "64",
            "--strategy", "zero1", "--format", "json",
        ])
        #expect(document["devices"] as? Int == 64)
        #expect(document["strategy"] as? String == "zero1")
        let device = try #require(document["per_device"] as? [String: Any])
        for key in [
            "parameters", "master_parameters", "gradients", "optimizer", "activations", "inputs", "communication", "total",
        ] {
            #expect(device[key] is Int, "per_device.\(key)")
        }
        #expect(device["model_state"] as? Int == 31_406_250_000)
        let strategies = try #require(document["strategies"] as? [[String: Any]])
        #expect(strategies.map { $0["strategy"] as? String } == ["dp", "zero1", "zero2", "zero3"])
    }

    @Test("without --devices the keys are null, and one dp device totals what the estimate does")
    func absentAndOne() throws {
        let plain = try json(["estimate", "profiles/fashion-mnist-mlp.yaml", "--format", "json"])
        #expect(plain["per_device"] is NSNull)
        let one = try json(["estimate", "profiles/fashion-mnist-mlp.yaml", "--devices", "1", "--format", "json"])
        #expect((one["per_device"] as? [String: Any])?["total"] as? Int == (one["bytes"] as? [String: Any])?["total"] as? Int)
        #expect(one["strategy"] as? String == "dp")
    }

    @Test("splits memplan refuses: one line, exit 2")
    func refusals() throws {
        for (arguments, mentions) in [
            (["estimate", "profiles/fashion-mnist-mlp.yaml", "--strategy", "zero2"], "--strategy needs --devices"),
            (["estimate", "profiles/fashion-mnist-mlp.yaml", "--devices", "0"], "--devices must be"),
            (["estimate", "profiles/fashion-mnist-mlp.yaml", "--devices", "1e30"], "devices"),
            (["estimate", "profiles/fashion-mnist-mlp.yaml", "--devices", "2", "--strategy", "zero9"], "strategy"),
            (["estimate", "--mlp", "1,2", "--devices", "5", "--strategy", "zero3"], "at least one per device"),
            (["estimate", "profiles/fashion-mnist-mlp.yaml", "--devices", "2", "--strategy", "tp"], "not a transformer"),
            (["estimate", "profiles/bytes-gpt.yaml", "--devices", "3", "--strategy", "tp"], "heads"),
            (["estimate", "--parameters", "7.5e9"], "--sample-bytes"),
        ] {
            let result = try runMemplan(arguments)
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
            #expect(result.standardError.split(separator: "\n").count == 1, "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains(mentions), "\(arguments): \(result.standardError)")
        }
    }
}

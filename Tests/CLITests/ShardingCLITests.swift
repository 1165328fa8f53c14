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
            (["estimate", "profiles/fashion-mnist-mlp.yaml", "--devices", "1048576", "--batch", "9e12"], "global batch"),
        ] {
            let result = try runMemplan(arguments)
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
            #expect(result.standardError.split(separator: "\n").count == 1, "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains(mentions), "\(arguments): \(result.standardError)")
        }
    }
}

@Suite("memplan capacity: devices and machines by strategy, end to end")
struct ShardingCapacityCLITests {
    @Test("tensor parallelism takes whole heads: a count that splits the key-value heads is refused")
    func groupedQueryHeads() throws {
        let directory = try makeTemporaryDirectory()
        let profile = directory.appendingPathComponent("gqa.yaml")
        try """
        kind: transformer
        name: gqa
        vocabulary: 256
        context: 16
        layers: 1
        heads: 6
        kv_heads: 2
        hidden: 96
        batch: 2
        sequence: 16

        """.write(to: profile, atomically: true, encoding: .utf8)
        let two = try runMemplan(["estimate", profile.path, "--devices", "2", "--strategy", "tp", "--format", "json"])
        #expect(two.status == 0, "\(two.standardError)")
        // tp's devices share one batch: the global batch is the batch.
        let document = try #require(try JSONSerialization.jsonObject(with: Data(two.standardOutput.utf8)) as? [String: Any])
        #expect((document["per_device"] as? [String: Any])?["global_batch"] as? Int == 2)
        for count in ["3", "6"] {
            let refused = try runMemplan(["estimate", profile.path, "--devices", count, "--strategy", "tp"])
            #expect(refused.status == 2)
            #expect(refused.standardError.contains("key-value heads"), "\(refused.standardError)")
        }
    }

    @Test("one device in capacity is the estimate's one device (a fused SGD update stores no gradients)")
    func oneDeviceAgrees() throws {
        let capacity = try runMemplan([
            "capacity", "profiles/fashion-mnist-mlp.yaml", "--no-data", "--machine", "profiles/machines/dgx-8x80g.yaml",
            "--precision", "single", "--format", "json",
        ])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(capacity.standardOutput.utf8)) as? [String: Any])
        let dp = try #require(((document["results"] as? [[String: Any]])?.first?["devices"] as? [[String: Any]])?.first)
        #expect(dp["devices_needed"] as? Int == 1)
        let estimate = try runMemplan(["estimate", "profiles/fashion-mnist-mlp.yaml", "--devices", "1", "--format", "json"])
        let single = try #require(try JSONSerialization.jsonObject(with: Data(estimate.standardOutput.utf8)) as? [String: Any])
        #expect(dp["device_bytes"] as? Int == (single["per_device"] as? [String: Any])?["total"] as? Int)
    }

    @Test("a small transformer at bf16-mixed on 20 MB devices: the fewest devices per strategy, and one fewer does not fit")
    func fewestDevices() throws {
        let directory = try makeTemporaryDirectory()
        let machine = directory.appendingPathComponent("machine.yaml")
        try "kind: machine\nname: four-small\nnodes:\n  - {memory: 20MB, count: 4}\n".write(
            to: machine, atomically: true, encoding: .utf8)
        // 3.3 M parameters, 16 B each under bf16-mixed AdamW: 52.8 MB of model state, far over one 18 MB device.
        let profile = directory.appendingPathComponent("tiny.yaml")
        try """
        kind: transformer
        name: tiny-gpt
        vocabulary: 256
        context: 16
        layers: 2
        heads: 4
        hidden: 256
        batch: 2
        sequence: 16
        optimizer: {kind: adamw, learning_rate: 1e-3}

        """.write(to: profile, atomically: true, encoding: .utf8)
        let result = try runMemplan([
            "capacity", profile.path, "--machine", machine.path, "--precision", "bf16-mixed", "--format", "json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let first = try #require((document["results"] as? [[String: Any]])?.first)
        let usable = try #require(((first["usable_bytes"] as? [String: Any])?["per_node"] as? [String: Int])?["0"])
        let devices = try #require(first["devices"] as? [[String: Any]])
        #expect(devices.map { $0["strategy"] as? String } == ["dp", "zero1", "zero2", "zero3", "tp"])
        // dp keeps the whole model state on every device: it never fits.
        #expect(devices[0]["devices_needed"] is NSNull)
        var needed: [String: Int] = [:]
        for option in devices.dropFirst() {
            let strategy = try #require(option["strategy"] as? String)
            let count = try #require(option["devices_needed"] as? Int, "\(strategy)")
            needed[strategy] = count
            #expect(try #require(option["device_bytes"] as? Int) <= usable)
            #expect(option["machines_needed"] as? Int == (count + 3) / 4)
        }
        // Each stage shards more, so it needs no more devices than the one before.
        #expect(needed["zero3"]! <= needed["zero2"]!)
        #expect(needed["zero2"]! <= needed["zero1"]!)
        // One device fewer than zero3's answer is over the limit, by the estimate's own per-device total.
        let fewer = try runMemplan([
            "estimate", profile.path, "--precision", "bf16-mixed", "--devices", String(needed["zero3"]! - 1),
            "--strategy", "zero3", "--format", "json",
        ])
        let estimate = try #require(try JSONSerialization.jsonObject(with: Data(fewer.standardOutput.utf8)) as? [String: Any])
        #expect(((estimate["per_device"] as? [String: Any])?["total"] as? Int ?? 0) > usable)
    }
}

@Suite("memplan plan --devices --strategy, end to end")
struct ShardingPlanCLITests {
    @Test("one rank's plan: devices and sharding in the JSON, valid, communication buffers placed; tp is refused")
    func rankPlan() throws {
        let result = try runMemplan([
            "plan", "profiles/fashion-mnist-mlp.yaml", "--devices", "2", "--strategy", "zero3", "--validate", "--format", "json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(document["devices"] as? Int == 2)
        #expect(document["sharding"] as? String == "zero3")
        #expect((document["validation"] as? String)?.hasPrefix("valid") == true)
        let buffers = try #require(document["buffers"] as? [[String: Any]])
        #expect(buffers.contains { $0["name"] as? String == "gather buffer" && $0["category"] as? String == "communication" })
        let tp = try runMemplan(["plan", "profiles/bytes-gpt.yaml", "--devices", "2", "--strategy", "tp"])
        #expect(tp.status == 2)
        #expect(tp.standardError.contains("estimate-only"))
        #expect(tp.standardError.split(separator: "\n").count == 1)
    }
}

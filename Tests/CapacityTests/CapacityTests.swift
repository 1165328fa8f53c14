import ArenaPlanner
import Capacity
import MemoryBudget
import ModelProfile
import TestSupport
import Testing

@Suite("Capacity")
struct CapacityTests {
    static let fashionData = DataShape(trainCount: 60_000, testCount: 10_000)

    func machine(_ name: String) throws -> Machine {
        try MachineParser.load(path: packageRoot.appendingPathComponent("profiles/machines/\(name).yaml").path)
    }

    func fashionModel() throws -> Model {
        guard case .exact(let model) = try ProfileParser.load(path: profilePath("fashion-mnist-mlp")) else {
            throw ModelError.noLayers
        }
        return model
    }

    @Test(
        "the reported max batch B fits (arena ≤ the limit after headroom) and B + 1 does not, per node and per machine",
        arguments: ["two-socket-512g", "laptop-16g", "ci-2node-vm"])
    func maxBatchIsExact(machineName: String) throws {
        let target = try machine(machineName)
        let model = try fashionModel()
        let result = try CapacityAnalysis.analyze(
            .exact(model), machine: target, precisions: [.single, .double], headroom: 0.1, data: Self.fashionData)
        for capacity in result.results {
            let sizer = ArenaSizer(model: try model.with(precision: capacity.precision), data: Self.fashionData)
            var limits = [("machine", capacity.usableMachineBytes, capacity.maxBatchMachine)]
            for node in target.nodes {
                limits.append(("node \(node.id)", capacity.usableNodeBytes[node.id]!, capacity.maxBatchPerNode[node.id]!))
            }
            for (label, limit, batch) in limits {
                #expect(
                    limit
                        == Int(
                            Double(
                                label == "machine" ? target.freeBytes : target.nodes.first { "node \($0.id)" == label }!.freeBytes
                            ) * 0.9))
                #expect(batch >= 1, "\(machineName) \(capacity.precision) \(label)")
                #expect(
                    try sizer.arenaBytes(batch: batch) <= limit,
                    "\(machineName) \(capacity.precision) \(label): B = \(batch) does not fit")
                #expect(
                    try sizer.arenaBytes(batch: batch + 1) > limit,
                    "\(machineName) \(capacity.precision) \(label): B + 1 = \(batch + 1) fits too")
            }
            #expect(capacity.arenaBytesAtMaxBatch == (try sizer.arenaBytes(batch: capacity.maxBatchMachine)))
        }
        // Double precision halves what fits, roughly.
        #expect(result.results[1].maxBatchMachine < result.results[0].maxBatchMachine)
    }

    @Test("the largest model scale fits and the next step does not")
    func maxScale() throws {
        let model = try fashionModel()
        let target = try machine("laptop-16g")
        let result = try CapacityAnalysis.analyze(
            .exact(model), machine: target, precisions: [.single], headroom: 0.1, data: Self.fashionData)
        let capacity = try #require(result.results.first)
        let scale = try #require(capacity.maxScale)
        let sizer = ArenaSizer(model: model, data: Self.fashionData)
        #expect(try sizer.arenaBytes(model: try sizer.scaled(by: scale)) <= capacity.usableMachineBytes)
        #expect(try sizer.arenaBytes(model: try sizer.scaled(by: scale + 0.01)) > capacity.usableMachineBytes)
        #expect(capacity.scaledWidths?.first == 784)
        #expect(capacity.scaledWidths?.last == 10)
        #expect(result.scalingRule?.contains("hidden layer") == true)
    }

    @Test("the quiz on a machine: the lecture's four figures and how many machines they take")
    func quiz() throws {
        let profile = try ProfileParser.load(path: profilePath("quiz-300b"))
        let target = try machine("dgx-8x80g")
        let result = try CapacityAnalysis.analyze(
            profile, machine: target, precisions: [.single, .double], headroom: 0.1, data: nil)
        let usable = Int(Double(640_000_000_000) * 0.9)
        let answers = result.results.flatMap { capacity in
            capacity.lectureAnswers.map { (capacity.precision, $0.batch, $0.bytes, $0.machinesNeeded) }
        }
        let expected: [(Precision, Int, Int)] = [
            (.single, 1, 3_601_000_000_000), (.single, 1000, 1_203_400_000_000_000),
            (.double, 1, 7_201_000_000_000), (.double, 1000, 2_405_800_000_000_000),
        ]
        #expect(answers.count == 4)
        for (precision, batch, bytes) in expected {
            let answer = try #require(answers.first { $0.0 == precision && $0.1 == batch })
            #expect(answer.2 == bytes)
            #expect(answer.3 == (bytes + usable - 1) / usable)
        }
        #expect(result.results[0].maxBatchMachine == 0)
        let maxParameters = try #require(result.results[0].maxParameters)
        // P·4·3 + 1 GB ≤ usable at batch 1
        #expect(maxParameters == (usable - 1_000_000_000) / 12)
    }

    @Test("an exact profile that does not fit even at batch 1 is an error with the numbers")
    func doesNotFit() throws {
        let tiny = Machine(name: "tiny", source: "test", nodes: [MachineNode(id: 0, totalBytes: 1 << 20, freeBytes: 1 << 20)])
        do {
            _ = try CapacityAnalysis.analyze(
                .exact(try fashionModel()), machine: tiny, precisions: [.single], headroom: 0.1, data: Self.fashionData)
            Issue.record("a 225 MB arena fitted 1 MiB")
        } catch let error as CapacityError {
            guard case .doesNotFit(_, let needed, let usable, _, _) = error else { return }
            #expect(needed > 223_000_000)  // the dataset alone is 222,560,000 B at fp32
            #expect(usable == Int(Double(1 << 20) * 0.9))
            #expect(error.description.contains("even at batch 1"))
        }
    }

    @Test("the search finds the last value of a monotone predicate")
    func search() {
        for boundary in [0, 1, 2, 3, 7, 8, 1000, 123_456_789] {
            #expect(CapacitySearch.largest(upTo: 1 << 40) { $0 <= boundary } == boundary)
        }
        #expect(CapacitySearch.largest(upTo: 100) { _ in true } == 100)
        #expect(
            CapacitySearch.largest(upTo: 5) { n in
                if n > 3 { throw BudgetError.overflow(quantity: "n", context: "t") }; return true
            } == 3)
    }

    @Test("the measured search equals bisection on affine, quadratic, stepped and random monotone measures")
    func measuredSearch() {
        var generator = SplitMix64(seed: 17)
        var increments = (0..<5_000).map { _ in Int(generator.next() % 1_000) }
        increments[100] = 1_000_000  // a jump
        var prefix = [0]
        for increment in increments { prefix.append(prefix.last! + increment) }
        let measures: [(String, (Int) -> Int?)] = [
            ("affine", { 1_000 + 37 * $0 }), ("quadratic", { 5 + 3 * $0 * $0 }), ("stepped", { 1_000 * ($0 / 64) }),
            ("random", { $0 < prefix.count ? prefix[$0] : nil }), ("overflowing past 300", { $0 > 300 ? nil : $0 }),
        ]
        for (name, measure) in measures {
            for budget in [0, 1, 999, 1_000, 5_000, 40_000, 1_234_567, 3_000_000] {
                let expected = CapacitySearch.largest(upTo: 10_000) { (measure($0) ?? Int.max) <= budget }
                var probes = 0
                let found = CapacitySearch.largest(upTo: 10_000, budget: budget) { n in
                    probes += 1
                    return measure(n)
                }
                #expect(found == expected, "\(name), budget \(budget): \(found), bisection \(expected)")
                #expect(probes <= 40, "\(name), budget \(budget): \(probes) probes")
                if name == "affine" { #expect(probes <= 8, "affine, budget \(budget): \(probes) probes") }
            }
        }
    }

    @Test("a transformer's largest batch, context and depth fit their planned arena and one more does not, per mode and node")
    func transformerLimits() throws {
        let spec = TransformerSpec(vocabularySize: 64, contextLength: 32, layerCount: 3, headCount: 4, hiddenSize: 32)
        let model = try TransformerModel(name: "small", spec: spec, batchSize: 4, sequenceLength: 32)
        let machine = Machine(
            name: "two nodes", source: "test",
            nodes: [
                MachineNode(id: 0, totalBytes: 8 << 20, freeBytes: 3 << 20 / 2),
                MachineNode(id: 1, totalBytes: 8 << 20, freeBytes: 1 << 20),
            ])
        let result = try CapacityAnalysis.analyze(
            .transformer(model), machine: machine, precisions: [.single], headroom: 0, data: nil)
        let limits = try #require(result.results.first?.transformerLimits)
        #expect(limits.map(\.recompute) == Recompute.allCases)
        for limit in limits {
            var variant = model
            variant.recompute = limit.recompute
            let sizer = TransformerSizer(model: variant)
            let budgets = [(machine.freeBytes, limit.machine), (3 << 20 / 2, limit.perNode[0]!), (1 << 20, limit.perNode[1]!)]
            for (budget, found) in budgets {
                for dimension in TransformerDimension.allCases {
                    let value = try #require(found[dimension])
                    #expect(value > 0, "\(limit.recompute) \(dimension): nothing fits \(budget)")
                    #expect(try sizer.arenaBytes(model: try sizer.model(dimension, value)) <= budget)
                    let next = try? sizer.arenaBytes(model: try sizer.model(dimension, value + 1))
                    #expect((next ?? Int.max) > budget, "\(limit.recompute) \(dimension) \(value + 1) fits \(budget)")
                }
            }
        }
        // Recompute stretches every dimension at least as far as keeping everything.
        let kept = limits[0].machine
        for limit in limits.dropFirst() {
            for dimension in TransformerDimension.allCases { #expect(limit.machine[dimension]! >= kept[dimension]!) }
        }
    }
}

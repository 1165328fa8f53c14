// For each precision: the largest batch per node and per machine, the largest model scale,
// and for bound profiles the lecture's answer in machines.

import ArenaPlanner
import MemoryBudget
import ModelProfile

/// What fits at one precision.
public struct PrecisionCapacity: Sendable {
    public var precision: Precision
    /// Bytes a run may use after headroom: the whole machine, and each node.
    public var usableMachineBytes: Int
    public var usableNodeBytes: [Int: Int]
    /// Largest batch whose arena (exact) or bound (bound mode) fits; 0 if batch 1 does not.
    public var maxBatchMachine: Int
    public var maxBatchPerNode: [Int: Int]
    public var arenaBytesAtMaxBatch: Int?
    /// Bytes needed at the profile's own batch.
    public var bytesAtProfileBatch: Int?
    /// Machines like this one needed at the profile's batch (⌈bytes / usable machine bytes⌉).
    public var machinesNeeded: Int?
    /// Exact mode: the largest hidden-width multiplier k at the profile's batch (nil without hidden layers).
    public var maxScale: Double?
    public var scaledWidths: [Int]?
    public var scaledParameters: Int?
    /// Bound mode: the largest parameter count that fits at the profile's batch.
    public var maxParameters: Int?
    /// Bytes against batch size, for charts.
    public var curve: [(batch: Int, bytes: Int)]
    /// Bound mode: the lecture's answers at the profile's batch and at `lectureBatches`.
    public var lectureAnswers: [(batch: Int, bytes: Int, machinesNeeded: Int)]
    /// A transformer's largest batch, context and depth under each checkpoint mode; empty otherwise.
    public var transformerLimits: [TransformerLimits] = []
    /// The fewest devices (nodes of this machine) under each strategy, at the profile's batch per device.
    public var deviceAnswers: [DeviceAnswer] = []
}

/// How far a transformer stretches under one checkpoint mode: the largest batch, context (trained at full length) and
/// number of blocks whose planned arena fits, each with the other dimensions as the profile has them.
public struct TransformerLimits: Sendable {
    public var recompute: Recompute
    /// On the whole machine (all nodes' usable bytes), and on each node.
    public var machine: [TransformerDimension: Int]
    public var perNode: [Int: [TransformerDimension: Int]]

    /// Every mode × dimension, searched once per distinct usable size (the machine and its nodes often share one).
    static func search(_ model: TransformerModel, machineLimit: Int, nodeLimits: [Int: Int]) -> [TransformerLimits] {
        Recompute.allCases.map { mode in
            var variant = model
            variant.recompute = mode
            let sizer = TransformerSizer(model: variant)
            var cache: [Int: [TransformerDimension: Int]] = [:]
            func limits(_ bytes: Int) -> [TransformerDimension: Int] {
                if let known = cache[bytes] { return known }
                var found: [TransformerDimension: Int] = [:]
                for dimension in TransformerDimension.allCases { found[dimension] = sizer.largest(dimension, limit: bytes).value }
                cache[bytes] = found
                return found
            }
            return TransformerLimits(
                recompute: mode, machine: limits(machineLimit), perNode: nodeLimits.mapValues { limits($0) })
        }
    }
}

/// The capacity of a profile on a machine.
public struct CapacityResult: Sendable {
    public var machine: Machine
    public var profileName: String
    public var mode: BudgetMode
    public var profileBatch: Int
    /// Fraction of each node's memory kept free, e.g. 0.1.
    public var headroom: Double
    /// The dataset buffers counted in every arena (exact mode with a known data shape).
    public var data: DataShape?
    /// The dataset buffers' bytes at the first precision analysed.
    public var dataBytes: Int
    public var scalingRule: String?
    public var results: [PrecisionCapacity]
}

/// Why a capacity cannot be computed.
public enum CapacityError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not even batch 1 fits the whole machine at any requested precision.
    case doesNotFit(profile: String, neededBytes: Int, usableBytes: Int, precision: Precision, machine: String)

    public var description: String {
        switch self {
        case .doesNotFit(let profile, let needed, let usable, let precision, let machine):
            "\(profile) does not fit \(machine) even at batch 1: it needs \(grouped(needed)) bytes at \(precision.rawValue) precision, "
                + "and \(grouped(usable)) bytes are usable after headroom; use a larger machine (--machine FILE), less headroom, or a smaller model"
        }
    }
}

func grouped(_ value: Int) -> String { value.groupedDigits }

public enum CapacityAnalysis {
    /// Capacity of `profile` on `machine` at each precision.
    ///
    /// - Parameters:
    ///   - headroom: fraction of each node's free memory to leave unused, in [0, 1).
    ///   - data: the dataset's shape, counted in every exact arena (as `memplan train` allocates it).
    ///   - lectureBatches: extra batch sizes for bound profiles' answers (the quiz asks about 1,000).
    /// - Throws: `CapacityError.doesNotFit` when nothing fits at batch 1 at any precision.
    public static func analyze(
        _ profile: Profile, machine: Machine, precisions: [Precision], headroom: Double, data: DataShape?,
        lectureBatches: [Int] = [1000]
    ) throws -> CapacityResult {
        func usable(_ bytes: Int) -> Int {
            // Double(Int.max) is 2⁶³, one past Int's range: clamp instead of converting it.
            let value = (Double(bytes) * (1 - headroom)).rounded(.down)
            return value >= 9_223_372_036_854_775_807.0 ? .max : max(0, Int(value))
        }
        let nodeLimits = Dictionary(uniqueKeysWithValues: machine.nodes.map { ($0.id, usable($0.freeBytes)) })
        let machineLimit = usable(machine.freeBytes)
        var results: [PrecisionCapacity] = []
        var dataBytes = 0
        var scalingRule: String?
        for precision in precisions {
            var capacity = PrecisionCapacity(
                precision: precision, usableMachineBytes: machineLimit, usableNodeBytes: nodeLimits, maxBatchMachine: 0,
                maxBatchPerNode: [:], arenaBytesAtMaxBatch: nil, bytesAtProfileBatch: nil, machinesNeeded: nil, maxScale: nil,
                scaledWidths: nil, scaledParameters: nil, maxParameters: nil, curve: [], lectureAnswers: [])
            switch profile.with(precisionOrSelf: precision) {
            case .bound(let bound):
                capacity.maxBatchMachine = MemoryBudget.maximumBatch(bound, limit: machineLimit)
                capacity.maxBatchPerNode = perDistinctLimit(nodeLimits) { MemoryBudget.maximumBatch(bound, limit: $0) }
                if capacity.maxBatchMachine > 0 {
                    capacity.arenaBytesAtMaxBatch = try? MemoryBudget.estimate(bound.with(batchSize: capacity.maxBatchMachine))
                        .totalByteCount
                }
                capacity.bytesAtProfileBatch = try? MemoryBudget.estimate(bound).totalByteCount
                capacity.maxParameters = MemoryBudget.maximumParameters(bound, limit: machineLimit)
                capacity.machinesNeeded = capacity.bytesAtProfileBatch.map { machinesNeeded($0, usable: machineLimit) }
                for batch in [bound.batchSize] + lectureBatches
                where !capacity.lectureAnswers.contains(where: { $0.batch == batch }) {
                    if let bytes = try? MemoryBudget.estimate(bound.with(batchSize: batch)).totalByteCount {
                        capacity.lectureAnswers.append((batch, bytes, machinesNeeded(bytes, usable: machineLimit)))
                    }
                }
                capacity.curve = curvePoints(upTo: max(bound.batchSize, capacity.maxBatchMachine, lectureBatches.max() ?? 1))
                    .compactMap { batch in
                        (try? MemoryBudget.estimate(bound.with(batchSize: batch)).totalByteCount).map { (batch, $0) }
                    }
            case .exact(let model):
                let sizer = ArenaSizer(model: model, data: data)
                sizeBatches(
                    &capacity, sizer: sizer, profileBatch: model.batchSize, machineLimit: machineLimit, nodeLimits: nodeLimits)
                if let scale = sizer.maximumScale(limit: machineLimit) {
                    capacity.maxScale = scale
                    if let scaled = try? sizer.scaled(by: scale) {
                        capacity.scaledWidths = [scaled.inputWidth] + scaled.layers.map(\.outputWidth)
                        capacity.scaledParameters = try? MemoryBudget.estimate(scaled).parameterCount
                    }
                    scalingRule = "every hidden layer's width × k (rounded), input and output fixed, at the profile's batch"
                }
                if let data, dataBytes == 0 {
                    // Reported for the first precision listed.
                    dataBytes = try StepTable(model: model, data: data).bytes(of: .data)
                }
            case .transformer(let model):
                let sizer = TransformerSizer(model: model)
                sizeBatches(
                    &capacity, sizer: sizer, profileBatch: model.batchSize, machineLimit: machineLimit, nodeLimits: nodeLimits)
                if capacity.maxBatchMachine > 0 {
                    capacity.transformerLimits = TransformerLimits.search(
                        model, machineLimit: machineLimit, nodeLimits: nodeLimits)
                }
            }
            if let smallest = nodeLimits.values.min() {
                capacity.deviceAnswers = DeviceSearch.answers(
                    profile.with(precisionOrSelf: precision), deviceLimit: smallest, devicesPerMachine: machine.nodes.count)
            }
            results.append(capacity)
        }
        let isBound: Bool = if case .bound = profile { true } else { false }
        // A bound profile that fits no single machine is still an answer (so many machines); an
        // exact one that cannot run even at batch 1 here is an error with the numbers.
        if !isBound, !results.isEmpty, results.allSatisfy({ $0.maxBatchMachine == 0 }),
            let smallest = results.min(by: { ($0.bytesAtProfileBatch ?? .max) < ($1.bytesAtProfileBatch ?? .max) })
        {
            let needed: Int
            switch profile.with(precisionOrSelf: smallest.precision) {
            case .bound(let bound): needed = (try? MemoryBudget.estimate(bound.with(batchSize: 1)).totalByteCount) ?? Int.max
            case .exact(let model): needed = (try? ArenaSizer(model: model, data: data).arenaBytes(batch: 1)) ?? Int.max
            case .transformer(let model): needed = (try? TransformerSizer(model: model).arenaBytes(batch: 1)) ?? Int.max
            }
            throw CapacityError.doesNotFit(
                profile: profile.name, neededBytes: needed, usableBytes: machineLimit, precision: smallest.precision,
                machine: machine.name)
        }
        let mode: BudgetMode = if case .bound = profile { .bound } else { .exact }
        return CapacityResult(
            machine: machine, profileName: profile.name, mode: mode, profileBatch: profile.batchSize, headroom: headroom,
            data: mode == .exact ? data : nil, dataBytes: dataBytes, scalingRule: scalingRule, results: results)
    }

    /// An exactly sized model's batch answers: the largest batch whose planned arena fits the machine and each node,
    /// the arena at that batch and at the profile's, the machines the profile's batch needs, and the batch curve.
    static func sizeBatches(
        _ capacity: inout PrecisionCapacity, sizer: some BatchSizing, profileBatch: Int, machineLimit: Int,
        nodeLimits: [Int: Int]
    ) {
        let best = sizer.maximumBatch(limit: machineLimit)
        capacity.maxBatchMachine = best.batch
        capacity.arenaBytesAtMaxBatch = best.arenaBytes
        capacity.maxBatchPerNode = perDistinctLimit(nodeLimits) { sizer.maximumBatch(limit: $0).batch }
        capacity.bytesAtProfileBatch = try? sizer.arenaBytes(batch: profileBatch)
        capacity.machinesNeeded = capacity.bytesAtProfileBatch.map { machinesNeeded($0, usable: machineLimit) }
        capacity.curve = curvePoints(upTo: max(profileBatch, capacity.maxBatchMachine)).compactMap { batch in
            (try? sizer.arenaBytes(batch: batch)).map { (batch, $0) }
        }
    }

    /// `search` of each node's limit, run once per distinct limit: a machine of 4,096 identical nodes is one search.
    static func perDistinctLimit(_ limits: [Int: Int], _ search: (Int) -> Int) -> [Int: Int] {
        var answers: [Int: Int] = [:]
        return limits.mapValues { limit in
            if let known = answers[limit] { return known }
            let answer = search(limit)
            answers[limit] = answer
            return answer
        }
    }

    static func machinesNeeded(_ bytes: Int, usable: Int) -> Int {
        guard usable > 0 else { return Int.max }
        return bytes / usable + (bytes % usable == 0 ? 0 : 1)
    }

    /// Batch sizes 1, 2, 4, … up to a little beyond `top`, for a memory-against-batch chart.
    static func curvePoints(upTo top: Int) -> [Int] {
        var points: [Int] = []
        var batch = 1
        let end = top < Int.max / 4 ? max(2, top * 2) : top
        while batch <= end {
            points.append(batch)
            let (next, overflow) = batch.multipliedReportingOverflow(by: 2)
            if overflow { break }
            batch = next
        }
        if top > 0, !points.contains(top) { points.append(top) }
        return points.sorted()
    }
}

extension Profile {
    /// The profile at `precision` (validation cannot fail for a precision change).
    func with(precisionOrSelf precision: Precision) -> Profile {
        (try? with(precision: precision)) ?? self
    }
}

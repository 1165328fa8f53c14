// A training record of a run over ranks: the split, and each rank's predicted and measured memory side by side.

extension TrainingRecord {
    /// How the run was split: `{"devices", "strategy", "global_batch", "exchange_seconds_per_step"}` (rank 0's exchange).
    public struct Sharding: Codable, Sendable, Equatable {
        public var devices = 0
        public var strategy = ""
        public var globalBatch = 0
        /// Seconds per step rank 0 spent summing gradients over the ranks (and, for zero1, gathering updated chunks).
        public var exchangeSecondsPerStep = 0.0

        /// Zero fields, filled one by one, as the record's other parts (`TrainingRecord`).
        public init() {}
    }

    /// One rank: `{"rank", "node", "predicted", "actual", "exchange_seconds_per_step"}`, where predicted and actual are
    /// the rank's own (the same keys as the record's).
    public struct RankEntry: Codable, Sendable, Equatable {
        public var rank: Int
        /// The node the rank's arena was placed on (null for interleave).
        @Nullable public var node: Int?
        public var predicted: Predicted
        public var actual: Actual
        public var exchangeSecondsPerStep: Double

        public init(rank: Int, node: Int?, predicted: Predicted, actual: Actual, exchangeSecondsPerStep: Double) {
            self.rank = rank
            self.node = node
            self.predicted = predicted
            self.actual = actual
            self.exchangeSecondsPerStep = exchangeSecondsPerStep
        }
    }
}

extension TrainingRenderer {
    /// Every rank's planned and measured arena, pages by node, heap allocations per step and RSS growth; nil for one
    /// process.
    static func rankTable(_ record: TrainingRecord) -> TextTable? {
        guard let ranks = record.ranks, !ranks.isEmpty else { return nil }
        var table = TextTable(columns: [
            .right("Rank"), .right("Node"), .right("Planned arena"), .right("Measured arena"), .left("Pages by node"),
            .right("Heap allocs/step"), .right("Training RSS growth"), .right("Exchange s/step"),
        ])
        for entry in ranks {
            let pages = entry.actual.pagesByNode.nodeKeys
                .map { "\($0): \(ByteUnits.grouped(entry.actual.pagesByNode[$0] ?? 0))" }.joined(separator: ", ")
            table.append([
                String(entry.rank), entry.node.map(String.init) ?? "–",
                ByteUnits.grouped(entry.predicted.arenaMappedBytes ?? entry.predicted.arenaBytes),
                ByteUnits.grouped(entry.actual.arenaBytes), pages,
                entry.actual.heapAllocationsPerStep.map { decimal($0) } ?? "not measured",
                entry.actual.trainingRSSGrowthBytes.map { ByteUnits.grouped($0) } ?? "–",
                String(format: "%.4f", entry.exchangeSecondsPerStep),
            ])
        }
        return table
    }

    /// "Split over 2 ranks (zero1, global batch 256)", for the summaries.
    static func shardingLine(_ record: TrainingRecord) -> String? {
        guard let sharding = record.sharding else { return nil }
        return "Split over \(sharding.devices) ranks (\(Markup.terminal(sharding.strategy)), global batch "
            + "\(ByteUnits.grouped(sharding.globalBatch)); exchange \(String(format: "%.4f", sharding.exchangeSecondsPerStep)) s per step on rank 0)"
    }
}

// `memplan capacity`'s answer per strategy: how many devices and machines, each device holding its share.

import Capacity

extension CapacityReport {
    /// The fewest devices under one strategy (new key `devices` of each result): `devices_needed` and
    /// `machines_needed` are null when no count fits (ZeRO does not shard activations).
    public struct DeviceOption: Codable, Sendable, Equatable {
        public var strategy: String
        @Nullable public var devicesNeeded: Int?
        @Nullable public var machinesNeeded: Int?
        /// One device's bytes and model state at `devices_needed`.
        @Nullable public var deviceBytes: Int?
        @Nullable public var modelStateBytes: Int?

        init(_ answer: DeviceAnswer) {
            strategy = answer.strategy.rawValue
            devicesNeeded = answer.devicesNeeded
            machinesNeeded = answer.machinesNeeded
            deviceBytes = answer.deviceBytes
            modelStateBytes = answer.modelStateBytes
        }
    }
}

extension CapacityRenderer {
    /// Per precision and strategy: devices and machines needed; nil when every strategy fits one device (the JSON
    /// still carries the answers).
    static func devicesTable(_ report: CapacityReport) -> TextTable? {
        guard report.results.contains(where: { ($0.devices ?? []).contains { $0.devicesNeeded != 1 } }) else { return nil }
        var table = TextTable(columns: [
            .left("Precision"), .left("Strategy"), .right("Devices"), .right("Machines"), .right("Per device"),
            .right("Model state"),
        ])
        for result in report.results {
            for option in result.devices ?? [] {
                table.append([
                    result.precision, option.strategy, option.devicesNeeded.map(ByteUnits.grouped) ?? "none fits",
                    option.machinesNeeded.map(ByteUnits.grouped) ?? "–", option.deviceBytes.map(ByteUnits.decimal) ?? "–",
                    option.modelStateBytes.map(ByteUnits.decimal) ?? "–",
                ])
            }
        }
        return table
    }

    static let devicesNote =
        "Devices by strategy: the fewest devices, each the size of this machine's smallest node after headroom, that hold "
        + "one device's share of the step at the profile's batch per device (`memplan estimate --devices N --strategy S`: "
        + "every tensor of that share, no reuse, with the exchange's buffers); dp keeps the whole model state on every "
        + "device, zero1–3 shard optimizer state, then gradients, then parameters; tp (transformers) splits matrices and "
        + "block activations. Machines (pooled) is the lecture's method: the bytes over one machine's memory, as if one "
        + "arena spanned every node."

    /// The sentence for a result that fits no single node: the fewest devices that do, by strategy.
    static func shardingSentence(_ result: CapacityReport.Result, escape: (String) -> String) -> String {
        let fitting = (result.devices ?? []).compactMap { option in
            option.devicesNeeded.map { (option.strategy, $0, option.machinesNeeded ?? 0) }
        }
        guard let best = fitting.min(by: { $0.1 < $1.1 }) else {
            return "\(escape(result.precision)): it does not fit one node (one device) even at batch 1, and no split memplan "
                + "plans fits either: what no strategy shards — a device's own activations and inputs, and the exchange's "
                + "largest-layer buffers — exceeds one device (a smaller batch in the profile, a transformer's checkpoint "
                + "mode or larger devices)"
        }
        return "\(escape(result.precision)): it does not fit one node (one device) even at batch 1; the machine's figure "
            + "is one arena spread over every node, which training does not do. Sharded: \(best.0) on "
            + "\(ByteUnits.grouped(best.1)) device\(best.1 == 1 ? "" : "s") (\(ByteUnits.grouped(best.2)) machine"
            + "\(best.2 == 1 ? "" : "s")) — see Devices by strategy"
    }
}

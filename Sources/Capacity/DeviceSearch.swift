// How many devices (nodes of a machine) a profile needs under each way of splitting training.

import MemoryBudget
import ModelProfile

/// The fewest devices, each as large as the machine's smallest node after headroom, that hold one device's share of
/// the step (`DeviceBudget.totalByteCount`: every tensor of the device's step with no reuse, the profile's batch per
/// device) under one strategy.
public struct DeviceAnswer: Sendable, Hashable {
    public var strategy: ShardingStrategy
    /// nil when no count up to `DeviceBudget.maximumDeviceCount` fits (activations are not sharded by ZeRO: a batch
    /// whose activations alone exceed a device never fits).
    public var devicesNeeded: Int?
    /// ⌈devices / nodes per machine⌉.
    public var machinesNeeded: Int?
    /// One device's bytes and model state at `devicesNeeded`.
    public var deviceBytes: Int?
    public var modelStateBytes: Int?
}

enum DeviceSearch {
    /// Each strategy that applies to `profile`, searched against `deviceLimit` usable bytes per device.
    static func answers(_ profile: Profile, deviceLimit: Int, devicesPerMachine: Int) -> [DeviceAnswer] {
        // One device fuses the update where the optimizer can, as `estimate` does; several exchange gradients, so they
        // store them.
        guard let single = try? MemoryBudget.estimate(profile),
            let budget = try? MemoryBudget.estimate(profile, options: StepOptions(fusesUpdate: false))
        else { return [] }
        return ShardingStrategy.allCases.compactMap { strategy in
            if strategy == .tp && budget.transformer == nil { return nil }
            func device(_ count: Int) -> DeviceBudget? {
                try? DeviceBudget(count == 1 ? single : budget, strategy: strategy, deviceCount: count)
            }
            func fits(_ count: Int) -> Bool { device(count).map { $0.totalByteCount <= deviceLimit } ?? false }
            var found: Int?
            switch strategy {
            case .dp:
                // Every device holds the whole model state: more of them never lowers one device's share below N = 1's.
                found = fits(1) ? 1 : nil
            case .tp:
                let heads = budget.transformer?.spec.headCount ?? 1
                found = (1...heads).first { heads % $0 == 0 && fits($0) }
            case .zero1, .zero2, .zero3:
                // One device has no exchange buffers; from two on, a device's share falls as the count grows.
                let top = min(DeviceBudget.maximumDeviceCount, max(1, budget.parameterCount))
                if fits(1) {
                    found = 1
                } else if top >= 2, fits(top) {
                    var (low, high) = (2, top)
                    while low < high {
                        let middle = low + (high - low) / 2
                        if fits(middle) { high = middle } else { low = middle + 1 }
                    }
                    found = low
                }
            }
            let chosen = found.flatMap(device)
            return DeviceAnswer(
                strategy: strategy, devicesNeeded: found,
                machinesNeeded: found.map { ($0 + devicesPerMachine - 1) / max(1, devicesPerMachine) },
                deviceBytes: chosen?.totalByteCount, modelStateBytes: chosen?.modelStateByteCount)
        }
    }
}

// `--devices N --strategy dp|zero1|zero2|zero3|tp`: one device's share of the step, for estimate and capacity.

import ArgumentParser
import MemoryBudget
import MPIRanks
import ModelProfile

extension ShardingStrategy: ExpressibleByArgument {}

/// How the step is split over devices. The profile's batch is each device's micro-batch (global batch = N × batch).
struct ShardingOptions: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Devices the step is split over; the profile's batch is each device's (global batch = devices × batch). "
                + "Alone it means --strategy dp.", valueName: "n"),
        transform: CountArgument.parse)
    var devices: CountArgument?

    @Option(
        help: ArgumentHelp(
            "With --devices: dp (every device holds the whole model state), zero1 (optimizer state and master weights "
                + "sharded), zero2 (gradients too), zero3 (parameters too, each layer gathered before use), tp "
                + "(transformers: matrices and block activations split; estimate only).",
            valueName: ShardingStrategy.allCases.map(\.rawValue).joined(separator: "|")))
    var strategy: ShardingStrategy?

    func validate() throws {
        // Under mpirun (train) the devices are the ranks it started.
        if strategy != nil && devices == nil && !MPIWorld.isLaunched {
            throw ValidationError("--strategy needs --devices, the number of devices to split over (e.g. --devices 8)")
        }
        if let devices, !(1...DeviceBudget.maximumDeviceCount).contains(devices.value) {
            throw ValidationError("--devices must be between 1 and \(DeviceBudget.maximumDeviceCount), got \(devices.value)")
        }
    }

    /// The split asked for, or nil for one device and no strategy.
    var split: (strategy: ShardingStrategy, devices: Int)? {
        devices.map { (strategy ?? .dp, $0.value) }
    }

    /// `options` with the update unfused when the gradients are exchanged: a fused update cannot wait for them.
    func stepOptions(_ options: StepOptions) -> StepOptions {
        guard let split, split.devices > 1 else { return options }
        var unfused = options
        unfused.fusesUpdate = false
        return unfused
    }
}

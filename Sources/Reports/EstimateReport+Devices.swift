// The estimate of one device when the step is split over several (`--devices N --strategy S`).

import MemoryBudget

extension EstimateReport {
    /// One device's bytes (`DeviceBudget`): the contract's `per_device` object. `activations` is the device's own
    /// batch; `deltas`, `scratch`, `recomputed` and `model_state` are new keys beside the contract's; with one device
    /// and dp, `total` equals `bytes.total`.
    public struct PerDevice: Codable, Sendable, Equatable {
        public var parameters: Int
        public var masterParameters: Int
        public var gradients: Int
        public var optimizer: Int
        public var activations: Int
        public var inputs: Int
        public var communication: Int
        public var total: Int
        public var deltas: Int
        public var scratch: Int
        public var recomputed: Int
        /// Parameters + master parameters + gradients + optimizer state.
        public var modelState: Int
        /// Devices × the profile's batch (tp: the batch, which its devices share).
        public var globalBatch: Int
        /// The largest layer's parameter bytes (zero3's gather buffer); null in bound mode, where layers are unknown.
        @Nullable public var largestLayerParameters: Int?

        init(_ device: DeviceBudget) {
            parameters = device.parameterByteCount
            masterParameters = device.masterParameterByteCount
            gradients = device.gradientByteCount
            optimizer = device.optimizerByteCount
            activations = device.activationByteCount
            inputs = device.inputByteCount
            communication = device.communicationByteCount
            total = device.totalByteCount
            deltas = device.deltaByteCount
            scratch = device.scratchByteCount
            recomputed = device.recomputedByteCount
            modelState = device.modelStateByteCount
            globalBatch = device.globalBatchSize
            largestLayerParameters = device.largestLayerParameterByteCount
        }
    }

    /// Each strategy at the same device count, side by side (new key `strategies`).
    public struct StrategyOption: Codable, Sendable, Equatable {
        public var strategy: String
        public var modelState: Int
        public var communication: Int
        public var total: Int
        /// The one `--strategy` asked for.
        public var selected: Bool
    }

    /// Adds the split: `device` is the one asked for, `alternatives` every strategy that applies at its device count.
    public mutating func attach(device: DeviceBudget, alternatives: [DeviceBudget]) {
        devices = device.deviceCount
        strategy = device.strategy.rawValue
        perDevice = PerDevice(device)
        strategies = alternatives.map {
            StrategyOption(
                strategy: $0.strategy.rawValue, modelState: $0.modelStateByteCount, communication: $0.communicationByteCount,
                total: $0.totalByteCount, selected: $0.strategy == device.strategy)
        }
    }
}

extension EstimateRenderer {
    /// The per-device categories and the strategies side by side; empty without `--devices`.
    static func deviceSection(_ report: EstimateReport, markdown: Bool) -> String {
        guard let device = report.perDevice, let devices = report.devices, let name = report.strategy else { return "" }
        let explanation = ShardingStrategy(rawValue: name)?.explanation ?? name
        var table = TextTable(columns: [.left("Per device"), .right("Bytes"), .right("Decimal"), .right("Binary")])
        var rows: [(String, Int)] = [("parameters", device.parameters)]
        if device.masterParameters > 0 { rows.append(("master weights (fp32)", device.masterParameters)) }
        rows += [("gradients", device.gradients), ("optimizer state", device.optimizer), ("model state", device.modelState)]
        rows += [("activations", device.activations), ("deltas", device.deltas)]
        if device.scratch > 0 { rows.append(("scratch", device.scratch)) }
        if device.recomputed > 0 { rows.append(("recomputed", device.recomputed)) }
        rows += [("inputs", device.inputs), ("communication", device.communication), ("total", device.total)]
        for (label, value) in rows {
            table.append([label, ByteUnits.grouped(value), ByteUnits.decimal(value), ByteUnits.binary(value)])
        }
        var strategies = TextTable(columns: [
            .left("Strategy"), .right("Model state"), .right("Communication"), .right("Total per device"),
        ])
        for option in report.strategies ?? [] {
            strategies.append([
                option.strategy + (option.selected ? " *" : ""), ByteUnits.decimal(option.modelState),
                ByteUnits.decimal(option.communication), ByteUnits.decimal(option.total),
            ])
        }
        let heading =
            "\(devices) devices, \(name) — \(explanation); batch \(report.batch) per device, global batch \(device.globalBatch)"
        let bound =
            device.largestLayerParameters == nil && devices > 1
            ? "Bound mode: the layers are unknown, so no gather buffer or gradient bucket is counted in communication."
            : nil
        let render = { (table: TextTable) in markdown ? table.renderMarkdown() : table.renderText() }
        var out = markdown ? "\n### Per device: \(heading)\n\n" : "\nPer device: \(heading)\n"
        out += render(table)
        out += markdown ? "\n### Strategies over \(devices) devices\n\n" : "\nStrategies over \(devices) devices:\n"
        out += render(strategies)
        if let bound { out += markdown ? "\n> \(bound)\n" : "\n\(bound)\n" }
        if devices > 1 && report.optimizer == "sgd" {
            let stored =
                "Several devices store their gradients (plain SGD's update, fused into the backward pass on one device, "
                + "cannot wait for the exchange): the categories above include them."
            out += markdown ? "\n> \(stored)\n" : "\n\(stored)\n"
        }
        return out
    }
}

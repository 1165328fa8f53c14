// What `memplan estimate` says of a model that trains LoRA adapters instead of its weights.

import Foundation
import ModelProfile

extension EstimateReport {
    /// The profile's LoRA adapters, echoed: rank, targets, and how many matrices they adapt (blocks × targets).
    public struct LoRAAdapters: Codable, Sendable, Equatable {
        public var rank: Int
        /// `q`, `k`, `v`, `o`, `gate`, `up`, `down`.
        public var targets: [String]
        public var adaptedMatrices: Int

        init?(_ model: TransformerModel) {
            guard let lora = model.lora else { return nil }
            rank = lora.rank
            targets = lora.targets.map(\.rawValue)
            adaptedMatrices = model.spec.layerCount * lora.targets.count
        }
    }
}

extension EstimateRenderer {
    /// The trainable and frozen counts, when some parameters are frozen; nil when every parameter trains.
    static func trainableLine(_ report: EstimateReport) -> String? {
        let counts = report.counts
        guard counts.frozenParameters > 0 else { return nil }
        var text = "Trainable: \(ByteUnits.grouped(counts.trainableParameters))"
        if let lora = report.lora {
            text +=
                " (LoRA r = \(lora.rank) on \(lora.targets.joined(separator: ", ")): "
                + "\(lora.adaptedMatrices) adapted matrices, r·(d_in + d_out) each)"
        }
        return text + "; frozen: \(ByteUnits.grouped(counts.frozenParameters)) (stored only: no gradient, master copy "
            + "or optimizer state)"
    }

    /// Model state per parameter: one figure, or with frozen parameters one per trainable and one per frozen parameter.
    static func modelState(_ report: EstimateReport, _ recipe: EstimateReport.Recipe) -> String {
        guard report.counts.frozenParameters > 0 else {
            return String(format: "%.1f", recipe.modelStateBytesPerParameter) + " bytes of model state per parameter"
        }
        let trainable = recipe.parameterBytes + recipe.masterBytes + recipe.gradientBytes + recipe.optimizerStateBytes
        return "\(trainable) bytes of model state per trainable parameter, \(recipe.parameterBytes) per frozen one"
    }

    /// fp16-mixed's loss scaling, which costs a scalar and no bytes; empty for the other recipes.
    static func lossScalingNote(_ recipe: EstimateReport.Recipe) -> String {
        guard recipe.name == Precision.fp16Mixed.rawValue, let scaling = recipe.lossScaling else { return "" }
        return " Loss scaling: \(scaling) (one scalar, no memory)."
    }
}

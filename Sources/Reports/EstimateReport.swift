// `memplan estimate` output: the JSON contract, and the same content as a table or Markdown.

import Foundation
import MemoryBudget
import ModelProfile

/// The `--format json` contract of `memplan estimate` (keys are stable; new keys may be added):
///
///     {"profile", "precision", "batch", "mode": "exact"|"bound", "optimizer", "element_bytes", "fuses_update",
///      "counts": {"parameters", "weights", "biases", "neurons", "trainable_parameters", "frozen_parameters"},
///      "bytes": {"parameters", "gradients", "activations", "inputs", "optimizer", "total", "deltas", "scratch",
///                "recomputed", "master_parameters"},
///      "recipe": {"name", "parameter_bytes", "master_bytes", "gradient_bytes", "optimizer_state_bytes",
///                 "activation_bytes", "model_state_bytes_per_parameter", "loss_scaling": "dynamic"|"none"},
///      "input_bytes": {"features", "targets"},
///      "layers": [{"index", "inputs", "units", "activation", "weights", "biases", "parameters",
///                  "bytes": {"parameters", "gradients", "activations", "optimizer", "deltas", "scratch"}}],
///      "tensors": [{"name", "layer", "shape", "element_type", "category", "bytes"}],
///      "lora": {"rank", "targets", "adapted_matrices"} | null,
///      "transformer": {…} | null, "recompute": [{"checkpoint", "peak_bytes", "saved_bytes", "step_flops",
///                                               "recomputed_flops", "added_compute_fraction", "selected"}] | null,
///      "human": {"total_decimal", "total_binary", "total_lecture"},
///      "devices", "strategy", "per_device": {"parameters", "master_parameters", "gradients", "optimizer",
///                  "activations", "inputs", "communication", "total", …} | null (with --devices),
///      "strategies": [{"strategy", "model_state", "communication", "total", "selected"}] | null}
///
/// All byte and count values are integers. `bytes.total` is every tensor of the step with no reuse, never below the
/// plan's lower bound. In bound mode only `parameters` is known of the counts: `weights` repeats it, `biases` and
/// `neurons` are 0, and `layers` and `tensors` are empty.
public struct EstimateReport: Codable, Sendable, Equatable, ReportDocument {
    public struct Counts: Codable, Sendable, Equatable {
        public var parameters: Int
        public var weights: Int
        public var biases: Int
        public var neurons: Int
        /// Parameters that train: all of them, or a LoRA model's adapters (new key).
        public var trainableParameters: Int
        /// Parameters stored but not trained (a LoRA model's base weights): no gradient, master copy or optimizer
        /// state (new key).
        public var frozenParameters: Int
    }

    public struct Bytes: Codable, Sendable, Equatable {
        public var parameters: Int
        public var gradients: Int
        public var activations: Int
        public var inputs: Int
        public var optimizer: Int
        public var total: Int
        public var deltas: Int
        public var scratch: Int
        /// Activations formed again in the backward pass (a transformer's `--checkpoint`); 0 without (new key).
        public var recomputed: Int
        /// The fp32 master weights of a mixed-precision recipe; 0 without one (new key). Parameters + master
        /// parameters + gradients + optimizer is the model state.
        public var masterParameters: Int
    }

    /// The precision recipe: bytes per element of each tensor class, and the model state per parameter
    /// (parameters + master + gradients + optimizer state, over the parameter count; new key).
    public struct Recipe: Codable, Sendable, Equatable {
        public var name: String
        public var parameterBytes: Int
        public var masterBytes: Int
        public var gradientBytes: Int
        public var optimizerStateBytes: Int
        public var activationBytes: Int
        public var modelStateBytesPerParameter: Double
        /// `dynamic` or `none` (new key; nil in reports written before it). A scalar: no bytes in any category.
        public var lossScaling: String?
    }

    public struct InputBytes: Codable, Sendable, Equatable {
        public var features: Int
        public var targets: Int
    }

    public struct LayerBytes: Codable, Sendable, Equatable {
        public var parameters: Int
        public var gradients: Int
        public var activations: Int
        public var optimizer: Int
        public var deltas: Int
        public var scratch: Int
    }

    public struct Layer: Codable, Sendable, Equatable {
        public var index: Int
        /// `dense`, or a transformer's `embedding`, `block`, `head` (new key).
        public var kind: String
        /// `1`, …; a transformer's `embedding`, `h1`, …, `head` (new key).
        public var name: String
        public var inputs: Int
        public var units: Int
        public var activation: String
        public var weights: Int
        public var biases: Int
        public var parameters: Int
        public var bytes: LayerBytes
    }

    /// One row of the step's tensor table.
    public struct Tensor: Codable, Sendable, Equatable {
        public var name: String
        /// 1-based layer, 0 for the step's own tensors (x, y).
        public var layer: Int
        public var shape: [Int]
        public var elementType: String
        public var category: String
        public var bytes: Int
    }

    /// A transformer's shape and the published formulas' activation figures beside memplan's (new key; null for
    /// other profiles).
    public struct Transformer: Codable, Sendable, Equatable {
        public var vocabulary: Int
        public var paddedVocabulary: Int
        public var context: Int
        public var sequence: Int
        public var layers: Int
        public var heads: Int
        public var kvHeads: Int
        public var hidden: Int
        public var feedForward: Int
        public var norm: String
        public var activation: String
        public var positions: String
        public var tiedEmbeddings: Bool
        public var checkpoint: String
        public var tokensPerStep: Int
        /// memplan's own: the bytes of every activation the backward pass reads (its `activations` category).
        public var memplanActivationBytes: Int
        public var korthikantiActivationBytes: Int
        public var llmcActivationFloats: Int
        public var llmcPaddedVocabulary: Int
    }

    /// What a checkpoint mode buys a transformer: the planned step's peak (its arena's lower bound, as `memplan plan`
    /// places it) and the products it adds (`StepTable.transformerFLOPs`).
    public struct RecomputeOption: Codable, Sendable, Equatable {
        /// `none`, `blocks`, `sqrt` or `selective`.
        public var checkpoint: String
        /// Peak live bytes of the step (the lower bound of its arena).
        public var peakBytes: Int
        /// The peak of `none` minus this one's.
        public var savedBytes: Int
        /// Floating-point operations of one step (products; recompute included) and the recompute ops' share.
        public var stepFlops: Double
        public var recomputedFlops: Double
        /// recomputed / (step − recomputed): the compute added over keeping everything.
        public var addedComputeFraction: Double
        /// The mode the estimate above is for.
        public var selected: Bool

        public init(
            checkpoint: String, peakBytes: Int, savedBytes: Int, stepFlops: Double, recomputedFlops: Double, selected: Bool
        ) {
            self.checkpoint = checkpoint
            self.peakBytes = peakBytes
            self.savedBytes = savedBytes
            self.stepFlops = stepFlops
            self.recomputedFlops = recomputedFlops
            let base = stepFlops - recomputedFlops
            addedComputeFraction = base > 0 ? recomputedFlops / base : 0
            self.selected = selected
        }
    }

    public struct Human: Codable, Sendable, Equatable {
        public var totalDecimal: String
        public var totalBinary: String
        public var totalLecture: String
    }

    public var profile: String
    public var precision: String
    public var batch: Int
    public var mode: String
    public var optimizer: String
    public var elementBytes: Int
    /// Plain SGD's update runs inside the backward pass: no gradients are stored.
    public var fusesUpdate: Bool
    public var counts: Counts
    public var bytes: Bytes
    public var inputBytes: InputBytes
    public var layers: [Layer]
    public var tensors: [Tensor]
    @Nullable public var transformer: Transformer?
    /// The LoRA adapters the model trains instead of its weights (new key; null when every weight trains).
    @Nullable public var lora: LoRAAdapters?
    /// A transformer's checkpoint modes side by side (new key; null for other profiles).
    @Nullable public var recompute: [RecomputeOption]?
    /// The precision recipe (new key).
    @Nullable public var recipe: Recipe?
    /// With `--devices N --strategy S` (new keys, null without): the device count, the strategy, one device's bytes
    /// and every strategy's totals at N.
    @Nullable public var devices: Int? = nil
    @Nullable public var strategy: String? = nil
    @Nullable public var perDevice: PerDevice? = nil
    @Nullable public var strategies: [StrategyOption]? = nil
    public var human: Human

    public static let formats: [ReportFormat] = [.table, .json, .markdown]

    public init(_ budget: Budget, recompute: [RecomputeOption]? = nil) {
        self.recompute = recompute
        profile = budget.profileName
        precision = budget.precision.rawValue
        batch = budget.batchSize
        mode = budget.mode.rawValue
        optimizer = budget.optimizer.rawValue
        elementBytes = budget.precision.byteCount
        fusesUpdate = budget.fusesUpdate
        counts = Counts(
            parameters: budget.parameterCount, weights: budget.weightCount, biases: budget.biasCount, neurons: budget.neuronCount,
            trainableParameters: budget.trainableParameterCount, frozenParameters: budget.frozenParameterCount)
        lora = budget.transformer.flatMap(LoRAAdapters.init)
        bytes = Bytes(
            parameters: budget.parameterByteCount, gradients: budget.gradientByteCount, activations: budget.activationByteCount,
            inputs: budget.inputByteCount, optimizer: budget.optimizerByteCount, total: budget.totalByteCount,
            deltas: budget.deltaByteCount, scratch: budget.scratchByteCount, recomputed: budget.recomputedByteCount,
            masterParameters: budget.masterParameterByteCount)
        let precision = budget.precision
        let stateTensors = budget.optimizer.stateTensorsPerParameter
        let modelState = [budget.masterParameterByteCount, budget.gradientByteCount, budget.optimizerByteCount].reduce(
            budget.parameterByteCount
        ) { $0.saturatingAdding($1) }
        recipe = Recipe(
            name: precision.rawValue, parameterBytes: precision.byteCount, masterBytes: precision.masterPrecision?.byteCount ?? 0,
            gradientBytes: budget.fusesUpdate ? 0 : precision.byteCount,
            optimizerStateBytes: stateTensors * precision.optimizerPrecision.byteCount, activationBytes: precision.byteCount,
            modelStateBytesPerParameter: budget.parameterCount > 0 ? Double(modelState) / Double(budget.parameterCount) : 0,
            lossScaling: budget.lossScaling.rawValue)
        inputBytes = InputBytes(features: budget.inputFeatureByteCount, targets: budget.inputTargetByteCount)
        layers = budget.layers.map { layer in
            Layer(
                index: layer.index, kind: layer.kind, name: layer.name, inputs: layer.inputWidth, units: layer.outputWidth,
                activation: layer.activation,
                weights: layer.weightCount, biases: layer.biasCount, parameters: layer.parameterCount,
                bytes: LayerBytes(
                    parameters: layer.parameterByteCount, gradients: layer.gradientByteCount,
                    activations: layer.activationByteCount,
                    optimizer: layer.optimizerByteCount, deltas: layer.deltaByteCount, scratch: layer.scratchByteCount))
        }
        tensors = budget.tensors.map { tensor in
            Tensor(
                name: tensor.name, layer: tensor.id.layer, shape: tensor.shape, elementType: tensor.elementType.description,
                category: tensor.category.rawValue, bytes: tensor.byteCount)
        }
        if let model = budget.transformer, let checks = budget.crossChecks {
            let spec = model.spec
            transformer = Transformer(
                vocabulary: spec.vocabularySize, paddedVocabulary: spec.paddedVocabularySize, context: spec.contextLength,
                sequence: model.sequenceLength, layers: spec.layerCount, heads: spec.headCount, kvHeads: spec.keyValueHeadCount,
                hidden: spec.hiddenSize, feedForward: spec.feedForwardSize, norm: spec.norm.rawValue,
                activation: spec.feedForward.rawValue,
                positions: spec.positions.rawValue, tiedEmbeddings: spec.tiedEmbeddings, checkpoint: model.recompute.rawValue,
                tokensPerStep: model.batchSize * model.sequenceLength, memplanActivationBytes: budget.activationByteCount,
                korthikantiActivationBytes: checks.korthikantiBytes, llmcActivationFloats: checks.llmcActivationFloats,
                llmcPaddedVocabulary: checks.llmcPaddedVocabulary)
        } else {
            transformer = nil
        }
        human = Human(
            totalDecimal: ByteUnits.decimal(budget.totalByteCount), totalBinary: ByteUnits.binary(budget.totalByteCount),
            totalLecture: ByteUnits.lecture(budget.totalByteCount))
    }

    public var tableText: String { EstimateRenderer.text(self) }
    public var markdownText: String { EstimateRenderer.markdown(self) }
}

/// Renders estimates for `memplan estimate`.
public enum EstimateRenderer {
    /// Pretty-printed, key-sorted JSON of `EstimateReport`, ending in a newline.
    public static func json(_ budget: Budget) -> String { EstimateReport(budget).json }

    /// The terminal table: layers (exact mode), counts, then each category in exact bytes,
    /// decimal and binary units; bound mode adds the lecture's units.
    public static func text(_ report: EstimateReport) -> String {
        var out = header(report) + "\n\n"
        if !report.layers.isEmpty { out += layerTable(report).renderText() + "\n" }
        out += countsLine(report) + "\n"
        if let line = trainableLine(report) { out += line + "\n" }
        out += "\n"
        out += categoryTable(report).renderText()
        out += deviceSection(report, markdown: false)
        if let table = recomputeTable(report) {
            out += "\nCheckpointing (the planned step's peak, `memplan plan`):\n" + table.renderText()
        }
        out += notes(report).map { "\n" + $0 + "\n" }.joined()
        return out
    }

    public static func markdown(_ report: EstimateReport) -> String {
        var out = "## Memory estimate: \(Markup.markdown(report.profile))\n\n"
        out += "*\(report.mode) mode, \(report.precision) precision, batch \(report.batch), optimizer \(report.optimizer)*\n\n"
        if !report.layers.isEmpty { out += layerTable(report).renderMarkdown() + "\n" }
        out += countsLine(report) + "\n"
        if let line = trainableLine(report) { out += "\n" + line + "\n" }
        out += "\n"
        out += categoryTable(report).renderMarkdown()
        out += deviceSection(report, markdown: true)
        if let table = recomputeTable(report) {
            out += "\n### Checkpointing\n\nThe planned step's peak (`memplan plan`) and the compute each mode adds.\n\n"
            out += table.renderMarkdown()
        }
        if !report.tensors.isEmpty { out += "\n" + tensorTable(report).renderMarkdown() }
        out += notes(report).map { "\n> " + $0 + "\n" }.joined()
        return out
    }

    static func header(_ report: EstimateReport) -> String {
        "memplan estimate — \(Markup.terminal(report.profile)) (\(report.mode) mode, \(report.precision) precision, "
            + "\(report.elementBytes) B/element, batch \(report.batch), \(report.optimizer))"
    }

    static func countsLine(_ report: EstimateReport) -> String {
        let counts = report.counts
        if report.mode == "bound" {
            return "Parameters: \(ByteUnits.grouped(counts.parameters)) (bound mode: layers unknown)"
        }
        return "Parameters: \(ByteUnits.grouped(counts.parameters)) = \(ByteUnits.grouped(counts.weights)) weights + "
            + "\(ByteUnits.grouped(counts.biases)) biases; neurons: \(ByteUnits.grouped(counts.neurons))"
    }

    static func layerTable(_ report: EstimateReport) -> TextTable {
        var table = TextTable(columns: [
            .right("Layer"), .left("Shape"), .left("Activation"), .right("Weights"), .right("Biases"), .right("Params"),
            .right("Param B"), .right("Grad B"), .right("Act B"), .right("Delta B"), .right("Opt B"),
        ])
        for layer in report.layers {
            table.append([
                layer.name, "\(layer.inputs) → \(layer.units)", layer.activation, ByteUnits.grouped(layer.weights),
                ByteUnits.grouped(layer.biases), ByteUnits.grouped(layer.parameters), ByteUnits.grouped(layer.bytes.parameters),
                ByteUnits.grouped(layer.bytes.gradients), ByteUnits.grouped(layer.bytes.activations),
                ByteUnits.grouped(layer.bytes.deltas),
                ByteUnits.grouped(layer.bytes.optimizer),
            ])
        }
        return table
    }

    /// Each checkpoint mode's peak, saving and added compute; nil without a transformer's comparison.
    static func recomputeTable(_ report: EstimateReport) -> TextTable? {
        guard let options = report.recompute, !options.isEmpty else { return nil }
        var table = TextTable(columns: [
            .left("Checkpoint"), .right("Peak B"), .right("Peak"), .right("Saved"), .right("Step GFLOP"), .right("Compute added"),
        ])
        for option in options {
            table.append([
                option.checkpoint + (option.selected ? " *" : ""), ByteUnits.grouped(option.peakBytes),
                ByteUnits.binary(option.peakBytes), ByteUnits.binary(option.savedBytes),
                String(format: "%.2f", option.stepFlops / 1e9), String(format: "+%.1f%%", option.addedComputeFraction * 100),
            ])
        }
        return table
    }

    /// Every tensor of the step, as the layer kinds declare them.
    static func tensorTable(_ report: EstimateReport) -> TextTable {
        var table = TextTable(columns: [
            .left("Tensor"), .right("Layer"), .left("Shape"), .left("Type"), .left("Category"), .right("Bytes"),
        ])
        for tensor in report.tensors {
            table.append([
                tensor.name, String(tensor.layer), "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")",
                tensor.elementType,
                tensor.category, ByteUnits.grouped(tensor.bytes),
            ])
        }
        return table
    }

    static func categoryTable(_ report: EstimateReport) -> TextTable {
        let lecture = report.mode == "bound"
        var columns: [TextTable.Column] = [.left("Category"), .right("Bytes"), .right("Decimal"), .right("Binary")]
        if lecture { columns.append(.right("Lecture")) }
        var table = TextTable(columns: columns)
        let bytes = report.bytes
        var rows: [(String, Int)] = [
            ("parameters", bytes.parameters), ("gradients", bytes.gradients),
            (lecture ? "activations (≤ params/sample)" : "activations", bytes.activations),
        ]
        if !lecture { rows.append(("deltas", bytes.deltas)) }
        if bytes.scratch > 0 { rows.append(("scratch", bytes.scratch)) }
        if bytes.recomputed > 0 { rows.append(("recomputed", bytes.recomputed)) }
        if bytes.masterParameters > 0 { rows.insert(("master weights (fp32)", bytes.masterParameters), at: 1) }
        rows += [("inputs", bytes.inputs), ("optimizer state", bytes.optimizer), ("total", bytes.total)]
        for (name, value) in rows {
            var row = [name, ByteUnits.grouped(value), ByteUnits.decimal(value), ByteUnits.binary(value)]
            if lecture { row.append(ByteUnits.lecture(value)) }
            table.append(row)
        }
        return table
    }

    static func notes(_ report: EstimateReport) -> [String] {
        if report.mode == "bound" {
            return [
                "Bound mode (the lecture's method): parameters + gradients (same shape) + activations (at most the "
                    + "parameter bytes, one copy per sample) + input samples. The lecture's column counts in decimal GB "
                    + "(10⁹ B) and then steps by 1024, so 1,203,400 GB reads \"1.15 PB\"; the Decimal column uses 1000 "
                    + "per step, the Binary column 1024 per step from bytes."
            ]
        }
        var notes: [String] = []
        let trained = report.counts.frozenParameters > 0 ? "trainable " : ""
        if let recipe = report.recipe, recipe.masterBytes > 0 || recipe.name == "half" || recipe.name == "bfloat16" {
            notes.append(
                recipe.masterBytes > 0
                    ? "Recipe \(recipe.name): \(recipe.parameterBytes)-byte weights, gradients and activations, \(recipe.masterBytes)-byte "
                        + "master weights and \(recipe.optimizerStateBytes) bytes of optimizer state per \(trained)parameter: "
                        + modelState(report, recipe) + "." + lossScalingNote(recipe)
                    : "Recipe \(recipe.name): every tensor \(recipe.parameterBytes) bytes, optimizer state included — pure "
                        + "\(recipe.name), no fp32 master copy. Mixed-precision training keeps one: --precision "
                        + "\(recipe.name == "half" ? "fp16" : "bf16")-mixed.")
        }
        if let transformer = report.transformer {
            let bytes = transformer.memplanActivationBytes
            func versus(_ other: Int) -> String {
                let difference = bytes - other
                return "\(ByteUnits.grouped(other)) B (memplan's \(ByteUnits.grouped(bytes)) B is \(difference >= 0 ? "+" : "−")"
                    + "\(ByteUnits.grouped(abs(difference))) B)"
            }
            notes.append(
                "Activations, cross-checked: Korthikanti et al.'s formula for the blocks, L·(s·b·h·(16p + 2) + (2p + 1)·a·s²·b), "
                    + "gives \(versus(transformer.korthikantiActivationBytes)); llm.c's train_gpt2.c layout holds "
                    + "\(ByteUnits.grouped(transformer.llmcActivationFloats)) floats (Vp = \(transformer.llmcPaddedVocabulary)) = "
                    + "\(versus(transformer.llmcActivationFloats * 4)). memplan keeps only what its backward pass reads: attention's "
                    + "probabilities but not its scores (llm.c keeps both), no attproj or fcproj output (the residual sums are kept "
                    + "instead), no probs beside the logits (the loss turns logits into their gradient in place), and its own "
                    + "sizes for what it does keep.")
        }
        notes.append(
            "Every tensor of the step, with no reuse: `memplan plan` places them in an arena no larger than this total. "
                + "Activations: each layer's output a_l for the whole batch, kept for the backward pass (z_l is computed in place). "
                + "Deltas: dz_l = ∂L/∂z_l of the hidden layers. Inputs: the batch's features and dense targets.")
        if report.fusesUpdate {
            notes.append(
                "Gradients: none stored — plain SGD's update is fused into the backward pass (W −= η·dzᵀ·x as each product is "
                    + "formed). Another optimizer (--optimizer momentum|adam) stores one gradient per parameter.")
        }
        return notes
    }
}

// Transformer profiles (kind: transformer): GPT-2 and Llama shapes, and how to train them.

import Yams

extension ProfileParser {
    static let transformerKeys = [
        "kind", "name", "description", "vocabulary", "padded_vocabulary", "context", "layers", "heads", "kv_heads", "hidden",
        "feed_forward", "norm", "activation", "positions", "tied_embeddings", "biases", "qkv_bias", "batch", "sequence",
        "precision",
        "optimizer", "checkpoint", "data", "epochs", "seed", "lora", "loss_scaling",
    ]
    static let loraKeys = ["rank", "targets"]
    static let textDataKeys = ["source", "path", "validation", "count", "seed"]

    /// `lora:` in a bound or MLP profile: adapters are defined on a transformer's projections only.
    static func rejectLoRA(_ top: Section, reader: NodeReader, kind: String) throws {
        guard let node = top["lora"] else { return }
        throw ProfileError.inconsistent(
            reader.location(node),
            "lora adapters apply to transformer profiles (kind: transformer, targets q, k, v, o, gate, up, down); "
                + "this is \(kind) profile")
    }

    /// `kind: transformer`. GPT-2's defaults where a key is left out (LayerNorm, GELU, learned positions, tied
    /// embeddings, biases; feed_forward = 4·hidden, kv_heads = heads); `sequence` defaults to the context.
    static func parseTransformer(_ top: Section, reader: NodeReader) throws -> TransformerModel {
        try reader.rejectUnknown(top, allowed: transformerKeys)
        let name = try top["name"].map { try reader.string($0, field: "name") } ?? reader.defaultName
        func required(_ key: String, _ hint: String) throws -> Int {
            try reader.count(try top.require(key, hint: hint), field: key, minimum: 1)
        }
        func optional(_ key: String) throws -> Int? { try top[key].map { try reader.count($0, field: key, minimum: 1) } }
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ fallback: T) throws -> T where T.RawValue == String {
            try top[key].map { node in
                try reader.named(node, field: key, valid: T.allCases.map(\.rawValue), parse: { T(rawValue: $0.lowercased()) })
            } ?? fallback
        }
        let hidden = try required("hidden", "give the model width, e.g. hidden: 768")
        let heads = try required("heads", "give the attention heads, e.g. heads: 12")
        let norm: TransformerNorm = try choice("norm", .layer)
        let feedForward: FeedForward = try choice("activation", .gelu)
        let spec = TransformerSpec(
            vocabularySize: try required("vocabulary", "give the vocabulary size, e.g. vocabulary: 50257 (256 for bytes)"),
            paddedVocabularySize: try optional("padded_vocabulary"),
            contextLength: try required("context", "give the longest sequence, e.g. context: 1024"),
            layerCount: try required("layers", "give the number of blocks, e.g. layers: 12"), headCount: heads,
            keyValueHeadCount: try optional("kv_heads"), hiddenSize: hidden, feedForwardSize: try optional("feed_forward"),
            norm: norm, feedForward: feedForward, positions: try choice("positions", .learned),
            tiedEmbeddings: try top["tied_embeddings"].map { try reader.bool($0, field: "tied_embeddings") } ?? true,
            hasBiases: try top["biases"].map { try reader.bool($0, field: "biases") } ?? (norm == .layer),
            hasQKVBias: try top["qkv_bias"].map { try reader.bool($0, field: "qkv_bias") })
        let optimizer =
            try top["optimizer"].map { try reader.optimizer($0) }
            ?? Optimizer(kind: .adamw, learningRate: 3e-4)
        let data = try top["data"].map { try reader.textSource($0) }
        let batch = try optional("batch") ?? 4
        let sequence = try optional("sequence")
        let precision = try top["precision"].map { try reader.precision($0) } ?? .single
        let recompute: Recompute = try choice("checkpoint", .none)
        let epochs = try optional("epochs") ?? 1
        let seed = try top["seed"].map { UInt64(try reader.count($0, field: "seed", minimum: 0)) } ?? 42
        let lora = try top["lora"].map { try reader.lora($0, spec: spec) }
        let lossScaling = try top["loss_scaling"].map { try reader.lossScaling($0) }
        do {
            var model = try TransformerModel(
                name: name, spec: spec, batchSize: batch, sequenceLength: sequence, precision: precision, optimizer: optimizer,
                recompute: recompute, data: data, epochs: epochs, seed: seed, lora: lora)
            model.lossScaling = lossScaling
            try model.validate()
            return model
        } catch {
            let node = error == .fp16WithoutLossScaling ? top["loss_scaling"] ?? top.node : top.node
            throw ProfileError.invalidModel(reader.location(node), error)
        }
    }
}

extension NodeReader {
    /// `lora: {rank: 8, targets: [q, v]}`, checked against the blocks it adapts (rank ≤ min(d_in, d_out) of each).
    func lora(_ node: Node, spec: TransformerSpec) throws -> LoRA {
        let section = try section(node, named: "lora", allowed: ProfileParser.loraKeys)
        let rank = try count(
            try section.require("rank", hint: "give the adapters' rank, e.g. lora: {rank: 8, targets: [q, v]}"),
            field: "lora.rank", minimum: 1)
        let targetsNode = try section.require("targets", hint: "name the adapted projections, e.g. targets: [q, v]")
        let names = LoRATarget.allCases.map(\.rawValue)
        let targets = try list(targetsNode, field: "lora.targets").map { item in
            try named(item, field: "lora target", valid: names, parse: LoRATarget.init(name:))
        }
        let lora = LoRA(rank: rank, targets: targets)
        do {
            try lora.validate(for: spec)
        } catch {
            throw ProfileError.invalidModel(location(node), error)
        }
        return lora
    }

    /// `data: {source: text, path: …, validation: 0.1}` or `data: {source: synthetic, count: 100000, seed: 1}`.
    func textSource(_ node: Node) throws -> TextSource {
        let data = try section(node, named: "data", allowed: ProfileParser.textDataKeys)
        let source = try data["source"].map { try string($0, field: "source").lowercased() } ?? "text"
        switch source {
        case "text", "fortunes":
            let path = try data["path"].map { resolvePath(try string($0, field: "path")) } ?? TextSource.defaultFortunesPath
            return .text(path: path, validationFraction: try fraction(data["validation"], field: "validation", fallback: 0.1))
        case "synthetic":
            return .synthetic(
                count: try data["count"].map { try count($0, field: "count", minimum: 2) } ?? 100_000,
                seed: try data["seed"].map { UInt64(try count($0, field: "seed", minimum: 0)) } ?? 1)
        default:
            throw ProfileError.unknownName(
                location(data["source"]!), field: "source", value: source, valid: ["text", "synthetic"],
                suggestion: Suggestion.closest(to: source, in: ["text", "synthetic"]))
        }
    }
}

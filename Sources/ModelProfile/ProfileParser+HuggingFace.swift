// Hugging Face `config.json` (the file a model's repository ships) → a transformer profile, so a user sizes the
// model they hold without retyping it. GPT-2 spells the shape `n_embd`, `n_layer`, `n_head`, `n_inner`,
// `n_positions`; Llama and Mistral `hidden_size`, `num_hidden_layers`, `num_attention_heads`,
// `num_key_value_heads`, `intermediate_size`, `max_position_embeddings` (Qwen2 too, with biases on q, k and v).
// Every other key of the file is ignored.

extension ProfileParser {
    /// The `model_type`s read, and those known but refused (with why).
    static let huggingFaceFamilies = ["gpt2", "llama", "mistral", "qwen2"]
    static let huggingFaceRefused = [
        "bert": "it is an encoder (token types, a pooler, post-norm blocks); the transformer kind is a decoder"
    ]

    /// A mapping with `model_type` and no `kind`: a Hugging Face configuration.
    static func isHuggingFaceConfig(_ top: Section) -> Bool { top["model_type"] != nil && top["kind"] == nil }

    /// A decoder-only model of the family `model_type` names, at batch 1 and the full context, fp32, AdamW
    /// (change them with the subcommands' flags or in the profile `memplan import` writes).
    ///
    /// GPT-2: LayerNorm, GELU, learned positions, biases, tied embeddings unless `tie_word_embeddings: false`.
    /// Llama, Mistral, Qwen2: RMSNorm, SwiGLU, rotary positions, no biases (Qwen2: on q, k, v only), untied unless
    /// `tie_word_embeddings: true`.
    static func parseHuggingFaceConfig(_ top: Section, reader: NodeReader) throws -> TransformerModel {
        let typeNode = try top.require("model_type", hint: "")
        let family = try reader.string(typeNode, field: "model_type").lowercased()
        if let reason = huggingFaceRefused[family] {
            throw ProfileError.inconsistent(
                reader.location(typeNode),
                "model_type \(family) is not supported: \(reason); supported: \(huggingFaceFamilies.joined(separator: ", "))")
        }
        guard huggingFaceFamilies.contains(family) else {
            throw ProfileError.unknownName(
                reader.location(typeNode), field: "model_type", value: family, valid: huggingFaceFamilies,
                suggestion: Suggestion.closest(to: family, in: huggingFaceFamilies))
        }
        /// The first of `keys` present and not null, as a positive count.
        func count(_ keys: [String], required: Bool = true) throws -> Int? {
            for key in keys {
                if let node = top[key], !isNullNode(node) { return try reader.count(node, field: key, minimum: 1) }
            }
            guard !required else {
                throw ProfileError.missingField(
                    reader.location(top.node), field: keys[0], section: "the \(family) config",
                    hint: "a \(family) config.json names it \(keys.joined(separator: " or "))")
            }
            return nil
        }
        let tied = try top["tie_word_embeddings"].flatMap {
            isNullNode($0) ? nil : try reader.bool($0, field: "tie_word_embeddings")
        }
        let spec: TransformerSpec
        if family == "gpt2" {
            spec = TransformerSpec(
                vocabularySize: try count(["vocab_size"])!, contextLength: try count(["n_positions", "n_ctx"])!,
                layerCount: try count(["n_layer"])!, headCount: try count(["n_head"])!, hiddenSize: try count(["n_embd"])!,
                feedForwardSize: try count(["n_inner"], required: false), norm: .layer, feedForward: .gelu, positions: .learned,
                tiedEmbeddings: tied ?? true, hasBiases: true)
        } else {
            let hidden = try count(["hidden_size"])!
            let heads = try count(["num_attention_heads"])!
            if let headDimension = try count(["head_dim"], required: false), headDimension * heads != hidden {
                throw ProfileError.invalidValue(
                    reader.location(top["head_dim"]!), field: "head_dim", value: "\(headDimension)",
                    reason: "memplan's transformer kind needs head_dim · num_attention_heads = hidden_size (\(hidden))")
            }
            spec = TransformerSpec(
                vocabularySize: try count(["vocab_size"])!, contextLength: try count(["max_position_embeddings"])!,
                layerCount: try count(["num_hidden_layers"])!, headCount: heads,
                keyValueHeadCount: try count(["num_key_value_heads"], required: false), hiddenSize: hidden,
                feedForwardSize: try count(["intermediate_size"])!, norm: .rms, feedForward: .swiglu, positions: .rotary,
                tiedEmbeddings: tied ?? false, hasBiases: false, hasQKVBias: family == "qwen2")
        }
        let name =
            try top["_name_or_path"].flatMap { isNullNode($0) ? nil : try reader.string($0, field: "_name_or_path") }
            .flatMap { $0.isEmpty ? nil : $0 } ?? reader.defaultName
        do {
            return try TransformerModel(name: name, spec: spec, batchSize: 1)
        } catch {
            throw ProfileError.invalidModel(reader.location(top.node), error)
        }
    }
}

extension TransformerModel {
    /// The model as a `kind: transformer` profile that `ProfileParser` reads back to an equal shape: every
    /// architectural key spelled out, then how to train it (batch, sequence, precision, optimizer).
    public var profileText: String {
        let quotedName =
            "\""
            + name.unicodeScalars.map { scalar -> String in
                switch scalar {
                case "\"": "\\\""
                case "\\": "\\\\"
                case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value > 0xFFFF:
                    scalar.value > 0xFFFF
                        ? "\\U" + String(repeating: "0", count: 8 - String(scalar.value, radix: 16).count)
                            + String(scalar.value, radix: 16)
                        : "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                            + String(scalar.value, radix: 16)
                default: String(scalar)
                }
            }.joined() + "\""
        var lines = [
            "kind: transformer", "name: \(quotedName)", "vocabulary: \(spec.vocabularySize)",
        ]
        if spec.paddedVocabularySize != spec.vocabularySize { lines.append("padded_vocabulary: \(spec.paddedVocabularySize)") }
        lines += [
            "context: \(spec.contextLength)", "layers: \(spec.layerCount)", "heads: \(spec.headCount)",
            "kv_heads: \(spec.keyValueHeadCount)", "hidden: \(spec.hiddenSize)", "feed_forward: \(spec.feedForwardSize)",
            "norm: \(spec.norm.rawValue)", "activation: \(spec.feedForward.rawValue)", "positions: \(spec.positions.rawValue)",
            "tied_embeddings: \(spec.tiedEmbeddings)", "biases: \(spec.hasBiases)", "qkv_bias: \(spec.hasQKVBias)",
            "batch: \(batchSize)",
            "sequence: \(sequenceLength)", "precision: \(precision.rawValue)",
            "optimizer: {kind: \(optimizer.kind.rawValue), learning_rate: \(optimizer.learningRate)}",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}

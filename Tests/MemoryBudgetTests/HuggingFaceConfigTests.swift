import MemoryBudget
import ModelProfile
import Testing

/// Hugging Face config.json files, written here as the hub ships them (the shape keys plus keys memplan ignores),
/// give the published parameter counts; `memplan import`'s profile reads back to the same model.
@Suite("Hugging Face config.json")
struct HuggingFaceConfigTests {
    static func gpt2(layers: Int, hidden: Int, heads: Int) -> String {
        """
        {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
         "bos_token_id": 50256, "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024,
         "n_embd": \(hidden), "n_head": \(heads), "n_inner": null, "n_layer": \(layers), "n_positions": 1024,
         "summary_activation": null, "task_specific_params": {"text-generation": {"do_sample": true}},
         "vocab_size": 50257}
        """
    }

    static func llama2(layers: Int, hidden: Int, heads: Int, kvHeads: Int, feedForward: Int) -> String {
        """
        {"_name_or_path": "meta-llama/Llama-2", "architectures": ["LlamaForCausalLM"], "hidden_act": "silu",
         "hidden_size": \(hidden), "intermediate_size": \(feedForward), "max_position_embeddings": 4096,
         "model_type": "llama", "num_attention_heads": \(heads), "num_hidden_layers": \(layers),
         "num_key_value_heads": \(kvHeads), "rms_norm_eps": 1e-05, "rope_scaling": null,
         "tie_word_embeddings": false, "torch_dtype": "float16", "vocab_size": 32000}
        """
    }

    static let published: [(String, String, Int)] = [
        ("GPT-2 124M", gpt2(layers: 12, hidden: 768, heads: 12), 124_439_808),
        ("GPT-2 355M", gpt2(layers: 24, hidden: 1024, heads: 16), 354_823_168),
        ("GPT-2 774M", gpt2(layers: 36, hidden: 1280, heads: 20), 774_030_080),
        ("GPT-2 1.5B", gpt2(layers: 48, hidden: 1600, heads: 25), 1_557_611_200),
        ("Llama-2 7B", llama2(layers: 32, hidden: 4096, heads: 32, kvHeads: 32, feedForward: 11008), 6_738_415_616),
        ("Llama-2 13B", llama2(layers: 40, hidden: 5120, heads: 40, kvHeads: 40, feedForward: 13824), 13_015_864_320),
        ("Llama-2 70B", llama2(layers: 80, hidden: 8192, heads: 64, kvHeads: 8, feedForward: 28672), 68_976_648_192),
        ("Qwen2 0.5B", qwen2, 494_032_768),
    ]

    /// Qwen2-0.5B's config: GQA with 2 kv heads, tied embeddings, a bias on q, k and v only.
    static let qwen2 = """
        {"architectures": ["Qwen2ForCausalLM"], "hidden_act": "silu", "hidden_size": 896, "intermediate_size": 4864,
         "max_position_embeddings": 131072, "max_window_layers": 24, "model_type": "qwen2", "num_attention_heads": 14,
         "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
         "sliding_window": 131072, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 151936}
        """

    func parameterCount(_ model: TransformerModel) throws -> Int {
        try MemoryBudget.estimate(try StepTable(transformer: model.with(sequenceLength: 16))).parameterCount
    }

    @Test(
        "config.json gives the published counts: GPT-2 (4 sizes), Llama-2 7B, 13B, 70B, Qwen2 0.5B", arguments: published.indices)
    func publishedCounts(index: Int) throws {
        let (name, text, expected) = Self.published[index]
        guard case .transformer(let model) = try ProfileParser.parse(text, file: "config.json") else {
            Issue.record("\(name): not read as a transformer")
            return
        }
        #expect(try parameterCount(model) == expected, "\(name)")
        // The profile `memplan import` writes reads back to the same model.
        guard case .transformer(let again) = try ProfileParser.parse(model.profileText, file: "imported.yaml") else {
            Issue.record("\(name): the imported profile is not a transformer")
            return
        }
        #expect(again == model, "\(name)")
    }

    @Test("an unknown or refused model_type, a missing key, a head_dim memplan cannot hold: one error each")
    func refusals() {
        let gpt2 = Self.gpt2(layers: 2, hidden: 64, heads: 2)
        func message(_ text: String) -> String? {
            do {
                _ = try ProfileParser.parse(text, file: "config.json")
                return nil
            } catch {
                return error.description
            }
        }
        #expect(message(gpt2.replacingOccurrences(of: "\"gpt2\"", with: "\"gpt3\""))?.contains("did you mean 'gpt2'") == true)
        #expect(message(gpt2.replacingOccurrences(of: "\"gpt2\"", with: "\"bert\""))?.contains("is an encoder") == true)
        #expect(message(gpt2.replacingOccurrences(of: "\"n_layer\"", with: "\"layers\""))?.contains("missing 'n_layer'") == true)
        // Sizes past Int's reach are refused by name (they trapped in 4·hidden and the table's ranges).
        #expect(
            message(gpt2.replacingOccurrences(of: "\"n_embd\": 64", with: "\"n_embd\": 9223372036854775807"))?.contains(
                "memplan sizes transformers up to 4294967296 hidden") == true)
        #expect(
            message(gpt2.replacingOccurrences(of: "\"n_layer\": 2", with: "\"n_layer\": 9223372036854775807"))?.contains(
                "up to 100000 layers") == true)
        let llama = Self.llama2(layers: 2, hidden: 64, heads: 4, kvHeads: 2, feedForward: 128)
        #expect(
            message(llama.replacingOccurrences(of: "\"rms_norm_eps\"", with: "\"head_dim\": 32, \"x\""))?.contains(
                "head_dim · num_attention_heads") == true)
        #expect(message(llama.replacingOccurrences(of: "\"hidden_size\": 64", with: "\"hidden_size\": -64")) != nil)
    }
}

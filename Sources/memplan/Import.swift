// `memplan import`: the profile memplan derives from a model file a user already has, to read and edit.

import ArgumentParser
import ModelProfile
import Reports

extension Memplan {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the transformer profile memplan derives from a Hugging Face config.json.",
            discussion: """
                estimate, plan, train and capacity take a config.json wherever they take a profile; import shows (and saves) the profile they then use, so it can be read and edited: the shape from the file, then batch 1, the full context, fp32 and AdamW, which the subcommands' flags or an edit change.

                Read: model_type gpt2 (n_embd, n_layer, n_head, n_inner, n_positions), llama, mistral and qwen2 (hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads, intermediate_size, max_position_embeddings, tie_word_embeddings; qwen2's biases on q, k and v). Every other key is ignored. bert is refused, saying why.

                Examples:
                  memplan import config.json
                  memplan import config.json --output profiles/llama2-7b-hf.yaml
                  memplan estimate config.json --batch 8 --sequence 2048
                """)

        @Argument(help: "A Hugging Face config.json (or a profile, printed as memplan reads it); - reads standard input.")
        var file: String

        @Option(
            help: ArgumentHelp("Write the profile to this file (atomically) instead of standard output.", valueName: "file"))
        var output: String?

        func run() throws {
            guard case .transformer(let model) = try ModelFiles.loadProfile(file) else {
                throw CLIFailure.badInput(
                    "\(Markup.terminal(file)) is an MLP or bound profile already; import derives transformer profiles from config.json"
                )
            }
            // No path in the comment: a file name could carry line breaks (U+2028 too) and inject keys.
            let text = "# written by memplan import from a Hugging Face config.json\n" + model.profileText
            if let output {
                try RecordFile.checkWritable(output)
                try RecordFile.write(text, to: output)
                if !RecordFile.isStandardOutput(output) { print("Profile written to \(Markup.terminal(output))") }
            } else {
                print(text, terminator: "")
            }
        }
    }
}

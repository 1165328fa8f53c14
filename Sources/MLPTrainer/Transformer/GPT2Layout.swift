// A transformer's parameters in and out of llm.c's GPT-2 checkpoint: which models the format can hold, where each of
// memplan's parameter tensors (named `wte`, `h1.qkvw`, …, `lnfb`) sits in the file, and the two transfers (gather
// from a trainer for saving, scatter into any tensors for loading).

#if canImport(Glibc)
    import Glibc
#endif
import MemoryBudget
import ModelProfile

/// Why a transformer cannot be saved as, or generate from, an llm.c GPT-2 checkpoint.
public enum CheckpointShapeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model has a property llm.c's GPT-2 format cannot hold (`property` says which, and what GPT-2 has).
    case unsupportedShape(model: String, property: String)
    /// The checkpoint's header disagrees with the profile on `field`.
    case mismatch(path: String, field: String, checkpoint: Int, profile: String, profileValue: Int)

    public var description: String {
        switch self {
        case .unsupportedShape(let model, let property):
            "\(model) is not GPT-2-shaped, as llm.c's checkpoint format needs: \(property)"
        case .mismatch(let path, let field, let checkpoint, let profile, let value):
            "\(path) does not fit \(profile): the checkpoint has \(field) \(checkpoint), the profile \(value)"
        }
    }
}

extension GPT2Config {
    /// The header of a GPT-2-shaped model: LayerNorm, GELU with feed_forward = 4·hidden, learned positions, tied
    /// embeddings, biases, kv_heads = heads.
    ///
    /// - Throws: `CheckpointShapeError.unsupportedShape` naming the first property that differs.
    public init(_ spec: TransformerSpec, model: String) throws(CheckpointShapeError) {
        let checks: [(Bool, String)] = [
            (spec.norm == .layer, "norm is \(spec.norm.rawValue); GPT-2 uses layer norm"),
            (spec.feedForward == .gelu, "activation is \(spec.feedForward.rawValue); GPT-2 uses gelu"),
            (
                spec.feedForwardSize == 4 * spec.hiddenSize,
                "feed_forward is \(spec.feedForwardSize); GPT-2's is 4·hidden = \(4 * spec.hiddenSize)"
            ),
            (spec.positions == .learned, "positions are \(spec.positions.rawValue); GPT-2 learns them"),
            (spec.tiedEmbeddings, "the embeddings are untied; GPT-2's head reuses wte"),
            (spec.hasBiases && spec.hasQKVBias, "the linear layers have no biases; GPT-2's do"),
            (
                spec.keyValueHeadCount == spec.headCount,
                "kv_heads is \(spec.keyValueHeadCount); GPT-2 has one key/value head per query head (\(spec.headCount))"
            ),
        ]
        if let failed = checks.first(where: { !$0.0 }) { throw .unsupportedShape(model: model, property: failed.1) }
        self.init(
            maxSequenceLength: spec.contextLength, vocabularySize: spec.vocabularySize, layerCount: spec.layerCount,
            headCount: spec.headCount, channels: spec.hiddenSize, paddedVocabularySize: spec.paddedVocabularySize)
    }

    /// The first header field that differs from `spec`, by the profile's key: (key, checkpoint's, profile's value).
    public func firstDifference(from spec: TransformerSpec) -> (field: String, checkpoint: Int, profile: Int)? {
        let fields: [(String, Int, Int)] = [
            ("vocabulary", vocabularySize, spec.vocabularySize),
            ("padded_vocabulary", paddedVocabularySize, spec.paddedVocabularySize), ("layers", layerCount, spec.layerCount),
            ("heads", headCount, spec.headCount), ("hidden", channels, spec.hiddenSize),
            ("context", maxSequenceLength, spec.contextLength),
        ]
        return fields.first { $0.1 != $0.2 }
    }

    /// memplan's parameter tensor names in the file's order: llm.c's 16 tensors, each block tensor concatenated
    /// over the blocks (`wte`, `wpe`, `h1.ln1w` … `hL.ln1w`, `h1.ln1b`, …, `lnfw`, `lnfb`).
    public static func tensorNames(layers: Int) -> [String] {
        parameterNames.flatMap { name in
            ["wte", "wpe", "lnfw", "lnfb"].contains(name) ? [name] : (1...max(1, layers)).map { "h\($0).\(name)" }
        }
    }
}

extension GPT2Checkpoint {
    /// Writes `parameters` like `write(_:config:to:)`, but atomically: into a temporary file beside `path`, then
    /// renamed over it, so a reader never sees half a checkpoint. A character device (`/dev/null`) is written
    /// through, never replaced; the caller resolves symbolic links (`OutputFile.target`), so a link's target is
    /// the file updated.
    public static func writeAtomically(_ parameters: [Float], config: GPT2Config, to path: String) throws(GPT2CheckpointError) {
        var status = stat()
        if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFCHR {
            try write(parameters, config: config, to: path)
            return
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = "\(directory).\(name).\(getpid()).tmp"
        do {
            try write(parameters, config: config, to: temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .ioFailed(path: path, operation: "rename", errno: code)
        }
    }

    /// Reads a checkpoint's parameters straight into `tensors`, given in the file's order (`GPT2Config.tensorNames`):
    /// each buffer receives the next `count` floats. Returns the validated header.
    ///
    /// - Throws: `GPT2CheckpointError` for a bad file, or `.parameterCountMismatch` when the buffers do not add up to
    ///   the header's parameter count.
    @discardableResult
    public static func read(from path: String, scattering tensors: [UnsafeMutableBufferPointer<Float>])
        throws(GPT2CheckpointError) -> GPT2Config
    {
        let file = try File(path: path, writing: false)
        defer { file.close() }
        let config = try file.readConfig()
        let count = try config.parameterCount()
        let total = tensors.reduce(0) { $0 + $1.count }
        guard total == count else { throw .parameterCountMismatch(expected: count, actual: total) }
        var offset = headerByteCount
        for tensor in tensors {
            try file.read(into: UnsafeMutableRawBufferPointer(tensor), at: offset)
            offset += tensor.count * 4
        }
        return config
    }
}

/// The parameters in llm.c's order as fp32: `value(index, i)` is element i of the table's parameter `index`, `counts`
/// each parameter's element count.
func llmcOrdered(table: StepTable, layers: Int, counts: [Int], value: (Int, Int) -> Float) -> [Float] {
    var byName: [String: Int] = [:]
    for (index, id) in table.parameterIDs.enumerated() { byName[table.spec(id)!.name] = index }
    var values: [Float] = []
    values.reserveCapacity(counts.reduce(0, +))
    for name in GPT2Config.tensorNames(layers: layers) {
        guard let index = byName[name] else { preconditionFailure("gpt2Parameters: the model has no tensor \(name)") }
        for i in 0..<counts[index] { values.append(value(index, i)) }
    }
    return values
}

extension TransformerTrainer {
    /// The parameters in llm.c's order as fp32.
    func gpt2Parameters() -> [Float] {
        llmcOrdered(
            table: program.table, layers: spec.layerCount, counts: tensors.parameters.map(\.count),
            value: { Float(tensors.parameters[$0].values[$1]) })
    }
}

extension MixedTransformerTrainer {
    /// The fp32 master weights in llm.c's order.
    func gpt2Parameters() -> [Float] {
        llmcOrdered(
            table: program.table, layers: spec.layerCount, counts: tensors.parameters.map(\.count),
            value: { masters[$0][$1] })
    }
}

extension TransformerEngine {
    /// Writes the trained parameters as an llm.c GPT-2 checkpoint (fp32, atomically), from outside the step loop.
    ///
    /// - Throws: `CheckpointShapeError.unsupportedShape` for a model the format cannot hold (check with
    ///   `GPT2Config(_:model:)` before training), `GPT2CheckpointError` when the file cannot be written.
    public func saveGPT2Checkpoint(to path: String) throws {
        let model = program.table.transformer!
        let config = try GPT2Config(model.spec, model: model.name)
        let parameters: [Float]
        switch storage {
        case .single(let trainer): parameters = trainer.gpt2Parameters()
        case .double(let trainer): parameters = trainer.gpt2Parameters()
        case .mixed(let trainer): parameters = trainer.gpt2Parameters()
        }
        try GPT2Checkpoint.writeAtomically(parameters, config: config, to: path)
    }
}

extension GPT2CheckpointError {
    /// The file is not there (`open` failed with ENOENT): a resource missing, not a bad file.
    public var isMissingFile: Bool {
        if case .cannotOpen(_, let code) = self { return code == ENOENT }
        return false
    }
}

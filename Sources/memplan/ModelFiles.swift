// Model files a user already has, where a profile goes: a safetensors file or sharded index and an ONNX graph.
// A plain MLP in ONNX becomes an exact profile (estimated, planned and trained like a hand-written one, on
// synthetic data of its shape); everything else gets the estimate-only `ModelFileReport`.

import Foundation
import MemoryBudget
import ModelImport
import ModelProfile
import Reports

enum ModelFiles {
    enum Kind: String {
        case safetensors, safetensorsIndex = "safetensors-index", onnx
    }

    /// The model-file format `path` names by its extension, or nil for a profile.
    static func kind(of path: String) -> Kind? {
        let lower = path.lowercased()
        if lower.hasSuffix(".onnx") { return .onnx }
        if lower.hasSuffix(".safetensors") { return .safetensors }
        if lower.hasSuffix("index.json") { return .safetensorsIndex }  // model.safetensors.index.json
        return nil
    }

    /// Runs `body`, turning the readers' errors into one line and exit 2.
    static func reading<T>(_ body: () throws(ImportError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw CLIFailure.badInput(error.description)
        }
    }

    /// An ONNX graph that is a plain MLP, as an exact profile: its widths, activations and biases; softmax
    /// cross-entropy after a softmax output, else L2; synthetic data of its shape. Nil for any other graph.
    static func mlpProfile(_ path: String) throws -> Profile? {
        let graph = try reading { () throws(ImportError) in try ONNXModel.read(path: path) }
        guard let mlp = graph.recognizeMLP() else { return nil }
        var layers: [LayerSpec] = []
        for index in mlp.activations.indices {
            let activation: Activation =
                switch mlp.activations[index] {
                case .identity: .identity
                case .relu: .relu
                case .sigmoid: .sigmoid
                case .tanh: .tanh
                case .softmax: .softmax
                }
            layers.append(
                LayerSpec(
                    inputWidth: mlp.widths[index], outputWidth: mlp.widths[index + 1], activation: activation,
                    hasBias: mlp.biases[index]))
        }
        let softmax = layers.last?.activation == .softmax
        let name = PathName.stem(path)
        do {
            let model = try Model(
                name: name, inputShape: [mlp.widths[0]], layers: layers, loss: softmax ? .softmaxCrossEntropy : .l2,
                metrics: softmax ? [.zeroOne] : [], batchSize: 32,
                data: .synthetic(task: softmax ? .classes : .regression, count: 10_000, testCount: 1_000, noise: 0.05, seed: 1))
            return .exact(model)
        } catch {
            throw CLIFailure.badInput("\(Markup.terminal(path)): the MLP in this graph is not one memplan can train: \(error)")
        }
    }

    /// The estimate-only document of a safetensors file, a sharded index, or an ONNX graph that is not an MLP.
    static func report(_ path: String, kind: Kind, batch: Int) throws -> ModelFileReport {
        var notes: [String] = []
        let tensors: (parameters: [ImportedTensor], buffers: [ImportedTensor], all: [ImportedTensor])
        var activations: ModelFileReport.Activations?
        switch kind {
        case .safetensors:
            let file = try reading { () throws(ImportError) in try SafetensorsFile.read(path: path) }
            tensors = (file.parameters, file.buffers, file.tensors)
        case .safetensorsIndex:
            let index = try reading { () throws(ImportError) in try SafetensorsIndex.read(path: path) }
            tensors = (index.parameters, index.buffers, index.tensors)
            notes += index.warnings
            notes.append("\(index.shards.count) shard\(index.shards.count == 1 ? "" : "s") summed")
        case .onnx:
            let graph = try reading { () throws(ImportError) in try ONNXModel.read(path: path) }
            let weights = try reading { () throws(ImportError) in try graph.weights() }
            tensors = (weights.parameters, weights.buffers, weights.parameters + weights.buffers)
            let estimate = try reading { () throws(ImportError) in try graph.estimateActivations(batchSize: batch) }
            activations = ModelFileReport.Activations(
                batch: batch, inputBytes: estimate.inputBytes, savedBytes: estimate.savedBytes,
                peakWorkspaceBytes: estimate.peakWorkspaceBytes, totalBytes: estimate.totalBytes,
                skippedOps: estimate.skippedOps.map { ModelFileReport.SkippedOp(op: $0.opType, count: $0.count) },
                unresolvedNodes: estimate.unresolvedNodes, complete: estimate.isComplete)
            notes.append("Not a plain MLP, so estimate-only: memplan trains MLPs and transformers.")
        }
        let buffers = tensors.buffers.map { tensor in
            ModelFileReport.Buffer(
                name: tensor.name, kind: tensor.bufferKind?.rawValue ?? "buffer", dtype: tensor.dtype.rawValue,
                shape: tensor.shape, bytes: tensor.byteCount)
        }
        let dtypes = DTypeTotal.totals(tensors.all).map {
            ModelFileReport.DType(
                dtype: $0.dtype.rawValue, tensors: $0.tensorCount, elements: $0.elementCount, bytes: $0.byteCount)
        }
        let parameters = tensors.parameters.elementCount
        return ModelFileReport(
            file: path, format: kind.rawValue, parameters: parameters, parameterBytes: tensors.parameters.byteCount,
            buffers: buffers, dtypes: dtypes, activations: activations,
            crossCheck: kind == .onnx ? nil : crossCheck(weightsPath: path, parameters: parameters), notes: notes)
    }

    /// The config.json in the weights' directory, counted as a profile, against `parameters`; nil when there is none.
    static func crossCheck(weightsPath: String, parameters: Int) -> ModelFileReport.CrossCheck? {
        let directory = (weightsPath as NSString).deletingLastPathComponent
        let config = (directory.isEmpty ? "." : directory) + "/config.json"
        guard FileManager.default.fileExists(atPath: config) else { return nil }
        let counted: Int
        do {
            guard case .transformer(let model) = try ProfileParser.load(path: config) else {
                return .init(config: config, configParameters: nil, agrees: false, note: "not a transformer config")
            }
            counted = try MemoryBudget.estimate(try StepTable(transformer: model.with(sequenceLength: 1))).parameterCount
        } catch {
            return .init(config: config, configParameters: nil, agrees: false, note: "not counted: \(error)")
        }
        let agrees = counted == parameters
        let note =
            agrees
            ? "\(ByteUnits.grouped(counted)) parameters, as the weights hold"
            : "\(ByteUnits.grouped(counted)) parameters, the weights hold \(ByteUnits.grouped(parameters)): they disagree"
        return .init(config: config, configParameters: counted, agrees: agrees, note: note)
    }
}

/// A file's name without its directory and extensions, for a model name.
enum PathName {
    static func stem(_ path: String) -> String {
        let name = (path as NSString).lastPathComponent
        return name.split(separator: ".").first.map(String.init) ?? name
    }
}

extension ModelFiles {
    /// The profile at `path`: a profile or config.json as `ProfileParser` reads it, an ONNX MLP as an exact profile.
    /// A safetensors file or another ONNX graph is refused here (exit 2): only `estimate` reads those.
    static func loadProfile(_ path: String) throws -> Profile {
        guard let kind = kind(of: path) else { return try ProfileParser.load(path: path) }
        if kind == .onnx, let profile = try mlpProfile(path) { return profile }
        throw CLIFailure.badInput(
            "\(Markup.terminal(path)) is \(kind == .onnx ? "an ONNX graph that is not a plain MLP" : "a \(kind.rawValue) file"): "
                + "`memplan estimate` reads its parameters (estimate-only); planning and training need a profile, a "
                + "config.json or an ONNX MLP")
    }
}

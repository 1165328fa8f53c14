// `memplan estimate` of a model file that is not a profile memplan trains (a safetensors file or sharded index, an
// ONNX graph that is not a plain MLP): its parameters and buffers from the headers, its bytes by element type,
// and for ONNX the activations its ops save at a batch size. Estimate-only, and the document says so.

/// The `--format json` contract of `memplan estimate FILE` for model files:
/// `{"file", "format", "parameters", "parameter_bytes", "buffers": [{"name", "kind", "dtype", "shape", "bytes"}],
/// "dtypes": [{"dtype", "tensors", "elements", "bytes"}], "activations"?: {"batch", "input_bytes", "saved_bytes",
/// "peak_workspace_bytes", "total_bytes", "skipped_ops": [{"op", "count"}], "unresolved_nodes", "complete"},
/// "cross_check"?: {"config", "config_parameters", "agrees", "note"}, "notes": […]}`.
public struct ModelFileReport: Codable, Sendable, Equatable, ReportDocument {
    public struct Buffer: Codable, Sendable, Equatable {
        public var name: String
        /// Why it is not a parameter: position_ids, rotary inv_freq, running statistics, …
        public var kind: String
        public var dtype: String
        public var shape: [Int]
        public var bytes: Int

        public init(name: String, kind: String, dtype: String, shape: [Int], bytes: Int) {
            (self.name, self.kind, self.dtype, self.shape, self.bytes) = (name, kind, dtype, shape, bytes)
        }
    }

    public struct DType: Codable, Sendable, Equatable {
        public var dtype: String
        public var tensors: Int
        public var elements: Int
        public var bytes: Int

        public init(dtype: String, tensors: Int, elements: Int, bytes: Int) {
            (self.dtype, self.tensors, self.elements, self.bytes) = (dtype, tensors, elements, bytes)
        }
    }

    public struct SkippedOp: Codable, Sendable, Equatable {
        public var op: String
        public var count: Int

        public init(op: String, count: Int) { (self.op, self.count) = (op, count) }
    }

    /// What an ONNX graph's ops keep for the backward pass at `batch` samples (its own shape inference).
    public struct Activations: Codable, Sendable, Equatable {
        public var batch: Int
        public var inputBytes: Int
        public var savedBytes: Int
        /// The largest workspace one op needs at a time (convolution's im2col).
        public var peakWorkspaceBytes: Int
        public var totalBytes: Int
        /// Ops memplan cannot size, which the totals leave out.
        public var skippedOps: [SkippedOp]
        public var unresolvedNodes: [String]
        public var complete: Bool

        public init(
            batch: Int, inputBytes: Int, savedBytes: Int, peakWorkspaceBytes: Int, totalBytes: Int, skippedOps: [SkippedOp],
            unresolvedNodes: [String], complete: Bool
        ) {
            (self.batch, self.inputBytes, self.savedBytes, self.peakWorkspaceBytes) = (
                batch, inputBytes, savedBytes, peakWorkspaceBytes
            )
            (self.totalBytes, self.skippedOps, self.unresolvedNodes, self.complete) = (
                totalBytes, skippedOps, unresolvedNodes, complete
            )
        }
    }

    /// A config.json beside the weights, counted as a profile, against the weights' parameters.
    public struct CrossCheck: Codable, Sendable, Equatable {
        public var config: String
        @Nullable public var configParameters: Int?
        public var agrees: Bool
        public var note: String

        public init(config: String, configParameters: Int?, agrees: Bool, note: String) {
            (self.config, self.configParameters, self.agrees, self.note) = (config, configParameters, agrees, note)
        }
    }

    public var file: String
    /// safetensors, safetensors-index or onnx.
    public var format: String
    public var parameters: Int
    public var parameterBytes: Int
    public var buffers: [Buffer]
    public var dtypes: [DType]
    public var activations: Activations?
    public var crossCheck: CrossCheck?
    public var notes: [String]

    public static let formats: [ReportFormat] = [.table, .json]

    public init(
        file: String, format: String, parameters: Int, parameterBytes: Int, buffers: [Buffer], dtypes: [DType],
        activations: Activations? = nil, crossCheck: CrossCheck? = nil, notes: [String] = []
    ) {
        (self.file, self.format, self.parameters, self.parameterBytes) = (file, format, parameters, parameterBytes)
        (self.buffers, self.dtypes, self.activations, self.crossCheck, self.notes) = (
            buffers, dtypes, activations, crossCheck, notes
        )
    }

    public var tableText: String {
        var out = "memplan estimate — \(Markup.terminal(file)) (\(format), read from its headers; estimate-only)\n\n"
        out += "Parameters: \(ByteUnits.grouped(parameters)) (\(ByteUnits.grouped(parameterBytes)) B as stored)\n"
        var types = TextTable(columns: [.left("dtype"), .right("tensors"), .right("elements"), .right("bytes")])
        for row in dtypes {
            types.append([
                Markup.terminal(row.dtype), ByteUnits.grouped(row.tensors), ByteUnits.grouped(row.elements),
                ByteUnits.grouped(row.bytes),
            ])
        }
        out += "\n" + types.renderText()
        if !buffers.isEmpty {
            var table = TextTable(columns: [
                .left("buffer (not a parameter)"), .left("kind"), .left("dtype"), .left("shape"), .right("bytes"),
            ])
            for buffer in buffers {
                table.append([
                    Markup.terminal(buffer.name), Markup.terminal(buffer.kind), Markup.terminal(buffer.dtype),
                    "[" + buffer.shape.map(String.init).joined(separator: ", ") + "]", ByteUnits.grouped(buffer.bytes),
                ])
            }
            out += "\n" + table.renderText()
        }
        if let activations {
            out += "\nActivations at batch \(activations.batch): input \(ByteUnits.grouped(activations.inputBytes)) B, "
            out += "saved for the backward pass \(ByteUnits.grouped(activations.savedBytes)) B, "
            out += "largest workspace \(ByteUnits.grouped(activations.peakWorkspaceBytes)) B; "
            out += "total \(ByteUnits.grouped(activations.totalBytes)) B\n"
            if activations.complete {
                out += "Every op was sized (skipped ops: none).\n"
            } else {
                let skipped = activations.skippedOps.map { "\(Markup.terminal($0.op)) ×\($0.count)" }
                out +=
                    "NOT sized, left out of the totals: "
                    + (skipped + activations.unresolvedNodes.map(Markup.terminal))
                    .joined(separator: ", ") + "\n"
            }
        }
        if let check = crossCheck {
            out += "\nconfig.json beside it (\(Markup.terminal(check.config))): \(Markup.terminal(check.note))\n"
        }
        for note in notes { out += "\n" + Markup.terminal(note) + "\n" }
        return out
    }
}

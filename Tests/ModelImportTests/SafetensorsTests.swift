import Foundation
import ModelImport
import Testing

@Suite("safetensors headers")
struct SafetensorsTests {
    let path = "test.safetensors"

    /// True when `error` is the case named `name` (and, for wrongType, about `field`).
    func matches(_ error: ImportError?, is name: String, field: String? = nil) -> Bool {
        guard let error, Mirror(reflecting: error).children.first?.label == name else { return false }
        guard let field else { return true }
        if case .wrongType(_, let actual, _, _) = error { return actual == field }
        return false
    }

    @Test("a small file: shapes, sizes, totals by dtype, parameters and buffers")
    func small() throws {
        let bytes = safetensorsFile(
            [
                ("embeddings.position_ids", "I64", [1, 5]),
                ("embeddings.word_embeddings.weight", "F32", [10, 4]),
                ("h.0.attn.bias", "BOOL", [1, 1, 5, 5]),
                ("h.0.attn.c_attn.bias", "BF16", [12]),
                ("h.0.attn.c_attn.weight", "BF16", [4, 12]),
                ("bn.running_mean", "F32", [4]),
                ("scalar", "F64", []),
                ("empty", "F16", [0, 7]),
            ], metadata: ["format": "pt"])
        let file = try SafetensorsFile.parse(fileBytes: bytes, path: path)
        #expect(file.metadata == ["format": "pt"])
        #expect(file.tensors.map(\.name).first == "embeddings.position_ids")  // header order
        #expect(file.tensors.count == 8)
        let byName = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0) })
        #expect(byName["embeddings.word_embeddings.weight"]?.elementCount == 40)
        #expect(byName["embeddings.word_embeddings.weight"]?.byteCount == 160)
        #expect(byName["h.0.attn.c_attn.weight"]?.byteCount == 96)
        #expect(byName["scalar"]?.elementCount == 1)
        #expect(byName["empty"]?.byteCount == 0)
        #expect(file.dataByteCount == 369)  // 40 + 160 + 25 + 24 + 96 + 16 + 8
        // Parameters: the word embeddings, c_attn's weight and bias, the scalar, the empty tensor.
        #expect(file.parameterCount == 101)  // 40 + 12 + 48 + 1
        #expect(Set(file.buffers.map(\.name)) == ["embeddings.position_ids", "h.0.attn.bias", "bn.running_mean"])
        #expect(file.buffers.byteCount == 81)  // 40 + 25 + 16
        #expect(byName["h.0.attn.bias"]?.bufferKind == .causalMask)
        let totals = file.totalsByDType
        #expect(totals.first?.dtype == .float32)  // most bytes first
        #expect(
            totals.first { $0.dtype == .bfloat16 }
                == DTypeTotal(dtype: .bfloat16, tensorCount: 2, elementCount: 60, byteCount: 120))
        #expect(totals.map(\.byteCount).reduce(0, +) == file.dataByteCount)
    }

    @Test(
        "the parameter-versus-buffer rule",
        arguments: [
            ("bert.embeddings.position_ids", TensorDType.int64, BufferKind?.some(.positionIDs)),
            ("model.layers.0.self_attn.rotary_emb.inv_freq", .float32, .rotaryFrequencies),
            ("layer1.0.bn1.running_mean", .float32, .batchNormStatistics),
            ("layer1.0.bn1.running_var", .float32, .batchNormStatistics),
            ("layer1.0.bn1.num_batches_tracked", .int64, .batchNormStatistics),
            ("transformer.h.11.attn.bias", .float32, .causalMask),
            ("h.0.attn.masked_bias", .float32, .causalMask),
            ("h.0.crossattention.bias", .bool, .causalMask),
            ("h.0.attn.c_attn.bias", .float32, nil),
            ("attn.bias", .float32, .causalMask),
            ("bias", .float32, nil),
            ("layer1.0.bn1.weight", .float32, nil),
            ("token_type_ids", .int32, .integerTensor),
            ("mask", .bool, .integerTensor),
            ("lm_head.weight", .bfloat16, nil),
            ("position_ids_scale", .float32, nil),
        ])
    func rule(name: String, dtype: TensorDType, expected: BufferKind?) {
        #expect(BufferKind.of(name: name, dtype: dtype) == expected)
    }

    @Test("every dtype the format names, with its size")
    func dtypes() throws {
        for (name, bytes) in safetensorsElementBytes {
            let file = try SafetensorsFile.parse(fileBytes: safetensorsFile([("t", name, [3, 2])]), path: path)
            #expect(file.tensors[0].byteCount == 6 * bytes, "\(name)")
            #expect(file.tensors[0].dtype.safetensorsName == name)
        }
        #expect(TensorDType.safetensorsNames.count == safetensorsElementBytes.count)
        // Sub-byte types (ONNX's INT4, FLOAT4E2M1, INT2) round up to whole bytes.
        #expect(TensorDType.int4.byteCount(elements: 3) == 2)
        #expect(TensorDType.float4E2M1.byteCount(elements: 4) == 2)
        #expect(TensorDType.int2.byteCount(elements: 5) == 2)
        #expect(TensorDType.int64.byteCount(elements: Int.max / 4) == nil)
    }

    @Test("bad files: length, truncation, caps")
    func badFraming() {
        #expect(
            safetensorsError([1, 0, 0])
                == .truncated(path: path, what: "the 8-byte header length", offset: 0, needed: 8, available: 3))
        var beyond = rawSafetensors(header: "{}")
        beyond[0] = 3  // N = 3, but only 2 header bytes follow
        #expect(
            safetensorsError(beyond) == .truncated(path: path, what: "the 3-byte JSON header", offset: 8, needed: 3, available: 2)
        )
        let huge: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0x80] + Array("{}".utf8)
        guard case .sizeLimit(_, _, let value, let limit, _) = safetensorsError(huge) else {
            Issue.record("a 2^63-byte header length is refused")
            return
        }
        #expect(value == 1 << 63)
        #expect(limit == UInt64(SafetensorsFile.maximumHeaderBytes))
        let justOver = UInt64(SafetensorsFile.maximumHeaderBytes + 1)
        let over = (0..<8).map { UInt8(truncatingIfNeeded: justOver >> (8 * UInt64($0))) } + Array("{}".utf8)
        #expect(matches(safetensorsError(over), is: "sizeLimit"))
        // An empty header object is a valid file with no tensors; trailing spaces are padding.
        #expect(safetensorsError(rawSafetensors(header: "{}    ")) == nil)
    }

    @Test("bad headers: not JSON, not an object, wrong entries")
    func badHeaders() {
        #expect(headerError("{\"a\":") == .malformedJSON(path: path, offset: 5, problem: "the text ends where a value should be"))
        #expect(
            headerError("[1, 2]")
                == .wrongType(path: path, field: "the header", expected: "a JSON object of tensors", got: "an array"))
        #expect(matches(headerError("{\"w\": 3}"), is: "wrongType", field: "tensor 'w'"))
        #expect(
            headerError("{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}")
                == .missingField(path: path, tensor: "w", field: "dtype"))
        #expect(
            headerError("{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}")
                == .missingField(path: path, tensor: "w", field: "shape"))
        #expect(
            headerError("{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}")
                == .missingField(path: path, tensor: "w", field: "data_offsets"))
        #expect(
            headerError("{\"w\": {\"dtype\": \"F33\", \"shape\": [1], \"data_offsets\": [0, 4]}}")
                == .unknownDType(path: path, tensor: "w", dtype: "F33"))
        #expect(matches(headerError("{\"w\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}}"), is: "wrongType"))
        #expect(matches(headerError("{\"__metadata__\": {\"format\": 1}}"), is: "wrongType", field: "__metadata__.'format'"))
        #expect(matches(headerError("{\"__metadata__\": []}"), is: "wrongType", field: "__metadata__"))
    }

    @Test("bad shapes: negative, fractional, too large, overflowing")
    func badShapes() {
        func entry(_ shape: String, _ offsets: String = "[0, 4]", dtype: String = "F32") -> String {
            "{\"w\": {\"dtype\": \"\(dtype)\", \"shape\": \(shape), \"data_offsets\": \(offsets)}}"
        }
        #expect(headerError(entry("[2, -1]")) == .invalidDimension(path: path, tensor: "w", index: 1, value: "-1"))
        #expect(headerError(entry("[1.5]")) == .invalidDimension(path: path, tensor: "w", index: 0, value: "1.5"))
        #expect(headerError(entry("[1e3]")) == .invalidDimension(path: path, tensor: "w", index: 0, value: "1e3"))
        #expect(
            headerError(entry("[9223372036854775808]"))
                == .invalidDimension(path: path, tensor: "w", index: 0, value: "9223372036854775808"))
        #expect(headerError(entry("[\"4\"]")) == .invalidDimension(path: path, tensor: "w", index: 0, value: "a string"))
        #expect(matches(headerError(entry("4")), is: "wrongType", field: "tensor 'w'.shape"))
        // 2^32 × 2^32 elements overflows Int; 2^62 elements of 4 bytes overflows the byte count.
        #expect(
            headerError(entry("[4294967296, 4294967296]")) == .sizeOverflow(path: path, tensor: "w", shape: [1 << 32, 1 << 32]))
        #expect(headerError(entry("[4611686018427387904]")) == .sizeOverflow(path: path, tensor: "w", shape: [1 << 62]))
        // A zero dimension makes an empty tensor even when the others are huge.
        #expect(headerError(entry("[4294967296, 4294967296, 0]", "[0, 0]")) == nil)
    }

    @Test("bad data_offsets: wrong span, past the data, overlapping, malformed")
    func badOffsets() {
        func entry(_ offsets: String, shape: String = "[2, 2]") -> String {
            "{\"w\": {\"dtype\": \"F32\", \"shape\": \(shape), \"data_offsets\": \(offsets)}}"
        }
        #expect(headerError(entry("[0, 15]")) == .offsetsMismatch(path: path, tensor: "w", begin: 0, end: 15, expectedBytes: 16))
        #expect(headerError(entry("[16, 0]")) == .offsetsMismatch(path: path, tensor: "w", begin: 16, end: 0, expectedBytes: 16))
        #expect(
            headerError(entry("[8, 24]"), dataBytes: 20)
                == .offsetsPastData(path: path, tensor: "w", begin: 8, end: 24, dataBytes: 20))
        #expect(headerError(entry("[0, 16]"), dataBytes: 16) == nil)  // ends exactly at the end: fine
        #expect(
            headerError(entry("[0, 16]"), dataBytes: 15)
                == .offsetsPastData(path: path, tensor: "w", begin: 0, end: 16, dataBytes: 15))
        #expect(matches(headerError(entry("[0]")), is: "wrongType", field: "tensor 'w'.data_offsets"))
        #expect(matches(headerError(entry("[-4, 12]")), is: "wrongType", field: "tensor 'w'.data_offsets"))
        #expect(matches(headerError(entry("[9223372036854775807, 9223372036854775807]"), dataBytes: 16), is: "offsetsMismatch"))
        let overlapping = """
            {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}}
            """
        #expect(headerError(overlapping) == .overlappingTensors(path: path, first: "a", second: "b"))
        let adjacent = """
            {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}
            """
        #expect(headerError(adjacent) == nil)
    }

    @Test("files on disk: read only the header; missing, directory and truncated files")
    func disk() throws {
        let files = try TemporaryFiles()
        let good = try files.write("model.safetensors", safetensorsFile([("w", "F32", [3, 3]), ("b", "F32", [3])]))
        let file = try SafetensorsFile.read(path: good)
        #expect(file.parameterCount == 12)
        #expect(file.dataByteCount == 48)
        #expect(throws: ImportError.fileNotFound(path: files.path("absent.safetensors"))) {
            try SafetensorsFile.read(path: files.path("absent.safetensors"))
        }
        #expect(throws: ImportError.unreadable(path: files.directory.path, reason: "not a regular file")) {
            try SafetensorsFile.read(path: files.directory.path)
        }
        let short = try files.write("short.safetensors", Array(safetensorsFile([("w", "F32", [3, 3])]).dropLast(4)))
        #expect(throws: ImportError.self) { try SafetensorsFile.read(path: short) }
        let cut = try files.write("cut.safetensors", Array(rawSafetensors(header: "{\"a\": 1}").prefix(12)))
        #expect(throws: ImportError.truncated(path: cut, what: "the 8-byte JSON header", offset: 8, needed: 8, available: 4)) {
            try SafetensorsFile.read(path: cut)
        }
    }

    @Test("messages are one printable line, with names from the file escaped and shortened")
    func messages() {
        let hostile = "evil\\n\\u001b[31mred\\u2028" + String(repeating: "x", count: 500)
        let error = headerError("{\"\(hostile)\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}")
        let text = error?.description ?? ""
        #expect(text.hasPrefix("test.safetensors: tensor 'evil\\n\\u{1B}[31mred\\u{2028}xxx"))
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x2028 })
        #expect(text.count < 300)
        #expect(text.contains("…"))
    }

    @Test(
        "all-MiniLM-L6-v2 (scripts/fetch-import-fixtures.sh): 22,713,216 parameters, position_ids a buffer",
        .enabled(if: fixtureExists("minilm/model.safetensors")))
    func miniLM() throws {
        let file = try SafetensorsFile.read(path: fixturePath("minilm/model.safetensors"))
        #expect(file.parameterCount == 22_713_216)
        #expect(file.buffers.map(\.name) == ["embeddings.position_ids"])
        #expect(file.buffers.first?.byteCount == 512 * 8)
        #expect(file.metadata["format"] == "pt")
        #expect(file.totalsByDType.first?.byteCount == 22_713_216 * 4)
        #expect(file.tensors.byteCount == file.dataByteCount)
    }
}

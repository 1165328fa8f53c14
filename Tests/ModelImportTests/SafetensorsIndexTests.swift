import Foundation
import ModelImport
import Testing

@Suite("sharded safetensors (model.safetensors.index.json)")
struct SafetensorsIndexTests {
    /// Two shards in a fresh directory, and an index over them: shard 1 holds the embeddings and layer 0,
    /// shard 2 layer 1 and the head.
    func twoShards(weightMap: [String: String]? = nil, totalSize: Int? = nil) throws -> (TemporaryFiles, String) {
        let files = try TemporaryFiles()
        try files.write(
            "model-00001-of-00002.safetensors",
            safetensorsFile([
                ("embed.weight", "BF16", [10, 8]), ("layers.0.weight", "BF16", [8, 8]), ("embed.position_ids", "I64", [1, 4]),
            ]))
        try files.write(
            "model-00002-of-00002.safetensors",
            safetensorsFile([("layers.1.weight", "BF16", [8, 8]), ("head.weight", "F32", [8, 10]), ("head.bias", "F32", [10])]))
        let map =
            weightMap ?? [
                "embed.weight": "model-00001-of-00002.safetensors", "layers.0.weight": "model-00001-of-00002.safetensors",
                "embed.position_ids": "model-00001-of-00002.safetensors", "layers.1.weight": "model-00002-of-00002.safetensors",
                "head.weight": "model-00002-of-00002.safetensors", "head.bias": "model-00002-of-00002.safetensors",
            ]
        let entries = map.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ")
        let metadata = totalSize.map { "\"metadata\": {\"total_size\": \($0)}, " } ?? ""
        let path = try files.write("model.safetensors.index.json", Array("{\(metadata)\"weight_map\": {\(entries)}}".utf8))
        return (files, path)
    }

    @Test("two shards add up; position_ids is a buffer; a total_size that disagrees is a warning")
    func agree() throws {
        let (files, path) = try twoShards(totalSize: 572)
        let index = try SafetensorsIndex.read(path: path)
        #expect(
            index.shards.map { URL(fileURLWithPath: $0.path).lastPathComponent } == [
                "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
            ])
        #expect(index.tensors.count == 6)
        #expect(index.parameterCount == 80 + 64 + 64 + 80 + 10)
        #expect(index.buffers.map(\.name) == ["embed.position_ids"])
        // BF16 208 × 2 = 416, I64 4 × 8 = 32, F32 90 × 4 = 360.
        #expect(index.tensorByteCount == 808)
        #expect(index.declaredTotalSize == 572)
        #expect(index.warnings.count == 1)
        #expect(index.warnings.first?.contains("total_size says 572 bytes, the shards' tensors add up to 808 (+236)") == true)
        _ = files
    }

    @Test("a matching total_size gives no warning; a missing one is fine")
    func totals() throws {
        let (files, path) = try twoShards(totalSize: 808)
        #expect(try SafetensorsIndex.read(path: path).warnings.isEmpty)
        let (files2, path2) = try twoShards(totalSize: nil)
        let index = try SafetensorsIndex.read(path: path2)
        #expect(index.declaredTotalSize == nil)
        #expect(index.warnings.isEmpty)
        _ = (files, files2)
    }

    @Test("disagreements between the map and the shards are errors that name the tensor and the shard")
    func disagreements() throws {
        var map = [
            "embed.weight": "model-00001-of-00002.safetensors", "layers.0.weight": "model-00001-of-00002.safetensors",
            "embed.position_ids": "model-00001-of-00002.safetensors", "layers.1.weight": "model-00002-of-00002.safetensors",
            "head.weight": "model-00002-of-00002.safetensors", "head.bias": "model-00002-of-00002.safetensors",
        ]
        // The map puts a tensor in the wrong shard.
        map["head.bias"] = "model-00001-of-00002.safetensors"
        var (files, path) = try twoShards(weightMap: map)
        #expect(throws: ImportError.tensorNotInIndex(path: path, tensor: "head.bias", shard: "model-00002-of-00002.safetensors"))
        {
            try SafetensorsIndex.read(path: path)
        }
        // The map names a tensor no shard has.
        map["head.bias"] = "model-00002-of-00002.safetensors"
        map["ghost.weight"] = "model-00002-of-00002.safetensors"
        (files, path) = try twoShards(weightMap: map)
        #expect(
            throws: ImportError.tensorNotInShard(path: path, tensor: "ghost.weight", shard: "model-00002-of-00002.safetensors")
        ) {
            try SafetensorsIndex.read(path: path)
        }
        let message =
            "\(ImportError.tensorNotInShard(path: path, tensor: "ghost.weight", shard: "model-00002-of-00002.safetensors"))"
        #expect(
            message.hasSuffix(
                "weight_map puts tensor 'ghost.weight' in 'model-00002-of-00002.safetensors', but that shard's header has no such tensor"
            ))
        // A shard holds a tensor the map leaves out.
        map["ghost.weight"] = nil
        map["head.weight"] = nil
        (files, path) = try twoShards(weightMap: map)
        #expect(
            throws: ImportError.tensorNotInIndex(path: path, tensor: "head.weight", shard: "model-00002-of-00002.safetensors")
        ) {
            try SafetensorsIndex.read(path: path)
        }
        _ = files
    }

    @Test("a tensor in two shards")
    func duplicate() throws {
        let files = try TemporaryFiles()
        try files.write("a.safetensors", safetensorsFile([("w", "F32", [2])]))
        try files.write("b.safetensors", safetensorsFile([("w", "F32", [2]), ("v", "F32", [2])]))
        let path = try files.write("index.json", Array(#"{"weight_map": {"w": "a.safetensors", "v": "b.safetensors"}}"#.utf8))
        #expect(
            throws: ImportError.duplicateTensor(
                path: path, tensor: "w", firstShard: "a.safetensors", secondShard: "b.safetensors")
        ) {
            try SafetensorsIndex.read(path: path)
        }
    }

    @Test(
        "shard names that leave the index's directory are refused before anything is opened",
        arguments: [
            "/etc/passwd", "../model.safetensors", "shards/../../x.safetensors", "..", "", "a/..", "nul\u{0}.safetensors",
        ])
    func unsafe(shard: String) throws {
        let files = try TemporaryFiles()
        let escapedShard = shard.replacingOccurrences(of: "\u{0}", with: "\\u0000")
        let path = try files.write("index.json", Array("{\"weight_map\": {\"w\": \"\(escapedShard)\"}}".utf8))
        #expect(throws: ImportError.unsafeShardPath(path: path, tensor: "w", shard: shard)) {
            try SafetensorsIndex.read(path: path)
        }
    }

    @Test("shards in a subdirectory are fine; a missing shard is reported by its path")
    func subdirectory() throws {
        let files = try TemporaryFiles()
        try files.write("shards/a.safetensors", safetensorsFile([("w", "F32", [2, 2])]))
        let path = try files.write(
            "index.json", Array(#"{"weight_map": {"w": "shards/a.safetensors", "v": "shards/b.safetensors"}}"#.utf8))
        #expect(throws: ImportError.fileNotFound(path: files.path("shards/b.safetensors"))) {
            try SafetensorsIndex.read(path: path)
        }
        let good = try files.write("good.json", Array(#"{"weight_map": {"w": "shards/a.safetensors"}}"#.utf8))
        #expect(try SafetensorsIndex.read(path: good).parameterCount == 4)
    }

    @Test("malformed index files")
    func malformed() throws {
        func error(_ text: String) -> ImportError? {
            do {
                _ = try SafetensorsIndex.parse(index: Array(text.utf8), path: "i.json") { shard throws(ImportError) in
                    throw .fileNotFound(path: shard)
                }
                return nil
            } catch {
                return error
            }
        }
        #expect(
            error("{}")
                == .wrongType(
                    path: "i.json", field: "weight_map", expected: "an object of tensor name → shard file", got: "nothing"))
        #expect(error("[]") == .wrongType(path: "i.json", field: "the index", expected: "a JSON object", got: "an array"))
        #expect(
            error(#"{"weight_map": {"w": 3}}"#)
                == .wrongType(path: "i.json", field: "weight_map.'w'", expected: "a shard file name", got: "the number 3"))
        #expect(error(#"{"metadata": {"total_size": -1}, "weight_map": {}}"#) != nil)
        #expect(error(#"{"metadata": {"total_size": 1.5}, "weight_map": {}}"#) != nil)
        #expect(error(#"{"weight_map": {}}"#) == nil)
        #expect(error(#"{"weight_map": {"w": "a.safetensors"}}"#) == .fileNotFound(path: "a.safetensors"))
        if case .malformedJSON(_, let offset, _) = error(#"{"weight_map": {"w": "a", "w": "b"}}"#) {
            #expect(offset == 26)  // the second "w"
        } else {
            Issue.record("a duplicate key is malformed JSON")
        }
    }
}

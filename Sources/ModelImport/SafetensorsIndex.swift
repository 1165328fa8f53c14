// Sharded safetensors models: model.safetensors.index.json maps every tensor to the shard file that holds it
// ({"metadata": {"total_size": bytes}, "weight_map": {name: "model-00001-of-00015.safetensors"}}).
// Each shard's header is read and checked against the map; no tensor data is read.

/// A sharded model: the index and every shard's header, cross-checked.
///
///     let model = try SafetensorsIndex.read(path: "Llama-2-70b/model.safetensors.index.json")
///     model.shards.count     // 15
///     model.parameterCount   // Σ over the shards
public struct SafetensorsIndex: Sendable {
    /// The largest index file memplan reads (a 70B model's is about 60 KB).
    public static let maximumIndexBytes = 100 << 20
    /// The most distinct shard files one index may name.
    public static let maximumShardCount = 100_000

    public var path: String
    /// `metadata.total_size`, when the index has it: the bytes of every tensor's data.
    public var declaredTotalSize: Int?
    /// The shards' headers, in the order the weight map first names them.
    public var shards: [SafetensorsFile]
    /// Disagreements that do not stop the import, one line each: total_size against the shards' sum.
    public var warnings: [String]

    /// Every tensor of every shard.
    public var tensors: [ImportedTensor] { shards.flatMap(\.tensors) }
    public var parameters: [ImportedTensor] { tensors.filter(\.isParameter) }
    public var buffers: [ImportedTensor] { tensors.filter { !$0.isParameter } }
    public var parameterCount: Int { parameters.elementCount }
    /// Σ bytes of every tensor: what `metadata.total_size` should say.
    public var tensorByteCount: Int { tensors.byteCount }
    public var totalsByDType: [DTypeTotal] { DTypeTotal.totals(tensors) }

    /// Reads the index at `path` and the header of every shard it names (relative to the index's directory).
    ///
    /// - Throws: `ImportError` when the index is not JSON or lacks `weight_map`, a shard name is absolute or has
    ///   a `..` component, a shard is missing or bad (see `SafetensorsFile.read`), a mapped tensor is not in its
    ///   shard, a shard holds a tensor the map does not assign to it, or a tensor is in two shards.
    public static func read(path: String) throws(ImportError) -> SafetensorsIndex {
        let file = try ModelFile(path: path)
        guard file.size <= maximumIndexBytes else {
            throw .sizeLimit(
                path: path, field: "the index file", value: UInt64(file.size), limit: UInt64(maximumIndexBytes),
                hint: "an index maps tensor names to shard files; this is not one")
        }
        let bytes = try file.read(offset: 0, count: file.size, what: "the index")
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        return try parse(index: bytes, path: path) { shard throws(ImportError) in
            try SafetensorsFile.read(path: directory + shard)
        }
    }

    /// Checks an index held in memory; `readShard` returns the header of a shard given its (checked) name.
    public static func parse(
        index bytes: [UInt8], path: String, readShard: (String) throws(ImportError) -> SafetensorsFile
    ) throws(ImportError) -> SafetensorsIndex {
        let json: JSONValue
        do {
            json = try JSONParser.parse(bytes)
        } catch {
            throw .malformedJSON(path: path, offset: error.offset, problem: error.problem)
        }
        guard case .object = json else {
            throw .wrongType(path: path, field: "the index", expected: "a JSON object", got: json.typeName)
        }

        var declaredTotalSize: Int?
        if let metadata = json["metadata"], let total = metadata["total_size"] {
            guard let value = total.integer, value >= 0 else {
                throw .wrongType(
                    path: path, field: "metadata.total_size", expected: "an integer number of bytes", got: total.typeName)
            }
            declaredTotalSize = value
        }
        guard case .object(let entries) = json["weight_map"] ?? .null else {
            throw .wrongType(
                path: path, field: "weight_map", expected: "an object of tensor name → shard file",
                got: json["weight_map"]?.typeName ?? "nothing")
        }

        // The map, and the distinct shards in order of first mention.
        var shardOf: [String: String] = [:]
        var shardNames: [String] = []
        var knownShards = Set<String>()
        for (tensor, value) in entries.map({ ($0.key, $0.value) }) {
            guard case .string(let shard) = value else {
                throw .wrongType(
                    path: path, field: "weight_map.\(quoted(tensor))", expected: "a shard file name", got: value.typeName)
            }
            guard isPlainRelativePath(shard) else { throw .unsafeShardPath(path: path, tensor: tensor, shard: shard) }
            shardOf[tensor] = shard
            if knownShards.insert(shard).inserted {
                guard shardNames.count < maximumShardCount else {
                    throw .countLimit(path: path, what: "shard files", limit: maximumShardCount)
                }
                shardNames.append(shard)
            }
        }

        var shards: [SafetensorsFile] = []
        var foundIn: [String: String] = [:]
        for shard in shardNames {
            let file = try readShard(shard)
            for tensor in file.tensors {
                if let first = foundIn[tensor.name] {
                    throw .duplicateTensor(path: path, tensor: tensor.name, firstShard: first, secondShard: shard)
                }
                foundIn[tensor.name] = shard
                guard shardOf[tensor.name] == shard else {
                    throw .tensorNotInIndex(path: path, tensor: tensor.name, shard: shard)
                }
            }
            shards.append(file)
        }
        for tensor in entries.map(\.key) where foundIn[tensor] == nil {
            throw .tensorNotInShard(path: path, tensor: tensor, shard: shardOf[tensor] ?? "")
        }

        var index = SafetensorsIndex(path: path, declaredTotalSize: declaredTotalSize, shards: shards, warnings: [])
        if let declaredTotalSize, declaredTotalSize != index.tensorByteCount {
            index.warnings.append(
                "\(printable(path, limit: 4096)): metadata.total_size says \(declaredTotalSize) bytes, the shards' tensors add up to "
                    + "\(index.tensorByteCount) (\(index.tensorByteCount - declaredTotalSize > 0 ? "+" : "")"
                    + "\(index.tensorByteCount - declaredTotalSize)); the shards' headers are used")
        }
        return index
    }

    /// True for a non-empty relative path with no `..` component and no NUL: a file inside the index's directory.
    static func isPlainRelativePath(_ shard: String) -> Bool {
        guard !shard.isEmpty, shard.utf8.count <= 4096, !shard.hasPrefix("/"), !shard.utf8.contains(0) else { return false }
        return !shard.split(separator: "/", omittingEmptySubsequences: false).contains("..")
    }
}

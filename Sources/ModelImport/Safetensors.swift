// safetensors files: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}}, then the tensor data.
// Only the header is read; the data section is known only by its size.

/// The header of one safetensors file: every tensor's dtype, shape and size, and which are buffers.
///
///     let file = try SafetensorsFile.read(path: "model.safetensors")
///     file.parameterCount      // 22_713_216 for all-MiniLM-L6-v2
///     file.buffers.map(\.name) // ["embeddings.position_ids"]
public struct SafetensorsFile: Sendable {
    /// The largest header memplan reads.
    ///
    /// The JSON describes tensors, not their values: real headers are
    /// kilobytes (a 70B shard's is under 100 KB), so anything near this is a corrupt or hostile file.
    public static let maximumHeaderBytes = 100 << 20

    public var path: String
    /// N, the length of the JSON header.
    public var headerByteCount: Int
    /// Bytes after the header: the tensors' data.
    public var dataByteCount: Int
    /// `__metadata__`, such as `["format": "pt"]`; empty when absent.
    public var metadata: [String: String]
    /// Every tensor, in header order.
    public var tensors: [ImportedTensor]

    /// The tensors that are trained (see `BufferKind.of(name:dtype:)` for the rule).
    public var parameters: [ImportedTensor] { tensors.filter(\.isParameter) }
    /// The tensors that are stored with the weights but not trained, with why.
    public var buffers: [ImportedTensor] { tensors.filter { !$0.isParameter } }
    /// Σ elements of the parameters.
    public var parameterCount: Int { parameters.elementCount }
    /// Element and byte totals per dtype, over every tensor.
    public var totalsByDType: [DTypeTotal] { DTypeTotal.totals(tensors) }

    /// Reads and checks the header of the file at `path`, without reading any tensor data.
    ///
    /// - Throws: `ImportError` when the file is missing or unreadable, shorter than its header says, declares a
    ///   header over `maximumHeaderBytes`, or the header is not the JSON described above (see `parse(header:…)`).
    public static func read(path: String) throws(ImportError) -> SafetensorsFile {
        let file = try ModelFile(path: path)
        let length = try file.read(offset: 0, count: 8, what: "the 8-byte header length")
        let headerBytes = try checkedHeaderLength(length, fileSize: file.size, path: path)
        let header = try file.read(offset: 8, count: headerBytes, what: "the \(headerBytes)-byte JSON header")
        return try parse(header: header, dataByteCount: file.size - 8 - headerBytes, path: path)
    }

    /// Checks a whole file held in memory (the fuzzer's entry point): the same checks as `read(path:)`.
    public static func parse(fileBytes bytes: [UInt8], path: String) throws(ImportError) -> SafetensorsFile {
        guard bytes.count >= 8 else {
            throw .truncated(path: path, what: "the 8-byte header length", offset: 0, needed: 8, available: bytes.count)
        }
        let headerBytes = try checkedHeaderLength(Array(bytes[0..<8]), fileSize: bytes.count, path: path)
        return try parse(header: Array(bytes[8..<8 + headerBytes]), dataByteCount: bytes.count - 8 - headerBytes, path: path)
    }

    /// N from the first 8 bytes, checked against the cap and the file's size.
    private static func checkedHeaderLength(_ length: [UInt8], fileSize: Int, path: String) throws(ImportError) -> Int {
        let declared = length.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard declared <= UInt64(maximumHeaderBytes) else {
            throw .sizeLimit(
                path: path, field: "the header length (first 8 bytes)", value: declared, limit: UInt64(maximumHeaderBytes),
                hint: "not a safetensors file, or a corrupt one")
        }
        let headerBytes = Int(declared)
        guard headerBytes <= fileSize - 8 else {
            throw .truncated(
                path: path, what: "the \(headerBytes)-byte JSON header", offset: 8, needed: headerBytes, available: fileSize - 8)
        }
        return headerBytes
    }

    /// Checks a header's JSON (the N bytes after the length) against a data section of `dataByteCount` bytes.
    ///
    /// - Throws: `ImportError` when the header is not JSON or not an object; an entry is not an object or lacks
    ///   `dtype`, `shape` or `data_offsets`; a dtype is unknown; a dimension is negative, fractional or too large;
    ///   the element or byte count overflows; `data_offsets` does not span shape × dtype bytes or runs past the
    ///   data section; two tensors share bytes; `__metadata__` is not an object of strings.
    public static func parse(header: [UInt8], dataByteCount: Int, path: String) throws(ImportError) -> SafetensorsFile {
        let json: JSONValue
        do {
            json = try JSONParser.parse(header)
        } catch {
            throw .malformedJSON(path: path, offset: error.offset, problem: error.problem)
        }
        guard case .object(let entries) = json else {
            throw .wrongType(path: path, field: "the header", expected: "a JSON object of tensors", got: json.typeName)
        }
        var metadata: [String: String] = [:]
        var tensors: [ImportedTensor] = []
        var spans: [(range: Range<Int>, name: String)] = []
        tensors.reserveCapacity(entries.count)
        for (name, entry) in entries.map({ ($0.key, $0.value) }) {
            if name == "__metadata__" {
                metadata = try readMetadata(entry, path: path)
                continue
            }
            let (tensor, span) = try readTensor(name: name, entry: entry, dataByteCount: dataByteCount, path: path)
            tensors.append(tensor)
            if !span.isEmpty { spans.append((span, name)) }
        }
        // Two tensors may not share bytes (a shared weight is stored once, under one name).
        spans.sort { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        for index in spans.indices.dropFirst() where spans[index].range.lowerBound < spans[index - 1].range.upperBound {
            throw .overlappingTensors(path: path, first: spans[index - 1].name, second: spans[index].name)
        }
        return SafetensorsFile(
            path: path, headerByteCount: header.count, dataByteCount: dataByteCount, metadata: metadata, tensors: tensors)
    }

    private static func readMetadata(_ entry: JSONValue, path: String) throws(ImportError) -> [String: String] {
        guard case .object(let members) = entry else {
            throw .wrongType(path: path, field: "__metadata__", expected: "an object of strings", got: entry.typeName)
        }
        var metadata: [String: String] = [:]
        for (key, value) in members.map({ ($0.key, $0.value) }) {
            guard case .string(let text) = value else {
                throw .wrongType(path: path, field: "__metadata__.\(quoted(key))", expected: "a string", got: value.typeName)
            }
            metadata[key] = text
        }
        return metadata
    }

    /// One entry, checked; returns the tensor and its byte range in the data section.
    private static func readTensor(
        name: String, entry: JSONValue, dataByteCount: Int, path: String
    ) throws(ImportError) -> (ImportedTensor, Range<Int>) {
        guard case .object = entry else {
            throw .wrongType(
                path: path, field: "tensor \(quoted(name))", expected: "an object with dtype, shape and data_offsets",
                got: entry.typeName)
        }
        guard let dtypeValue = entry["dtype"] else { throw .missingField(path: path, tensor: name, field: "dtype") }
        guard let shapeValue = entry["shape"] else { throw .missingField(path: path, tensor: name, field: "shape") }
        guard let offsetsValue = entry["data_offsets"] else {
            throw .missingField(path: path, tensor: name, field: "data_offsets")
        }

        guard case .string(let dtypeName) = dtypeValue else {
            throw .wrongType(
                path: path, field: "tensor \(quoted(name)).dtype", expected: "a string such as \"F32\"", got: dtypeValue.typeName)
        }
        guard let dtype = TensorDType(safetensorsName: dtypeName) else {
            throw .unknownDType(path: path, tensor: name, dtype: dtypeName)
        }

        guard case .array(let dimensions) = shapeValue else {
            throw .wrongType(
                path: path, field: "tensor \(quoted(name)).shape", expected: "an array of integers", got: shapeValue.typeName)
        }
        var shape: [Int] = []
        shape.reserveCapacity(dimensions.count)
        for (index, dimension) in dimensions.enumerated() {
            guard let value = dimension.integer, value >= 0 else {
                let text: String
                if case .number(let literal) = dimension { text = literal } else { text = dimension.typeName }
                throw .invalidDimension(path: path, tensor: name, index: index, value: text)
            }
            shape.append(value)
        }
        guard
            let tensor = ImportedTensor(
                name: name, dtype: dtype, shape: shape, bufferKind: BufferKind.of(name: name, dtype: dtype))
        else {
            throw .sizeOverflow(path: path, tensor: name, shape: shape)
        }

        guard case .array(let offsets) = offsetsValue, offsets.count == 2 else {
            throw .wrongType(
                path: path, field: "tensor \(quoted(name)).data_offsets", expected: "an array of two integers [begin, end]",
                got: offsetsValue.typeName)
        }
        guard let begin = offsets[0].integer, let end = offsets[1].integer, begin >= 0, end >= 0 else {
            throw .wrongType(
                path: path, field: "tensor \(quoted(name)).data_offsets", expected: "two integers 0…2^63-1",
                got: "[\(offsets[0].typeName), \(offsets[1].typeName)]")
        }
        guard begin <= end, end - begin == tensor.byteCount else {
            throw .offsetsMismatch(path: path, tensor: name, begin: begin, end: end, expectedBytes: tensor.byteCount)
        }
        guard end <= dataByteCount else {
            throw .offsetsPastData(path: path, tensor: name, begin: begin, end: end, dataBytes: dataByteCount)
        }
        return (tensor, begin..<end)
    }
}

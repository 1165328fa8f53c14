// Everything that can be wrong with a model file memplan imports, each with the file, the place in it
// (tensor, field, byte offset, node) and the offending value, rendered as one printable line.

/// Why a model file could not be imported.
///
/// Every case names the file and where in it the problem is; `description` is one line that also says
/// what would have been accepted. Text copied from the file (tensor and node names, dtypes) is shortened
/// and has its control characters escaped, so a hostile file cannot forge lines in a terminal.
public enum ImportError: Error, Equatable, Sendable, CustomStringConvertible {
    // MARK: - Files
    case fileNotFound(path: String)
    /// The file exists but cannot be opened, sized or read; `reason` is the system's message.
    case unreadable(path: String, reason: String)
    /// The file ends before `what`: `needed` bytes from `offset`, only `available` there.
    case truncated(path: String, what: String, offset: Int, needed: Int, available: Int)
    /// A size the file declares (`field`) is larger than memplan reads (`limit`) or than the file itself.
    case sizeLimit(path: String, field: String, value: UInt64, limit: UInt64, hint: String)

    // MARK: - safetensors (JSON header)
    /// The header is not well-formed JSON (or not UTF-8): `offset` is the byte offset inside the header.
    case malformedJSON(path: String, offset: Int, problem: String)
    /// `field` (e.g. `tensor 'wte'.shape`) has the wrong JSON type.
    case wrongType(path: String, field: String, expected: String, got: String)
    case missingField(path: String, tensor: String, field: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    /// A dimension that is negative, fractional or beyond 2⁶³.
    case invalidDimension(path: String, tensor: String, index: Int, value: String)
    /// The tensor's element or byte count overflows 64 bits.
    case sizeOverflow(path: String, tensor: String, shape: [Int])
    /// `data_offsets` [begin, end) does not span exactly shape × dtype bytes.
    case offsetsMismatch(path: String, tensor: String, begin: Int, end: Int, expectedBytes: Int)
    /// `data_offsets` ends after the data section (or begins after it ends).
    case offsetsPastData(path: String, tensor: String, begin: Int, end: Int, dataBytes: Int)
    case overlappingTensors(path: String, first: String, second: String)

    // MARK: - Sharded index
    /// A shard name in the index that is absolute, empty or has a `..` component.
    case unsafeShardPath(path: String, tensor: String, shard: String)
    /// The index maps `tensor` to `shard`, but that shard's header has no such tensor.
    case tensorNotInShard(path: String, tensor: String, shard: String)
    /// `shard` holds `tensor`, but the index's `weight_map` does not list it (or lists another shard).
    case tensorNotInIndex(path: String, tensor: String, shard: String)
    case duplicateTensor(path: String, tensor: String, firstShard: String, secondShard: String)

    // MARK: - ONNX (protobuf)
    /// The protobuf wire format is broken at byte `offset` (in `message`).
    case malformedProtobuf(path: String, offset: Int, message: String, problem: String)
    /// More of something than memplan reads (nodes, dims, nesting…): a corrupt or hostile file.
    case countLimit(path: String, what: String, limit: Int)
    /// A field holds a value outside its valid range (e.g. a negative dim, an unknown data type).
    case invalidValue(path: String, field: String, value: String, reason: String)
    /// A node whose inputs or attributes contradict its operator (e.g. Gemm with K = 3 against K = 4).
    case invalidNode(path: String, node: String, opType: String, problem: String)

    public var description: String {
        // Paths can come from a file too (a shard named in an index): escaped like names, but not shortened.
        let path = printable(path, limit: 4096)
        switch self {
        case .fileNotFound:
            return "\(path): no such file; give a .safetensors file, a model.safetensors.index.json or an .onnx file"
        case .unreadable(_, let reason):
            return "\(path): cannot read: \(reason)"
        case .truncated(_, let what, let offset, let needed, let available):
            return "\(path): truncated: \(what) needs \(needed) bytes at offset \(offset), the file has \(available) there"
        case .sizeLimit(_, let field, let value, let limit, let hint):
            return "\(path): \(field) is \(value) bytes, more than \(limit); \(hint)"
        case .malformedJSON(_, let offset, let problem):
            return "\(path): header is not valid JSON at byte \(offset) of the header: \(problem)"
        case .wrongType(_, let field, let expected, let got):
            return "\(path): \(field) must be \(expected), got \(got)"
        case .missingField(_, let tensor, let field):
            return "\(path): tensor \(quoted(tensor)) has no '\(field)'; each entry needs dtype, shape and data_offsets"
        case .unknownDType(_, let tensor, let dtype):
            return "\(path): tensor \(quoted(tensor)) has unknown dtype \(quoted(dtype)) (expected one of: "
                + TensorDType.safetensorsNames.joined(separator: ", ") + ")"
        case .invalidDimension(_, let tensor, let index, let value):
            return
                "\(path): tensor \(quoted(tensor)) has invalid dimension \(index) = \(quoted(value)); dimensions are integers 0…2^63-1"
        case .sizeOverflow(_, let tensor, let shape):
            return "\(path): tensor \(quoted(tensor)) of shape \(shapeText(shape)) has more than 2^63 elements or bytes"
        case .offsetsMismatch(_, let tensor, let begin, let end, let expectedBytes):
            return "\(path): tensor \(quoted(tensor)) has data_offsets [\(begin), \(end)) = \(end &- begin) bytes, "
                + "its shape and dtype need \(expectedBytes)"
        case .offsetsPastData(_, let tensor, let begin, let end, let dataBytes):
            return "\(path): tensor \(quoted(tensor)) has data_offsets [\(begin), \(end)) past the \(dataBytes)-byte data section"
        case .overlappingTensors(_, let first, let second):
            return "\(path): tensors \(quoted(first)) and \(quoted(second)) share bytes of the data section"
        case .unsafeShardPath(_, let tensor, let shard):
            return "\(path): tensor \(quoted(tensor)) is mapped to shard \(quoted(shard)), which is not a plain file name "
                + "beside the index (absolute paths and '..' are refused)"
        case .tensorNotInShard(_, let tensor, let shard):
            return
                "\(path): weight_map puts tensor \(quoted(tensor)) in \(quoted(shard)), but that shard's header has no such tensor"
        case .tensorNotInIndex(_, let tensor, let shard):
            return "\(path): shard \(quoted(shard)) holds tensor \(quoted(tensor)), which weight_map does not assign to it"
        case .duplicateTensor(_, let tensor, let firstShard, let secondShard):
            return "\(path): tensor \(quoted(tensor)) is in both \(quoted(firstShard)) and \(quoted(secondShard))"
        case .malformedProtobuf(_, let offset, let message, let problem):
            return "\(path): not a valid ONNX protobuf at byte \(offset) (in \(message)): \(problem)"
        case .countLimit(_, let what, let limit):
            return "\(path): more than \(limit) \(what); memplan refuses files this large or this deeply nested as corrupt"
        case .invalidValue(_, let field, let value, let reason):
            return "\(path): \(field) = \(quoted(value)) is invalid: \(reason)"
        case .invalidNode(_, let node, let opType, let problem):
            return "\(path): node \(quoted(node)) (\(printable(opType))): \(problem)"
        }
    }

    /// The file the error is about.
    public var path: String {
        switch self {
        case .fileNotFound(let path), .unreadable(let path, _), .truncated(let path, _, _, _, _),
            .sizeLimit(let path, _, _, _, _),
            .malformedJSON(let path, _, _), .wrongType(let path, _, _, _), .missingField(let path, _, _),
            .unknownDType(let path, _, _),
            .invalidDimension(let path, _, _, _), .sizeOverflow(let path, _, _), .offsetsMismatch(let path, _, _, _, _),
            .offsetsPastData(let path, _, _, _, _), .overlappingTensors(let path, _, _), .unsafeShardPath(let path, _, _),
            .tensorNotInShard(let path, _, _), .tensorNotInIndex(let path, _, _), .duplicateTensor(let path, _, _, _),
            .malformedProtobuf(let path, _, _, _), .countLimit(let path, _, _), .invalidValue(let path, _, _, _),
            .invalidNode(let path, _, _, _):
            return path
        }
    }
}

// MARK: - Printing text that came from a file

/// At most this many characters of a name from a file appear in a message.
let printableLimit = 80

/// `text` shortened to `limit` characters, control characters, quotes and backslashes escaped
/// (`\n`, `\u{1B}`…), so the result is one printable line.
func printable(_ text: String, limit: Int = printableLimit) -> String {
    var result = ""
    var count = 0
    for scalar in text.unicodeScalars {
        if count == limit {
            result += "…"
            break
        }
        count += 1
        switch scalar {
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case "\\": result += "\\\\"
        case "'": result += "\\'"
        default:
            // C0, DEL, C1, the line and paragraph separators and the bidi controls: shown as code points.
            let value = scalar.value
            if value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
                || (0x202A...0x202E).contains(value)
                || (0x2066...0x2069).contains(value)
            {
                result += "\\u{" + String(value, radix: 16, uppercase: true) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result
}

/// `'name'`, printable.
func quoted(_ text: String) -> String { "'" + printable(text) + "'" }

/// `[2, 3, 4]`, or `[2, 3, … (70 dims)]` past a dozen dimensions.
func shapeText(_ shape: [Int]) -> String {
    if shape.count <= 12 { return "[" + shape.map(String.init).joined(separator: ", ") + "]" }
    return "[" + shape.prefix(8).map(String.init).joined(separator: ", ") + ", … (\(shape.count) dims)]"
}

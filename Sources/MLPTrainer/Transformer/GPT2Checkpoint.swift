// llm.c's GPT-2 checkpoint format (version 3, fp32): reading it without trusting it, and writing it.
// The file is a 256 × Int32 little-endian header, then every parameter as little-endian Float32 in llm.c's order.
// Not here: bf16 checkpoints (version 5), the optimizer state, the tokenizer file.

#if canImport(Glibc)
    import Glibc
#endif

// Parameters and header go between file and memory as raw bytes: llm.c writes native little-endian.
#if !_endian(little)
    #error("GPT2Checkpoint reads and writes little-endian files by copying bytes; add byte swapping for this platform")
#endif

/// The hyperparameters in an llm.c GPT-2 checkpoint's header (header[2...7]).
public struct GPT2Config: Sendable, Hashable {
    /// maxT: positions in wpe, the longest sequence the model takes.
    public var maxSequenceLength: Int
    /// V: real tokens; the logits' columns V..<Vp are padding.
    public var vocabularySize: Int
    /// L, transformer blocks.
    public var layerCount: Int
    /// NH, attention heads.
    public var headCount: Int
    /// C, channels.
    public var channels: Int
    /// Vp ≥ V: rows of wte, padded (llm.c: to a multiple of 128) so the head's product has a friendly width.
    public var paddedVocabularySize: Int

    /// The 16 parameter tensors in llm.c's order (`ParameterTensors` in train_gpt2.c).
    public static let parameterNames = [
        "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
        "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb",
    ]

    /// Element counts of the 16 tensors, in llm.c's order, every product checked.
    ///
    /// llm.c's `fill_in_parameter_sizes`: wte Vp·C, wpe maxT·C, ln1w/ln1b L·C,
    /// qkvw L·3C·C, qkvb L·3C, attprojw L·C·C, attprojb L·C, ln2w/ln2b L·C, fcw L·4C·C, fcb L·4C, fcprojw L·C·4C,
    /// fcprojb L·C, lnfw/lnfb C.
    /// - Throws: `GPT2CheckpointError.nonPositiveDimension`, `.vocabularyExceedsPadded`, `.headsDoNotDivideChannels`
    ///   for a configuration no model has, `.sizeOverflow` when a count does not fit in Int.
    public func parameterSizes() throws(GPT2CheckpointError) -> [Int] {
        try validate()
        let (maxT, Vp, L, C) = (maxSequenceLength, paddedVocabularySize, layerCount, channels)
        func product(_ name: String, _ factors: Int...) throws(GPT2CheckpointError) -> Int {
            var result = 1
            for factor in factors {
                let (value, overflow) = result.multipliedReportingOverflow(by: factor)
                if overflow { throw .sizeOverflow(tensor: name) }
                result = value
            }
            return result
        }
        return [
            try product("wte", Vp, C), try product("wpe", maxT, C), try product("ln1w", L, C), try product("ln1b", L, C),
            try product("qkvw", L, 3, C, C), try product("qkvb", L, 3, C), try product("attprojw", L, C, C),
            try product("attprojb", L, C), try product("ln2w", L, C), try product("ln2b", L, C),
            try product("fcw", L, 4, C, C), try product("fcb", L, 4, C), try product("fcprojw", L, C, 4, C),
            try product("fcprojb", L, C), C, C,
        ]
    }

    /// Σ `parameterSizes()`, checked.
    public func parameterCount() throws(GPT2CheckpointError) -> Int {
        var total = 0
        for size in try parameterSizes() {
            let (value, overflow) = total.addingReportingOverflow(size)
            if overflow { throw .sizeOverflow(tensor: "the parameter total") }
            total = value
        }
        return total
    }

    /// The file's length in bytes: 256·4 + 4·parameterCount, checked.
    public func checkpointByteCount() throws(GPT2CheckpointError) -> Int {
        let (bytes, overflow) = try parameterCount().multipliedReportingOverflow(by: 4)
        let (total, overflow2) = bytes.addingReportingOverflow(GPT2Checkpoint.headerByteCount)
        if overflow || overflow2 { throw .sizeOverflow(tensor: "the checkpoint's byte count") }
        return total
    }

    func validate() throws(GPT2CheckpointError) {
        for (name, value) in [
            ("maxT", maxSequenceLength), ("V", vocabularySize), ("L", layerCount), ("NH", headCount), ("C", channels),
            ("Vp", paddedVocabularySize),
        ] where value <= 0 {
            throw .nonPositiveDimension(name: name, value: value)
        }
        if vocabularySize > paddedVocabularySize {
            throw .vocabularyExceedsPadded(vocabulary: vocabularySize, padded: paddedVocabularySize)
        }
        if channels % headCount != 0 { throw .headsDoNotDivideChannels(channels: channels, heads: headCount) }
    }
}

/// Why a GPT-2 checkpoint could not be read or written; each case carries the values that were wrong.
public enum GPT2CheckpointError: Error, Equatable, CustomStringConvertible {
    /// `open` failed.
    case cannotOpen(path: String, errno: Int32)
    /// The path is a FIFO, a device or a directory: a checkpoint is read from a regular file only.
    case notRegularFile(path: String)
    /// `read`, `write` or `fstat` failed.
    case ioFailed(path: String, operation: String, errno: Int32)
    /// The file is shorter than the 1024-byte header.
    case truncatedHeader(byteCount: Int)
    /// header[0] is not 20240326.
    case badMagic(Int32)
    /// header[1] is not 3 (fp32 with padded vocabulary).
    case unsupportedVersion(Int32)
    /// A dimension in header[2...7] is zero or negative.
    case nonPositiveDimension(name: String, value: Int)
    /// V > Vp.
    case vocabularyExceedsPadded(vocabulary: Int, padded: Int)
    /// NH does not divide C, so there is no head size.
    case headsDoNotDivideChannels(channels: Int, heads: Int)
    /// A tensor's element count, the total, or the file's byte count does not fit in Int.
    case sizeOverflow(tensor: String)
    /// The file ends before the header's parameters do.
    case truncatedParameters(expectedBytes: Int, actualBytes: Int)
    /// The file goes on after the parameters.
    case trailingBytes(expectedBytes: Int, actualBytes: Int)
    /// The writer, or a reader into caller memory, was given a buffer of the wrong size.
    case parameterCountMismatch(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let code): "cannot open \(path): \(String(cString: strerror(code)))"
        case .notRegularFile(let path): "\(path) is not a regular file; a checkpoint is read from a file"
        case .ioFailed(let path, let operation, let code): "\(operation) failed on \(path): \(String(cString: strerror(code)))"
        case .truncatedHeader(let count): "not a GPT-2 checkpoint: \(count) bytes, shorter than the 1024-byte header"
        case .badMagic(let magic): "not a GPT-2 checkpoint: magic \(magic), expected \(GPT2Checkpoint.magic)"
        case .unsupportedVersion(let version):
            "GPT-2 checkpoint version \(version) is not supported; expected \(GPT2Checkpoint.version) (fp32, padded vocabulary)"
        case .nonPositiveDimension(let name, let value): "GPT-2 checkpoint header: \(name) = \(value), must be positive"
        case .vocabularyExceedsPadded(let vocabulary, let padded):
            "GPT-2 checkpoint header: V = \(vocabulary) exceeds Vp = \(padded)"
        case .headsDoNotDivideChannels(let channels, let heads):
            "GPT-2 checkpoint header: NH = \(heads) does not divide C = \(channels)"
        case .sizeOverflow(let tensor): "GPT-2 checkpoint header: the size of \(tensor) overflows"
        case .truncatedParameters(let expected, let actual):
            "GPT-2 checkpoint truncated: the header promises \(expected) bytes, the file has \(actual)"
        case .trailingBytes(let expected, let actual):
            "GPT-2 checkpoint has \(actual - expected) bytes after its \(expected) bytes of header and parameters"
        case .parameterCountMismatch(let expected, let actual): "the model has \(expected) parameters, the buffer holds \(actual)"
        }
    }
}

/// Reads and writes llm.c's GPT-2 checkpoint (`gpt2_build_from_checkpoint` in train_gpt2.c).
///
///     try GPT2Checkpoint.write(parameters, config: config, to: "model.bin")
///     let (config, parameters) = try GPT2Checkpoint.read(from: "model.bin")
///
/// A read validates everything before trusting it: magic, version, dimensions, every size (checked arithmetic)
/// and the file's exact length; a bad file throws, it never traps.
public enum GPT2Checkpoint {
    public static let magic: Int32 = 20_240_326
    public static let version: Int32 = 3
    /// 256 Int32s.
    public static let headerByteCount = 1024

    /// The header for `config`: magic, version, maxT, V, L, NH, C, Vp, then zeros.
    public static func header(for config: GPT2Config) -> [Int32] {
        var header = [Int32](repeating: 0, count: 256)
        let values = [
            Int(magic), Int(version), config.maxSequenceLength, config.vocabularySize, config.layerCount, config.headCount,
            config.channels, config.paddedVocabularySize,
        ]
        for (index, value) in values.enumerated() { header[index] = Int32(truncatingIfNeeded: value) }
        return header
    }

    /// The configuration in a header, validated against a file of `fileByteCount` bytes.
    /// - Throws: `GPT2CheckpointError` for a bad magic or version, an impossible configuration, an overflowing size,
    ///   or a file length other than header + 4·parameters.
    public static func config(header: UnsafeBufferPointer<Int32>, fileByteCount: Int) throws(GPT2CheckpointError) -> GPT2Config {
        guard header.count >= 256, fileByteCount >= headerByteCount else {
            throw .truncatedHeader(byteCount: min(fileByteCount, header.count * 4))
        }
        let h = header
        guard h[0] == magic else { throw .badMagic(h[0]) }
        guard h[1] == version else { throw .unsupportedVersion(h[1]) }
        let config = GPT2Config(
            maxSequenceLength: Int(h[2]), vocabularySize: Int(h[3]), layerCount: Int(h[4]), headCount: Int(h[5]),
            channels: Int(h[6]), paddedVocabularySize: Int(h[7]))
        let expected = try config.checkpointByteCount()
        if fileByteCount < expected { throw .truncatedParameters(expectedBytes: expected, actualBytes: fileByteCount) }
        if fileByteCount > expected { throw .trailingBytes(expectedBytes: expected, actualBytes: fileByteCount) }
        return config
    }

    /// Reads a checkpoint's validated configuration without its parameters.
    public static func readConfig(from path: String) throws(GPT2CheckpointError) -> GPT2Config {
        let file = try File(path: path, writing: false)
        defer { file.close() }
        return try file.readConfig()
    }

    /// Reads a checkpoint into caller memory (an arena's parameter region) of exactly `parameterCount()` floats.
    @discardableResult
    public static func read(from path: String, into parameters: UnsafeMutableBufferPointer<Float>) throws(GPT2CheckpointError)
        -> GPT2Config
    {
        let file = try File(path: path, writing: false)
        defer { file.close() }
        let config = try file.readConfig()
        let count = try config.parameterCount()
        guard parameters.count == count else { throw .parameterCountMismatch(expected: count, actual: parameters.count) }
        try file.read(into: UnsafeMutableRawBufferPointer(parameters), at: headerByteCount)
        return config
    }

    /// Reads a checkpoint into a new array.
    public static func read(from path: String) throws(GPT2CheckpointError) -> (config: GPT2Config, parameters: [Float]) {
        let config = try readConfig(from: path)
        var parameters = [Float](repeating: 0, count: try config.parameterCount())
        let result: Result<GPT2Config, GPT2CheckpointError> = parameters.withUnsafeMutableBufferPointer { buffer in
            do throws(GPT2CheckpointError) { return .success(try read(from: path, into: buffer)) } catch {
                return .failure(error)
            }
        }
        return (try result.get(), parameters)
    }

    /// Writes `parameters` (exactly `config.parameterCount()` floats, in llm.c's order) as a version-3 checkpoint.
    public static func write(_ parameters: UnsafeBufferPointer<Float>, config: GPT2Config, to path: String)
        throws(GPT2CheckpointError)
    {
        let count = try config.parameterCount()
        guard parameters.count == count else { throw .parameterCountMismatch(expected: count, actual: parameters.count) }
        for (name, value) in [
            ("maxT", config.maxSequenceLength), ("V", config.vocabularySize), ("L", config.layerCount),
            ("NH", config.headCount), ("C", config.channels), ("Vp", config.paddedVocabularySize),
        ] where value > Int(Int32.max) {
            throw .sizeOverflow(tensor: "header field \(name) = \(value)")
        }
        let file = try File(path: path, writing: true)
        defer { file.close() }
        let header = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 256)
        defer { header.deallocate() }
        _ = header.initialize(from: Self.header(for: config))
        try file.write(UnsafeRawBufferPointer(header))
        try file.write(UnsafeRawBufferPointer(parameters))
    }

    /// Writes an array of parameters; see `write(_:config:to:)`.
    public static func write(_ parameters: [Float], config: GPT2Config, to path: String) throws(GPT2CheckpointError) {
        let result: Result<Void, GPT2CheckpointError> = parameters.withUnsafeBufferPointer { buffer in
            do throws(GPT2CheckpointError) { return .success(try write(buffer, config: config, to: path)) } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// A POSIX file descriptor and its path, for errors.
    struct File {
        let descriptor: Int32
        let path: String

        init(path: String, writing: Bool) throws(GPT2CheckpointError) {
            // Reading opens without blocking (a FIFO with no writer would wait forever) and takes regular files only.
            let flags = writing ? O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC : O_RDONLY | O_NONBLOCK | O_CLOEXEC
            let descriptor = open(path, flags, 0o644)
            guard descriptor >= 0 else { throw .cannotOpen(path: path, errno: errno) }
            var status = stat()
            if !writing, fstat(descriptor, &status) != 0 || status.st_mode & S_IFMT != S_IFREG {
                _ = Glibc.close(descriptor)
                throw .notRegularFile(path: path)
            }
            self.descriptor = descriptor
            self.path = path
        }

        func close() { _ = Glibc.close(descriptor) }

        func byteCount() throws(GPT2CheckpointError) -> Int {
            var status = stat()
            guard fstat(descriptor, &status) == 0 else { throw .ioFailed(path: path, operation: "fstat", errno: errno) }
            return Int(status.st_size)
        }

        func readConfig() throws(GPT2CheckpointError) -> GPT2Config {
            let size = try byteCount()
            guard size >= GPT2Checkpoint.headerByteCount else { throw .truncatedHeader(byteCount: size) }
            let header = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 256)
            defer { header.deallocate() }
            header.initialize(repeating: 0)
            try read(into: UnsafeMutableRawBufferPointer(header), at: 0)
            return try GPT2Checkpoint.config(header: UnsafeBufferPointer(header), fileByteCount: size)
        }

        /// Fills `buffer` from `offset`; a file that ends first is truncated.
        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(GPT2CheckpointError) {
            var done = 0
            while done < buffer.count {
                let got = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
                if got < 0 {
                    if errno == EINTR { continue }
                    throw .ioFailed(path: path, operation: "read", errno: errno)
                }
                if got == 0 { throw .truncatedParameters(expectedBytes: offset + buffer.count, actualBytes: offset + done) }
                done += got
            }
        }

        func write(_ buffer: UnsafeRawBufferPointer) throws(GPT2CheckpointError) {
            var done = 0
            while done < buffer.count {
                let wrote = Glibc.write(descriptor, buffer.baseAddress! + done, buffer.count - done)
                if wrote < 0 {
                    if errno == EINTR { continue }
                    throw .ioFailed(path: path, operation: "write", errno: errno)
                }
                done += wrote
            }
        }
    }
}

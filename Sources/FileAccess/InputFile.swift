// Opening an input file once, and only if it is a regular file (or standard input when the user says `-`).
// A FIFO opened for reading blocks until a writer comes, a device can stream forever: both are refused before a
// byte is read, and a regular file's size is checked before it is read.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why an input file cannot be used.
public enum InputFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing(path: String)
    /// A directory, FIFO, device or socket: only regular files are read.
    case notRegular(path: String, kind: String)
    /// Permission denied, an I/O error.
    case unreadable(path: String, reason: String)
    /// Larger than the caller's limit (known before reading, from the file's size, or while reading standard input).
    case tooLarge(path: String, byteCount: Int?, limit: Int)

    public var description: String {
        switch self {
        case .missing(let path): "\(path): no such file"
        case .notRegular(let path, let kind): "\(path) is \(kind), not a regular file"
        case .unreadable(let path, let reason): "\(path): cannot be read (\(reason))"
        case .tooLarge(let path, let byteCount, let limit):
            "\(path): \(byteCount.map { "\($0) bytes is" } ?? "more than \(limit) bytes is") too large (the limit is \(limit) bytes)"
        }
    }

    /// The reason alone, without the path (for errors that put the path elsewhere).
    public var reason: String {
        switch self {
        case .missing: "no such file"
        case .notRegular(_, let kind): "it is \(kind), not a regular file"
        case .unreadable(_, let reason): "cannot be read (\(reason))"
        case .tooLarge(_, let byteCount, let limit):
            "\(byteCount.map { "\($0) bytes is" } ?? "more than \(limit) bytes is") too large (the limit is \(limit) bytes)"
        }
    }
}

/// One open, readable input: a regular file, or standard input.
///
///     let file = try InputFile.open("profiles/fashion-mnist-mlp.yaml")
///     let bytes = try file.readAll(limit: 4 << 20)
///
/// The descriptor is closed when the value is released (standard input is left open).
public final class InputFile {
    /// The path as the user gave it (`-` for standard input).
    public let path: String
    public let descriptor: Int32
    /// The file's size when it was opened (nil for standard input, whose size is unknown).
    public let byteCount: Int?
    private let ownsDescriptor: Bool

    /// The path that means standard input.
    public static let standardInputPath = "-"

    private init(path: String, descriptor: Int32, byteCount: Int?, ownsDescriptor: Bool) {
        self.path = path
        self.descriptor = descriptor
        self.byteCount = byteCount
        self.ownsDescriptor = ownsDescriptor
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    /// Standard input, whatever it is (a pipe, a terminal, a file): the user asked for it by name.
    public static func standardInput() -> InputFile {
        InputFile(path: standardInputPath, descriptor: 0, byteCount: nil, ownsDescriptor: false)
    }

    /// Opens `path` for reading, once. `-` is standard input when `allowStandardInput` is set.
    ///
    /// - Throws: `InputFileError.missing`, `.notRegular` (directory, FIFO, device, socket) or `.unreadable`.
    public static func open(_ path: String, allowStandardInput: Bool = false) throws(InputFileError) -> InputFile {
        if allowStandardInput, path == standardInputPath { return standardInput() }
        guard !path.isEmpty else { throw .missing(path: path) }
        // O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting; fstat then refuses it.
        var descriptor: Int32
        repeat {
            descriptor = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .missing(path: path) }
            if code == ENXIO { throw .notRegular(path: path, kind: "a socket or a device without a driver") }
            throw .unreadable(path: path, reason: String(cString: strerror(code)))
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw .unreadable(path: path, reason: reason)
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw .notRegular(path: path, kind: kindName(status.st_mode))
        }
        // Regular files never block; clear the flag so reads behave as usual.
        let flags = fcntl(descriptor, F_GETFL)
        if flags >= 0 { _ = fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK) }
        return InputFile(path: path, descriptor: descriptor, byteCount: Int(status.st_size), ownsDescriptor: true)
    }

    /// What a file of this mode is, for messages: "a directory", "a FIFO (named pipe)", "a character device", ….
    public static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        case S_IFREG: "a regular file"
        default: "not a regular file"
        }
    }

    /// Reads up to `count` bytes; 0 at the end of the file.
    public func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(InputFileError) -> Int {
        while true {
            let result = Glibc.read(descriptor, buffer, count)
            if result >= 0 { return result }
            if errno == EINTR { continue }
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Every byte of the file, refusing (before reading, for a regular file) more than `limit` bytes.
    public func readAll(limit: Int) throws(InputFileError) -> [UInt8] {
        if let byteCount, byteCount > limit { throw .tooLarge(path: path, byteCount: byteCount, limit: limit) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(byteCount ?? 65_536, limit) + 1)
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let room = min(chunk.count, limit + 1 - bytes.count)
            let count = try chunk.withUnsafeMutableBytes { buffer in
                Result { () throws(InputFileError) -> Int in try read(into: buffer.baseAddress!, count: room) }
            }.get()
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { throw .tooLarge(path: path, byteCount: nil, limit: limit) }
        }
        return bytes
    }

    /// Moves back to the first byte (regular files only), so a second pass reads the same open file.
    public func rewind() throws(InputFileError) {
        guard lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// A new descriptor for the same open file (for libraries that close what they are given, such as zlib).
    public func duplicateDescriptor() throws(InputFileError) -> Int32 {
        let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        return copy
    }
}

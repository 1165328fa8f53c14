// Writing a result file so that no reader ever sees half of it, and no special file is ever replaced:
// a regular file (or a new one) is written to a temporary file beside it and renamed over it; a symbolic link
// updates the file it points to; /dev/null, a terminal and a descriptor (/dev/stdout, /dev/fd/N) are written
// through; a FIFO, a socket, a directory and other devices are refused.

#if canImport(Glibc)
    import Glibc
#endif

/// Why a result file cannot be written.
public enum OutputFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingDirectory(path: String, directory: String)
    case directoryNotWritable(path: String, directory: String)
    case isDirectory(path: String)
    /// A FIFO, socket or device other than /dev/null and terminals.
    case notRegular(path: String, kind: String)
    case tooManyLinks(path: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingDirectory(let path, let directory): "\(path): the directory \(directory) does not exist"
        case .directoryNotWritable(let path, let directory): "\(path): the directory \(directory) is not writable"
        case .isDirectory(let path): "\(path) is a directory; give a file name"
        case .notRegular(let path, let kind):
            "\(path) is \(kind); memplan writes results to regular files (atomically), to - (standard output), "
                + "/dev/stdout, /dev/null or a terminal, and never replaces other special files"
        case .tooManyLinks(let path): "\(path): too many levels of symbolic links"
        case .cannotWrite(let path, let reason): "\(path): cannot write: \(reason)"
        }
    }
}

/// Where a result goes.
public enum OutputTarget: Equatable, Sendable {
    /// Standard output (`-`).
    case standardOutput
    /// An open descriptor of this process (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`).
    case descriptor(Int32)
    /// Written through in place: /dev/null or a terminal.
    case device(path: String)
    /// A regular file (existing or new) at this path, after following symbolic links: written atomically.
    case regularFile(path: String)
}

/// Result files: classified first (`target(for:)`, before any work is done), written at the end (`write`).
///
///     try OutputFile.write(report.json, to: "reports/run.json")
public enum OutputFile {
    /// The path that means standard output.
    public static let standardOutputPath = "-"

    /// Where `path` leads, or why it cannot be written; nothing is created or changed.
    public static func target(for path: String) throws(OutputFileError) -> OutputTarget {
        if path == standardOutputPath { return .standardOutput }
        guard !path.isEmpty else {
            throw .cannotWrite(path: "''", reason: "the path is empty; give a file name, or - for standard output")
        }
        if let descriptor = descriptorNumber(path) {
            guard fcntl(descriptor, F_GETFD) >= 0 else {
                throw .cannotWrite(path: path, reason: "descriptor \(descriptor) is not open")
            }
            return .descriptor(descriptor)
        }
        var current = path
        for _ in 0..<40 {
            var status = stat()
            if lstat(current, &status) != 0 {
                guard errno == ENOENT else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
                try checkDirectory(of: current, for: path)
                return .regularFile(path: current)
            }
            switch status.st_mode & S_IFMT {
            case S_IFREG:
                try checkDirectory(of: current, for: path)
                return .regularFile(path: current)
            case S_IFLNK:
                current = try linkTarget(current, for: path)
            case S_IFDIR:
                throw .isDirectory(path: path)
            case S_IFCHR where isNullDevice(status) || isTerminal(current):
                return .device(path: current)
            default:
                throw .notRegular(path: path, kind: kindName(status.st_mode))
            }
        }
        throw .tooManyLinks(path: path)
    }

    /// Writes `text` where `path` leads (see `target(for:)`): regular files through a temporary file beside
    /// them and a rename, so a reader sees the old file or the new one, never part of one.
    public static func write(_ text: String, to path: String) throws(OutputFileError) {
        switch try target(for: path) {
        case .standardOutput:
            try writeAll(Array(text.utf8), to: 1, path: path)
        case .descriptor(let descriptor):
            try writeAll(Array(text.utf8), to: descriptor, path: path)
        case .device(let device):
            let descriptor = open(device, O_WRONLY | O_NOCTTY | O_CLOEXEC)
            guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
            defer { close(descriptor) }
            try writeAll(Array(text.utf8), to: descriptor, path: path)
        case .regularFile(let file):
            try writeAtomically(Array(text.utf8), to: file, reportedAs: path)
        }
    }

    // MARK: - Internals

    static func writeAtomically(_ bytes: [UInt8], to file: String, reportedAs path: String) throws(OutputFileError) {
        let directory = PathText.directory(of: file)
        let name = PathText.lastComponent(file)
        var existing = stat()
        let mode: mode_t = stat(file, &existing) == 0 ? existing.st_mode & 0o7777 : 0o666
        var temporary = ""
        var descriptor: Int32 = -1
        for attempt in 0..<100 {
            temporary = PathText.appending(".\(name).\(getpid()).\(attempt).tmp", to: directory)
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        do throws(OutputFileError) {
            if existing.st_mode != 0 { _ = fchmod(descriptor, mode) }  // keep the file's permissions, umask aside
            try writeAll(bytes, to: descriptor, path: path)
            guard close(descriptor) == 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
            descriptor = -1
            guard rename(temporary, file) == 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        } catch {
            if descriptor >= 0 { close(descriptor) }
            unlink(temporary)
            throw error
        }
    }

    static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(OutputFileError) {
        var done = 0
        while done < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + done, bytes.count - done) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
            done += written
        }
    }

    /// The directory `file` would be created in must exist and be writable.
    static func checkDirectory(of file: String, for path: String) throws(OutputFileError) {
        let directory = PathText.directory(of: file)
        var status = stat()
        guard stat(directory, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw .missingDirectory(path: path, directory: directory)
        }
        guard access(directory, W_OK | X_OK) == 0 else { throw .directoryNotWritable(path: path, directory: directory) }
    }

    /// Where a symbolic link points, relative targets taken from the link's directory.
    static func linkTarget(_ link: String, for path: String) throws(OutputFileError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(link, &buffer, buffer.count - 1)
        guard count > 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return target.hasPrefix("/") ? target : PathText.appending(target, to: PathText.directory(of: link))
    }

    /// `/dev/stdout` → 1, `/dev/stderr` → 2, `/dev/fd/N` and `/proc/self/fd/N` → N.
    static func descriptorNumber(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default:
            for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
                return Int32(path.dropFirst(prefix.count)).flatMap { $0 >= 0 ? $0 : nil }
            }
            return nil
        }
    }

    static func isNullDevice(_ status: stat) -> Bool {
        var null = stat()
        return stat("/dev/null", &null) == 0 && null.st_mode & S_IFMT == S_IFCHR && null.st_rdev == status.st_rdev
    }

    static func isTerminal(_ path: String) -> Bool {
        let descriptor = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return isatty(descriptor) == 1
    }

    static func kindName(_ mode: mode_t) -> String { InputFile.kindName(mode) }
}

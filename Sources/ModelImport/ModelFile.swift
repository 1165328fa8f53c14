// Opening a model file read-only: its size, exact reads at an offset (the safetensors header), and a
// read-only mapping (ONNX, whose weights are paged in only if touched — the reader skips them).

import Foundation

/// A regular file opened read-only.
///
/// The one place in the module that calls the C library.
final class ModelFile {
    let path: String
    /// Bytes in the file when it was opened.
    let size: Int
    private let descriptor: Int32

    init(path: String) throws(ImportError) {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)  // a FIFO with no writer must not block the open
        guard descriptor >= 0 else {
            let code = errno
            throw code == ENOENT ? .fileNotFound(path: path) : .unreadable(path: path, reason: Self.message(code))
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let code = errno
            close(descriptor)
            throw .unreadable(path: path, reason: Self.message(code))
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw .unreadable(path: path, reason: "not a regular file")
        }
        self.path = path
        self.size = Int(status.st_size)
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Exactly `count` bytes from `offset`; `.truncated` (naming `what`) when the file ends sooner.
    func read(offset: Int, count: Int, what: String) throws(ImportError) -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw .truncated(path: path, what: what, offset: offset, needed: count, available: max(0, size - max(offset, 0)))
        }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let read = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset + done))
            }
            if read < 0 && errno == EINTR { continue }
            guard read >= 0 else { throw .unreadable(path: path, reason: Self.message(errno)) }
            guard read > 0 else {  // shrunk since it was opened
                throw .truncated(path: path, what: what, offset: offset, needed: count, available: done)
            }
            done += read
        }
        return bytes
    }

    /// Calls `body` with the whole file mapped read-only (unmapped afterwards).
    ///
    /// Pages are read from disk only when `body` touches them. A file truncated by another process while
    /// it is mapped raises SIGBUS, as with every mapped reader.
    func withMappedBytes<Result>(_ body: (UnsafeRawBufferPointer) throws(ImportError) -> Result) throws(ImportError) -> Result {
        guard size > 0 else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw .unreadable(path: path, reason: "cannot be mapped: " + Self.message(errno))
        }
        defer { munmap(address, size) }
        return try body(UnsafeRawBufferPointer(start: address, count: size))
    }

    private static func message(_ code: Int32) -> String { String(cString: strerror(code)) }
}

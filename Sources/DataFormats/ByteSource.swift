// Bytes from a file (gzip or plain, through zlib) or from memory, for the data decoders.
// Kept apart from the trainer so the fuzzer links only this and zlib.

import CZlib
import FileAccess
import Foundation

/// Why a data file cannot be used. The trainer maps these to its own errors.
public enum DataFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing(path: String)
    /// Wrong magic number, truncated, corrupt compression, labels out of range.
    case corrupt(path: String, reason: String)
    /// Well-formed, but not the shape the model needs.
    case mismatch(path: String, reason: String)
    /// Not a regular file (a FIFO, a device, a directory), or unreadable.
    case unreadable(path: String, reason: String)
    /// A line of a text file (CSV) that is not a row of the model's numbers; `reason` never quotes the line.
    case malformedLine(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .missing(let path): "\(path): no such data file"
        case .corrupt(let path, let reason), .mismatch(let path, let reason), .unreadable(let path, let reason):
            "\(path): \(reason)"
        case .malformedLine(let path, let line, let reason): "\(path):\(line): \(reason)"
        }
    }

    /// The error for an input file that cannot be opened or read.
    public init(_ error: InputFileError) {
        switch error {
        case .missing(let path): self = .missing(path: path)
        case .notRegular(let path, _), .unreadable(let path, _), .tooLarge(let path, _, _):
            self = .unreadable(path: path, reason: error.reason + (error.isNotRegular ? "; give a regular file" : ""))
        }
    }
}

extension InputFileError {
    var isNotRegular: Bool {
        if case .notRegular = self { return true }
        return false
    }
}

/// A plain file, read as it is.
public final class FileSource: ByteSource {
    public let file: InputFile
    public var path: String { file.path }

    public init(_ file: InputFile) { self.file = file }

    /// Opens `path` (a regular file only) for reading.
    public convenience init(path: String) throws(DataFileError) {
        do {
            self.init(try InputFile.open(path))
        } catch {
            throw DataFileError(error)
        }
    }

    public func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(DataFileError) -> Int {
        do {
            return try file.read(into: buffer, count: count)
        } catch {
            throw DataFileError(error)
        }
    }

    /// Back to the first byte, for a second pass over the same open file.
    public func rewind() throws(DataFileError) {
        do {
            try file.rewind()
        } catch {
            throw DataFileError(error)
        }
    }
}

/// A sequential source of bytes.
public protocol ByteSource: AnyObject {
    /// The file the bytes come from (for messages).
    var path: String { get }
    /// Reads up to `count` bytes; returns how many, 0 at the end.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(DataFileError) -> Int
}

extension ByteSource {
    /// Reads exactly `count` bytes, or throws naming what was expected.
    public func readExactly(into buffer: UnsafeMutableRawPointer, count: Int, what: String) throws(DataFileError) {
        var done = 0
        while done < count {
            let read = try self.read(into: buffer + done, count: count - done)
            guard read > 0 else {
                throw .corrupt(path: path, reason: "truncated: the file ends after \(done) of the \(count) bytes of \(what)")
            }
            done += read
        }
    }
}

/// A gzip-compressed or plain file, read through zlib (which passes plain files through).
public final class GzipFileSource: ByteSource {
    public let path: String
    private let file: gzFile

    /// Opens `path` (a regular file only).
    public convenience init(path: String) throws(DataFileError) {
        do {
            try self.init(try InputFile.open(path))
        } catch let error as InputFileError {
            throw DataFileError(error)
        } catch let error as DataFileError {
            throw error
        } catch {
            throw .corrupt(path: path, reason: "\(error)")
        }
    }

    /// Reads an open file through zlib (which gets a descriptor of its own for the same open file).
    public init(_ input: InputFile) throws(DataFileError) {
        let descriptor: Int32
        do {
            descriptor = try input.duplicateDescriptor()
        } catch {
            throw DataFileError(error)
        }
        guard let file = gzdopen(descriptor, "rb") else {
            close(descriptor)
            throw .corrupt(path: input.path, reason: "cannot be opened (\(String(cString: strerror(errno))))")
        }
        gzbuffer(file, 1 << 16)
        self.path = input.path
        self.file = file
    }

    deinit { gzclose(file) }

    /// Back to the first byte, for a second pass over the same open file.
    public func rewind() throws(DataFileError) {
        guard gzrewind(file) == 0 else { throw .corrupt(path: path, reason: "cannot be read again from the start") }
    }

    public func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(DataFileError) -> Int {
        let read = gzread(file, buffer, UInt32(min(count, 1 << 30)))
        guard read >= 0 else {
            var code: Int32 = 0
            let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
            throw .corrupt(path: path, reason: "corrupt gzip data: \(message)")
        }
        return Int(read)
    }
}

/// Bytes in memory: gunzipped through zlib's inflate when they start with the gzip magic,
/// passed through otherwise (as `gzread` does for files).
public final class MemorySource: ByteSource {
    public let path: String
    /// A private copy, so zlib can read it through a stable pointer.
    private let bytes: UnsafeMutableBufferPointer<UInt8>
    private let length: Int
    private var position = 0
    private var stream = z_stream()
    private let isGzip: Bool
    private var finished = false

    public init(_ bytes: [UInt8], path: String = "<memory>") throws(DataFileError) {
        self.bytes = .allocate(capacity: max(bytes.count, 1))
        _ = self.bytes.initialize(from: bytes)
        length = bytes.count
        self.path = path
        isGzip = bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
        if isGzip {
            // 16 + MAX_WBITS: expect a gzip header and trailer.
            guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw .corrupt(path: path, reason: "zlib could not start")
            }
        }
    }

    deinit {
        if isGzip { inflateEnd(&stream) }
        bytes.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(DataFileError) -> Int {
        guard count > 0 else { return 0 }
        let total = length
        if !isGzip {
            let available = min(count, total - position)
            guard available > 0 else { return 0 }
            buffer.copyMemory(from: bytes.baseAddress! + position, byteCount: available)
            position += available
            return available
        }
        guard !finished else { return 0 }
        let room = min(count, 1 << 30)
        stream.next_in = bytes.baseAddress! + position
        stream.avail_in = UInt32(total - position)
        stream.next_out = buffer.assumingMemoryBound(to: UInt8.self)
        stream.avail_out = UInt32(room)
        let status = inflate(&stream, Z_NO_FLUSH)
        position += (total - position) - Int(stream.avail_in)
        let produced = room - Int(stream.avail_out)
        switch status {
        case Z_OK, Z_BUF_ERROR: break
        case Z_STREAM_END: finished = true
        default:
            let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
            throw .corrupt(path: path, reason: "corrupt gzip data: \(message)")
        }
        if produced == 0, !finished, stream.avail_in == 0 {
            throw .corrupt(path: path, reason: "truncated gzip stream")
        }
        return produced
    }
}

// IDX files (the MNIST format), gzip-compressed or not, read through zlib straight into the arena.

import CZlib
import Foundation

/// A gzip (or plain) file read sequentially. zlib reads uncompressed files transparently.
final class GzipReader {
    let path: String
    private let file: gzFile

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw TrainerError.datasetMissing(path: path, package: nil) }
        guard let file = gzopen(path, "rb") else {
            throw TrainerError.datasetCorrupt(path: path, reason: "cannot be opened (\(String(cString: strerror(errno))))")
        }
        gzbuffer(file, 1 << 16)
        self.path = path
        self.file = file
    }

    deinit { gzclose(file) }

    /// Reads exactly `count` bytes, or throws naming what was expected.
    func readExactly(into buffer: UnsafeMutableRawPointer, count: Int, what: String) throws {
        var done = 0
        while done < count {
            let chunk = Int32(min(count - done, 1 << 30))
            let read = gzread(file, buffer + done, UInt32(chunk))
            if read < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
                throw TrainerError.datasetCorrupt(path: path, reason: "corrupt gzip data while reading \(what): \(message)")
            }
            if read == 0 {
                throw TrainerError.datasetCorrupt(path: path, reason: "truncated: the file ends after \(done) of the \(count) bytes of \(what)")
            }
            done += Int(read)
        }
    }

    /// Whether the file has bytes left after what was read.
    func hasTrailingBytes() -> Bool {
        var byte: UInt8 = 0
        return gzread(file, &byte, 1) > 0
    }
}

/// The IDX format: a 4-byte magic (0, 0, type, dimension count), big-endian 32-bit sizes, then the data.
enum IDX {
    /// Type code 0x08: unsigned bytes.
    static let unsignedByte: UInt8 = 0x08

    /// Opens `path`, checks the magic and returns the reader positioned at the data and the sizes.
    static func open(path: String, dimensions expected: Int) throws -> (GzipReader, [Int]) {
        let reader = try GzipReader(path: path)
        var magic = [UInt8](repeating: 0, count: 4)
        try magic.withUnsafeMutableBytes { bytes in
            try reader.readExactly(into: bytes.baseAddress!, count: 4, what: "the IDX magic number")
        }
        guard magic[0] == 0, magic[1] == 0, magic[2] == unsignedByte, Int(magic[3]) == expected else {
            let hex = magic.map { String(format: "%02x", $0) }.joined()
            throw TrainerError.datasetCorrupt(
                path: path,
                reason: "wrong IDX magic number 0x\(hex); expected 0x000008\(String(format: "%02x", expected)) "
                    + "(unsigned bytes, \(expected) dimension\(expected == 1 ? "" : "s"))")
        }
        var sizes: [Int] = []
        for index in 0..<expected {
            var raw = [UInt8](repeating: 0, count: 4)
            try raw.withUnsafeMutableBytes { bytes in
                try reader.readExactly(into: bytes.baseAddress!, count: 4, what: "dimension \(index + 1)")
            }
            sizes.append(Int(raw[0]) << 24 | Int(raw[1]) << 16 | Int(raw[2]) << 8 | Int(raw[3]))
        }
        return (reader, sizes)
    }

    /// Reads image bytes, scaled to [0, 1], into `destination` (count, width), checking the sizes.
    static func readImages<T: TrainingScalar>(
        path: String, count: Int, width: Int, into destination: UnsafeMutablePointer<T>
    ) throws {
        let (reader, sizes) = try open(path: path, dimensions: 3)
        guard sizes[0] == count else {
            throw TrainerError.datasetCorrupt(path: path, reason: "holds \(sizes[0]) images, its header said \(count) when first read")
        }
        guard sizes[1] * sizes[2] == width else {
            throw TrainerError.datasetMismatch(
                path: path, reason: "images are \(sizes[1])×\(sizes[2]) = \(sizes[1] * sizes[2]) pixels, the model's input has \(width) features")
        }
        let total = count * width
        let chunk = 1 << 16
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        let scale = T(1) / 255
        var done = 0
        while done < total {
            let now = min(chunk, total - done)
            try reader.readExactly(into: buffer, count: now, what: "the pixels (\(total) bytes)")
            for index in 0..<now { destination[done + index] = T(buffer[index]) * scale }
            done += now
        }
    }

    /// Reads `count` labels, each checked to be below `classes`.
    static func readLabels(path: String, count: Int, classes: Int) throws -> [UInt8] {
        let (reader, sizes) = try open(path: path, dimensions: 1)
        guard sizes[0] == count else {
            throw TrainerError.datasetCorrupt(path: path, reason: "holds \(sizes[0]) labels but the images file holds \(count) images")
        }
        var labels = [UInt8](repeating: 0, count: count)
        try labels.withUnsafeMutableBytes { bytes in
            try reader.readExactly(into: bytes.baseAddress!, count: count, what: "the labels (\(count) bytes)")
        }
        if let bad = labels.firstIndex(where: { Int($0) >= classes }) {
            throw TrainerError.datasetCorrupt(path: path, reason: "label \(labels[bad]) at index \(bad) is out of range; labels must be 0…\(classes - 1)")
        }
        return labels
    }

    /// The first size in the header: how many items the file says it holds.
    static func itemCount(path: String, dimensions: Int) throws -> [Int] {
        try open(path: path, dimensions: dimensions).1
    }
}

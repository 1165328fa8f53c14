import DataFormats
import Foundation
import Testing

@Suite("IDX and byte sources")
struct IDXTests {
    func idx(_ dimensions: [Int], _ body: [UInt8], type: UInt8 = 8) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, type, UInt8(dimensions.count)]
        for size in dimensions {
            bytes += [UInt8(size >> 24 & 255), UInt8(size >> 16 & 255), UInt8(size >> 8 & 255), UInt8(size & 255)]
        }
        return bytes + body
    }

    @Test("plain bytes decode; pixels are scaled by the converter")
    func plain() throws {
        let bytes = idx([2, 2, 2], [0, 51, 102, 153, 204, 255, 1, 2])
        var pixels = [Float](repeating: -1, count: 8)
        try pixels.withUnsafeMutableBufferPointer { buffer in
            try IDX.readImages(try MemorySource(bytes), count: 2, width: 4, into: buffer.baseAddress!) { Float($0) / 255 }
        }
        #expect(pixels[1] == 0.2)
        #expect(pixels[5] == 1)
        // As stored, one byte per pixel; the header is checked the same way.
        var stored = [UInt8](repeating: 7, count: 9)
        try stored.withUnsafeMutableBufferPointer { buffer in
            try IDX.readImages(try MemorySource(bytes), count: 2, width: 4, into: buffer.baseAddress!)
        }
        #expect(stored == [0, 51, 102, 153, 204, 255, 1, 2, 7])
        #expect(throws: DataFileError.self) {
            try stored.withUnsafeMutableBufferPointer { buffer in
                try IDX.readImages(try MemorySource(bytes), count: 2, width: 3, into: buffer.baseAddress!)
            }
        }
        let labels = try IDX.readLabels(try MemorySource(idx([3], [0, 9, 4])), count: 3, classes: 10)
        #expect(labels == [0, 9, 4])
    }

    @Test("gzip in memory decodes like gzip on disk, and both match the plain bytes")
    func gzip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("idx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let plain = directory.appendingPathComponent("labels")
        let bytes = idx([5], [1, 2, 3, 4, 5])
        try Data(bytes).write(to: plain)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", "-n", plain.path]  // -n: no file name, so the deflate data starts at byte 10
        try gzip.run()
        gzip.waitUntilExit()
        let compressed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: plain.path + ".gz")))
        #expect(compressed.prefix(2) == [0x1F, 0x8B])
        #expect(try IDX.readLabels(try MemorySource(compressed), count: 5, classes: 10) == [1, 2, 3, 4, 5])
        #expect(try IDX.readLabels(try GzipFileSource(path: plain.path + ".gz"), count: 5, classes: 10) == [1, 2, 3, 4, 5])
        #expect(try IDX.readLabels(try GzipFileSource(path: plain.path), count: 5, classes: 10) == [1, 2, 3, 4, 5])
        // A truncated gzip stream is an error, not a hang or a trap.
        #expect(throws: DataFileError.self) {
            try IDX.readLabels(try MemorySource(Array(compressed.prefix(compressed.count - 12))), count: 5, classes: 10)
        }
        var corrupt = compressed
        corrupt[10] = 0xFF  // a final block of the reserved type 3: invalid
        #expect(throws: DataFileError.self) { try IDX.readLabels(try MemorySource(corrupt), count: 5, classes: 10) }
    }

    @Test("bad IDX: magic, dimensions, truncation, labels, counts")
    func bad() throws {
        func message(_ body: () throws -> Void) -> String {
            do {
                try body()
                return ""
            } catch {
                return "\(error)"
            }
        }
        var pixels = [Float](repeating: 0, count: 16)
        let destination = pixels.withUnsafeMutableBufferPointer { $0.baseAddress! }
        #expect(
            message { _ = try IDX.header(try MemorySource([0, 0, 9, 3]), dimensions: 3) }.contains(
                "wrong IDX magic number 0x00000903; expected 0x00000803"))
        #expect(message { _ = try IDX.header(try MemorySource([0, 0, 8]), dimensions: 3) }.contains("truncated"))
        #expect(message { _ = try IDX.header(try MemorySource(idx([1], [])), dimensions: 3) }.contains("expected 0x00000803"))
        #expect(
            message {
                try IDX.readImages(try MemorySource(idx([1, 3, 3], [1])), count: 1, width: 4, into: destination) { Float($0) }
            }.contains("3×3 = 9 pixels"))
        #expect(
            message {
                try IDX.readImages(try MemorySource(idx([1, 2, 2], [1, 2])), count: 1, width: 4, into: destination) { Float($0) }
            }.contains("truncated"))
        #expect(
            message { _ = try IDX.readLabels(try MemorySource(idx([2], [3, 10])), count: 2, classes: 10) }.contains(
                "label 10 at index 1"))
        #expect(
            message { _ = try IDX.readLabels(try MemorySource(idx([3], [1, 2, 3])), count: 2, classes: 10) }.contains(
                "holds 3 labels"))
        #expect(message { _ = try GzipFileSource(path: "/nonexistent/x.gz") } == "/nonexistent/x.gz: no such data file")
        // Sizes near 2³² multiply without trapping.
        #expect(
            message {
                try IDX.readImages(
                    try MemorySource(idx([1, 0xFFFF_FFFF, 0xFFFF_FFFF], [])), count: 1, width: 4, into: destination
                ) { Float($0) }
            }.contains("pixels"))
        _ = pixels
    }
}

// llm.c's GPT-2 checkpoint: a round trip, the sizes against llm.c's published totals, and every bad file throwing
// its own error instead of trapping.

import Foundation
@testable import MLPTrainer
import ModelProfile
import Testing
import TestSupport

@Suite("GPT-2 checkpoint")
struct TransformerCheckpointTests {
    /// A file of the header for `config` with `header` overrides, then `parameterBytes` bytes.
    func writeFile(_ url: URL, header overrides: [Int: Int32] = [:], config: GPT2Config = tinyGPT2Config, parameterBytes: Int)
        throws
    {
        var header = GPT2Checkpoint.header(for: config)
        for (index, value) in overrides { header[index] = value }
        var data = header.withUnsafeBytes { Data($0) }
        data.append(Data(count: parameterBytes))
        try data.write(to: url)
    }

    func expectError(
        _ expected: GPT2CheckpointError, reading path: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        #expect(throws: expected, sourceLocation: sourceLocation) { _ = try GPT2Checkpoint.read(from: path) }
    }

    @Test("GPT-2 124M's sizes are llm.c's: 124,475,904 parameters with Vp = 50,304")
    func publishedSizes() throws {
        let config = GPT2Config(
            maxSequenceLength: 1024, vocabularySize: 50257, layerCount: 12, headCount: 12, channels: 768,
            paddedVocabularySize: 50304)
        #expect(try config.parameterCount() == 124_475_904)
        #expect(try config.parameterSizes()[4] == 12 * 3 * 768 * 768)
        #expect(try config.checkpointByteCount() == 1024 + 4 * 124_475_904)
    }

    @Test("write then read gives back the configuration and every parameter bit")
    func roundTrip() throws {
        let directory = try makeTemporaryDirectory("gpt2-checkpoint")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.bin").path
        let count = try tinyGPT2Config.parameterCount()
        var generator = SplitMix64(seed: 41)
        let parameters = (0..<count).map { _ in Float(generator.nextNormal()) }
        try GPT2Checkpoint.write(parameters, config: tinyGPT2Config, to: path)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(size == 1024 + 4 * count)
        let (config, read) = try GPT2Checkpoint.read(from: path)
        #expect(config == tinyGPT2Config)
        #expect(read.map(\.bitPattern) == parameters.map(\.bitPattern))
        // the header as llm.c reads it: Int32 little-endian magic, version, maxT, V, L, NH, C, Vp
        let header = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(32).withUnsafeBytes {
            Array($0.bindMemory(to: Int32.self))
        }
        #expect(header == [20_240_326, 3, 8, 60, 2, 2, 16, 64])
        // into caller memory, which must be the right size
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count + 1)
        defer { buffer.deallocate() }
        #expect(throws: GPT2CheckpointError.parameterCountMismatch(expected: count, actual: count + 1)) {
            try GPT2Checkpoint.read(from: path, into: buffer)
        }
        #expect(throws: GPT2CheckpointError.parameterCountMismatch(expected: count, actual: count - 1)) {
            try GPT2Checkpoint.write(Array(parameters.dropLast()), config: tinyGPT2Config, to: path)
        }
    }

    @Test("each bad file throws its own error")
    func badFiles() throws {
        let directory = try makeTemporaryDirectory("gpt2-checkpoint")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("bad.bin")
        let bytes = try tinyGPT2Config.checkpointByteCount()
        let parameterBytes = bytes - 1024

        expectError(
            .cannotOpen(path: directory.appendingPathComponent("missing.bin").path, errno: ENOENT),
            reading: directory.appendingPathComponent("missing.bin").path)
        // A FIFO with no writer used to block the read forever; a directory is refused by name too.
        let fifo = directory.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        expectError(.notRegularFile(path: fifo), reading: fifo)
        expectError(.notRegularFile(path: directory.path), reading: directory.path)
        try Data(count: 1000).write(to: url)
        expectError(.truncatedHeader(byteCount: 1000), reading: url.path)
        try Data().write(to: url)
        expectError(.truncatedHeader(byteCount: 0), reading: url.path)
        try writeFile(url, header: [0: 20_240_327], parameterBytes: parameterBytes)
        expectError(.badMagic(20_240_327), reading: url.path)
        try writeFile(url, header: [1: 1], parameterBytes: parameterBytes)
        expectError(.unsupportedVersion(1), reading: url.path)
        try writeFile(url, header: [1: 5], parameterBytes: parameterBytes)
        expectError(.unsupportedVersion(5), reading: url.path)
        try writeFile(url, header: [4: 0], parameterBytes: parameterBytes)
        expectError(.nonPositiveDimension(name: "L", value: 0), reading: url.path)
        try writeFile(url, header: [6: -16], parameterBytes: parameterBytes)
        expectError(.nonPositiveDimension(name: "C", value: -16), reading: url.path)
        try writeFile(url, header: [3: 65], parameterBytes: parameterBytes)
        expectError(.vocabularyExceedsPadded(vocabulary: 65, padded: 64), reading: url.path)
        try writeFile(url, header: [5: 3], parameterBytes: parameterBytes)
        expectError(.headsDoNotDivideChannels(channels: 16, heads: 3), reading: url.path)
        // L·3C·C with L = C = 2³¹ − 1 does not fit in 64 bits; Vp·C and maxT·C still do
        try writeFile(url, header: [4: Int32.max, 6: Int32.max, 5: 1], parameterBytes: parameterBytes)
        expectError(.sizeOverflow(tensor: "qkvw"), reading: url.path)
        // C = 2³⁰, L = 1: every product fits (the largest, fcw, is 2⁶²), the total 12·2⁶⁰ + … does not
        try writeFile(url, header: [6: 1 << 30, 5: 1, 4: 1, 2: 1, 3: 1, 7: 1], parameterBytes: parameterBytes)
        expectError(.sizeOverflow(tensor: "the parameter total"), reading: url.path)
        // C = 2²⁹, L = 1: the total (about 12·2⁵⁸) fits, four bytes each does not
        try writeFile(url, header: [6: 1 << 29, 5: 1, 4: 1, 2: 1, 3: 1, 7: 1], parameterBytes: parameterBytes)
        expectError(.sizeOverflow(tensor: "the checkpoint's byte count"), reading: url.path)
        try writeFile(url, parameterBytes: parameterBytes - 4)
        expectError(.truncatedParameters(expectedBytes: bytes, actualBytes: bytes - 4), reading: url.path)
        try writeFile(url, parameterBytes: 0)
        expectError(.truncatedParameters(expectedBytes: bytes, actualBytes: 1024), reading: url.path)
        try writeFile(url, parameterBytes: parameterBytes + 1)
        expectError(.trailingBytes(expectedBytes: bytes, actualBytes: bytes + 1), reading: url.path)
        // and a good file still reads
        try writeFile(url, parameterBytes: parameterBytes)
        #expect(try GPT2Checkpoint.read(from: url.path).parameters.count == parameterBytes / 4)
    }

    @Test("errors describe what is wrong with the numbers")
    func descriptions() {
        #expect(GPT2CheckpointError.badMagic(7).description.contains("magic 7, expected 20240326"))
        #expect(
            GPT2CheckpointError.truncatedParameters(expectedBytes: 2048, actualBytes: 1500).description.contains(
                "2048 bytes, the file has 1500"))
        #expect(GPT2CheckpointError.cannotOpen(path: "/x", errno: ENOENT).description.contains("No such file"))
    }
}

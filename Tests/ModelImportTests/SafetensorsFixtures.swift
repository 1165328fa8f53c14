// Builders for the safetensors files the tests write: every size computed here, independently of the reader.

import Foundation
import ModelImport

/// Bytes per element, as the safetensors format defines them (the test's own table, not the reader's).
let safetensorsElementBytes: [String: Int] = [
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
]

/// The 8-byte little-endian length, then the header text, then `dataBytes` zero bytes.
func rawSafetensors(header: String, dataBytes: Int = 0) -> [UInt8] {
    let json = Array(header.utf8)
    var bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) }
    bytes += json
    bytes += [UInt8](repeating: 0, count: dataBytes)
    return bytes
}

/// The header JSON for tensors laid out back to back in the order given, and the data section's size.
func safetensorsHeader(_ tensors: [(name: String, dtype: String, shape: [Int])], metadata: [String: String]? = nil) -> (
    String, Int
) {
    var entries: [String] = []
    if let metadata {
        let members = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
        entries.append("\"__metadata__\":{\(members.joined(separator: ","))}")
    }
    var offset = 0
    for tensor in tensors {
        let bytes = tensor.shape.reduce(1, *) * safetensorsElementBytes[tensor.dtype, default: 4]
        let shape = tensor.shape.map(String.init).joined(separator: ",")
        entries.append(
            "\"\(tensor.name)\":{\"dtype\":\"\(tensor.dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}"
        )
        offset += bytes
    }
    return ("{" + entries.joined(separator: ",") + "}", offset)
}

/// A whole safetensors file for `tensors`, data zero-filled.
func safetensorsFile(_ tensors: [(name: String, dtype: String, shape: [Int])], metadata: [String: String]? = nil) -> [UInt8] {
    let (header, dataBytes) = safetensorsHeader(tensors, metadata: metadata)
    return rawSafetensors(header: header, dataBytes: dataBytes)
}

/// The error reading `bytes` throws, or nil when they read cleanly.
func safetensorsError(_ bytes: [UInt8]) -> ImportError? {
    do {
        _ = try SafetensorsFile.parse(fileBytes: bytes, path: "test.safetensors")
        return nil
    } catch {
        return error
    }
}

/// The error a header (with a data section of `dataBytes`) throws, or nil.
func headerError(_ header: String, dataBytes: Int = 1 << 20) -> ImportError? {
    safetensorsError(rawSafetensors(header: header, dataBytes: dataBytes))
}

/// A temporary directory's files, removed when the value goes away.
final class TemporaryFiles {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("memplan-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Writes `bytes` to `name` in the directory; returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        return url.path
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// Where scripts/fetch-import-fixtures.sh puts the real model files.
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".build-fixtures")

func fixturePath(_ relative: String) -> String { fixturesDirectory.appendingPathComponent(relative).path }
func fixtureExists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: fixturePath(relative)) }

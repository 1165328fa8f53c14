// libFuzzer target: arbitrary bytes as an llm.c GPT-2 checkpoint, the file `memplan generate` reads. The header
// alone (with the file length taken from the input, or from 8 bytes after the header so huge files are reachable),
// then the whole input written to a file and read as `generate` reads it. Besides crashes it checks that every
// error's message is one printable line and that a checkpoint that reads has exactly its header's parameters.
// Built by fuzz/run.sh with -sanitize=fuzzer,address -DFUZZING; a plain build replays the files given as arguments.

import Foundation
import FuzzSupport
import MLPTrainer

/// Traps unless `error`'s message is one line of printable characters.
func checkMessage(_ error: GPT2CheckpointError) {
    let text = error.description
    precondition(
        !text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
        "a message with a control character: \(text.debugDescription)")
}

let path = NSTemporaryDirectory() + "fuzz-checkpoint-\(getpid()).bin"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // The header on its own: 256 Int32s from the first 1,024 bytes (zero-padded).
    let header = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 256)
    defer { header.deallocate() }
    header.initialize(repeating: 0)
    UnsafeMutableRawBufferPointer(header).copyMemory(from: UnsafeRawBufferPointer(start: data, count: min(size, 1024)))
    var length = size
    if size >= 1032 {
        length = 0
        for index in 0..<8 { length |= Int(bytes[1024 + index]) << (8 * index) }
    }
    do {
        let config = try GPT2Checkpoint.config(header: UnsafeBufferPointer(header), fileByteCount: length)
        let expected = try config.checkpointByteCount()
        precondition(expected == length, "a header accepted for a file of another length")
    } catch {
        checkMessage(error)
    }
    // The whole input as a file, read as generate reads it.
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return 0 }
    do {
        let (config, parameters) = try GPT2Checkpoint.read(from: path)
        precondition(parameters.count == (try? config.parameterCount()), "parameters other than the header's count")
    } catch {
        checkMessage(error)
    }
    return 0
}

runFuzzer(fuzzOne)

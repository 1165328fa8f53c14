// libFuzzer target: arbitrary bytes as a safetensors file, and as a sharded index whose shards are one small
// in-memory file. Besides crashes it checks that every error's message is one printable line.
// Built by fuzz/run.sh with -sanitize=fuzzer,address -DFUZZING; a plain build replays the files given as arguments.

import FuzzSupport
import ModelImport

/// The shard every index entry points at: tensors "a" (F32 [2, 3]) and "b" (I64 [4]).
let shardBytes: [UInt8] = {
    let header = Array(
        #"{"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, "b": {"dtype": "I64", "shape": [4], "data_offsets": [24, 56]}}"#
            .utf8)
    return (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header + [UInt8](repeating: 0, count: 56)
}()

/// Traps unless `error`'s message is one line of printable characters.
func checkMessage(_ error: ImportError) {
    let text = error.description
    precondition(
        !text.unicodeScalars.contains {
            $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{2029}"
        },
        "a message with a control character: \(text.debugDescription)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let file = try SafetensorsFile.parse(fileBytes: bytes, path: "fuzz.safetensors")
        // What a report would compute from it.
        _ = (file.parameterCount, file.buffers.byteCount, file.totalsByDType)
        precondition(file.tensors.byteCount <= file.dataByteCount, "tensors larger than the data section")
    } catch {
        checkMessage(error)
    }
    do {
        let index = try SafetensorsIndex.parse(index: bytes, path: "fuzz.index.json") { shard throws(ImportError) in
            try SafetensorsFile.parse(fileBytes: shardBytes, path: shard)
        }
        _ = (index.parameterCount, index.tensorByteCount, index.warnings)
    } catch {
        checkMessage(error)
    }
    return 0
}

runFuzzer { data, size in fuzzOne(data, size) }

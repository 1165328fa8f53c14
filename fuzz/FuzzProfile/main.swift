// libFuzzer target: arbitrary bytes as a model profile and as a machine profile.
// Built by fuzz/run.sh with -sanitize=fuzzer,address -DFUZZING; a plain build replays the files given as arguments.

import Foundation
import FuzzSupport
import ModelProfile

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size <= ProfileParser.maximumFileByteCount else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    // Every outcome must be a Profile or a ProfileError — a trap or a crash is the bug.
    _ = try? ProfileParser.parse(text, file: "fuzz.yaml")
    _ = try? MachineParser.parse(text, file: "fuzz-machine.yaml")
    return 0
}

runFuzzer { data, size in fuzzOne(data, size) }

// libFuzzer target: arbitrary bytes as a training record or a capacity result, read back as `memplan report` reads
// them, then rendered in every format; and decoded without the checks, to hold the renderers themselves to never
// trapping on any document that decodes.
// Built by fuzz/run.sh with -sanitize=fuzzer,address -DFUZZING; a plain build replays the files given as arguments.

import Foundation
import FuzzSupport
import Reports

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    // Every outcome must be a document or a ReportError — a trap, a crash or a hang is the bug.
    if let document = try? ReportReader.read(bytes) {
        for format in ReportFormat.allCases { _ = document.render(format) }
    }
    if let record = try? JSONText.decode(TrainingRecord.self, from: bytes) {
        for format in TrainingRecord.formats { _ = record.render(format) }
    }
    if let capacity = try? JSONText.decode(CapacityReport.self, from: bytes) {
        for format in CapacityReport.formats { _ = capacity.render(format) }
    }
    return 0
}

runFuzzer { data, size in fuzzOne(data, size) }

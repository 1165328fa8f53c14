// libFuzzer target: arbitrary bytes (gzip or plain) as IDX image and label files.
// Built by fuzz/run.sh with -sanitize=fuzzer,address -DFUZZING; a plain build replays the files given as arguments.

import DataFormats
import Foundation
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Images: trust the header's sizes only up to a cap, as the loader trusts them only up to the plan.
    if let source = try? MemorySource(bytes, path: "fuzz-images"), let sizes = try? IDX.header(source, dimensions: 3) {
        let count = sizes[0]
        let (width, overflow) = sizes[1].multipliedReportingOverflow(by: sizes[2])
        if !overflow, count > 0, width > 0, count <= 64, width <= 4096, let again = try? MemorySource(bytes, path: "fuzz-images")
        {
            let destination = UnsafeMutablePointer<Float>.allocate(capacity: count * width)
            defer { destination.deallocate() }
            _ = try? IDX.readImages(again, count: count, width: width, into: destination) { Float($0) / 255 }
        }
    }
    if let source = try? MemorySource(bytes, path: "fuzz-labels"), let sizes = try? IDX.header(source, dimensions: 1),
        sizes[0] > 0, sizes[0] <= 1 << 16, let again = try? MemorySource(bytes, path: "fuzz-labels")
    {
        _ = try? IDX.readLabels(again, count: sizes[0], classes: 10)
    }
    return 0
}

runFuzzer { data, size in fuzzOne(data, size) }

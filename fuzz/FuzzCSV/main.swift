// libFuzzer target: arbitrary bytes as a CSV data file, read by the reader `memplan train` uses (through the same
// ByteSource as files, here bytes in memory). The first byte picks the columns, a header and the precision's
// limit; the second a line cap, so short inputs reach it too.
// Built by fuzz/run.sh with -sanitize=fuzzer,address -DFUZZING; a plain build replays the files given as arguments.

import DataFormats
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 2 else { return 0 }
    let control = data[0]
    let format = CSVFormat(
        columns: Int(control & 0x0F) + 1, hasHeader: control & 0x10 != 0,
        maximumMagnitude: control & 0x20 != 0 ? Double(Float.greatestFiniteMagnitude) : .greatestFiniteMagnitude,
        precisionName: control & 0x20 != 0 ? "single precision" : "double precision",
        maximumLineBytes: data[1] < 128 ? nil : Int(data[1]) * 4)
    let bytes = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    guard let source = try? MemorySource(bytes, path: "fuzz.csv") else { return 0 }
    // Every outcome must be rows or a DataFileError; each row has exactly `columns` finite numbers within the limit.
    var sum = 0.0
    _ = try? CSV.read(source, format: format) { (row) throws(DataFileError) in
        precondition(row.count == format.columns, "FuzzCSV: a row of \(row.count) numbers, expected \(format.columns)")
        for value in row {
            precondition(value.isFinite && abs(value) <= format.maximumMagnitude, "FuzzCSV: \(value) passed the checks")
            sum += value
        }
    }
    return sum.isNaN ? 1 : 0
}

runFuzzer { data, size in fuzzOne(data, size) }

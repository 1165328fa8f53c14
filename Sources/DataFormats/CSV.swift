// CSV rows of numbers, read line by line from any byte source (a file, or bytes in memory for the fuzzer):
// no line is held beyond a cap, no field's text is ever quoted back in an error, and a value is checked against
// the largest magnitude the model's precision can hold.

#if canImport(Glibc)
    import Glibc
#endif

/// How a CSV file is read.
public struct CSVFormat: Sendable, Equatable {
    /// Numbers per row: the model's input features plus its target columns.
    public var columns: Int
    /// Whether the first non-blank, non-comment line is a header to skip.
    public var hasHeader: Bool
    /// The largest magnitude a value may have (`Float.greatestFiniteMagnitude` for single precision).
    public var maximumMagnitude: Double
    /// What the magnitude limit is called in messages (`single precision`).
    public var precisionName: String

    /// The longest line accepted.
    public var maximumLineBytes: Int

    /// - Parameter maximumLineBytes: the longest line accepted; by default room for every column's number at 256
    ///   bytes each, and at least 1 MiB.
    public init(
        columns: Int, hasHeader: Bool, maximumMagnitude: Double = .greatestFiniteMagnitude,
        precisionName: String = "double precision", maximumLineBytes: Int? = nil
    ) {
        self.columns = columns
        self.hasHeader = hasHeader
        self.maximumMagnitude = maximumMagnitude
        self.precisionName = precisionName
        let (bytes, overflow) = columns.multipliedReportingOverflow(by: 256)
        self.maximumLineBytes = max(1, maximumLineBytes ?? (overflow ? Int.max / 4 : max(1 << 20, bytes)))
    }
}

/// The CSV reader: numbers separated by commas (or semicolons, or tabs), one row per line; LF or CRLF line ends;
/// blank lines and lines starting with `#` skipped.
public enum CSV {
    /// Reads every row of `source`, handing each to `row` as `format.columns` numbers, in order.
    ///
    /// - Returns: the number of rows.
    /// - Throws: `DataFileError.malformedLine` naming the line and column (never the text found there), or the
    ///   source's own errors.
    @discardableResult
    public static func read(
        _ source: ByteSource, format: CSVFormat, row: (UnsafeBufferPointer<Double>) throws(DataFileError) -> Void
    ) throws(DataFileError) -> Int {
        let values = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(format.columns, 1))
        defer { values.deallocate() }
        var reader = LineReader(source: source, maximumLineBytes: format.maximumLineBytes)
        defer { reader.deallocate() }
        var lineNumber = 0
        var rows = 0
        var skippedHeader = !format.hasHeader
        while let line = try reader.nextLine() {
            lineNumber += 1
            let trimmed = trim(line)
            if trimmed.isEmpty || trimmed.first == UInt8(ascii: "#") { continue }
            if !skippedHeader {
                skippedHeader = true
                continue
            }
            try parseRow(trimmed, format: format, into: values, path: source.path, line: lineNumber)
            try row(UnsafeBufferPointer(values))
            rows += 1
        }
        if let overlong = reader.overlongLine {
            throw .malformedLine(
                path: source.path, line: lineNumber + 1,
                reason:
                    "the line is longer than \(overlong) bytes; a row of \(format.columns) numbers needs far fewer (is this a CSV file?)"
            )
        }
        return rows
    }

    static func parseRow(
        _ line: UnsafeBufferPointer<UInt8>, format: CSVFormat, into values: UnsafeMutableBufferPointer<Double>, path: String,
        line lineNumber: Int
    ) throws(DataFileError) {
        let separator: UInt8 =
            line.contains(UInt8(ascii: ",")) ? UInt8(ascii: ",") : (line.contains(UInt8(ascii: ";")) ? UInt8(ascii: ";") : 9)
        var fieldCount = 1
        for byte in line where byte == separator { fieldCount += 1 }
        guard fieldCount == format.columns else {
            throw .malformedLine(
                path: path, line: lineNumber,
                reason: "\(fieldCount) column(s), expected \(format.columns) (the model's input features plus target columns)")
        }
        var start = 0
        for column in 0..<format.columns {
            var end = start
            while end < line.count, line[end] != separator { end += 1 }
            let field = trim(UnsafeBufferPointer(rebasing: line[start..<end]))
            guard let value = number(field) else {
                throw .malformedLine(path: path, line: lineNumber, reason: "column \(column + 1) is not a finite number")
            }
            guard abs(value) <= format.maximumMagnitude else {
                throw .malformedLine(
                    path: path, line: lineNumber,
                    reason:
                        "column \(column + 1) is a number too large for \(format.precisionName) (magnitude above \(shortNumber(format.maximumMagnitude))); "
                        + "scale the data, or train with --precision double")
            }
            values[column] = value
            start = end + 1
        }
    }

    /// The finite number a field spells exactly (C locale: `1.5`, `-2e-3`), or nil.
    static func number(_ field: UnsafeBufferPointer<UInt8>) -> Double? {
        guard !field.isEmpty, field.count < 128 else { return nil }
        var text = [CChar](repeating: 0, count: field.count + 1)
        for index in field.indices {
            guard field[index] != 0 else { return nil }
            text[index] = CChar(bitPattern: field[index])
        }
        return text.withUnsafeBufferPointer { buffer -> Double? in
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(buffer.baseAddress!, &end)
            guard let end, end - UnsafeMutablePointer(mutating: buffer.baseAddress!) == field.count, value.isFinite else {
                return nil
            }
            return value
        }
    }

    /// `3.4e38`: a limit as people write it.
    static func shortNumber(_ value: Double) -> String {
        var exponent = 0
        var mantissa = value
        while mantissa >= 10 {
            mantissa /= 10
            exponent += 1
        }
        let tenths = Int((mantissa * 10).rounded(.down))
        return "\(tenths / 10).\(tenths % 10)e\(exponent)"
    }

    /// The bytes without leading and trailing spaces, tabs and carriage returns.
    static func trim(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 || byte == 11 || byte == 12 }
        var low = 0
        var high = bytes.count
        while low < high, isSpace(bytes[low]) { low += 1 }
        while high > low, isSpace(bytes[high - 1]) { high -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[low..<high])
    }
}

/// Lines of a byte source, one at a time, in a buffer that never grows past the line cap.
struct LineReader {
    let source: ByteSource
    let maximumLineBytes: Int
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes [start, end) of the buffer are read and not yet handed out.
    private var start = 0
    private var end = 0
    private var finished = false
    /// Set when a line ran past the cap: the reader stops there.
    private(set) var overlongLine: Int?

    init(source: ByteSource, maximumLineBytes: Int) {
        self.source = source
        self.maximumLineBytes = maximumLineBytes
        capacity = min(1 << 16, maximumLineBytes + 1)
        buffer = .allocate(capacity: capacity)
    }

    func deallocate() { buffer.deallocate() }

    /// The next line without its `\n` (a `\r` before it is left for the caller's trim), or nil at the end or past
    /// an overlong line. The bytes stay valid until the next call.
    mutating func nextLine() throws(DataFileError) -> UnsafeBufferPointer<UInt8>? {
        guard overlongLine == nil else { return nil }
        var scanned = start
        while true {
            while scanned < end {
                if buffer[scanned] == 10 {
                    let line = UnsafeBufferPointer(start: buffer + start, count: scanned - start)
                    start = scanned + 1
                    return line
                }
                scanned += 1
            }
            if end - start > maximumLineBytes {
                overlongLine = maximumLineBytes
                return nil
            }
            if finished {
                guard end > start else { return nil }
                let line = UnsafeBufferPointer(start: buffer + start, count: end - start)
                start = end
                return line
            }
            // Make room: move the partial line to the front, grow up to the cap.
            if start > 0 {
                memmove(buffer, buffer + start, end - start)
                scanned -= start
                end -= start
                start = 0
            }
            if end == capacity {
                let grown = min(capacity * 2, maximumLineBytes + 2)
                let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
                larger.update(from: buffer, count: end)
                buffer.deallocate()
                buffer = larger
                capacity = grown
            }
            let read = try source.read(into: buffer + end, count: capacity - end)
            if read == 0 { finished = true } else { end += read }
        }
    }
}

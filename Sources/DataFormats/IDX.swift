// IDX files (the MNIST format): a 4-byte magic (0, 0, type, dimension count), big-endian 32-bit
// sizes, then the data. Decoded straight into caller-provided memory; no intermediate copies.

/// The IDX decoder.
public enum IDX {
    /// Type code 0x08: unsigned bytes (the only type MNIST-style datasets use).
    public static let unsignedByte: UInt8 = 0x08

    /// Reads and checks the magic and the sizes; the source is left at the first data byte.
    public static func header(_ source: ByteSource, dimensions expected: Int) throws(DataFileError) -> [Int] {
        var magic = (UInt8(0), UInt8(0), UInt8(0), UInt8(0))
        try withUnsafeMutableBytes(of: &magic) { bytes throws(DataFileError) in
            try source.readExactly(into: bytes.baseAddress!, count: 4, what: "the IDX magic number")
        }
        guard magic.0 == 0, magic.1 == 0, magic.2 == unsignedByte, Int(magic.3) == expected else {
            let hex = [magic.0, magic.1, magic.2, magic.3].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            let wanted = "0x000008" + (expected < 16 ? "0" : "") + String(expected, radix: 16)
            throw .corrupt(
                path: source.path,
                reason:
                    "wrong IDX magic number 0x\(hex); expected \(wanted) (unsigned bytes, \(expected) dimension\(expected == 1 ? "" : "s"))"
            )
        }
        var sizes: [Int] = []
        for index in 0..<expected {
            var raw = (UInt8(0), UInt8(0), UInt8(0), UInt8(0))
            try withUnsafeMutableBytes(of: &raw) { bytes throws(DataFileError) in
                try source.readExactly(into: bytes.baseAddress!, count: 4, what: "dimension \(index + 1)")
            }
            sizes.append(Int(raw.0) << 24 | Int(raw.1) << 16 | Int(raw.2) << 8 | Int(raw.3))
        }
        return sizes
    }

    /// Reads `count` images of `width` pixels each, scaled to [0, 1] through `convert`, into
    /// `destination` (count, width). The header must say exactly `count` images of `width` pixels.
    public static func readImages<T>(
        _ source: ByteSource, count: Int, width: Int, into destination: UnsafeMutablePointer<T>, convert: (UInt8) -> T
    ) throws(DataFileError) {
        let total = try imageBytes(source, count: count, width: width)
        let chunk = 1 << 16
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        var done = 0
        while done < total {
            let now = min(chunk, total - done)
            try source.readExactly(into: buffer, count: now, what: "the pixels (\(total) bytes)")
            for index in 0..<now { destination[done + index] = convert(buffer[index]) }
            done += now
        }
    }

    /// Reads `count` images of `width` pixels each into `destination` (count, width) as the file stores them, one
    /// byte per pixel, with no conversion (the generic version converts byte by byte through its closure, which
    /// across modules is an unspecialised call per pixel: 7% of a two-epoch training run went to it).
    public static func readImages(_ source: ByteSource, count: Int, width: Int, into destination: UnsafeMutablePointer<UInt8>)
        throws(DataFileError)
    {
        let total = try imageBytes(source, count: count, width: width)
        try source.readExactly(into: destination, count: total, what: "the pixels (\(total) bytes)")
    }

    /// Reads and checks the images header: exactly `count` images of `width` pixels. Returns count × width.
    private static func imageBytes(_ source: ByteSource, count: Int, width: Int) throws(DataFileError) -> Int {
        let sizes = try header(source, dimensions: 3)
        guard sizes[0] == count else {
            throw .corrupt(path: source.path, reason: "holds \(sizes[0]) images, its header said \(count) when first read")
        }
        let (pixels, overflow) = sizes[1].multipliedReportingOverflow(by: sizes[2])
        guard !overflow, pixels == width else {
            throw .mismatch(
                path: source.path,
                reason: "images are \(sizes[1])×\(sizes[2]) = \(pixels) pixels, the model's input has \(width) features")
        }
        return count * width
    }

    /// Reads `count` labels, each checked to be below `classes`.
    public static func readLabels(_ source: ByteSource, count: Int, classes: Int) throws(DataFileError) -> [UInt8] {
        let sizes = try header(source, dimensions: 1)
        guard sizes[0] == count else {
            throw .corrupt(path: source.path, reason: "holds \(sizes[0]) labels but the images file holds \(count) images")
        }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 1))
        defer { buffer.deallocate() }
        try source.readExactly(into: buffer, count: count, what: "the labels (\(count) bytes)")
        let labels = Array(UnsafeBufferPointer(start: buffer, count: count))
        if let bad = labels.firstIndex(where: { Int($0) >= classes }) {
            throw .corrupt(
                path: source.path, reason: "label \(labels[bad]) at index \(bad) is out of range; labels must be 0…\(classes - 1)"
            )
        }
        return labels
    }
}

// Parsing counts ("300e9", "235_146") and byte sizes ("1GB", "1.5 GiB") exactly, without traps.

/// Exact parsing of the counts and byte sizes people write in profiles and flags.
///
/// Counts accept digits with `_` or `,` separators, scientific notation whose value is a whole
/// number (`300e9`, `1.5e3`), and the decimal suffixes `k`, `M`, `B` (or `b`, `G`: billion), `T` (`300G`, `7B`, `1.5M`).
/// Byte sizes accept the same number followed by a unit: `B`, `kB`/`KB`, `MB`, `GB`, `TB`, `PB`
/// (powers of 1000) or `KiB`, `MiB`, `GiB`, `TiB`, `PiB` (powers of 1024). A bare number is bytes.
/// Anything that is not a whole number of units ≤ `Int.max` is an error, never a trap.
public enum Quantity {
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case notANumber(String)
        case notWhole(String)
        case negative(String)
        case tooLarge(String)
        case unknownUnit(String)

        public var description: String {
            switch self {
            case .notANumber(let text): "'\(text)' is not a number"
            case .notWhole(let text): "'\(text)' is not a whole number"
            case .negative(let text): "'\(text)' is negative"
            case .tooLarge(let text):
                "'\(text)' is larger than the largest size memplan can count (\(Int.max), about 9.2e18)"
            case .unknownUnit(let unit):
                "unknown unit '\(unit)'; use B, kB, MB, GB, TB, PB (powers of 1000) or KiB, MiB, GiB, TiB, PiB (powers of 1024)"
            }
        }
    }

    /// Thousand, million, billion (`B`, `b` or `G`: `7B`, `70b` parameters), trillion.
    private static let countSuffixes: [String: Int] = [
        "k": 1_000, "K": 1_000, "M": 1_000_000, "G": 1_000_000_000, "B": 1_000_000_000, "b": 1_000_000_000,
        "T": 1_000_000_000_000,
    ]

    private static let byteUnits: [String: Int] = [
        "b": 1, "byte": 1, "bytes": 1,
        "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000, "tb": 1_000_000_000_000, "pb": 1_000_000_000_000_000,
        "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50,
        "k": 1_000, "m": 1_000_000, "g": 1_000_000_000, "t": 1_000_000_000_000,
    ]

    /// Parses a non-negative whole count: `"26"`, `"235_146"`, `"300e9"`, `"300G"`, `"7B"`, `"70b"`, `"1.5M"`.
    public static func count(_ text: String) throws(ParseError) -> Int {
        // Fast path: plain digits, the common case in big generated profiles.
        if !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int(text) {
            return value
        }
        let trimmed = text.trimmingSpaces()
        var number = trimmed
        var multiplier = 1
        if let last = trimmed.last, let factor = countSuffixes[String(last)] {
            number = String(trimmed.dropLast()).trimmingSpaces()
            multiplier = factor
        }
        return try scaled(number, by: multiplier, original: text)
    }

    /// Parses a byte size: `"1GB"` → 1,000,000,000; `"1 GiB"` → 1,073,741,824; `"4096"` → 4096.
    public static func byteCount(_ text: String) throws(ParseError) -> Int {
        let trimmed = text.trimmingSpaces()
        var splitIndex = trimmed.endIndex
        while splitIndex > trimmed.startIndex {
            let before = trimmed.index(before: splitIndex)
            if trimmed[before].isLetter { splitIndex = before } else { break }
        }
        let number = String(trimmed[..<splitIndex]).trimmingSpaces()
        let unit = String(trimmed[splitIndex...])
        var multiplier = 1
        if !unit.isEmpty {
            guard let factor = byteUnits[unit.lowercased()] else { throw .unknownUnit(unit) }
            multiplier = factor
        }
        return try scaled(number, by: multiplier, original: text)
    }

    /// Parses a finite real number (`"0.05"`, `"1e-8"`).
    public static func real(_ text: String) throws(ParseError) -> Double {
        let trimmed = text.trimmingSpaces().replacingAll("_", with: "")
        guard let value = Double(trimmed), value.isFinite else { throw .notANumber(text) }
        return value
    }

    /// `number × multiplier` as an exact Int, or an error.
    private static func scaled(_ number: String, by multiplier: Int, original: String) throws(ParseError) -> Int {
        let cleaned = number.replacingAll("_", with: "").replacingAll(",", with: "")
        guard !cleaned.isEmpty else { throw .notANumber(original) }
        if cleaned.hasPrefix("-") {
            if Double(cleaned) != nil { throw .negative(original) }
            throw .notANumber(original)
        }
        if cleaned.allSatisfy(\.isASCIIDigit) {
            guard let value = Int(cleaned) else { throw .tooLarge(original) }
            let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
            guard !overflow else { throw .tooLarge(original) }
            return product
        }
        // Decimal or scientific: decompose into an exact integer mantissa and a power of ten,
        // so "1.5e3" and "300e9" are exact (a Double would be too, but 9.2e18 boundaries are not).
        guard let decimal = ExactDecimal(cleaned) else { throw .notANumber(original) }
        return try decimal.times(multiplier, original: original)
    }
}

/// A non-negative decimal `digits × 10^exponent`, parsed exactly from text.
struct ExactDecimal {
    var digits: [UInt8]
    var exponent: Int

    init?(_ text: String) {
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            var exponentText = text[text.index(after: e)...]
            if exponentText.hasPrefix("+") { exponentText = exponentText.dropFirst() }
            guard !exponentText.isEmpty, let parsed = Int(exponentText), abs(parsed) < 10_000 else { return nil }
            exponent = parsed
        }
        var digits: [UInt8] = []
        var seenPoint = false
        for character in mantissa {
            if character == ".", !seenPoint {
                seenPoint = true
            } else if let ascii = character.asciiValue, character.isASCIIDigit {
                digits.append(ascii - 48)
                if seenPoint { exponent -= 1 }
            } else {
                return nil
            }
        }
        guard !digits.isEmpty else { return nil }
        while digits.count > 1, digits.first == 0 { digits.removeFirst() }
        self.digits = digits
        self.exponent = exponent
    }

    /// `digits × 10^exponent × multiplier`, exact, or an error when not whole or too large.
    func times(_ multiplier: Int, original: String) throws(Quantity.ParseError) -> Int {
        var digits = self.digits
        var exponent = self.exponent
        // Fold the multiplier's powers of ten into the exponent, so "1.5 kB" stays exact.
        var factor = multiplier
        while factor > 1, factor % 10 == 0 {
            factor /= 10
            exponent += 1
        }
        // Trailing zeros of a fraction carry no value: "1.000" is 1.
        while exponent < 0, digits.count > 1, digits.last == 0 {
            digits.removeLast()
            exponent += 1
        }
        if digits.allSatisfy({ $0 == 0 }) { return 0 }
        guard digits.count + max(exponent, 0) <= 20 else { throw .tooLarge(original) }
        var value = 0
        for digit in digits {
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (added, o2) = shifted.addingReportingOverflow(Int(digit))
            guard !o1, !o2 else { throw .tooLarge(original) }
            value = added
        }
        let (scaled, o3) = value.multipliedReportingOverflow(by: factor)
        guard !o3 else { throw .tooLarge(original) }
        value = scaled
        if exponent >= 0 {
            for _ in 0..<exponent {
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow else { throw .tooLarge(original) }
                value = shifted
            }
            return value
        }
        guard -exponent <= 18 else { throw .notWhole(original) }
        var divisor = 1
        for _ in 0..<(-exponent) { divisor *= 10 }
        guard value % divisor == 0 else { throw .notWhole(original) }
        return value / divisor
    }
}

extension Int {
    /// The number with thousands separators: `3601000000000` → `"3,601,000,000,000"`.
    public var groupedDigits: String {
        let digits = String(magnitude)
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return self < 0 ? "-" + result : result
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }

    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        result.reserveCapacity(count)
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}

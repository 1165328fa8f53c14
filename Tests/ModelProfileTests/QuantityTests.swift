import ModelProfile
import Testing

@Suite("Quantity parsing")
struct QuantityTests {
    @Test(
        "counts parse exactly",
        arguments: [
            ("26", 26), ("235_146", 235_146), ("1,000", 1000), ("300e9", 300_000_000_000), ("3e11", 300_000_000_000),
            ("1.5e3", 1500), ("300G", 300_000_000_000), ("1k", 1000), ("0", 0), ("1.000", 1),
            ("9223372036854775807", Int.max), ("7B", 7_000_000_000), ("70b", 70_000_000_000), ("1.5M", 1_500_000),
            ("175B", 175_000_000_000),
        ])
    func countParses(text: String, expected: Int) throws {
        #expect(try Quantity.count(text) == expected)
    }

    @Test(
        "byte sizes use decimal and binary units",
        arguments: [
            ("1GB", 1_000_000_000), ("1 GB", 1_000_000_000), ("1GiB", 1 << 30), ("1.5 kB", 1500), ("4096", 4096),
            ("0.5 KiB", 512), ("2 MiB", 2 << 20), ("1PB", 1_000_000_000_000_000), ("3B", 3),
        ])
    func byteCountParses(text: String, expected: Int) throws {
        #expect(try Quantity.byteCount(text) == expected)
    }

    @Test("absurd and malformed values are errors, never traps")
    func badCounts() {
        #expect(throws: Quantity.ParseError.tooLarge("1e30")) { try Quantity.count("1e30") }
        #expect(throws: Quantity.ParseError.tooLarge("9223372036854775808")) { try Quantity.count("9223372036854775808") }
        #expect(throws: Quantity.ParseError.tooLarge("1e19")) { try Quantity.count("1e19") }
        #expect(throws: Quantity.ParseError.negative("-4")) { try Quantity.count("-4") }
        #expect(throws: Quantity.ParseError.notWhole("0.5")) { try Quantity.count("0.5") }
        #expect(throws: Quantity.ParseError.notANumber("four")) { try Quantity.count("four") }
        #expect(throws: Quantity.ParseError.notANumber("")) { try Quantity.count("") }
        #expect(throws: Quantity.ParseError.unknownUnit("GX")) { try Quantity.byteCount("1GX") }
        #expect(throws: Quantity.ParseError.tooLarge("10000PB")) { try Quantity.byteCount("10000PB") }
        #expect(throws: Quantity.ParseError.notWhole("0.3 B")) { try Quantity.byteCount("0.3 B") }
    }
}

@testable import Reports
import Testing

@Suite("Generated text in the terminal")
struct GenerationTextTests {
    @Test("sampled bytes cannot drive the terminal: ESC, BEL, NUL, CR, C1 and separators escaped; newlines and tabs kept")
    func printable() {
        let crafted = "a\u{1B}]0;PWNED\u{07}\u{1B}[2J\u{0}\r\u{85}\u{2028}\u{202E}b\n\tc é"
        #expect(
            GenerationReport.printable(crafted)
                == "a\\u{1b}]0;PWNED\\u{7}\\u{1b}[2J\\u{0}\\u{d}\\u{85}\\u{2028}\\u{202e}b\n\tc é")
    }
}

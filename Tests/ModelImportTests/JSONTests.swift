import Testing

@testable import ModelImport

@Suite("the JSON reader")
struct JSONTests {
    func parse(_ text: String) throws(JSONError) -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    func failure(_ text: String) -> JSONError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("values, key order, numbers kept as text")
    func values() throws {
        let value = try parse(
            #" {"b": [1, -2, 3.5e-2, true, false, null], "a": {"x": "y"}, "big": 123456789012345678901234567890} "#)
        guard case .object(let members) = value else {
            Issue.record("an object")
            return
        }
        #expect(members.map(\.key) == ["b", "a", "big"])
        guard case .array(let elements) = value["b"] else {
            Issue.record("an array")
            return
        }
        #expect(elements.map(\.integer) == [1, -2, nil, nil, nil, nil])
        #expect(elements.map(\.typeName) == ["the number 1", "the number -2", "the number 3.5e-2", "true", "false", "null"])
        #expect(value["big"]?.integer == nil)  // beyond Int: not rounded, refused
        #expect(value["a"]?["x"].map { if case .string("y") = $0 { true } else { false } } == true)
    }

    @Test("string escapes, surrogate pairs, UTF-8")
    func strings() throws {
        let value = try parse(#"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20AC", "\ud83d\ude00", "naïve"]"#)
        guard case .array(let elements) = value else {
            Issue.record("an array")
            return
        }
        let texts = elements.map { element -> String in
            if case .string(let text) = element { return text }
            return "?"
        }
        #expect(texts == ["a\"b\\c/d\u{8}\u{C}\n\r\t", "é€", "😀", "naïve"])
    }

    @Test(
        "malformed text is refused with the offset of the problem",
        arguments: [
            ("", 0, "the text ends where a value should be"),
            ("{", 1, "expected a key in quotes, found end of text"),
            ("{\"a\" 1}", 5, "expected ':' after a key, found '1'"),
            ("{\"a\": 1,}", 8, "expected a key in quotes, found '}'"),
            ("[1 2]", 3, "expected ',' or ']' in an array, found '2'"),
            ("[1,]", 3, "unexpected ']' where a value should be"),
            ("01", 0, "a number may not have leading zeros"),
            ("-", 1, "a number needs digits after '-'"),
            ("1.", 2, "a number needs digits after '.'"),
            ("1e+", 3, "a number needs digits in its exponent"),
            ("tru", 0, "unexpected 't' where a value should be"),
            ("\"abc", 0, "a string is not closed"),
            ("\"a\u{1}\"", 2, "a control character (0x1) inside a string must be escaped"),
            ("\"\\x\"", 2, "unknown escape after a backslash: 'x'"),
            ("\"\\u12\"", 3, "a \\u escape needs four hex digits"),
            ("\"\\ud800\"", 7, "an unpaired UTF-16 surrogate in a \\u escape"),
            ("\"\\udc00\"", 7, "an unpaired UTF-16 surrogate in a \\u escape"),
            ("{\"k\": 1, \"k\": 2}", 9, "duplicate key 'k'"),
            ("{} x", 3, "unexpected 'x' after the value"),
        ])
    func malformed(text: String, offset: Int, problem: String) {
        let error = failure(text)
        #expect(error?.offset == offset)
        #expect(error?.problem == problem)
    }

    @Test("invalid UTF-8 and deep nesting are refused")
    func limits() throws {
        do {
            _ = try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22])
            Issue.record("invalid UTF-8 inside a string is refused")
        } catch {
            #expect(error.problem == "a string is not valid UTF-8")
        }
        let deep = JSONParser.maximumDepth
        #expect(failure(String(repeating: "[", count: deep) + String(repeating: "]", count: deep)) == nil)
        let tooDeep = String(repeating: "[", count: deep + 1) + String(repeating: "]", count: deep + 1)
        #expect(failure(tooDeep)?.problem == "objects and arrays nested more than 64 deep")
        // A hostile header that is all brackets stops at the limit, not at the stack's end.
        #expect(failure(String(repeating: "{\"a\":", count: 100_000))?.offset == 5 * 64)
    }
}

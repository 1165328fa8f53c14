// Escaping of text that came from a file or a flag, for each output: every string a file supplies is escaped
// in every format.

/// Escapes text for the format it is written into.
public enum Markup {
    /// For HTML and SVG text and attribute values: & < > " ' as entities; other control characters dropped.
    public static func html(_ text: String) -> String {
        escaped(text) { character in
            switch character {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            case "\"": "&quot;"
            case "'": "&#39;"
            case "\n", "\t": String(character)
            default: nil
            }
        }
    }

    /// For Markdown text and table cells: the characters Markdown (and the HTML it may contain) gives meaning are
    /// backslash-escaped, line breaks become spaces, control characters are dropped.
    public static func markdown(_ text: String) -> String {
        escaped(text) { character in
            switch character {
            case "\\", "`", "*", "_", "[", "]", "#", "|", "<", ">", "~": "\\" + String(character)
            case "\n", "\r", "\t": " "
            default: nil
            }
        }
    }

    /// `text` with each character `replacement` gives a string for replaced by it, every other control character
    /// (`isControl`) dropped and the rest kept: the one loop of `html` and `markdown`.
    static func escaped(_ text: String, _ replacement: (Character) -> String?) -> String {
        var result = ""
        for character in text {
            if let replaced = replacement(character) {
                result += replaced
            } else if !isControl(character) {
                result.append(character)
            }
        }
        return result
    }

    /// For one line on a terminal: control characters (escape sequences, NUL, line breaks) and the invisible
    /// direction overrides shown as `\u{…}`, so a string from a file can neither move the cursor, nor split an
    /// error message over lines, nor reorder what is shown.
    public static func terminal(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || isInvisibleFormatting(scalar) {
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func isControl(_ character: Character) -> Bool {
        character.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || isInvisibleFormatting($0) }
    }

    /// Line and paragraph separators, bidirectional embeddings, overrides and isolates, and the byte-order mark.
    static func isInvisibleFormatting(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0xFEFF: true
        default: false
        }
    }
}

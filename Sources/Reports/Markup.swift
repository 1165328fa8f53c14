// Escaping of text that came from a file or a flag, for each output: every string a file supplies is escaped
// in every format.

/// Escapes text for the format it is written into.
public enum Markup {
    /// For HTML and SVG text and attribute values: & < > " ' as entities; other control characters dropped.
    public static func html(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "\n", "\t": result.append(character)
            default: if !isControl(character) { result.append(character) }
            }
        }
        return result
    }

    /// For Markdown text and table cells: the characters Markdown (and the HTML it may contain) gives meaning are
    /// backslash-escaped, line breaks become spaces, control characters are dropped.
    public static func markdown(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\\", "`", "*", "_", "[", "]", "#", "|", "<", ">", "~":
                result += "\\" + String(character)
            case "\n", "\r", "\t": result += " "
            default: if !isControl(character) { result.append(character) }
            }
        }
        return result
    }

    /// For one line on a terminal: control characters (escape sequences, NUL, line breaks) shown as `\u{…}`, so a
    /// string from a file can neither move the cursor nor split an error message over lines.
    public static func terminal(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}" {
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func isControl(_ character: Character) -> Bool {
        character.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }
}

// Path arithmetic on plain strings. Foundation's NSString and URL path helpers trap on some one-character
// paths ("p", "x"; String._startOfLastPathComponent), so memplan never hands a user's path to them.

/// Splits and joins paths as text, with `/` as the only separator; nothing touches the file system.
public enum PathText {
    /// The directory part of `path`: `"a/b.yaml"` → `"a"`, `"/b"` → `"/"`, `"b.yaml"` → `"."`, `"a/b/"` → `"a"`.
    public static func directory(of path: String) -> String {
        var bytes = Array(path.utf8)
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        var end = slash
        while end > 0, bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
        return end == 0 ? "/" : String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// The last component of `path`: `"a/b.yaml"` → `"b.yaml"`, `"a/b/"` → `"b"`, `"/"` → `"/"`, `""` → `""`.
    public static func lastComponent(_ path: String) -> String {
        var bytes = Array(path.utf8)
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")), bytes.count > 1 else {
            return String(decoding: bytes, as: UTF8.self)
        }
        return String(decoding: bytes[(slash + 1)...], as: UTF8.self)
    }

    /// `name` without its extension: `"run.json"` → `"run"`, `".hidden"` → `".hidden"`, `"a.b.c"` → `"a.b"`.
    public static func deletingExtension(_ name: String) -> String {
        let bytes = Array(name.utf8)
        guard let dot = bytes.lastIndex(of: UInt8(ascii: ".")), dot > 0, !bytes[..<dot].allSatisfy({ $0 == UInt8(ascii: ".") })
        else { return name }
        return String(decoding: bytes[..<dot], as: UTF8.self)
    }

    /// `component` inside `directory`: `("a", "b")` → `"a/b"`; an absolute component, or a directory of `""` or
    /// `"."`, gives the component itself.
    public static func appending(_ component: String, to directory: String) -> String {
        if component.hasPrefix("/") || directory.isEmpty || directory == "." { return component }
        return directory.hasSuffix("/") ? directory + component : directory + "/" + component
    }

    /// A name safe to use as one file-name component: letters, digits, `.`, `_` and `-` kept, every other character
    /// (a `/`, a space, a control character) replaced by `-`, leading dots dropped, at most 100 bytes; `"unnamed"`
    /// when nothing is left. For file names built from names a file supplies (`reports/capacity-<name>.html`).
    public static func safeComponent(_ name: String) -> String {
        var result = ""
        for scalar in name.unicodeScalars {
            let isSafe =
                scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar))
            result.unicodeScalars.append(isSafe ? scalar : "-")
            if result.utf8.count >= 100 { break }
        }
        while result.hasPrefix(".") { result.removeFirst() }
        return result.isEmpty ? "unnamed" : result
    }
}

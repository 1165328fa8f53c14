import Foundation
import Reports
import TestSupport
import Testing

/// The committed seeds of the record fuzzer: records and capacity results memplan wrote.
let reportSeeds: [String] = {
    let directory = packageRoot.appendingPathComponent("fuzz/corpus/record")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { $0.hasSuffix(".json") }.sorted().map { directory.appendingPathComponent($0).path }
}()

/// A step into a JSON document: a key of an object or an index of an array.
enum JSONStep: CustomStringConvertible {
    case key(String)
    case index(Int)
    var description: String {
        switch self {
        case .key(let key): ".\(key)"
        case .index(let index): "[\(index)]"
        }
    }
}

/// Paths of every number (`numbers: true`) or string leaf of a JSON value.
func leafPaths(_ value: Any, numbers: Bool, prefix: [JSONStep] = []) -> [[JSONStep]] {
    switch value {
    case let object as [String: Any]:
        return object.keys.sorted().flatMap { leafPaths(object[$0]!, numbers: numbers, prefix: prefix + [.key($0)]) }
    case let array as [Any]:
        return array.indices.flatMap { leafPaths(array[$0], numbers: numbers, prefix: prefix + [.index($0)]) }
    case let number as NSNumber where !(value is String):
        // JSONSerialization reads true and false as booleans of their own type; they are no numbers to vary.
        let isBool = String(describing: type(of: number)).contains("Boolean")
        return numbers && !isBool ? [prefix] : []
    case is String:
        return numbers ? [] : [prefix]
    default:
        return []
    }
}

/// `value` with the leaf at `path` replaced by `replacement`.
func replacing(_ value: Any, at path: ArraySlice<JSONStep>, with replacement: Any) -> Any {
    guard let step = path.first else { return replacement }
    switch (step, value) {
    case (.key(let key), var object as [String: Any]):
        object[key] = replacing(object[key]!, at: path.dropFirst(), with: replacement)
        return object
    case (.index(let index), var array as [Any]):
        array[index] = replacing(array[index], at: path.dropFirst(), with: replacement)
        return array
    default:
        return value
    }
}

/// Every object key renamed through `rename` (dictionary keys such as node numbers are strings a file supplies too).
func renamingKeys(_ value: Any, _ rename: (String) -> String) -> Any {
    switch value {
    case let object as [String: Any]:
        var result: [String: Any] = [:]
        for (key, child) in object { result[rename(key)] = renamingKeys(child, rename) }
        return result
    case let array as [Any]:
        return array.map { renamingKeys($0, rename) }
    default:
        return value
    }
}

/// Reads a document back as `memplan report` does, and renders it in every format; nil when it is refused.
func renderEveryFormat(_ data: Data) -> [ReportFormat: String]? {
    guard let document = try? ReportReader.read(data) else { return nil }
    var pages: [ReportFormat: String] = [:]
    for format in ReportFormat.allCases { pages[format] = document.render(format) }
    return pages
}

@Suite("Reports read back from files: hostile text escaped, extreme numbers refused or rendered, never a trap")
struct ReportRobustnessTests {
    static let hostile = "<script>alert(1)</script> | *x* _y_ `z` [a](b) # \u{1B}[31mred\u{1B}[0m \u{0}nul\nline\r\u{202E}rtl"

    @Test("the seeds are records and capacity results that render", arguments: reportSeeds)
    func seeds(_ path: String) throws {
        let pages = try #require(renderEveryFormat(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(pages[.html]?.hasPrefix("<!DOCTYPE html>") == true)
    }

    @Test("every string a record supplies is escaped in every format", arguments: reportSeeds)
    func hostileStrings(_ path: String) throws {
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        var document: Any = original
        for leaf in leafPaths(original, numbers: false) { document = replacing(document, at: leaf[...], with: Self.hostile) }
        document = renamingKeys(document) { key in
            // Keys of the contract stay; free keys (node numbers) become hostile.
            key.allSatisfy(\.isNumber) ? key + Self.hostile : key
        }
        let data = try JSONSerialization.data(withJSONObject: document)
        let pages = try #require(renderEveryFormat(data), "a record whose text is hostile must still be read")
        for (format, page) in pages where format != .json {
            #expect(!page.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{0}" || $0 == "\u{202E}" }, "\(format)")
        }
        let html = try #require(pages[.html])
        #expect(!html.contains("<script"))
        #expect(!html.contains("red\n"))
        let markdown = try #require(pages[.markdown])
        #expect(!markdown.replacingOccurrences(of: "\\<", with: "").contains("<script"), "an unescaped tag")
        for line in markdown.split(separator: "\n") where line.hasPrefix("|") {
            // Every table row has as many unescaped cell separators as its header.
            let cells = line.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count
            #expect(cells >= 2, "\(line)")
            #expect(!line.contains("\n"))
        }
        let table = try #require(pages[.table])
        #expect(!table.contains("\r"))
    }

    @Test(
        "every number of a record, one at a time, at an extreme: refused with a reason, or rendered",
        arguments: reportSeeds)
    func extremeNumbers(_ path: String) throws {
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        let extremes: [Any] = [
            Int.max, Int.min, Int.max - 1, -1, 0, 1e308, -1e308, 5e-324, UInt64.max, 1e19, 9.3e18,
        ]
        var rendered = 0
        var refused = 0
        for leaf in leafPaths(original, numbers: true) {
            for value in extremes {
                let data = try JSONSerialization.data(withJSONObject: replacing(original, at: leaf[...], with: value))
                switch Result(catching: { () throws(ReportError) in try ReportReader.read(data) }) {
                case .success(let document):
                    for format in ReportFormat.allCases { _ = document.render(format) }
                    rendered += 1
                case .failure(let error):
                    #expect(!error.description.contains("\n"))
                    #expect(error.description.count < 400)
                    refused += 1
                }
            }
        }
        #expect(rendered > 0 && refused > 0)
    }

    @Test("every number of a record at once at an extreme", arguments: [Int.max, Int.min, -1])
    func allNumbers(_ value: Int) throws {
        for path in reportSeeds {
            let original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
            var document: Any = original
            for leaf in leafPaths(original, numbers: true) { document = replacing(document, at: leaf[...], with: value) }
            _ = renderEveryFormat(try JSONSerialization.data(withJSONObject: document))
        }
    }

    @Test("a refused record names the field, the value and what is accepted")
    func reasons() throws {
        let path = try #require(reportSeeds.first { $0.hasSuffix("record-classes.json") })
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        func refusal(_ document: Any) throws -> String? {
            let data = try JSONSerialization.data(withJSONObject: document)
            if case .failure(let error) = Result(catching: { () throws(ReportError) in try ReportReader.read(data) }) {
                return error.description
            }
            return nil
        }
        let bad = try refusal(replacing(original, at: [.key("metrics"), .key("test_accuracy")], with: 5))
        #expect(bad?.contains("metrics.test_accuracy") == true, "\(bad ?? "read")")
        #expect(bad?.contains("0 to 1") == true)
        let huge = try refusal(replacing(original, at: [.key("predicted"), .key("arena_bytes")], with: 1e19))
        #expect(huge?.contains("predicted.arena_bytes") == true, "\(huge ?? "read")")
    }
}

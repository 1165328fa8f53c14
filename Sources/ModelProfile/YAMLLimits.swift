// Bounds on the work a profile's YAML can cause, checked on libyaml's event stream before Yams composes a node
// tree. Aliases are cheap to compose, but Yams checks every mapping's keys for duplicates by hashing them, and a key
// that is an alias of an alias of … hashes its whole expansion: nine levels of nine aliases took minutes. Counting the
// nodes of the expanded tree as the events go by bounds that work (and the composer's recursion depth) exactly.
//
// CYaml is the C library inside Yams; this file reads its events only and builds nothing.

import CYaml

/// The limits a profile's YAML must stay within, and their check.
enum YAMLLimits {
    /// Nodes of the document with every alias expanded; a profile needs a few hundred (a 100,000-layer one
    /// about 300,000, with no aliases).
    static let maximumExpandedNodes = 1_000_000
    /// Lists and mappings inside each other (block or flow style); a profile needs four.
    static let maximumDepth = ProfileParser.maximumNesting

    /// Throws when `text`'s aliases expand past `maximumExpandedNodes` or its collections nest deeper than
    /// `maximumDepth`. Text without an alias (no `*`) is only checked for depth by `ProfileParser.checkNesting`;
    /// malformed YAML is left for Yams to report with its own message.
    static func check(_ text: String, file: String) throws(ProfileError) {
        guard text.utf8.contains(UInt8(ascii: "*")) else { return }
        var bytes = Array(text.utf8)
        try bytes.withUnsafeMutableBufferPointer { buffer throws(ProfileError) in
            try scan(buffer, file: file)
        }
    }

    private static func scan(_ buffer: UnsafeMutableBufferPointer<UInt8>, file: String) throws(ProfileError) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
        /// Expanded size of each anchored node so far.
        var anchors: [String: Int] = [:]
        /// For each open collection: its anchor and the expanded count when it opened.
        var open: [(anchor: String?, start: Int)] = []
        var expanded = 0
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else { return }  // Yams reports the syntax error
            defer { yaml_event_delete(&event) }
            let line = Int(event.start_mark.line) + 1
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return
            case YAML_SCALAR_EVENT:
                expanded += 1
                if let anchor = name(event.data.scalar.anchor) { anchors[anchor] = 1 }
            case YAML_ALIAS_EVENT:
                // An undefined alias counts one node; Yams reports it.
                expanded += name(event.data.alias.anchor).flatMap { anchors[$0] } ?? 1
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let anchor =
                    event.type == YAML_SEQUENCE_START_EVENT
                    ? name(event.data.sequence_start.anchor) : name(event.data.mapping_start.anchor)
                open.append((anchor, expanded))
                expanded += 1
                guard open.count <= maximumDepth else {
                    throw .malformed(
                        SourceLocation(file: file, line: line),
                        problem: "lists or mappings nested more than \(maximumDepth) deep; a profile needs a handful")
                }
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                if let (anchor, start) = open.popLast(), let anchor { anchors[anchor] = expanded - start }
            default:
                break
            }
            guard expanded <= maximumExpandedNodes else {
                throw .malformed(
                    SourceLocation(file: file, line: line),
                    problem:
                        "aliases expand the document to more than \(maximumExpandedNodes.groupedDigits) nodes (the limit); "
                        + "a profile needs a few hundred, so write it out without aliases of aliases")
            }
        }
    }

    private static func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self))
    }
}

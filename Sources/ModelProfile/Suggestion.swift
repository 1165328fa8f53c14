// "Did you mean …?" for unknown keys and names.

enum Suggestion {
    /// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo
    /// (distance ≤ max(2, word.count / 3)) or one is a prefix of the other.
    static func closest(to word: String, in candidates: [String]) -> String? {
        // No key or name is longer than this; a longer word is no typo, and its edit distance would cost time.
        guard word.utf8.count <= 64 else { return nil }
        let lowered = word.lowercased()
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            if best == nil || distance < best!.1 { best = (candidate, distance) }
        }
        guard let (candidate, distance) = best else { return nil }
        if distance <= max(2, lowered.count / 3) { return candidate }
        if candidate.hasPrefix(lowered) || lowered.hasPrefix(candidate) { return candidate }
        return nil
    }

    /// Levenshtein distance with unit costs.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars.prefix(256))
        let b = Array(b.unicodeScalars.prefix(256))
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

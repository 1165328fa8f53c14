// A transformer's tokens: the bytes of text files (a byte-level vocabulary), or a synthetic Markov chain; sized first
// (so the plan can hold them), then read straight into the arena.

import Foundation
import ModelProfile

/// Loads a transformer's text in two phases, as `DatasetLoader` does for tables: `init` learns the byte counts (file
/// sizes), `load` reads the bytes into the arena's training and validation buffers.
public final class TextLoader {
    public let source: TextSource
    /// Bytes (tokens) for training, and held out for validation (the text's tail).
    public let trainCount: Int
    public let validationCount: Int
    /// What `describe` prints: "text from /usr/share/games/fortunes (57 files)".
    public let summary: String
    let files: [String]
    let vocabularySize: Int

    /// Reads the source's size. `dataPath` overrides the profile's path (a text file or a directory of them).
    ///
    /// - Throws: `DataError` for a missing path, a directory without text, too little text for one window.
    public init(model: TransformerModel, dataPath: String? = nil) throws {
        guard let source = model.data else { throw DataError.noDataSource(profile: model.name) }
        vocabularySize = model.spec.vocabularySize
        let total: Int
        switch source {
        case .text(let path, let fraction):
            let location = dataPath ?? path
            self.source = .text(path: location, validationFraction: fraction)
            files = try Self.textFiles(at: location)
            var sum = 0
            for file in files {
                let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
                sum += size
            }
            total = sum
            validationCount = Int((Double(total) * fraction).rounded(.down))
            summary = "text from \(location) (\(files.count) file\(files.count == 1 ? "" : "s"), \(total) bytes)"
        case .synthetic(let count, _):
            self.source = source
            files = []
            total = count
            validationCount = max(1, count / 10)
            summary = "synthetic Markov-chain bytes (\(count) tokens)"
        }
        trainCount = total - validationCount
        let needed = model.sequenceLength + 1
        guard trainCount >= needed, validationCount >= needed else {
            throw DataError.notEnoughSamples(
                reason: "\(summary): \(trainCount) training and \(validationCount) validation tokens; "
                    + "each part needs at least one window of sequence + 1 = \(needed) tokens")
        }
    }

    /// Regular text files at `path`: the file itself, or a directory's files sorted by name (not recursing; skipping
    /// strfile's `.dat` indexes and symbolic links).
    static func textFiles(at path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.datasetMissing(path: path, package: path.hasPrefix(TextSource.defaultFortunesPath) ? "fortunes" : nil)
        }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let files = names.sorted().map { (path as NSString).appendingPathComponent($0) }.filter { file in
            guard !file.hasSuffix(".dat"), let attributes = try? FileManager.default.attributesOfItem(atPath: file) else {
                return false
            }
            return attributes[.type] as? FileAttributeType == .typeRegular
        }
        guard !files.isEmpty else { throw DataError.datasetCorrupt(path: path, reason: "the directory holds no text files") }
        return files
    }

    /// Reads every token into `train` (trainCount bytes) and `validation` (validationCount bytes), checking each is a
    /// token of the vocabulary.
    ///
    /// - Throws: `DataError` when a file changed size or holds a byte ≥ the vocabulary.
    public func load(train: UnsafeMutablePointer<UInt8>, validation: UnsafeMutablePointer<UInt8>) throws {
        switch source {
        case .text:
            var position = 0
            for file in files {
                guard let handle = FileHandle(forReadingAtPath: file) else {
                    throw DataError.datasetCorrupt(path: file, reason: "cannot be read")
                }
                defer { try? handle.close() }
                while true {
                    let chunk = (try? handle.read(upToCount: 1 << 20)) ?? Data()
                    if chunk.isEmpty { break }
                    for byte in chunk {
                        guard position < trainCount + validationCount else {
                            throw DataError.datasetCorrupt(path: file, reason: "grew while it was being read")
                        }
                        guard Int(byte) < vocabularySize else {
                            throw DataError.datasetMismatch(
                                path: file,
                                reason:
                                    "holds byte \(byte), a token outside the vocabulary of \(vocabularySize); use vocabulary: 256"
                            )
                        }
                        if position < trainCount { train[position] = byte } else { validation[position - trainCount] = byte }
                        position += 1
                    }
                }
            }
            guard position == trainCount + validationCount else {
                throw DataError.datasetCorrupt(path: files.last ?? "", reason: "shrank while it was being read")
            }
        case .synthetic(_, let seed):
            var generator = SplitMix64(seed: seed)
            let symbols = min(vocabularySize, 16)
            // Each symbol is followed by one of three successors (the first twice as likely): about 1 nat per token.
            let successors = (0..<symbols).map { _ in (0..<3).map { _ in Int(generator.next() % UInt64(symbols)) } }
            var current = 0
            for position in 0..<(trainCount + validationCount) {
                let byte = UInt8(current)
                if position < trainCount { train[position] = byte } else { validation[position - trainCount] = byte }
                let draw = Int(generator.next() % 4)
                current = successors[current][draw < 2 ? 0 : draw - 1]
            }
        }
    }
}

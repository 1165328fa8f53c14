import Foundation
import TestSupport
import Testing

/// One class of bad input: files to write into a fresh directory, the arguments (with `$DIR` for
/// that directory), the exit status and words the one-line message must contain.
struct BadInput: Sendable, CustomStringConvertible {
    var name: String
    var files: [String: [UInt8]] = [:]
    /// FIFOs (named pipes) to make in the directory, nobody writing to them.
    var fifos: [String] = []
    /// Sparse files of these sizes (zero bytes that take no disk).
    var sparseFiles: [String: Int] = [:]
    var arguments: [String]
    var status: Int32 = 2
    var message: [String]
    /// Words the message must not contain (the content of a data file that failed to parse).
    var forbidden: [String] = []

    var description: String { name }
}

let mlp = "input: {features: 2}\noutput: {units: 1}\nloss: l2\n"
let csvProfile = "input: {features: 2}\noutput: {units: 1}\nloss: l2\nbatch: 2\ndata: {source: csv, path: data.csv}\n"
func idx(_ dimensions: [Int], _ body: [UInt8], type: UInt8 = 8) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, type, UInt8(dimensions.count)]
    for size in dimensions {
        bytes += [UInt8(size >> 24 & 255), UInt8(size >> 16 & 255), UInt8(size >> 8 & 255), UInt8(size & 255)]
    }
    return bytes + body
}

func text(_ string: String) -> [UInt8] { Array(string.utf8) }

/// A transformer profile without heads and context (each entry adds its own).
private let transformer = "kind: transformer\nname: bad\nvocabulary: 64\nlayers: 1\nhidden: 32\nbatch: 2\nsequence: 8\n"

/// The catalogue the README's "Bad input" section lists; every entry must fail cleanly.
let catalogue = profileAndFlagCatalogue + fileCatalogue + numberCatalogue + yamlCatalogue + loraCatalogue + frozenCatalogue

let profileAndFlagCatalogue: [BadInput] = [
    BadInput(
        name: "malformed YAML", files: ["p.yaml": text("input:\n  features: 3\n hidden: [\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["p.yaml:3", "malformed"]),
    BadInput(
        name: "malformed JSON", files: ["p.json": text("{\"input\": {\"features\": 3,,}")],
        arguments: ["estimate", "$DIR/p.json"], message: ["p.json:1", "malformed"]),
    BadInput(
        name: "empty file", files: ["p.yaml": text("")], arguments: ["estimate", "$DIR/p.yaml"], message: ["the file is empty"]),
    BadInput(
        name: "a list where a mapping belongs", files: ["p.yaml": text("input: 3\noutput: [1]\nloss: l2\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["'output' must be a mapping"]),
    BadInput(
        name: "a mapping where a number belongs", files: ["p.yaml": text("input: 3\noutput: {units: {a: 1}}\nloss: l2\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["'units' must be a whole number"]),
    BadInput(
        name: "text where a number belongs", files: ["p.yaml": text(mlp + "batch: many\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["invalid batch 'many'"]),
    BadInput(
        name: "missing input", files: ["p.yaml": text("output: {units: 1}\nloss: l2\n")], arguments: ["estimate", "$DIR/p.yaml"],
        message: ["missing 'input'"]),
    BadInput(
        name: "missing loss", files: ["p.yaml": text("input: 3\noutput: {units: 1}\n")], arguments: ["estimate", "$DIR/p.yaml"],
        message: ["missing 'loss'"]),
    BadInput(
        name: "unknown top-level key", files: ["p.yaml": text(mlp + "epoch: 3\n")], arguments: ["estimate", "$DIR/p.yaml"],
        message: ["unknown key 'epoch'", "did you mean 'epochs'"]),
    BadInput(
        name: "unknown nested key", files: ["p.yaml": text("input: 3\nhidden: [{unit: 4}]\noutput: {units: 1}\nloss: l2\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["unknown key 'unit' in hidden[0]", "did you mean 'units'"]),
    BadInput(
        name: "duplicate keys", files: ["p.yaml": text(mlp + "loss: l1\n")], arguments: ["estimate", "$DIR/p.yaml"],
        message: ["duplicate keys: loss"]),
    BadInput(
        name: "zero width", files: ["p.yaml": text("input: 3\nhidden: [{units: 0}]\noutput: {units: 1}\nloss: l2\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["invalid units '0'"]),
    BadInput(
        name: "negative width", files: ["p.yaml": text("input: 3\nhidden: [{units: -4}]\noutput: {units: 1}\nloss: l2\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["must not be negative"]),
    BadInput(
        name: "10³⁰ parameters", files: ["p.yaml": text("kind: bound\nparameters: 1e30\nsample_bytes: 1GB\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["'1e30'", "too large"]),
    BadInput(
        name: "layers whose weights overflow Int", files: ["p.yaml": text("input: 1e15\noutput: {units: 1e10}\nloss: l2\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["would exceed", "buffer W1"]),
    BadInput(
        name: "a batch whose arena overflows Int", arguments: ["plan", "profiles/fashion-mnist-mlp.yaml", "--batch", "9e18"],
        message: ["would exceed"]),
    BadInput(
        name: "unknown activation",
        files: ["p.yaml": text("input: 3\nhidden: [{units: 4, activation: gelu}]\noutput: {units: 1}\nloss: l2\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["unknown activation 'gelu'"]),
    BadInput(
        name: "unknown loss", files: ["p.yaml": text("input: 3\noutput: {units: 1}\nloss: huber\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["unknown loss 'huber'"]),
    BadInput(
        name: "unknown precision", files: ["p.yaml": text(mlp + "precision: quad\n")], arguments: ["estimate", "$DIR/p.yaml"],
        message: ["unknown precision 'quad'"]),
    BadInput(
        name: "unknown optimizer", files: ["p.yaml": text(mlp + "optimizer: lamb\n")], arguments: ["estimate", "$DIR/p.yaml"],
        message: ["unknown optimizer 'lamb'"]),
    BadInput(
        name: "softmax cross-entropy on one unit", files: ["p.yaml": text("input: 3\noutput: {units: 1}\nloss: softmax-ce\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["needs at least 2 output units"]),
    BadInput(
        name: "binary cross-entropy on a relu output",
        files: ["p.yaml": text("input: 3\noutput: {units: 1, activation: relu}\nloss: bce\n")],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["needs a sigmoid output"]),
    BadInput(
        name: "empty dataset", files: ["p.yaml": text(csvProfile), "data.csv": text("# nothing\n")],
        arguments: ["train", "$DIR/p.yaml"], message: ["0 data row(s)"]),
    BadInput(
        name: "one-sample dataset", files: ["p.yaml": text(csvProfile), "data.csv": text("1,2,3\n")],
        arguments: ["train", "$DIR/p.yaml"], message: ["1 data row(s)", "at least 2"]),
    BadInput(
        name: "CSV with a ragged row", files: ["p.yaml": text(csvProfile), "data.csv": text("1,2,3\n4,5\n")],
        arguments: ["train", "$DIR/p.yaml"], message: ["data.csv:2", "expected 3"]),
    BadInput(
        name: "CSV with a non-number", files: ["p.yaml": text(csvProfile), "data.csv": text("1,2,3\n4,five,6\n")],
        arguments: ["train", "$DIR/p.yaml"], message: ["data.csv:2", "column 2 is not a finite number"], forbidden: ["five"]),
    BadInput(
        name: "a dataset whose features differ from the profile",
        files: ["p.yaml": text(csvProfile), "data.csv": text("1,2,3,4\n5,6,7,8\n")], arguments: ["train", "$DIR/p.yaml"],
        message: ["4 column(s), expected 3"]),
    BadInput(
        name: "Fashion-MNIST with 10 input features",
        files: ["p.yaml": text("input: 10\noutput: {units: 10}\nloss: softmax-ce\ndata: {source: fashion-mnist}\n")],
        arguments: ["train", "$DIR/p.yaml"], message: ["784 features"]),
    BadInput(
        name: "IDX with a wrong magic number",
        files: [
            "train-images-idx3-ubyte": idx([1, 28, 28], [], type: 9), "train-labels-idx1-ubyte": idx([1], [1]),
            "t10k-images-idx3-ubyte": idx([1, 28, 28], [UInt8](repeating: 1, count: 784)),
            "t10k-labels-idx1-ubyte": idx([1], [1]),
        ], arguments: ["train", "profiles/softmax-fashion.yaml", "--data", "$DIR"], message: ["wrong IDX magic number"]),
    BadInput(
        name: "IDX with wrong dimensions",
        files: [
            "train-images-idx3-ubyte": idx([1, 10, 10], [UInt8](repeating: 7, count: 100)),
            "train-labels-idx1-ubyte": idx([1], [1]),
            "t10k-images-idx3-ubyte": idx([1, 10, 10], [UInt8](repeating: 7, count: 100)),
            "t10k-labels-idx1-ubyte": idx([1], [1]),
        ], arguments: ["train", "profiles/softmax-fashion.yaml", "--data", "$DIR"], message: ["10×10 = 100 pixels"]),
    BadInput(
        name: "IDX with a truncated body",
        files: [
            "train-images-idx3-ubyte": idx([1, 28, 28], [1, 2, 3]), "train-labels-idx1-ubyte": idx([1], [1]),
            "t10k-images-idx3-ubyte": idx([1, 28, 28], [1]), "t10k-labels-idx1-ubyte": idx([1], [1]),
        ], arguments: ["train", "profiles/softmax-fashion.yaml", "--data", "$DIR"], message: ["truncated"]),
    BadInput(
        name: "IDX labels out of range",
        files: [
            "train-images-idx3-ubyte": idx([1, 28, 28], [UInt8](repeating: 1, count: 784)),
            "train-labels-idx1-ubyte": idx([1], [42]),
            "t10k-images-idx3-ubyte": idx([1, 28, 28], [UInt8](repeating: 1, count: 784)),
            "t10k-labels-idx1-ubyte": idx([1], [1]),
        ], arguments: ["train", "profiles/softmax-fashion.yaml", "--data", "$DIR"], message: ["label 42"]),
    BadInput(
        name: "a missing dataset directory", arguments: ["train", "profiles/softmax-fashion.yaml", "--data", "$DIR/absent"],
        message: ["no such data file"]),
    BadInput(
        name: "a NUMA node that does not exist",
        arguments: ["train", "profiles/smallest-perceptron.yaml", "--placement", "node:9"], status: 3,
        message: ["NUMA node 9 does not exist", "it has node"]),
    BadInput(
        name: "an arena bigger than free memory", files: ["p.yaml": text(mlp + "data: {source: synthetic, count: 9e14}\n")],
        arguments: ["train", "$DIR/p.yaml"], status: 3, message: ["bytes free", "--force"]),
    BadInput(
        name: "a profile that does not fit the machine even at batch 1", files: ["m.yaml": text("nodes: [{memory: 1MiB}]\n")],
        arguments: ["capacity", "profiles/fashion-mnist-mlp.yaml", "--machine", "$DIR/m.yaml"], status: 3,
        message: ["does not fit", "even at batch 1"]),
    BadInput(name: "an unreadable input (a directory)", arguments: ["estimate", "$DIR"], message: ["is a directory"]),
    BadInput(
        name: "an input that is not UTF-8", files: ["p.yaml": [0x69, 0x6E, 0x3A, 0x20, 0xFF, 0xFE, 0x0A]],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["p.yaml"]),
    BadInput(name: "a missing profile", arguments: ["estimate", "$DIR/absent.yaml"], message: ["no such profile file"]),
    BadInput(
        name: "an unwritable record",
        arguments: ["train", "profiles/smallest-perceptron.yaml", "--record", "$DIR/absent/run.json"], message: ["does not exist"]
    ),
    BadInput(
        name: "an unwritable report",
        arguments: ["capacity", "profiles/quiz-300b.yaml", "--format", "html", "--output", "$DIR/absent/q.html"],
        message: ["does not exist"]),
    BadInput(
        name: "a machine file with an unknown key", files: ["m.yaml": text("nodes: [{memroy: 1GB}]\n")],
        arguments: ["capacity", "profiles/quiz-300b.yaml", "--machine", "$DIR/m.yaml"], message: ["unknown key 'memroy'"]),
    BadInput(
        name: "a machine with zero memory", files: ["m.yaml": text("nodes: [{memory: 0}]\n")],
        arguments: ["capacity", "profiles/quiz-300b.yaml", "--machine", "$DIR/m.yaml"], message: ["needs some memory"]),
    BadInput(
        name: "flags out of range: batch 0", arguments: ["estimate", "profiles/quiz-300b.yaml", "--batch", "0"],
        message: ["--batch must be at least 1"]),
    BadInput(
        name: "flags out of range: alignment not a power of two",
        arguments: ["plan", "profiles/fashion-mnist-mlp.yaml", "--alignment", "48"], message: ["power of two"]),
    BadInput(
        name: "flags out of range: epochs 0", arguments: ["train", "profiles/smallest-perceptron.yaml", "--epochs", "0"],
        message: ["--epochs must be at least 1"]),
    BadInput(
        name: "flags out of range: headroom 150%", arguments: ["capacity", "profiles/quiz-300b.yaml", "--headroom", "150%"],
        message: ["--headroom"]),
    BadInput(
        name: "an unknown flag", arguments: ["plan", "profiles/quiz-300b.yaml", "--bogus"], message: ["Unknown option '--bogus'"]),
    BadInput(
        name: "a diverging learning rate",
        arguments: ["train", "profiles/second-smallest-perceptron.yaml", "--learning-rate", "1e30"],
        message: ["probably too large", "epoch 1"]),
    BadInput(
        name: "transformer: heads not dividing hidden", files: ["t.yaml": text(transformer + "heads: 5\ncontext: 8\n")],
        arguments: ["estimate", "$DIR/t.yaml"], message: ["heads (5) must divide hidden (32)"]),
    BadInput(
        name: "transformer: kv_heads not dividing heads",
        files: ["t.yaml": text(transformer + "heads: 4\nkv_heads: 3\ncontext: 8\n")], arguments: ["plan", "$DIR/t.yaml"],
        message: ["kv_heads (3) must divide heads (4)"]),
    BadInput(
        name: "transformer: context 0", files: ["t.yaml": text(transformer + "heads: 4\ncontext: 0\n")],
        arguments: ["estimate", "$DIR/t.yaml"], message: ["t.yaml:", "invalid context '0'"]),
    BadInput(
        name: "transformer: a vocabulary smaller than the tokens seen",
        files: [
            "t.yaml": text(transformer + "heads: 4\ncontext: 8\ndata: {source: text, path: corpus.txt}\n"),
            "corpus.txt": text(String(repeating: "All that glitters is not gold. ", count: 20)),
        ],
        arguments: ["train", "$DIR/t.yaml", "--steps", "1"],
        message: ["corpus.txt", "outside the vocabulary of 64", "vocabulary: 256"]),
    BadInput(
        name: "transformer: a missing corpus",
        files: ["t.yaml": text(transformer + "heads: 4\ncontext: 8\ndata: {source: text, path: missing.txt}\n")],
        arguments: ["train", "$DIR/t.yaml", "--steps", "1"], message: ["missing.txt"]),
    BadInput(
        name: "transformer: a model that does not fit", arguments: ["train", "profiles/llama2-7b.yaml", "--data", "synthetic"],
        status: 3, message: ["the arena needs", "free"]),
    BadInput(
        name: "--checkpoint on an MLP", arguments: ["estimate", "profiles/fashion-mnist-mlp.yaml", "--checkpoint", "blocks"],
        message: ["--checkpoint applies to transformer profiles"]),
    BadInput(
        name: "nesting too deep", files: ["p.yaml": text(String(repeating: "[", count: 100_000))],
        arguments: ["estimate", "$DIR/p.yaml"], message: ["nested more than"]),
]

@Suite("Bad input catalogue")
struct BadInputCatalogueTests {
    @Test("the catalogue covers at least 30 classes")
    func size() {
        #expect(catalogue.count >= 30)
        #expect(Set(catalogue.map(\.name)).count == catalogue.count)
    }

    @Test("each bad input: one line on stderr naming what is wrong, the documented exit status, no signal", arguments: catalogue)
    func badInput(_ entry: BadInput) throws {
        let directory = try makeTemporaryDirectory("bad-input")
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, contents) in entry.files {
            try Data(contents).write(to: directory.appendingPathComponent(name))
        }
        for name in entry.fifos { #expect(mkfifo(directory.appendingPathComponent(name).path, 0o644) == 0) }
        for (name, size) in entry.sparseFiles {
            let path = directory.appendingPathComponent(name).path
            FileManager.default.createFile(atPath: path, contents: nil)
            #expect(truncate(path, off_t(size)) == 0)
        }
        let arguments = entry.arguments.map { $0.replacingOccurrences(of: "$DIR", with: directory.path) }
        let result = try runMemplan(arguments, timeout: 60)
        #expect(!result.timedOut, "\(entry.name): still running after 60 s")
        #expect(!result.wasSignalled, "\(entry.name): killed by a signal")
        #expect(result.status == entry.status, "\(entry.name): exit \(result.status), stderr: \(result.standardError)")
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 1, "\(entry.name): \(result.standardError)")
        #expect(result.standardError.hasPrefix("memplan: error: "), "\(entry.name): \(result.standardError)")
        for word in entry.message {
            #expect(result.standardError.contains(word), "\(entry.name): missing '\(word)' in \(result.standardError)")
        }
        for word in entry.forbidden {
            #expect(!result.standardError.contains(word), "\(entry.name): '\(word)' quoted in \(result.standardError)")
        }
        for name in entry.fifos {
            var status = stat()
            #expect(lstat(directory.appendingPathComponent(name).path, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
        }
    }
}

import Foundation

/// A valid IDX set but for `replaced`, given as `replacement` (or left out, to be made a FIFO).
private func fashion(replacing replaced: String? = nil, with replacement: [UInt8]? = nil) -> [String: [UInt8]] {
    var files: [String: [UInt8]] = [
        "train-images-idx3-ubyte": idx([1, 28, 28], [UInt8](repeating: 1, count: 784)),
        "train-labels-idx1-ubyte": idx([1], [1]),
        "t10k-images-idx3-ubyte": idx([1, 28, 28], [UInt8](repeating: 1, count: 784)),
        "t10k-labels-idx1-ubyte": idx([1], [1]),
    ]
    if let replaced { files[replaced] = replacement }
    return files
}

/// Special files, sizes and file content in messages: every entry fails at once with one line, never waits.
let fileCatalogue: [BadInput] = [
    BadInput(name: "a FIFO as the profile", fifos: ["p.yaml"], arguments: ["estimate", "$DIR/p.yaml"], message: ["FIFO"]),
    BadInput(
        name: "a FIFO as the machine file", fifos: ["m.yaml"],
        arguments: ["capacity", "profiles/quiz-300b.yaml", "--machine", "$DIR/m.yaml"], message: ["FIFO"]),
    BadInput(
        name: "a FIFO as the CSV data", files: ["p.yaml": text(csvProfile)], fifos: ["data.csv"],
        arguments: ["train", "$DIR/p.yaml"], message: ["data.csv", "FIFO"]),
    BadInput(
        name: "a FIFO as a Fashion-MNIST file", files: fashion(replacing: "train-labels-idx1-ubyte"),
        fifos: ["train-labels-idx1-ubyte"], arguments: ["train", "profiles/softmax-fashion.yaml", "--data", "$DIR"],
        message: ["train-labels-idx1-ubyte", "FIFO"]),
    BadInput(
        name: "a character device as the CSV data",
        files: ["p.yaml": text(csvProfile.replacingOccurrences(of: "data.csv", with: "/dev/zero"))],
        arguments: ["train", "$DIR/p.yaml"], message: ["/dev/zero", "character device"]),
    BadInput(
        name: "a FIFO as the record", fifos: ["run.json"],
        arguments: ["train", "profiles/smallest-perceptron.yaml", "--record", "$DIR/run.json"], message: ["FIFO"]),
    BadInput(name: "a FIFO as the report input", fifos: ["r.json"], arguments: ["report", "$DIR/r.json"], message: ["FIFO"]),
    BadInput(
        name: "an empty record path", arguments: ["train", "profiles/smallest-perceptron.yaml", "--record", ""],
        message: ["the path is empty"]),
    BadInput(
        name: "a directory as the output", arguments: ["capacity", "profiles/quiz-300b.yaml", "--output", "$DIR"],
        message: ["is a directory"]),
    BadInput(
        name: "a 3 GB profile (refused from its size)", sparseFiles: ["p.yaml": 3 << 30], arguments: ["estimate", "$DIR/p.yaml"],
        message: ["too large for a profile"]),
    BadInput(
        name: "a CSV line of 1 GB", files: ["p.yaml": text(csvProfile)], sparseFiles: ["data.csv": 1 << 30],
        arguments: ["train", "$DIR/p.yaml"], message: ["data.csv:1", "longer than"]),
    BadInput(
        name: "CSV content is never quoted back",
        files: ["p.yaml": text(csvProfile), "data.csv": text("1,2,3\nSECRET-TOKEN-42,5,6\n")],
        arguments: ["train", "$DIR/p.yaml"], message: ["data.csv:2", "column 1"], forbidden: ["SECRET"]),
]

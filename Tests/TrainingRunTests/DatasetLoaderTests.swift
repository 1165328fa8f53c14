import Foundation
@testable import MLPTrainer
import MemoryBudget
import ModelProfile
import TestSupport
import Testing
@testable import TrainingData
import TrainingRun

@Suite("Data sources")
struct DatasetLoaderTests {
    /// Writes an IDX file: magic 0 0 8 dims, big-endian sizes, then `body`.
    func idx(dimensions: [Int], body: [UInt8], type: UInt8 = 8, to url: URL) throws {
        var bytes: [UInt8] = [0, 0, type, UInt8(dimensions.count)]
        for size in dimensions {
            bytes += [UInt8(size >> 24 & 255), UInt8(size >> 16 & 255), UInt8(size >> 8 & 255), UInt8(size & 255)]
        }
        try Data(bytes + body).write(to: url)
    }

    /// A directory holding a valid (plain, not gzipped) two-image Fashion-MNIST, with one file replaced.
    func fashionDirectory(replacing name: String? = nil, with write: ((URL) throws -> Void)? = nil) throws -> URL {
        let directory = try makeTemporaryDirectory("idx")
        let files = [
            ("train-images-idx3-ubyte", [2, 28, 28], [UInt8](repeating: 128, count: 2 * 784)),
            ("train-labels-idx1-ubyte", [2], [3, 9]),
            ("t10k-images-idx3-ubyte", [1, 28, 28], [UInt8](repeating: 255, count: 784)),
            ("t10k-labels-idx1-ubyte", [1], [0]),
        ]
        for (file, dimensions, body) in files {
            let url = directory.appendingPathComponent(file)
            if file == name, let write { try write(url) } else { try idx(dimensions: dimensions, body: body, to: url) }
        }
        return directory
    }

    func softmaxModel() throws -> Model {
        try Model(
            name: "tiny-fashion", inputShape: [28, 28],
            layers: [LayerSpec(inputWidth: 784, outputWidth: 10, activation: .softmax)],
            loss: .softmaxCrossEntropy, batchSize: 2, data: .fashionMNIST(path: "/nonexistent", labels: .classes))
    }

    func failure(_ directory: URL) throws -> DataError? {
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = TrainingOptions()
        options.dataPath = directory.path
        do {
            _ = try TrainingSession.run(try softmaxModel(), options: options)
            return nil
        } catch let error as DataError {
            return error
        }
    }

    @Test("a valid tiny IDX set trains, uncompressed files accepted")
    func valid() throws {
        #expect(try failure(try fashionDirectory()) == nil)
    }

    /// Pixels stay bytes in the arena and are scaled as batches are gathered: x must hold exactly
    /// T(pixel) · (1 / 255), the value decoding to T up front stored, in the order's rows.
    func bytePixelsGathered<T: TrainingScalar>(_: T.Type) throws {
        let pixels = (0..<(2 * 784)).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 256) }
        let test = (0..<784).map { UInt8(truncatingIfNeeded: 255 - $0) }
        let directory = try fashionDirectory(replacing: "train-images-idx3-ubyte") {
            try idx(dimensions: [2, 28, 28], body: pixels, to: $0)
        }
        defer { try? FileManager.default.removeItem(at: directory) }
        try idx(dimensions: [1, 28, 28], body: test, to: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
        let model = try softmaxModel().withData(.fashionMNIST(path: directory.path, labels: .classes)).with(
            precision: T.precision)
        #expect(try DatasetLoader(model: model).shape.featureStorage == .byte)
        let local = try LocalTrainer<T>(model: model, threads: 2)
        let data = local.trainer.tensors.data
        guard case .bytes = data.trainFeatures else {
            Issue.record("Fashion-MNIST features are not stored as bytes")
            return
        }
        data.order[0] = 1
        data.order[1] = 0
        _ = local.trainer.evaluate(.training(orderStart: 0), rows: 2)  // load gathers the batch into x
        let x = local.trainer.tensors.features
        let scale = T(1) / 255
        var mismatches = 0
        for row in 0..<2 {
            for column in 0..<784 where x[row * 784 + column] != T(pixels[(1 - row) * 784 + column]) * scale { mismatches += 1 }
        }
        #expect(mismatches == 0)
        _ = local.trainer.evaluate(.test(start: 0), rows: 1)
        #expect((0..<784).allSatisfy { x[$0] == T(test[$0]) * scale })
    }

    @Test("Fashion-MNIST pixels are kept as bytes and gathered as byte / 255, single precision")
    func bytePixelsSingle() throws { try bytePixelsGathered(Float.self) }
    @Test("Fashion-MNIST pixels are kept as bytes and gathered as byte / 255, double precision")
    func bytePixelsDouble() throws { try bytePixelsGathered(Double.self) }

    @Test("IDX: wrong magic, wrong dimensions, truncated body, labels out of range, count mismatch")
    func corruptIDX() throws {
        let magic = try failure(
            try fashionDirectory(replacing: "train-images-idx3-ubyte") {
                try idx(dimensions: [2, 28, 28], body: [], type: 9, to: $0)
            })
        #expect(magic?.description.contains("wrong IDX magic number 0x00000903") == true, "\(String(describing: magic))")
        let dimensions = try failure(
            try fashionDirectory(replacing: "train-images-idx3-ubyte") {
                try idx(dimensions: [2, 10, 10], body: [UInt8](repeating: 1, count: 200), to: $0)
            })
        #expect(dimensions?.description.contains("10×10 = 100 pixels") == true, "\(String(describing: dimensions))")
        let truncated = try failure(
            try fashionDirectory(replacing: "train-images-idx3-ubyte") {
                try idx(dimensions: [2, 28, 28], body: [UInt8](repeating: 1, count: 1000), to: $0)
            })
        #expect(truncated?.description.contains("truncated") == true, "\(String(describing: truncated))")
        let labels = try failure(
            try fashionDirectory(replacing: "train-labels-idx1-ubyte") { try idx(dimensions: [2], body: [3, 12], to: $0) })
        #expect(labels?.description.contains("label 12 at index 1 is out of range") == true, "\(String(describing: labels))")
        let count = try failure(
            try fashionDirectory(replacing: "train-labels-idx1-ubyte") { try idx(dimensions: [3], body: [1, 2, 3], to: $0) })
        #expect(count?.description.contains("holds 3 labels but the images file holds 2") == true, "\(String(describing: count))")
        let short = try failure(try fashionDirectory(replacing: "t10k-labels-idx1-ubyte") { try Data([0, 0]).write(to: $0) })
        #expect(short?.description.contains("truncated") == true, "\(String(describing: short))")
    }

    @Test("a missing Fashion-MNIST names the Debian package when it is the package's path")
    func missing() throws {
        let model = try softmaxModel().withData(
            .fashionMNIST(path: DataSource.defaultFashionMNISTPath + "-absent", labels: .classes))
        #expect(
            throws: DataError.datasetMissing(
                path: DataSource.defaultFashionMNISTPath + "-absent/train-images-idx3-ubyte.gz", package: nil)
        ) {
            try DatasetLoader(model: model)
        }
        let error = DataError.datasetMissing(
            path: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", package: "dataset-fashion-mnist")
        #expect(error.description.contains("apt-get install dataset-fashion-mnist"))
        #expect(error.isMissingResource)
    }

    func csvModel(_ path: String, header: Bool = false) throws -> Model {
        try Model(
            name: "csv", inputShape: [2], layers: [LayerSpec(inputWidth: 2, outputWidth: 1, activation: .identity)], loss: .l2,
            batchSize: 2, data: .csv(path: path, targetColumns: 1, hasHeader: header, testFraction: 0.25))
    }

    func csvFailure(_ text: String) throws -> DataError? {
        let directory = try makeTemporaryDirectory("csv")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("data.csv")
        try text.write(to: file, atomically: true, encoding: .utf8)
        do {
            _ = try TrainingSession.run(try csvModel(file.path))
            return nil
        } catch let error as DataError {
            return error
        }
    }

    @Test("CSV: good rows train; ragged rows, non-numbers, too few rows and wrong widths are named by line")
    func csv() throws {
        #expect(try csvFailure("1,2,3\n4,5,9\n# a comment\n\n7,8,15\n1,1,2\n") == nil)
        // Windows line ends (a "\r\n" is one Character in Swift, so splitting text at "\n" kept whole files as one line).
        #expect(try csvFailure("1,2,3\r\n4,5,9\r\n7,8,15\r\n1,1,2\r\n") == nil)
        #expect(try csvFailure("1,2,3\n4,5\n")?.description.contains("data.csv:2: 2 column(s), expected 3") == true)
        #expect(try csvFailure("1,2,3\n4,x,9\n")?.description.hasSuffix(":2: column 2 is not a finite number") == true)
        #expect(try csvFailure("1,2,nan\n")?.description.contains("not a finite number") == true)
        #expect(try csvFailure("1,2,3\n")?.description.contains("need at least 2") == true)
        #expect(try csvFailure("")?.description.contains("0 data row(s)") == true)
        #expect(try csvFailure("1,2,3,4\n")?.description.contains("4 column(s), expected 3") == true)
    }

    @Test("polynomial features are the powers of x, and the same x for every degree")
    func polynomial() throws {
        var generator = SplitMix64(seed: 5)
        var features = [Double](repeating: 0, count: 3 * 4)
        var targets = [Double](repeating: 0, count: 3)
        features.withUnsafeMutableBufferPointer { f in
            targets.withUnsafeMutableBufferPointer { t in
                DatasetLoader.polynomial(
                    degree: 4, count: 3, noise: 0, target: .sine, generator: &generator, features: f.baseAddress!,
                    targets: t.baseAddress!)
            }
        }
        for row in 0..<3 {
            let x = features[row * 4]
            #expect(abs(features[row * 4 + 3] - x * x * x * x) < 1e-15)
            #expect(abs(targets[row] - sin(2 * .pi * x)) < 1e-12)
        }
    }
}

extension Model {
    func withData(_ data: DataSource) -> Model {
        var copy = self
        copy.data = data
        return copy
    }
}

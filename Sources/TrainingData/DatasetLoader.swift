// A profile's data: first its shape (so the plan can account for it), then decoded once into the arena.

import DataFormats
import FileAccess
import Foundation
import MemoryBudget
import ModelProfile

/// Loads a profile's data source in two phases: `init` learns the sample counts (reading only
/// headers, or scanning a CSV), so the planner can size the data buffers; `load(into:)` then
/// decodes every sample straight into those buffers.
public final class DatasetLoader {
    public let model: Model
    public let source: DataSource
    /// Samples for training (and validation) and for the test set.
    public let shape: DataShape
    /// What `describe` prints: e.g. "Fashion-MNIST, /usr/share/datasets/fashion-mnist".
    public let summary: String

    /// The Fashion-MNIST file names, with `.gz` or without.
    static let fashionFiles = (
        trainImages: "train-images-idx3-ubyte", trainLabels: "train-labels-idx1-ubyte",
        testImages: "t10k-images-idx3-ubyte", testLabels: "t10k-labels-idx1-ubyte"
    )
    static let fashionPackage = "dataset-fashion-mnist"

    /// Fashion-MNIST's shape: its pixels stay bytes in the arena. The standard set is 60,000 + 10,000 images.
    public static func fashionMNISTShape(trainCount: Int = 60_000, testCount: Int = 10_000) -> DataShape {
        DataShape(trainCount: trainCount, testCount: testCount, featureStorage: .byte)
    }

    /// The four Fashion-MNIST files, open since `init` read their headers.
    private var fashionSources: [GzipFileSource] = []
    /// The CSV file, open since `init` checked every row, and each row's place: train row i, or test row −(i + 1).
    private var csvSource: FileSource?
    private var csvFormat: CSVFormat?
    private var csvPlaces: [Int32] = []

    /// Reads the source's shape. `dataPath` overrides the profile's path (a Fashion-MNIST
    /// directory or a CSV file).
    public init(model: Model, dataPath: String? = nil) throws {
        guard let source = model.data else { throw DataError.noDataSource(profile: model.name) }
        if let dataPath {
            switch source {
            case .fashionMNIST, .csv: break
            case .polynomial, .synthetic:
                throw DataError.datasetMismatch(
                    path: dataPath,
                    reason: "\(model.name) generates its \(source.kindName) data; --data applies to fashion-mnist and csv sources"
                )
            }
        }
        self.model = model
        switch source {
        case .fashionMNIST(let path, let labels):
            let directory = dataPath ?? path
            self.source = .fashionMNIST(path: directory, labels: labels)
            let isDefault = directory == DataSource.defaultFashionMNISTPath
            // Each file is opened once, here, and only if it is a regular file; `load` reads the same open files again
            // from their first byte (a FIFO would hang, or give other bytes the second time).
            var sources: [GzipFileSource] = []
            for name in [
                Self.fashionFiles.trainImages, Self.fashionFiles.trainLabels, Self.fashionFiles.testImages,
                Self.fashionFiles.testLabels,
            ] {
                let base = PathText.appending(name, to: directory)
                let file: InputFile
                do {
                    file = try InputFile.open(base + ".gz")
                } catch .missing {
                    do {
                        file = try InputFile.open(base)
                    } catch .missing {
                        throw DataError.datasetMissing(path: base + ".gz", package: isDefault ? Self.fashionPackage : nil)
                    } catch {
                        throw DataError(error)
                    }
                } catch {
                    throw DataError(error)
                }
                sources.append(try Self.mapped { () throws(DataFileError) in try GzipFileSource(file) })
            }
            fashionSources = sources
            let paths = sources.map(\.path)
            let trainCount = try Self.mapped { () throws(DataFileError) in try IDX.header(sources[0], dimensions: 3)[0] }
            let testCount = try Self.mapped { () throws(DataFileError) in try IDX.header(sources[2], dimensions: 3)[0] }
            guard trainCount > 0 else { throw DataError.notEnoughSamples(reason: "\(paths[0]) holds no images") }
            shape = Self.fashionMNISTShape(trainCount: trainCount, testCount: testCount)
            summary = "Fashion-MNIST from \(directory)"
        case .polynomial(let degree, let count, let testCount, let noise, let target, _):
            self.source = source
            shape = DataShape(trainCount: count, testCount: testCount)
            summary = "polynomial degree \(degree), y = \(target == .sine ? "sin(2πx)" : "1.5x³ − x") + ε (σ = \(noise))"
        case .synthetic(let task, let count, let testCount, let noise, _):
            self.source = source
            shape = DataShape(trainCount: count, testCount: testCount)
            summary = "synthetic \(task.rawValue) data from a random teacher network (noise σ = \(noise))"
        case .csv(let path, let targetColumns, let hasHeader, let testFraction):
            let file = dataPath ?? path
            self.source = .csv(path: file, targetColumns: targetColumns, hasHeader: hasHeader, testFraction: testFraction)
            let source = try Self.mapped { () throws(DataFileError) in try FileSource(path: file) }
            let format = CSVFormat(
                columns: model.inputWidth + targetColumns, hasHeader: hasHeader,
                maximumMagnitude: model.precision == .double ? .greatestFiniteMagnitude : Double(Float.greatestFiniteMagnitude),
                precisionName: "\(model.precision.rawValue) precision")
            // First pass: every row checked and counted; nothing is kept but the count.
            let rowCount = try Self.mapped { () throws(DataFileError) in try CSV.read(source, format: format) { _ in } }
            guard rowCount >= 2 else {
                throw DataError.notEnoughSamples(
                    reason: "\(file): \(rowCount) data row(s); need at least 2 (some to train on, some to test)")
            }
            guard rowCount <= Int(Int32.max) else {
                throw DataError.datasetCorrupt(path: file, reason: "\(rowCount) rows; memplan reads at most \(Int32.max)")
            }
            var generator = SplitMix64(seed: model.seed ^ 0xC5F)
            var permutation = Array(0..<rowCount)
            permutation.shuffle(using: &generator)
            let testCount = max(1, Int((Double(rowCount) * testFraction).rounded()))
            var places = [Int32](repeating: 0, count: rowCount)
            for (position, row) in permutation.suffix(testCount).enumerated() { places[row] = -Int32(position + 1) }
            var train: Int32 = 0
            for row in 0..<rowCount where places[row] == 0 {
                places[row] = train
                train += 1
            }
            csvSource = source
            csvFormat = format
            csvPlaces = places
            shape = DataShape(trainCount: rowCount - testCount, testCount: testCount)
            summary = "CSV \(file) (\(rowCount) rows)"
        }
    }

    // MARK: - Loading

    public func load<T: BinaryFloatingPoint>(into data: DataTensors<T>) throws {
        let targetsArePlusMinus = model.loss == .hinge
        switch source {
        case .fashionMNIST(_, let labels):
            let width = model.inputWidth
            let (trainCount, testCount) = (shape.trainCount, shape.testCount)
            let sources = fashionSources
            // The files opened by `init`, read again from their first byte; pixels are kept as the files hold them
            // (the shape plans `FeatureStorage.byte`).
            try Self.mapped { () throws(DataFileError) in
                for source in sources { try source.rewind() }
                try IDX.readImages(sources[0], count: trainCount, width: width, into: data.trainFeatures.bytes)
            }
            let trainLabels = try Self.mapped { () throws(DataFileError) in
                try IDX.readLabels(sources[1], count: trainCount, classes: 10)
            }
            writeTargets(trainLabels, labels: labels, into: data.trainTargets, plusMinus: targetsArePlusMinus)
            try Self.mapped { () throws(DataFileError) in
                try IDX.readImages(sources[2], count: testCount, width: width, into: data.testFeatures.bytes)
            }
            let testLabels = try Self.mapped { () throws(DataFileError) in
                try IDX.readLabels(sources[3], count: testCount, classes: 10)
            }
            writeTargets(testLabels, labels: labels, into: data.testTargets, plusMinus: targetsArePlusMinus)
        case .polynomial(let degree, _, _, let noise, let target, let seed):
            var generator = SplitMix64(seed: seed)
            Self.polynomial(
                degree: degree, count: shape.trainCount, noise: noise, target: target, generator: &generator,
                features: data.trainFeatures.scalars, targets: data.trainTargets)
            var testGenerator = SplitMix64(seed: seed &+ 0x7E57)
            Self.polynomial(
                degree: degree, count: shape.testCount, noise: noise, target: target, generator: &testGenerator,
                features: data.testFeatures.scalars, targets: data.testTargets)
        case .synthetic(let task, _, _, let noise, let seed):
            let teacher = Teacher(model: model, seed: seed)
            var generator = SplitMix64(seed: seed &+ 1)
            teacher.generate(
                task: task, count: shape.trainCount, noise: noise, plusMinus: targetsArePlusMinus, generator: &generator,
                features: data.trainFeatures.scalars, targets: data.trainTargets)
            teacher.generate(
                task: task, count: shape.testCount, noise: noise, plusMinus: targetsArePlusMinus, generator: &generator,
                features: data.testFeatures.scalars, targets: data.testTargets)
        case .csv:
            guard let source = csvSource, let format = csvFormat else { return }
            try loadCSV(source, format: format, into: data, plusMinus: targetsArePlusMinus)
        }
    }

    /// Second pass over the CSV file `init` checked: each row decoded straight into its train or test slot.
    private func loadCSV<T: BinaryFloatingPoint>(
        _ source: FileSource, format: CSVFormat, into data: DataTensors<T>, plusMinus: Bool
    ) throws {
        let places = csvPlaces
        let rowCount = try Self.mapped { () throws(DataFileError) in
            try source.rewind()
            var index = 0
            return try CSV.read(source, format: format) { (row) throws(DataFileError) in
                guard index < places.count else {
                    throw .corrupt(path: source.path, reason: "changed while being read (more rows the second time)")
                }
                let place = Int(places[index])
                index += 1
                if place >= 0 {
                    writeRow(
                        row, at: place, features: data.trainFeatures.scalars, targets: data.trainTargets, plusMinus: plusMinus)
                } else {
                    writeRow(
                        row, at: -place - 1, features: data.testFeatures.scalars, targets: data.testTargets, plusMinus: plusMinus)
                }
            }
        }
        guard rowCount == places.count else {
            throw DataError.datasetCorrupt(path: source.path, reason: "changed while being read (fewer rows the second time)")
        }
    }

    private func writeRow<T: BinaryFloatingPoint>(
        _ row: UnsafeBufferPointer<Double>, at index: Int, features: UnsafeMutablePointer<T>, targets: UnsafeMutablePointer<T>,
        plusMinus: Bool
    ) {
        let width = model.inputWidth
        let targetWidth = model.outputWidth
        for column in 0..<width { features[index * width + column] = T(row[column]) }
        for column in 0..<targetWidth {
            let value = row[width + column]
            targets[index * targetWidth + column] = T(plusMinus && value == 0 ? -1 : value)
        }
    }

    /// One-hot, binary or multi-label targets from class labels; hinge targets use −1 for 0.
    private func writeTargets<T: BinaryFloatingPoint>(
        _ labels: [UInt8], labels mapping: LabelMapping, into targets: UnsafeMutablePointer<T>, plusMinus: Bool
    ) {
        let width = mapping.targetCount
        let off: T = plusMinus ? -1 : 0
        for (index, label) in labels.enumerated() {
            let row = targets + index * width
            let classLabel = Int(label)
            switch mapping {
            case .classes:
                for column in 0..<width { row[column] = column == classLabel ? 1 : off }
            case .binary(let positive):
                row[0] = positive.contains(classLabel) ? 1 : off
            case .groups(let groups):
                for (column, group) in groups.enumerated() { row[column] = group.contains(classLabel) ? 1 : off }
            }
        }
    }

    /// Runs a data-file decoder, turning its errors into `DataError`s.
    static func mapped<R>(_ body: () throws(DataFileError) -> R) throws -> R {
        do {
            return try body()
        } catch {
            switch error {
            case .missing(let path): throw DataError.datasetMissing(path: path, package: nil)
            case .corrupt(let path, let reason), .unreadable(let path, let reason):
                throw DataError.datasetCorrupt(path: path, reason: reason)
            case .mismatch(let path, let reason): throw DataError.datasetMismatch(path: path, reason: reason)
            case .malformedLine(let path, let line, let reason):
                throw DataError.csvMalformed(path: path, line: line, reason: reason)
            }
        }
    }

    // MARK: - Generated data

    /// x uniform on [0, 1] (sine) or [−1, 1] (cubic); features x¹ … x^degree; y = f(x) + N(0, noise²).
    static func polynomial<T: BinaryFloatingPoint>(
        degree: Int, count: Int, noise: Double, target: PolynomialTarget, generator: inout SplitMix64,
        features: UnsafeMutablePointer<T>, targets: UnsafeMutablePointer<T>
    ) {
        for index in 0..<count {
            let x = target == .sine ? generator.nextUnit() : 2 * generator.nextUnit() - 1
            var power = 1.0
            for column in 0..<degree {
                power *= x
                features[index * degree + column] = T(power)
            }
            let clean = target == .sine ? sin(2 * .pi * x) : 1.5 * x * x * x - x
            targets[index] = T(clean + noise * generator.nextNormal())
        }
    }
}

/// A random network of the model's shape that labels synthetic data (the teacher-student setup).
/// Hidden layers use tanh so the target is smooth; outputs are thresholded or arg-maxed per task.
struct Teacher {
    let layers: [(weights: [Double], bias: [Double], inputs: Int, outputs: Int)]
    /// The `blobs` task's class centres (K, I), drawn after the layers so the other tasks' data does not change.
    let centres: [Double]

    init(model: Model, seed: UInt64) {
        var generator = SplitMix64(seed: seed ^ 0x7EAC4E5)
        layers = model.layers.map { layer in
            let scale = 1 / Double(max(layer.inputWidth, 1)).squareRoot()
            let weights = (0..<(layer.inputWidth * layer.outputWidth)).map { _ in generator.nextNormal() * scale * 1.5 }
            let bias = (0..<layer.outputWidth).map { _ in layer.hasBias ? generator.nextNormal() * 0.3 : 0 }
            return (weights, bias, layer.inputWidth, layer.outputWidth)
        }
        centres = (0..<(model.inputWidth * model.outputWidth)).map { _ in generator.nextNormal() }
    }

    func generate<T: BinaryFloatingPoint>(
        task: SyntheticTask, count: Int, noise: Double, plusMinus: Bool, generator: inout SplitMix64,
        features: UnsafeMutablePointer<T>, targets: UnsafeMutablePointer<T>
    ) {
        guard let inputWidth = layers.first?.inputs, let outputWidth = layers.last?.outputs else { return }
        var activations = [Double](repeating: 0, count: inputWidth)
        let off: T = plusMinus ? -1 : 0
        if task == .blobs {
            for index in 0..<count {
                let label = Int(generator.next() % UInt64(outputWidth))
                for column in 0..<inputWidth {
                    features[index * inputWidth + column] = T(
                        centres[label * inputWidth + column] + noise * generator.nextNormal())
                }
                for column in 0..<outputWidth { targets[index * outputWidth + column] = column == label ? 1 : off }
            }
            return
        }
        for index in 0..<count {
            for column in 0..<inputWidth {
                activations[column] = generator.nextNormal()
                features[index * inputWidth + column] = T(activations[column])
            }
            for (position, layer) in layers.enumerated() {
                var next = layer.bias
                for row in 0..<layer.outputs {
                    for column in 0..<layer.inputs {
                        next[row] += layer.weights[row * layer.inputs + column] * activations[column]
                    }
                    if position < layers.count - 1 { next[row] = tanh(next[row]) }
                }
                activations = next
            }
            let row = targets + index * outputWidth
            switch task {
            case .regression:
                for column in 0..<outputWidth { row[column] = T(activations[column] + noise * generator.nextNormal()) }
            case .binary, .multilabel:
                for column in 0..<outputWidth { row[column] = activations[column] + noise * generator.nextNormal() > 0 ? 1 : off }
            case .classes, .blobs:
                var best = 0
                for column in 0..<outputWidth where activations[column] > activations[best] { best = column }
                for column in 0..<outputWidth { row[column] = column == best ? 1 : off }
            }
            activations = [Double](repeating: 0, count: inputWidth)
        }
    }
}

// Models the test targets share: small networks on generated data.

import Foundation
import ModelProfile

/// A small model on synthetic data.
public func syntheticModel(
    widths: [Int], hidden: Activation = .tanh, loss: Loss, output: Activation? = nil, precision: Precision = .double,
    batch: Int = 5,
    optimizer: Optimizer = Optimizer(kind: .sgd, learningRate: 0.1), count: Int = 64, seed: UInt64 = 3,
    norm: Normalization? = nil
) throws -> Model {
    var model = try Model(
        name: "fixture", widths: widths, hiddenActivation: hidden, loss: loss, precision: precision, batchSize: batch,
        optimizer: optimizer)
    for index in model.layers.indices.dropLast() { model.layers[index].normalization = norm }
    if let output { model.layers[model.layers.count - 1].activation = output }
    let task: SyntheticTask =
        loss == .softmaxCrossEntropy
        ? .classes : (loss.isClassification ? (widths.last! > 1 ? .multilabel : .binary) : .regression)
    model.data = .synthetic(task: task, count: count, testCount: 16, noise: 0.05, seed: seed)
    model.seed = seed
    model.weightInit = .xavier
    try model.validate()
    return model
}

/// Whether the Debian package's Fashion-MNIST files are installed.
public let fashionMNISTInstalled = FileManager.default.fileExists(
    atPath: DataSource.defaultFashionMNISTPath + "/train-images-idx3-ubyte.gz")

/// Names of the shipped profiles of the exact (MLP) kind.
public func shippedExactProfileNames() -> [String] {
    shippedProfileNames().filter { name in
        if case .exact = try? ProfileParser.load(path: profilePath(name)) { return true }
        return false
    }
}

/// Names of the shipped profiles of the transformer kind.
public func shippedTransformerProfileNames() -> [String] {
    shippedProfileNames().filter { name in
        if case .transformer = try? ProfileParser.load(path: profilePath(name)) { return true }
        return false
    }
}

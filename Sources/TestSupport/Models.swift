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
    var layers: [LayerSpec] = []
    for index in 1..<widths.count {
        let isOutput = index == widths.count - 1
        layers.append(
            LayerSpec(
                inputWidth: widths[index - 1], outputWidth: widths[index],
                activation: isOutput ? (output ?? loss.impliedOutputActivation) : hidden, normalization: isOutput ? nil : norm))
    }
    return try Model(
        name: "fixture", inputShape: [widths[0]], layers: layers, loss: loss, precision: precision, batchSize: batch,
        optimizer: optimizer,
        data: .synthetic(
            task: loss == .softmaxCrossEntropy
                ? .classes : (loss.isClassification ? (widths.last! > 1 ? .multilabel : .binary) : .regression), count: count,
            testCount: 16, noise: 0.05, seed: seed),
        epochs: 1, seed: seed, weightInit: .xavier)
}

/// Whether the Debian package's Fashion-MNIST files are installed.
public let fashionMNISTInstalled = FileManager.default.fileExists(
    atPath: DataSource.defaultFashionMNISTPath + "/train-images-idx3-ubyte.gz")

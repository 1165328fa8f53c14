import Foundation
@testable import MLPTrainer
import ModelProfile
import NUMAArena

/// A trainer over a real planned arena, with its data loaded (synthetic unless the model says otherwise).
final class Fixture<T: TrainingScalar> {
    let model: Model
    let arena: Arena
    let trainer: Trainer<T>
    let pool: WorkerPool

    init(_ model: Model, threads: Int = 1) throws {
        self.model = model
        let local = try LocalTrainer<T>(model: model, threads: threads)
        arena = local.arena
        trainer = local.trainer
        pool = local.pool
    }

    /// Every parameter tensor with its gradient and element count.
    var parameters: [(values: UnsafeMutablePointer<T>, gradient: UnsafeMutablePointer<T>, count: Int)] {
        trainer.tensors.layers.flatMap { layer in
            var list = [(layer.weights, layer.dWeights, layer.weightCount)]
            if let bias = layer.bias, let dBias = layer.dBias { list.append((bias, dBias, layer.outputWidth)) }
            return list
        }
    }
}

/// A small model on synthetic data.
func syntheticModel(
    widths: [Int], hidden: Activation = .tanh, loss: Loss, output: Activation? = nil, precision: Precision = .double, batch: Int = 5,
    optimizer: Optimizer = Optimizer(kind: .sgd, learningRate: 0.1), count: Int = 64, seed: UInt64 = 3
) throws -> Model {
    var layers: [LayerSpec] = []
    for index in 1..<widths.count {
        let isOutput = index == widths.count - 1
        layers.append(
            LayerSpec(
                inputWidth: widths[index - 1], outputWidth: widths[index],
                activation: isOutput ? (output ?? loss.impliedOutputActivation) : hidden))
    }
    return try Model(
        name: "fixture", inputShape: [widths[0]], layers: layers, loss: loss, precision: precision, batchSize: batch, optimizer: optimizer,
        data: .synthetic(task: loss == .softmaxCrossEntropy ? .classes : (loss.isClassification ? (widths.last! > 1 ? .multilabel : .binary) : .regression), count: count, testCount: 16, noise: 0.05, seed: seed),
        epochs: 1, seed: seed, weightInit: .xavier)
}

/// Whether the Debian package's Fashion-MNIST files are installed.
let fashionMNISTInstalled = FileManager.default.fileExists(atPath: DataSource.defaultFashionMNISTPath + "/train-images-idx3-ubyte.gz")

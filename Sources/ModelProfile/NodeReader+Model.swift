// The model parts of a profile read from their nodes: activations, losses, precision, optimizer, input, split.

import Foundation
import Yams

extension NodeReader {
    func activation(_ node: Node) throws -> Activation {
        try named(node, field: "activation", valid: Activation.allCases.map(\.rawValue), parse: Activation.init(name:))
    }

    func loss(_ node: Node) throws -> Loss {
        try named(
            node, field: "loss", valid: Loss.allCases.map(\.rawValue) + ["mse", "mae", "bce", "softmax-ce"],
            parse: Loss.init(name:))
    }

    func precision(_ node: Node) throws -> Precision {
        try named(node, field: "precision", valid: Precision.acceptedNames, parse: Precision.init(name:))
    }

    /// `loss_scaling: dynamic | none`.
    func lossScaling(_ node: Node) throws -> LossScaling {
        try named(node, field: "loss_scaling", valid: ["dynamic", "none"], parse: LossScaling.init(name:))
    }

    func optimizerKind(_ node: Node) throws -> OptimizerKind {
        try named(node, field: "optimizer", valid: OptimizerKind.acceptedNames, parse: OptimizerKind.init(name:))
    }

    func inputShape(_ node: Node) throws -> [Int] {
        if case .scalar = node {
            return [try count(node, field: "input", minimum: 0)]
        }
        let input = try section(node, named: "input", allowed: ProfileParser.inputKeys)
        if let shape = input["shape"] {
            if input["features"] != nil {
                throw ProfileError.inconsistent(location(node), "input has both 'features' and 'shape'; give one")
            }
            let dimensions = try list(shape, field: "shape")
            guard !dimensions.isEmpty else {
                throw ProfileError.invalidValue(
                    location(shape), field: "shape", value: "[]", reason: "give at least one dimension")
            }
            return try dimensions.map { dimension throws in try count(dimension, field: "shape", minimum: 1) }
        }
        let features = try input.require("features", hint: "give the input width, e.g. features: 784, or shape: [28, 28]")
        return [try count(features, field: "features", minimum: 0)]
    }

    func optimizer(_ node: Node) throws -> Optimizer {
        if case .scalar = node {
            let kind = try optimizerKind(node)
            return Optimizer(kind: kind, learningRate: Optimizer.defaultLearningRate(for: kind))
        }
        let section = try section(node, named: "optimizer", allowed: ProfileParser.optimizerKeys)
        let kind = try section["kind"].map { try optimizerKind($0) } ?? .sgd
        var optimizer = Optimizer(kind: kind, learningRate: Optimizer.defaultLearningRate(for: kind))
        if let rate = section["learning_rate"] {
            optimizer.learningRate = try real(rate, field: "learning_rate")
            guard optimizer.learningRate > 0 else {
                throw ProfileError.invalidValue(
                    location(rate), field: "learning_rate", value: "\(optimizer.learningRate)", reason: "must be positive")
            }
        }
        // Each kind reads its own hyper-parameters (`OptimizerKind.hyperparameters`); keys of other kinds are refused.
        for key in Hyperparameter.allKeys where section[key] != nil && !kind.hyperparameters.contains(where: { $0.key == key }) {
            let valid = ["kind", "learning_rate"] + kind.hyperparameters.map(\.key)
            throw ProfileError.invalidValue(
                location(section[key]!), field: key, value: key,
                reason: "\(kind.rawValue) has no \(key); its keys are \(valid.joined(separator: ", "))")
        }
        for parameter in kind.hyperparameters {
            guard let valueNode = section[parameter.key] else { continue }
            let value = try real(valueNode, field: parameter.key)
            guard value >= parameter.lower, value < parameter.upper else {
                throw ProfileError.invalidValue(
                    location(valueNode), field: parameter.key, value: "\(value)", reason: "must be in \(parameter.rangeText)")
            }
            optimizer[keyPath: parameter.keyPath] = value
        }
        return optimizer
    }

    func split(_ node: Node) throws -> Split {
        let section = try section(node, named: "split", allowed: ProfileParser.splitKeys)
        var split = Split()
        if let validation = section["validation"] {
            let value = try real(validation, field: "validation")
            guard value >= 0, value < 1 else {
                throw ProfileError.invalidValue(
                    location(validation), field: "validation", value: "\(value)",
                    reason: "is the fraction held out for validation; must be in [0, 1), e.g. 0.1")
            }
            split.validationFraction = value
        }
        if let folds = section["folds"] {
            split.folds = try count(folds, field: "folds", minimum: 2)
        }
        return split
    }
}

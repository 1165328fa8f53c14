// k-fold cross-validation over polynomial degrees: the lecture's under- and over-fitting picture.

import MemoryBudget
import ModelProfile

/// One degree's cross-validated errors.
public struct DegreeResult: Sendable, Codable, Equatable {
    public var degree: Int
    public var parameters: Int
    /// Mean over folds of the final epoch's training loss per sample.
    public var trainLoss: Double
    /// Mean over folds of the held-out fold's loss per sample, and its standard deviation.
    public var validationLoss: Double
    public var validationLossDeviation: Double
    /// Trained on all training data, evaluated on the untouched test set.
    public var testLoss: Double
}

/// Model selection by k-fold cross-validation (the lecture's recipe: split into k parts, train on
/// k − 1, validate on the one left out, rotate, average; the test set is only used at the end).
public enum ModelSelection {
    /// For each degree, the profile's model with `degree` polynomial features (x … x^degree) and
    /// its data source set to that degree; the samples are the same for every degree.
    ///
    /// - Throws: `RunError.notEnoughSamples` when a fold would be empty, and anything
    ///   `TrainingSession.run` throws.
    public static func crossValidate(
        _ model: Model, degrees: [Int], folds: Int, options: TrainingOptions = TrainingOptions(),
        progress: ((Int, Int, Int) -> Void)? = nil
    ) throws -> [DegreeResult] {
        guard case .polynomial(_, let count, let testCount, let noise, let target, let seed) = model.data else {
            throw RunError.notEnoughSamples(
                reason: "\(model.name): select needs a polynomial data source (data: {source: polynomial})")
        }
        guard folds >= 2, folds <= count else {
            throw RunError.notEnoughSamples(reason: "\(folds) folds of \(count) samples: need 2 ≤ folds ≤ the sample count")
        }
        var results: [DegreeResult] = []
        for degree in degrees {
            var candidate = model
            candidate.inputShape = [degree]
            candidate.inputWidth = degree
            candidate.layers[0].inputWidth = degree
            candidate.data = .polynomial(
                degree: degree, count: count, testCount: testCount, noise: noise, target: target, seed: seed)
            candidate.split = Split(validationFraction: 0, folds: folds)
            try candidate.validate()
            var trainLosses: [Double] = []
            var validationLosses: [Double] = []
            for fold in 0..<folds {
                progress?(degree, fold + 1, folds)
                var foldOptions = options
                foldOptions.crossValidationFold = (fold, folds)
                let result = try TrainingSession.run(candidate, options: foldOptions)
                trainLosses.append(result.epochs.last?.trainLoss ?? .nan)
                validationLosses.append(result.epochs.last?.validationLoss ?? .nan)
            }
            let final = try TrainingSession.run(candidate, options: options)
            let mean = validationLosses.reduce(0, +) / Double(folds)
            let variance = validationLosses.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(folds - 1, 1))
            results.append(
                DegreeResult(
                    degree: degree, parameters: try MemoryBudget.estimate(candidate).parameterCount,
                    trainLoss: trainLosses.reduce(0, +) / Double(folds), validationLoss: mean,
                    validationLossDeviation: variance.squareRoot(), testLoss: final.testLoss ?? .nan))
        }
        return results
    }
}

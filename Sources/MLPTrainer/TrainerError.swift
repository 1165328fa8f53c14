// Everything that can stop a training run, each with the numbers and what to do about it.

import Foundation

/// Why a training run could not start or had to stop.
public enum TrainerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A data file is not there. `package` names the Debian package that installs it, if any.
    case datasetMissing(path: String, package: String?)
    /// A data file exists but cannot be used: wrong magic number, wrong dimensions, truncated.
    case datasetCorrupt(path: String, reason: String)
    /// A CSV line that is not a row of numbers of the right length.
    case csvMalformed(path: String, line: Int, reason: String)
    /// The data's shape does not match the model's input or output layer.
    case datasetMismatch(path: String, reason: String)
    /// Too few samples to train on after the validation split.
    case notEnoughSamples(reason: String)
    /// The profile names no data source.
    case noDataSource(profile: String)
    /// half and bfloat16 are for estimates only.
    case unsupportedPrecision(String)
    /// The loss became NaN or infinite.
    case diverged(epoch: Int, step: Int, loss: Double, learningRate: Double)

    public var description: String {
        switch self {
        case .datasetMissing(let path, let package):
            var text = "\(path): no such data file"
            if let package { text += "; install it with the Debian package \(package) (apt-get install \(package)), or pass --data DIRECTORY" }
            return text
        case .datasetCorrupt(let path, let reason):
            return "\(path): \(reason)"
        case .csvMalformed(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .datasetMismatch(let path, let reason):
            return "\(path): \(reason)"
        case .notEnoughSamples(let reason):
            return reason
        case .noDataSource(let profile):
            return "\(profile) names no data source; add a data: section (fashion-mnist, polynomial, synthetic or csv) to train it"
        case .unsupportedPrecision(let precision):
            return "\(precision) precision is for estimates only; train with --precision single or double"
        case .diverged(let epoch, let step, let loss, let learningRate):
            return "the loss became \(loss.isNaN ? "NaN" : "infinite") at epoch \(epoch), step \(step); "
                + "the learning rate \(String(format: "%g", learningRate)) is probably too large, try --learning-rate \(String(format: "%g", learningRate / 10))"
        }
    }

    /// Missing data files are a resource the machine lacks (exit 3) when a package would provide them.
    public var isMissingResource: Bool {
        if case .datasetMissing(_, let package) = self { return package != nil }
        return false
    }
}

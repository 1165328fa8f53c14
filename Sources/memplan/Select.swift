// `memplan select`: choose a polynomial's degree by k-fold cross-validation.

import ArgumentParser
import Foundation
import TrainingRun
import ModelProfile
import Reports

extension Memplan {
    struct Select: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pick a polynomial's degree by k-fold cross-validation (under- and over-fitting).",
            discussion: """
                For each degree d the profile's model gets the features x, x², …, x^d (plus its bias) on the same samples. The training data is divided into k folds; the model is trained on k − 1 and validated on the one left out, k times, and the validation loss averaged. The best degree is the one with the lowest mean validation loss. The untouched test set is only used to report each degree's test loss after training on all the training data.

                Low degrees underfit (high training and validation loss); high degrees fit the training folds better and validate worse (overfitting).

                Examples:
                  memplan select profiles/polynomial-9.yaml --degrees 0...9 --folds 5
                  memplan select profiles/polynomial-9.yaml --degrees 1,3,9 --format json
                """)

        @Argument(help: "A profile with a polynomial data source, e.g. profiles/polynomial-9.yaml.")
        var profile: String

        @Option(
            parsing: .unconditional, help: ArgumentHelp("Degrees to try: a range 0...9 or a list 1,3,9.", valueName: "degrees"))
        var degrees: String = "0...9"

        @Option(
            parsing: .unconditional, help: ArgumentHelp("Folds (default: the profile's split.folds, else 5).", valueName: "k"))
        var folds: Int?

        @Option(
            parsing: .unconditional, help: ArgumentHelp("Epochs per fit (default: the profile's).", valueName: "n"),
            transform: CountArgument.parse)
        var epochs: CountArgument?

        @Option(help: formatHelp(SelectionReport.self))
        var format: ReportFormat = .table

        func validate() throws {
            _ = try format.checked(for: SelectionReport.self, command: "select")
            _ = try parsedDegrees()
            if let folds, folds < 2 { throw ValidationError("--folds must be at least 2, got \(folds)") }
            if let epochs, !(1...ProfileParser.maximumEpochs).contains(epochs.value) {
                throw ValidationError("--epochs must be from 1 to 1,000,000, got \(epochs.value)")
            }
        }

        func parsedDegrees() throws -> [Int] {
            let text = degrees
            var values: [Int] = []
            if let range = text.range(of: "...") ?? text.range(of: "..") {
                guard let low = Int(text[..<range.lowerBound]), let high = Int(text[range.upperBound...]), low >= 0, low <= high,
                    high <= 30
                else {
                    throw ValidationError("--degrees \(degrees): give a range such as 0...9 (degrees 0 to 30)")
                }
                values = Array(low...high)
            } else {
                for part in text.split(separator: ",") {
                    guard let value = Int(part.trimmingCharacters(in: .whitespaces)), (0...30).contains(value) else {
                        throw ValidationError("--degrees \(degrees): '\(part)' is not a degree from 0 to 30")
                    }
                    values.append(value)
                }
            }
            guard !values.isEmpty else { throw ValidationError("--degrees: give at least one degree") }
            return values
        }

        func run() throws {
            guard case .exact(var model) = try ModelFiles.loadProfile(profile) else {
                throw CLIFailure.badInput("\(profile) is a bound profile; select needs an exact profile with polynomial data")
            }
            if let epochs { model.epochs = epochs.value }
            let k = folds ?? model.split.folds ?? 5
            var options = TrainingOptions()
            options.threadCount = 1
            let interactive = format == .table && isatty(STDERR_FILENO) == 1
            let results = try ModelSelection.crossValidate(model, degrees: try parsedDegrees(), folds: k, options: options) {
                degree, fold, folds in
                if interactive { FileHandle.standardError.write(Data("\r degree \(degree): fold \(fold)/\(folds) ".utf8)) }
            }
            if interactive { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            let report = SelectionReport(
                profile: model.name, folds: k, epochs: model.epochs, loss: model.loss.rawValue,
                degrees: results.map {
                    SelectionReport.Degree(
                        degree: $0.degree, parameters: $0.parameters, trainLoss: $0.trainLoss, validationLoss: $0.validationLoss,
                        validationLossStd: $0.validationLossDeviation, testLoss: $0.testLoss)
                })
            print(report.render(format), terminator: "")
        }
    }
}

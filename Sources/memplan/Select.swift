// `memplan select`: choose a polynomial's degree by k-fold cross-validation.

import ArgumentParser
import Foundation
import MLPTrainer
import ModelProfile
import Reports

/// The `--format json` contract of `memplan select`:
/// `{"profile", "folds", "best_degree", "degrees": [{"degree", "parameters", "train_loss",
///   "validation_loss", "validation_loss_std", "test_loss"}]}` — losses are per sample (½ squared error for l2).
struct SelectionReport: Codable {
    struct Degree: Codable {
        var degree: Int
        var parameters: Int
        var trainLoss: Double
        var validationLoss: Double
        var validationLossStd: Double
        var testLoss: Double

        enum CodingKeys: String, CodingKey {
            case degree, parameters
            case trainLoss = "train_loss"
            case validationLoss = "validation_loss"
            case validationLossStd = "validation_loss_std"
            case testLoss = "test_loss"
        }
    }

    var profile: String
    var folds: Int
    var bestDegree: Int
    var degrees: [Degree]

    enum CodingKeys: String, CodingKey {
        case profile, folds, degrees
        case bestDegree = "best_degree"
    }
}

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

        @Option(help: ArgumentHelp("Degrees to try: a range 0...9 or a list 1,3,9.", valueName: "degrees"))
        var degrees: String = "0...9"

        @Option(help: ArgumentHelp("Folds (default: the profile's split.folds, else 5).", valueName: "k"))
        var folds: Int?

        @Option(help: ArgumentHelp("Epochs per fit (default: the profile's).", valueName: "n"), transform: CountArgument.parse)
        var epochs: CountArgument?

        @Option(help: ArgumentHelp("table or json.", valueName: "format"))
        var format: OutputFormat = .table

        func validate() throws {
            guard format == .table || format == .json else { throw ValidationError("select prints table or json") }
            _ = try parsedDegrees()
            if let folds, folds < 2 { throw ValidationError("--folds must be at least 2, got \(folds)") }
            if let epochs, epochs.value < 1 { throw ValidationError("--epochs must be at least 1") }
        }

        func parsedDegrees() throws -> [Int] {
            let text = degrees.replacingOccurrences(of: "..<", with: "..<")
            var values: [Int] = []
            if let range = text.range(of: "...") ?? text.range(of: "..") {
                guard let low = Int(text[..<range.lowerBound]), let high = Int(text[range.upperBound...]), low >= 0, low <= high, high <= 30 else {
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
            guard case .exact(var model) = try ProfileParser.load(path: profile) else {
                throw CLIFailure.badInput("\(profile) is a bound profile; select needs an exact profile with polynomial data")
            }
            if let epochs { model.epochs = epochs.value }
            let k = folds ?? model.split.folds ?? 5
            var options = TrainingOptions()
            options.threadCount = 1
            let interactive = format == .table && isatty(STDERR_FILENO) == 1
            let results = try ModelSelection.crossValidate(model, degrees: try parsedDegrees(), folds: k, options: options) { degree, fold, folds in
                if interactive { FileHandle.standardError.write(Data("\r degree \(degree): fold \(fold)/\(folds) ".utf8)) }
            }
            if interactive { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            let best = results.min { $0.validationLoss < $1.validationLoss }!
            let report = SelectionReport(
                profile: model.name, folds: k, bestDegree: best.degree,
                degrees: results.map {
                    SelectionReport.Degree(
                        degree: $0.degree, parameters: $0.parameters, trainLoss: $0.trainLoss, validationLoss: $0.validationLoss,
                        validationLossStd: $0.validationLossDeviation, testLoss: $0.testLoss)
                })
            if format == .json {
                print(JSONText.encode(report), terminator: "")
                return
            }
            print("memplan select — \(model.name): \(k)-fold cross-validation, \(model.epochs) epochs per fit, loss \(model.loss.rawValue) per sample\n")
            var table = TextTable(columns: [
                .right("Degree"), .right("Params"), .right("Train loss"), .right("Validation loss"), .right("± sd"), .right("Test loss"), .left(""),
            ])
            let worst = results.map(\.validationLoss).max() ?? 1
            for result in results {
                let bar = String(repeating: "▇", count: max(1, Int((result.validationLoss / max(worst, 1e-12) * 30).rounded())))
                table.append([
                    String(result.degree), String(result.parameters), String(format: "%.4f", result.trainLoss),
                    String(format: "%.4f", result.validationLoss), String(format: "%.4f", result.validationLossDeviation),
                    String(format: "%.4f", result.testLoss), bar + (result.degree == best.degree ? "  ← best" : ""),
                ])
            }
            print(table.renderText())
            print("Best degree by validation loss: \(best.degree). Lower degrees underfit; higher ones fit the training folds more closely than they validate.")
        }
    }
}

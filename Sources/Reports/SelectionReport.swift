// `memplan select` output: k-fold cross-validation over polynomial degrees, as a table or JSON.

import Foundation

/// The `--format json` contract of `memplan select`:
/// `{"profile", "folds", "epochs", "loss", "best_degree", "degrees": [{"degree", "parameters", "train_loss",
///   "validation_loss", "validation_loss_std", "test_loss"}]}` — losses are per sample (½ squared error for l2).
public struct SelectionReport: Codable, Sendable, Equatable, ReportDocument {
    public struct Degree: Codable, Sendable, Equatable {
        public var degree: Int
        public var parameters: Int
        public var trainLoss: Double
        public var validationLoss: Double
        public var validationLossStd: Double
        public var testLoss: Double

        public init(
            degree: Int, parameters: Int, trainLoss: Double, validationLoss: Double, validationLossStd: Double, testLoss: Double
        ) {
            self.degree = degree
            self.parameters = parameters
            self.trainLoss = trainLoss
            self.validationLoss = validationLoss
            self.validationLossStd = validationLossStd
            self.testLoss = testLoss
        }
    }

    public var profile: String
    public var folds: Int
    public var epochs: Int
    public var loss: String
    public var bestDegree: Int
    public var degrees: [Degree]

    public static let formats: [ReportFormat] = [.table, .json]

    /// The degrees tried; the best is the one with the lowest mean validation loss.
    public init(profile: String, folds: Int, epochs: Int, loss: String, degrees: [Degree]) {
        self.profile = profile
        self.folds = folds
        self.epochs = epochs
        self.loss = loss
        self.degrees = degrees
        bestDegree = degrees.min { $0.validationLoss < $1.validationLoss }?.degree ?? 0
    }

    /// Each degree's losses with a bar of its validation loss, then the verdict the numbers support.
    public var tableText: String {
        var out =
            "memplan select — \(Markup.terminal(profile)): \(folds)-fold cross-validation, \(epochs) epochs per fit, loss \(loss) per sample\n\n"
        var rows = TextTable(columns: [
            .right("Degree"), .right("Params"), .right("Train loss"), .right("Validation loss"), .right("± sd"),
            .right("Test loss"), .left(""),
        ])
        let worst = degrees.map(\.validationLoss).filter(\.isFinite).max() ?? 1
        for result in degrees {
            let length =
                result.validationLoss.isFinite
                ? max(1, Int(saturating: (result.validationLoss / max(worst, 1e-12) * 30).rounded())) : 1
            rows.append([
                String(result.degree), String(result.parameters), String(format: "%.4f", result.trainLoss),
                String(format: "%.4f", result.validationLoss), String(format: "%.4f", result.validationLossStd),
                String(format: "%.4f", result.testLoss),
                String(repeating: "▇", count: min(length, 30)) + (result.degree == bestDegree ? "  ← best" : ""),
            ])
        }
        out += rows.renderText() + "\n" + verdict + "\n"
        return out
    }

    /// What the numbers say: which degrees underfit (higher validation and training loss than the best) and which
    /// overfit (lower training loss than the best, higher validation loss), when any do.
    var verdict: String {
        guard let best = degrees.first(where: { $0.degree == bestDegree }) else { return "No degree was tried." }
        let under = degrees.filter {
            $0.degree < best.degree && $0.validationLoss > best.validationLoss && $0.trainLoss > best.trainLoss
        }
        let over = degrees.filter {
            $0.degree > best.degree && $0.validationLoss > best.validationLoss && $0.trainLoss <= best.trainLoss
        }
        var text = "Best degree by validation loss: \(best.degree)."
        if !under.isEmpty {
            text +=
                " Degree\(under.count == 1 ? "" : "s") \(under.map { String($0.degree) }.joined(separator: ", ")) underfit (higher training and validation loss)."
        }
        if !over.isEmpty {
            text +=
                " Degree\(over.count == 1 ? "" : "s") \(over.map { String($0.degree) }.joined(separator: ", ")) overfit "
                + "(training loss at most the best's, validation loss higher)."
        }
        if under.isEmpty && over.isEmpty { text += " No tried degree clearly under- or overfits." }
        return text
    }
}

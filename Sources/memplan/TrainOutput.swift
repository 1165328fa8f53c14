// What `memplan train` draws while it runs: one line per epoch, and a progress bar on a terminal.

import Foundation
import Reports
import TrainingRun

/// One line per epoch in the table output.
enum EpochLine {
    static let header = "Epoch  Train loss  Train acc  Val loss  Val acc     Time  Samples/s"

    static func format(_ metrics: EpochMetrics, samplesPerSecond: Double) -> String {
        func cell(_ text: String, _ width: Int) -> String { text.leftPadded(width) }
        func percent(_ value: Double?) -> String { value.map { String(format: "%.2f%%", $0 * 100) } ?? "–" }
        func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "–" }
        return cell(String(metrics.epoch), 5) + cell(number(metrics.trainLoss), 12) + cell(percent(metrics.trainAccuracy), 11)
            + cell(number(metrics.validationLoss), 10) + cell(percent(metrics.validationAccuracy), 9)
            + cell(String(format: "%.2fs", metrics.seconds), 9) + cell(String(Int(saturating: samplesPerSecond.rounded())), 11)
    }
}

/// A one-line progress bar on stderr, redrawn in place; silent when not on a terminal.
final class ProgressBar: @unchecked Sendable {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled }

    func update(_ progress: TrainingProgress) {
        guard enabled, !progress.isEpochEnd else { return }
        let width = 30
        let done = progress.steps > 0 ? progress.step * width / progress.steps : width
        let bar = String(repeating: "█", count: done) + String(repeating: "░", count: width - done)
        let line = String(
            format: "\r epoch %d/%d %@ %d/%d  loss %.4f  %.0f samples/s ", progress.epoch, progress.epochs, bar, progress.step,
            progress.steps, progress.trainLoss, progress.samplesPerSecond)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}

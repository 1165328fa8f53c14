// The accuracy a model gets for free: always predicting the most frequent class of the training targets. A model
// whose test accuracy does not beat it has learned nothing the class counts do not already say.

import ModelProfile

/// The majority-class baseline of a dataset in the arena.
public enum MajorityBaseline {
    /// The test accuracy of always predicting what the training rows `order[0 ..< trainCount]` most often are, judged
    /// as the trainer judges accuracy: per sample for softmax cross-entropy (the arg-max class), per label for
    /// binary cross-entropy (≥ 0.5) and hinge (> 0). Nil for regression losses and an empty test set.
    public static func accuracy<T: BinaryFloatingPoint>(
        _ data: DataTensors<T>, order: UnsafePointer<Int32>, trainCount: Int, loss: Loss
    ) -> Double? {
        let width = data.targetWidth
        guard data.testCount > 0, trainCount > 0, width > 0 else { return nil }
        switch loss {
        case .l1, .l2:
            return nil
        case .softmaxCrossEntropy:
            func label(_ row: UnsafeMutablePointer<T>) -> Int {
                var best = 0
                for column in 1..<max(width, 1) where row[column] > row[best] { best = column }
                return best
            }
            var counts = [Int](repeating: 0, count: width)
            for index in 0..<trainCount { counts[label(data.trainTargets + Int(order[index]) * width)] += 1 }
            var majority = 0
            for column in 1..<max(width, 1) where counts[column] > counts[majority] { majority = column }
            var correct = 0
            for row in 0..<data.testCount where label(data.testTargets + row * width) == majority { correct += 1 }
            return Double(correct) / Double(data.testCount)
        case .binaryCrossEntropy, .hinge:
            func isOn(_ value: T) -> Bool { loss == .hinge ? value > 0 : value >= 0.5 }
            var correct = 0
            for column in 0..<width {
                var on = 0
                for index in 0..<trainCount where isOn(data.trainTargets[Int(order[index]) * width + column]) { on += 1 }
                let majority = on * 2 > trainCount
                for row in 0..<data.testCount where isOn(data.testTargets[row * width + column]) == majority { correct += 1 }
            }
            return Double(correct) / Double(data.testCount * width)
        }
    }
}

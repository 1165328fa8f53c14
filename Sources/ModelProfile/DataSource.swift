// Where a profile's training data comes from, and how its validation data is split off.

/// How Fashion-MNIST's ten class labels become training targets.
public enum LabelMapping: Sendable, Codable, Hashable {
    /// One-hot over the 10 classes (softmax regression, MLP).
    case classes
    /// One output: 1 when the class is in `positive`, else 0 (logistic regression).
    case binary(positive: [Int])
    /// One output per group: 1 when the class is in that group (multi-label).
    case groups([[Int]])

    /// Number of target values per sample.
    public var targetCount: Int {
        switch self {
        case .classes: 10
        case .binary: 1
        case .groups(let groups): groups.count
        }
    }
}

/// The task a synthetic teacher generates data for.
public enum SyntheticTask: String, CaseIterable, Sendable, Codable, Hashable {
    /// y = t(x) + ε with a random teacher network t.
    case regression
    /// One label per output: 1[t(x) > 0].
    case binary
    /// One-hot argmax of t(x).
    case classes
    /// Several independent labels 1[t_i(x) > 0].
    case multilabel
    /// One-hot class c of a Gaussian cluster: K centres drawn once (N(0, 1) per feature), x = centre_c + noise·N(0, 1)
    /// with c uniform over the K outputs. Learnable by any depth of network, unlike a deep teacher's labels.
    case blobs
}

/// The function behind the lecture's polynomial-regression data, y = f(x) + ε.
public enum PolynomialTarget: String, CaseIterable, Sendable, Codable, Hashable {
    /// f(x) = sin(2πx) on x ∈ [0, 1] (Bishop, the lecture's picture).
    case sine
    /// f(x) = a cubic with fixed coefficients on x ∈ [-1, 1].
    case cubic
}

/// A profile's data source.
public enum DataSource: Sendable, Codable, Hashable {
    /// Fashion-MNIST in gzip IDX files (Debian package `dataset-fashion-mnist`).
    case fashionMNIST(path: String, labels: LabelMapping)
    /// The lecture's polynomial data: features x, x², …, x^degree, target f(x) + ε.
    case polynomial(degree: Int, count: Int, testCount: Int, noise: Double, target: PolynomialTarget, seed: UInt64)
    /// Random teacher data for any input and output width.
    case synthetic(task: SyntheticTask, count: Int, testCount: Int, noise: Double, seed: UInt64)
    /// Numbers in a CSV file: the last `targetColumns` columns are targets.
    case csv(path: String, targetColumns: Int, hasHeader: Bool, testFraction: Double)

    /// The directory the Debian package installs Fashion-MNIST into.
    public static let defaultFashionMNISTPath = "/usr/share/datasets/fashion-mnist"

    /// A short name for tables: `fashion-mnist`, `polynomial`, `synthetic`, `csv`.
    public var kindName: String {
        switch self {
        case .fashionMNIST: "fashion-mnist"
        case .polynomial: "polynomial"
        case .synthetic: "synthetic"
        case .csv: "csv"
        }
    }
}

/// How training data is divided for model selection.
public struct Split: Sendable, Codable, Hashable {
    /// Fraction of the training data held out for validation, in [0, 1).
    public var validationFraction: Double
    /// Number of folds for k-fold cross-validation (`memplan select`), ≥ 2, or nil.
    public var folds: Int?

    public init(validationFraction: Double = 0, folds: Int? = nil) {
        self.validationFraction = validationFraction
        self.folds = folds
    }
}

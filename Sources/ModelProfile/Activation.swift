// Activation functions, losses and metrics of the lecture's model family.

/// A layer's elementwise (or, for softmax, row-wise) nonlinearity `a = f(z)`.
///
/// Every case has a derivative that is a function of its output `a`, so a training step
/// keeps `a` and computes `z` in place (see `MemoryBudget`):
///
///     identity  f(z) = z              f' = 1
///     step      f(z) = 1[z > 0]       f' = 1  (the perceptron rule: straight-through)
///     sigmoid   f(z) = 1/(1+e^-z)     f' = a(1-a)
///     tanh      f(z) = tanh z         f' = 1-a²
///     relu      f(z) = max(0, z)      f' = 1[a > 0]
///     softmax   f(z)_i = e^zi/Σ e^zj  output layer only, paired with softmax cross-entropy
public enum Activation: String, CaseIterable, Sendable, Codable, Hashable {
    case identity, step, sigmoid, tanh, relu, softmax

    /// Accepts canonical names and aliases (`linear`, `logistic`, `heaviside`).
    public init?(name: String) {
        switch name.lowercased() {
        case "identity", "linear", "none": self = .identity
        case "step", "heaviside", "threshold": self = .step
        case "sigmoid", "logistic": self = .sigmoid
        case "tanh": self = .tanh
        case "relu": self = .relu
        case "softmax": self = .softmax
        default: return nil
        }
    }

    /// Whether the activation may be used in a hidden layer (softmax may not).
    public var isAllowedInHiddenLayer: Bool { self != .softmax }

    public static let acceptedNames = ["identity", "step", "sigmoid", "tanh", "relu", "softmax", "linear", "logistic"]
}

/// The training loss, averaged over the samples of a batch.
///
///     l1                     |ŷ - y|                              summed over outputs
///     l2                     ½(ŷ - y)²                            summed over outputs (the lecture's ½)
///     hinge                  max(0, 1 - y·ŷ), y ∈ {-1, +1}       summed over outputs
///     binary-cross-entropy   -y log p - (1-y) log(1-p)            summed over outputs (multi-label too)
///     softmax-cross-entropy  -Σ y_i log p_i                       one-hot y
public enum Loss: String, CaseIterable, Sendable, Codable, Hashable {
    case l1
    case l2
    case hinge
    case binaryCrossEntropy = "binary-cross-entropy"
    case softmaxCrossEntropy = "softmax-cross-entropy"

    public init?(name: String) {
        switch name.lowercased() {
        case "l1", "mae", "absolute": self = .l1
        case "l2", "mse", "squared": self = .l2
        case "hinge": self = .hinge
        case "binary-cross-entropy", "bce", "binary-ce", "cross-entropy-binary", "logistic": self = .binaryCrossEntropy
        case "softmax-cross-entropy", "softmax-ce", "cross-entropy", "ce", "categorical-cross-entropy":
            self = .softmaxCrossEntropy
        default: return nil
        }
    }

    /// Whether the task is classification (accuracy is reported) rather than regression.
    public var isClassification: Bool {
        switch self {
        case .l1, .l2: false
        case .hinge, .binaryCrossEntropy, .softmaxCrossEntropy: true
        }
    }

    public static let acceptedNames = [
        "l1", "l2", "hinge", "binary-cross-entropy", "softmax-cross-entropy", "mse", "mae", "bce", "softmax-ce",
    ]
}

/// A quantity reported during training that is not optimised.
public enum Metric: String, CaseIterable, Sendable, Codable, Hashable {
    /// The 0-1 loss `1[ŷ ≠ y]`, reported as accuracy = 1 − mean 0-1 loss.
    case zeroOne = "zero-one"

    public init?(name: String) {
        switch name.lowercased() {
        case "zero-one", "0-1", "zero_one", "accuracy": self = .zeroOne
        default: return nil
        }
    }
}

// Optimizers and the state each keeps per parameter.

/// The update rule applied once per step.
public enum OptimizerKind: String, CaseIterable, Sendable, Codable, Hashable {
    /// `θ ← θ − η ∇θ`. No state.
    case sgd
    /// Heavy-ball momentum: `v ← μ v + ∇θ; θ ← θ − η v`. One state tensor per parameter tensor.
    case momentum
    /// Adam (Kingma & Ba): first and second moments `m`, `v` with bias correction. Two state tensors.
    case adam

    /// State tensors kept per parameter tensor: 0, 1, 2.
    public var stateTensorsPerParameter: Int {
        switch self {
        case .sgd: 0
        case .momentum: 1
        case .adam: 2
        }
    }

    public init?(name: String) {
        switch name.lowercased() {
        case "sgd", "gd", "gradient-descent": self = .sgd
        case "momentum", "sgd-momentum", "heavy-ball": self = .momentum
        case "adam": self = .adam
        default: return nil
        }
    }

    public static let acceptedNames = ["sgd", "momentum", "adam"]
}

/// An optimizer and its hyper-parameters.
public struct Optimizer: Sendable, Codable, Hashable {
    public var kind: OptimizerKind
    /// η, the step size. Must be positive and finite.
    public var learningRate: Double
    /// μ for `.momentum`.
    public var momentum: Double
    /// β₁, β₂, ε for `.adam`.
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double

    public init(
        kind: OptimizerKind, learningRate: Double, momentum: Double = 0.9,
        beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8
    ) {
        self.kind = kind
        self.learningRate = learningRate
        self.momentum = momentum
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// The default learning rate of each kind when a profile or flag names only the kind.
    public static func defaultLearningRate(for kind: OptimizerKind) -> Double {
        kind == .adam ? 0.001 : 0.05
    }
}

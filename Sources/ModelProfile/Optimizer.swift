// Optimizers, defined once: the state each keeps per parameter, its hyper-parameters (with their profile
// keys, defaults and ranges), and whether its update can be fused into the backward pass. The update
// rules themselves are the trainer's (`OptimizerKernels.swift`), one function per kind.

/// The update rule applied once per step, with g = ∂L/∂θ and t the step number (from 1):
///
///     sgd       θ ← θ − η·g                                                    no state
///     momentum  v ← μ·v + g;  θ ← θ − η·v                                      v
///     adam      m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − η·m̂/(√v̂ + ε)   m, v
///               with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)  (Kingma & Ba)
///     adamw     θ ← θ·(1 − η·λ), then adam: weight decay decoupled from the gradient (Loshchilov & Hutter)  m, v
///     rmsprop   s ← ρ·s + (1−ρ)g²;  θ ← θ − η·g/(√s + ε)  (Hinton's lecture 6e; PyTorch's default ρ = 0.99)   s
public enum OptimizerKind: String, CaseIterable, Sendable, Codable, Hashable {
    case sgd
    case momentum
    case adam
    case adamw
    case rmsprop

    /// Names of the state tensors kept per parameter tensor, in order: `v` for momentum, `m` and `v`
    /// for Adam and AdamW, `s` for RMSprop. A parameter W's state tensors are named `vW`, `mW`, … in plans.
    public var stateNames: [String] {
        switch self {
        case .sgd: []
        case .momentum: ["v"]
        case .adam, .adamw: ["m", "v"]
        case .rmsprop: ["s"]
        }
    }

    /// State tensors kept per parameter tensor: 0, 1, 2, 2, 1.
    public var stateTensorsPerParameter: Int { stateNames.count }

    /// Whether the update needs only g and θ, so the backward pass can apply it as each gradient is formed
    /// and never store the gradient (plain SGD).
    public var canFuseIntoBackward: Bool { self == .sgd }

    /// The hyper-parameters this kind reads besides the learning rate.
    public var hyperparameters: [Hyperparameter] {
        switch self {
        case .sgd: []
        case .momentum: [.momentum]
        case .adam: [.beta1, .beta2, .epsilon]
        case .adamw: [.beta1, .beta2, .epsilon, .weightDecay]
        case .rmsprop: [.rho, .epsilon]
        }
    }

    /// η when a profile or flag names only the kind.
    public var defaultLearningRate: Double {
        switch self {
        case .sgd, .momentum: 0.05
        case .adam, .adamw, .rmsprop: 0.001
        }
    }

    public init?(name: String) {
        switch name.lowercased() {
        case "sgd", "gd", "gradient-descent": self = .sgd
        case "momentum", "sgd-momentum", "heavy-ball": self = .momentum
        case "adam": self = .adam
        case "adamw", "adam-w": self = .adamw
        case "rmsprop", "rms-prop": self = .rmsprop
        default: return nil
        }
    }

    public static let acceptedNames = allCases.map(\.rawValue)
}

/// A hyper-parameter of an optimizer: its profile key, where it is kept, its default and its range.
public struct Hyperparameter: Sendable, Hashable {
    /// The key in a profile's `optimizer:` section.
    public let key: String
    public let keyPath: WritableKeyPath<Optimizer, Double> & Sendable
    /// Allowed values: `[lower, upper)`.
    public let lower: Double
    public let upper: Double

    public static let momentum = Hyperparameter(key: "momentum", keyPath: \.momentum, lower: 0, upper: 1)
    public static let beta1 = Hyperparameter(key: "beta1", keyPath: \.beta1, lower: 0, upper: 1)
    public static let beta2 = Hyperparameter(key: "beta2", keyPath: \.beta2, lower: 0, upper: 1)
    public static let epsilon = Hyperparameter(key: "epsilon", keyPath: \.epsilon, lower: .leastNonzeroMagnitude, upper: 1)
    public static let weightDecay = Hyperparameter(key: "weight_decay", keyPath: \.weightDecay, lower: 0, upper: 1)
    public static let rho = Hyperparameter(key: "rho", keyPath: \.rho, lower: 0, upper: 1)

    /// Every key any kind reads, for the profile's list of valid keys.
    public static var allKeys: [String] {
        var keys: [String] = []
        for key in OptimizerKind.allCases.flatMap(\.hyperparameters).map(\.key) where !keys.contains(key) { keys.append(key) }
        return keys
    }

    /// The range as text for messages, e.g. "[0, 1)".
    public var rangeText: String { lower == 0 ? "[0, \(Int(upper)))" : "(0, \(Int(upper)))" }
}

/// An optimizer and its hyper-parameters.
public struct Optimizer: Sendable, Codable, Hashable {
    public var kind: OptimizerKind
    /// η, the step size. Must be positive and finite.
    public var learningRate: Double
    /// μ for momentum.
    public var momentum: Double
    /// β₁, β₂, ε for Adam and AdamW; ε also for RMSprop.
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// λ for AdamW's decoupled weight decay (PyTorch's default, 0.01).
    public var weightDecay: Double
    /// ρ, RMSprop's decay of the squared-gradient average.
    public var rho: Double

    public init(
        kind: OptimizerKind, learningRate: Double, momentum: Double = 0.9,
        beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0.01,
        rho: Double = 0.99
    ) {
        self.kind = kind
        self.learningRate = learningRate
        self.momentum = momentum
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.rho = rho
    }

    /// The default learning rate of each kind when a profile or flag names only the kind.
    public static func defaultLearningRate(for kind: OptimizerKind) -> Double { kind.defaultLearningRate }
}

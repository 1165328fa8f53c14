// The validated description of a model and its training run.

/// How a hidden layer normalises what it hands on.
public enum Normalization: String, CaseIterable, Sendable, Codable, Hashable {
    /// Layer normalization (Ba, Kiros & Hinton 2016) of the layer's activations, per sample over its units:
    /// a = γ ⊙ (h − μ)/√(σ² + ε) + β with h = f(z), ε = 1e-5, μ and σ² the mean and variance of the row h.
    /// After the activation, so every layer hands on values of unit scale whatever its activation's slope: a deep
    /// sigmoid network then learns, which normalising z before the activation does not achieve (measured).
    case layer

    public init?(name: String) {
        switch name.lowercased() {
        case "layer", "layernorm", "layer-norm": self = .layer
        default: return nil
        }
    }

    public static let acceptedNames = ["layer"]
}

/// One fully connected layer, the dense kind: `a = f(a_prev · Wᵀ + b)`, W of shape (outputWidth, inputWidth),
/// b (outputWidth); with `normalization`, `a = γ ⊙ x̂ + β` where x̂ normalises f(a_prev · Wᵀ + b) per sample.
public struct LayerSpec: Sendable, Codable, Hashable {
    /// Values per sample entering the layer.
    public var inputWidth: Int
    /// Neurons in the layer: values per sample leaving it.
    public var outputWidth: Int
    public var activation: Activation
    /// Whether the layer adds a bias b (default). The lecture's smallest perceptron, y = wx, has none.
    public var hasBias: Bool
    /// Normalization of the pre-activation (hidden layers only); nil for none.
    public var normalization: Normalization?
    /// `frozen: true`: the layer's parameters are stored but do not train — no gradient, optimizer state or master
    /// copy. Its backward still hands the delta on to the trainable layers before it.
    public var isFrozen: Bool

    public init(
        inputWidth: Int, outputWidth: Int, activation: Activation, hasBias: Bool = true, normalization: Normalization? = nil,
        isFrozen: Bool = false
    ) {
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
        self.activation = activation
        self.hasBias = hasBias
        self.normalization = normalization
        self.isFrozen = isFrozen
    }

    enum CodingKeys: String, CodingKey { case inputWidth, outputWidth, activation, hasBias, normalization, isFrozen }

    /// Decodes layers written before `isFrozen` existed as trainable.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        inputWidth = try container.decode(Int.self, forKey: .inputWidth)
        outputWidth = try container.decode(Int.self, forKey: .outputWidth)
        activation = try container.decode(Activation.self, forKey: .activation)
        hasBias = try container.decode(Bool.self, forKey: .hasBias)
        normalization = try container.decodeIfPresent(Normalization.self, forKey: .normalization)
        isFrozen = try container.decodeIfPresent(Bool.self, forKey: .isFrozen) ?? false
    }

    /// Biases of the layer: outputWidth, or 0 without a bias.
    public var biasCount: Int { hasBias ? outputWidth : 0 }
}

/// How the first weights are drawn.
public enum WeightInit: String, CaseIterable, Sendable, Codable, Hashable {
    /// He for relu layers, Glorot (Xavier) otherwise.
    case auto
    /// All zeros (the classic perceptron start; fine for one layer, useless for hidden ones).
    case zeros
    /// Glorot uniform: U(±√(6/(in+out))).
    case xavier
    /// He normal: N(0, 2/in).
    case he
}

/// A validated network and how to train it: the "exact" kind of profile.
///
/// Invariants (checked by `Model.init`, so every `Model` value holds them):
/// - at least one layer; layer `i+1`'s input width is layer `i`'s output width;
/// - every width ≥ 1 except the input, which may be 0 (a bias-only model, degree-0 polynomial);
/// - softmax only on the output layer, and exactly when the loss is softmax cross-entropy;
/// - `batchSize ≥ 1`, `epochs ≥ 1`, learning rate positive and finite.
public struct Model: Sendable, Codable, Hashable {
    public var name: String
    /// Input features per sample (e.g. 784 for a 28×28 image).
    public var inputWidth: Int
    /// The shape the input was given as, e.g. [28, 28]; `[inputWidth]` when given as a count.
    public var inputShape: [Int]
    /// Hidden layers followed by the output layer.
    public var layers: [LayerSpec]
    public var loss: Loss
    public var metrics: [Metric]
    public var precision: Precision
    public var batchSize: Int
    public var optimizer: Optimizer
    public var data: DataSource?
    public var epochs: Int
    public var split: Split
    public var seed: UInt64
    public var weightInit: WeightInit
    /// The profile's `loss_scaling`; nil: the precision's default (`LossScaling.defaultScaling(for:)`).
    public var lossScaling: LossScaling?

    /// Builds and validates a model; see the type's invariants.
    public init(
        name: String, inputShape: [Int], layers: [LayerSpec], loss: Loss, metrics: [Metric] = [],
        precision: Precision = .single, batchSize: Int = 1, optimizer: Optimizer = Optimizer(kind: .sgd, learningRate: 0.05),
        data: DataSource? = nil, epochs: Int = 1, split: Split = Split(), seed: UInt64 = 42, weightInit: WeightInit = .auto
    ) throws(ModelError) {
        self.name = name
        self.inputShape = inputShape
        var width = 1
        for dimension in inputShape {
            guard dimension >= 0 else { throw .negativeWidth(what: "input", value: dimension) }
            let (product, overflow) = width.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .tooLarge(what: "input shape \(inputShape)") }
            width = product
        }
        self.inputWidth = inputShape.isEmpty ? 0 : width
        self.layers = layers
        self.loss = loss
        self.metrics = metrics
        self.precision = precision
        self.batchSize = batchSize
        self.optimizer = optimizer
        self.data = data
        self.epochs = epochs
        self.split = split
        self.seed = seed
        self.weightInit = weightInit
        try validate()
    }

    /// Builds an MLP from widths `[in, h1, …, out]`: hidden layers use `hiddenActivation`,
    /// the output layer the activation the loss implies (softmax for softmax-ce, sigmoid for
    /// binary-ce, identity otherwise).
    public init(
        name: String, widths: [Int], hiddenActivation: Activation = .relu, loss: Loss,
        precision: Precision = .single, batchSize: Int = 1, optimizer: Optimizer = Optimizer(kind: .sgd, learningRate: 0.05)
    ) throws(ModelError) {
        guard widths.count >= 2 else { throw .noLayers }
        var layers: [LayerSpec] = []
        for index in 1..<widths.count {
            let isOutput = index == widths.count - 1
            layers.append(
                LayerSpec(
                    inputWidth: widths[index - 1], outputWidth: widths[index],
                    activation: isOutput ? loss.impliedOutputActivation : hiddenActivation))
        }
        try self.init(
            name: name, inputShape: [widths[0]], layers: layers, loss: loss, metrics: loss.isClassification ? [.zeroOne] : [],
            precision: precision, batchSize: batchSize, optimizer: optimizer)
    }

    /// Output values per sample (the last layer's width); also the target width.
    public var outputWidth: Int { layers.last?.outputWidth ?? 0 }

    /// Checks the invariants listed on the type.
    public func validate() throws(ModelError) {
        guard !layers.isEmpty else { throw .noLayers }
        guard inputWidth >= 0 else { throw .negativeWidth(what: "input", value: inputWidth) }
        var previous = inputWidth
        for (index, layer) in layers.enumerated() {
            let what = index == layers.count - 1 ? "output layer" : "hidden layer \(index + 1)"
            guard layer.outputWidth >= 1 else {
                throw layer.outputWidth < 0
                    ? .negativeWidth(what: what, value: layer.outputWidth) : .zeroWidth(what: what)
            }
            guard layer.inputWidth == previous else {
                throw .widthMismatch(layer: index + 1, expected: previous, got: layer.inputWidth)
            }
            if index < layers.count - 1, !layer.activation.isAllowedInHiddenLayer {
                throw .softmaxInHiddenLayer(layer: index + 1)
            }
            if index == layers.count - 1, layer.normalization != nil { throw .normOnOutputLayer }
            previous = layer.outputWidth
        }
        let output = layers[layers.count - 1]
        switch loss {
        case .softmaxCrossEntropy:
            guard output.outputWidth >= 2 else { throw .lossNeedsClasses(loss: loss, units: output.outputWidth) }
            guard output.activation == .softmax else {
                throw .lossNeedsActivation(loss: loss, expected: .softmax, got: output.activation)
            }
        case .binaryCrossEntropy:
            guard output.activation == .sigmoid else {
                throw .lossNeedsActivation(loss: loss, expected: .sigmoid, got: output.activation)
            }
        case .l1, .l2, .hinge:
            guard output.activation != .softmax else {
                throw .lossNeedsActivation(loss: loss, expected: loss.impliedOutputActivation, got: .softmax)
            }
        }
        guard batchSize >= 1 else { throw .nonPositive(what: "batch", value: Double(batchSize)) }
        guard epochs >= 1 else { throw .nonPositive(what: "epochs", value: Double(epochs)) }
        guard optimizer.learningRate.isFinite, optimizer.learningRate > 0 else {
            throw .nonPositive(what: "learning rate", value: optimizer.learningRate)
        }
        guard split.validationFraction >= 0, split.validationFraction < 1 else {
            throw .outOfRange(what: "validation fraction", value: split.validationFraction, range: "[0, 1)")
        }
        if let folds = split.folds, folds < 2 {
            throw .outOfRange(what: "folds", value: Double(folds), range: "2 or more")
        }
        guard layers.contains(where: { !$0.isFrozen }) else { throw .nothingTrains }
        try LossScaling.check(lossScaling, precision: precision)
    }

    /// The same model with another precision, batch or optimizer (as the CLI flags override).
    public func with(precision: Precision? = nil, batchSize: Int? = nil, optimizer: OptimizerKind? = nil) throws(ModelError)
        -> Model
    {
        var copy = self
        if let precision { copy.precision = precision }
        if let batchSize { copy.batchSize = batchSize }
        if let optimizer, optimizer != copy.optimizer.kind {
            let rate =
                optimizer.defaultLearningRate == copy.optimizer.kind.defaultLearningRate
                ? copy.optimizer.learningRate : optimizer.defaultLearningRate
            copy.optimizer = Optimizer(kind: optimizer, learningRate: rate)
        }
        try copy.validate()
        return copy
    }
}

extension Loss {
    /// The output activation that belongs with this loss when none is given.
    public var impliedOutputActivation: Activation {
        switch self {
        case .softmaxCrossEntropy: .softmax
        case .binaryCrossEntropy: .sigmoid
        case .l1, .l2, .hinge: .identity
        }
    }
}

/// Why a `Model` cannot be built; the profile parser adds file and line.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    case noLayers
    case negativeWidth(what: String, value: Int)
    case zeroWidth(what: String)
    case widthMismatch(layer: Int, expected: Int, got: Int)
    case softmaxInHiddenLayer(layer: Int)
    case lossNeedsClasses(loss: Loss, units: Int)
    case lossNeedsActivation(loss: Loss, expected: Activation, got: Activation)
    case nonPositive(what: String, value: Double)
    case outOfRange(what: String, value: Double, range: String)
    case tooLarge(what: String)
    case normOnOutputLayer
    /// A transformer whose sizes do not fit together (heads not dividing hidden, …).
    case transformerShape(String)
    /// fp16-mixed with `loss_scaling: none`.
    case fp16WithoutLossScaling
    /// Every layer of an MLP is `frozen: true`.
    case nothingTrains

    public var description: String {
        switch self {
        case .noLayers:
            "the model has no layers; give at least an output layer"
        case .negativeWidth(let what, let value):
            "\(what) width must not be negative, got \(value)"
        case .zeroWidth(let what):
            "\(what) has 0 units; every layer needs at least 1"
        case .widthMismatch(let layer, let expected, let got):
            "layer \(layer) takes \(got) inputs but the layer before it has \(expected) outputs"
        case .softmaxInHiddenLayer(let layer):
            "softmax is only allowed on the output layer, found on hidden layer \(layer); use relu, tanh or sigmoid"
        case .lossNeedsClasses(let loss, let units):
            "\(loss.rawValue) needs at least 2 output units (one per class), the output layer has \(units); "
                + "for one unit use binary-cross-entropy with a sigmoid output"
        case .lossNeedsActivation(let loss, let expected, let got):
            "\(loss.rawValue) needs a \(expected.rawValue) output layer, got \(got.rawValue)"
        case .nonPositive(let what, let value):
            "\(what) must be positive, got \(Self.format(value))"
        case .outOfRange(let what, let value, let range):
            "\(what) must be in \(range), got \(Self.format(value))"
        case .tooLarge(let what):
            "\(what) is too large to count in 64-bit integers"
        case .normOnOutputLayer:
            "norm is an option of hidden layers; the output layer feeds the loss directly"
        case .transformerShape(let problem):
            problem
        case .fp16WithoutLossScaling:
            "precision fp16-mixed needs loss scaling, and loss_scaling is none: \(LossScaling.fp16Hint)"
        case .nothingTrains:
            "every layer is frozen: true, so nothing trains; unfreeze at least one layer"
        }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

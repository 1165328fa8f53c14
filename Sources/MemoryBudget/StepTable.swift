// The flat table of one training step: every tensor (role, shape, element type, category) and every
// op's tensor accesses, declared once by the layer kinds. The budget sums it, the planner turns it
// into buffers with lifetimes, the trainer resolves its tensors by ID, and reports print its rows.

import ModelProfile

/// What a tensor holds; budgets and reports group bytes by it.
public enum BufferCategory: String, CaseIterable, Sendable, Codable, Hashable {
    case parameters
    case gradients
    case optimizer
    /// The batch's features x and targets y.
    case inputs
    /// What the forward pass keeps for the backward pass: layer outputs a_l (and, after the loss, dz_L
    /// in place of a_L), layer norm's normalised values and inverse deviations.
    case activations
    /// Backward deltas dz_l = ∂L/∂z_l of hidden layers.
    case deltas
    /// Short-lived working memory of one op (the fused SGD backward's partial deltas when it is split).
    case scratch
    /// Activations formed again in the backward pass (gradient checkpointing): they live from their recompute op to
    /// their last backward reader, while the forward pass's copy dies after its last forward reader.
    case recomputed
    /// The dataset decoded once, and the shuffle order (training runs only).
    case data
    /// Keys and values of the tokens generated so far (`DecodeTable`, text generation only).
    case kvCache = "kv_cache"
    /// The fp32 copy of the weights a mixed-precision recipe updates (the stored parameters are its 2-byte copy).
    case masterParameters = "master_parameters"
    /// What exchanging gradients and parameters between devices needs: ring chunks, a gradient bucket, a gather
    /// buffer (a rank's plan under `--devices N --strategy S`).
    case communication
}

/// How a tensor's elements are stored.
public enum ElementType: Sendable, Hashable, CustomStringConvertible {
    /// A floating-point element of this precision.
    case float(Precision)
    /// One byte (image pixels as the files hold them).
    case byte
    /// A 32-bit integer (sample indices).
    case int32

    public var byteCount: Int {
        switch self {
        case .float(let precision): precision.byteCount
        case .byte: 1
        case .int32: 4
        }
    }

    public var description: String {
        switch self {
        case .float(let precision): precision.computePrecision.shortName
        case .byte: "u8"
        case .int32: "i32"
        }
    }
}

/// Which version of a tensor: the value itself, its gradient ∂L/∂value, the optimizer's i-th
/// state tensor for it (momentum's v; Adam's m then v), or the value formed again by a recompute op.
public enum TensorDerivative: Hashable, Sendable {
    case value
    case gradient
    case state(Int)
    /// The same value recomputed in the backward pass (gradient checkpointing); a buffer of its own.
    case recomputed
    /// The fp32 master copy of a parameter (mixed-precision recipes).
    case master
}

/// A tensor's identity within one step, typed by the kind that declares it: the layer (1-based; 0 for
/// the step's own tensors such as the batch), the kind's role enum (stored as its raw value), and
/// which derivative. Two IDs are equal when all three are; a layer has one kind, so roles of
/// different kinds never meet in the same layer.
///
///     let w = TensorID(layer: 2, DenseTensor.weight)
///     w.gradient     // dW2
///     w.state(0)     // Adam's m for W2
public struct TensorID: Hashable, Sendable, CustomStringConvertible {
    public let layer: Int
    public let role: UInt16
    public let derivative: TensorDerivative

    public init<Role: RawRepresentable<UInt16>>(layer: Int, _ role: Role, derivative: TensorDerivative = .value) {
        self.layer = layer
        self.role = role.rawValue
        self.derivative = derivative
    }

    /// The step's own tensors (layer 0).
    public init(_ role: StepTensor) {
        self.init(layer: 0, role)
    }

    init(layer: Int, role: UInt16, derivative: TensorDerivative) {
        self.layer = layer
        self.role = role
        self.derivative = derivative
    }

    /// ∂L/∂ this tensor.
    public var gradient: TensorID { TensorID(layer: layer, role: role, derivative: .gradient) }

    /// The optimizer's state tensor `index` for this parameter.
    public func state(_ index: Int) -> TensorID { TensorID(layer: layer, role: role, derivative: .state(index)) }

    /// This activation as a recompute op forms it again in the backward pass.
    public var recomputed: TensorID { TensorID(layer: layer, role: role, derivative: .recomputed) }

    /// This parameter's fp32 master copy (mixed-precision recipes).
    public var master: TensorID { TensorID(layer: layer, role: role, derivative: .master) }

    public var description: String { "layer \(layer) role \(role) \(derivative)" }
}

/// The step's own tensors: the batch, and the dataset a training run keeps in the arena.
public enum StepTensor: UInt16, CaseIterable, Sendable {
    /// x (B, I₀)
    case features
    /// y (B, K)
    case targets
    /// (N, I₀) features of the training set; bytes or elements of the model's precision
    case trainFeatures
    /// (N, K)
    case trainTargets
    /// (M, I₀)
    case testFeatures
    /// (M, K)
    case testTargets
    /// (N) Int32: the shuffle order; its tail is the validation set
    case order
    /// (N) bytes: a transformer's training text, one byte-level token per byte
    case trainText
    /// (M) bytes: the held-out text
    case validationText
    /// (P, bytes/2) bf16: each part's packing workspace for the bf16-mixed products (`TransformerModel.bf16PackingBytes`)
    case packing

    /// The name reports print.
    public var name: String {
        switch self {
        case .features: "x"
        case .targets: "y"
        case .trainFeatures: "train.x"
        case .trainTargets: "train.y"
        case .testFeatures: "test.x"
        case .testTargets: "test.y"
        case .order: "order"
        case .trainText: "train.text"
        case .validationText: "validation.text"
        case .packing: "bf16.packing"
        }
    }
}

/// One tensor of the step.
public struct TensorSpec: Sendable, Hashable {
    public var id: TensorID
    /// The name reports print and the plan's JSON carries (`W1`, `a2`, `mW3`, …).
    public var name: String
    /// Dimensions, outermost first (e.g. (B, O) for a layer output).
    public var shape: [Int]
    public var elementType: ElementType
    public var category: BufferCategory
    /// Lives across steps (parameters, optimizer state, the dataset): live at every op.
    public var isPersistent: Bool
    /// Π shape (checked when the table is built).
    public var elementCount: Int
    /// elementCount · elementType.byteCount (checked).
    public var byteCount: Int
    /// A parameter the step does not train (a base weight under LoRA): it has no gradient, master copy or optimizer
    /// state, and the update does not touch it.
    public var isFrozen = false
}

/// One op of a training step.
public enum StepOp: Sendable, Hashable, CustomStringConvertible {
    /// Copy the batch's features into `x` and targets into `y`.
    case load
    /// Forward through layer `k` (1-based).
    case forward(layer: Int)
    /// The loss of the last layer's output against `y`; writes ∂L/∂z_L in place of the output.
    case loss
    /// Backward through layer `k`: its parameters' gradients and, for k > 1, the delta of layer k − 1.
    case backward(layer: Int)
    /// Backward through layer `k` with plain SGD's update fused in: each parameter is updated as its
    /// gradient is formed, which is never stored (`OptimizerKind.canFuseIntoBackward`).
    case backwardUpdate(layer: Int)
    /// The optimizer step on every parameter.
    case update
    /// Sub-op `part` of layer `k`'s forward pass (a transformer block runs its norm, projections, attention and
    /// feed-forward network as separate ops, so the planner sees each tensor's real lifetime).
    case forwardPart(layer: Int, part: Int)
    /// Sub-op `part` of layer `k`'s backward pass.
    case backwardPart(layer: Int, part: Int)
    /// Sub-op `part` of layer `k`'s forward pass run again in the backward pass, for activations that were not kept
    /// (gradient checkpointing).
    case recomputePart(layer: Int, part: Int)

    public var description: String {
        switch self {
        case .load: "load"
        case .forward(let layer): "fwd\(layer)"
        case .loss: "loss"
        case .backward(let layer): "bwd\(layer)"
        case .backwardUpdate(let layer): "bwd\(layer)+sgd"
        case .update: "update"
        case .forwardPart(let layer, let part): "fwd\(layer).\(part)"
        case .backwardPart(let layer, let part): "bwd\(layer).\(part)"
        case .recomputePart(let layer, let part): "re\(layer).\(part)"
        }
    }
}

/// An op and the tensors it reads and writes. Lifetimes are derived from these: a tensor that is not
/// persistent lives from the first op that touches it to the last.
public struct OpAccess: Sendable, Hashable {
    public var op: StepOp
    public var reads: [TensorID]
    public var writes: [TensorID]
    /// What reports call the op (`h3.qkv`, `bwd h3.attn`); the op's own description when nil.
    public var label: String?

    public init(_ op: StepOp, reads: [TensorID] = [], writes: [TensorID] = [], label: String? = nil) {
        self.op = op
        self.reads = reads
        self.writes = writes
        self.label = label
    }

    /// The op's name in plans and reports.
    public var name: String { label ?? op.description }

    /// Every tensor the op touches.
    public var touched: [TensorID] { reads + writes }
}

/// How a step is carried out, beyond the model: these change which tensors exist.
public struct StepOptions: Sendable, Hashable {
    /// Parts each op is split into (threads). With a fused SGD update split by outputs, parts 1 … P − 1
    /// stage their partial deltas in a scratch buffer of (P − 1)·I elements.
    public var parts: Int
    /// Fuse the update into the backward pass when the optimizer can (`OptimizerKind.canFuseIntoBackward`):
    /// no gradient is stored and there is no update op. Off: gradients are stored and `update` runs.
    public var fusesUpdate: Bool
    /// Plan the packing workspace of this CPU's AMX bf16 products (`StepTensor.packing`) for a bf16-mixed transformer:
    /// a run on a CPU with AMX does (`TransformerSession`); an estimate for other hardware does not need it.
    public var plansPacking: Bool

    public init(parts: Int = 1, fusesUpdate: Bool = true, plansPacking: Bool = false) {
        self.parts = max(1, parts)
        self.fusesUpdate = fusesUpdate
        self.plansPacking = plansPacking
    }
}

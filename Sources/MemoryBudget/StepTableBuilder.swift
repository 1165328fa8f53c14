// Builds a model's step table from its layer kinds: the one place tensors and op accesses are assembled.

import ModelProfile

/// How a dataset's features are kept in the arena.
public enum FeatureStorage: String, Sendable, Hashable, Codable {
    /// One element of the model's precision per feature (generated and CSV data).
    case precision
    /// One byte per feature, as image files store pixels (0–255); each batch's rows are scaled to the
    /// model's precision as they are gathered into `x`. A quarter of fp32's bytes, an eighth of fp64's.
    case byte
}

/// Sizes of the data a training run keeps in the arena (the dataset decoded once).
public struct DataShape: Sendable, Hashable, Codable {
    /// Samples available for training and validation (the validation part is a slice of them).
    public var trainCount: Int
    /// Samples of the untouched test set.
    public var testCount: Int
    /// Bytes per stored feature follow from this: 1 for `.byte`, the precision's size for `.precision`.
    public var featureStorage: FeatureStorage

    public init(trainCount: Int, testCount: Int, featureStorage: FeatureStorage = .precision) {
        self.trainCount = trainCount
        self.testCount = testCount
        self.featureStorage = featureStorage
    }

    enum CodingKeys: String, CodingKey { case trainCount, testCount, featureStorage }

    /// Decodes shapes written before `featureStorage` existed as `.precision`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        trainCount = try container.decode(Int.self, forKey: .trainCount)
        testCount = try container.decode(Int.self, forKey: .testCount)
        featureStorage = try container.decodeIfPresent(FeatureStorage.self, forKey: .featureStorage) ?? .precision
    }

    /// How one stored feature is kept at `precision`: bytes stay bytes; a mixed recipe keeps the decoded dataset at
    /// its master precision (fp32), and each batch is rounded into the 2-byte x and y.
    public func featureElementType(at precision: Precision) -> ElementType {
        featureStorage == .byte ? .byte : .float(Self.dataPrecision(precision))
    }

    /// The element type of the decoded dataset's values at `precision`: the master precision of a mixed recipe, else
    /// `precision` itself.
    public static func dataPrecision(_ precision: Precision) -> Precision { precision.masterPrecision ?? precision }
}

/// What a layer kind needs to know about its place in the step.
struct LayerContext {
    /// 1-based.
    var layer: Int
    var layerCount: Int
    var batchSize: Int
    var precision: Precision
    var optimizer: Optimizer
    var options: StepOptions
    /// The update is fused into the backward pass (the optimizer can fuse and the options ask for it).
    var fusesUpdate: Bool
}

/// Collects tensor specs with checked sizes.
struct TableBuilder {
    let checked: Checked
    let optimizer: OptimizerKind
    let fusesUpdate: Bool
    var tensors: [TensorSpec] = []

    /// A tensor of `shape` (checked product).
    mutating func add(
        _ id: TensorID, name: String, shape: [Int], elementType: ElementType, category: BufferCategory, isPersistent: Bool = false
    ) throws(BudgetError) {
        var elements = 1
        for dimension in shape { elements = try checked.multiply(elements, dimension, what: "buffer \(name)") }
        let bytes = try checked.multiply(elements, elementType.byteCount, what: "buffer \(name)")
        tensors.append(
            TensorSpec(
                id: id, name: name, shape: shape, elementType: elementType, category: category, isPersistent: isPersistent,
                elementCount: elements, byteCount: bytes))
    }

    /// A parameter, its gradient (unless the update is fused) and the optimizer's state tensors for it; in a
    /// mixed-precision recipe also its fp32 master copy, and the state in fp32. A frozen parameter (`trains` false)
    /// is the stored tensor alone.
    mutating func parameter(
        _ id: TensorID, name: String, shape: [Int], elementType: ElementType, trains: Bool = true
    ) throws(BudgetError) {
        try add(id, name: name, shape: shape, elementType: elementType, category: .parameters, isPersistent: true)
        guard trains else {
            tensors[tensors.count - 1].isFrozen = true
            return
        }
        if !fusesUpdate { try add(id.gradient, name: "d" + name, shape: shape, elementType: elementType, category: .gradients) }
        var stateType = elementType
        if case .float(let precision) = elementType, let master = precision.masterPrecision {
            try add(
                id.master, name: "master." + name, shape: shape, elementType: .float(master), category: .masterParameters,
                isPersistent: true)
            stateType = .float(precision.optimizerPrecision)
        }
        for (index, state) in optimizer.stateNames.enumerated() {
            try add(
                id.state(index), name: state + name, shape: shape, elementType: stateType, category: .optimizer,
                isPersistent: true)
        }
    }
}

/// Every tensor of one training step and every op's accesses, in op order.
///
/// Ops for an L-layer model: `load`, `fwd 1` … `fwd L`, `loss`, then `bwd L` … `bwd 1` and `update`;
/// with plain SGD (fused) `bwd k+sgd` … and no `update`. A tensor's lifetime follows from the accesses:
/// persistent tensors (parameters, optimizer state, data) live at every op, the others from the first op
/// that touches them to the last (`StepProgram` in ArenaPlanner computes them).
public struct StepTable: Sendable {
    /// The network the table is of.
    public let network: Network
    public let options: StepOptions
    public let data: DataShape?
    public let tensors: [TensorSpec]
    public let ops: [OpAccess]
    /// Whether plain SGD's update runs inside the backward ops (no gradients stored, no update op).
    public let fusesUpdate: Bool
    /// The parameter tensors that train, in update order (layer by layer); frozen ones (`TensorSpec.isFrozen`) are
    /// left out.
    public let parameterIDs: [TensorID]
    private let indexByID: [TensorID: Int]

    /// The dense network (`network` is `.mlp`); a programmer error for a transformer's table.
    public var model: Model {
        guard case .mlp(let model) = network else { preconditionFailure("StepTable.model: this is a transformer's table") }
        return model
    }

    /// The transformer (`network` is `.transformer`), or nil.
    public var transformer: TransformerModel? {
        if case .transformer(let model) = network { return model }
        return nil
    }

    /// - Throws: `BudgetError.overflow` when a tensor's bytes exceed `Int.max`.
    public init(model: Model, options: StepOptions = StepOptions(), data: DataShape? = nil) throws(BudgetError) {
        network = .mlp(model)
        self.options = options
        self.data = data
        let fuses = options.fusesUpdate && model.optimizer.kind.canFuseIntoBackward
        fusesUpdate = fuses
        var builder = TableBuilder(checked: Checked(context: model.name), optimizer: model.optimizer.kind, fusesUpdate: fuses)
        let element = ElementType.float(model.precision)
        let batch = model.batchSize
        let layers = model.layers.enumerated().map { offset, spec in
            DenseKind(
                spec: spec,
                context: LayerContext(
                    layer: offset + 1, layerCount: model.layers.count, batchSize: batch, precision: model.precision,
                    optimizer: model.optimizer, options: options, fusesUpdate: fuses))
        }
        for layer in layers { try layer.tensors(&builder) }
        try builder.add(
            TensorID(.features), name: "x", shape: [batch, model.inputWidth], elementType: element, category: .inputs)
        try builder.add(
            TensorID(.targets), name: "y", shape: [batch, model.outputWidth], elementType: element, category: .inputs)
        var loadReads: [TensorID] = []
        if let data {
            let features = data.featureElementType(at: model.precision)
            // (role, rows, columns, element type): the dataset decoded once, then the shuffle order.
            let buffers: [(StepTensor, Int, Int, ElementType)] = [
                (.trainFeatures, data.trainCount, model.inputWidth, features),
                (.trainTargets, data.trainCount, model.outputWidth, .float(DataShape.dataPrecision(model.precision))),
                (.testFeatures, data.testCount, model.inputWidth, features),
                (.testTargets, data.testCount, model.outputWidth, .float(DataShape.dataPrecision(model.precision))),
                (.order, data.trainCount, 1, .int32),
            ]
            for (role, rows, columns, type) in buffers {
                let shape = role == .order ? [rows] : [rows, columns]
                try builder.add(
                    TensorID(role), name: role.name, shape: shape, elementType: type, category: .data, isPersistent: true)
            }
            loadReads = [TensorID(.trainFeatures), TensorID(.trainTargets), TensorID(.order)]
        }
        tensors = builder.tensors

        var ops = [OpAccess(.load, reads: loadReads, writes: [TensorID(.features), TensorID(.targets)])]
        ops += layers.map(\.forward)
        let output = TensorID(layer: layers.count, DenseTensor.output)
        ops.append(OpAccess(.loss, reads: [output, TensorID(.targets)], writes: [output]))
        ops += layers.reversed().map(\.backward)
        parameterIDs = layers.flatMap(\.parameterIDs)
        if !fuses {
            let states = model.optimizer.kind.stateNames.indices
            ops.append(
                OpAccess(
                    .update, reads: parameterIDs.flatMap { id in [id, id.gradient] + states.map { id.state($0) } },
                    writes: parameterIDs.flatMap { id in [id] + states.map { id.state($0) } }))
        }
        self.ops = ops
        indexByID = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.id, $0) })
    }

    /// A transformer's step: every tensor its embedding, blocks and head declare, and their sub-ops in order
    /// (`TransformerKinds`); the update is never fused. `textBytes` sizes the training and validation text kept in the
    /// arena (nil: the step alone).
    ///
    /// - Throws: `BudgetError.overflow` when a tensor's bytes exceed `Int.max`.
    public init(
        transformer model: TransformerModel, options: StepOptions = StepOptions(), textBytes: (train: Int, validation: Int)? = nil
    )
        throws(BudgetError)
    {
        network = .transformer(model)
        self.options = options
        data = textBytes.map { DataShape(trainCount: $0.train, testCount: $0.validation, featureStorage: .byte) }
        fusesUpdate = false
        var builder = TableBuilder(checked: Checked(context: model.name), optimizer: model.optimizer.kind, fusesUpdate: false)
        let kinds = TransformerKinds(model: model, options: options)
        try kinds.tensors(&builder)
        if model.precision == .bf16Mixed && options.plansPacking {
            // Each part's packing slice, live for the whole step (no op lists it: CGEMM uses it inside the products).
            let perPart = try model.bf16PackingBytes(builder.checked) / 2
            try builder.add(
                TensorID(.packing), name: StepTensor.packing.name, shape: [options.parts, perPart],
                elementType: .float(.bf16Mixed), category: .scratch, isPersistent: true)
        }
        let tokens = [model.batchSize, model.sequenceLength]
        try builder.add(TensorID(.features), name: "tokens", shape: tokens, elementType: .int32, category: .inputs)
        try builder.add(TensorID(.targets), name: "targets", shape: tokens, elementType: .int32, category: .inputs)
        if let textBytes {
            try builder.add(
                TensorID(.trainText), name: StepTensor.trainText.name, shape: [textBytes.train], elementType: .byte,
                category: .data,
                isPersistent: true)
            try builder.add(
                TensorID(.validationText), name: StepTensor.validationText.name, shape: [textBytes.validation],
                elementType: .byte, category: .data, isPersistent: true)
            // The training windows (T + 1 tokens every T), shuffled each epoch.
            try builder.add(
                TensorID(.order), name: "order", shape: [Self.windowCount(textBytes.train, sequence: model.sequenceLength)],
                elementType: .int32, category: .data, isPersistent: true)
        }
        tensors = builder.tensors
        parameterIDs = tensors.filter { $0.category == .parameters && !$0.isFrozen }.map(\.id)
        var ops = kinds.ops(fusedUpdate: false, parameterIDs: parameterIDs, states: model.optimizer.kind.stateTensorsPerParameter)
        if textBytes == nil { ops[0].reads = [] }  // the step alone: the batch comes from outside the arena
        self.ops = ops
        indexByID = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.id, $0) })
    }

    /// Windows of T + 1 tokens, starting every T tokens, in `count` bytes of text.
    public static func windowCount(_ count: Int, sequence: Int) -> Int { max(0, (count - 1) / max(sequence, 1)) }

    /// The network's name, precision, batch and optimizer, whichever kind it is.
    public var name: String { network.name }
    public var precision: Precision { network.precision }
    public var batchSize: Int { network.batchSize }
    public var optimizerKind: OptimizerKind { network.optimizer.kind }

    /// The tensor with this ID, if the step has it.
    public func spec(_ id: TensorID) -> TensorSpec? { indexByID[id].map { tensors[$0] } }

    /// Tensors of layer `k` (1-based), in declaration order.
    public func tensors(ofLayer k: Int) -> [TensorSpec] { tensors.filter { $0.id.layer == k } }

    /// Bytes of one category, summed.
    public func bytes(of category: BufferCategory) throws(BudgetError) -> Int {
        try Checked(context: name).sum(
            tensors.filter { $0.category == category }.map(\.byteCount), what: "the \(category.rawValue) bytes")
    }
}

/// The networks a step table can be of.
public enum Network: Sendable, Hashable {
    case mlp(Model)
    case transformer(TransformerModel)

    /// The network's model, whatever its kind.
    public var trained: any TrainableNetwork {
        switch self {
        case .mlp(let model): model
        case .transformer(let model): model
        }
    }

    public var name: String { trained.name }
    public var precision: Precision { trained.precision }
    public var batchSize: Int { trained.batchSize }
    public var optimizer: Optimizer { trained.optimizer }
    public var epochs: Int { trained.epochs }
    public var seed: UInt64 { trained.seed }
    /// The loss scaling the step uses: the profile's `loss_scaling`, or the precision's default.
    public var lossScaling: LossScaling { trained.effectiveLossScaling }

    public var isTransformer: Bool {
        if case .transformer = self { true } else { false }
    }

    /// The loss's name: the MLP's, or a transformer's next-token cross-entropy.
    public var lossName: String {
        switch self {
        case .mlp(let model): model.loss.rawValue
        case .transformer: "softmax-cross-entropy"
        }
    }
}

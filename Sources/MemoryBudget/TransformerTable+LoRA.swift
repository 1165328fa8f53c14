// LoRA adapters in a transformer's step table: frozen base weights, and per adapted projection two small matrices
// that train, their rank-r intermediate kept for the backward pass and its delta.

import ModelProfile

/// One of an adapter's tensors in block k, for target t: the role is 0x100 + 4·t + piece, clear of `BlockTensor`'s.
struct AdapterRole: RawRepresentable, Hashable {
    /// A (r, d_in): the down-projection.
    static let down: UInt16 = 0
    /// B (d_out, r): the up-projection (zero-initialised, so training starts from the base model).
    static let up: UInt16 = 1
    /// u (B, T, r) = x·Aᵀ: the rank-r intermediate, kept for the backward pass's dB = dyᵀ·u.
    static let intermediate: UInt16 = 2
    /// ∂u (B, T, r) = dy·B: the backward transient that forms dA = ∂uᵀ·x and adds ∂u·A to dx.
    static let delta: UInt16 = 3

    static let first: UInt16 = 0x100
    let rawValue: UInt16

    init(rawValue: UInt16) { self.rawValue = rawValue }

    init(_ target: LoRATarget, _ piece: UInt16) {
        rawValue = Self.first + 4 * UInt16(LoRATarget.allCases.firstIndex(of: target)!) + piece
    }
}

extension TransformerKinds {
    /// Whether the base weights (embeddings, norms, projections, head) train: all of them, unless LoRA freezes them.
    var trainsBase: Bool { model.lora == nil }

    /// The block sub-op that applies a target's matrix: q, k, v in `qkv`, o in `proj`, gate and up in `fc`, down in
    /// `fcproj`.
    static func part(of target: LoRATarget) -> BlockPart {
        switch target {
        case .q, .k, .v: .qkv
        case .o: .projection
        case .gate, .up: .fc
        case .down: .fcProjection
        }
    }

    /// The adapted targets that sub-op `part` applies.
    func targets(at part: BlockPart) -> [LoRATarget] {
        model.lora?.targets.filter { Self.part(of: $0) == part } ?? []
    }

    func adapter(_ k: Int, _ target: LoRATarget, _ piece: UInt16) -> TensorID {
        TensorID(layer: k, AdapterRole(target, piece))
    }

    /// The gradients of those of `ids` that train (frozen parameters have none).
    func gradients(_ ids: [TensorID]) -> [TensorID] {
        ids.filter { trainsBase || $0.role >= AdapterRole.first }.map(\.gradient)
    }

    /// Block k's adapters. Per adapted W (d_out, d_in), with rank r, batch B, sequence T:
    /// - A (r, d_in) and B (d_out, r): parameters that train — r·(d_in + d_out) elements, each with a gradient,
    ///   the optimizer's state and, in a mixed recipe, an fp32 master copy;
    /// - u = x·Aᵀ (B, T, r): an activation, kept from the forward sub-op to the backward one (dB = dyᵀ·u);
    /// - ∂u = dy·B (B, T, r): a delta, live in the backward sub-op only.
    /// The adapter's output u·Bᵀ is added into the base projection's output in place and is not a tensor of its own;
    /// x is the projection's input, already kept for the base weight. So LoRA adds 2·B·T·r elements per adapted
    /// projection beyond its parameters' state.
    func adapterTensors(_ k: Int, _ table: inout TableBuilder) throws(BudgetError) {
        guard let lora = model.lora else { return }
        let (b, t, r) = (model.batchSize, model.sequenceLength, lora.rank)
        let float = ElementType.float(model.precision)
        let h = "h\(k - 1).lora_"
        for target in lora.targets {
            guard let (inputs, outputs) = target.dimensions(in: spec) else { continue }
            let name = h + target.rawValue
            try table.parameter(adapter(k, target, AdapterRole.down), name: name + "A", shape: [r, inputs], elementType: float)
            try table.parameter(adapter(k, target, AdapterRole.up), name: name + "B", shape: [outputs, r], elementType: float)
            try table.add(
                adapter(k, target, AdapterRole.intermediate), name: name, shape: [b, t, r], elementType: float,
                category: .activations)
            try table.add(
                adapter(k, target, AdapterRole.delta), name: "d" + name, shape: [b, t, r], elementType: float,
                category: .deltas)
        }
    }

    /// A and B of each target sub-op `part` applies (read forward and backward; their gradients written backward).
    func adapterParameters(_ k: Int, _ part: BlockPart) -> [TensorID] {
        targets(at: part).flatMap { [adapter(k, $0, AdapterRole.down), adapter(k, $0, AdapterRole.up)] }
    }

    /// The intermediates u the sub-op writes forward and reads backward.
    func adapterIntermediates(_ k: Int, _ part: BlockPart) -> [TensorID] {
        targets(at: part).map { adapter(k, $0, AdapterRole.intermediate) }
    }

    /// The deltas ∂u the backward sub-op writes.
    func adapterDeltas(_ k: Int, _ part: BlockPart) -> [TensorID] {
        targets(at: part).map { adapter(k, $0, AdapterRole.delta) }
    }
}

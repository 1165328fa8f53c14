// The dense layer kind's tensors and op accesses: a = f(x·Wᵀ + b), or with layer norm a = γ ⊙ x̂ + β, x̂ = LN(f(z)).

import ModelProfile

/// The tensors of one dense layer. Shapes: B batch, I input width, O output width, P parts.
public enum DenseTensor: UInt16, CaseIterable, Sendable {
    /// W (O, I)
    case weight
    /// b (O); absent without bias
    case bias
    /// a (B, O) = f(z), or γ ⊙ x̂ + β with layer norm: the layer's output, kept for the next layer's backward (its input for dW and f′)
    case output
    /// dz (B, O) = ∂L/∂z (with layer norm ∂L/∂a, which the layer's backward turns into ∂L/∂z in place), written by the next layer's backward; hidden layers only
    /// (the last layer's is its output, overwritten by the loss)
    case delta
    /// ((P − 1)·I): partial sums of dz_{k−1} from parts 1 … P − 1 of a fused SGD backward split by outputs
    case staging
    /// γ (O): layer norm's gain, initialised to 1
    case gain
    /// β (O): layer norm's shift, initialised to 0
    case shift
    /// x̂ (B, O) = (h − μ)·r per row, h = f(z): the normalised activations, kept for layer norm's backward
    case normalized
    /// r (B) = 1/√(σ² + ε) per row, kept for layer norm's backward
    case inverseDeviation
    /// μ (B): the row means, kept so the backward recovers h = x̂/r + μ for f′(h)
    case mean
}

/// Declares a dense layer's tensors and the accesses of its forward and backward ops.
///
/// Forward k reads its input (x, or a_{k−1}) and parameters, and writes a_k (and, with layer norm, x̂_k and r_k).
/// Backward k reads dz_k (a_L for the last layer, holding ∂L/∂z_L after the loss), its input (for
/// dW = dzᵀ·input and for f′ of layer k − 1, computed from its output) and W (for dz_{k−1} = dz·W), with layer
/// norm also x̂, r, μ and γ (turning ∂L/∂a into ∂L/∂z in place); it writes the gradients (or, fused, the parameters
/// themselves) and dz_{k−1}. Fused, layer norm's dγ and dβ still live for the op: γ and β are updated at its end.
struct DenseKind {
    let spec: LayerSpec
    let context: LayerContext

    var k: Int { context.layer }
    var isLast: Bool { context.layer == context.layerCount }
    func id(_ role: DenseTensor) -> TensorID { TensorID(layer: k, role) }

    /// The input: x for layer 1, else the previous layer's output.
    var input: TensorID { k == 1 ? TensorID(.features) : TensorID(layer: k - 1, DenseTensor.output) }
    /// Where ∂L/∂(this layer's pre-activation) arrives.
    var delta: TensorID { isLast ? id(.output) : id(.delta) }

    /// Parameter roles present in this layer.
    var parameters: [DenseTensor] {
        var roles: [DenseTensor] = [.weight]
        if spec.hasBias { roles.append(.bias) }
        if spec.normalization != nil { roles += [.gain, .shift] }
        return roles
    }

    func tensors(_ table: inout TableBuilder) throws(BudgetError) {
        let (b, i, o) = (context.batchSize, spec.inputWidth, spec.outputWidth)
        let element = ElementType.float(context.precision)
        for role in parameters {
            let (name, shape): (String, [Int]) =
                switch role {
                case .weight: ("W\(k)", [o, i])
                case .bias: ("b\(k)", [o])
                case .gain: ("lnw\(k)", [o])
                default: ("lnb\(k)", [o])
                }
            try table.parameter(id(role), name: name, shape: shape, elementType: element, trains: !spec.isFrozen)
            if fusesUpdate, role == .gain || role == .shift {
                try table.add(id(role).gradient, name: "d" + name, shape: shape, elementType: element, category: .gradients)
            }
        }
        try table.add(id(.output), name: "a\(k)", shape: [b, o], elementType: element, category: .activations)
        if !isLast { try table.add(id(.delta), name: "dz\(k)", shape: [b, o], elementType: element, category: .deltas) }
        if spec.normalization != nil {
            try table.add(id(.normalized), name: "xhat\(k)", shape: [b, o], elementType: element, category: .activations)
            try table.add(id(.inverseDeviation), name: "rstd\(k)", shape: [b], elementType: element, category: .activations)
            try table.add(id(.mean), name: "mean\(k)", shape: [b], elementType: element, category: .activations)
        }
        if hasStaging {
            try table.add(
                id(.staging), name: "stage\(k)", shape: [context.options.parts - 1, i], elementType: element, category: .scratch)
        }
    }

    /// Whether a fused backward split over parts stages partial deltas: not in the bf16-mixed step, whose delta
    /// product runs before the update, split by batch rows.
    var hasStaging: Bool { fusesUpdate && context.options.parts > 1 && k > 1 && context.precision != .bf16Mixed }

    /// Whether this layer's update runs inside its backward op: the step fuses, and the layer trains (a frozen layer's
    /// backward only hands the delta on).
    var fusesUpdate: Bool { context.fusesUpdate && !spec.isFrozen }

    var forward: OpAccess {
        let reads = [input] + parameters.map(id)
        var writes = [id(.output)]
        if spec.normalization != nil { writes += [id(.normalized), id(.inverseDeviation), id(.mean)] }
        return OpAccess(.forward(layer: k), reads: unique(reads), writes: writes)
    }

    var backward: OpAccess {
        var reads = [delta, input, id(.weight)]
        var writes: [TensorID] = []
        if spec.normalization != nil {
            reads += [id(.normalized), id(.inverseDeviation), id(.mean), id(.gain)]
            writes.append(delta)  // ∂L/∂a becomes ∂L/∂z in place
            if fusesUpdate { writes += [id(.gain).gradient, id(.shift).gradient] }
        }
        if k > 1 { writes.append(TensorID(layer: k - 1, DenseTensor.delta)) }
        if fusesUpdate {
            reads += parameters.map(id)
            writes += parameters.map(id)
            if hasStaging { writes.append(id(.staging)) }
            return OpAccess(.backwardUpdate(layer: k), reads: unique(reads), writes: unique(writes))
        }
        writes += parameterIDs.map(\.gradient)
        return OpAccess(.backward(layer: k), reads: unique(reads), writes: unique(writes))
    }

    /// The IDs of the parameters that train, for the update op: none for a frozen layer.
    var parameterIDs: [TensorID] { spec.isFrozen ? [] : parameters.map(id) }
}

/// `values` without repeats, in first-seen order.
func unique(_ values: [TensorID]) -> [TensorID] {
    var seen = Set<TensorID>()
    return values.filter { seen.insert($0).inserted }
}

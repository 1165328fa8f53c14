// What a budget trains: every parameter, or (LoRA) the adapters alone.

extension Budget {
    /// Elements of the frozen parameters (`TensorSpec.isFrozen`: a LoRA model's base weights): counted in
    /// `parameterCount` and `parameterByteCount` at the stored precision, with no gradient, master copy or optimizer
    /// state. 0 in bound mode and for a model that trains every weight.
    public var frozenParameterCount: Int {
        var total = 0
        for index in tensors.indices where tensors[index].isFrozen { total += tensors[index].elementCount }
        return total
    }

    /// The parameters that train: `parameterCount` minus the frozen ones (LoRA r = 8 on q and v of Llama-2 7B:
    /// 4,194,304).
    public var trainableParameterCount: Int { parameterCount - frozenParameterCount }
}

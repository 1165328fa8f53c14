// The optimizers' update rules, one function per kind (their state and hyper-parameters are declared once in
// ModelProfile's `OptimizerKind`). θ, g and each state tensor are (count) slices of one parameter tensor.

import ModelProfile

/// One step's update rule with its hyper-parameters in T, and Adam's bias corrections for this step.
struct OptimizerRule<T: TrainingScalar> {
    let kind: OptimizerKind
    let learningRate: T
    let momentum: T
    let beta1: T
    let beta2: T
    let epsilon: T
    /// 1 − η·λ: AdamW's decay factor.
    let decay: T
    /// ρ: RMSprop's decay.
    let rho: T
    /// 1 − β₁ᵗ and 1 − β₂ᵗ at step t (Adam).
    let correction1: T
    let correction2: T

    /// The rule of `optimizer` at step `step` (1-based).
    init(_ optimizer: Optimizer, step: Int) {
        kind = optimizer.kind
        learningRate = T(optimizer.learningRate)
        momentum = T(optimizer.momentum)
        beta1 = T(optimizer.beta1)
        beta2 = T(optimizer.beta2)
        epsilon = T(optimizer.epsilon)
        decay = T(1 - optimizer.learningRate * optimizer.weightDecay)
        rho = T(optimizer.rho)
        correction1 = T(1 - pow(optimizer.beta1, Double(step)))
        correction2 = T(1 - pow(optimizer.beta2, Double(step)))
    }

    /// Updates θ from g and the kind's state tensors (`OptimizerKind.stateNames` order), elements `range`.
    @inline(__always)
    func apply(
        _ parameters: UnsafeMutablePointer<T>, gradient: UnsafePointer<T>, states: [UnsafeMutablePointer<T>], range: Range<Int>
    ) {
        let (p, g, count) = (parameters + range.lowerBound, gradient + range.lowerBound, range.count)
        switch kind {
        case .sgd: Self.sgd(p, gradient: g, count: count, learningRate: learningRate)
        case .momentum:
            Self.momentum(
                p, gradient: g, velocity: states[0] + range.lowerBound, count: count, learningRate: learningRate,
                momentum: momentum)
        case .rmsprop:
            Self.rmsprop(
                p, gradient: g, square: states[0] + range.lowerBound, count: count, learningRate: learningRate, rho: rho,
                epsilon: epsilon)
        case .adam, .adamw:
            if kind == .adamw { Self.decay(p, count: count, factor: decay) }
            Self.adam(
                p, gradient: g, first: states[0] + range.lowerBound, second: states[1] + range.lowerBound, count: count,
                learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, correction1: correction1,
                correction2: correction2)
        }
    }

    /// θ −= η·g.
    @inline(__always)
    static func sgd(_ parameters: UnsafeMutablePointer<T>, gradient: UnsafePointer<T>, count: Int, learningRate: T) {
        for index in 0..<count { parameters[index] -= learningRate * gradient[index] }
    }

    /// v = μ·v + g; θ −= η·v.
    @inline(__always)
    static func momentum(
        _ parameters: UnsafeMutablePointer<T>, gradient: UnsafePointer<T>, velocity: UnsafeMutablePointer<T>, count: Int,
        learningRate: T, momentum: T
    ) {
        for index in 0..<count {
            velocity[index] = momentum * velocity[index] + gradient[index]
            parameters[index] -= learningRate * velocity[index]
        }
    }

    /// s = ρ·s + (1−ρ)·g²; θ −= η·g/(√s + ε).
    @inline(__always)
    static func rmsprop(
        _ parameters: UnsafeMutablePointer<T>, gradient: UnsafePointer<T>, square: UnsafeMutablePointer<T>, count: Int,
        learningRate: T,
        rho: T, epsilon: T
    ) {
        for index in 0..<count {
            let g = gradient[index]
            square[index] = rho * square[index] + (1 - rho) * g * g
            parameters[index] -= learningRate * g / (square[index].squareRoot() + epsilon)
        }
    }

    /// θ ← θ·(1 − η·λ): AdamW's decoupled weight decay, before the Adam step (as PyTorch's AdamW orders them).
    @inline(__always)
    static func decay(_ parameters: UnsafeMutablePointer<T>, count: Int, factor: T) {
        for index in 0..<count { parameters[index] *= factor }
    }

    /// m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; θ −= η·m̂/(√v̂ + ε), with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
    @inline(__always)
    static func adam(
        _ parameters: UnsafeMutablePointer<T>, gradient: UnsafePointer<T>, first: UnsafeMutablePointer<T>,
        second: UnsafeMutablePointer<T>, count: Int, learningRate: T, beta1: T, beta2: T, epsilon: T,
        correction1: T, correction2: T
    ) {
        for index in 0..<count {
            let g = gradient[index]
            first[index] = beta1 * first[index] + (1 - beta1) * g
            second[index] = beta2 * second[index] + (1 - beta2) * g * g
            let mHat = first[index] / correction1
            let vHat = second[index] / correction2
            parameters[index] -= learningRate * mHat / (vHat.squareRoot() + epsilon)
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif

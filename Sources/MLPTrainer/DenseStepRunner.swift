// The op loop both dense trainers share (`Trainer` at fp32 and fp64, `MixedTrainer` at bf16-mixed): each op of the
// step program in order, the lifetime guard around every op. What an op does is each trainer's.

import ArenaPlanner
import MemoryBudget

/// A dense network's trainer as the op loop sees it.
protocol DenseStepRunner: AnyObject {
    var program: StepProgram { get }
    var lifetimeGuard: LifetimeGuard? { get }
    /// The load op: the batch's `rows` samples into x and y.
    func load(_ batch: StepBatch, rows: Int)
    /// fwd k (0-based `index`) on the first `rows` rows.
    func forward(layer index: Int, rows: Int)
    /// The loss op: the batch's summed loss and correct predictions; ∂L/∂z over the logits when `training`.
    func loss(rows: Int, training: Bool) -> Kernels.LossResult
    /// bwd k (0-based `index`), and bwd+upd k (`updating`: the optimizer applied in the same pass).
    func backward(layer index: Int, rows: Int, updating: Bool)
    /// The update op: the optimizer's step over every parameter.
    func update()
}

extension Trainer: DenseStepRunner {}
extension MixedTrainer: DenseStepRunner {}

extension DenseStepRunner {
    /// One training step on `rows` samples: every op of the program, in order. Returns the batch's summed loss
    /// and its correct predictions.
    @inline(__always)
    func trainStep(_ batch: StepBatch, rows: Int) -> Kernels.LossResult {
        run(ops: program.ops.indices, batch: batch, rows: rows, training: true)
    }

    /// Forward and loss without touching parameters: the program's `load`, forward ops and `loss`.
    @inline(__always)
    func evaluate(_ batch: StepBatch, rows: Int) -> Kernels.LossResult {
        run(ops: 0..<(program.index(of: .loss)! + 1), batch: batch, rows: rows, training: false)
    }

    /// Forward, loss and backward of an unfused program: leaves ∂(mean loss)/∂θ in the gradients, parameters
    /// unchanged (gradient checks).
    func computeGradients(_ batch: StepBatch, rows: Int) -> Kernels.LossResult {
        precondition(
            !program.table.fusesUpdate,
            "\(Self.self).computeGradients: the program fuses the update; build it with fusesUpdate: false")
        return run(ops: 0..<(program.index(of: .update) ?? program.ops.count), batch: batch, rows: rows, training: true)
    }

    /// Ops `ops` of the program in order; the loss op's result when it is among them, else zeros.
    @inline(__always)
    func run(ops: Range<Int>, batch: StepBatch, rows: Int, training: Bool) -> Kernels.LossResult {
        var result = Kernels.LossResult(loss: 0, correct: 0, judged: 0)
        for index in ops {
            lifetimeGuard?.beforeOp(index)
            switch program.ops[index] {
            case .load: load(batch, rows: rows)
            case .forward(let k): forward(layer: k - 1, rows: rows)
            case .loss: result = loss(rows: rows, training: training)
            case .backward(let k): backward(layer: k - 1, rows: rows, updating: false)
            case .backwardUpdate(let k): backward(layer: k - 1, rows: rows, updating: true)
            case .update: update()
            case .forwardPart, .backwardPart, .recomputePart:
                preconditionFailure("\(Self.self): \(program.ops[index]) is a transformer's op; dense programs have none")
            }
            lifetimeGuard?.afterOp(index)
        }
        return result
    }
}

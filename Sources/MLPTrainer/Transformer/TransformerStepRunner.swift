// The op loop both transformer trainers share (`TransformerTrainer` at fp32 and fp64, `MixedTransformerTrainer` at
// bf16-mixed): each op of the step program in order, a sub-op's phases dispatched over the worker pool, the lifetime
// guard around every op. What differs — the loss's element type, the exchange over ranks — is each trainer's.

import ArenaPlanner
import MemoryBudget
import ModelProfile

/// A job of the worker pool: one phase of op `index`, or the optimizer's update.
enum TransformerJob {
    case op(index: Int, phase: Int)
    case update
}

/// A transformer trainer as the op loop sees it.
protocol TransformerStepRunner: AnyObject {
    /// The tensors' element type: T at fp32 and fp64, bf16 patterns (`UInt16`) at bf16-mixed.
    associatedtype Element
    var program: StepProgram { get }
    var tensors: TransformerTensors<Element> { get }
    var spec: TransformerSpec { get }
    var lifetimeGuard: LifetimeGuard? { get }
    /// B·T
    var rows: Int { get }
    /// Sets the loss gradient's scale for a training run, clears it for an evaluation.
    func beginRun(training: Bool)
    /// The load op: the batch's tokens and targets.
    func loadWindows(_ windows: TransformerWindows)
    /// Row r's loss, after the loss op.
    func rowLoss(_ r: Int) -> Double
    /// Runs `job` on every part and returns when all are done.
    func dispatch(_ job: TransformerJob)
    /// The update op: the optimizer's job with whatever exchange surrounds it.
    func runUpdate()
    /// Before and after a sub-op's phases: the exchange over ranks (zero3's gathers, zero2's reductions).
    func beforeSubOp(_ op: StepOp)
    func afterSubOp(_ op: StepOp)
    /// Part `part`'s share of a sub-op (`TransformerTrainer+Ops`, `MixedTransformerTrainer+Ops`) and of the loss: the
    /// embedding (layer 1), block `index` (0-based; layers 2 … L + 1), and the logits (layer L + 2, after the final
    /// norm). `recomputing`: the forward run again in the backward pass, on the recomputed buffers (gradient
    /// checkpointing).
    func embeddingForward(part: Int)
    func blockForward(_ index: Int, sub: BlockPart, part: Int, recomputing: Bool)
    func logitsForward(part: Int)
    func embeddingBackward(part: Int)
    func blockBackward(_ index: Int, sub: BlockPart, phase: Int, part: Int)
    func logitsBackward(phase: Int, part: Int)
    func lossPart(_ part: Int)
    /// Rows of part `part` for row-split sub-ops.
    func productRows(_ part: Int) -> Range<Int>
    /// A norm's forward over rows `r`: LayerNorm (with mean and shift) or RMSNorm.
    func norm(_ norm: NormTensors<Element>, inp: UnsafePointer<Element>, rows r: Range<Int>)
    /// A norm's backward: phase 0 ∂input by rows into the residual stream's gradient (added when `accumulate`),
    /// phase 1 ∂γ (and ∂β) by columns.
    func normBackward(_ norm: NormTensors<Element>, phase: Int, part: Int, inp: UnsafePointer<Element>, accumulate: Bool)
}

extension TransformerStepRunner {
    /// One training step: every op of the program. Returns the batch's mean loss per token (nats).
    func trainStep(_ windows: TransformerWindows) -> Double {
        run(ops: program.ops.indices, windows: windows, training: true)
    }

    /// Forward, loss and backward: leaves ∂(mean loss)/∂θ in the gradients, parameters unchanged (gradient checks).
    func computeGradients(_ windows: TransformerWindows) -> Double {
        run(ops: 0..<(program.index(of: .update) ?? program.ops.count), windows: windows, training: true)
    }

    /// The loss of a batch without touching parameters: `load`, the forward sub-ops and `loss`.
    func evaluate(_ windows: TransformerWindows) -> Double {
        run(ops: 0..<(program.index(of: .loss)! + 1), windows: windows, training: false)
    }

    /// Elements of rows `range` in a (rows, width) matrix.
    @inline(__always)
    func elements(_ range: Range<Int>, width: Int) -> Range<Int> { (range.lowerBound * width)..<(range.upperBound * width) }

    /// Forward sub-op `sub` of layer `layer`, part `part`'s share.
    @inline(__always)
    func forwardPart(layer: Int, sub: Int, part: Int, recomputing: Bool = false) {
        if layer == 1 {
            embeddingForward(part: part)
        } else if layer == spec.layerCount + 2 {
            headForward(sub: sub, part: part)
        } else {
            blockForward(layer - 2, sub: BlockPart(rawValue: sub)!, part: part, recomputing: recomputing)
        }
    }

    /// Backward sub-op `sub` of layer `layer`, phase `phase`, part `part`'s share.
    @inline(__always)
    func backwardPart(layer: Int, sub: Int, phase: Int, part: Int) {
        if layer == 1 {
            embeddingBackward(part: part)
        } else if layer == spec.layerCount + 2 {
            headBackward(sub: sub, phase: phase, part: part)
        } else {
            blockBackward(layer - 2, sub: BlockPart(rawValue: sub)!, phase: phase, part: part)
        }
    }

    /// Layer L + 2's forward: the final norm of the last block's output (`sub` 0), then the logits (1).
    @inline(__always)
    func headForward(sub: Int, part: Int) {
        if sub == 0 {
            norm(tensors.finalNorm, inp: tensors.lastOutput, rows: productRows(part))
        } else {
            logitsForward(part: part)
        }
    }

    /// Layer L + 2's backward: the logits' (`sub` 1), then the final norm's (0), which starts the residual stream's
    /// gradient.
    @inline(__always)
    func headBackward(sub: Int, phase: Int, part: Int) {
        if sub == 1 {
            logitsBackward(phase: phase, part: part)
        } else {
            normBackward(tensors.finalNorm, phase: phase, part: part, inp: tensors.lastOutput, accumulate: false)
        }
    }

    /// Part `part`'s share of phase `phase` of op `index`.
    @inline(__always)
    func runOp(index: Int, phase: Int, part: Int) {
        switch program.ops[index] {
        case .forwardPart(let layer, let sub): forwardPart(layer: layer, sub: sub, part: part, recomputing: false)
        case .recomputePart(let layer, let sub): forwardPart(layer: layer, sub: sub, part: part, recomputing: true)
        case .backwardPart(let layer, let sub): backwardPart(layer: layer, sub: sub, phase: phase, part: part)
        case .loss: lossPart(part)
        default: break
        }
    }

    /// Ops `ops` of the program in order; the batch's mean loss per token when the loss op is among them, else 0.
    func run(ops: Range<Int>, windows: TransformerWindows, training: Bool) -> Double {
        var loss = 0.0
        beginRun(training: training)
        for index in ops {
            lifetimeGuard?.beforeOp(index)
            let op = program.ops[index]
            switch op {
            case .load: loadWindows(windows)
            case .loss:
                dispatch(.op(index: index, phase: 0))
                var sum = 0.0
                for r in 0..<rows { sum += rowLoss(r) }
                loss = sum / Double(rows)
            case .update: runUpdate()
            case .forwardPart, .backwardPart, .recomputePart:
                beforeSubOp(op)
                for phase in 0..<spec.phases(op) { dispatch(.op(index: index, phase: phase)) }
                afterSubOp(op)
            case .forward, .backward, .backwardUpdate:
                preconditionFailure("\(Self.self): \(op) is not a transformer's op")
            }
            lifetimeGuard?.afterOp(index)
        }
        return loss
    }
}

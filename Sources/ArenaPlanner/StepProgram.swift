// One training step as the trainer runs it: the ops in order, and one buffer per tensor with its lifetime.
// The trainer executes exactly these ops, and resolves every tensor it touches from these buffers by ID.

import MemoryBudget
import ModelProfile

/// The step program of a model: its step table's ops, and a buffer per tensor whose lifetime follows
/// from the ops' accesses (as TensorFlow Lite derives lifetimes by reference counting in execution
/// order).
///
/// Op numbering for an L-layer dense model (layers 1-based, as the lecture's w1, w2, w3):
///
///     0              load         x ← batch features, y ← batch targets
///     k              fwd k        a_k = f(a_{k-1} W_kᵀ + b_k)            k = 1 … L   (a_0 = x)
///     L+1            loss         dz_L written in place of a_L
///     2L+2−k         bwd k        dW_k, db_k; dz_{k-1} for k > 1         k = L … 1
///     2L+2           update       W_k −= η·dW_k … (optimizer state)
///
/// With plain SGD the update is fused: `bwd k+sgd` updates W_k and b_k as their gradients are formed,
/// no dW_k is stored and there is no `update` op.
///
/// Lifetimes (inclusive): persistent tensors (parameters, optimizer state, the dataset) live at every op;
/// every other tensor from the first op that reads or writes it to the last. So x lives until bwd 1 (a_0
/// for dW_1), y until the loss, a_k (k < L) from fwd k until bwd k+1, which reads it for dW_{k+1} and
/// f'(a_k); a_L until bwd L (holding dz_L after the loss); dz_k (k < L) from bwd k+1 to bwd k; dW_k
/// and db_k from bwd k to the update.
public struct StepProgram: Sendable {
    public let table: StepTable
    public let ops: [StepOp]
    /// The ops' names in plans and reports (`fwd1`, `h3.qkv`, …), parallel to `ops`.
    public let opNames: [String]
    /// One per tensor of `table`, in its order.
    public let buffers: [BufferRequest]
    /// `ids[i]` is the tensor `buffers[i]` holds.
    public let ids: [TensorID]
    private let indexByID: [TensorID: Int]

    public var model: Model { table.model }
    public var data: DataShape? { table.data }
    public var options: StepOptions { table.options }

    /// Builds the program of `model` at its precision, batch and optimizer.
    ///
    /// - Throws: `BudgetError.overflow` when a buffer's bytes exceed `Int.max`.
    public init(model: Model, options: StepOptions = StepOptions(), data: DataShape? = nil) throws(BudgetError) {
        self.init(table: try StepTable(model: model, options: options, data: data))
    }

    public init(table: StepTable) {
        self.table = table
        ops = table.ops.map(\.op)
        opNames = table.ops.map(\.name)
        buffers = BufferRequest.lifetimes(of: table.tensors, ops: table.ops)
        ids = table.tensors.map(\.id)
        indexByID = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
    }

    /// The buffer index of a tensor, if the program has it.
    public func index(of id: TensorID) -> Int? { indexByID[id] }

    /// The op index of `op`, if the program runs it.
    public func index(of op: StepOp) -> Int? { ops.firstIndex(of: op) }

    /// The lecture's naive sum for this step — every tensor of the step with no reuse, as `MemoryBudget`
    /// counts them — plus the data buffers.
    public func naiveByteCount() throws(BudgetError) -> Int {
        let budget = try MemoryBudget.estimate(table)
        let dataBytes = try table.bytes(of: .data)
        return try Checked(context: table.name).add(budget.totalByteCount, dataBytes, what: "the naive sum")
    }
}

// Decoding one token as the decoder runs it: the decode table's ops, one buffer per tensor with its lifetime, and the
// plan of the generation's arena.

import MemoryBudget
import ModelProfile

/// The decode program of a transformer: the ops of one token (`DecodeTable`) and a buffer per tensor whose lifetime
/// follows from the ops' accesses, as `StepProgram` derives a training step's.
///
///     let program = try DecodeProgram(model: model)
///     let plan = try program.plan(alignment: 4096)   // validated; the KV cache starts on a page of its own
///     program.kvBytesPerToken                        // 2 · L · NKV · HS · element bytes
public struct DecodeProgram: Sendable {
    public let table: DecodeTable
    /// The ops' names (`embed`, `h1.ln1`, …, `sample`).
    public let opNames: [String]
    /// One per tensor of `table`, in its order.
    public let buffers: [BufferRequest]
    /// `ids[i]` is the tensor `buffers[i]` holds.
    public let ids: [TensorID]
    private let indexByID: [TensorID: Int]

    /// - Throws: `BudgetError.overflow` when a buffer's bytes exceed `Int.max`.
    public init(model: TransformerModel) throws(BudgetError) {
        self.init(table: try DecodeTable(model: model))
    }

    public init(table: DecodeTable) {
        self.table = table
        opNames = table.ops.map(\.name)
        buffers = BufferRequest.lifetimes(of: table.tensors, ops: table.ops)
        ids = table.tensors.map(\.id)
        indexByID = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
    }

    /// The buffer index of a tensor, if the program has it.
    public func index(of id: TensorID) -> Int? { indexByID[id] }

    /// The KV cache's buffer index.
    public var kvCacheIndex: Int { indexByID[table.id(.kvCache)]! }

    /// Bytes of the KV cache one token fills (`DecodeTable.kvBytesPerToken`).
    public var kvBytesPerToken: Int { table.kvBytesPerToken }

    /// The best plan of the buffers at `alignment` (a power of two), validated. With the page size as the alignment
    /// every buffer starts on a page of its own, so the pages the kernel holds for the KV cache are the cache's alone.
    ///
    /// - Throws: `PlanError` for a bad alignment, an arena past `Int.max`, or a plan that breaks its invariants.
    public func plan(alignment: Int) throws(PlanError) -> ArenaPlan {
        let plan = try BestPlanner().plan(buffers, alignment: alignment)
        try plan.validate()
        return plan
    }
}

// One rank's buffers when the step is split over devices (`memplan plan --devices N --strategy S`).

import MemoryBudget

extension StepProgram {
    /// The buffers one rank places under `strategy` over `devices` (dp and the ZeRO stages; tp is estimate-only):
    /// - sharded tensors keep their lifetimes and hold ⌈elements/N⌉ elements each (every tensor split N ways, the rank
    ///   holding one slice): zero1 the master weights and optimizer state, zero2 also the gradients, zero3 also the
    ///   parameters;
    /// - exchange buffers (category `communication`), as `DeviceBudget` counts them: dp and zero1 a ring chunk ⌈G/N⌉
    ///   from the op that forms the last gradient to the end of the step; zero2 and zero3 the bucket one layer's whole
    ///   gradient is formed in and its ring chunk, from the first op that forms a gradient to the last (every op but
    ///   the update that touches one); zero3 the gather buffer of the
    ///   largest layer's parameters, live at every op (each layer is gathered into it before its forward and
    ///   backward).
    ///
    /// The step must store its gradients (`StepOptions(fusesUpdate: false)`) when `devices` > 1. One device is the
    /// program's own buffers.
    ///
    /// - Throws: `PlanError.overflow` when a size exceeds `Int.max`.
    public func rankBuffers(strategy: ShardingStrategy, devices n: Int) throws(PlanError) -> [BufferRequest] {
        precondition(n >= 1 && strategy != .tp, "rankBuffers: dp or zero1–3 over at least one device")
        guard n > 1 else { return buffers }
        let sharded: Set<BufferCategory> =
            switch strategy {
            case .dp, .tp: []
            case .zero1: [.masterParameters, .optimizer]
            case .zero2: [.masterParameters, .optimizer, .gradients]
            case .zero3: [.masterParameters, .optimizer, .gradients, .parameters]
            }
        var result: [BufferRequest] = []
        var gradientBytes = 0
        var parametersByLayer: [Int: Int] = [:]
        var gradientsByLayer: [Int: Int] = [:]
        var gradientOps: ClosedRange<Int>?
        for index in buffers.indices {
            var buffer = buffers[index]
            let spec = table.tensors[index]
            let layer = ids[index].layer
            func add(_ total: inout Int, _ bytes: Int) throws(PlanError) {
                let (sum, overflow) = total.addingReportingOverflow(bytes)
                guard !overflow else { throw .overflow(name: buffer.name) }
                total = sum
            }
            switch buffer.category {
            case .parameters:
                var total = parametersByLayer[layer] ?? 0
                try add(&total, buffer.byteCount)
                parametersByLayer[layer] = total
            case .gradients:
                var total = gradientsByLayer[layer] ?? 0
                try add(&total, buffer.byteCount)
                gradientsByLayer[layer] = total
                try add(&gradientBytes, buffer.byteCount)
            default: break
            }
            if sharded.contains(buffer.category) {
                let elements = spec.elementCount / n + (spec.elementCount % n == 0 ? 0 : 1)
                buffer.byteCount = elements * spec.elementType.byteCount
                buffer.name += " [1/\(n)]"
            }
            result.append(buffer)
        }
        // The ops that form gradients: every op but the update that touches one. (Not each gradient's first op: tied
        // embeddings form wte's gradient at bwd logits and again at bwd embed, the step's last.)
        let gradientIDs = Set(buffers.indices.filter { buffers[$0].category == .gradients }.map { ids[$0] })
        for (index, access) in table.ops.enumerated() where access.op != .update {
            guard access.touched.contains(where: gradientIDs.contains) else { continue }
            gradientOps = gradientOps.map { min($0.lowerBound, index)...max($0.upperBound, index) } ?? index...index
        }
        // A ring chunk holds whole gradient elements: ⌈elements/N⌉ of them.
        let element = max(1, table.tensors.first { $0.category == .gradients }?.elementType.byteCount ?? 1)
        func ceilingShare(_ bytes: Int) -> Int {
            let elements = bytes / element
            return (elements / n + (elements % n == 0 ? 0 : 1)) * element
        }
        let last = max(0, ops.count - 1)
        let formed = gradientOps ?? last...last
        switch strategy {
        case .dp, .zero1, .tp:
            result.append(
                BufferRequest(
                    name: "ring chunk", byteCount: ceilingShare(gradientBytes), lifetime: formed.upperBound...last,
                    category: .communication))
        case .zero2, .zero3:
            let bucket = gradientsByLayer.values.max() ?? 0
            result.append(BufferRequest(name: "gradient bucket", byteCount: bucket, lifetime: formed, category: .communication))
            result.append(
                BufferRequest(name: "ring chunk", byteCount: ceilingShare(bucket), lifetime: formed, category: .communication))
            if strategy == .zero3 {
                result.append(
                    BufferRequest(
                        name: "gather buffer", byteCount: parametersByLayer.values.max() ?? 0, lifetime: 0...last,
                        category: .communication))
            }
        }
        return result
    }
}

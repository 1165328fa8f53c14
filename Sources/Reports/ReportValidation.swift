// What a record or a capacity result read back may hold: every number in the range a run or an analysis can
// produce. Text is not checked here; every renderer escapes it for its format.

extension TrainingRecord {
    /// Refuses numbers no run produces: negative or beyond 2⁶⁰ bytes and counts, accuracies outside [0, 1],
    /// non-finite losses, rates and times, plan buffers outside the arena or the ops.
    public func validate() throws(ReportError) {
        let check = NumberCheck(limit: ReportReader.maximumRecordNumber)
        let p = predicted
        try check.count("predicted.arena_bytes", p.arenaBytes)
        try check.count("predicted.lower_bound_bytes", p.lowerBoundBytes)
        try check.count("predicted.naive_bytes", p.naiveBytes)
        try check.count("predicted.arena_mapped_bytes", p.arenaMappedBytes)
        for (name, value) in [
            ("parameters", p.bytes.parameters), ("gradients", p.bytes.gradients), ("activations", p.bytes.activations),
            ("inputs", p.bytes.inputs), ("optimizer", p.bytes.optimizer), ("total", p.bytes.total), ("deltas", p.bytes.deltas),
            ("data", p.bytes.data), ("scratch", p.bytes.scratch ?? 0),
        ] {
            try check.count("predicted.bytes.\(name)", value)
        }
        let a = actual
        for (name, value) in [
            ("arena_bytes", a.arenaBytes), ("mapped_bytes", a.mappedBytes), ("resident_bytes", a.residentBytes),
            ("pages_not_resident", a.pagesNotResident), ("peak_rss_growth_bytes", a.peakRSSGrowthBytes),
            ("training_rss_growth_bytes", a.trainingRSSGrowthBytes ?? 0), ("measured_steps", a.measuredSteps),
            ("threads_bound", a.threadsBound), ("planned_node", a.plannedNode ?? 0),
            ("pages_on_planned_node", a.pagesOnPlannedNode ?? 0),
        ] {
            try check.count("actual.\(name)", value)
        }
        try check.count("actual.page_bytes", a.pageBytes, atMost: 1 << 40, atLeast: 1)
        try check.counts("actual.pages_by_node", a.pagesByNode)
        try check.counts("actual.pages_by_node_after_first_step", a.pagesByNodeAfterFirstStep)
        try check.nonNegative("actual.heap_allocations_per_step", a.heapAllocationsPerStep)
        let m = metrics
        try check.fraction("metrics.test_accuracy", m.testAccuracy)
        try check.fraction("metrics.majority_baseline_accuracy", m.majorityBaselineAccuracy)
        try check.finite("metrics.test_loss", m.testLoss)
        try check.count("metrics.train_samples", m.trainSamples)
        try check.count("metrics.validation_samples", m.validationSamples)
        try check.count("metrics.test_samples", m.testSamples)
        try check.count("metrics.epochs (entries)", m.epochs.count, atMost: 1_000_000)
        for (index, epoch) in m.epochs.enumerated() {
            let field = "metrics.epochs[\(index)]"
            try check.count("\(field).epoch", epoch.epoch, atMost: 1_000_000)
            try check.finite("\(field).train_loss", epoch.trainLoss)
            try check.fraction("\(field).train_accuracy", epoch.trainAccuracy)
            try check.finite("\(field).validation_loss", epoch.validationLoss)
            try check.fraction("\(field).validation_accuracy", epoch.validationAccuracy)
            try check.nonNegative("\(field).seconds", epoch.seconds)
        }
        try check.nonNegative("throughput.samples_per_second", throughput.samplesPerSecond)
        try check.nonNegative("throughput.training_seconds", throughput.trainingSeconds)
        try check.count("throughput.blas_threads", throughput.blasThreads, atMost: 1 << 20)
        try check.count("run.batch", run.batch)
        try check.count("run.epochs", run.epochs, atMost: 1_000_000)
        try check.real("run.learning_rate", run.learningRate, in: 0...1e300, what: "a learning rate is a finite positive number")
        try plan.validate(check, field: "plan")
    }
}

extension PlanReport {
    /// Buffers inside the arena and the ops, sizes and offsets within the record's limit.
    func validate(_ check: NumberCheck, field: String) throws(ReportError) {
        try check.count("\(field).arena_bytes", arenaBytes)
        try check.count("\(field).lower_bound_bytes", lowerBoundBytes)
        try check.count("\(field).naive_bytes", naiveBytes)
        try check.count("\(field).alignment", alignment, atMost: 1 << 40)
        try check.count("\(field).batch", batch)
        try check.count("\(field).threads", threads, atMost: 1 << 20)
        try check.count("\(field).ops (entries)", ops.count, atMost: 1 << 24)
        try check.count("\(field).buffers (entries)", buffers.count, atMost: 1 << 24)
        for (index, buffer) in buffers.enumerated() {
            let name = "\(field).buffers[\(index)]"
            try check.count("\(name).bytes", buffer.bytes)
            try check.count("\(name).offset", buffer.offset)
            try check.count("\(name).first", buffer.first, atMost: max(0, ops.count - 1))
            try check.count("\(name).last", buffer.last, atMost: max(0, ops.count - 1), atLeast: buffer.first)
        }
    }
}

extension CapacityReport {
    /// Node sizes that add up within 2⁶³ bytes, non-negative batches and bytes, a headroom in [0, 1), a finite scale.
    public func validate() throws(ReportError) {
        let check = NumberCheck(limit: Int.max)
        try check.count("machine.nodes (entries)", machine.nodes.count, atMost: 1 << 16)
        var total = 0
        for (index, node) in machine.nodes.enumerated() {
            try check.count("machine.nodes[\(index)].node", node.node, atMost: 1 << 20)
            try check.count("machine.nodes[\(index)].total_bytes", node.totalBytes)
            try check.count("machine.nodes[\(index)].free_bytes", node.freeBytes, atMost: node.totalBytes)
            let (sum, overflow) = total.addingReportingOverflow(node.totalBytes)
            guard !overflow else {
                throw .invalid(field: "machine.nodes", reason: "their memory adds up to more than 2⁶³ − 1 bytes")
            }
            total = sum
        }
        try check.real("headroom", headroom, in: 0...0.999_999, what: "a headroom is a fraction from 0 to below 1")
        try check.count("profile_batch", profileBatch)
        try check.count("data_bytes", dataBytes)
        try check.count("dataset_train_samples", datasetTrainSamples)
        try check.count("results (entries)", results.count, atMost: 64)
        for (index, result) in results.enumerated() {
            let field = "results[\(index)]"
            try result.maxBatch.validate(check, field: "\(field).max_batch")
            try result.usableBytes.validate(check, field: "\(field).usable_bytes")
            try check.real("\(field).max_scale", result.maxScale, in: 0...1e15, what: "a scale is a finite number from 0")
            try check.count("\(field).arena_bytes_at_max_batch", result.arenaBytesAtMaxBatch)
            try check.count("\(field).bytes_at_profile_batch", result.bytesAtProfileBatch)
            try check.count("\(field).machines_needed", result.machinesNeeded)
            try check.count("\(field).scaled_parameters", result.scaledParameters)
            try check.count("\(field).max_parameters", result.maxParameters)
            for (position, width) in (result.scaledWidths ?? []).enumerated() {
                try check.count("\(field).scaled_widths[\(position)]", width)
            }
            try check.count("\(field).curve (entries)", result.curve.count, atMost: 1 << 16)
            for (position, point) in result.curve.enumerated() {
                try check.count("\(field).curve[\(position)].batch", point.batch)
                try check.count("\(field).curve[\(position)].bytes", point.bytes)
            }
            for (position, answer) in result.lecture.enumerated() {
                try check.count("\(field).lecture[\(position)].batch", answer.batch)
                try check.count("\(field).lecture[\(position)].total_bytes", answer.totalBytes)
                try check.count("\(field).lecture[\(position)].machines_needed", answer.machinesNeeded)
            }
        }
    }
}

extension CapacityReport.MachineAndNodes {
    /// The machine's count and every node's: counts (non-negative, within the check's limit).
    func validate(_ check: NumberCheck, field: String) throws(ReportError) {
        try check.count("\(field).machine", machine)
        try check.counts("\(field).per_node", perNode)
    }
}

extension NumberCheck {
    /// Every value of a map keyed by node (`field.<node>`) as a count.
    func counts(_ field: String, _ values: [String: Int]) throws(ReportError) {
        for (key, value) in values { try count("\(field).\(key)", value) }
    }
}

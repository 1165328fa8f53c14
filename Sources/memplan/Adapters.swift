// The domain → document mappings of the CLI: a run's result as a training record, this machine's topology as a
// machine. Kept here, in one file, so neither the run knows the report formats nor the reports the run.

import ArenaPlanner
import Foundation
import MemoryBudget
import ModelProfile
import NUMAArena
import Reports
import TrainingRun

enum Adapters {
    /// Each checkpoint mode of a transformer side by side: the planned step's peak (the best planner's lower bound at
    /// 64-byte alignment, as `memplan plan` reports it) and the step's products (`StepTable.transformerFLOPs`).
    static func recomputeOptions(_ model: TransformerModel, options: StepOptions) throws -> [EstimateReport.RecomputeOption] {
        var rows: [(Recompute, Int, (step: Double, recomputed: Double))] = []
        for mode in Recompute.allCases {
            var variant = model
            variant.recompute = mode
            let table = try StepTable(transformer: variant, options: options)
            let plan = try BestPlanner().plan(StepProgram(table: table).buffers, alignment: 64)
            rows.append((mode, plan.lowerBound, table.transformerFLOPs ?? (0, 0)))
        }
        let keptPeak = rows.first { $0.0 == .none }?.1 ?? 0
        return rows.map { mode, peak, flops in
            EstimateReport.RecomputeOption(
                checkpoint: mode.rawValue, peakBytes: peak, savedBytes: keptPeak - peak, stepFlops: flops.step,
                recomputedFlops: flops.recomputed, selected: mode == model.recompute)
        }
    }

    /// The `memplan train` record of a finished (or interrupted) run.
    static func record(_ result: TrainingResult) throws -> TrainingRecord {
        let budget = result.budget
        let plan = result.plan
        let measured = result.measurement
        let naive = try result.program.naiveByteCount()
        let pageSize = measured.pageSize
        var predicted = TrainingRecord.Predicted()
        predicted.arenaBytes = plan.arenaByteCount
        predicted.lowerBoundBytes = plan.lowerBound
        predicted.naiveBytes = naive
        predicted.arenaMappedBytes = plan.mappedByteCount(pageSize: pageSize)
        predicted.bytes.parameters = budget.parameterByteCount
        predicted.bytes.masterParameters = budget.masterParameterByteCount
        predicted.bytes.gradients = budget.gradientByteCount
        predicted.bytes.activations = budget.activationByteCount
        predicted.bytes.inputs = budget.inputByteCount
        predicted.bytes.optimizer = budget.optimizerByteCount
        predicted.bytes.total = budget.totalByteCount
        predicted.bytes.deltas = plan.bytes(of: .deltas)
        predicted.bytes.data = plan.bytes(of: .data)
        predicted.bytes.scratch = plan.bytes(of: .scratch)

        let end = measured.censusAtEnd
        var actual = TrainingRecord.Actual()
        actual.arenaBytes = measured.arenaMappedBytes
        actual.mappedBytes = measured.arenaMappedBytes
        actual.residentBytes = end.residentBytes
        actual.pagesByNode = end.pagesByNode.keyedByNodeText
        actual.pagesNotResident = end.notResident
        actual.pagesByNodeAfterFirstStep = measured.censusAfterFirstStep.pagesByNode.keyedByNodeText
        actual.plannedNode = result.plannedNode
        actual.pagesOnPlannedNode = result.plannedNode.map { end.pagesByNode[$0] ?? 0 }
        actual.peakRSSGrowthBytes = measured.peakRSSGrowthBytes
        actual.trainingRSSGrowthBytes = measured.trainingRSSGrowthBytes
        actual.heapAllocationsPerStep = measured.heapAllocationsPerStep
        actual.measuredSteps = measured.measuredSteps
        actual.numaAvailable = result.isNUMABacked
        actual.numaMaps = measured.numaMapsLine
        actual.threadsBound = measured.threadsBound
        actual.pageSource = end.source
        actual.pageBytes = pageSize

        var metrics = TrainingRecord.Metrics()
        metrics.testAccuracy = result.testAccuracy
        metrics.testLoss = result.testLoss
        metrics.epochs = result.epochs.map {
            var epoch = TrainingRecord.Epoch()
            epoch.epoch = $0.epoch
            epoch.trainLoss = $0.trainLoss
            epoch.trainAccuracy = $0.trainAccuracy
            epoch.validationLoss = $0.validationLoss
            epoch.validationAccuracy = $0.validationAccuracy
            epoch.seconds = $0.seconds
            return epoch
        }
        metrics.trainSamples = result.trainCount
        metrics.validationSamples = result.validationCount
        metrics.testSamples = result.testCount
        metrics.majorityBaselineAccuracy = result.majorityBaselineAccuracy

        var throughput = TrainingRecord.Throughput()
        throughput.samplesPerSecond = result.samplesPerSecond
        throughput.trainingSeconds = result.trainingSeconds
        throughput.blasCore = result.blasCore
        throughput.blasThreads = result.blasThreads
        throughput.gemmKernels = result.gemmKernels
        throughput.tokensPerSecond = result.tokensPerSecond

        let network = result.network
        var run = TrainingRecord.Run()
        run.profile = network.name
        run.precision = network.precision.rawValue
        run.batch = network.batchSize
        run.epochs = network.epochs
        run.optimizer = network.optimizer.kind.rawValue
        run.learningRate = network.optimizer.learningRate
        run.loss = network.lossName
        run.placement = result.placement.description
        run.seed = network.seed
        run.data = result.dataSummary
        run.partial = result.isPartial
        run.memplanVersion = Memplan.configuration.version
        run.date = ISO8601DateFormatter().string(from: Date())

        var record = TrainingRecord(
            predicted: predicted, actual: actual, metrics: metrics, throughput: throughput, run: run,
            plan: PlanReport(plan: plan, program: result.program, naiveBytes: naive))
        if let rank = result.rank {
            // One rank's arena: its sharded state as planned, not the whole model's.
            record.predicted.bytes.optimizer = plan.bytes(of: .optimizer)
            record.predicted.bytes.gradients = plan.bytes(of: .gradients)
            record.predicted.bytes.parameters = plan.bytes(of: .parameters)
            var sharding = TrainingRecord.Sharding()
            sharding.devices = rank.ranks
            sharding.strategy = rank.strategy.rawValue
            sharding.globalBatch = rank.globalBatch
            sharding.exchangeSecondsPerStep = rank.exchangeSecondsPerStep
            record.sharding = sharding
            record.plan.devices = rank.ranks
            record.plan.sharding = rank.strategy.rawValue
        }
        return record
    }

    /// This machine's NUMA nodes (libnuma, or /proc/meminfo as one node) as a machine profile for `capacity`, each
    /// node's usable memory taken from `memory`: MemFree (libnuma's per-node free memory), or MemAvailable (what
    /// the kernel can also reclaim from caches), shared out over the nodes by their size.
    static func localMachine(memory: MemorySource = .free) -> Machine {
        let topology = NUMATopology.current()
        let info = ProcessMemory.memoryInfo()
        var nodes = topology.nodes.map {
            MachineNode(id: $0.id, totalBytes: $0.totalBytes, freeBytes: $0.freeBytes, cpuCount: $0.cpus.count)
        }
        if !topology.isAvailable, nodes.count == 1 {
            nodes[0].freeBytes = min(nodes[0].totalBytes, memory == .free ? info.free : info.available)
        } else if memory == .available {
            // The kernel reports MemAvailable for the machine only: its reclaimable part goes to the nodes by size.
            let free = nodes.map(\.freeBytes).reduce(0) { $0.addingReportingOverflow($1).overflow ? .max : $0 + $1 }
            let total = max(1, nodes.map(\.totalBytes).reduce(0) { $0.addingReportingOverflow($1).overflow ? .max : $0 + $1 })
            let reclaimable = max(0, info.available - free)
            for index in nodes.indices {
                let share = Int(Double(reclaimable) * Double(nodes[index].totalBytes) / Double(total))
                nodes[index].freeBytes = min(nodes[index].totalBytes, nodes[index].freeBytes + share)
            }
        }
        var description = topology.isAvailable ? "" : "libnuma reports no NUMA; /proc/meminfo as one node; "
        description += memory.explanation
        return Machine(
            name: "local", description: description, source: "local", nodes: nodes, memorySource: memory.rawValue)
    }

    /// The `memplan topology` document of this machine's nodes.
    static func topology(_ topology: NUMATopology) -> TopologyReport {
        TopologyReport(
            numaAvailable: topology.isAvailable,
            nodes: topology.nodes.map {
                TopologyReport.Node(node: $0.id, cpus: $0.cpus, totalBytes: $0.totalBytes, freeBytes: $0.freeBytes)
            },
            distances: topology.distances)
    }
}

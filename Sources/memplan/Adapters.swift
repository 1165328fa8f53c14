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
        func byNode(_ census: PageCensus) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: census.pagesByNode.map { (String($0.key), $0.value) })
        }
        let pageSize = measured.pageSize
        let plannedPages = (plan.arenaByteCount + pageSize - 1) / pageSize
        let predicted = TrainingRecord.Predicted(
            arenaBytes: plan.arenaByteCount, lowerBoundBytes: plan.lowerBound, naiveBytes: naive,
            bytes: TrainingRecord.PredictedBytes(
                parameters: budget.parameterByteCount, gradients: budget.gradientByteCount,
                activations: budget.activationByteCount,
                inputs: budget.inputByteCount, optimizer: budget.optimizerByteCount, total: budget.totalByteCount,
                deltas: plan.bytes(of: .deltas), data: plan.bytes(of: .data), scratch: plan.bytes(of: .scratch),
                masterParameters: budget.masterParameterByteCount),
            arenaMappedBytes: max(1, plannedPages) * pageSize)
        let end = measured.censusAtEnd
        let actual = TrainingRecord.Actual(
            arenaBytes: measured.arenaMappedBytes, mappedBytes: measured.arenaMappedBytes, residentBytes: end.residentBytes,
            pagesByNode: byNode(end), pagesNotResident: end.notResident,
            pagesByNodeAfterFirstStep: byNode(measured.censusAfterFirstStep),
            plannedNode: result.plannedNode, pagesOnPlannedNode: result.plannedNode.map { end.pagesByNode[$0] ?? 0 },
            peakRSSGrowthBytes: measured.peakRSSGrowthBytes, trainingRSSGrowthBytes: measured.trainingRSSGrowthBytes,
            heapAllocationsPerStep: measured.heapAllocationsPerStep, measuredSteps: measured.measuredSteps,
            numaAvailable: result.isNUMABacked, numaMaps: measured.numaMapsLine, threadsBound: measured.threadsBound,
            pageSource: end.source, pageBytes: pageSize)
        let metrics = TrainingRecord.Metrics(
            testAccuracy: result.testAccuracy, testLoss: result.testLoss,
            epochs: result.epochs.map {
                TrainingRecord.Epoch(
                    epoch: $0.epoch, trainLoss: $0.trainLoss, trainAccuracy: $0.trainAccuracy, validationLoss: $0.validationLoss,
                    validationAccuracy: $0.validationAccuracy, seconds: $0.seconds)
            },
            trainSamples: result.trainCount, validationSamples: result.validationCount, testSamples: result.testCount,
            majorityBaselineAccuracy: result.majorityBaselineAccuracy)
        let network = result.network
        let run = TrainingRecord.Run(
            profile: network.name, precision: network.precision.rawValue, batch: network.batchSize, epochs: network.epochs,
            optimizer: network.optimizer.kind.rawValue, learningRate: network.optimizer.learningRate, loss: network.lossName,
            placement: result.placement.description, seed: network.seed, data: result.dataSummary, partial: result.isPartial,
            memplanVersion: Memplan.configuration.version, date: ISO8601DateFormatter().string(from: Date()))
        var record = TrainingRecord(
            predicted: predicted, actual: actual, metrics: metrics,
            throughput: TrainingRecord.Throughput(
                samplesPerSecond: result.samplesPerSecond, trainingSeconds: result.trainingSeconds, blasCore: result.blasCore,
                blasThreads: result.blasThreads, gemmKernels: result.gemmKernels, tokensPerSecond: result.tokensPerSecond),
            run: run, plan: PlanReport(plan: plan, program: result.program, naiveBytes: naive))
        if let rank = result.rank {
            // One rank's arena: its sharded state as planned, not the whole model's.
            record.predicted.bytes.optimizer = plan.bytes(of: .optimizer)
            record.predicted.bytes.gradients = plan.bytes(of: .gradients)
            record.predicted.bytes.parameters = plan.bytes(of: .parameters)
            record.sharding = TrainingRecord.Sharding(
                devices: rank.ranks, strategy: rank.strategy.rawValue, globalBatch: rank.globalBatch,
                exchangeSecondsPerStep: rank.exchangeSecondsPerStep)
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

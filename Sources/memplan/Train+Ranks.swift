// `mpirun -np N memplan train PROFILE --strategy dp|zero1|zero2|zero3`: every rank trains its share of each global batch in its
// own planned arena on its own node; rank 0 prints and records the run with every rank's measurements.

import ArgumentParser
import Synchronization
import Foundation
import MLPTrainer
import MPIRanks
import MemoryBudget
import ModelProfile
import NUMAArena
import Reports
import TrainingRun

extension Memplan.Train {
    /// Under mpirun: the checks every rank makes alike (before MPI starts, so a bad flag is one line from rank 0), then
    /// the world. nil without a launcher, or for a world of one process (an ordinary run).
    func joinRanks(_ network: Network) throws -> (world: MPIWorld, strategy: ShardingStrategy)? {
        let split = sharding.split
        guard MPIWorld.isLaunched, let announced = MPIWorld.announcedSize, announced > 1 else {
            if let split, split.devices > 1 {
                throw CLIFailure.badInput(
                    "--devices \(split.devices): train runs one process per device; start them with mpirun -np "
                        + "\(split.devices) memplan train … (as root add --allow-run-as-root)")
            }
            return nil
        }
        if let devices = split?.devices, devices != announced {
            throw CLIFailure.badInput(
                "--devices \(devices) does not match the \(announced) ranks mpirun started; use mpirun -np \(devices), or "
                    + "--devices \(announced)")
        }
        let strategy = sharding.strategy ?? .dp
        if strategy == .tp {
            throw CLIFailure.badInput("--strategy tp is for estimates only; train over ranks with dp, zero1, zero2 or zero3")
        }
        let parameters: Int
        switch network {
        case .mlp(let model): parameters = model.layers.reduce(0) { $0 &+ $1.inputWidth &* $1.outputWidth &+ $1.outputWidth }
        case .transformer:
            if strategy == .zero3, saveCheckpoint != nil {
                throw CLIFailure.badInput(
                    "--save-checkpoint: under zero3 each rank keeps 1/\(announced) of the parameters; save with --strategy dp, "
                        + "zero1 or zero2, which keep them whole on every rank")
            }
            parameters = Int.max
        }
        if strategy != .dp, announced > parameters {
            throw CLIFailure.badInput(
                "\(strategy.rawValue) over \(announced) ranks shards \(parameters) parameters into empty chunks; use at most "
                    + "\(parameters) ranks, or --strategy dp")
        }
        do {
            let world = try MPIWorld()
            return (world, strategy)
        } catch {
            throw CLIFailure(message: error.description, exitCode: ExitStatus.missingResource)
        }
    }

    /// The placement of rank `rank`: --placement when given, else node (rank mod nodes) where NUMA is available.
    func rankPlacement(_ rank: Int) -> Placement {
        if let placement { return Placement(placement)! }
        let topology = NUMATopology.current()
        guard topology.isAvailable, !topology.nodes.isEmpty else { return .local }
        return .node(topology.nodes[rank % topology.nodes.count].id)
    }

    /// This rank's options: the link and strategy, the death fault for tests, node (rank mod nodes), and by default the
    /// node's CPUs shared by the ranks placed on it (one thread for a model too small to split).
    func rankOptions(_ options: TrainingOptions, world: MPIWorld, strategy: ShardingStrategy, worthSplitting: Bool)
        -> TrainingOptions
    {
        StopSignals.installRankExit(rank: world.rank)
        var options = options
        options.ranks = (world, strategy)
        // Tests: MEMPLAN_TEST_RANK_DEATH=rank:step makes that rank die (SIGKILL) before that step.
        if let text = ProcessInfo.processInfo.environment["MEMPLAN_TEST_RANK_DEATH"] {
            let parts = text.split(separator: ":").compactMap { Int($0) }
            if parts.count == 2 { options.rankDeath = (parts[0], parts[1]) }
        }
        options.placement = rankPlacement(world.rank)
        if threads == nil {
            let topology = NUMATopology.current()
            let nodes = max(1, topology.nodes.count)
            let sharing = (0..<world.size).filter { $0 % nodes == world.rank % nodes }.count
            let cpus: Int
            if case .node(let node) = options.placement, let count = topology.node(node)?.cpus.count, count > 0 {
                cpus = count
            } else {
                cpus = ProcessMemory.allowedCPUCount()
            }
            options.threadCount = worthSplitting ? max(1, cpus / sharing) : 1
        }
        return options
    }

    /// One rank's MLP run: prepare (every rank learns whether any failed, and all exit alike), train, then rank 0
    /// merges every rank's record into its own and writes it.
    func runRanks(_ model: Model, options: TrainingOptions, world: MPIWorld, strategy: ShardingStrategy) throws {
        let options = rankOptions(
            options, world: world, strategy: strategy, worthSplitting: TrainingSession.isWorthSplitting(model))
        var prepared: PreparedRun?
        var failure: Error?
        do {
            prepared = try TrainingSession.prepare(model, options: options)
        } catch {
            failure = error
        }
        try agree(world, failure: failure)
        guard let prepared else { preconditionFailure("runRanks: no run and no failure") }
        if world.rank == 0 {
            for warning in prepared.warnings { Main.printWarning(warning) }
            if format == .table { print(header(prepared.model)) }
            prepared.options.progress = epochPrinter()
        }
        let result: TrainingResult
        do {
            result = try prepared.run()
        } catch {
            endJob(world, error)
        }
        try finish(result, world: world)
    }

    /// One rank's transformer run (dp or zero1–3): the ranks agree once the text is read and the arena placed, then train.
    func runTransformerRanks(_ model: TransformerModel, options: TrainingOptions, world: MPIWorld, strategy: ShardingStrategy)
        throws
    {
        var options = rankOptions(options, world: world, strategy: strategy, worthSplitting: true)
        let agreed = Atomic<Bool>(false)
        options.afterPrepare = {
            try agree(world, failure: nil)
            agreed.store(true, ordering: .relaxed)
            if world.rank == 0, format == .table { print(header(.transformer(model))) }
        }
        if world.rank == 0 { options.progress = epochPrinter() }
        let result: TrainingResult
        do {
            result = try TransformerSession.run(model, options: options)
        } catch {
            if !agreed.load(ordering: .relaxed) { try agree(world, failure: error) }
            endJob(world, error)
        }
        try finish(result, world: world)
    }

    /// Rank 0's epoch lines and progress bar.
    private func epochPrinter() -> (TrainingProgress) -> Void {
        let table = format == .table
        let bar = ProgressBar(enabled: table && !noProgress && isatty(STDERR_FILENO) == 1)
        return { progress in
            bar.update(progress)
            if progress.isEpochEnd, table, let metrics = progress.epochMetrics {
                bar.clear()
                print(EpochLine.format(metrics, samplesPerSecond: progress.samplesPerSecond))
            }
        }
    }

    /// A rank that fails mid-run: the others may be waiting in the exchange, so the whole job ends. A failure every
    /// rank meets at once (a non-finite validation loss, divergence) is said once, by rank 0: another rank waits two
    /// seconds for rank 0's abort to end it before it speaks for itself (`mpirun -q` leaves out Open MPI's banner).
    private func endJob(_ world: MPIWorld, _ error: Error) -> Never {
        let failure = CLIFailure(error) ?? CLIFailure(message: "\(error)", exitCode: ExitStatus.failure)
        if world.rank != 0 { sleep(2) }
        Main.printError(world.rank == 0 ? failure.message : "rank \(world.rank): \(failure.message)")
        world.abort(failure.exitCode)
    }

    /// Every rank's record gathered on rank 0, merged into rank 0's, written and printed there.
    private func finish(_ result: TrainingResult, world: MPIWorld) throws {
        let own: TrainingRecord
        do {
            own = try Adapters.record(result)
        } catch {
            endJob(world, error)  // rank 0 would wait for this rank's record forever
        }
        let gathered = world.gatherOnRankZero(Array(own.json.utf8))
        world.finalize()
        guard let gathered else { return }
        var merged = own
        merged.ranks = try gathered.enumerated().map { rank, bytes in
            let record = try JSONText.decode(TrainingRecord.self, from: Data(bytes))
            return TrainingRecord.RankEntry(
                rank: rank, node: record.actual.plannedNode, predicted: record.predicted, actual: record.actual,
                exchangeSecondsPerStep: record.sharding?.exchangeSecondsPerStep ?? 0)
        }
        if let record { try RecordFile.write(merged.json, to: record) }
        if format == .table { print("") }
        print(merged.render(format), terminator: "")
        if format == .table, let record, !RecordFile.isStandardOutput(record) {
            print("Record written to \(Markup.terminal(record))")
        }
        if format == .table, let saveCheckpoint { print("Checkpoint written to \(Markup.terminal(saveCheckpoint))") }
    }

    /// A collective after preparing: when any rank failed, the first failing rank prints its error (rank 0's without a
    /// prefix) and every rank leaves the world and exits with that rank's status.
    private func agree(_ world: MPIWorld, failure: Error?) throws {
        let code = failure.map { (CLIFailure($0) ?? CLIFailure(message: "\($0)", exitCode: ExitStatus.failure)) }
        var codes = [Double](repeating: 0, count: world.size)
        codes[world.rank] = Double(code?.exitCode ?? 0)
        let all = world.sum(codes)
        guard let first = all.firstIndex(where: { $0 != 0 }) else { return }
        if first == world.rank, let code {
            Main.printError(world.rank == 0 ? code.message : "rank \(world.rank): \(code.message)")
        }
        world.finalize()
        Foundation.exit(Int32(all[first]))
    }
}

// What `StepEngine` and `TransformerEngine` share: the program on its planned arena, the worker pool, the lifetime
// guard, the split over ranks, and the enum each switches over so that every call runs a specialised trainer.

import ArenaPlanner
import MemoryBudget
import NUMAArena

/// An engine's trainer at one of the trainable precisions: fp32 (`single`), fp64 (`double`) or bf16-mixed (`mixed`).
/// The engines switch over it in every call instead of calling through a protocol, so the step loop runs code
/// specialised for the element type (no witness dispatch into unspecialised generic code).
enum PrecisionTrainer<Single, Wide, Mixed> {
    case single(Single)
    case double(Wide)
    case mixed(Mixed)
}

/// A trainer the engines build at fp32 or fp64: it takes the rank split and the worker pool once built.
protocol RankedTrainer: AnyObject {
    associatedtype Scalar: TrainingScalar
    var ranks: RankSharding<Scalar>? { get set }
    func attach(_ pool: WorkerPool)
}

extension Trainer: RankedTrainer {}
extension TransformerTrainer: RankedTrainer {}

/// What an engine sets up before its trainer: the pool of `threads` parts every op is split into, the lifetime guard,
/// and this process's link to the other ranks.
struct EngineSetup {
    let program: StepProgram
    let plan: ArenaPlan
    let arena: Arena
    /// Parts each op is split into (at least 1).
    let threads: Int
    let pool: WorkerPool
    let lifetimeGuard: LifetimeGuard?
    /// This process's link to the other ranks and the strategy splitting the step over them; nil in one process.
    let ranks: (link: RankLink, strategy: ShardingStrategy)?

    /// - Parameter guardsLifetimes: poison and check every byte outside the live tensors around every op
    ///   (`LifetimeGuard`); slow, for tests and checks.
    init(
        program: StepProgram, plan: ArenaPlan, arena: Arena, threads: Int, guardsLifetimes: Bool,
        ranks: (link: RankLink, strategy: ShardingStrategy)?
    ) {
        self.program = program
        self.plan = plan
        self.arena = arena
        self.threads = max(1, threads)
        pool = WorkerPool(partCount: self.threads)
        lifetimeGuard = guardsLifetimes ? LifetimeGuard(program: program, plan: plan, arena: arena) : nil
        self.ranks = ranks
    }

    /// The strategy and the number of ranks the tensors are sharded over; nil in one process.
    var sharding: (strategy: ShardingStrategy, shards: Int)? { ranks.map { (strategy: $0.strategy, shards: $0.link.size) } }

    /// An fp32 or fp64 trainer made ready to run: its share of the step over the ranks (dp, zero1, zero2 or zero3) and
    /// the worker pool.
    func ready<Trainer: RankedTrainer>(_ trainer: Trainer) -> Trainer {
        trainer.ranks = RankSharding(ranks, plan: plan, arena: arena, trained: [.dp, .zero1, .zero2, .zero3])
        trainer.attach(pool)
        return trainer
    }

    /// bf16-mixed trains in one process only.
    /// - Throws: `TrainerError.unsupportedMixed` when there are ranks.
    func refuseRanksForMixed() throws {
        guard ranks == nil else { throw TrainerError.unsupportedMixed("one process only (no --strategy over ranks yet)") }
    }
}

/// What `StepEngine` and `TransformerEngine` show alike: the program, its plan and arena, the parts each op is split
/// into, and what the lifetime guard found.
public class TrainingEngine {
    let setup: EngineSetup
    public var program: StepProgram { setup.program }
    public var plan: ArenaPlan { setup.plan }
    public var arena: Arena { setup.arena }
    /// Parts each op is split into.
    public var threads: Int { setup.threads }

    init(setup: EngineSetup) { self.setup = setup }

    /// What the lifetime guard found: ops that wrote outside every live buffer. Empty without the guard.
    public var lifetimeViolations: [String] { setup.lifetimeGuard?.violations ?? [] }
}

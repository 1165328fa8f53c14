// The transformer trainer's face for the run and the tests outside this module: no generics, so the step loop stays
// specialised inside MLPTrainer.

import ArenaPlanner
import MemoryBudget
import ModelProfile
import NUMAArena
import TrainingData

/// A transformer's step program running on its planned arena, at the model's precision.
public final class TransformerEngine: TrainingEngine {
    let storage: PrecisionTrainer<TransformerTrainer<Float>, TransformerTrainer<Double>, MixedTransformerTrainer>
    /// Where the text and its windows lie in the arena.
    let text: TextTensors

    /// - Throws: `TrainerError.unsupportedPrecision` for precisions without kernels.
    /// - Parameter ranks: this process's link to the other ranks and the strategy (dp, zero1, zero2 or zero3); `plan` is then the
    ///   rank's (`StepProgram.rankBuffers`), its "ring chunk" the buffer the exchange receives into.
    public init(
        program: StepProgram, plan: ArenaPlan, arena: Arena, threads: Int, guardsLifetimes: Bool = false,
        ranks: (link: RankLink, strategy: ShardingStrategy)? = nil
    ) throws {
        guard let model = program.table.transformer else { preconditionFailure("TransformerEngine: not a transformer's program") }
        let setup = EngineSetup(
            program: program, plan: plan, arena: arena, threads: threads, guardsLifetimes: guardsLifetimes, ranks: ranks)
        switch model.precision {
        case .single:
            let trainer: TransformerTrainer<Float> = TransformerEngine.trainer(setup)
            (storage, text) = (.single(trainer), trainer.tensors.text)
        case .double:
            let trainer: TransformerTrainer<Double> = TransformerEngine.trainer(setup)
            (storage, text) = (.double(trainer), trainer.tensors.text)
        case .bf16Mixed:
            try setup.refuseRanksForMixed()
            let trainer = MixedTransformerTrainer(program: program, plan: plan, arena: arena, lifetimeGuard: setup.lifetimeGuard)
            trainer.attach(setup.pool)
            (storage, text) = (.mixed(trainer), trainer.tensors.text)
        default:
            throw TrainerError.unsupportedPrecision(model.precision.rawValue)
        }
        super.init(setup: setup)
    }

    /// The fp32 or fp64 trainer on this rank's tensors.
    static func trainer<T: TrainingScalar>(_ setup: EngineSetup) -> TransformerTrainer<T> {
        let program = setup.program
        let tensors = TransformerTensors<T>(program: program, plan: setup.plan, arena: setup.arena, sharding: setup.sharding)
        return setup.ready(TransformerTrainer(program: program, tensors: tensors, lifetimeGuard: setup.lifetimeGuard))
    }

    /// Reads the loader's text into the arena.
    public func load(_ loader: TextLoader) throws { try loader.load(train: text.train, validation: text.validation) }

    /// The training windows' order (`windowCount` Int32s in the arena).
    public var order: UnsafeMutablePointer<Int32> { text.order }

    /// Training windows (T + 1 tokens every T), and whole validation windows.
    public var windowCount: Int { text.windowCount }

    public var validationWindowCount: Int {
        StepTable.windowCount(text.validationCount, sequence: program.table.transformer!.sequenceLength)
    }

    public func initializeParameters(seed: UInt64) {
        switch storage {
        case .single(let trainer): trainer.initializeParameters(seed: seed)
        case .double(let trainer): trainer.initializeParameters(seed: seed)
        case .mixed(let trainer): trainer.initializeParameters(seed: seed)
        }
    }

    /// One training step on windows `order[start ..< start + B]`; the batch's mean loss per token.
    public func trainStep(windowStart start: Int) -> Double {
        switch storage {
        case .single(let trainer): trainer.trainStep(.training(start: start))
        case .double(let trainer): trainer.trainStep(.training(start: start))
        case .mixed(let trainer): trainer.trainStep(.training(start: start))
        }
    }

    /// Seconds this rank has spent exchanging gradients and parameters with the others.
    public var exchangeSeconds: Double {
        switch storage {
        case .single(let trainer): Double(trainer.exchangeNanoseconds) / 1e9
        case .double(let trainer): Double(trainer.exchangeNanoseconds) / 1e9
        case .mixed: 0
        }
    }

    /// The mean loss per token of validation windows `start ..< start + B`, parameters unchanged.
    public func validationLoss(windowStart start: Int) -> Double {
        switch storage {
        case .single(let trainer): trainer.evaluate(.validation(start: start))
        case .double(let trainer): trainer.evaluate(.validation(start: start))
        case .mixed(let trainer): trainer.evaluate(.validation(start: start))
        }
    }

    /// Which kernels ran the products: `memplan-amx-bf16` or `memplan-bf16-fp32` for bf16-mixed (AMX tiles whenever
    /// CGEMM enables them: every product's workspace is reserved before the first step), nil otherwise.
    public var mixedProductKernel: String? {
        guard case .mixed = storage else { return nil }
        return BF16.productKernels(amx: BF16.amxEnabled)
    }
}

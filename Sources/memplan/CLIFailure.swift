// Maps every module's error enum to one message line and an exit status.

import ArenaPlanner
import Capacity
import MLPTrainer
import MPIRanks
import MemoryBudget
import ModelProfile
import NUMAArena
import TrainingData
import TrainingRun

/// Exit statuses: 2 for bad input, 3 for resources the machine lacks, 1 for anything else.
enum ExitStatus {
    static let failure: Int32 = 1
    static let badInput: Int32 = 2
    static let missingResource: Int32 = 3
}

/// An error the CLI knows how to explain.
struct CLIFailure: Error {
    var message: String
    var exitCode: Int32

    init(message: String, exitCode: Int32) {
        self.message = message
        self.exitCode = exitCode
    }

    /// Recognises the library error enums; nil for argument-parser errors (handled separately).
    init?(_ error: any Error) {
        switch error {
        case let failure as CLIFailure: self = failure
        case let error as ProfileError: self.init(message: error.description, exitCode: ExitStatus.badInput)
        case let error as ModelError: self.init(message: error.description, exitCode: ExitStatus.badInput)
        case let error as BudgetError: self.init(message: error.description, exitCode: ExitStatus.badInput)
        case let error as Quantity.ParseError: self.init(message: error.description, exitCode: ExitStatus.badInput)
        case let error as PlanError: self.init(message: error.description, exitCode: ExitStatus.badInput)
        case let error as CapacityError: self.init(message: error.description, exitCode: ExitStatus.missingResource)
        case let error as NUMAError:
            // A node that does not exist, too little memory: resources this machine lacks.
            self.init(message: error.description, exitCode: ExitStatus.missingResource)
        case let error as DataError:
            self.init(
                message: error.description, exitCode: error.isMissingResource ? ExitStatus.missingResource : ExitStatus.badInput)
        case let error as TrainerError: self.init(message: error.description, exitCode: ExitStatus.badInput)
        case let error as GenerationError: self.init(message: error.description, exitCode: ExitStatus.badInput)
        case let error as CheckpointShapeError: self.init(message: error.description, exitCode: ExitStatus.badInput)
        case let error as GPT2CheckpointError:
            self.init(
                message: error.description, exitCode: ExitStatus.badInput)  // a missing file is bad input, as a missing profile
        case let error as RunError:
            // A kernel that mapped less than asked, an address-space limit too low for BLAS: resources this machine (or
            // process) lacks; the rest is the input's doing.
            let code =
                switch error {
                case .arenaSmallerThanPlanned, .addressSpaceLimit: ExitStatus.missingResource
                default: ExitStatus.badInput
                }
            self.init(message: error.description, exitCode: code)
        case let error as MPIRanksError: self.init(message: error.description, exitCode: ExitStatus.missingResource)
        default: return nil
        }
    }

    static func badInput(_ message: String) -> CLIFailure {
        CLIFailure(message: message, exitCode: ExitStatus.badInput)
    }
}

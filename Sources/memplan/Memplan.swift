// The `memplan` command line: subcommands only; the work happens in the library modules.

import ArgumentParser
import Foundation
import MLPTrainer
import MPIRanks
import Reports

struct Memplan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memplan",
        abstract: "How much memory will training this model need, and will it fit?",
        discussion: """
            memplan reads a model profile (profiles/*.yaml), budgets the bytes of one training step (parameters, gradients, activations, inputs, optimizer state), plans them into one arena, and can train the real model inside exactly that arena to prove the estimate.

            Start with:
              memplan estimate profiles/fashion-mnist-mlp.yaml
              memplan estimate profiles/quiz-300b.yaml --batch 1000
              memplan estimate --mlp 784,256,128,10 --batch 128
              memplan estimate config.json          (a Hugging Face gpt2, llama or mistral config)

            Exit status: 0 success, 1 internal failure, 2 bad input (profile, flag or data), 3 a resource this machine lacks (memory, NUMA node).
            """,
        version: "0.1.0",
        subcommands: [
            Estimate.self, Plan.self, Train.self, Generate.self, Import.self, Select.self, Capacity.self, Report.self,
            Topology.self,
            Ceiling.self,
        ]
    )
}

/// Runs the command and turns every error into one stderr line and a documented exit status.
@main
enum Main {
    static func main() {
        BLASInfo.reexecutingWithBetterKernelsIfNeeded()
        StopSignals.installQuietExit()
        do {
            var command = try Memplan.parseAsRoot()
            try command.run()
        } catch {
            exitReporting(error)
        }
        // A document that did not reach standard output (a full disk, a closed descriptor) is a failure, as a failed
        // --output is: never exit 0 having written nothing.
        if fflush(nil) != 0 {  // every stream; stdout is the only one memplan buffers
            printError("cannot write to standard output: \(String(cString: strerror(errno)))")
            exit(ExitStatus.badInput)
        }
    }

    static func exitReporting(_ error: any Error) -> Never {
        // Under mpirun every rank parses the same flags and profile: rank 0 alone explains what they all found.
        if let rank = MPIWorld.announcedRank, rank != 0 {
            let code = CLIFailure(error)?.exitCode ?? (error as? ExitCode)?.rawValue ?? Memplan.exitCode(for: error).rawValue
            if code != 0 { exit(code == 1 ? ExitStatus.badInput : code) }  // --help and --version print on every rank
        }
        if let failure = CLIFailure(error) {
            printError(failure.message)
            exit(failure.exitCode)
        }
        let code = Memplan.exitCode(for: error)
        if code == .success { Memplan.exit(withError: error) }  // --help, --version
        if let exitCode = error as? ExitCode { exit(exitCode.rawValue) }
        // Usage errors from the argument parser (unknown flag, bad value): bad input, status 2, one line.
        var message = Memplan.message(for: error).split(separator: "\n").joined(separator: " ")
        if message.hasPrefix("Error: ") { message.removeFirst(7) }
        let arguments = CommandLine.arguments.dropFirst()
        let subcommand = arguments.first.flatMap { name in
            Memplan.configuration.subcommands.contains { $0._commandName == name } ? name : nil
        }
        let hint = subcommand.map { "memplan \($0) --help" } ?? "memplan --help"
        printError("\(message) (see '\(hint)')")
        exit(ExitStatus.badInput)
    }

    /// `memplan: warning: …` on one printable line.
    static func printWarning(_ message: String) {
        FileHandle.standardError.write(Data(("memplan: warning: " + Markup.terminal(message) + "\n").utf8))
    }

    /// `memplan: error: …` on one printable line: text from a file or a flag cannot move the cursor or add lines.
    static func printError(_ message: String) {
        FileHandle.standardError.write(Data(("memplan: error: " + Markup.terminal(message) + "\n").utf8))
    }
}

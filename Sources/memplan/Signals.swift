// Signals that ask memplan to stop. SIGQUIT would otherwise reach the Swift runtime's backtracer, which prints a
// crash report and lets the program carry on; SIGTERM and SIGHUP would end a run without its record.

import Foundation
import Synchronization

/// The stop signals: SIGINT (Ctrl-C), SIGTERM, SIGHUP and SIGQUIT.
enum StopSignals {
    static let all: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
    /// The first stop signal training received (0: none).
    private static let first = Atomic<Int32>(0)

    static var received: Int32 { first.load(ordering: .relaxed) }

    /// For commands other than train: SIGTERM, SIGHUP and SIGQUIT end the process at once with 128 + the signal,
    /// quietly (no crash report). SIGINT keeps its default.
    static func installQuietExit() {
        for number in [SIGTERM, SIGHUP, SIGQUIT] {
            signal(number) { number in _exit(128 + number) }
        }
        unblock([SIGTERM, SIGHUP, SIGQUIT])
    }

    /// For train: every stop signal asks the loop to stop after the current step (the caller then writes the
    /// partial record and exits 128 + the signal); a second one ends the process at once.
    static func install() {
        for number in all {
            signal(number) { number in
                if !StopSignals.first.compareExchange(expected: 0, desired: number, ordering: .relaxed).exchanged {
                    _exit(128 + number)
                }
            }
        }
        unblock(all)
    }

    /// For a rank of a run over ranks: a stop signal (mpirun sends SIGTERM to every rank when one of them ends, and
    /// forwards Ctrl-C) ends this rank at once with one line and status 3 — the ranks cannot agree on a step to stop
    /// after, and a partial record of one rank would misstate the run.
    static func installRankExit(rank: Int) {
        // Rank 0 alone says it, so a run prints the stop once (mpirun signals every rank).
        if rank == 0 {
            let line =
                "memplan: error: stopped by a signal: the run ended on another rank or was interrupted; no record is written\n"
            rankLine = strdup(line)
        }
        for number in all {
            signal(number) { _ in
                if let line = StopSignals.rankLine { _ = write(2, line, strlen(line)) }
                _exit(3)
            }
        }
        unblock(all)
    }

    /// The line `installRankExit` writes on rank 0, prepared before any signal can arrive; nil on the other ranks.
    nonisolated(unsafe) private static var rankLine: UnsafeMutablePointer<CChar>?

    /// A parent may have started us with these blocked (some process launchers do, Foundation's Process among them).
    private static func unblock(_ numbers: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for number in numbers { sigaddset(&set, number) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

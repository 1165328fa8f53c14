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

    /// A parent may have started us with these blocked (some process launchers do, Foundation's Process among them).
    private static func unblock(_ numbers: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for number in numbers { sigaddset(&set, number) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

// Persistent worker threads that run one part each of a split kernel, without allocating.
//
// OpenBLAS's own threaded level-3 path mallocs a job array on every call, so memplan runs
// OpenBLAS single-threaded and splits each step's products itself: the caller runs part 0,
// each worker one further part. Workers spin briefly for the next job (the gaps inside a step
// are microseconds) and then block on a condition variable, so an idle or shared machine is
// not burned by spinning.

import Foundation
import Synchronization

/// Runs `parts(count)` of a job on the caller and `count − 1` workers.
final class WorkerPool: @unchecked Sendable {
    /// Parts per job: the caller plus the workers.
    let partCount: Int
    /// What the workers run: called with the part index 1 ..< partCount.
    private var body: ((Int) -> Void)?
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// Workers that have entered their loop; `init` returns only when all have, so a pool released
    /// right away never has a worker still about to read its `unowned self` (which would trap).
    private let started = Atomic<Int>(0)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let work: UnsafeMutablePointer<pthread_cond_t>
    private let done: UnsafeMutablePointer<pthread_cond_t>
    private var threads: [Thread] = []
    /// Spin iterations before blocking, about 1 ms on a 2026 x86 core: longer than the gaps between a
    /// step's ops and than the parts of one op differ by (a part takes 50–500 µs at W1's shapes, and on a
    /// shared VM one core often runs 10–20% behind the other). At 50,000 (≈ 30 µs) the caller blocked on
    /// most joins (about 1,700 futex waits a second of training), each paying a wake-up that a VM
    /// makes slow. Measured in alternating pairs with 2 threads: 1.01× (fp32, within the noise) and
    /// 1.05× (fp64) the samples per second.
    private let spinLimit = 2_000_000

    /// Starts `partCount − 1` worker threads (none for 1).
    init(partCount: Int) {
        self.partCount = max(1, partCount)
        mutex = .allocate(capacity: 1)
        work = .allocate(capacity: 1)
        done = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(work, nil)
        pthread_cond_init(done, nil)
        for part in 1..<self.partCount {
            let thread = Thread { [unowned self] in self.workerLoop(part: part) }
            thread.name = "memplan-worker-\(part)"
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
        while started.load(ordering: .acquiring) < self.partCount - 1 { sched_yield() }
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        pthread_mutex_lock(mutex)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(work)
        pthread_mutex_unlock(mutex)
        // Workers hold `unowned self`; wait until each has left its loop.
        while pending.load(ordering: .acquiring) > -(partCount - 1) { sched_yield() }
        pthread_cond_destroy(work)
        pthread_cond_destroy(done)
        pthread_mutex_destroy(mutex)
        work.deallocate()
        done.deallocate()
        mutex.deallocate()
    }

    /// Installs what the workers run. Done once; the closure is not reallocated per job.
    func setBody(_ body: @escaping (Int) -> Void) {
        self.body = body
    }

    /// Runs every part of the current job: `local(0)` here, the installed body on the workers,
    /// and returns when all parts are done.
    @inline(__always)
    func run(_ local: (Int) -> Void) {
        guard partCount > 1 else {
            local(0)
            return
        }
        pending.store(partCount - 1, ordering: .relaxed)
        pthread_mutex_lock(mutex)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(work)
        pthread_mutex_unlock(mutex)
        local(0)
        var spins = 0
        while pending.load(ordering: .acquiring) > 0 {
            spins += 1
            if spins >= spinLimit {
                pthread_mutex_lock(mutex)
                while pending.load(ordering: .acquiring) > 0 { pthread_cond_wait(done, mutex) }
                pthread_mutex_unlock(mutex)
                break
            }
        }
    }

    private func workerLoop(part: Int) {
        started.add(1, ordering: .releasing)
        // Generation 0 is "no job yet": a job posted before this thread first runs is still seen as new.
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen, spins < spinLimit { spins += 1 }
            if generation.load(ordering: .acquiring) == seen {
                pthread_mutex_lock(mutex)
                while generation.load(ordering: .acquiring) == seen { pthread_cond_wait(work, mutex) }
                pthread_mutex_unlock(mutex)
            }
            seen = generation.load(ordering: .acquiring)
            if stopping.load(ordering: .acquiring) {
                pending.subtract(1, ordering: .releasing)
                return
            }
            body?(part)
            if pending.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// The half-open range of part `part` when `count` items are split into `parts` parts.
    @inline(__always)
    static func range(of part: Int, parts: Int, count: Int) -> Range<Int> {
        (count * part / parts)..<(count * (part + 1) / parts)
    }
}

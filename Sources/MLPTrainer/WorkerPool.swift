// Persistent worker threads that run one part each of a split kernel, without allocating.
//
// OpenBLAS's own threaded level-3 path mallocs a job array on every call, so memplan runs
// OpenBLAS single-threaded and splits each step's products itself: the caller runs part 0,
// each worker one further part. Workers spin briefly for the next job (the gaps inside a step
// are microseconds) and then block on a condition variable, so an idle or shared machine is
// not burned by spinning.
//
// Parts get shares of each job that follow their measured speed (`range(of:count:granule:)`):
// on a shared VM one vCPU often runs 1.2–1.5× slower than the other for seconds at a time, and
// an even split then leaves the fast core waiting at every join.

import Foundation
import Synchronization

/// Runs `parts(count)` of a job on the caller and `count − 1` workers.
public final class WorkerPool: @unchecked Sendable {
    /// Parts per job: the caller plus the workers.
    public let partCount: Int
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
    /// Part p's share of every job that splits by `range(of:count:granule:)`; sums to 1. Changed only by the
    /// caller between jobs, so every part of one job computes its range from the same shares.
    private let shares: UnsafeMutablePointer<Double>
    /// Nanoseconds part p spent on the current job, and the fraction of it it was handed; each part writes its own.
    private let busyNanoseconds: UnsafeMutablePointer<Int>
    private let handedOut: UnsafeMutablePointer<Double>
    /// Sums over the current window of jobs: busy time and work done (fraction × the job's total busy time).
    private let windowTime: UnsafeMutablePointer<Double>
    private let windowWork: UnsafeMutablePointer<Double>
    private var windowJobs = 0
    /// How many times the shares have moved toward the parts' measured speeds.
    public private(set) var shareUpdates = 0
    /// Whether shares follow the parts' speeds; MEMPLAN_SPLIT=even keeps them equal (for side-by-side measurement).
    public var balances: Bool
    /// Jobs per rebalancing window, and the smallest share a part keeps (× 1/partCount).
    private static let window = 64
    private static let smallestShare = 0.4
    /// Jobs shorter than this (summed over the parts) are not measured: their time is mostly fixed cost (the
    /// wake-up, a thin product's setup), which does not shrink with a smaller share, so work ÷ time would read a
    /// part's larger share as speed and push the shares apart. (The 10-wide output layer's jobs at batch 128 are
    /// this short; its 30–500 µs products are not.) The trainer also marks batch 1's jobs unmeasured: counted,
    /// their rare long outliers (a preempted part) moved the shares, and the per-sample loop fell from 33k to
    /// 13–23k samples/s.
    private static let shortestMeasuredJob = 40_000
    /// Spin iterations before blocking, about 1 ms on a 2026 x86 core: longer than the gaps between a
    /// step's ops and than the parts of one op differ by (a part takes 50–500 µs at W1's shapes, and on a
    /// shared VM one core often runs 10–20% behind the other). At 50,000 (≈ 30 µs) the caller blocked on
    /// most joins (about 1,700 futex waits a second of training), each paying a wake-up that a VM
    /// makes slow. Measured in alternating pairs with 2 threads: 1.01× (fp32, within the noise) and
    /// 1.05× (fp64) the samples per second.
    private let spinLimit = 2_000_000

    /// Starts `partCount − 1` worker threads (none for 1).
    public init(partCount: Int) {
        self.partCount = max(1, partCount)
        shares = .allocate(capacity: self.partCount)
        shares.initialize(repeating: 1 / Double(self.partCount), count: self.partCount)
        busyNanoseconds = .allocate(capacity: self.partCount)
        busyNanoseconds.initialize(repeating: 0, count: self.partCount)
        handedOut = .allocate(capacity: self.partCount)
        handedOut.initialize(repeating: 1 / Double(self.partCount), count: self.partCount)
        windowTime = .allocate(capacity: self.partCount)
        windowTime.initialize(repeating: 0, count: self.partCount)
        windowWork = .allocate(capacity: self.partCount)
        windowWork.initialize(repeating: 0, count: self.partCount)
        balances = self.partCount > 1 && ProcessInfo.processInfo.environment["MEMPLAN_SPLIT"] != "even"
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
        for pointer in [shares, handedOut, windowTime, windowWork] { pointer.deallocate() }
        busyNanoseconds.deallocate()
    }

    /// Installs what the workers run. Done once; the closure is not reallocated per job.
    public func setBody(_ body: @escaping (Int) -> Void) {
        self.body = body
    }

    /// Runs every part of the current job: `local(0)` here, the installed body on the workers,
    /// and returns when all parts are done. `measured` false keeps the job out of the rebalancing: a job
    /// whose parts' work does not scale with their shares (batch 1's matrix-vector products, say).
    @inline(__always)
    public func run(measured: Bool = true, _ local: (Int) -> Void) {
        guard partCount > 1 else {
            local(0)
            return
        }
        pending.store(partCount - 1, ordering: .relaxed)
        // A part that splits by equal static ranges (or not at all) never records what it was handed.
        for part in 0..<partCount { handedOut[part] = 1 / Double(partCount) }
        pthread_mutex_lock(mutex)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(work)
        pthread_mutex_unlock(mutex)
        let start = Self.now()
        local(0)
        busyNanoseconds[0] = Self.now() - start
        defer { if balances, measured { rebalance() } }
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
            let start = Self.now()
            body?(part)
            busyNanoseconds[part] = Self.now() - start
            if pending.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// The half-open range of part `part` when `count` items are split into `parts` equal parts.
    @inline(__always)
    public static func range(of part: Int, parts: Int, count: Int) -> Range<Int> {
        (count * part / parts)..<(count * (part + 1) / parts)
    }

    /// Part `part`'s range of `count` items in the current job, by the parts' shares: boundaries are multiples of
    /// `granule` (a kernel's panel width, say) except the last, which is `count`. The ranges of all parts are
    /// contiguous, in order, and cover 0 ..< count; a part's may be empty. The fraction handed out is recorded
    /// for rebalancing unless `records` is false (for a range that does not measure the part's work).
    /// `balanced` false splits by equal shares instead, so the range depends on the part count alone: for products
    /// whose rounding may follow where a part starts (BLAS's).
    @inline(__always)
    public func range(of part: Int, count: Int, granule: Int = 1, records: Bool = true, balanced: Bool = true) -> Range<Int> {
        guard partCount > 1 else { return 0..<count }
        let result =
            balanced
            ? boundary(part, count: count, granule: granule)..<boundary(part + 1, count: count, granule: granule)
            : Self.evenBoundary(
                part, parts: partCount, count: count, granule: granule)..<Self.evenBoundary(
                    part + 1, parts: partCount, count: count, granule: granule)
        if records, count > 0 { handedOut[part] = Double(result.count) / Double(count) }
        return result
    }

    /// The smallest share a part keeps, as a fraction of the whole: `smallestShare`/partCount.
    public var smallestPartFraction: Double { Self.smallestShare / Double(partCount) }

    /// count × p / parts rounded to a multiple of granule (0 for part 0, `count` for `parts`): equal shares.
    @inline(__always)
    static func evenBoundary(_ part: Int, parts: Int, count: Int, granule: Int) -> Int {
        if part <= 0 { return 0 }
        if part >= parts { return count }
        let units = (Double(count) * Double(part) / Double(parts) / Double(max(granule, 1))).rounded()
        return min(max(Int(units) * max(granule, 1), 0), count)
    }

    /// 0 for part 0, `count` for `partCount`, else count × (shares of parts before p), rounded to a multiple of granule.
    @inline(__always)
    private func boundary(_ part: Int, count: Int, granule: Int) -> Int {
        if part <= 0 { return 0 }
        if part >= partCount { return count }
        var before = 0.0
        for earlier in 0..<part { before += shares[earlier] }
        let units = (Double(count) * before / Double(max(granule, 1))).rounded()
        return min(max(Int(units) * max(granule, 1), 0), count)
    }

    /// After a job of at least `shortestMeasuredJob`: adds each part's busy time and work to the window; every
    /// `window` such jobs, moves the shares halfway to the parts' measured speeds (work ÷ time), each kept at least
    /// `smallestShare`/partCount.
    private func rebalance() {
        var total = 0
        for part in 0..<partCount { total += busyNanoseconds[part] }
        guard total >= Self.shortestMeasuredJob else { return }
        for part in 0..<partCount {
            windowTime[part] += Double(busyNanoseconds[part])
            windowWork[part] += handedOut[part] * Double(total)
        }
        windowJobs += 1
        guard windowJobs >= Self.window else { return }
        Self.updateShares(shares, time: windowTime, work: windowWork, count: partCount)
        shareUpdates += 1
        windowJobs = 0
        windowTime.update(repeating: 0, count: partCount)
        windowWork.update(repeating: 0, count: partCount)
    }

    /// shares ← ½·shares + ½·speed/Σspeed with speed = work/time (still summing to 1); then a share under the floor
    /// `smallestShare`/count is raised to it, the others giving up the difference in proportion to what they hold
    /// above the floor. A part with no time or no work measured leaves all shares as they were.
    static func updateShares(
        _ shares: UnsafeMutablePointer<Double>, time: UnsafePointer<Double>, work: UnsafePointer<Double>, count: Int
    ) {
        var speedSum = 0.0
        for part in 0..<count {
            guard time[part] > 0, work[part] > 0 else { return }
            speedSum += work[part] / time[part]
        }
        let floor = smallestShare / Double(count)
        var deficit = 0.0
        var aboveFloor = 0.0
        for part in 0..<count {
            shares[part] = 0.5 * shares[part] + 0.5 * work[part] / time[part] / speedSum
            if shares[part] < floor {
                deficit += floor - shares[part]
                shares[part] = floor
            } else {
                aboveFloor += shares[part] - floor
            }
        }
        guard deficit > 0, aboveFloor > 0 else { return }
        for part in 0..<count where shares[part] > floor {
            shares[part] -= deficit * (shares[part] - floor) / aboveFloor
        }
    }

    /// The current shares, for tests and diagnostics.
    var currentShares: [Double] { (0..<partCount).map { shares[$0] } }

    /// The shares' storage, for tests that set them; change them only while no job runs.
    var sharesForTesting: UnsafeMutablePointer<Double> { shares }

    @inline(__always)
    private static func now() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return time.tv_sec * 1_000_000_000 + time.tv_nsec
    }
}

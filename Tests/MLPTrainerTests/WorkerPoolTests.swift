import Foundation
@testable import MLPTrainer
import Testing

@Suite("Worker pool")
struct WorkerPoolTests {
    /// Every part's range for `count` items: contiguous, in order, covering 0 ..< count, inner boundaries on the granule.
    func checkPartition(_ pool: WorkerPool, count: Int, granule: Int) {
        var next = 0
        for part in 0..<pool.partCount {
            let range = pool.range(of: part, count: count, granule: granule)
            #expect(range.lowerBound == next, "part \(part) of \(pool.partCount), count \(count), granule \(granule)")
            #expect(range.lowerBound % granule == 0)
            next = range.upperBound
        }
        #expect(next == count)
    }

    @Test("ranges partition the items on granule boundaries, evenly at first")
    func partitions() {
        for parts in [1, 2, 3] {
            let pool = WorkerPool(partCount: parts)
            for (count, granule) in [(0, 1), (1, 1), (7, 1), (128, 8), (256, 32), (784, 32), (10, 16), (40, 32)] {
                checkPartition(pool, count: count, granule: granule)
            }
        }
        let pool = WorkerPool(partCount: 2)
        #expect(pool.range(of: 0, count: 256, granule: 32) == 0..<128)
        #expect(pool.range(of: 1, count: 128, granule: 8) == 64..<128)
        #expect(pool.currentShares == [0.5, 0.5])
    }

    @Test("shares move toward the parts' speeds, and a slow part keeps a floor")
    func sharesFollowSpeed() {
        let shares = UnsafeMutablePointer<Double>.allocate(capacity: 2)
        defer { shares.deallocate() }
        shares.initialize(repeating: 0.5, count: 2)
        // Equal work, part 1 took twice as long: part 0 is twice as fast; halfway from ½ to ⅔.
        var time: [Double] = [1, 2]
        var work: [Double] = [1, 1]
        WorkerPool.updateShares(shares, time: time, work: work, count: 2)
        #expect(abs(shares[0] - (0.5 + 2.0 / 3) / 2) < 1e-12)
        #expect(abs(shares[0] + shares[1] - 1) < 1e-12)
        // Repeated, the shares converge to the speeds.
        for _ in 0..<40 { WorkerPool.updateShares(shares, time: time, work: work, count: 2) }
        #expect(abs(shares[0] - 2.0 / 3) < 1e-6)
        // A part a thousand times slower keeps the floor, 0.4 / 2.
        time = [1, 1000]
        for _ in 0..<40 { WorkerPool.updateShares(shares, time: time, work: work, count: 2) }
        #expect(abs(shares[1] - 0.2) < 1e-12)
        #expect(abs(shares[0] + shares[1] - 1) < 1e-12)
        // No time measured (a part did nothing): the shares stay.
        let before = (shares[0], shares[1])
        work = [1, 0]
        WorkerPool.updateShares(shares, time: time, work: work, count: 2)
        #expect(shares[0] == before.0 && shares[1] == before.1)
    }

    @Test("a slower part loses share on measured jobs only")
    func measuredJobsRebalance() {
        let pool = WorkerPool(partCount: 2)
        // Part 1 sleeps 2 ms for the same work part 0 does at once: part 0 is hundreds of times faster even on a
        // loaded machine (an earlier version slept 0.1 ms in part 0 too, and oversleeping under load made it flaky).
        pool.setBody { _ in usleep(2_000) }
        for _ in 0..<70 { pool.run(measured: false) { _ in } }
        #expect(pool.currentShares == [0.5, 0.5])
        #expect(pool.shareUpdates == 0)
        for _ in 0..<70 { pool.run { _ in } }
        // One window of 64 jobs: halfway toward ~1, so about 0.75; the floor keeps part 1 at 0.2 at least.
        #expect(pool.shareUpdates == 1)
        #expect(pool.currentShares[0] > 0.7)
        #expect(pool.currentShares[1] >= 0.2 - 1e-12)
    }

    @Test("with uneven shares the partition still covers every item")
    func unevenPartition() throws {
        let pool = WorkerPool(partCount: 3)
        // Drive the shares apart: part 2 twice as slow as parts 0 and 1.
        var time: [Double] = [1, 1, 2]
        let work: [Double] = [1, 1, 1]
        let shares = pool.sharesForTesting
        for _ in 0..<10 { WorkerPool.updateShares(shares, time: time, work: work, count: 3) }
        #expect(pool.currentShares[2] < 0.25)
        #expect(abs(pool.currentShares.reduce(0, +) - 1) < 1e-12)
        for (count, granule) in [(128, 8), (256, 32), (784, 32), (5, 1), (3, 16)] {
            checkPartition(pool, count: count, granule: granule)
        }
    }
}

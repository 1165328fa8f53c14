import ArenaPlanner
import ModelProfile
import Foundation
import TestSupport
import Synchronization
import Testing

/// Every planner, for tests that must hold for all of them.
let allPlanners: [any MemoryPlanner] =
    [LinearPlanner(), SweepPlanner(), BestPlanner()]
    + GreedyPlanner.Ordering.allCases.map { GreedyPlanner(ordering: $0) }
    + SkylinePlanner.Preference.allCases.map { SkylinePlanner(preference: $0) }

/// Checks the invariants every plan must hold and returns it.
@discardableResult
func checkInvariants(_ plan: ArenaPlan, _ context: @autoclosure () -> String = "") -> ArenaPlan {
    let pairs = plan.overlappingPairs()
    #expect(
        pairs.isEmpty,
        "overlap between \(pairs.prefix(3).map { (plan.requests[$0.0].name, plan.requests[$0.1].name) }) \(context())")
    #expect(plan.isWithinArena, "offset misaligned or past the arena \(context())")
    #expect(plan.arenaByteCount >= plan.lowerBound, "arena below the lower bound \(context())")
    return plan
}

@Suite("Planners")
struct PlannerTests {
    @Test(
        "disjoint lifetimes share offset 0 (TFLM's TestGreedyBasics)",
        arguments: allPlanners.filter { $0.name != "linear" }.map(\.name))
    func basics(plannerName: String) throws {
        let planner = try #require(allPlanners.first { $0.name == plannerName })
        let plan = try planner.plan(
            [BufferRequest(name: "a", byteCount: 10, lifetime: 0...1), BufferRequest(name: "b", byteCount: 20, lifetime: 2...3)],
            alignment: 1)
        #expect(plan.offsets == [0, 0])
        #expect(plan.arenaByteCount == 20)
        checkInvariants(plan)
    }

    @Test("overlapping lifetimes get separate, aligned ranges")
    func overlapping() throws {
        let requests = [
            BufferRequest(name: "a", byteCount: 100, lifetime: 0...2), BufferRequest(name: "b", byteCount: 50, lifetime: 2...3),
        ]
        for planner in allPlanners {
            let plan = checkInvariants(try planner.plan(requests, alignment: 64), planner.name)
            #expect(plan.arenaByteCount == 128 + 50 || plan.arenaByteCount == 64 + 100, "\(planner.name): \(plan.offsets)")
        }
    }

    @Test("the no-reuse baseline sums aligned sizes")
    func linear() throws {
        let plan = try LinearPlanner().plan(
            [BufferRequest(name: "a", byteCount: 10, lifetime: 0...0), BufferRequest(name: "b", byteCount: 20, lifetime: 1...1)],
            alignment: 64)
        #expect(plan.offsets == [0, 64])
        #expect(plan.arenaByteCount == 84)
    }

    @Test("the lower bound is the most bytes live at one op")
    func lowerBound() {
        let requests = [
            BufferRequest(name: "a", byteCount: 10, lifetime: 0...1), BufferRequest(name: "b", byteCount: 20, lifetime: 1...2),
            BufferRequest(name: "c", byteCount: 5, lifetime: 2...2), BufferRequest(name: "d", byteCount: 100, lifetime: 4...4),
            BufferRequest(name: "e", byteCount: 0, lifetime: 0...9),
        ]
        #expect(LowerBound.peakLiveBytes(requests) == 100)
        #expect(LowerBound.peakLiveBytes(Array(requests.prefix(3))) == 30)
        #expect(LowerBound.peakLiveBytes([]) == 0)
    }

    @Test("every lifetime assignment of up to 4 buffers over up to 4 ops")
    func exhaustive() throws {
        let sizes = [1, 64, 100, 200]
        var lifetimes: [ClosedRange<Int>] = []
        for first in 0..<4 { for last in first..<4 { lifetimes.append(first...last) } }
        var checked = 0
        for count in 1...3 {
            var indices = [Int](repeating: 0, count: count)
            while true {
                let requests = indices.enumerated().map { position, lifetime in
                    BufferRequest(
                        name: "b\(position)", byteCount: sizes[(position + lifetime) % sizes.count], lifetime: lifetimes[lifetime]
                    )
                }
                let linear = try LinearPlanner().plan(requests, alignment: 64).arenaByteCount
                for planner in allPlanners {
                    checkInvariants(try planner.plan(requests, alignment: 64), "\(planner.name) \(requests)")
                }
                let best = try BestPlanner().plan(requests, alignment: 64)
                #expect(best.arenaByteCount <= linear, "the default planner is worse than no reuse on \(requests)")
                checked += 1
                var position = count - 1
                while position >= 0 {
                    indices[position] += 1
                    if indices[position] < lifetimes.count { break }
                    indices[position] = 0
                    position -= 1
                }
                if position < 0 { break }
            }
        }
        #expect(checked == 10 + 100 + 1000)
    }

    @Test("bad input: alignment, sizes, lifetimes, overflow")
    func errors() {
        let one = [BufferRequest(name: "a", byteCount: 8, lifetime: 0...0)]
        for planner in allPlanners {
            #expect(throws: PlanError.invalidAlignment(0)) { try planner.plan(one, alignment: 0) }
            #expect(throws: PlanError.invalidAlignment(48)) { try planner.plan(one, alignment: 48) }
            #expect(throws: PlanError.invalidAlignment(-64)) { try planner.plan(one, alignment: -64) }
            #expect(throws: PlanError.negativeSize(name: "n", byteCount: -1)) {
                try planner.plan([BufferRequest(name: "n", byteCount: -1, lifetime: 0...0)], alignment: 64)
            }
            #expect(throws: PlanError.invalidLifetime(name: "l", first: -1, last: 2)) {
                try planner.plan([BufferRequest(name: "l", byteCount: 1, lifetime: -1...2)], alignment: 64)
            }
            let huge = [
                BufferRequest(name: "h1", byteCount: Int.max / 2 + 1, lifetime: 0...1),
                BufferRequest(name: "h2", byteCount: Int.max / 2 + 1, lifetime: 1...2),
            ]
            #expect(throws: PlanError.self, "\(planner.name)") { try planner.plan(huge, alignment: 64) }
        }
    }

    @Test("the mapped size is whole pages, at least one, saturating at the last whole page below Int.max")
    func mappedBytes() {
        func mapped(_ arenaByteCount: Int, pageSize: Int = 4096) -> Int {
            ArenaPlan(requests: [], offsets: [], arenaByteCount: arenaByteCount, alignment: 64, strategy: "test")
                .mappedByteCount(pageSize: pageSize)
        }
        #expect(mapped(0) == 4096)
        #expect(mapped(1) == 4096)
        #expect(mapped(4096) == 4096)
        #expect(mapped(4097) == 8192)
        #expect(mapped(10_000, pageSize: 1000) == 10_000)
        #expect(mapped(Int.max) == Int.max / 4096 * 4096)
        #expect(mapped(Int.max - 5000) == Int.max / 4096 * 4096)
    }
}

@Suite("Planner quality on random buffer sets")
struct RandomPlannerTests {
    /// Up to 200 buffers over up to n ops; sizes log-uniform in [64 B, 1 MiB], whole multiples of the
    /// 64-byte alignment (so the ratio measures packing, not padding); a random start and a length
    /// uniform up to the end of the schedule (`shortLived`: up to an eighth of it).
    static func randomRequests(seed: UInt64, shortLived: Bool = false) -> [BufferRequest] {
        var rng = SplitMix64(seed: seed)
        let count = Int.random(in: 1...200, using: &rng)
        let ops = Int.random(in: 1...count, using: &rng)
        return (0..<count).map { index in
            let size = Int(exp(Double.random(in: log(64.0)...log(1_048_576.0), using: &rng))) / 64 * 64
            let first = Int.random(in: 0..<ops, using: &rng)
            let longest = shortLived ? min(ops - first, max(1, ops / 8)) : ops - first
            let length = Int.random(in: 1...longest, using: &rng)
            return BufferRequest(name: "b\(index)", byteCount: size, lifetime: first...(first + length - 1))
        }
    }

    /// Each seed's arena / lower bound, the seeds planned on every core at once (the 1,000 sets were the suite's
    /// longest test).
    static func ratios(seeds: Range<UInt64>, shortLived: Bool) throws -> [(ratio: Double, seed: UInt64)] {
        let seeds = Array(seeds)
        let results = Mutex<[Int: Result<ArenaPlan, Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: seeds.count) { index in
            let plan = Result<ArenaPlan, Error> {
                try BestPlanner().plan(randomRequests(seed: seeds[index], shortLived: shortLived), alignment: 64)
            }
            results.withLock { $0[index] = plan }
        }
        let all = results.withLock { $0 }
        // The invariants are checked here, on the test's own thread, where its expectations are recorded.
        return try seeds.indices.map { index in
            let plan = checkInvariants(try all[index]!.get(), "seed \(seeds[index])")
            return (Double(plan.arenaByteCount) / Double(plan.lowerBound), seeds[index])
        }
    }

    @Test("1,000 seeded sets: never an overlap; median arena/lower bound ≤ 1.03, worst ≤ 1.15")
    func thousandSets() throws {
        let results = try Self.ratios(seeds: 0..<1000, shortLived: false)
        let sorted = results.map(\.ratio).sorted()
        let median = sorted[sorted.count / 2]
        let worst = try #require(results.max { $0.ratio < $1.ratio })
        #expect(median <= 1.03, "median \(median)")
        #expect(worst.ratio <= 1.15, "worst \(worst.ratio) at seed \(worst.seed)")
        print("random sets: median \(median), p90 \(sorted[900]), worst \(worst.ratio) (seed \(worst.seed))")
    }

    @Test("short-lived buffers pack at least as well")
    func shortLived() throws {
        let results = try Self.ratios(seeds: 1000..<1300, shortLived: true)
        let sorted = results.map(\.ratio).sorted()
        #expect(sorted[sorted.count / 2] <= 1.03)
        #expect(sorted.last! <= 1.15)
    }

    @Test("every strategy is overlap-free on random sets")
    func everyStrategy() throws {
        for seed in UInt64(2000)..<2050 {
            let requests = Self.randomRequests(seed: seed)
            for planner in allPlanners {
                checkInvariants(try planner.plan(requests, alignment: 64), "\(planner.name) seed \(seed)")
            }
        }
    }
}

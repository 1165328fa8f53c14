// The ring collectives against plain sums: N ranks as N threads over an in-process link.

import Foundation
import Synchronization
import Testing

@testable import MLPTrainer

/// N ranks in one process: each ordered pair (from, to) has a mailbox of byte messages; a receive waits for its message.
final class ThreadWorld: Sendable {
    let size: Int
    /// Mailbox from · size + to → messages in order.
    private let boxes = Mutex<[Int: [[UInt8]]]>([:])
    private let signals: [DispatchSemaphore]

    init(size: Int) {
        self.size = size
        signals = (0..<(size * size)).map { _ in DispatchSemaphore(value: 0) }
    }

    func post(_ bytes: [UInt8], from: Int, to: Int) {
        boxes.withLock { $0[from * size + to, default: []].append(bytes) }
        signals[from * size + to].signal()
    }

    func take(from: Int, to: Int) -> [UInt8] {
        signals[from * size + to].wait()
        return boxes.withLock { $0[from * size + to]!.removeFirst() }
    }

    final class Link: RankLink, @unchecked Sendable {
        let world: ThreadWorld
        let rank: Int
        var size: Int { world.size }
        /// Bytes each sendReceive carried, for checking the volume.
        var sentBytes = 0

        init(world: ThreadWorld, rank: Int) {
            self.world = world
            self.rank = rank
        }

        func sendReceive(
            _ send: UnsafeRawPointer, byteCount sendCount: Int, to destination: Int, into receive: UnsafeMutableRawPointer,
            byteCount receiveCount: Int, from source: Int
        ) {
            world.post(Array(UnsafeRawBufferPointer(start: send, count: sendCount)), from: rank, to: destination)
            let bytes = world.take(from: source, to: rank)
            precondition(bytes.count == receiveCount, "ThreadWorld: \(bytes.count) bytes arrived, \(receiveCount) expected")
            bytes.withUnsafeBytes { receive.copyMemory(from: $0.baseAddress!, byteCount: receiveCount) }
            sentBytes += sendCount
        }

        func sum(_ values: [Double]) -> [Double] { preconditionFailure("not used") }
    }
}

/// Runs `body(rank)` on `size` threads at once and returns their results in rank order.
func onRanks<R: Sendable>(_ size: Int, _ body: @escaping @Sendable (Int, ThreadWorld.Link) -> R) -> [R] {
    let world = ThreadWorld(size: size)
    let results = Mutex<[Int: R]>([:])
    // One thread per rank, all at once (a pool of fewer threads than ranks would deadlock in the ring).
    let done = DispatchSemaphore(value: 0)
    for rank in 0..<size {
        Thread {
            let value = body(rank, ThreadWorld.Link(world: world, rank: rank))
            results.withLock { $0[rank] = value }
            done.signal()
        }.start()
    }
    for _ in 0..<size { done.wait() }
    return results.withLock { dictionary in (0..<size).map { dictionary[$0]! } }
}

@Suite("Ring exchange over ranks")
struct RingExchangeTests {
    /// Rank r's buffer: element i = (r + 1) · (i + 1) + r/7 (distinct per rank and element).
    static func values(rank: Int, count: Int) -> [Double] {
        (0..<count).map { Double(rank + 1) * Double($0 + 1) + Double(rank) / 7 }
    }

    @Test(
        "all-reduce leaves every rank the same sums, for every count and world size",
        arguments: [2, 3, 4], [0, 1, 2, 5, 17, 64])
    func allReduceSums(size: Int, count: Int) {
        let results = onRanks(size) { rank, link in
            var buffer = Self.values(rank: rank, count: count)
            let chunk = count / size + 1
            var scratch = [Double](repeating: .nan, count: chunk)
            buffer.withUnsafeMutableBufferPointer { b in
                scratch.withUnsafeMutableBufferPointer { s in
                    RingExchange<Double>(link: link, scratch: s.baseAddress!, scratchCount: chunk)
                        .allReduce(b.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!, count: count)
                }
            }
            return buffer
        }
        let expected = (0..<count).map { i in (0..<size).reduce(0.0) { $0 + Self.values(rank: $1, count: count)[i] } }
        for rank in 0..<size {
            #expect(results[rank] == results[0], "rank \(rank) differs from rank 0: the sums must be bit-identical")
            for i in 0..<count { #expect(abs(results[rank][i] - expected[i]) <= 1e-12 * abs(expected[i])) }
        }
    }

    @Test("reduce-scatter leaves rank r the sum of chunk r; all-gather copies each rank's chunk to all")
    func reduceScatterOwnsChunkR() {
        let (size, count) = (3, 10)
        let results = onRanks(size) { rank, link in
            var buffer = Self.values(rank: rank, count: count).map(Float.init)
            var scratch = [Float](repeating: .nan, count: 4)
            var afterScatter: [Float] = []
            buffer.withUnsafeMutableBufferPointer { b in
                scratch.withUnsafeMutableBufferPointer { s in
                    let ring = RingExchange<Float>(link: link, scratch: s.baseAddress!, scratchCount: 4)
                    ring.reduceScatter(b.baseAddress!, count: count)
                    afterScatter = Array(b)
                    // Each rank replaces its own chunk by rank-tagged values; the gather must spread exactly those.
                    for i in ring.ownedChunk(of: count) { b[i] = Float(1000 * (rank + 1) + i) }
                    ring.allGather(b.baseAddress!, count: count)
                }
            }
            return (afterScatter, buffer)
        }
        for rank in 0..<size {
            let owned = RingExchange<Float>.chunk(rank, of: count, parts: size)
            #expect(owned == [0..<4, 4..<8, 8..<10][rank])
            for i in owned {
                let sum = (0..<size).reduce(Float(0)) { $0 + Float(Self.values(rank: $1, count: count)[i]) }
                #expect(abs(results[rank].0[i] - sum) <= 1e-5 * abs(sum))
            }
            let gathered = (0..<count).map { i in
                Float(1000 * ((0..<size).first { RingExchange<Float>.chunk($0, of: count, parts: size).contains(i) }! + 1) + i)
            }
            #expect(results[rank].1 == gathered)
        }
    }

    @Test("one rank: every collective leaves the buffer alone")
    func oneRank() {
        let results = onRanks(1) { _, link in
            var buffer: [Float] = [1, 2, 3]
            var scratch: [Float] = [0]
            buffer.withUnsafeMutableBufferPointer { b in
                scratch.withUnsafeMutableBufferPointer { s in
                    RingExchange<Float>(link: link, scratch: s.baseAddress!, scratchCount: 1).allReduce(b.baseAddress!, count: 3)
                }
            }
            return buffer
        }
        #expect(results[0] == [1, 2, 3])
    }
}

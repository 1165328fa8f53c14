// The gradient exchange of a step split over ranks: ring reduce-scatter and all-gather over point-to-point calls, on
// arena buffers only (each tensor in place, one planned chunk to receive into). No MPI here: a `RankLink` carries the
// bytes (MPIRanks' over MPI_Sendrecv; tests may use threads).

/// One rank's link to the others of its world.
public protocol RankLink: AnyObject {
    /// This process's rank, 0 ..< size.
    var rank: Int { get }
    /// Ranks in the world.
    var size: Int { get }
    /// Sends `sendCount` bytes at `send` to rank `destination` while receiving `receiveCount` bytes from rank `source`
    /// into `receive` (MPI_Sendrecv); returns when both are done. Must not allocate once warm.
    func sendReceive(
        _ send: UnsafeRawPointer, byteCount sendCount: Int, to destination: Int, into receive: UnsafeMutableRawPointer,
        byteCount receiveCount: Int, from source: Int)
    /// Element-wise sums of `values` over all ranks, on every rank: a collective for outside the step (epoch metrics);
    /// it may allocate.
    func sum(_ values: [Double]) -> [Double]
}

/// Ring collectives over `link` on buffers of `T`, receiving into `scratch` (`scratchCount` elements, at least
/// ⌈count/size⌉ for every buffer reduced: the plan's "ring chunk").
///
/// A buffer of `count` elements is cut into `size` chunks of ⌈count/size⌉ (the last ones shorter or empty); rank r
/// owns chunk r. Reduce-scatter: N − 1 steps, at step s rank r sends chunk (r − s − 1) mod N to r + 1 and adds chunk
/// (r − s − 2) mod N received from r − 1, so rank r ends holding the sum of chunk r over all ranks. All-gather: N − 1
/// steps, rank r sends chunk (r − s) and receives chunk (r − s − 1) in place. Each sum is formed once, on one rank, and
/// copied to the others: every rank ends with bit-identical values.
struct RingExchange<T: TrainingScalar> {
    let link: RankLink
    let scratch: UnsafeMutablePointer<T>
    let scratchCount: Int

    var rank: Int { link.rank }
    var size: Int { link.size }

    /// Chunk `index` of a buffer of `count` elements cut `parts` ways: [index·c, min(count, (index + 1)·c)), c = ⌈count/parts⌉.
    static func chunk(_ index: Int, of count: Int, parts: Int) -> Range<Int> {
        let length = count / parts + (count % parts == 0 ? 0 : 1)
        let lower = min(count, index * length)
        return lower..<min(count, lower + length)
    }

    /// The chunk of a `count`-element buffer this rank owns.
    func ownedChunk(of count: Int) -> Range<Int> { Self.chunk(rank, of: count, parts: size) }

    private func wrapped(_ index: Int) -> Int { ((index % size) + size) % size }

    /// After it, chunk `rank` of `buffer` (count elements) holds the sum over all ranks; other chunks hold partial sums.
    func reduceScatter(_ buffer: UnsafeMutablePointer<T>, count: Int) {
        guard size > 1 else { return }
        precondition(Self.chunk(0, of: count, parts: size).count <= scratchCount, "RingExchange: the ring chunk is too small")
        let (next, previous) = (wrapped(rank + 1), wrapped(rank - 1))
        let stride = MemoryLayout<T>.stride
        for step in 0..<(size - 1) {
            let sent = Self.chunk(wrapped(rank - step - 1), of: count, parts: size)
            let received = Self.chunk(wrapped(rank - step - 2), of: count, parts: size)
            link.sendReceive(
                buffer + sent.lowerBound, byteCount: sent.count * stride, to: next, into: scratch,
                byteCount: received.count * stride, from: previous)
            let target = buffer + received.lowerBound
            for index in 0..<received.count { target[index] += scratch[index] }  // (chunk)
        }
    }

    /// Copies each rank's chunk r of `buffer` to every rank, in place.
    func allGather(_ buffer: UnsafeMutablePointer<T>, count: Int) {
        guard size > 1 else { return }
        let (next, previous) = (wrapped(rank + 1), wrapped(rank - 1))
        let stride = MemoryLayout<T>.stride
        for step in 0..<(size - 1) {
            let sent = Self.chunk(wrapped(rank - step), of: count, parts: size)
            let received = Self.chunk(wrapped(rank - step - 1), of: count, parts: size)
            link.sendReceive(
                buffer + sent.lowerBound, byteCount: sent.count * stride, to: next, into: buffer + received.lowerBound,
                byteCount: received.count * stride, from: previous)
        }
    }

    /// Sums `buffer` over all ranks, in place: reduce-scatter, then all-gather.
    func allReduce(_ buffer: UnsafeMutablePointer<T>, count: Int) {
        reduceScatter(buffer, count: count)
        allGather(buffer, count: count)
    }
}

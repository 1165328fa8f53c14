// The orders planners place buffers in, as lists of keys: one comparator for the greedy, sweep and skyline orders.

/// One criterion of a placement order. An order is a list of keys, most significant first; requests equal under
/// every key keep their request order, so every order is total and a plan is deterministic.
enum PlacementKey: Sendable {
    /// Live at every op of the step (first op 0, last op the step's last) before the rest.
    case persistentFirst
    /// More bytes first.
    case largest
    /// Longer lifetime (last − first + 1 ops) first.
    case longest
    /// Larger bytes × lifetime first (saturating at `Int.max`).
    case largestArea
    /// Earlier first op first.
    case earliestStart
    /// Later last op first.
    case latestEnd

    /// The rank of `request` under this key: the smaller goes first. `lastOp` is the step's last op.
    @inline(__always)
    func rank(_ request: BufferRequest, lastOp: Int) -> Int {
        let (first, last) = (request.lifetime.lowerBound, request.lifetime.upperBound)
        switch self {
        case .persistentFirst: return first == 0 && last == lastOp ? 0 : 1
        case .largest: return -request.byteCount
        case .longest: return first - last
        case .largestArea:
            // bytes × (last − first + 1), as bytes × (last − first) + bytes so that no step can overflow unseen.
            let (product, productOverflow) = request.byteCount.multipliedReportingOverflow(by: last - first)
            let (area, sumOverflow) = product.addingReportingOverflow(request.byteCount)
            return productOverflow || sumOverflow ? -Int.max : -area
        case .earliestStart: return first
        case .latestEnd: return -last
        }
    }

    /// Indices of `requests` sorted by `keys` in turn, then by index; with `skippingEmpty`, only those with bytes.
    /// The requests must be valid (`validate`: sizes ≥ 0, first op ≥ 0), so no rank overflows. Each request's ranks
    /// are computed once, before the sort.
    static func order(_ requests: [BufferRequest], by keys: [PlacementKey], skippingEmpty: Bool = false) -> [Int] {
        let lastOp = keys.contains(.persistentFirst) ? requests.map(\.lifetime.upperBound).max() ?? 0 : 0
        let indices = skippingEmpty ? requests.indices.filter { requests[$0].byteCount > 0 } : Array(requests.indices)
        let width = keys.count
        var ranks = [Int](repeating: 0, count: requests.count * width)  // (request, key)
        for index in indices {
            for (position, key) in keys.enumerated() {
                ranks[index * width + position] = key.rank(requests[index], lastOp: lastOp)
            }
        }
        return ranks.withUnsafeBufferPointer { ranks in
            indices.sorted { i, j in
                for position in 0..<width where ranks[i * width + position] != ranks[j * width + position] {
                    return ranks[i * width + position] < ranks[j * width + position]
                }
                return i < j
            }
        }
    }
}

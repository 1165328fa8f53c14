// The kernel's view of a region of an arena: which of its pages are resident, and giving pages back so the next
// write faults them in again. For measuring what a growing buffer (a KV cache) really touches.

import Foundation

extension Arena {
    /// The pages that lie wholly inside `[offset, offset + byteCount)`: first page index and count.
    func innerPages(offset: Int, byteCount: Int) -> (first: Int, count: Int) {
        let first = (offset + pageSize - 1) / pageSize
        let end = min(offset + byteCount, mappedByteCount) / pageSize
        return (first, max(0, end - first))
    }

    /// Gives the pages wholly inside `[offset, offset + byteCount)` back to the kernel (`madvise(MADV_DONTNEED)`):
    /// they read as zeros and are not resident until written again. Huge pages are turned off for the whole arena
    /// first (`MADV_NOHUGEPAGE`, over the whole mapping so it stays one mapping), so a page comes back one base page at
    /// a time. Returns the bytes released, or nil when the kernel refused.
    ///
    /// The corresponding C function is `madvise`.
    @discardableResult
    public func releasePages(offset: Int, byteCount: Int) -> Int? {
        precondition(offset >= 0 && byteCount >= 0, "Arena.releasePages: [\(offset), +\(byteCount)) is not a range")
        let (first, count) = innerPages(offset: offset, byteCount: byteCount)
        guard count > 0 else { return 0 }
        _ = madvise(baseAddress, mappedByteCount, MADV_NOHUGEPAGE)  // best effort: without THP it changes nothing
        guard madvise(baseAddress + first * pageSize, count * pageSize, MADV_DONTNEED) == 0 else { return nil }
        return count * pageSize
    }

    /// Resident bytes of the pages that lie wholly inside `[offset, offset + byteCount)`, by `mincore` (whole pages),
    /// or nil when the kernel refused.
    ///
    /// The corresponding C function is `mincore`.
    public func residentByteCount(offset: Int, byteCount: Int) -> Int? {
        precondition(offset >= 0 && byteCount >= 0, "Arena.residentByteCount: [\(offset), +\(byteCount)) is not a range")
        let (first, count) = innerPages(offset: offset, byteCount: byteCount)
        guard count > 0 else { return 0 }
        var vector = [UInt8](repeating: 0, count: count)
        guard mincore(baseAddress + first * pageSize, count * pageSize, &vector) == 0 else { return nil }
        return vector.reduce(0) { $0 + Int($1 & 1) } * pageSize
    }
}

import Foundation
import NUMAArena
import Testing

@Suite("NUMA arena", .serialized)
struct ArenaTests {
    @Test("the topology has at least one node with CPUs and memory")
    func topology() {
        let topology = NUMATopology.current()
        #expect(!topology.nodes.isEmpty)
        let first = topology.nodes[0]
        #expect(!first.cpus.isEmpty)
        #expect(first.totalBytes > 0)
        #expect(first.freeBytes > 0 && first.freeBytes <= first.totalBytes)
        #expect(topology.distances.count == topology.nodes.count)
        #expect(topology.distances[0][0] == 10)
    }

    @Test(
        "placements parse",
        arguments: [("local", Placement.local), ("interleave", .interleave), ("node:1", .node(1)), ("node0", .node(0))])
    func placementParses(text: String, expected: Placement) {
        #expect(Placement(text) == expected)
    }

    @Test("bad placements do not parse", arguments: ["", "node:", "node:-1", "node:x", "remote", "node:99999999"])
    func badPlacement(text: String) {
        #expect(Placement(text) == nil)
    }

    @Test(
        "an arena's pages are all resident after allocation, on the local node",
        arguments: [Placement.local, .node(0), .interleave])
    func residentPages(placement: Placement) throws {
        let arena = try Arena(byteCount: 8 << 20, placement: placement)
        let census = arena.pageCensus()
        #expect(census.pageCount == (8 << 20) / census.pageSize)
        #expect(census.notResident == 0)
        #expect(census.residentPages == census.pageCount)
        // This machine has one node; the two-node case runs in the qemu VM (Tests/numa-vm).
        if NUMATopology.current().nodes.count == 1 {
            #expect(census.pagesByNode == [0: census.pageCount])
        }
        // Under ThreadSanitizer /proc/self/numa_maps cannot be read back (its shadow mappings); skip the check there.
        if arena.isNUMABacked, !underThreadSanitizer {
            #expect(arena.numaMapsLine()?.contains("N0=") == true)
        }
    }

    @Test("typed pointers resolve planned offsets")
    func pointers() throws {
        let arena = try Arena(byteCount: 1000, placement: .local)
        #expect(arena.mappedByteCount == arena.pageSize)
        let floats = arena.pointer(at: 64, count: 10, as: Float.self)
        floats[9] = 42
        #expect(arena.baseAddress.load(fromByteOffset: 64 + 36, as: Float.self) == 42)
    }

    @Test("a node that does not exist is refused, listing the nodes")
    func missingNode() {
        let nodes = NUMATopology.current().nodes.map(\.id)
        #expect(throws: NUMAError.noSuchNode(requested: 97, available: nodes)) {
            try Arena(byteCount: 4096, placement: .node(97))
        }
        #expect(NUMAError.noSuchNode(requested: 97, available: [0]).description.contains("it has node 0"))
    }

    @Test("an arena larger than free memory is refused with both numbers")
    func tooLarge() {
        do {
            _ = try Arena(byteCount: 1 << 55, placement: .local)
            Issue.record("a 32 PiB arena was allowed")
        } catch {
            guard case .insufficientMemory(let required, let free, _) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(required == 1 << 55)
            #expect(free > 0)
            #expect(error.description.contains("--force"))
        }
    }

    @Test("process memory: RSS and its peak are read, and the peak can be reset")
    func processMemory() throws {
        #expect(ProcessMemory.residentBytes() > 0)
        #expect(ProcessMemory.resetPeak())
        let before = ProcessMemory.peakResidentBytes()
        let arena = try Arena(byteCount: 32 << 20, placement: .local)
        let after = ProcessMemory.peakResidentBytes()
        #expect(after - before >= (32 << 20) * 9 / 10, "peak grew by \(after - before)")
        _ = arena
        #expect(ProcessMemory.systemMemory().total > 0)
    }
}

/// Whether this test binary runs under ThreadSanitizer (its runtime is linked in), however it was started.
let underThreadSanitizer = dlsym(nil, "__tsan_init") != nil

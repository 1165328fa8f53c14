// The only file that calls libnuma (numa_*, move_pages). One-line pass-throughs, so the rest of
// the module is plain Swift and a fault-injection seam is one file wide.

import CNUMA
import Foundation

enum LibNUMA {
    /// Whether the kernel and libnuma support NUMA policy. The corresponding C function is `numa_available`.
    static func isAvailable() -> Bool { numa_available() >= 0 }

    /// The highest node number. The corresponding C function is `numa_max_node`.
    static func maxNode() -> Int { Int(numa_max_node()) }

    /// Total and free bytes of a node, nil if the node has no memory or does not exist.
    /// The corresponding C function is `numa_node_size64`.
    static func nodeSize(_ node: Int) -> (total: Int, free: Int)? {
        var free: Int64 = 0
        let total = numa_node_size64(Int32(node), &free)
        guard total >= 0 else { return nil }
        return (Int(total), Int(free))
    }

    /// CPUs of a node. The corresponding C function is `numa_node_to_cpus`.
    static func cpus(ofNode node: Int) -> [Int] {
        guard let mask = numa_allocate_cpumask() else { return [] }
        defer { numa_bitmask_free(mask) }
        guard numa_node_to_cpus(Int32(node), mask) == 0 else { return [] }
        let possible = Int(numa_num_possible_cpus())
        return (0..<possible).filter { numa_bitmask_isbitset(mask, UInt32($0)) != 0 }
    }

    /// The ACPI SLIT distance between two nodes (10 = local). The corresponding C function is `numa_distance`.
    static func distance(_ a: Int, _ b: Int) -> Int { Int(numa_distance(Int32(a), Int32(b))) }

    /// The node of the CPU the calling thread runs on now.
    static func currentNode() -> Int? {
        let cpu = memplan_current_cpu()
        guard cpu >= 0 else { return nil }
        let node = numa_node_of_cpu(cpu)
        return node >= 0 ? Int(node) : nil
    }

    /// Gives the pages of [start, start + bytes) the placement's memory policy (mbind); they are placed when first
    /// touched. The corresponding C functions are `numa_setlocal_memory`, `numa_tonode_memory` and
    /// `numa_interleave_memory` (over every node).
    static func applyPolicy(_ start: UnsafeMutableRawPointer, bytes: Int, placement: Placement) {
        switch placement {
        case .local: numa_setlocal_memory(start, bytes)
        case .node(let node): numa_tonode_memory(start, bytes, Int32(node))
        case .interleave: memplan_interleave_memory(start, bytes)
        }
    }

    /// Restricts every thread of the process (the trainer and OpenBLAS's workers) to the CPUs of
    /// `node`; returns how many threads were bound. The corresponding C function is `numa_sched_setaffinity`.
    static func bindAllThreads(toNode node: Int) -> Int {
        guard let mask = numa_allocate_cpumask() else { return 0 }
        defer { numa_bitmask_free(mask) }
        guard numa_node_to_cpus(Int32(node), mask) == 0 else { return 0 }
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        var bound = 0
        for task in tasks {
            guard let tid = Int32(task) else { continue }
            if numa_sched_setaffinity(tid, mask) == 0 { bound += 1 }
        }
        return bound
    }

    /// For each page address, the node holding it, or a negative errno (-ENOENT: not resident).
    /// The corresponding C function is `move_pages` with no target nodes (query only).
    static func nodesOfPages(_ pages: inout [UnsafeMutableRawPointer?]) -> [Int32]? {
        var status = [Int32](repeating: 0, count: pages.count)
        let result = pages.withUnsafeMutableBufferPointer { pagePointers in
            status.withUnsafeMutableBufferPointer { statusPointers in
                move_pages(0, UInt(pagePointers.count), pagePointers.baseAddress, nil, statusPointers.baseAddress, 0)
            }
        }
        return result == 0 ? status : nil
    }
}

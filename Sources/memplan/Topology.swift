// `memplan topology`: what `numactl --hardware` prints, plus free memory, as a table or JSON.

import ArgumentParser
import NUMAArena
import Reports

extension Memplan {
    struct Topology: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the NUMA nodes: their CPUs, total and free memory, and distances.",
            discussion: """
                The same facts as `numactl --hardware`, read through libnuma, with sizes in bytes. When libnuma reports no NUMA support, memplan shows the machine as one node from /proc/meminfo and says so; arenas then use plain memory.

                Examples:
                  memplan topology
                  memplan topology --format json
                """)

        @Option(help: formatHelp(TopologyReport.self))
        var format: ReportFormat = .table

        func validate() throws {
            _ = try format.checked(for: TopologyReport.self, command: "topology")
        }

        func run() throws {
            print(Adapters.topology(NUMATopology.current()).render(format), terminator: "")
        }
    }
}

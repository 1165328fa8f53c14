// Resident memory of this process and of the machine, from /proc.

import Foundation

/// Reads the kernel's accounting of this process's memory.
public enum ProcessMemory {
    /// Current resident set size (VmRSS) in bytes.
    public static func residentBytes() -> Int { statusField("VmRSS") ?? 0 }

    /// Address space this process has mapped (VmSize) in bytes: what `ulimit -v` limits.
    public static func virtualBytes() -> Int { statusField("VmSize") ?? 0 }

    /// Peak resident set size (VmHWM) in bytes since start or the last `resetPeak()`.
    public static func peakResidentBytes() -> Int { statusField("VmHWM") ?? 0 }

    /// Resets VmHWM to the current RSS by writing 5 to /proc/self/clear_refs; false if not permitted.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
    }

    /// MemTotal, MemFree (memory nothing uses now) and MemAvailable (what the kernel estimates it can give a new
    /// program without swapping: free memory plus reclaimable caches) from /proc/meminfo, in bytes.
    public static func memoryInfo() -> (total: Int, free: Int, available: Int) {
        let fields = keyedKilobytes(path: "/proc/meminfo")
        let free = fields["MemFree"] ?? 0
        return (fields["MemTotal"] ?? 0, free, fields["MemAvailable"] ?? free)
    }

    /// MemTotal and MemAvailable from /proc/meminfo, in bytes.
    public static func systemMemory() -> (total: Int, available: Int) {
        let fields = keyedKilobytes(path: "/proc/meminfo")
        return (fields["MemTotal"] ?? 0, fields["MemAvailable"] ?? fields["MemFree"] ?? 0)
    }

    /// CPUs online, from sysconf.
    public static func onlineCPUCount() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// CPUs this process may run on now (its affinity mask, e.g. after binding to a node).
    public static func allowedCPUCount() -> Int {
        guard let text = readProcFile("/proc/self/status"),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        else { return onlineCPUCount() }
        var count = 0
        for part in line.dropFirst("Cpus_allowed_list:".count).split(separator: ",") {
            let bounds = part.trimmingCharacters(in: .whitespaces).split(separator: "-").compactMap { Int($0) }
            if bounds.count == 2 { count += bounds[1] - bounds[0] + 1 } else if bounds.count == 1 { count += 1 }
        }
        return max(1, count)
    }

    /// The whole text of a /proc file, read until end of file. (Foundation's `String(contentsOfFile:)` trusts the
    /// size `stat` reports, which is 0 for /proc files, and returns only the first page of a longer one, such as
    /// /proc/self/maps in a process with many libraries.) nil if the file cannot be opened; at most `limit` bytes.
    public static func readProcFile(_ path: String, limit: Int = 64 << 20) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The system page size in bytes.
    public static var pageSize: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }

    static func statusField(_ name: String) -> Int? {
        keyedKilobytes(path: "/proc/self/status")[name]
    }

    /// Parses `Key:   1234 kB` lines into bytes.
    static func keyedKilobytes(path: String) -> [String: Int] {
        guard let text = readProcFile(path) else { return [:] }
        var result: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            let parts = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let number = parts.first.flatMap({ Int($0) }) else { continue }
            let unit = parts.count > 1 ? parts[1] : ""
            result[key] = unit == "kB" ? number * 1024 : number
        }
        return result
    }
}

// OpenBLAS at run time: its threads, the kernels it picked, and a re-exec when it picked a fallback.

import CBLAS
import CGEMM
import Foundation
import NUMAArena

#if canImport(Glibc)
    import Glibc
#endif

/// OpenBLAS's thread count and the kernel it picked for this CPU.
public enum BLASInfo {
    /// The corresponding C function is `openblas_get_num_threads`.
    public static var threadCount: Int { Int(memplan_get_num_threads()) }

    /// The corresponding C function is `openblas_set_num_threads`.
    public static func setThreadCount(_ count: Int) { memplan_set_num_threads(Int32(count)) }

    /// The kernels the products run on: OpenBLAS's core type (e.g. `SkylakeX`, `Haswell`, from
    /// `openblas_get_corename`), or `MKL <version>` when Intel MKL is preloaded over OpenBLAS.
    public static var coreName: String {
        if let version = mklVersion { return version }
        return openBLASCoreName
    }

    /// Which code runs the step's large products: `memplan-avx512` (memplan's own kernels, CGEMM) on a CPU with
    /// AVX-512F, or `blas` (the library `coreName` names) elsewhere and when MEMPLAN_GEMM=blas is set.
    /// Thin products (an edge under 16) and matrix-vector products always run in BLAS.
    public static var gemmKernels: String { memplan_gemm_enabled() != 0 ? "memplan-avx512" : "blas" }

    /// OpenBLAS's own core type, whether or not MKL does the products.
    static var openBLASCoreName: String { memplan_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// `MKL 2026.2` (say) when MKL's cblas functions are in this process (bench/with-mkl preloads them), else nil.
    public static var mklVersion: String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard memplan_mkl_version(&buffer, Int32(buffer.count)) != 0 else { return nil }
        let text = String(cString: buffer)
        // "Intel(R) oneAPI Math Kernel Library Version 2026.2-Product Build …" → "MKL 2026.2"
        if let range = text.range(of: "Version ") {
            let version = text[range.upperBound...].prefix { !$0.isWhitespace && $0 != "-" }
            return "MKL \(version)"
        }
        return "MKL"
    }

    /// `system` (the distribution's OpenBLAS), `scipy-openblas32` (built with -DMEMPLAN_SCIPY_OPENBLAS) or `mkl`
    /// (preloaded at run time).
    public static var provider: String { String(cString: memplan_blas_provider()) }

    /// Kernels OpenBLAS falls back to when it does not recognise a CPU (Debian's 0.3.21 picks
    /// Prescott, SSE3 only, on Intel models newer than itself, and Opteron on qemu's TCG CPU).
    static let fallbackCores: Set<String> = [
        "Prescott", "Katmai", "Coppermine", "Northwood", "Banias", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom",
        "Opteron", "Barcelona", "Bobcat", "unknown",
    ]

    /// The OpenBLAS core type this CPU supports, from its /proc/cpuinfo flags: SkylakeX with
    /// AVX-512 (F, BW, VL, DQ, CD), Haswell with AVX2 and FMA, nil otherwise.
    public static func supportedCoreType(cpuFlags: Set<String>) -> String? {
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(cpuFlags.contains) { return "SkylakeX" }
        if cpuFlags.contains("avx2"), cpuFlags.contains("fma") { return "Haswell" }
        return nil
    }

    /// The core type to force when OpenBLAS picked a fallback kernel for a CPU that can do better;
    /// nil when its own choice stands.
    public static func betterCoreType(current: String, cpuFlags: Set<String>) -> String? {
        guard fallbackCores.contains(current) else { return nil }
        return supportedCoreType(cpuFlags: cpuFlags)
    }

    /// Debian's OpenBLAS 0.3.21 falls back to its SSE3 "Prescott" kernels on CPUs newer than it
    /// knows (several times slower). OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so when
    /// that happened this sets it to what the CPU supports and re-executes the program, once.
    /// A user's own OPENBLAS_CORETYPE is respected; MEMPLAN_NO_REEXEC=1 turns this off.
    public static func reexecutingWithBetterKernelsIfNeeded() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment["MEMPLAN_NO_REEXEC"] == nil,
            mklVersion == nil, let core = betterCoreType(current: openBLASCoreName, cpuFlags: cpuFlags())
        else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("MEMPLAN_NO_REEXEC", "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returned: it failed; carry on with OpenBLAS's own choice.
    }

    /// The flags of the first CPU in /proc/cpuinfo.
    public static func cpuFlags() -> Set<String> {
        guard let text = ProcessMemory.readProcFile("/proc/cpuinfo"),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            let colon = line.firstIndex(of: ":")
        else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}

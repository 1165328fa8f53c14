// swift-tools-version: 6.1
//
// memplan: how much memory will training this model need, and will it fit?
// Data flows one way: profile → budget → plan → arena → trainer → measurement → report.

import PackageDescription

let package = Package(
    name: "memplan",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "memplan", targets: ["memplan"]),
        .library(name: "ModelProfile", targets: ["ModelProfile"]),
        .library(name: "MemoryBudget", targets: ["MemoryBudget"]),
        .library(name: "ArenaPlanner", targets: ["ArenaPlanner"]),
    ],
    traits: [
        .trait(
            name: "HeapCounting",
            description: "Count heap allocations in the training step loop (links ordo-one/malloc-interposer, a shared library; "
                + "disable with --disable-default-traits for a fully static memplan)."),
        .trait(
            name: "MPI",
            description: "Multi-process training under mpirun (links Debian's Open MPI, libopenmpi-dev; disable with "
                + "--disable-default-traits for a fully static memplan, which then trains one process only)."),
        .default(enabledTraits: ["HeapCounting", "MPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
    ],
    targets: [
        // MARK: - C libraries (one shim header each)
        .systemLibrary(name: "CNUMA", pkgConfig: "numa", providers: [.apt(["libnuma-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // memplan's own AVX-512 GEMM kernels (plain C, no library; BLAS takes over on other CPUs)
        .target(name: "CGEMM"),

        // MARK: - Pure Swift modules (no C library, fast tests)
        // Input files opened once and only when regular; result files written atomically, never over special files.
        .target(name: "FileAccess"),
        // profile → budget (the step's tensor table) → step program + plan → capacity → reports
        .target(name: "ModelProfile", dependencies: ["Yams", "FileAccess"]),
        .target(name: "MemoryBudget", dependencies: ["ModelProfile"]),
        .target(name: "ArenaPlanner", dependencies: ["ModelProfile", "MemoryBudget"]),
        .target(name: "Capacity", dependencies: ["ModelProfile", "MemoryBudget", "ArenaPlanner"]),
        .target(name: "Reports", dependencies: ["ModelProfile", "MemoryBudget", "ArenaPlanner", "Capacity"]),
        // Readers of the model files users already have (safetensors, ONNX); Foundation only.
        .target(name: "ModelImport"),

        // MARK: - Runtime (libnuma, OpenBLAS): arena → data → trainer → the run and its measurement
        .target(name: "NUMAArena", dependencies: ["CNUMA"]),
        .target(name: "DataFormats", dependencies: ["CZlib", "FileAccess"]),
        .target(name: "TrainingData", dependencies: ["ModelProfile", "MemoryBudget", "DataFormats", "FileAccess"]),
        .target(
            name: "MLPTrainer",
            dependencies: ["ModelProfile", "MemoryBudget", "ArenaPlanner", "NUMAArena", "TrainingData", "CBLAS", "CGEMM"]),
        .target(
            name: "TrainingRun",
            dependencies: ["ModelProfile", "MemoryBudget", "ArenaPlanner", "NUMAArena", "TrainingData", "MLPTrainer"]),
        // The only code calling MPI_*: one rank's link to the others (point-to-point on arena bytes, and collectives
        // outside the step), for `mpirun -np N memplan train`.
        .target(name: "MPIRanks", dependencies: ["MLPTrainer", .target(name: "CMPI", condition: .when(traits: ["MPI"]))]),
        // The GEMM-only ceiling and a bare training step, for `memplan ceiling` and the Swift benchmarks.
        .target(
            name: "BenchSupport",
            dependencies: ["ModelProfile", "MemoryBudget", "ArenaPlanner", "NUMAArena", "TrainingData", "MLPTrainer", "CGEMM"]),

        // MARK: - The CLI
        .executableTarget(
            name: "memplan",
            dependencies: [
                "ModelProfile", "MemoryBudget", "ArenaPlanner", "Capacity", "Reports", "NUMAArena", "TrainingData", "MLPTrainer",
                "TrainingRun", "BenchSupport", "FileAccess", "ModelImport", "MPIRanks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer", condition: .when(traits: ["HeapCounting"])),
            ]
        ),

        // MARK: - Benchmarks (`swift package benchmark`)
        .executableTarget(
            name: "MemplanBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                "ModelProfile", "MemoryBudget", "ArenaPlanner", "MLPTrainer", "BenchSupport", "Yams", "ModelImport",
            ],
            path: "Benchmarks/MemplanBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),

        // MARK: - Fuzzers (fuzz/run.sh builds them with -sanitize=fuzzer,address and -DFUZZING)
        .target(name: "FuzzSupport", path: "fuzz/FuzzSupport"),
        .executableTarget(name: "FuzzProfile", dependencies: ["ModelProfile", "FuzzSupport"], path: "fuzz/FuzzProfile"),
        .executableTarget(name: "FuzzIDX", dependencies: ["DataFormats", "FuzzSupport"], path: "fuzz/FuzzIDX"),
        .executableTarget(name: "FuzzSafetensors", dependencies: ["ModelImport", "FuzzSupport"], path: "fuzz/FuzzSafetensors"),
        .executableTarget(name: "FuzzONNX", dependencies: ["ModelImport", "FuzzSupport"], path: "fuzz/FuzzONNX"),
        .executableTarget(name: "FuzzRecord", dependencies: ["Reports", "FuzzSupport"], path: "fuzz/FuzzRecord"),
        .executableTarget(name: "FuzzCSV", dependencies: ["DataFormats", "FuzzSupport"], path: "fuzz/FuzzCSV"),
        .executableTarget(name: "FuzzCheckpoint", dependencies: ["MLPTrainer", "FuzzSupport"], path: "fuzz/FuzzCheckpoint"),

        // MARK: - Tests
        .target(name: "TestSupport", dependencies: ["ModelProfile"], path: "Sources/TestSupport"),
        .testTarget(name: "FileAccessTests", dependencies: ["FileAccess", "TestSupport"]),
        .testTarget(name: "ModelProfileTests", dependencies: ["ModelProfile", "TestSupport"]),
        .testTarget(name: "MemoryBudgetTests", dependencies: ["MemoryBudget", "ArenaPlanner", "ModelProfile", "TestSupport"]),
        .testTarget(name: "ArenaPlannerTests", dependencies: ["ArenaPlanner", "MemoryBudget", "ModelProfile", "TestSupport"]),
        .testTarget(
            name: "CapacityTests", dependencies: ["Capacity", "ArenaPlanner", "MemoryBudget", "ModelProfile", "TestSupport"]),
        .testTarget(name: "NUMAArenaTests", dependencies: ["NUMAArena", "TestSupport"]),
        .testTarget(
            name: "MLPTrainerTests",
            dependencies: [
                "MLPTrainer", "CGEMM", "ModelProfile", "MemoryBudget", "ArenaPlanner", "NUMAArena", "TrainingData", "TestSupport",
            ]),
        .testTarget(
            name: "TrainingRunTests",
            dependencies: [
                "TrainingRun", "MLPTrainer", "ModelProfile", "MemoryBudget", "ArenaPlanner", "NUMAArena", "TrainingData",
                "TestSupport",
            ]),
        .testTarget(
            name: "BenchSupportTests", dependencies: ["BenchSupport", "MLPTrainer", "ModelProfile", "NUMAArena", "TestSupport"]),
        .testTarget(name: "DataFormatsTests", dependencies: ["DataFormats", "TestSupport"]),
        .testTarget(name: "ModelImportTests", dependencies: ["ModelImport", "TestSupport"]),
        .testTarget(
            name: "ReportsTests",
            dependencies: ["Reports", "Capacity", "ArenaPlanner", "MemoryBudget", "ModelProfile", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["memplan", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

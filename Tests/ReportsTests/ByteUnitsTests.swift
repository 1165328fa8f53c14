@testable import Reports
import Testing

@Suite("Byte units")
struct ByteUnitsTests {
    @Test("grouping with thousands separators")
    func grouped() {
        #expect(ByteUnits.grouped(0) == "0")
        #expect(ByteUnits.grouped(999) == "999")
        #expect(ByteUnits.grouped(1000) == "1,000")
        #expect(ByteUnits.grouped(3_601_000_000_000) == "3,601,000,000,000")
        #expect(ByteUnits.grouped(-1_234_567) == "-1,234,567")
        #expect(ByteUnits.grouped(Int.max) == "9,223,372,036,854,775,807")
    }

    @Test("decimal and binary units")
    func units() {
        #expect(ByteUnits.decimal(940_584) == "940.58 kB")
        #expect(ByteUnits.binary(940_584) == "918.54 KiB")
        #expect(ByteUnits.decimal(3_601_000_000_000) == "3.60 TB")
        #expect(ByteUnits.binary(1 << 30) == "1.00 GiB")
        #expect(ByteUnits.decimal(512) == "512 B")
        #expect(ByteUnits.decimal(Int.max) == "9.22 EB")
    }

    @Test("the lecture's units: decimal GB, then 1024 per step")
    func lecture() {
        #expect(ByteUnits.lecture(3_601_000_000_000) == "3,601 GB")
        #expect(ByteUnits.lecture(7_201_000_000_000) == "7,201 GB")
        #expect(ByteUnits.lecture(1_203_400_000_000_000) == "1,203,400 GB = 1.15 PB")
        #expect(ByteUnits.lecture(2_405_800_000_000_000) == "2,405,800 GB = 2.29 PB")
    }
}

@Suite("Text tables")
struct TextTableTests {
    @Test("columns align and Markdown escapes bars")
    func render() {
        var table = TextTable(columns: [.left("Name"), .right("Bytes")])
        table.append(["a|b", "1,000"])
        table.append(["long name", "2"])
        #expect(table.renderText() == "Name       Bytes\n─────────  ─────\na|b        1,000\nlong name      2\n")
        #expect(table.renderMarkdown() == "| Name | Bytes |\n| --- | ---: |\n| a\\|b | 1,000 |\n| long name | 2 |\n")
    }
}

@Suite("Training summary")
struct TrainingSummaryTests {
    @Test("the summary names the kernels that ran: memplan's own, OpenBLAS's core type, or MKL as it reports itself")
    func kernelDescription() {
        #expect(TrainingRenderer.kernelDescription("SkylakeX") == "OpenBLAS SkylakeX kernels")
        #expect(TrainingRenderer.kernelDescription("MKL 2026.2") == "MKL 2026.2")
        #expect(
            TrainingRenderer.kernelDescription("SkylakeX", gemmKernels: "memplan-avx512")
                == "memplan's AVX-512 kernels, OpenBLAS SkylakeX kernels for thin products")
        #expect(TrainingRenderer.kernelDescription("SkylakeX", gemmKernels: "blas") == "OpenBLAS SkylakeX kernels")
    }
}

// Byte counts for people: exact with separators, decimal (GB) and binary (GiB) units, and the lecture's style.

import ModelProfile

/// Formats byte counts three ways. Decimal units are powers of 1000 (kB, MB, GB, TB, PB),
/// binary units powers of 1024 (KiB, MiB, GiB, TiB, PiB).
///
/// The lecture mixes them: it counts in decimal GB (1 GB = 10⁹ B) and then divides by 1024 per
/// step above that, so its "1.15 PB" is 1,203,400 GB / 1024². `lecture(_:)` reproduces that.
public enum ByteUnits {
    /// `3601000000000` → `"3,601,000,000,000"`.
    public static func grouped(_ value: Int) -> String { value.groupedDigits }

    /// Decimal units with three significant digits: `"3.60 TB"`, `"940.58 kB"` (two decimals).
    public static func decimal(_ bytes: Int) -> String {
        scaled(Double(bytes), base: 1000, units: ["B", "kB", "MB", "GB", "TB", "PB", "EB"])
    }

    /// Binary units: `"3.28 TiB"`, `"918.54 KiB"`.
    public static func binary(_ bytes: Int) -> String {
        scaled(Double(bytes), base: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"])
    }

    /// The lecture's notation: decimal GB, e.g. `"3,601 GB"`, and from 1024² GB on also the
    /// lecture's petabytes, `"1,203,400 GB = 1.15 PB"` (GB ÷ 1024²). Below 1 GB: `decimal`.
    public static func lecture(_ bytes: Int) -> String {
        let gigabytes = Double(bytes) / 1e9
        guard gigabytes >= 1 else { return decimal(bytes) }
        let inGigabytes = bytes % 1_000_000_000 == 0 ? grouped(bytes / 1_000_000_000) + " GB" : String(format2: gigabytes) + " GB"
        if gigabytes >= 1024 * 1024 { return inGigabytes + " = " + String(format2: gigabytes / (1024 * 1024)) + " PB" }
        return inGigabytes
    }

    /// Named byte counts in decimal units, comma-separated: `"parameters 1.20 MB, gradients 0 B"`.
    static func decimalList(_ counts: [(name: String, bytes: Int)]) -> String {
        counts.map { "\($0.name) \(decimal($0.bytes))" }.joined(separator: ", ")
    }

    static func scaled(_ value: Double, base: Double, units: [String]) -> String {
        var scaled = value
        var unit = 0
        while abs(scaled) >= base, unit < units.count - 1 {
            scaled /= base
            unit += 1
        }
        if unit == 0 { return grouped(Int(value)) + " B" }
        return String(format2: scaled) + " " + units[unit]
    }
}

extension String {
    /// Two decimals, rounded half away from zero, without Foundation's locale.
    init(format2 value: Double) {
        let hundredths = (value * 100).rounded(.toNearestOrAwayFromZero)
        guard hundredths.isFinite, abs(hundredths) < 9e15 else {
            self = "\(value)"
            return
        }
        let whole = Int(hundredths)
        let sign = whole < 0 ? "-" : ""
        let magnitude = whole.magnitude
        let fraction = magnitude % 100
        self = sign + ByteUnits.grouped(Int(magnitude / 100)) + "." + (fraction < 10 ? "0" : "") + String(fraction)
    }
}

extension Dictionary where Key == String {
    /// The keys as node numbers in numeric order ("2" before "10"); a key that is no number sorts as node 0.
    var nodeKeys: [String] { keys.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) } }
}

extension Dictionary where Key == Int {
    /// The same map keyed by node id as text, as a record's per-node maps are (JSON object keys are strings).
    public var keyedByNodeText: [String: Value] {
        Dictionary<String, Value>(uniqueKeysWithValues: map { (String($0.key), $0.value) })
    }
}

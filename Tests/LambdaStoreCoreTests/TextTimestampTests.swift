import Foundation
import Testing
@testable import LambdaStoreCore
import LambdaStoreTestSupport

/// A naive, independent day count: add up whole years and months from 1970 one at a time.
private func naiveEpochMillis(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, ms: Int) -> Int64 {
    func leap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
    var days = 0
    if year >= 1970 {
        for y in 1970..<year { days += leap(y) ? 366 : 365 }
    } else {
        for y in year..<1970 { days -= leap(y) ? 366 : 365 }
    }
    let lengths = [31, leap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    for m in 0..<(month - 1) { days += lengths[m] }
    days += day - 1
    return ((Int64(days) * 24 + Int64(hour)) * 60 + Int64(minute)) * 60_000 + Int64(second) * 1000 + Int64(ms)
}

private func pad(_ v: Int, _ w: Int) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, w - s.count)) + s
}

@Suite struct TextTimestampTests {
    static let handChecked: [(String, Int64)] = [
        ("1970-01-01T00:00:00Z", 0),
        ("2000-02-29T00:00:00Z", 951_782_400_000),
        ("2000-03-01T00:00:00Z", 951_868_800_000),
        ("2024-01-01T00:00:00Z", 1_704_067_200_000),
        ("2026-01-01T00:00:00Z", 1_767_225_600_000),
        ("2026-01-01T00:00:00+02:00", 1_767_218_400_000),
        ("2026-01-01T00:00:00+0200", 1_767_218_400_000),
        ("2026-01-01T00:00:00-05:30", 1_767_245_400_000),
        ("2026-01-01T00:00:00-0530", 1_767_245_400_000),
        ("2026-01-01T00:00:00-00:00", 1_767_225_600_000),
        ("2026-01-01t00:00:00z", 1_767_225_600_000),
        ("2026-01-01 00:00:00Z", 1_767_225_600_000),
        ("1900-01-01T00:00:00Z", -2_208_988_800_000),
        ("1900-03-01T00:00:00Z", -2_203_891_200_000),
        ("1600-02-29T00:00:00Z", -11_670_998_400_000),
        ("2100-03-01T00:00:00Z", 4_107_542_400_000),
        ("0001-01-01T00:00:00Z", -62_135_596_800_000),
        ("0000-01-01T00:00:00Z", -62_167_219_200_000),
        ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
        ("2024-02-29T12:34:56.789Z", 1_709_210_096_789),
        ("1969-12-31T23:59:59.999Z", -1),
        ("1969-12-31T23:59:59.9999Z", -1),            // truncated to ms = floor, also before 1970
        ("2024-01-01T00:00:00.5Z", 1_704_067_200_500),
        ("2024-01-01T00:00:00.12Z", 1_704_067_200_120),
        ("2024-01-01T00:00:00.123456789Z", 1_704_067_200_123),
        ("2024-01-01T00:00:00.000+23:59", 1_704_067_200_000 - 86_340_000),
        // Seconds left out: hh:mm means hh:mm:00.
        ("2026-01-01T00:00Z", 1_767_225_600_000),
        ("2026-01-01T02:00+02:00", 1_767_225_600_000),
        ("2025-12-31t19:00-0500", 1_767_225_600_000),
        ("2026-01-01 00:00z", 1_767_225_600_000),
        ("2024-02-29T12:34Z", 1_709_210_040_000),
        ("1969-12-31T23:59Z", -60_000),
        ("1704067200150", 1_704_067_200_150),
        ("0", 0),
        ("-1", -1),
        ("-9223372036854775808", Int64.min),
        ("9223372036854775807", Int64.max),
    ]

    @Test(arguments: handChecked)
    func parsesHandCheckedValues(_ text: String, expected: Int64) {
        #expect(Timestamp.parse(text) == expected)
    }

    static let rejected: [String] = [
        "2026-01-01T00:00:00",            // no zone
        "2026-01-01T00:00:00.000",
        "2026-01-01", "2026-01-01T00Z", "2026-01-01T00:00", "2026-01-01T0000Z", "2026-01-01T00:0Z",
        "2026-01-01T00:00.5Z", "2026-01-01T00:00:Z", "2026-01-01T00:00:0Z", "2026-01-01T00:00:", "2026-01-01T00:00:00.",
        "2026-01-01T24:00Z", "2026-01-01T00:60Z", "2026-02-29T00:00Z", "2026-01-01T00:00+02", "2026-01-01T00:00+2:00",
        "2026-01-01T00:00ZZ", "2026-01-01T00:00 Z",
        "2021-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z",
        "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-12-31T23:59:60Z",
        "2026-01-01T00:00:00.1234567890Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00,5Z",
        "2026-01-01T00:00:00+2:00", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+02:60",
        "2026-01-01T00:00:00+02", "2026-01-01T00:00:00+02:00:00", "2026-01-01T00:00:00+0200x",
        "2026-01-01T00:00:00ZZ", "2026-1-01T00:00:00Z", "26-01-01T00:00:00Z", "+2026-01-01T00:00:00Z",
        " 2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z ", "2026-01-01X00:00:00Z", "2026/01/01T00:00:00Z",
        "", "-", "+1", "01", "1.5", "1e3", "9223372036854775808", "-9223372036854775809", "０",
    ]

    @Test(arguments: rejected)
    func rejectsMalformed(_ text: String) {
        #expect(Timestamp.parse(text) == nil, "accepted \(text.debugDescription)")
    }

    /// No strict prefix of a valid timestamp is accepted, and none makes the fixed-offset
    /// reads run past the end (a trap would fail the whole run).
    @Test(arguments: ["2026-01-01T00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123456789+02:00", "2026-01-01T00:00-0530"])
    func strictPrefixesAreRejected(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBytes { Timestamp.parseISO8601($0) } != nil)
        for n in 0..<bytes.count {
            let prefix = Array(bytes[0..<n])
            #expect(prefix.withUnsafeBytes { Timestamp.parseISO8601($0) } == nil, "accepted \(String(decoding: prefix, as: UTF8.self))")
        }
    }

    @Test func isoOnlyRejectsEpochMillis() {
        #expect("1704067200150".utf8.withContiguousStorageIfAvailable { Timestamp.parseISO8601(UnsafeRawBufferPointer($0)) } == .some(nil))
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"), (-1, "1969-12-31T23:59:59.999Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"), (1_709_210_096_789, "2024-02-29T12:34:56.789Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"), (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"),
        (253_402_300_800_000, "+010000-01-01T00:00:00.000Z"), (-62_167_219_200_001, "-000001-12-31T23:59:59.999Z"),
    ])
    func formatsHandCheckedValues(_ ms: Int64, expected: String) {
        #expect(Timestamp.format(ms) == expected)
    }

    @Test func formatNeverTrapsAtTheExtremes() {
        for ms in [Int64.min, Int64.min + 1, Int64.max, Int64.max - 1] {
            let s = Timestamp.format(ms)
            #expect(s.hasSuffix("Z") && s.count >= 24, "\(ms) → \(s)")
        }
    }

    /// Random instants in 0000–9999 with random zones and fractions, a quarter of them without
    /// seconds, against the naive day count.
    @Test func matchesNaiveReference() {
        let seed: UInt64 = 0x71AE
        var rng = SplitMix64(seed: seed)
        for _ in 0..<3_000 {
            let year = Int(rng.next() % 10_000), month = Int(1 + rng.next() % 12)
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            let dim = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
            let day = Int(1 + rng.next() % UInt64(dim))
            let h = Int(rng.next() % 24), mi = Int(rng.next() % 60)
            let withSeconds = rng.next() % 4 != 0   // a quarter written as hh:mm
            let s = withSeconds ? Int(rng.next() % 60) : 0
            let digits = withSeconds ? Int(rng.next() % 10) : 0   // 0: no fraction
            let fraction = (0..<digits).map { _ in String(rng.next() % 10) }.joined()
            let ms = digits == 0 ? 0 : Int(fraction.prefix(3).padding(toLength: 3, withPad: "0", startingAt: 0)) ?? 0
            let offsetMinutes = Int(rng.next() % (2 * 24 * 60 - 1)) - (24 * 60 - 1)
            let zone: String
            switch rng.next() % 3 {
            case 0 where offsetMinutes == 0: zone = "Z"
            case 0, 1: zone = (offsetMinutes < 0 ? "-" : "+") + pad(abs(offsetMinutes) / 60, 2) + ":" + pad(abs(offsetMinutes) % 60, 2)
            default: zone = (offsetMinutes < 0 ? "-" : "+") + pad(abs(offsetMinutes) / 60, 2) + pad(abs(offsetMinutes) % 60, 2)
            }
            let text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(h, 2)):\(pad(mi, 2))" + (withSeconds ? ":" + pad(s, 2) : "")
                + (digits > 0 ? "." + fraction : "") + zone
            let expected = naiveEpochMillis(year: year, month: month, day: day, hour: h, minute: mi, second: s, ms: ms) - Int64(offsetMinutes) * 60_000
            #expect(Timestamp.parse(text) == expected, "\(text) (seed \(seed))")
        }
    }

    /// `format` then `parse` is the identity over years 0000–9999, and Foundation's
    /// ISO8601DateFormatter (the reference, in tests only) reads our output as the same instant.
    @Test func formatRoundTripsAndAgreesWithFoundation() {
        let seed: UInt64 = 0xF0DA
        var rng = SplitMix64(seed: seed)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let lo: Int64 = -62_167_219_200_000, hi: Int64 = 253_402_300_799_999
        let foundationLo: Int64 = -11_676_096_000_000   // 1600-01-01: stay clear of Julian-cutover quirks
        for _ in 0..<3_000 {
            let ms = lo + Int64(rng.next() % UInt64(hi - lo + 1))
            let text = Timestamp.format(ms)
            #expect(Timestamp.parse(text) == ms, "\(ms) → \(text) (seed \(seed))")
            if ms >= foundationLo, let date = formatter.date(from: text) {
                #expect(Int64((date.timeIntervalSince1970 * 1000).rounded()) == ms, "\(text) (seed \(seed))")
            } else if ms >= foundationLo {
                Issue.record("Foundation could not read \(text)")
            }
        }
    }
}

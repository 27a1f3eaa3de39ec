import Testing
@testable import LambdaStoreCore
import LambdaStoreTestSupport

/// The one-pass integer scan of the JSON Lines fast path against the two-pass scan and parse
/// it short-cuts: wherever it returns a value, the number grammar scan ends at the same byte,
/// says "integer", and the exact parse gives the same value; a number it declines is left to
/// them. Boundary values (Int64.min/max and one past, 18/19/20 digits, leading zeros, "-0",
/// fractions, exponents, a lone minus) and random digit strings followed by random bytes.
@Suite struct PlainIntegerScanTests {
    static func check(_ text: [UInt8]) {
        text.withUnsafeBytes { p in
            let n = p.count
            guard let (v, end) = TextScan.plainInt64(p, 0, n) else {
                // Declined: the slow path decides; nothing to compare except that a plain
                // in-range integer is never declined.
                let scan = TextScan.scanNumber(p, 0, n)
                if scan.error == nil, scan.isInteger, let v = TextScan.parseInt64(p, 0, scan.end) {
                    Issue.record("declined \(String(decoding: text, as: UTF8.self)) (= \(v))")
                }
                return
            }
            let scan = TextScan.scanNumber(p, 0, n)
            #expect(scan.error == nil && scan.isInteger && scan.end == end, "\(String(decoding: text, as: UTF8.self)): scan \(scan)")
            #expect(TextScan.parseInt64(p, 0, scan.end) == v, "\(String(decoding: text, as: UTF8.self))")
        }
    }

    @Test func boundariesAndGrammar() {
        let cases = ["0", "-0", "00", "-00", "01", "7", "-", "", "-x", "9223372036854775807", "9223372036854775808",
                     "-9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616",
                     "99999999999999999999", "999999999999999999", "1000000000000000000", "123456789012345678901",
                     "1.5", "1e3", "1E3", "-1.0", "12,", "12}", "12 ", "0}", "0.", "1a", "١٢"]
        for c in cases { Self.check(Array(c.utf8)) }
    }

    @Test func randomDigitStrings() {
        var rng = SplitMix64(seed: 0x1D16)
        let tails: [UInt8] = Array(",} ]\t.eE-+0123456789x".utf8)
        for _ in 0..<200_000 {
            var b: [UInt8] = []
            if rng.next() % 3 == 0 { b.append(UInt8(ascii: "-")) }
            let digits = Int(rng.next() % 22)
            for d in 0..<digits {
                // A leading digit is 1-9 three times in four, else any digit (leading zeros).
                let nonZero = d == 0 && rng.next() % 4 != 0
                b.append(UInt8(ascii: "0") + (nonZero ? 1 + UInt8(rng.next() % 9) : UInt8(rng.next() % 10)))
            }
            for _ in 0..<Int(rng.next() % 3) { b.append(tails[Int(rng.next() % UInt64(tails.count))]) }
            Self.check(b)
        }
    }
}

/// Byte-level scanning helpers shared by the JSON parser, the timestamp parser and the record
/// parser: UTF-8 validation, the JSON number grammar, exact integer and correctly rounded
/// float conversion. None of them allocates on the common path, and none traps on any input.
///
/// Thread safety: stateless functions.
enum TextScan {
    /// ASCII codes used by the scanners.
    static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), comma = UInt8(ascii: ",")
    static let minus = UInt8(ascii: "-"), plus = UInt8(ascii: "+"), dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0"), nine = UInt8(ascii: "9")

    /// Whether `b` is JSON insignificant whitespace (space, tab, LF, CR).
    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    /// Whether `b` is an ASCII digit.
    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- zero < 10 }

    /// Whether every byte of `bytes` is whitespace (the record parser's "blank line").
    static func isBlank(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for b in bytes where !isSpace(b) { return false }
        return true
    }

    /// Validates one UTF-8 sequence whose lead byte (≥ 0x80) is at `i`; returns the index just
    /// after it, or nil when it is malformed (overlong, surrogate, above U+10FFFF, truncated).
    @inline(__always)
    static func utf8SequenceEnd(_ p: UnsafeRawBufferPointer, _ i: Int, _ end: Int) -> Int? {
        let b0 = p[i]
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            k < end && p[k] >= lo && p[k] <= hi
        }
        switch b0 {
        case 0xC2...0xDF:
            return cont(i + 1) ? i + 2 : nil
        case 0xE0:
            return cont(i + 1, 0xA0) && cont(i + 2) ? i + 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF:
            return cont(i + 1) && cont(i + 2) ? i + 3 : nil
        case 0xED:
            return cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? i + 3 : nil
        case 0xF0:
            return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? i + 4 : nil
        case 0xF1...0xF3:
            return cont(i + 1) && cont(i + 2) && cont(i + 3) ? i + 4 : nil
        case 0xF4:
            return cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? i + 4 : nil
        default:
            return nil
        }
    }

    /// Whether `p[start..<end]` is valid UTF-8.
    static func isValidUTF8(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        var i = start
        while i < end {
            if p[i] < 0x80 { i += 1; continue }
            guard let next = utf8SequenceEnd(p, i, end) else { return false }
            i = next
        }
        return true
    }

    /// The end of the JSON number (RFC 8259 §6 grammar
    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`) starting at `i`, whether it is an
    /// integer (no fraction, no exponent), or an error message and the offset it applies to.
    /// The number ends at the first byte that cannot continue it; the caller checks what follows.
    static func scanNumber(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> (end: Int, isInteger: Bool, error: (String, Int)?) {
        var i = start
        if i < end && p[i] == minus { i += 1 }
        guard i < end, isDigit(p[i]) else { return (i, false, ("expected a digit", i)) }
        if p[i] == zero {
            i += 1
            if i < end && isDigit(p[i]) { return (i, false, ("leading zero in number", i - 1)) }
        } else {
            while i < end && isDigit(p[i]) { i += 1 }
        }
        var isInteger = true
        if i < end && p[i] == dot {
            isInteger = false
            i += 1
            guard i < end, isDigit(p[i]) else { return (i, false, ("expected a digit after '.'", i)) }
            while i < end && isDigit(p[i]) { i += 1 }
        }
        if i < end && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            isInteger = false
            i += 1
            if i < end && (p[i] == plus || p[i] == minus) { i += 1 }
            guard i < end, isDigit(p[i]) else { return (i, false, ("expected a digit in exponent", i)) }
            while i < end && isDigit(p[i]) { i += 1 }
        }
        return (i, isInteger, nil)
    }

    /// The JSON integer (`-?(0|[1-9][0-9]*)`, in `Int64` range) that starts at `start` and
    /// ends before `limit` or before a byte that cannot continue a number, and that byte's
    /// index, in one pass; nil for anything else (a fraction, an exponent, a leading zero,
    /// no digit, overflow), for which ``scanNumber(_:_:_:)`` and ``parseInt64(_:_:_:)``
    /// decide. Where it returns a value, they return the same.
    @inline(__always)
    static func plainInt64(_ p: UnsafeRawBufferPointer, _ start: Int, _ limit: Int) -> (Int64, Int)? {
        var i = start
        var negative = false
        if i < limit && p[i] == minus { negative = true; i += 1 }
        guard i < limit else { return nil }
        var magnitude: UInt64 = 0
        if p[i] == zero {
            i += 1
        } else {
            let digitsStart = i
            while i < limit {
                let d = p[i] &- zero
                guard d < 10 else { break }
                if i - digitsStart >= 18 {
                    let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                    let (m2, o2) = m1.addingReportingOverflow(UInt64(d))
                    guard !o1, !o2 else { return nil }
                    magnitude = m2
                } else {
                    magnitude = magnitude &* 10 &+ UInt64(d)
                }
                i += 1
            }
            guard i > digitsStart else { return nil }
        }
        if i < limit {
            let b = p[i]
            guard !isDigit(b), b != dot, b != UInt8(ascii: "e"), b != UInt8(ascii: "E") else { return nil }
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return (magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude), i)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return (Int64(magnitude), i)
    }

    /// `p[start..<end]` as an `Int64` when it is exactly a JSON integer (`-?(0|[1-9][0-9]*)`)
    /// in range; nil otherwise (including overflow). Exact: no floating point involved.
    @inline(__always)
    static func parseInt64(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int64? {
        var i = start
        var negative = false
        if i < end && p[i] == minus { negative = true; i += 1 }
        guard i < end else { return nil }
        if p[i] == zero { return i + 1 == end ? 0 : nil }
        var magnitude: UInt64 = 0
        while i < end {
            let d = p[i] &- zero
            guard d < 10 else { return nil }
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { return nil }
            magnitude = m2
            i += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// Exact powers of ten representable as `Double` (Clinger's fast path).
    static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// `p[start..<end]`, which must be exactly one JSON number, as the correctly rounded
    /// nearest `Double` (may be ±infinity for huge exponents); nil when it is not a JSON number.
    ///
    /// Numbers with at most 15 significant digits and a decimal exponent within ±22 are
    /// converted exactly by one multiplication or division (Clinger 1990); every other
    /// number goes through the standard library's correctly rounded `Double(String)`.
    static func parseDouble(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Double? {
        let scan = scanNumber(p, start, end)
        guard scan.error == nil, scan.end == end, end > start else { return nil }
        var i = start
        var negative = false
        if p[i] == minus { negative = true; i += 1 }
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var sawNonZero = false
        while i < end && isDigit(p[i]) {
            let d = p[i] &- zero
            if d != 0 || sawNonZero {
                sawNonZero = true
                if significant < 19 { mantissa = mantissa &* 10 &+ UInt64(d) } else { exponent += 1 }
                significant += 1
            }
            i += 1
        }
        if i < end && p[i] == dot {
            i += 1
            while i < end && isDigit(p[i]) {
                let d = p[i] &- zero
                if d != 0 || sawNonZero {
                    sawNonZero = true
                    if significant < 19 { mantissa = mantissa &* 10 &+ UInt64(d); exponent -= 1 }
                    significant += 1
                } else {
                    exponent -= 1
                }
                i += 1
            }
        }
        var explicitExponent = 0
        if i < end {   // 'e' or 'E'
            i += 1
            var expNegative = false
            if p[i] == minus { expNegative = true; i += 1 } else if p[i] == plus { i += 1 }
            while i < end {
                if explicitExponent < 100_000 { explicitExponent = explicitExponent * 10 + Int(p[i] &- zero) }
                i += 1
            }
            if expNegative { explicitExponent = -explicitExponent }
        }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        let e = exponent + explicitExponent
        if significant <= 15 && e >= -22 && e <= 22 {
            var v = Double(mantissa)
            if e >= 0 { v *= exactPowersOfTen[e] } else { v /= exactPowersOfTen[-e] }
            return negative ? -v : v
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: p[start..<end]), as: UTF8.self)
        return Double(text)
    }

    /// A short, printable rendering of byte `b` for error messages: `'x'` or `0xNN`.
    static func describe(byte b: UInt8) -> String {
        if b >= 0x21 && b < 0x7F { return "'" + String(UnicodeScalar(b)) + "'" }
        let h = String(b, radix: 16, uppercase: true)
        return "0x" + (h.count < 2 ? "0" + h : h)
    }

    /// `bytes` quoted for an error message, cut to `max` bytes (at a UTF-8 boundary) with `…`.
    static func quoted(_ bytes: UnsafeRawBufferPointer, max: Int = 64) -> String {
        var n = Swift.min(bytes.count, max)
        while n > 0 && n < bytes.count && bytes[n] & 0xC0 == 0x80 { n -= 1 }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<n]), as: UTF8.self)
        return "\"" + s + (n < bytes.count ? "…" : "") + "\""
    }

    /// `text` quoted for an error message, cut to `max` UTF-8 bytes with `…`.
    static func quoted(_ text: String, max: Int = 64) -> String {
        var t = text
        return t.withUTF8 { quoted(UnsafeRawBufferPointer($0), max: max) }
    }
}

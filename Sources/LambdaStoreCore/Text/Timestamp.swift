/// Timestamps in text: ISO-8601 with an explicit zone, or integer epoch milliseconds, to and
/// from ``EpochMillis`` (UTC). Pure arithmetic on the proleptic Gregorian calendar (no
/// Foundation, no time-zone database, no leap seconds).
///
/// Accepted ISO-8601 form (RFC 3339 §5.6, plus ISO 8601's `hh:mm` without seconds);
/// format-spec.md §3a.4 states the same rule, for ingest and for filter literals alike:
///
/// ```
/// YYYY-MM-DD ('T' | 't' | ' ') hh:mm [ ':' ss [ '.' 1…9 digits ] ] ( 'Z' | 'z' | ±hh:mm | ±hhmm )
/// 2026-01-01T00:00:00Z   2026-01-01T02:00:00+02:00   2026-01-01t05:30:00.5-0530   2026-01-01T00:00Z
/// ```
///
/// - The zone is required (`2026-01-01T00:00:00` is rejected): a local time has no instant.
///   `-00:00` is accepted and means UTC. Offsets are at most `23:59`.
/// - The year has exactly four digits (0000–9999); seconds may be left out (`00:00Z` is
///   `00:00:00Z`), but a fraction needs them (`00:00.5Z` is rejected); `24:00` and leap
///   second `:60` are rejected; the day must exist in that month (2000-02-29 yes,
///   1900-02-29 no).
/// - Fractional seconds take 1 to 9 digits; digits beyond the millisecond are truncated
///   (`.1239` is 123 ms; the result is the floor, also before 1970). More than 9 digits is
///   rejected.
/// - Lowercase `t` and `z` and a space separator are accepted, as RFC 3339 allows.
///
/// Integer epoch milliseconds are `-?(0|[1-9][0-9]*)` within `Int64` (no `+`, no leading
/// zeros), the JSON integer grammar.
///
/// Thread safety: stateless.
public enum Timestamp {
    /// Milliseconds per day.
    static let msPerDay: Int64 = 86_400_000

    /// The timestamps LambdaStore accepts (format-spec.md §1.4): 0001-01-01T00:00:00Z through
    /// 9999-12-31T23:59:59.999Z, the years ISO-8601 text can write with four digits. Every
    /// window of every view a definition can describe has a representable start and end for
    /// such a time, so an event is never accepted and then counted nowhere.
    public static let supportedRange: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    /// The reason a timestamp outside ``supportedRange`` is refused, for error messages.
    public static let outsideRangeReason = " (outside the supported range 0001-01-01T00:00:00Z…9999-12-31T23:59:59.999Z)"

    /// Parses integer epoch ms text or an ISO-8601 timestamp with zone; nil when `text` is
    /// neither (the whole text must match: no surrounding spaces).
    public static func parse(_ text: String) -> EpochMillis? {
        var t = text
        return t.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    /// Parses integer epoch ms or ISO-8601 with zone from UTF-8 bytes; see ``parse(_:)-(String)``.
    /// - Complexity: O(bytes).
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> EpochMillis? {
        if let v = TextScan.parseInt64(bytes, 0, bytes.count) { return v }
        return parseISO8601(bytes)
    }

    /// Parses an ISO-8601 timestamp with zone only (no epoch ms) from a string; see
    /// ``parseISO8601(_:)-(UnsafeRawBufferPointer)``. Used where a text is known to be a string
    /// (a JSON string, a filter literal), so `'1704067200150'` is not read as epoch ms.
    /// - Complexity: O(bytes).
    public static func parseISO8601(_ text: String) -> EpochMillis? {
        var t = text
        return t.withUTF8 { parseISO8601(UnsafeRawBufferPointer($0)) }
    }

    /// Parses an ISO-8601 timestamp with zone only (no epoch ms), the form described above.
    /// - Complexity: O(bytes).
    public static func parseISO8601(_ p: UnsafeRawBufferPointer) -> EpochMillis? {
        let n = p.count
        guard n >= 17 else { return nil }   // the shortest form: YYYY-MM-DDThh:mmZ
        @inline(__always) func digits(_ at: Int, _ count: Int) -> Int64? {
            var v: Int64 = 0
            for k in at..<(at + count) {
                let d = p[k] &- TextScan.zero
                guard d < 10 else { return nil }
                v = v * 10 + Int64(d)
            }
            return v
        }
        @inline(__always) func byte(_ at: Int, _ c: UInt8) -> Bool { p[at] == c }
        let dash = UInt8(ascii: "-"), colon = UInt8(ascii: ":")
        guard let year = digits(0, 4), byte(4, dash), let month = digits(5, 2), byte(7, dash),
              let day = digits(8, 2) else { return nil }
        let sep = p[10]
        guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == 0x20 else { return nil }
        guard let hour = digits(11, 2), byte(13, colon), let minute = digits(14, 2) else { return nil }
        var i = 16                      // after hh:mm
        var second: Int64 = 0
        var fractionMs: Int64 = 0
        if byte(16, colon) {
            // Seconds, then at least one byte (fraction or zone): n >= 20 keeps p[19] in bounds.
            guard n >= 20, let s = digits(17, 2) else { return nil }
            second = s
            i = 19
            if p[i] == TextScan.dot {
                i += 1
                let start = i
                while i < n && TextScan.isDigit(p[i]) {
                    if i - start < 3 { fractionMs = fractionMs * 10 + Int64(p[i] - TextScan.zero) }
                    i += 1
                }
                let count = i - start
                guard count >= 1, count <= 9 else { return nil }
                if count < 3 { for _ in count..<3 { fractionMs *= 10 } }
            }
        }
        guard month >= 1, month <= 12, day >= 1, day <= daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 59 else { return nil }
        guard i < n else { return nil }
        var offsetSeconds: Int64 = 0
        let z = p[i]
        if z == UInt8(ascii: "Z") || z == UInt8(ascii: "z") {
            i += 1
        } else if z == TextScan.plus || z == TextScan.minus {
            i += 1
            let rest = n - i
            guard rest == 5 || rest == 4, let oh = digits(i, 2) else { return nil }
            let omAt = rest == 5 ? i + 3 : i + 2
            if rest == 5 { guard byte(i + 2, colon) else { return nil } }
            guard let om = digits(omAt, 2), oh <= 23, om <= 59 else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (z == TextScan.minus ? -1 : 1)
            i = n
        } else {
            return nil
        }
        guard i == n else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * 1000 + fractionMs
    }

    /// `ms` as `YYYY-MM-DDThh:mm:ss.sssZ` (always UTC, always milliseconds). Years outside
    /// 0000–9999 use the ISO-8601 expanded form, a sign and at least six digits
    /// (`+010000-01-01T00:00:00.000Z`), which ``parse(_:)-(String)`` does not read back.
    /// - Complexity: O(1).
    public static func format(_ ms: EpochMillis) -> String {
        var days = ms / msPerDay
        var msOfDay = ms % msPerDay
        if msOfDay < 0 { days -= 1; msOfDay += msPerDay }
        let (y, m, d) = civilFromDays(days)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func pad(_ v: Int64, _ width: Int) {
            let s = Array(String(v).utf8)
            for _ in s.count..<max(width, s.count) { out.append(TextScan.zero) }
            out.append(contentsOf: s)
        }
        if y >= 0 && y <= 9999 {
            pad(y, 4)
        } else {
            out.append(y < 0 ? TextScan.minus : TextScan.plus)
            pad(y < 0 ? -y : y, 6)
        }
        out.append(TextScan.minus); pad(m, 2)
        out.append(TextScan.minus); pad(d, 2)
        out.append(UInt8(ascii: "T"))
        pad(msOfDay / 3_600_000, 2)
        out.append(UInt8(ascii: ":")); pad(msOfDay / 60_000 % 60, 2)
        out.append(UInt8(ascii: ":")); pad(msOfDay / 1000 % 60, 2)
        out.append(TextScan.dot); pad(msOfDay % 1000, 3)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `year` is a Gregorian leap year.
    static func isLeapYear(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// Days in `month` (1–12) of `year`.
    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (`civil_from_days`).
    static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

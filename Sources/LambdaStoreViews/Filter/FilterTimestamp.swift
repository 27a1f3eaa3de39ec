/// ISO-8601 timestamps in filter literals (format-spec.md §3a "Types"), converted to epoch
/// milliseconds when a filter is compiled.
///
/// Accepted: `YYYY-MM-DDTHH:MM[:SS[.fraction]]` followed by `Z` or an offset `±HH:MM` /
/// `±HHMM` (`t` and `z` also accepted, a space may replace `T`). The fraction has 1–9 digits;
/// digits past the millisecond are dropped (the time is floored to the millisecond).
enum FilterTimestamp {
    /// Epoch milliseconds, or nil when `text` is not such a timestamp or names an invalid
    /// date or time.
    static func parseMillis(_ text: String) -> Int64? {
        let u = Array(text.utf8)
        var i = 0
        func num(_ width: Int) -> Int? {
            guard i + width <= u.count else { return nil }
            var v = 0
            for k in 0..<width {
                let b = u[i + k]
                guard b >= 0x30 && b <= 0x39 else { return nil }
                v = v * 10 + Int(b - 0x30)
            }
            i += width
            return v
        }
        func take(_ c: UInt8) -> Bool {
            guard i < u.count, u[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = num(4), take(UInt8(ascii: "-")), let month = num(2), take(UInt8(ascii: "-")), let day = num(2) else { return nil }
        guard take(UInt8(ascii: "T")) || take(UInt8(ascii: "t")) || take(UInt8(ascii: " ")) else { return nil }
        guard let hour = num(2), take(UInt8(ascii: ":")), let minute = num(2) else { return nil }
        var second = 0, millis = 0
        if take(UInt8(ascii: ":")) {
            guard let s = num(2) else { return nil }
            second = s
            if take(UInt8(ascii: ".")) {
                var digits = 0
                while i < u.count, u[i] >= 0x30, u[i] <= 0x39 {
                    if digits < 3 { millis = millis * 10 + Int(u[i] - 0x30) }
                    digits += 1
                    i += 1
                }
                guard digits >= 1, digits <= 9 else { return nil }
                if digits < 3 { for _ in digits..<3 { millis *= 10 } }
            }
        }
        var offsetMinutes = 0
        if take(UInt8(ascii: "Z")) || take(UInt8(ascii: "z")) {
        } else if i < u.count, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
            let sign = u[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = num(2) else { return nil }
            _ = take(UInt8(ascii: ":"))
            guard let om = num(2), oh <= 23, om <= 59 else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
        } else {
            return nil
        }
        guard i == u.count else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 59 else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

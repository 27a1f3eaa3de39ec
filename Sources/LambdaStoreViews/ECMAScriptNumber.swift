/// Doubles as ECMAScript's `Number::toString` prints them (what `JSON.stringify` and RFC 8785
/// print): the text of float literals in a filter's canonical form (format-spec.md §3a.5), so
/// it is part of the fingerprint, and of the `drift` thresholds a view file is written back with.
///
/// Thread safety: stateless.
enum ECMAScriptNumber {
    /// A finite double (callers check: the filter lexer only makes finite floats) in the
    /// `Number::toString` form: the shortest digits that round-trip, plain notation for decimal
    /// exponents in (-7, 21], else `d.ddde±x`; `-0` prints as `0`.
    /// - Complexity: O(1) (at most 17 significant digits).
    static func format(_ d: Double) -> String {
        precondition(d.isFinite, "ECMAScriptNumber.format of a non-finite value")
        if d == 0 { return "0" }
        let (digits, n) = shortestDigits(abs(d))
        let k = digits.count
        var s = d < 0 ? "-" : ""
        if k <= n && n <= 21 {
            s += digits + String(repeating: "0", count: n - k)
        } else if 0 < n && n <= 21 {
            s += digits.prefix(n) + "." + digits.dropFirst(n)
        } else if -6 < n && n <= 0 {
            s += "0." + String(repeating: "0", count: -n) + digits
        } else {
            let e = n - 1
            s += digits.prefix(1)
            if k > 1 { s += "." + digits.dropFirst(1) }
            s += "e" + (e < 0 ? "-" : "+") + String(abs(e))
        }
        return s
    }

    /// The shortest round-trip decimal digits of a positive finite `d` (no leading or trailing
    /// zeros) and `n` such that `d = 0.digits × 10^n`, read off Swift's shortest-digit
    /// `description`.
    static func shortestDigits(_ d: Double) -> (String, Int) {
        let text = d.description
        var mantissa = Substring(text)
        var exp = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exp = Int(text[text.index(after: e)...]) ?? 0
        }
        var intPart = mantissa, fracPart: Substring = ""
        if let dot = mantissa.firstIndex(of: ".") {
            intPart = mantissa[..<dot]
            fracPart = mantissa[mantissa.index(after: dot)...]
        }
        var digits = Array(intPart + fracPart)
        var n = intPart.count + exp
        while let f = digits.first, f == "0" { digits.removeFirst(); n -= 1 }
        while let l = digits.last, l == "0" { digits.removeLast() }
        return (String(digits), n)
    }
}

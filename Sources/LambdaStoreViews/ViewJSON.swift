import LambdaStoreCore

/// A parsed JSON value, as small as the view file needs: object members keep their order (and
/// duplicates are rejected while parsing), integers that fit `Int64` stay exact.
///
/// Internal to the definition side; `ViewDefinition.parse(json:)` and `toJSON()` go through it.
enum ViewJSON: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([ViewJSON])
    case object([(key: String, value: ViewJSON)])

    /// What the value is, for "expected X, got Y" messages.
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Deepest nesting of arrays and objects the parser accepts (bounds its recursion).
    static let depthMax = 64
}

// MARK: - Parsing

extension ViewJSON {
    /// Parses one JSON text (RFC 8259): UTF-8, optional surrounding whitespace, nothing after.
    /// - Throws: ``LambdaStoreError/Code/view`` with `line L, column C` (1-based, columns in
    ///   bytes) of the first bad byte.
    static func parse(_ bytes: [UInt8]) throws(LambdaStoreError) -> ViewJSON {
        guard bytes.count <= Limits.metadataBytesMax else {
            throw LambdaStoreError(.limitExceeded, "view file is \(bytes.count) bytes (max \(Limits.metadataBytesMax))")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw LambdaStoreError(.view, "view file is not valid UTF-8")
        }
        var p = ViewJSONParser(bytes: bytes)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == bytes.count else { throw p.fail("unexpected '\(p.printable(p.i))' after the JSON value") }
        return v
    }
}

struct ViewJSONParser {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ message: String, at pos: Int? = nil) -> LambdaStoreError {
        let at = min(pos ?? i, bytes.count)
        var line = 1, col = 1
        for b in bytes[..<at] {
            if b == 0x0A { line += 1; col = 1 } else { col += 1 }
        }
        return LambdaStoreError(.view, "view file: line \(line), column \(col): \(message)")
    }

    func printable(_ pos: Int) -> String {
        guard pos < bytes.count else { return "end of input" }
        let b = bytes[pos]
        return b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : "byte 0x" + String(b, radix: 16)
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func expect(_ c: UInt8) throws(LambdaStoreError) {
        guard i < bytes.count, bytes[i] == c else {
            throw fail("expected '\(String(UnicodeScalar(c)))', found \(i < bytes.count ? "'\(printable(i))'" : "end of input")")
        }
        i += 1
    }

    mutating func value(depth: Int) throws(LambdaStoreError) -> ViewJSON {
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            guard depth < ViewJSON.depthMax else { throw fail("nesting deeper than \(ViewJSON.depthMax)") }
            i += 1
            var members: [(key: String, value: ViewJSON)] = []
            var seen = Set<String>()
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                let keyAt = i
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let key = try string()
                guard seen.insert(key).inserted else { throw fail("duplicate key '\(key)'", at: keyAt) }
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                members.append((key, try value(depth: depth + 1)))
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "}"))
                return .object(members)
            }
        case UInt8(ascii: "["):
            guard depth < ViewJSON.depthMax else { throw fail("nesting deeper than \(ViewJSON.depthMax)") }
            i += 1
            var items: [ViewJSON] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "]"))
                return .array(items)
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try word("true"); return .bool(true)
        case UInt8(ascii: "f"): try word("false"); return .bool(false)
        case UInt8(ascii: "n"): try word("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        default:
            throw fail("unexpected '\(printable(i))'")
        }
    }

    mutating func word(_ w: StaticString) throws(LambdaStoreError) {
        let n = w.utf8CodeUnitCount
        let ok = i + n <= bytes.count && (0..<n).allSatisfy { bytes[i + $0] == w.utf8Start[$0] }
        guard ok else { throw fail("unexpected '\(printable(i))'") }
        i += n
    }

    mutating func number() throws(LambdaStoreError) -> ViewJSON {
        let start = i
        func digits(_ p: inout ViewJSONParser) -> Int {
            let s = p.i
            while p.i < p.bytes.count, p.bytes[p.i] >= 0x30, p.bytes[p.i] <= 0x39 { p.i += 1 }
            return p.i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        let nInt = digits(&self)
        guard nInt > 0 else { throw fail("malformed number", at: start) }
        guard !(nInt > 1 && bytes[intStart] == UInt8(ascii: "0")) else { throw fail("malformed number (leading zero)", at: start) }
        var isInteger = true
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            isInteger = false
            guard digits(&self) > 0 else { throw fail("malformed number", at: start) }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            isInteger = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&self) > 0 else { throw fail("malformed number", at: start) }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if isInteger, let v = Int64(text) { return .int(v) }
        guard let d = Double(text), d.isFinite else { throw fail("number \(text) is out of range", at: start) }
        return .double(d)
    }

    mutating func hex4() throws(LambdaStoreError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for k in 0..<4 {
            let b = bytes[i + k]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw fail("bad \\u escape", at: i + k)
            }
            v = v << 4 | d
        }
        i += 4
        return v
    }

    mutating func string() throws(LambdaStoreError) -> String {
        let open = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("unterminated string", at: open) }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; break }
            if b < 0x20 { throw fail("control character in string") }
            if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw fail("unterminated string", at: open) }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw fail("unpaired surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("unpaired surrogate in \\u escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw fail("bad escape '\\\(printable(i - 1))'", at: i - 2)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

// MARK: - Writing

extension ViewJSON {
    /// Compact JSON text: no whitespace; object members in stored order, or sorted by key
    /// (byte order of their UTF-8) when `sortedKeys`; strings escaped by ``appendEscaped(_:to:)``;
    /// integers in decimal; doubles by ``formatDouble(_:)``.
    func serialized(sortedKeys: Bool) -> String {
        var out = ""
        write(to: &out, sortedKeys: sortedKeys)
        return out
    }

    func write(to out: inout String, sortedKeys: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let v): out += String(v)
        case .double(let d): out += ViewJSON.formatDouble(d)
        case .string(let s): ViewJSON.appendEscaped(s, to: &out)
        case .array(let a):
            out += "["
            for (k, v) in a.enumerated() {
                if k > 0 { out += "," }
                v.write(to: &out, sortedKeys: sortedKeys)
            }
            out += "]"
        case .object(let o):
            out += "{"
            let members = sortedKeys ? o.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } : o
            for (k, m) in members.enumerated() {
                if k > 0 { out += "," }
                ViewJSON.appendEscaped(m.key, to: &out)
                out += ":"
                m.value.write(to: &out, sortedKeys: sortedKeys)
            }
            out += "}"
        }
    }

    /// Appends `s` as a JSON string: `"` and `\` backslash-escaped; U+0008, U+0009, U+000A,
    /// U+000C, U+000D as `\b \t \n \f \r`; other code points below U+0020 as `\u00xx`
    /// (lowercase hex); everything else as itself (the RFC 8785 rules).
    static func appendEscaped(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\u{0C}": out += "\\f"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u00" + (h.count < 2 ? "0" : "") + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    /// A finite double in the ECMAScript `Number::toString` form (what `JSON.stringify` and
    /// RFC 8785 print): the shortest digits that round-trip, plain notation for decimal
    /// exponents in (-7, 21], else `d.ddde±x`; `-0` prints as `0`.
    static func formatDouble(_ d: Double) -> String {
        precondition(d.isFinite, "formatDouble of a non-finite value")
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

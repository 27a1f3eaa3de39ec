extension JSONValue {
    /// Parses one JSON text (RFC 8259), strictly.
    ///
    /// Accepted: any value at the top level, surrounded by optional whitespace (space, tab,
    /// LF, CR). Rejected, each with the 1-based column (and line, when the text spans several)
    /// of the offending byte: trailing commas, leading zeros, `+1`, `.5`, `1.`, `NaN`, bad or
    /// incomplete escapes, `\u` escapes that leave a lone surrogate, unescaped control
    /// characters (< 0x20) in strings, invalid UTF-8 anywhere, a byte-order mark, comments,
    /// single quotes, duplicate keys in any object, nesting deeper than ``nestingDepthMax``,
    /// and anything after the value. Columns count bytes (UTF-8 code units).
    ///
    /// - Throws: ``LambdaStoreError/Code/invalidArgument``, message
    ///   `invalid JSON at column 12: expected ',' or '}' in object`; ``LambdaStoreError/offset``
    ///   holds the 0-based byte offset.
    /// - Complexity: O(bytes) expected: the duplicate-key check is a linear scan for objects of
    ///   up to 16 members and a hash set beyond. Recursion depth is bounded by ``nestingDepthMax``.
    ///
    /// Thread safety: a pure function of its input.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(LambdaStoreError) -> JSONValue {
        var parser = JSONParser(bytes)
        return try parser.parseDocument()
    }

    /// Parses one JSON text from an array of UTF-8 bytes; see ``parse(_:)-(UnsafeRawBufferPointer)``.
    /// - Throws: ``LambdaStoreError/Code/invalidArgument`` with the column.
    public static func parse(_ bytes: [UInt8]) throws(LambdaStoreError) -> JSONValue {
        try typed { try bytes.withUnsafeBytes { b throws(LambdaStoreError) in try parse(b) } }
    }

    /// Parses one JSON text from a string; see ``parse(_:)-(UnsafeRawBufferPointer)``.
    /// - Throws: ``LambdaStoreError/Code/invalidArgument`` with the column.
    public static func parse(_ text: String) throws(LambdaStoreError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// `line L, column C` (or `column C` on a single-line text) of byte `offset` of `bytes`,
    /// both 1-based, counting bytes.
    /// - Complexity: O(offset).
    public static func location(of offset: Int, in bytes: UnsafeRawBufferPointer) -> String {
        let (line, column) = JSONSyntaxError.lineAndColumn(of: offset, in: bytes)
        if line == 1 && !bytes.contains(0x0A) { return "column \(column)" }
        return "line \(line), column \(column)"
    }
}

/// The recursive-descent parser behind ``JSONValue/parse(_:)-(UnsafeRawBufferPointer)``.
/// Every read is bounds-checked against `end`; recursion is bounded by the nesting limit.
struct JSONParser {
    let p: UnsafeRawBufferPointer
    let end: Int
    var i = 0

    init(_ p: UnsafeRawBufferPointer) {
        self.p = p
        self.end = p.count
    }

    func fail(_ message: String, at offset: Int) -> LambdaStoreError {
        LambdaStoreError(.invalidArgument, "invalid JSON at \(JSONValue.location(of: offset, in: p)): \(message)", offset: Int64(offset))
    }

    func unexpected(_ what: String) -> LambdaStoreError {
        if i >= end { return fail("unexpected end of input, \(what)", at: i) }
        return fail("unexpected \(TextScan.describe(byte: p[i])), \(what)", at: i)
    }

    @inline(__always)
    mutating func skipSpace() {
        while i < end && TextScan.isSpace(p[i]) { i += 1 }
    }

    mutating func parseDocument() throws(LambdaStoreError) -> JSONValue {
        if end >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF {
            throw fail("byte-order mark is not allowed", at: 0)
        }
        skipSpace()
        let v = try parseValue(depth: 0)
        skipSpace()
        guard i == end else { throw unexpected("expected end of input after the value") }
        return v
    }

    mutating func parseValue(depth: Int) throws(LambdaStoreError) -> JSONValue {
        guard i < end else { throw unexpected("expected a value") }
        switch p[i] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case TextScan.quote: return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case TextScan.minus, TextScan.zero...TextScan.nine: return .number(try parseNumber())
        default: throw unexpected("expected a value")
        }
    }

    mutating func literal(_ word: StaticString) throws(LambdaStoreError) {
        let n = word.utf8CodeUnitCount
        let w = UnsafeRawBufferPointer(start: word.utf8Start, count: n)
        for k in 0..<n {
            guard i + k < end, p[i + k] == w[k] else {
                i += k
                throw unexpected("expected '\(word)'")
            }
        }
        i += n
    }

    mutating func parseNumber() throws(LambdaStoreError) -> JSONNumber {
        let start = i
        let scan = TextScan.scanNumber(p, start, end)
        if let (message, at) = scan.error { throw fail("invalid number: \(message)", at: at) }
        i = scan.end
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
        return JSONNumber(validatedText: text, isInteger: scan.isInteger)
    }

    mutating func parseArray(depth: Int) throws(LambdaStoreError) -> JSONValue {
        guard depth <= JSONValue.nestingDepthMax else { throw fail("nesting deeper than \(JSONValue.nestingDepthMax)", at: i) }
        i += 1
        skipSpace()
        var items: [JSONValue] = []
        if i < end && p[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            items.append(try parseValue(depth: depth))
            skipSpace()
            guard i < end else { throw unexpected("expected ',' or ']' in array") }
            if p[i] == TextScan.comma {
                i += 1
                skipSpace()
                continue
            }
            if p[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw unexpected("expected ',' or ']' in array")
        }
    }

    mutating func parseObject(depth: Int) throws(LambdaStoreError) -> JSONValue {
        guard depth <= JSONValue.nestingDepthMax else { throw fail("nesting deeper than \(JSONValue.nestingDepthMax)", at: i) }
        i += 1
        skipSpace()
        var members: [JSONMember] = []
        var keys = Set<String>()
        if i < end && p[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            guard i < end, p[i] == TextScan.quote else { throw unexpected("expected a string key in object") }
            let keyAt = i
            let key = try parseString()
            // Linear scan while small (cheaper than hashing), a set beyond.
            if members.count < 16 {
                if members.contains(where: { $0.key == key }) { throw fail("duplicate key \(TextScan.quoted(key))", at: keyAt) }
            } else {
                if keys.isEmpty { keys = Set(members.map(\.key)) }
                guard keys.insert(key).inserted else { throw fail("duplicate key \(TextScan.quoted(key))", at: keyAt) }
            }
            skipSpace()
            guard i < end, p[i] == UInt8(ascii: ":") else { throw unexpected("expected ':' after object key") }
            i += 1
            skipSpace()
            members.append(JSONMember(key, try parseValue(depth: depth)))
            skipSpace()
            guard i < end else { throw unexpected("expected ',' or '}' in object") }
            if p[i] == TextScan.comma {
                i += 1
                skipSpace()
                continue
            }
            if p[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw unexpected("expected ',' or '}' in object")
        }
    }

    /// Parses a string whose opening quote is at `i`; leaves `i` after the closing quote.
    mutating func parseString() throws(LambdaStoreError) -> String {
        let open = i
        i += 1
        // Fast scan: plain bytes up to the closing quote.
        var k = i
        while k < end {
            let b = p[k]
            if b == TextScan.quote || b == TextScan.backslash || b < 0x20 || b >= 0x80 { break }
            k += 1
        }
        if k < end && p[k] == TextScan.quote {
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: p[i..<k]), as: UTF8.self)
            i = k + 1
            return s
        }
        var out: [UInt8] = []
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[i..<k]))
        i = k
        while true {
            guard i < end else { throw fail("unterminated string", at: open) }
            let b = p[i]
            if b == TextScan.quote {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b < 0x20 {
                throw fail("unescaped control character \(TextScan.describe(byte: b)) in string", at: i)
            }
            if b >= 0x80 {
                guard let next = TextScan.utf8SequenceEnd(p, i, end) else { throw fail("invalid UTF-8 in string", at: i) }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[i..<next]))
                i = next
                continue
            }
            if b != TextScan.backslash {
                out.append(b)
                i += 1
                continue
            }
            try parseEscape(into: &out)
        }
    }

    /// Decodes the escape starting with the backslash at `i`, appending its UTF-8.
    mutating func parseEscape(into out: inout [UInt8]) throws(LambdaStoreError) {
        let at = i
        guard i + 1 < end else { throw fail("unterminated escape", at: at) }
        let c = p[i + 1]
        i += 2
        switch c {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4(at: at)
            if scalar >= 0xDC00 && scalar <= 0xDFFF { throw fail("lone low surrogate in \\u escape", at: at) }
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                guard i + 1 < end, p[i] == TextScan.backslash, p[i + 1] == UInt8(ascii: "u") else {
                    throw fail("lone high surrogate in \\u escape", at: at)
                }
                let lowAt = i
                i += 2
                let low = try hex4(at: lowAt)
                guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("high surrogate not followed by a low surrogate", at: lowAt) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            appendUTF8(scalar, to: &out)
        default:
            throw fail("invalid escape '\\\(String(decoding: [c < 0x80 ? c : UInt8(ascii: "?")], as: UTF8.self))'", at: at)
        }
    }

    /// Reads four hex digits at `i` (after `\u`); `escapeAt` is where the escape began.
    mutating func hex4(at escapeAt: Int) throws(LambdaStoreError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard i < end else { throw fail("incomplete \\u escape", at: escapeAt) }
            let b = p[i]
            let d: UInt8
            switch b {
            case TextScan.zero...TextScan.nine: d = b - TextScan.zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw fail("invalid hex digit in \\u escape", at: i)
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    func appendUTF8(_ s: UInt32, to out: inout [UInt8]) {
        switch s {
        case 0..<0x80:
            out.append(UInt8(s))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | s >> 6)); out.append(UInt8(0x80 | s & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | s >> 12)); out.append(UInt8(0x80 | s >> 6 & 0x3F)); out.append(UInt8(0x80 | s & 0x3F))
        default:
            out.append(UInt8(0xF0 | s >> 18)); out.append(UInt8(0x80 | s >> 12 & 0x3F))
            out.append(UInt8(0x80 | s >> 6 & 0x3F)); out.append(UInt8(0x80 | s & 0x3F))
        }
    }
}

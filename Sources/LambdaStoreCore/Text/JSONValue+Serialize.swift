extension JSONValue {
    /// The compact JSON text of this value: no whitespace, members in their stored order, so
    /// equal values always serialize to equal bytes.
    ///
    /// Strings escape `"` and `\`, write `\n \r \t \b \f` for those controls and `\u00XX` for
    /// the other characters below U+0020; everything else, non-ASCII included, is written as
    /// UTF-8. Numbers are written as their text: integers exactly, floats made with
    /// ``double(_:)`` in shortest round-trip form, non-finite floats as `null`.
    /// ``parse(_:)-(UnsafeRawBufferPointer)`` of the result gives back an equal value.
    /// - Complexity: O(size of the output).
    public func serialized() -> String {
        var out: [UInt8] = []
        serialize(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the compact JSON text of this value to `out` (see ``serialized()``).
    /// - Complexity: O(size of the output).
    public func serialize(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.text.utf8)
        case .string(let s): JSONValue.serialize(string: s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (k, v) in items.enumerated() {
                if k > 0 { out.append(TextScan.comma) }
                v.serialize(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (k, m) in members.enumerated() {
                if k > 0 { out.append(TextScan.comma) }
                JSONValue.serialize(string: m.key, into: &out)
                out.append(UInt8(ascii: ":"))
                m.value.serialize(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `s` as a quoted, escaped JSON string.
    /// - Complexity: O(UTF-8 length).
    public static func serialize(string s: String, into out: inout [UInt8]) {
        out.append(TextScan.quote)
        for b in s.utf8 {
            switch b {
            case TextScan.quote: out.append(TextScan.backslash); out.append(TextScan.quote)
            case TextScan.backslash: out.append(TextScan.backslash); out.append(TextScan.backslash)
            case 0x0A: out.append(TextScan.backslash); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(TextScan.backslash); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(TextScan.backslash); out.append(UInt8(ascii: "t"))
            case 0x08: out.append(TextScan.backslash); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(TextScan.backslash); out.append(UInt8(ascii: "f"))
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [TextScan.backslash, UInt8(ascii: "u"), TextScan.zero, TextScan.zero, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(TextScan.quote)
    }
}

extension JSONValue {
    /// The JSON form of a typed ``Value``: numbers and timestamps (epoch ms) as numbers, floats
    /// in shortest round-trip form (non-finite → `null`), strings, booleans, `null`.
    public init(_ value: LambdaStoreCore.Value) {
        switch value {
        case .null: self = .null
        case .int64(let v), .timestamp(let v): self = .int(v)
        case .float64(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .bool(let b): self = .bool(b)
        }
    }
}

/// How text and JSON input become typed field values: the one set of rules shared by record
/// lines (JSONL and CSV) and schema-file defaults (DESIGN.md "Details", ingest).
///
/// | type | JSON accepts | CSV cell accepts |
/// | --- | --- | --- |
/// | `int64` | an integer (`-?(0\|[1-9][0-9]*)`) within `Int64`; not `1.5`, `1.0`, `1e3` or `"12"` | the same text |
/// | `float64` | any number whose nearest double is finite | the same text (no `NaN`, `inf`) |
/// | `timestamp` | an integer (epoch ms) or a string in ISO-8601 with zone (``Timestamp``) | either form |
/// | `bool` | `true`, `false` | `true`, `false` (lowercase) |
/// | `string` | a string of at most ``Limits/stringBytesMax`` UTF-8 bytes | the cell (valid UTF-8) |
///
/// Thread safety: stateless.
enum FieldText {
    /// The reason prefix for a value of the wrong type: `expected int64`, … .
    static func expected(_ type: FieldType) -> String {
        switch type {
        case .int64: "expected int64"
        case .float64: "expected float64"
        case .string: "expected string"
        case .bool: "expected bool (true or false)"
        case .timestamp: "expected timestamp (epoch ms or ISO-8601 with zone)"
        }
    }

    /// A short description of a JSON value for a reason: `string "12"`, `number 1.5`,
    /// `bool true`, `null`, `array`, `object`.
    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case .bool(let b): b ? "bool true" : "bool false"
        case .number(let n): "number " + (n.text.utf8.count > 64 ? String(n.text.prefix(64)) + "…" : n.text)
        case .string(let s): "string " + TextScan.quoted(s)
        case .array: "array"
        case .object: "object"
        }
    }

    /// The reason for a string longer than the limit.
    static func tooLong(_ count: Int) -> String {
        "string of \(count) bytes exceeds the limit of \(Limits.stringBytesMax) bytes"
    }

    /// Converts a non-null JSON value to a value of `type`, or returns the reason it cannot be
    /// (`expected int64, got string "12"`), following the table above.
    static func value(fromJSON v: JSONValue, type: FieldType) -> Result<Value, ReasonError> {
        func mismatch(_ extra: String = "") -> Result<Value, ReasonError> {
            .failure(ReasonError(expected(type) + ", got " + describe(v) + extra))
        }
        switch (type, v) {
        case (.int64, .number(let n)):
            guard n.isInteger else { return mismatch() }
            guard let x = n.int64Value else { return mismatch(" (out of range)") }
            return .success(.int64(x))
        case (.float64, .number(let n)):
            let d = n.doubleValue
            guard d.isFinite else { return mismatch(" (out of range)") }
            return .success(.float64(d))
        case (.timestamp, .number(let n)):
            guard n.isInteger else { return mismatch() }
            guard let x = n.int64Value, Timestamp.supportedRange.contains(x) else { return mismatch(Timestamp.outsideRangeReason) }
            return .success(.timestamp(x))
        case (.timestamp, .string(let s)):
            guard let t = Timestamp.parseISO8601(s) else { return mismatch() }
            guard Timestamp.supportedRange.contains(t) else { return mismatch(Timestamp.outsideRangeReason) }
            return .success(.timestamp(t))
        case (.bool, .bool(let b)):
            return .success(.bool(b))
        case (.string, .string(let s)):
            let n = s.utf8.count
            guard n <= Limits.stringBytesMax else { return .failure(ReasonError(tooLong(n))) }
            return .success(.string(s))
        default:
            return mismatch()
        }
    }
}

/// A rejection reason without a line number, as an `Error` so it can travel in a `Result`.
struct ReasonError: Error, Sendable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

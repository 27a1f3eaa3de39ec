/// A JSON value (RFC 8259) as LambdaStore reads and writes it: schema files, view files,
/// record lines on the slow path, and every `--json` output of the `lambdastore` tool.
///
/// Objects keep their members in input order (an array of ``JSONMember``) and never hold two
/// members with the same key: ``parse(_:)`` rejects duplicates. Numbers keep their text
/// (``JSONNumber``), so `9007199254740993` stays exact as an `int64` and a float is converted
/// once, correctly rounded, when asked for.
///
/// ```swift
/// let v = try JSONValue.parse("{\"amount\": 9007199254740993, \"tags\": [\"a\"]}")
/// v["amount"]?.int64Value   // 9007199254740993
/// v.serialized()            // {"amount":9007199254740993,"tags":["a"]}
/// ```
///
/// Equality is structural and order-sensitive: `{"a":1,"b":2}` and `{"b":2,"a":1}` differ, as
/// do the numbers `1.0` and `1.00` (see ``JSONNumber``).
///
/// Thread safety: a value type; share copies freely.
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, kept as its text.
    case number(JSONNumber)
    /// A string (always valid Unicode: lone surrogates are rejected on input).
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object: members in order, keys unique.
    case object([JSONMember])

    /// Most nested arrays and objects ``parse(_:)`` accepts (a top-level scalar is depth 0, `[1]`
    /// is depth 1): bounds the parser's recursion on hostile input.
    public static let nestingDepthMax = 128

    /// An integer number, exact.
    public static func int(_ v: Int64) -> JSONValue { .number(JSONNumber(v)) }

    /// A float written in its shortest round-trip form; non-finite values become ``null``.
    public static func double(_ v: Double) -> JSONValue {
        guard let n = JSONNumber(v) else { return .null }
        return .number(n)
    }

    /// The member named `key` of an object; nil for a missing key or a non-object.
    /// - Complexity: O(members).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// Whether this is ``null``.
    public var isNull: Bool { if case .null = self { true } else { false } }

    /// The string of a ``string``.
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }

    /// The value of a ``bool``.
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }

    /// The value of a ``number`` written as an integer that fits in `Int64` (no fraction, no
    /// exponent: `1.0` and `1e3` are not integers).
    public var int64Value: Int64? { if case .number(let n) = self { n.int64Value } else { nil } }

    /// The value of a ``number`` as the nearest `Double` (may be infinite for huge exponents).
    public var doubleValue: Double? { if case .number(let n) = self { n.doubleValue } else { nil } }

    /// The elements of an ``array``.
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }

    /// The members of an ``object``.
    public var objectValue: [JSONMember]? { if case .object(let m) = self { m } else { nil } }

    /// The JSON kind, for messages: `null`, `bool`, `number`, `string`, `array` or `object`.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// One member of a JSON object.
///
/// Thread safety: a value type.
public struct JSONMember: Sendable, Hashable {
    /// The key.
    public var key: String
    /// The value.
    public var value: JSONValue

    /// Creates a member.
    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// A JSON number kept as its text, so no precision is lost between reading and using it.
///
/// The text always matches the RFC 8259 number grammar. Two numbers are equal when their texts
/// are equal (`1.0` and `1.00` differ), which is what a round trip needs.
///
/// Thread safety: a value type.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number as written (RFC 8259 grammar).
    public let text: String
    /// Whether the text has neither a fraction nor an exponent.
    public let isInteger: Bool

    /// A number from text already checked against the grammar.
    init(validatedText text: String, isInteger: Bool) {
        self.text = text
        self.isInteger = isInteger
    }

    /// Parses `text` as one JSON number; nil when it does not match the grammar exactly.
    public init?(_ text: String) {
        var t = text
        let scan = t.withUTF8 { u in TextScan.scanNumber(UnsafeRawBufferPointer(u), 0, u.count) }
        guard scan.error == nil, scan.end == text.utf8.count, scan.end > 0 else { return nil }
        self.text = text
        self.isInteger = scan.isInteger
    }

    /// An exact integer.
    public init(_ v: Int64) {
        text = String(v)
        isInteger = true
    }

    /// The shortest text that reads back as exactly `v` (Swift's `description`, which is a
    /// valid JSON number for finite values, e.g. `0.1`, `1.0`, `1e-07`, `5e+20`); nil for NaN
    /// and infinities, which JSON cannot express.
    public init?(_ v: Double) {
        guard v.isFinite else { return nil }
        text = v.description
        isInteger = false
    }

    /// The value when the text is an integer that fits in `Int64`.
    public var int64Value: Int64? {
        guard isInteger else { return nil }
        var t = text
        return t.withUTF8 { u in TextScan.parseInt64(UnsafeRawBufferPointer(u), 0, u.count) }
    }

    /// The nearest `Double`, correctly rounded (±infinity when the exponent is too large).
    public var doubleValue: Double {
        var t = text
        return t.withUTF8 { u in TextScan.parseDouble(UnsafeRawBufferPointer(u), 0, u.count) } ?? .nan
    }

    /// The text.
    public var description: String { text }
}

/// Literal syntax for building JSON in code, e.g. the tool's `--json` summaries:
///
/// ```swift
/// let summary: JSONValue = ["appended": .int(appended), "rejected": .int(rejected),
///                           "firstOffset": first.map { .int($0) } ?? nil]
/// summary.serialized()   // {"appended":3,"rejected":1,"firstOffset":null}
/// ```
///
/// A dictionary literal keeps its key order; a repeated key is a programming error (it traps).
/// (The conformance makes `Value` inside `JSONValue` extensions mean `JSONValue`; write
/// `LambdaStoreCore.Value` there for the typed field value.)
extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    /// `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An exact integer.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// A float in shortest round-trip form.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// A string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// An object with the members in literal order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var members: [JSONMember] = []
        members.reserveCapacity(elements.count)
        for (k, v) in elements {
            precondition(!members.contains { $0.key == k }, "duplicate key '\(k)' in a JSON object literal")
            members.append(JSONMember(k, v))
        }
        self = .object(members)
    }
}

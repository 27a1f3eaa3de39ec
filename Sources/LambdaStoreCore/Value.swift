/// The type of a stream field. Raw values are stored on disk (format-spec.md §2).
public enum FieldType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Signed 64-bit integer.
    case int64 = 1
    /// IEEE-754 double.
    case float64 = 2
    /// UTF-8 string.
    case string = 3
    /// Boolean.
    case bool = 4
    /// Epoch milliseconds, UTC, as a signed 64-bit integer.
    case timestamp = 5

    /// The name used in schema files: `int64 float64 string bool timestamp`.
    public var description: String {
        switch self {
        case .int64: "int64"
        case .float64: "float64"
        case .string: "string"
        case .bool: "bool"
        case .timestamp: "timestamp"
        }
    }

    /// Parses a schema-file type name.
    public init?(name: String) {
        guard let t = FieldType.allCases.first(where: { $0.description == name }) else { return nil }
        self = t
    }

    /// Whether values are stored as `Int64` in a ``Column`` (`int64`, `timestamp`, `bool`).
    @inlinable public var isIntegerBacked: Bool { self == .int64 || self == .timestamp || self == .bool }
}

/// Epoch milliseconds, UTC.
public typealias EpochMillis = Int64

/// A single typed value, or null. Used at the edges (ingest, query results, defaults); hot
/// paths work on ``Column`` storage instead.
public enum Value: Sendable, Hashable, CustomStringConvertible {
    case null
    case int64(Int64)
    case float64(Double)
    case string(String)
    case bool(Bool)
    case timestamp(EpochMillis)

    /// Whether this is ``null``.
    @inlinable public var isNull: Bool { if case .null = self { true } else { false } }

    /// The type of a non-null value.
    public var type: FieldType? {
        switch self {
        case .null: nil
        case .int64: .int64
        case .float64: .float64
        case .string: .string
        case .bool: .bool
        case .timestamp: .timestamp
        }
    }

    /// A plain rendering: numbers as Swift prints them, strings unquoted, `null`.
    public var description: String {
        switch self {
        case .null: "null"
        case .int64(let v): String(v)
        case .float64(let v): String(v)
        case .string(let s): s
        case .bool(let b): b ? "true" : "false"
        case .timestamp(let t): String(t)
        }
    }
}

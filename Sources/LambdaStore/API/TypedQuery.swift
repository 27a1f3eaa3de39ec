#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LambdaStoreCore
import LambdaStoreViews

/// A group-key value for a typed query: a string, integer, floating-point or Boolean
/// literal, a `Value`, or a date (``date(_:)``) for a `timestamp` group field.
///
/// Thread safety: a value type.
public struct QueryKeyValue: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
                             ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral {
    /// The value.
    public var value: Value

    /// A key value from a `Value`.
    public init(_ value: Value) { self.value = value }
    /// A `string` key.
    public init(_ value: String) { self.value = .string(value) }
    /// An `int64` key (or epoch ms of a `timestamp` key).
    public init(_ value: Int64) { self.value = .int64(value) }
    /// A `float64` key.
    public init(_ value: Double) { self.value = .float64(value) }
    /// A `bool` key.
    public init(_ value: Bool) { self.value = .bool(value) }
    /// A string literal.
    public init(stringLiteral value: String) { self.value = .string(value) }
    /// An integer literal.
    public init(integerLiteral value: Int64) { self.value = .int64(value) }
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self.value = .float64(value) }
    /// A Boolean literal.
    public init(booleanLiteral value: Bool) { self.value = .bool(value) }
    /// A `timestamp` key: `date` in epoch milliseconds, rounded toward −∞ (a date outside
    /// `Timestamp.supportedRange` matches nothing and is refused by the query).
    public static func date(_ date: Date) -> QueryKeyValue {
        QueryKeyValue(TypedValues.epochMillis(date).map { .timestamp($0) } ?? .float64(date.timeIntervalSince1970 * 1000))
    }
}

extension Store {
    /// Serves a view by name, like ``query(_:)``, with typed key values and a `Date` range of
    /// window starts, and returns rows readable by column name and decodable into `Decodable`
    /// types.
    ///
    /// ```swift
    /// let answer = try await store.query(view: "revenue_hourly", keys: ["merchant_id": "m1"],
    ///                                    from: start, to: end)
    /// for row in answer { print(try row.date("window_start")!, try row.int("revenue") ?? 0, row.source) }
    /// let hours = try answer.decode(RevenueHour.self)
    /// ```
    /// - Parameters:
    ///   - view: the view's name.
    ///   - keys: group-by field → value (every row has these values); empty: every key.
    ///   - from: windows starting at or after this instant (nil: no bound).
    ///   - to: windows starting before this instant (nil: no bound).
    /// - Throws: `LambdaStoreError/Code/invalidArgument` naming a key that is not a
    ///   group-by field or whose value does not fit its type; `.notFound` for an unknown view;
    ///   whatever ``query(_:)`` throws.
    nonisolated(nonsending) public func query(view: String, keys: [String: QueryKeyValue] = [:], from: Date? = nil, to: Date? = nil) async throws(LambdaStoreError) -> QueryAnswer {
        try await query(view: view, keys: keys,
                  fromMillis: from.map { Self.boundMillis($0) }, toMillis: to.map { Self.boundMillis($0) })
    }

    /// ``query(view:keys:from:to:)`` with the range of window starts in epoch milliseconds:
    /// windows with `fromMillis <= start < toMillis` (a nil bound is open).
    nonisolated(nonsending) public func query(view: String, keys: [String: QueryKeyValue] = [:], fromMillis: Int64?, toMillis: Int64?) async throws(LambdaStoreError) -> QueryAnswer {
        var request = QueryRequest(view: view, from: fromMillis, to: toMillis)
        if !keys.isEmpty {
            let h = try handle(view)
            let groupBy = h.state.withLock { $0.compiled.layout.groupBy }
            request.keys.reserveCapacity(keys.count)
            for (name, k) in keys {
                guard let g = groupBy.first(where: { $0.name == name }) else {
                    throw LambdaStoreError(.invalidArgument, "key '\(name)': not a group-by field of view '\(view)' (group-by: \(groupBy.map(\.name).joined(separator: ", ")))")
                }
                request.keys.append((name, try Self.keyText(k.value, g)))
            }
        }
        let result = try await query(request)
        return QueryAnswer(result: result, columns: AnswerColumns(result))
    }

    /// A `Date` bound as epoch ms (rounded toward −∞, clamped to `Int64`).
    static func boundMillis(_ d: Date) -> Int64 {
        if let ms = TypedValues.epochMillis(d) { return ms }
        let x = d.timeIntervalSince1970 * 1000
        return x.isNaN ? Int64.min : (x < 0 ? Int64.min : Int64.max)
    }

    /// The text form of a key value for the group field `g` (parsed back exactly by
    /// ``query(_:)``).
    static func keyText(_ v: Value, _ g: GroupField) throws(LambdaStoreError) -> String {
        switch (g.type, v) {
        case (.string, .string(let s)): return s
        case (.int64, .int64(let x)), (.timestamp, .timestamp(let x)), (.timestamp, .int64(let x)): return String(x)
        case (.float64, .float64(let x)): return x.description
        case (.float64, .int64(let x)): return Double(x).description
        case (.bool, .bool(let b)): return b ? "true" : "false"
        default:
            throw LambdaStoreError(.invalidArgument, "key '\(g.name)': \(v) is not a \(g.type)\(v.type.map { " (it is a \($0))" } ?? "")")
        }
    }
}

/// The column names of a typed answer and their positions (shared by its rows).
///
/// A view has a handful of columns, so a name is found by a linear scan of `names` (the
/// first match): cheaper, for the few lookups of a point query, than building a dictionary
/// for every answer.
final class AnswerColumns: Sendable {
    /// `window_start, window_end, <group-by…>, <aggregates…>, source`.
    let names: [String]
    let groupCount: Int

    init(_ r: QueryResult) {
        var names: [String] = []
        names.reserveCapacity(r.groupBy.count + r.aggregates.count + 3)
        names.append("window_start")
        names.append("window_end")
        names.append(contentsOf: r.groupBy)
        names.append(contentsOf: r.aggregates)
        names.append("source")
        self.names = names
        groupCount = r.groupBy.count
    }

    /// The position of column `name`, nil when the answer has none.
    func position(of name: String) -> Int? { names.firstIndex(of: name) }
}

/// The answer of a typed query: the rows of a ``QueryResult``, readable by column name, with
/// the fingerprint and horizon of the served view version.
///
/// A collection of ``AnswerRow``; ``decode(_:)`` turns every row into a `Decodable` value.
///
/// Thread safety: a value type.
public struct QueryAnswer: Sendable, RandomAccessCollection {
    /// The raw result (positional rows).
    public let result: QueryResult
    let columns: AnswerColumns

    init(result: QueryResult, columns: AnswerColumns) {
        self.result = result
        self.columns = columns
    }

    /// The column names every row has: `window_start`, `window_end`, the group-by fields, the
    /// aggregates, `source`.
    public var columnNames: [String] { columns.names }
    /// The fingerprint of the served view version.
    public var fingerprint: String { result.fingerprint }
    /// The batch horizon of the batch part.
    public var horizon: Int64 { result.horizon }
    /// Set when the batch and speed parts could not be merged, saying why.
    public var note: String? { result.note }

    /// The first row position.
    public var startIndex: Int { 0 }
    /// One past the last row position.
    public var endIndex: Int { result.rows.count }
    /// Row `i`.
    public subscript(i: Int) -> AnswerRow { AnswerRow(raw: result.rows[i], columns: columns) }

    /// Every row decoded as a `T` (see ``AnswerRow/decode(_:)``).
    /// - Throws: as ``AnswerRow/decode(_:)``, prefixed with the row position.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws(LambdaStoreError) -> [T] {
        var out: [T] = []
        out.reserveCapacity(count)
        for i in indices {
            do throws(LambdaStoreError) {
                out.append(try self[i].decode(T.self))
            } catch {
                throw LambdaStoreError(error.code, "row \(i): " + error.message)
            }
        }
        return out
    }
}

/// One served row, readable by column name: `window_start` and `window_end` (timestamps, null
/// for a view without a window), the group-by fields, the aggregates, and `source`
/// (`batch`, `speed` or `merged`).
///
/// Thread safety: a value type.
public struct AnswerRow: Sendable {
    /// The positional row.
    public let raw: QueryRow
    let columns: AnswerColumns

    /// Where the value came from.
    public var source: RowSource { raw.source }
    /// The window start, nil for a view without a window.
    public var windowStart: Date? { raw.windowStart.map(TypedValues.date) }
    /// The window end (exclusive), nil for a view without a window.
    public var windowEnd: Date? { raw.windowEnd.map(TypedValues.date) }
    /// The window start in epoch ms, nil for a view without a window.
    public var windowStartMillis: Int64? { raw.windowStart }

    /// The value of `column`, or nil when the answer has no such column (a null value is
    /// `Value/null`).
    public subscript(column: String) -> Value? {
        guard let i = columns.position(of: column) else { return nil }
        return value(at: i)
    }

    func value(at i: Int) -> Value {
        let g = columns.groupCount
        switch i {
        case 0: return raw.windowStart.map { .timestamp($0) } ?? .null
        case 1: return raw.windowEnd.map { .timestamp($0) } ?? .null
        case columns.names.count - 1: return .string(raw.source.rawValue)
        case 2..<(2 + g): return raw.key[i - 2]
        default: return raw.values[i - 2 - g]
        }
    }

    /// The value of `column`.
    /// - Throws: `LambdaStoreError/Code/invalidArgument` naming the column when the answer
    ///   has none of that name.
    public func value(_ column: String) throws(LambdaStoreError) -> Value {
        guard let v = self[column] else {
            throw LambdaStoreError(.invalidArgument, "column '\(column)': not in the answer (columns: \(columns.names.joined(separator: ", ")))")
        }
        return v
    }

    func mismatch(_ column: String, _ v: Value, _ wanted: String) -> LambdaStoreError {
        LambdaStoreError(.schema, "column '\(column)': \(v.type.map { "a \($0)" } ?? "null") value cannot be read as \(wanted)")
    }

    /// An integer column (`int64`, or a `timestamp` as epoch ms); nil when null.
    /// - Throws: `LambdaStoreError/Code/invalidArgument` for an unknown column,
    ///   `LambdaStoreError/Code/schema` naming it for a value of another type.
    public func int(_ column: String) throws(LambdaStoreError) -> Int64? {
        switch try value(column) {
        case .null: return nil
        case .int64(let x), .timestamp(let x): return x
        case let v: throw mismatch(column, v, "an integer")
        }
    }

    /// A number column (`float64`, or `int64` converted); nil when null.
    /// - Throws: as ``int(_:)``.
    public func double(_ column: String) throws(LambdaStoreError) -> Double? {
        switch try value(column) {
        case .null: return nil
        case .float64(let x): return x
        case .int64(let x): return Double(x)
        case let v: throw mismatch(column, v, "a Double")
        }
    }

    /// A `string` column; nil when null.
    /// - Throws: as ``int(_:)``.
    public func string(_ column: String) throws(LambdaStoreError) -> String? {
        switch try value(column) {
        case .null: return nil
        case .string(let s): return s
        case let v: throw mismatch(column, v, "a String")
        }
    }

    /// A `bool` column; nil when null.
    /// - Throws: as ``int(_:)``.
    public func bool(_ column: String) throws(LambdaStoreError) -> Bool? {
        switch try value(column) {
        case .null: return nil
        case .bool(let b): return b
        case let v: throw mismatch(column, v, "a Bool")
        }
    }

    /// A `timestamp` column (or `int64` epoch ms) as a `Date`; nil when null.
    /// - Throws: as ``int(_:)``.
    public func date(_ column: String) throws(LambdaStoreError) -> Date? {
        switch try value(column) {
        case .null: return nil
        case .timestamp(let x), .int64(let x): return TypedValues.date(x)
        case let v: throw mismatch(column, v, "a Date")
        }
    }

    /// The row as a `T`, its coding keys matched to column names: `Int`/`Int64` (and the
    /// other integer types, range-checked) from `int64`/`timestamp`, `Double`/`Float` from
    /// `float64` or `int64`, `String`, `Bool`, `Date` from `timestamp`, `Optional` for a null
    /// or absent column, and a type decoding itself from one of those (a `RawRepresentable`
    /// enum, such as one for `source`).
    /// - Throws: `LambdaStoreError/Code/invalidArgument` naming a column `T` needs and the
    ///   answer lacks, `LambdaStoreError/Code/schema` naming a column whose value does not
    ///   fit (or is null for a non-optional property).
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws(LambdaStoreError) -> T {
        do {
            return try T(from: RowDecoder(row: self))
        } catch let e as LambdaStoreError {
            throw e
        } catch {
            throw LambdaStoreError(.invalidArgument, "decoding \(T.self) failed: \(error)")
        }
    }
}

/// The `Decoder` of one ``AnswerRow``: a keyed container over its columns.
struct RowDecoder: Decoder {
    let row: AnswerRow
    var column: String? = nil
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if let column { throw LambdaStoreError(.schema, "column '\(column)': a scalar cannot be decoded as a keyed container") }
        return KeyedDecodingContainer(RowContainer<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw LambdaStoreError(.schema, (column.map { "column '\($0)': " } ?? "") + "unkeyed containers (arrays) are not supported: a row decodes as one keyed container of scalars")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        guard let column else { throw LambdaStoreError(.schema, "a row decodes as a keyed container, not a single value") }
        return ColumnValueContainer(row: row, column: column)
    }
}

/// Reads one column's value as the Swift types of the decoders.
enum ColumnRead {
    static func integer<T: FixedWidthInteger>(_ row: AnswerRow, _ column: String) throws(LambdaStoreError) -> T {
        guard let x = try row.int(column) else { throw nullError(column, T.self) }
        guard let v = T(exactly: x) else { throw LambdaStoreError(.schema, "column '\(column)': \(x) does not fit \(T.self)") }
        return v
    }
    static func double(_ row: AnswerRow, _ column: String) throws(LambdaStoreError) -> Double {
        guard let x = try row.double(column) else { throw nullError(column, Double.self) }
        return x
    }
    static func string(_ row: AnswerRow, _ column: String) throws(LambdaStoreError) -> String {
        guard let x = try row.string(column) else { throw nullError(column, String.self) }
        return x
    }
    static func bool(_ row: AnswerRow, _ column: String) throws(LambdaStoreError) -> Bool {
        guard let x = try row.bool(column) else { throw nullError(column, Bool.self) }
        return x
    }
    static func decodable<T: Decodable>(_ row: AnswerRow, _ column: String) throws -> T {
        if T.self == Date.self {
            guard let d = try row.date(column) else { throw nullError(column, Date.self) }
            if let v = d as? T { return v }
        }
        _ = try row.value(column)
        return try T(from: RowDecoder(row: row, column: column))
    }
    static func nullError(_ column: String, _ t: Any.Type) -> LambdaStoreError {
        LambdaStoreError(.schema, "column '\(column)': null, but \(t) is not optional")
    }
}

struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let row: AnswerRow
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { row.columns.names.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { row.columns.position(of: key.stringValue) != nil }
    func decodeNil(forKey key: Key) throws -> Bool { try row.value(key.stringValue) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try ColumnRead.bool(row, key.stringValue) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try ColumnRead.string(row, key.stringValue) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try ColumnRead.double(row, key.stringValue) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try ColumnRead.double(row, key.stringValue)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try ColumnRead.integer(row, key.stringValue) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try ColumnRead.integer(row, key.stringValue) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try ColumnRead.integer(row, key.stringValue) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try ColumnRead.integer(row, key.stringValue) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try ColumnRead.integer(row, key.stringValue) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try ColumnRead.integer(row, key.stringValue) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try ColumnRead.integer(row, key.stringValue) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try ColumnRead.integer(row, key.stringValue) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try ColumnRead.integer(row, key.stringValue) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try ColumnRead.integer(row, key.stringValue) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try ColumnRead.decodable(row, key.stringValue) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw LambdaStoreError(.schema, "column '\(key.stringValue)': nested containers are not supported")
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw LambdaStoreError(.schema, "column '\(key.stringValue)': nested containers are not supported")
    }
    func superDecoder() throws -> any Decoder { RowDecoder(row: row) }
    func superDecoder(forKey key: Key) throws -> any Decoder { RowDecoder(row: row, column: key.stringValue) }
}

/// One column as a single value (for types that decode themselves from a scalar).
struct ColumnValueContainer: SingleValueDecodingContainer {
    let row: AnswerRow
    let column: String
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { row[column] == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try ColumnRead.bool(row, column) }
    func decode(_ type: String.Type) throws -> String { try ColumnRead.string(row, column) }
    func decode(_ type: Double.Type) throws -> Double { try ColumnRead.double(row, column) }
    func decode(_ type: Float.Type) throws -> Float { Float(try ColumnRead.double(row, column)) }
    func decode(_ type: Int.Type) throws -> Int { try ColumnRead.integer(row, column) }
    func decode(_ type: Int8.Type) throws -> Int8 { try ColumnRead.integer(row, column) }
    func decode(_ type: Int16.Type) throws -> Int16 { try ColumnRead.integer(row, column) }
    func decode(_ type: Int32.Type) throws -> Int32 { try ColumnRead.integer(row, column) }
    func decode(_ type: Int64.Type) throws -> Int64 { try ColumnRead.integer(row, column) }
    func decode(_ type: UInt.Type) throws -> UInt { try ColumnRead.integer(row, column) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try ColumnRead.integer(row, column) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try ColumnRead.integer(row, column) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try ColumnRead.integer(row, column) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try ColumnRead.integer(row, column) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == Date.self {
            guard let d = try row.date(column) else { throw ColumnRead.nullError(column, Date.self) }
            if let v = d as? T { return v }
        }
        throw LambdaStoreError(.schema, "column '\(column)': a \(T.self) cannot be decoded from one scalar column")
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LambdaStoreCore

extension Store {
    /// A builder of records for `stream`, by field name, checked against the stream's latest
    /// schema.
    ///
    /// ```swift
    /// var b = try store.batchBuilder(for: "orders")
    /// try b.append { row in
    ///     try row.set("event_ts", Date())
    ///     try row.set("merchant_id", "m1")
    ///     try row.set("amount_cents", 1_250)
    /// }
    /// try await store.append(b, durability: .sync)
    /// ```
    /// - Throws: `LambdaStoreError/Code/notFound` for an unknown stream.
    public func batchBuilder(for stream: String, capacity: Int = 0) throws(LambdaStoreError) -> BatchBuilder {
        BatchBuilder(schema: try schema(of: stream), capacity: capacity)
    }

    /// Appends the records of `builder` to its stream (see
    /// `append(_:to:durability:)` of a `ColumnBatch`). The builder is left as it was: call
    /// ``BatchBuilder/removeAll(keepingCapacity:)`` to reuse it.
    /// - Returns: the offsets assigned (empty for an empty builder).
    /// - Throws: as `append(_:to:durability:)` of a `ColumnBatch` (`.schema` when the stream's
    ///   schema changed since the builder was made).
    @discardableResult
    public func append(_ builder: BatchBuilder, durability: Durability = .sync) async throws(LambdaStoreError) -> Range<Int64> {
        guard builder.count > 0 else {
            let end = try streamLog(builder.schema.stream).endOffset
            return end..<end
        }
        return try await append(builder.batch, to: builder.schema.stream, durability: durability, valuesChecked: true)
    }
}

/// Builds a `ColumnBatch` record by record, setting fields by name; every value is checked
/// against the schema as it is set, and every record when it is complete.
///
/// A record that fails (a thrown `set`, or a required field left unset) is not added: the
/// builder holds only complete records, so it can go on after an error.
///
/// Thread safety: a value type.
public struct BatchBuilder: Sendable {
    /// The schema the records follow (the stream's latest when the builder was made).
    public var schema: Schema { plan.schema }
    let plan: SchemaPlan
    var columns: [Column]
    var row: RowBuilder

    /// A builder for records of `schema` (which should be a stream's schema as the store
    /// returns it, `Store/schema(of:)`).
    public init(schema: Schema, capacity: Int = 0) {
        plan = SchemaPlan(schema)
        columns = schema.fields.map { Column(type: $0.type, capacity: capacity) }
        row = RowBuilder(plan: plan)
    }

    /// The number of complete records.
    public var count: Int { columns.first?.count ?? 0 }

    /// The records as a batch of ``schema``.
    public var batch: ColumnBatch { ColumnBatch(schemaVersion: plan.schema.version, columns: columns) }

    /// Removes every record.
    public mutating func removeAll(keepingCapacity: Bool = true) {
        columns = plan.schema.fields.map { Column(type: $0.type, capacity: keepingCapacity ? count : 0) }
    }

    /// Adds one record: `body` sets its fields on `row`; fields it leaves unset take their
    /// default, else null when nullable.
    /// - Throws: the first error of `body` (a ``RowBuilder`` `set` throws a
    ///   `LambdaStoreError` naming the field), or `LambdaStoreError/Code/schema`
    ///   `missing field 'x'` for an unset field that is neither nullable nor defaulted. The
    ///   record is then not added.
    public mutating func append(_ body: (inout RowBuilder) throws -> Void) throws {
        var r = RowBuilder(plan: plan, empty: ())
        swap(&r, &row)
        defer { swap(&r, &row) }
        r.begin()
        try body(&r)
        try r.commit(into: &columns)
    }
}

/// The fields of one record being added by ``BatchBuilder/append(_:)``, set by name.
///
/// Each `set` checks the field exists, the value fits its type (an integer for an `int64`,
/// `float64` or — as epoch milliseconds — `timestamp` field; a `Date` for a `timestamp`; a
/// `Double` for `float64`; a `Bool`; a `String`) and, for `nil`, that the field is nullable.
/// Setting a field again replaces the value.
public struct RowBuilder: Sendable {
    let plan: SchemaPlan
    /// Per field: 0 unset, 1 int, 2 double, 3 string, 4 null.
    var kinds: [UInt8]
    var ints: [Int64]
    var doubles: [Double]
    var strings: [String]
    /// The field set at each position of the previous row, and the position in this one.
    var predicted: [Int] = []
    var position = 0

    init(plan: SchemaPlan) {
        self.plan = plan
        let n = plan.fieldCount
        kinds = [UInt8](repeating: 0, count: n)
        ints = [Int64](repeating: 0, count: n)
        doubles = [Double](repeating: 0, count: n)
        strings = [String](repeating: "", count: n)
    }

    /// A placeholder without storage (swapped with the builder's row).
    init(plan: SchemaPlan, empty: ()) {
        self.plan = plan
        kinds = []
        ints = []
        doubles = []
        strings = []
    }

    mutating func begin() {
        for i in kinds.indices { kinds[i] = 0 }
        position = 0
    }

    /// The field named `name`. Rows usually set their fields in the same order, so the
    /// field set at this position of the previous row is tried first (one string comparison)
    /// before the name → index map.
    @inline(__always)
    mutating func field(_ name: String) throws(LambdaStoreError) -> Int {
        let p = position
        position += 1
        if p < predicted.count {
            let f = predicted[p]
            if plan.names[f] == name { return f }
        }
        guard let i = plan.index[name] else { throw plan.unknownField(name) }
        if p < predicted.count { predicted[p] = i } else if p == predicted.count && p < 4 * plan.fieldCount { predicted.append(i) }
        return i
    }

    /// Sets a `string` field.
    /// - Throws: `LambdaStoreError/Code/schema` naming the field when it does not exist or
    ///   is not a `string`.
    public mutating func set(_ field: String, _ value: String) throws(LambdaStoreError) {
        let f = try self.field(field)
        guard plan.types[f] == .string else { throw plan.typeMismatch(f, "String") }
        strings[f] = value
        kinds[f] = 3
    }

    /// Sets an `int64` field, a `float64` field (converted) or a `timestamp` field (epoch ms).
    /// - Throws: `LambdaStoreError/Code/schema` naming the field when it does not exist, has
    ///   another type, or (a timestamp) the value is outside `Timestamp.supportedRange`.
    public mutating func set(_ field: String, _ value: Int64) throws(LambdaStoreError) {
        let f = try self.field(field)
        switch plan.types[f] {
        case .int64: ints[f] = value; kinds[f] = 1
        case .timestamp:
            guard Timestamp.supportedRange.contains(value) else { throw TypedValues.outOfRange(field, "epoch ms \(value)") }
            ints[f] = value; kinds[f] = 1
        case .float64: doubles[f] = Double(value); kinds[f] = 2
        default: throw plan.typeMismatch(f, "integer")
        }
    }

    /// Sets an integer field; see `set(_:_:)` of an `Int64`.
    public mutating func set(_ field: String, _ value: Int) throws(LambdaStoreError) {
        try set(field, Int64(value))
    }

    /// Sets a `float64` field.
    /// - Throws: `LambdaStoreError/Code/schema` naming the field when it does not exist or
    ///   is not a `float64`.
    public mutating func set(_ field: String, _ value: Double) throws(LambdaStoreError) {
        let f = try self.field(field)
        guard plan.types[f] == .float64 else { throw plan.typeMismatch(f, "Double") }
        doubles[f] = value
        kinds[f] = 2
    }

    /// Sets a `bool` field.
    /// - Throws: `LambdaStoreError/Code/schema` naming the field when it does not exist or
    ///   is not a `bool`.
    public mutating func set(_ field: String, _ value: Bool) throws(LambdaStoreError) {
        let f = try self.field(field)
        guard plan.types[f] == .bool else { throw plan.typeMismatch(f, "Bool") }
        ints[f] = value ? 1 : 0
        kinds[f] = 1
    }

    /// Sets a `timestamp` field to `value` in epoch milliseconds, rounded toward −∞.
    /// - Throws: `LambdaStoreError/Code/schema` naming the field when it does not exist, is
    ///   not a `timestamp`, or the date is outside `Timestamp.supportedRange`.
    public mutating func set(_ field: String, _ value: Date) throws(LambdaStoreError) {
        let f = try self.field(field)
        guard plan.types[f] == .timestamp else { throw plan.typeMismatch(f, "Date") }
        guard let ms = TypedValues.epochMillis(value) else { throw TypedValues.outOfRange(field, "the date \(value.timeIntervalSince1970) s after 1970-01-01") }
        ints[f] = ms
        kinds[f] = 1
    }

    /// Sets a field from a `Value` of its type, or null (`Value/null`).
    /// - Throws: `LambdaStoreError/Code/schema` naming the field when it does not exist, the
    ///   value has another type, or it is null and the field is not nullable.
    public mutating func set(_ field: String, _ value: Value) throws(LambdaStoreError) {
        switch value {
        case .null: try setNull(field)
        case .int64(let v):
            let f = try self.field(field)
            guard plan.types[f] == .int64 else { throw plan.typeMismatch(f, "int64 value") }
            ints[f] = v; kinds[f] = 1
        case .timestamp(let v):
            let f = try self.field(field)
            guard plan.types[f] == .timestamp else { throw plan.typeMismatch(f, "timestamp value") }
            try set(field, v)
        case .float64(let v): try set(field, v)
        case .bool(let v): try set(field, v)
        case .string(let v): try set(field, v)
        }
    }

    /// Sets a field to null.
    /// - Throws: `LambdaStoreError/Code/schema` naming the field when it does not exist or
    ///   is not nullable.
    public mutating func setNull(_ field: String) throws(LambdaStoreError) {
        let f = try self.field(field)
        guard plan.nullable[f] else { throw plan.notNullable(f) }
        kinds[f] = 4
    }

    /// Checks the record is complete, then appends it to `columns` (untouched on error).
    mutating func commit(into columns: inout [Column]) throws(LambdaStoreError) {
        for f in kinds.indices where kinds[f] == 0 && plan.defaults[f] == nil && !plan.nullable[f] {
            throw plan.missing(f)
        }
        for f in kinds.indices {
            switch kinds[f] {
            case 1: columns[f].append(int: ints[f])
            case 2: columns[f].append(double: doubles[f])
            case 3: columns[f].append(string: strings[f])
            case 4: columns[f].appendNull()
            default:
                if let d = plan.defaults[f] { try columns[f].append(d) } else { columns[f].appendNull() }
            }
        }
    }
}

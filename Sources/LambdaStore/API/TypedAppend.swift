#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import LambdaStoreCore

extension Store {
    /// Appends `Encodable` values as records of `stream`, matching their coding keys to the
    /// fields of the stream's latest schema by name.
    ///
    /// ```swift
    /// struct Order: Encodable {
    ///     var event_ts: Date
    ///     var merchant_id: String
    ///     var status: String
    ///     var amount_cents: Int
    /// }
    /// try await store.append(orders, to: "orders", durability: .none)
    /// ```
    ///
    /// Each value is encoded straight into the columns of one `ColumnBatch` (a keyed container
    /// only), then appended as `append(_:to:durability:)` of a `ColumnBatch` does:
    /// - `Date` → `timestamp` (epoch milliseconds, rounded toward −∞; a date outside
    ///   `Timestamp.supportedRange` is refused); an integer into a `timestamp` field is read
    ///   as epoch milliseconds.
    /// - Swift integers → `int64` (a `UInt64` above `Int64.max` is refused), or `float64`.
    /// - `Double`, `Float` → `float64`; `Bool` → `bool`; `String` → `string`.
    /// - A `nil` (`Encoder` `encodeNil`) → null when the field is nullable. A field the value
    ///   does not encode (an omitted `Optional`) takes the field's default, else null when
    ///   nullable.
    /// - A type with its own single-value encoding (a `RawRepresentable` enum) is stored as
    ///   the value it encodes.
    ///
    /// - Returns: the offsets assigned, dense and increasing (empty for no values).
    /// - Throws: `LambdaStoreError/Code/schema` naming the record (its position in `values`)
    ///   and the field: a key that is not a field, a field encoded twice, a missing field that
    ///   is neither nullable nor defaulted, a null in a non-nullable field, a value of another
    ///   type, an out-of-range integer or date, a nested or unkeyed container;
    ///   `LambdaStoreError/Code/invalidArgument` for an error the value's own `encode(to:)`
    ///   threw; and whatever `append(_:to:durability:)` of a `ColumnBatch` throws.
    /// - Complexity: O(records × fields); no per-record allocation besides the one keyed
    ///   container box `KeyedEncodingContainer` needs.
    ///
    /// From 4,096 values on, the encoding runs off the cooperative pool, on
    /// ``StoreOptions/batchParallelism`` threads of its own (each encodes a contiguous part
    /// into its own columns; the parts are joined in order): the values are `Sendable` for
    /// that. Fewer values are encoded on the calling task, where a thread hop would cost more
    /// than the encoding. Either way the append is one batch, all or nothing, and an error
    /// names the first bad record by its position in `values`.
    @discardableResult
    public func append(_ values: some Sequence<some Encodable & Sendable>, to stream: String, durability: Durability = .sync) async throws(LambdaStoreError) -> Range<Int64> {
        let plan = SchemaPlan(try schema(of: stream))
        let items = Array(values)
        let batch: ColumnBatch
        if items.count < RecordEncoder.offPoolMin {
            batch = try RecordEncoder.encode(items, plan: plan)
        } else {
            let parts = Swift.max(1, Swift.min(options.batchParallelism, items.count / RecordEncoder.partMin))
            batch = try await Blocking.run { () throws(LambdaStoreError) -> ColumnBatch in
                try RecordEncoder.encode(items, plan: plan, parts: parts)
            }
        }
        guard batch.count > 0 else {
            let end = try streamLog(stream).endOffset
            return end..<end
        }
        return try await append(batch, to: stream, durability: durability, valuesChecked: true)
    }
}

/// The `Encoder` behind `Store.append(_:to:durability:)` of `Encodable` values: one per
/// append, reused for every record; writes each keyed value into its field's column.
final class RecordEncoder: Encoder {
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    let plan: SchemaPlan
    /// The columns being built, in raw storage: written per encoded value, and an array's
    /// uniqueness check per write (the encoder is a class) showed up in perf.
    let columns: UnsafeMutablePointer<Column>
    /// Per field: its type, and `stamp[f] == generation` when it has a value in the current
    /// record. Raw storage: read per encoded value, without array retains in the unspecialized
    /// generic code the `Encodable` calls run in.
    let types: UnsafeMutablePointer<FieldType>
    let stamps: UnsafeMutablePointer<UInt32>
    var generation: UInt32 = 0
    /// Fields written in the current record.
    var written = 0
    /// The key names in the order the previous records encoded them, and their fields: a
    /// record encoding its keys in the same order (every synthesized `encode(to:)`) finds each
    /// field by one string comparison instead of a hash lookup. `predictedCount` entries are
    /// initialized, at most `predictedMax`.
    let predictedNames: UnsafeMutablePointer<String>
    let predictedFields: UnsafeMutablePointer<Int>
    var predictedCount = 0
    let predictedMax: Int
    var position = 0
    /// The first error met inside a call that cannot throw (`container(keyedBy:)` and friends).
    var pending: LambdaStoreError?
    /// The keyed container handed out last and its key type (see ``container(keyedBy:)``);
    /// it refers to this encoder, so ``encode(_:plan:)`` drops it at the end.
    var cachedContainer: AnyObject?
    var cachedKeyType: Any.Type?

    init(plan: SchemaPlan, capacity: Int) {
        self.plan = plan
        let n = plan.fieldCount
        columns = .allocate(capacity: max(1, n))
        for (i, f) in plan.schema.fields.enumerated() { (columns + i).initialize(to: Column(type: f.type, capacity: capacity)) }
        types = .allocate(capacity: max(1, n))
        types.initialize(from: plan.types, count: n)
        stamps = .allocate(capacity: max(1, n))
        stamps.initialize(repeating: 0, count: max(1, n))
        predictedMax = 4 * max(1, n)
        predictedNames = .allocate(capacity: predictedMax)
        predictedFields = .allocate(capacity: predictedMax)
    }

    deinit {
        columns.deinitialize(count: plan.fieldCount)
        columns.deallocate()
        types.deinitialize(count: plan.fieldCount)
        types.deallocate()
        stamps.deallocate()
        predictedNames.deinitialize(count: predictedCount)
        predictedNames.deallocate()
        predictedFields.deallocate()
    }

    /// Appends of at least this many values encode off the cooperative pool.
    static let offPoolMin = 4_096
    /// The fewest values one encoding thread takes.
    static let partMin = 2_048

    /// Encodes `values` in `parts` contiguous parts on as many threads, each into its own
    /// columns, then joins the parts in order: the batch ``encode(_:plan:recordBase:)`` of
    /// all of them gives. An error is the one of the first bad record.
    static func encode<E: Encodable & Sendable>(_ values: [E], plan: SchemaPlan, parts: Int) throws(LambdaStoreError) -> ColumnBatch {
        let n = values.count
        let parts = Swift.max(1, Swift.min(parts, n))
        if parts == 1 { return try encode(values, plan: plan) }
        let results = Locked([Result<ColumnBatch, LambdaStoreError>?](repeating: nil, count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { k in
            let range = (n * k / parts)..<(n * (k + 1) / parts)
            let r = Result { () throws(LambdaStoreError) -> ColumnBatch in try encode(values[range], plan: plan, recordBase: range.lowerBound) }
            results.withLock { $0[k] = r }
        }
        let done = results.withLock { $0 }
        func part(_ k: Int) throws(LambdaStoreError) -> ColumnBatch {
            guard let r = done[k] else { throw LambdaStoreError(.precondition, "encoding part \(k) did not finish") }
            return try r.get()
        }
        var joined = try part(0)
        for k in 1..<parts {
            let next = try part(k)
            for f in joined.columns.indices { try joined.columns[f].append(contentsOf: next.columns[f]) }
        }
        return joined
    }

    /// Encodes every value of `values` into a batch of `plan`'s schema; errors name a record
    /// by `recordBase` plus its position in `values`.
    static func encode(_ values: some Sequence<some Encodable>, plan: SchemaPlan, recordBase: Int = 0) throws(LambdaStoreError) -> ColumnBatch {
        let e = RecordEncoder(plan: plan, capacity: values.underestimatedCount)
        defer { e.cachedContainer = nil }
        var record = 0
        // Arrays and other contiguous collections are read in place (no copy of each value).
        var failure: LambdaStoreError? = nil
        let done: Void? = values.withContiguousStorageIfAvailable { buf in
            for i in buf.indices {
                do throws(LambdaStoreError) {
                    try e.encodeRecord(buf[i])
                } catch {
                    failure = LambdaStoreError(error.code, "record \(recordBase + i - buf.startIndex): " + error.message)
                    return
                }
            }
        }
        if let failure { throw failure }
        if done == nil {
            for v in values {
                do throws(LambdaStoreError) {
                    try e.encodeRecord(v)
                } catch {
                    throw LambdaStoreError(error.code, "record \(recordBase + record): " + error.message)
                }
                record += 1
            }
        }
        return ColumnBatch(schemaVersion: plan.schema.version, columns: Array(UnsafeBufferPointer(start: e.columns, count: plan.fieldCount)))
    }

    func encodeRecord(_ value: some Encodable) throws(LambdaStoreError) {
        generation &+= 1
        if generation == 0 {   // wrapped: clear the stamps
            stamps.update(repeating: 0, count: plan.fieldCount)
            generation = 1
        }
        written = 0
        position = 0
        pending = nil
        do {
            try value.encode(to: self)
        } catch let error as LambdaStoreError {
            throw error
        } catch {
            throw LambdaStoreError(.invalidArgument, "encoding failed: \(error)")
        }
        if let pending { throw pending }
        if written < plan.fieldCount {
            for f in 0..<plan.fieldCount where stamps[f] != generation {
                if let d = plan.defaults[f] {
                    try columns[f].append(d)
                } else if plan.nullable[f] {
                    columns[f].appendNull()
                } else {
                    throw plan.missing(f)
                }
            }
        }
    }

    /// The field for `key`, marked as written in this record.
    @inline(__always)
    func field(_ key: some CodingKey) throws(LambdaStoreError) -> Int {
        let name = key.stringValue
        let p = position
        position += 1
        let f: Int
        if p < predictedCount && predictedNames[p] == name {
            f = predictedFields[p]
        } else {
            guard let i = plan.index[name] else { throw plan.unknownField(name) }
            f = i
            if p < predictedCount {
                predictedNames[p] = name
                predictedFields[p] = i
            } else if p == predictedCount && p < predictedMax {
                (predictedNames + p).initialize(to: name)
                predictedFields[p] = i
                predictedCount += 1
            }
        }
        guard stamps[f] != generation else {
            throw LambdaStoreError(.schema, "field '\(name)': encoded twice in one record")
        }
        stamps[f] = generation
        written += 1
        return f
    }

    // MARK: Typed writes into field f

    @inline(__always)
    func write(int v: Int64, _ f: Int) throws(LambdaStoreError) {
        switch types[f] {
        case .int64: columns[f].append(int: v)
        case .timestamp:
            guard Timestamp.supportedRange.contains(v) else { throw TypedValues.outOfRange(plan.name(f), "epoch ms \(v)") }
            columns[f].append(int: v)
        case .float64: columns[f].append(double: Double(v))
        default: throw plan.typeMismatch(f, "integer")
        }
    }

    @inline(__always)
    func write<T: BinaryInteger>(integer v: T, _ f: Int) throws(LambdaStoreError) {
        guard let x = Int64(exactly: v) else {
            throw LambdaStoreError(.schema, "field '\(plan.name(f))': \(v) does not fit a signed 64-bit integer")
        }
        try write(int: x, f)
    }

    @inline(__always)
    func write(double v: Double, _ f: Int) throws(LambdaStoreError) {
        guard types[f] == .float64 else { throw plan.typeMismatch(f, "floating-point number") }
        columns[f].append(double: v)
    }

    @inline(__always)
    func write(bool v: Bool, _ f: Int) throws(LambdaStoreError) {
        guard types[f] == .bool else { throw plan.typeMismatch(f, "Bool") }
        columns[f].append(int: v ? 1 : 0)
    }

    @inline(__always)
    func write(string v: String, _ f: Int) throws(LambdaStoreError) {
        guard types[f] == .string else { throw plan.typeMismatch(f, "String") }
        columns[f].append(string: v)
    }

    @inline(__always)
    func write(date v: Date, _ f: Int) throws(LambdaStoreError) {
        guard types[f] == .timestamp else { throw plan.typeMismatch(f, "Date") }
        guard let ms = TypedValues.epochMillis(v) else { throw TypedValues.outOfRange(plan.name(f), "the date \(v.timeIntervalSince1970) s after 1970-01-01") }
        columns[f].append(int: ms)
    }

    func writeNull(_ f: Int) throws(LambdaStoreError) {
        guard plan.nullable[f] else { throw plan.notNullable(f) }
        columns[f].appendNull()
    }

    /// A value of another `Encodable` type: a `Date`, else whatever single value it encodes.
    func write<T: Encodable>(encodable v: T, _ f: Int) throws {
        if T.self == Date.self {
            // T is Date: read it without a dynamic cast.
            try write(date: withUnsafeBytes(of: v) { $0.load(as: Date.self) }, f)
            return
        }
        let before = columns[f].count
        let inner = FieldEncoder(parent: self, field: f)
        try v.encode(to: inner)
        if let error = inner.pending { throw error }
        guard columns[f].count == before + 1 else {
            throw LambdaStoreError(.schema, "field '\(plan.name(f))': a \(T.self) did not encode one value")
        }
    }

    func nestedError(_ what: String, _ f: Int?) -> LambdaStoreError {
        let at = f.map { "field '\(plan.name($0))': " } ?? ""
        return LambdaStoreError(.schema, at + "\(what) are not supported: a record is one keyed container of scalar fields")
    }

    // MARK: Encoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        // `KeyedEncodingContainer` boxes its container in a class instance; building one per
        // record (an allocation and a generic metadata lookup) is a good part of the cost of a
        // small record. Every record of an append uses the same `Key`, so the first box is
        // kept (as its single reference, when that is the layout) and handed out again.
        if cachedKeyType == Key.self, let box = cachedContainer {
            return unsafeBitCast(box, to: KeyedEncodingContainer<Key>.self)
        }
        let c = KeyedEncodingContainer(RecordContainer<Key>(encoder: self))
        if MemoryLayout<KeyedEncodingContainer<Key>>.size == MemoryLayout<AnyObject>.size {
            cachedContainer = unsafeBitCast(c, to: AnyObject.self)
            cachedKeyType = Key.self
        }
        return c
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if pending == nil { pending = nestedError("unkeyed containers (a record encoded as an array)", nil) }
        return IgnoringUnkeyedContainer()
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        if pending == nil { pending = nestedError("single-value records", nil) }
        return IgnoringSingleValueContainer()
    }
}

/// The keyed container of one record: every call writes one field.
struct RecordContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: RecordEncoder
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws { try encoder.writeNull(encoder.field(key)) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try encoder.write(bool: value, encoder.field(key)) }
    mutating func encode(_ value: String, forKey key: Key) throws { try encoder.write(string: value, encoder.field(key)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try encoder.write(double: value, encoder.field(key)) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try encoder.write(double: Double(value), encoder.field(key)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try encoder.write(int: Int64(value), encoder.field(key)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try encoder.write(int: Int64(value), encoder.field(key)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try encoder.write(int: Int64(value), encoder.field(key)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try encoder.write(int: Int64(value), encoder.field(key)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try encoder.write(int: value, encoder.field(key)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try encoder.write(integer: value, encoder.field(key)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try encoder.write(int: Int64(value), encoder.field(key)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try encoder.write(int: Int64(value), encoder.field(key)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try encoder.write(int: Int64(value), encoder.field(key)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try encoder.write(integer: value, encoder.field(key)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try encoder.write(encodable: value, encoder.field(key)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        if encoder.pending == nil { encoder.pending = encoder.nestedError("nested keyed containers", encoder.plan.index[key.stringValue]) }
        if encoder.plan.index[key.stringValue] == nil, encoder.pending == nil { encoder.pending = encoder.plan.unknownField(key.stringValue) }
        return KeyedEncodingContainer(IgnoringKeyedContainer<NestedKey>())
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        if encoder.pending == nil { encoder.pending = encoder.nestedError("nested unkeyed containers (arrays)", encoder.plan.index[key.stringValue]) }
        return IgnoringUnkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        if encoder.pending == nil { encoder.pending = encoder.nestedError("super encoders", nil) }
        return encoder
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        if encoder.pending == nil { encoder.pending = encoder.nestedError("super encoders", encoder.plan.index[key.stringValue]) }
        return encoder
    }
}

/// The encoder handed to a field value of a type with its own `encode(to:)`: takes exactly one
/// single value and writes it into the field.
final class FieldEncoder: Encoder, SingleValueEncodingContainer {
    let parent: RecordEncoder
    let field: Int
    var pending: LambdaStoreError?
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(parent: RecordEncoder, field: Int) {
        self.parent = parent
        self.field = field
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if pending == nil { pending = parent.nestedError("nested keyed containers", field) }
        return KeyedEncodingContainer(IgnoringKeyedContainer<Key>())
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if pending == nil { pending = parent.nestedError("nested unkeyed containers (arrays)", field) }
        return IgnoringUnkeyedContainer()
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func encodeNil() throws { try parent.writeNull(field) }
    func encode(_ value: Bool) throws { try parent.write(bool: value, field) }
    func encode(_ value: String) throws { try parent.write(string: value, field) }
    func encode(_ value: Double) throws { try parent.write(double: value, field) }
    func encode(_ value: Float) throws { try parent.write(double: Double(value), field) }
    func encode(_ value: Int) throws { try parent.write(int: Int64(value), field) }
    func encode(_ value: Int8) throws { try parent.write(int: Int64(value), field) }
    func encode(_ value: Int16) throws { try parent.write(int: Int64(value), field) }
    func encode(_ value: Int32) throws { try parent.write(int: Int64(value), field) }
    func encode(_ value: Int64) throws { try parent.write(int: value, field) }
    func encode(_ value: UInt) throws { try parent.write(integer: value, field) }
    func encode(_ value: UInt8) throws { try parent.write(int: Int64(value), field) }
    func encode(_ value: UInt16) throws { try parent.write(int: Int64(value), field) }
    func encode(_ value: UInt32) throws { try parent.write(int: Int64(value), field) }
    func encode(_ value: UInt64) throws { try parent.write(integer: value, field) }
    func encode<T: Encodable>(_ value: T) throws { try parent.write(encodable: value, field) }
}

/// Containers returned after an unsupported request (the error is already recorded): they
/// accept and drop everything.
struct IgnoringKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    var codingPath: [any CodingKey] { [] }
    mutating func encodeNil(forKey key: Key) throws {}
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {}
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(IgnoringKeyedContainer<NestedKey>())
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { IgnoringUnkeyedContainer() }
    mutating func superEncoder() -> any Encoder { IgnoringEncoder() }
    mutating func superEncoder(forKey key: Key) -> any Encoder { IgnoringEncoder() }
}

struct IgnoringUnkeyedContainer: UnkeyedEncodingContainer {
    var codingPath: [any CodingKey] { [] }
    var count: Int { 0 }
    mutating func encodeNil() throws {}
    mutating func encode<T: Encodable>(_ value: T) throws {}
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(IgnoringKeyedContainer<NestedKey>())
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { IgnoringUnkeyedContainer() }
    mutating func superEncoder() -> any Encoder { IgnoringEncoder() }
}

struct IgnoringSingleValueContainer: SingleValueEncodingContainer {
    var codingPath: [any CodingKey] { [] }
    mutating func encodeNil() throws {}
    mutating func encode<T: Encodable>(_ value: T) throws {}
}

struct IgnoringEncoder: Encoder {
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> { KeyedEncodingContainer(IgnoringKeyedContainer<Key>()) }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { IgnoringUnkeyedContainer() }
    func singleValueContainer() -> any SingleValueEncodingContainer { IgnoringSingleValueContainer() }
}

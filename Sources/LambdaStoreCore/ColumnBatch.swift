/// A batch of records in columnar form: one ``Column`` per field of a schema version, in that
/// version's field order. The unit of append, of log storage and of evaluation.
///
/// ``encodePayload(into:)`` / ``init(decodingPayload:schema:)`` are the record batch payload
/// codec of format-spec.md §2.3 (before compression).
///
/// Thread safety: a value type.
public struct ColumnBatch: Sendable {
    /// The schema version the columns follow.
    public var schemaVersion: UInt32
    /// One column per field.
    public var columns: [Column]

    /// The number of records.
    @inlinable public var count: Int { columns.first?.count ?? 0 }

    /// A batch from columns that all have the same count.
    public init(schemaVersion: UInt32, columns: [Column]) {
        precondition(Set(columns.map(\.count)).count <= 1, "columns of a batch must have one length")
        self.schemaVersion = schemaVersion
        self.columns = columns
    }

    /// An empty batch for `schema`.
    public init(schema: Schema, capacity: Int = 0) {
        schemaVersion = schema.version
        columns = schema.fields.map { Column(type: $0.type, capacity: capacity) }
    }

    /// The smallest and largest non-null value of integer-backed column `index`, or nil when
    /// every value is null (or there are no rows).
    /// - Complexity: O(n).
    public func range(ofColumn index: Int) -> (min: Int64, max: Int64)? {
        let c = columns[index]
        var lo = Int64.max, hi = Int64.min, any = false
        c.ints.withUnsafeBufferPointer { v in
            if !c.hasNulls {
                for x in v { lo = Swift.min(lo, x); hi = Swift.max(hi, x) }
                any = !v.isEmpty
            } else {
                for i in 0..<v.count where !c.isNull(i) { lo = Swift.min(lo, v[i]); hi = Swift.max(hi, v[i]); any = true }
            }
        }
        return any ? (lo, hi) : nil
    }

    /// The rows `range`, as a new batch.
    public func slice(_ range: Range<Int>) -> ColumnBatch {
        ColumnBatch(schemaVersion: schemaVersion, columns: columns.map { $0.slice(range) })
    }

    /// Checks that the columns match `schema` and are well formed, so that the batch encodes
    /// into a payload that decodes back to it: one column per field, of the field's type, each
    /// with the batch's row count, and each passing ``Column/problem(nullable:)`` (storage
    /// holding every value, no mis-typed append, a bitmap matching the null count, nulls only
    /// in nullable fields, `bool` values 0 or 1, dictionary codes in range, valid UTF-8).
    /// - Throws: ``LambdaStoreError/Code/schema`` naming the field and the problem
    ///   (`field 'status': append(int:) on a string column`).
    /// - Complexity: O(rows + string bytes).
    public func validate(against schema: Schema) throws(LambdaStoreError) {
        try validate(against: schema, valuesChecked: false)
    }

    /// ``validate(against:)`` for a batch whose values were each checked as they were added
    /// (the typed appends: `RecordEncoder` and `BatchBuilder` in LambdaStore, which take only
    /// Swift `String`s, write `bool`s as 0/1 and nulls only into nullable fields): with
    /// `valuesChecked` the shape (column count, types, row counts, storage consistency,
    /// mis-typed appends, nulls in non-nullable fields) is still checked, in O(columns), and
    /// the per-value scans (UTF-8, `bool` values, the bitmap's null count) are skipped.
    package func validate(against schema: Schema, valuesChecked: Bool) throws(LambdaStoreError) {
        guard columns.count == schema.fields.count else {
            throw LambdaStoreError(.schema, "batch has \(columns.count) columns, schema v\(schema.version) of '\(schema.stream)' has \(schema.fields.count) fields")
        }
        for (c, f) in zip(columns, schema.fields) {
            guard c.type == f.type else { throw LambdaStoreError(.schema, "field '\(f.name)': column is \(c.type), schema says \(f.type)") }
            guard c.count == count else { throw LambdaStoreError(.schema, "field '\(f.name)': column has \(c.count) rows, batch has \(count)") }
            if let p = c.problem(nullable: f.nullable, valuesChecked: valuesChecked) { throw LambdaStoreError(.schema, "field '\(f.name)': \(p)") }
        }
    }

    /// Why a reader compiled to read `columns` (index → type) cannot read this batch, or nil:
    /// a column it reads is missing, has another type or row count, or inconsistent storage
    /// (``Column/storageProblem()``). Columns it does not read (fields a later compatible
    /// schema version added, which go last) are ignored. `label` names a column in messages;
    /// `reader` says what was compiled ("the filter", "the view").
    /// - Complexity: O(rows) per string column read, O(1) per other column read.
    public func readProblem(columns: [(index: Int, type: FieldType)], label: (Int) -> String, reader: String) -> String? {
        let n = count
        for (i, t) in columns {
            guard i >= 0 && i < self.columns.count else {
                return "\(label(i)) is missing: the batch has \(self.columns.count) columns"
            }
            let c = self.columns[i]
            guard c.type == t else { return "\(label(i)) is \(c.type) in the batch, \(reader) was compiled for \(t)" }
            guard c.count == n else { return "\(label(i)) has \(c.count) rows, the batch \(n)" }
            if let p = c.storageProblem() { return "\(label(i)): \(p)" }
        }
        return nil
    }

    /// This batch (written under `from`) laid out under `to`, a later version of the same
    /// stream: fields in `to`'s order, added fields filled with their default, else null.
    public func projected(from: Schema, to: Schema) -> ColumnBatch {
        if from.version == to.version { return self }
        let n = count
        var out: [Column] = []
        out.reserveCapacity(to.fields.count)
        for f in to.fields {
            if let i = from.index(of: f.name) {
                out.append(columns[i])
            } else {
                out.append(Column.constant(f.defaultValue ?? .null, type: f.type, count: n))
            }
        }
        return ColumnBatch(schemaVersion: to.version, columns: out)
    }

    // MARK: Payload codec (format-spec.md §2.3)

    /// Appends the uncompressed payload encoding of this batch to `out`.
    ///
    /// `u32 rowCount, u16 columnCount`, then per column: `u8 type, u8 flags (bit 0: has
    /// validity bitmap)`, the bitmap (`ceil(rows/8)` bytes) when flagged, then the values:
    /// `int64`/`timestamp` rows × i64, `float64` rows × f64 bits, `bool` rows × u8 (0/1),
    /// `string` (rows + 1) × u32 offsets then the bytes.
    ///
    /// With `dictionaryStrings` (segment format version 2), a string column whose dictionary
    /// form is smaller is written in that form instead (flags bit 1, format-spec.md §2.3.1).
    ///
    /// The batch must pass ``validate(against:)`` (the log checks it before encoding): the
    /// encoder trusts each column's storage.
    /// - Complexity: O(bytes).
    public func encodePayload(into out: inout [UInt8], dictionaryStrings: Bool = false) {
        let n = count
        var w = ByteWriter()
        swap(&w.bytes, &out)
        w.write(UInt32(n))
        w.write(UInt16(columns.count))
        for column in columns {
            let c = column.materialized()
            let dict = dictionaryStrings ? PayloadDictionary.encode(c) : nil
            w.write(c.type.rawValue)
            w.write(UInt8((c.hasNulls ? 1 : 0) | (dict != nil ? 2 : 0)))
            if c.hasNulls { w.write(bytes: c.validity.prefix((n + 7) / 8)) }
            if let dict {
                dict.write(into: &w)
                continue
            }
            switch c.type {
            case .int64, .timestamp:
                c.ints.withUnsafeBytes { w.write(raw: $0) }   // little-endian hosts only (checked in tests)
            case .float64:
                c.doubles.withUnsafeBytes { w.write(raw: $0) }
            case .bool:
                for v in c.ints { w.write(UInt8(v != 0 ? 1 : 0)) }
            case .string:
                c.offsets.withUnsafeBytes { w.write(raw: $0) }
                w.write(bytes: c.utf8)
            }
        }
        swap(&w.bytes, &out)
    }

    /// Decodes an uncompressed payload written under `schema` (the version it names).
    ///
    /// Every count and offset is checked against the buffer before use; the column types must
    /// match the schema's fields.
    /// - Parameter dictionaries: what to do with dictionary-coded string columns (allowed from
    ///   segment format version 2 on).
    /// - Throws: ``LambdaStoreError/Code/corruption`` with the offset relative to the payload.
    /// - Complexity: O(bytes).
    public init(decodingPayload payload: UnsafeRawBufferPointer, schema: Schema, dictionaries: PayloadDictionaries = .rejected) throws(LambdaStoreError) {
        var r = ByteReader(payload)
        let n = Int(try r.read(UInt32.self, "row count"))
        try r.bound(n, max: Limits.batchRecordsMax, "row count")
        let nc = Int(try r.read(UInt16.self, "column count"))
        guard nc == schema.fields.count else {
            throw LambdaStoreError(.corruption, "payload has \(nc) columns, schema v\(schema.version) has \(schema.fields.count)", offset: 4)
        }
        var cols: [Column] = []
        cols.reserveCapacity(nc)
        for f in schema.fields {
            let at = r.position
            let t = try r.read(UInt8.self, "column type")
            guard t == f.type.rawValue else {
                throw LambdaStoreError(.corruption, "column '\(f.name)' has type code \(t), schema says \(f.type)", offset: Int64(at))
            }
            let flags = try r.read(UInt8.self, "column flags")
            let dictFlag: UInt8 = dictionaries == .rejected || f.type != .string ? 0 : 2
            guard flags & ~(1 | dictFlag) == 0 else { throw LambdaStoreError(.corruption, "column '\(f.name)' has unknown flags \(flags)", offset: Int64(at + 1)) }
            var validity: [UInt8] = []
            var nulls = 0
            if flags & 1 != 0 {
                validity = try r.readBytes((n + 7) / 8, "validity of '\(f.name)'")
                for i in 0..<n where validity[i >> 3] & (1 << UInt8(i & 7)) == 0 { nulls += 1 }
                if nulls == 0 { validity = [] }
                // A null in a field the schema says is not nullable is damage the writer's
                // validation makes impossible.
                guard nulls == 0 || f.nullable else {
                    throw LambdaStoreError(.corruption, "column '\(f.name)' is not nullable but holds \(nulls) nulls", offset: Int64(at + 2))
                }
            }
            if flags & 2 != 0 {
                cols.append(try PayloadDictionary.read(&r, rows: n, nullCount: nulls, validity: validity, name: f.name, materialize: dictionaries == .materialized))
                continue
            }
            switch f.type {
            case .int64, .timestamp:
                let s = try r.readSlice(n * 8, "values of '\(f.name)'")
                cols.append(Column(type: f.type, count: n, nullCount: nulls, validity: validity, ints: Self.copyInts(s, n)))
            case .float64:
                let s = try r.readSlice(n * 8, "values of '\(f.name)'")
                let d = [Double](zeroSafeCapacity: n) { buf, k in
                    if n > 0 { UnsafeMutableRawBufferPointer(buf).copyMemory(from: s) }
                    k = n
                }
                cols.append(Column(type: .float64, count: n, nullCount: nulls, validity: validity, doubles: d))
            case .bool:
                let s = try r.readSlice(n, "values of '\(f.name)'")
                if let i = s.firstIndex(where: { $0 > 1 }) {
                    throw LambdaStoreError(.corruption, "bool column '\(f.name)' row \(i - s.startIndex) holds byte \(s[i]), not 0 or 1", offset: Int64(r.position - n + (i - s.startIndex)))
                }
                cols.append(Column(type: .bool, count: n, nullCount: nulls, validity: validity, ints: s.map { Int64($0) }))
            case .string:
                let s = try r.readSlice((n + 1) * 4, "string offsets of '\(f.name)'")
                let offs = [UInt32](zeroSafeCapacity: n + 1) { buf, k in
                    UnsafeMutableRawBufferPointer(buf).copyMemory(from: s)
                    k = n + 1
                }
                guard offs[0] == 0 else { throw LambdaStoreError(.corruption, "string offsets of '\(f.name)' do not start at 0", offset: Int64(r.position - s.count)) }
                for i in 0..<n where offs[i] > offs[i + 1] {
                    throw LambdaStoreError(.corruption, "string offsets of '\(f.name)' decrease at row \(i)", offset: Int64(r.position - s.count + 4 * i))
                }
                let bytes = try r.readBytes(Int(offs[n]), "string bytes of '\(f.name)'")
                cols.append(Column(type: .string, count: n, nullCount: nulls, validity: validity, offsets: offs, utf8: bytes))
            }
        }
        guard r.isAtEnd else {
            throw LambdaStoreError(.corruption, "\(r.remaining) trailing bytes after the last column", offset: Int64(r.position))
        }
        self.init(schemaVersion: schema.version, columns: cols)
    }

    @inline(__always)
    static func copyInts(_ s: UnsafeRawBufferPointer, _ n: Int) -> [Int64] {
        [Int64](zeroSafeCapacity: n) { buf, k in
            if n > 0 { UnsafeMutableRawBufferPointer(buf).copyMemory(from: s) }
            k = n
        }
    }
}

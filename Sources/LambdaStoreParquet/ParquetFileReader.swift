import LambdaStoreCore

/// One column of a Parquet file as LambdaStore types it.
public struct ParquetColumnInfo: Sendable, Equatable {
    public var name: String
    public var type: FieldType
    public var nullable: Bool

    public init(name: String, type: FieldType, nullable: Bool) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }
}

/// What the footer says of one row group.
public struct ParquetRowGroupInfo: Sendable {
    /// The number of rows.
    public var rows: Int
    /// The smallest and largest `_offset` (from its statistics); `0` and `-1` for a row group
    /// of no rows.
    public var firstOffset: Int64, lastOffset: Int64
    /// Min/max per column for int64/timestamp columns (nil when the chunk has no non-null
    /// value or no statistics), indexed like ``ParquetFileReader/columns`` (schema fields, then
    /// `_offset`); nil for columns of other types.
    public var intRanges: [(min: Int64, max: Int64)?]
    /// The row group's bytes on disk (pages and page headers of all its column chunks).
    public var compressedBytes: Int64
}

/// Reads Parquet files of the subset ``ParquetFileWriter`` writes, from whichever writer:
/// flat schemas of BOOLEAN, INT64 (plain, TIMESTAMP MILLIS), DOUBLE and BYTE_ARRAY STRING
/// columns, REQUIRED or OPTIONAL, ending with a REQUIRED INT64 `_offset` column; data pages v1
/// and v2; PLAIN, RLE_DICTIONARY / PLAIN_DICTIONARY, DELTA_BINARY_PACKED (INT64) and RLE
/// (BOOLEAN) encodings; ZSTD or UNCOMPRESSED pages. Anything else is
/// ``LambdaStoreError/Code/unsupported``, naming the column.
///
/// Every length, count, offset and index read from the file is checked before use; damage is
/// ``LambdaStoreError/Code/corruption`` with the file's path and the byte offset (of the
/// footer field, or of the page being decoded). No input traps.
///
/// Hand-written from the format specification (no maintained Swift Parquet library exists).
///
/// Thread safety: immutable after `init`; share it across tasks.
public struct ParquetFileReader: Sendable {
    /// The file's bytes from `tailOffset` on (the whole file when 0).
    let bytes: [UInt8]
    /// Where `bytes` starts in the file: 0, or the start of the tail of a footer-only reader.
    let tailOffset: Int
    let path: String
    let meta: PQFileMetaData
    private let physical: [ParquetPhysicalType]
    /// Per row group, per column: the chunk's byte range.
    let chunkRanges: [[Range<Int>]]

    /// The columns, `_offset` last.
    public let columns: [ParquetColumnInfo]
    /// The footer's key-value metadata (a key without value maps to "").
    public let keyValueMetadata: [String: String]
    /// The number of rows in the file.
    public let rowCount: Int64
    /// The row groups, in file order.
    public let rowGroups: [ParquetRowGroupInfo]

    /// Parses and validates the file: magic at both ends, footer length, the Thrift
    /// FileMetaData (every length, count, offset and nesting depth bounded before allocating),
    /// our subset only.
    /// - Throws: ``LambdaStoreError/Code/corruption`` (with `path` and the offset) for a
    ///   damaged file; ``LambdaStoreError/Code/unsupported`` for Parquet features outside the
    ///   subset; ``LambdaStoreError/Code/limitExceeded`` past ``ParquetLimits``.
    /// - Complexity: O(footer bytes).
    public init(bytes: [UInt8], path: String) throws(LambdaStoreError) {
        try self.init(storage: bytes, tailOffset: 0, path: path)
    }

    /// A footer-only reader: `tail` is the last `tail.count` bytes of a file of `fileSize`
    /// bytes and must hold the footer, its length and the closing magic (read 64 KiB, or the
    /// footer length + 8 the last 8 bytes give). Everything but the row groups' data is
    /// available and checked as by ``init(bytes:path:)`` (the opening magic excepted);
    /// ``readRowGroup(_:schema:keepDictionaries:)`` then throws `.precondition`.
    /// - Throws: as ``init(bytes:path:)``; `.invalidArgument` when `tail` does not hold the footer.
    public init(tail: [UInt8], fileSize: Int, path: String) throws(LambdaStoreError) {
        guard fileSize >= tail.count else { throw LambdaStoreError(.invalidArgument, "a tail of \(tail.count) bytes of a \(fileSize)-byte file", path: path) }
        try self.init(storage: tail, tailOffset: fileSize - tail.count, path: path)
    }

    private init(storage bytes: [UInt8], tailOffset: Int, path: String) throws(LambdaStoreError) {
        self.bytes = bytes
        self.tailOffset = tailOffset
        self.path = path
        let n = tailOffset + bytes.count
        func corrupt(_ m: String, _ at: Int) -> LambdaStoreError { .corruption(m, path: path, offset: Int64(at)) }
        guard n >= 12, bytes.count >= 8 else { throw corrupt("a Parquet file has at least 12 bytes, this one \(n)", 0) }
        let t = tailOffset
        if Array(bytes[(n - 4 - t)...]) == parquetEncryptedMagic {
            throw LambdaStoreError(.unsupported, "encrypted Parquet footer", path: path, offset: Int64(n - 4))
        }
        if t == 0 { guard Array(bytes[0..<4]) == parquetMagic else { throw corrupt("no PAR1 magic at the start", 0) } }
        guard Array(bytes[(n - 4 - t)...]) == parquetMagic else { throw corrupt("no PAR1 magic at the end", n - 4) }
        let footerLength = Int(UInt32(bytes[n - 8 - t]) | UInt32(bytes[n - 7 - t]) << 8 | UInt32(bytes[n - 6 - t]) << 16 | UInt32(bytes[n - 5 - t]) << 24)
        guard footerLength <= n - 12 else { throw corrupt("footer length \(footerLength) exceeds the file's \(n - 12) bytes between the magics", n - 8) }
        guard footerLength <= ParquetLimits.footerBytesMax else {
            throw LambdaStoreError(.limitExceeded, "footer of \(footerLength) bytes (max \(ParquetLimits.footerBytesMax))", path: path, offset: Int64(n - 8))
        }
        let footerStart = n - 8 - footerLength
        guard footerStart >= t else {
            throw LambdaStoreError(.invalidArgument, "the footer (\(footerLength) bytes) starts before the \(bytes.count)-byte tail given", path: path, offset: Int64(footerStart))
        }
        let meta = try bytes.withBytes { (raw: UnsafeRawBufferPointer) throws(LambdaStoreError) -> PQFileMetaData in
            var r = ThriftReader(UnsafeRawBufferPointer(rebasing: raw[(footerStart - t)..<(n - 8 - t)]), base: Int64(footerStart), path: path)
            return try PQFileMetaData(reading: &r)
        }
        self.meta = meta
        guard !meta.isEncrypted else { throw LambdaStoreError(.unsupported, "encrypted Parquet file", path: path, offset: Int64(footerStart)) }

        // The schema: a root group, then flat leaves.
        let schema = meta.schema
        guard let root = schema.first else { throw corrupt("the schema has no root element", footerStart) }
        let leaves = schema.dropFirst()
        guard leaves.count <= ParquetLimits.columnsMax else {
            throw LambdaStoreError(.limitExceeded, "\(leaves.count) columns (max \(ParquetLimits.columnsMax))", path: path, offset: Int64(footerStart))
        }
        guard root.numChildren.map(Int.init) == leaves.count, root.type == nil else {
            throw LambdaStoreError(.unsupported, "nested schema: the root has \(root.numChildren.map(String.init) ?? "no") children for \(leaves.count) elements", path: path, offset: Int64(footerStart))
        }
        var columns: [ParquetColumnInfo] = []
        var physical: [ParquetPhysicalType] = []
        for e in leaves {
            func unsupported(_ m: String) -> LambdaStoreError { LambdaStoreError(.unsupported, "column '\(e.name)': \(m)", path: path, offset: Int64(footerStart)) }
            guard e.numChildren == nil || e.numChildren == 0, let t = e.type else { throw unsupported("nested group") }
            guard let p = ParquetPhysicalType(rawValue: t) else { throw unsupported("physical type \(t)") }
            guard let rep = e.repetition, rep != ParquetRepetition.repeated else { throw unsupported("REPEATED or no repetition type") }
            guard rep == ParquetRepetition.required || rep == ParquetRepetition.optional else { throw unsupported("repetition type \(rep)") }
            guard let ft = Self.fieldType(p, e) else {
                throw unsupported("\(p.name) \(e.logicalType?.name ?? e.convertedType.map { "converted type \($0)" } ?? "without annotation") is not in the subset")
            }
            columns.append(ParquetColumnInfo(name: e.name, type: ft, nullable: rep == ParquetRepetition.optional))
            physical.append(p)
        }
        guard let last = columns.last, last.name == parquetOffsetColumnName, last.type == .int64, !last.nullable else {
            throw LambdaStoreError(.unsupported, "the last column is not a REQUIRED INT64 '\(parquetOffsetColumnName)'", path: path, offset: Int64(footerStart))
        }
        self.columns = columns
        self.physical = physical
        var kv: [String: String] = [:]
        for (k, v) in meta.keyValueMetadata { kv[k] = v ?? "" }
        keyValueMetadata = kv
        let typeOrdered = meta.columnOrders.map { $0.count == columns.count ? $0.map { $0 == 1 } : [] } ?? []

        // Row groups: counts, chunk ranges, statistics.
        guard meta.numRows >= 0 else { throw corrupt("num_rows \(meta.numRows)", footerStart) }
        var total: Int64 = 0
        var infos: [ParquetRowGroupInfo] = []
        var ranges: [[Range<Int>]] = []
        for (gi, g) in meta.rowGroups.enumerated() {
            guard g.numRows >= 0, g.numRows <= Int64(ParquetLimits.rowGroupRowsMax) else {
                throw LambdaStoreError(g.numRows < 0 ? .corruption : .limitExceeded, "row group \(gi) has \(g.numRows) rows (max \(ParquetLimits.rowGroupRowsMax))", path: path, offset: Int64(footerStart))
            }
            guard g.columns.count == columns.count else { throw corrupt("row group \(gi) has \(g.columns.count) column chunks for \(columns.count) columns", footerStart) }
            total += g.numRows
            let rows = Int(g.numRows)
            var rr: [Range<Int>] = []
            var intRanges: [(min: Int64, max: Int64)?] = []
            var compressed: Int64 = 0
            for (j, c) in g.columns.enumerated() {
                let name = columns[j].name
                func bad(_ m: String) -> LambdaStoreError { corrupt("row group \(gi), column '\(name)': \(m)", footerStart) }
                guard c.filePath == nil else { throw LambdaStoreError(.unsupported, "row group \(gi), column '\(name)': column chunk in another file", path: path, offset: Int64(footerStart)) }
                guard !c.isEncrypted else { throw LambdaStoreError(.unsupported, "row group \(gi), column '\(name)': encrypted column chunk", path: path, offset: Int64(footerStart)) }
                guard let m = c.metaData else { throw bad("no column metadata") }
                guard m.type == physical[j].rawValue else { throw bad("chunk type \(m.type), schema type \(physical[j].rawValue)") }
                guard m.pathInSchema == [name] else { throw bad("path_in_schema \(m.pathInSchema)") }
                guard m.codec == ParquetCodec.zstd || m.codec == ParquetCodec.uncompressed else {
                    throw LambdaStoreError(.unsupported, "row group \(gi), column '\(name)': codec \(ParquetCodec.name(m.codec))", path: path, offset: Int64(footerStart))
                }
                guard m.numValues == g.numRows else { throw bad("\(m.numValues) values for \(g.numRows) rows") }
                var start = m.dataPageOffset
                if let d = m.dictionaryPageOffset, d > 0, d < start { start = d }
                guard start >= 4, m.totalCompressedSize >= 0, start <= Int64(footerStart), m.totalCompressedSize <= Int64(footerStart) - start else {
                    throw bad("chunk at \(start) of \(m.totalCompressedSize) bytes is outside the data (4..<\(footerStart))")
                }
                rr.append(Int(start)..<Int(start + m.totalCompressedSize))
                compressed += m.totalCompressedSize
                var range: (min: Int64, max: Int64)?
                if columns[j].type == .int64 || columns[j].type == .timestamp, let s = m.statistics {
                    let ordered = typeOrdered.isEmpty || typeOrdered[j]
                    let lo = ordered ? (s.minValue ?? s.min) : s.min, hi = ordered ? (s.maxValue ?? s.max) : s.max
                    if let lo, let hi, lo.count == 8, hi.count == 8 {
                        let a = Self.int64(lo), b = Self.int64(hi)
                        guard a <= b else { throw bad("statistics min \(a) above max \(b)") }
                        range = (a, b)
                    }
                }
                intRanges.append(range)
            }
            var first: Int64 = 0, lastOffset: Int64 = -1
            if rows > 0 {
                guard let r = intRanges.last ?? nil else {
                    throw LambdaStoreError(.unsupported, "row group \(gi): '\(parquetOffsetColumnName)' has no min/max statistics", path: path, offset: Int64(footerStart))
                }
                let span = r.max.subtractingReportingOverflow(r.min)
                guard span.overflow || span.partialValue >= Int64(rows - 1) else {
                    throw corrupt("row group \(gi): \(rows) strictly increasing offsets cannot span \(r.min)...\(r.max)", footerStart)
                }
                (first, lastOffset) = r
            }
            infos.append(ParquetRowGroupInfo(rows: rows, firstOffset: first, lastOffset: lastOffset, intRanges: intRanges, compressedBytes: g.totalCompressedSize ?? compressed))
            ranges.append(rr)
        }
        guard total == meta.numRows else { throw corrupt("num_rows \(meta.numRows), the row groups hold \(total)", footerStart) }
        rowCount = total
        rowGroups = infos
        chunkRanges = ranges
    }

    static func int64(_ b: [UInt8]) -> Int64 {
        var v: UInt64 = 0
        for (i, x) in b.prefix(8).enumerated() { v |= UInt64(x) << UInt64(8 * i) }
        return Int64(bitPattern: v)
    }

    /// The LambdaStore type of a leaf, or nil when it is outside the subset.
    static func fieldType(_ p: ParquetPhysicalType, _ e: PQSchemaElement) -> FieldType? {
        switch p {
        case .boolean:
            return e.logicalType == nil && e.convertedType == nil ? .bool : nil
        case .int64:
            if let lt = e.logicalType {
                switch lt {
                case .timestamp(_, unit: 1): return .timestamp
                case .integer(bitWidth: 64, isSigned: true): return .int64
                default: return nil
                }
            }
            switch e.convertedType {
            case nil, ParquetConvertedType.int64: return .int64
            case ParquetConvertedType.timestampMillis: return .timestamp
            default: return nil
            }
        case .double:
            return e.logicalType == nil && e.convertedType == nil ? .float64 : nil
        case .byteArray:
            if let lt = e.logicalType { return lt == .string ? .string : nil }
            return e.convertedType == ParquetConvertedType.utf8 ? .string : nil
        default:
            return nil
        }
    }

    /// Decodes row group `index` into a batch of `schema` (its fields must equal the file's
    /// columns before `_offset` by name, type and nullability) with
    /// `schemaVersion = schema.version`, and the `_offset` values.
    ///
    /// With `keepDictionaries`, a string column whose pages are all dictionary-encoded comes
    /// back as a dictionary-encoded ``Column`` (codes + entries), else plain.
    /// - Throws: ``LambdaStoreError/Code/invalidArgument`` for an index out of range;
    ///   ``LambdaStoreError/Code/schema`` when `schema` does not match the file;
    ///   ``LambdaStoreError/Code/corruption`` naming the column and the page's offset;
    ///   ``LambdaStoreError/Code/unsupported`` for an encoding outside the subset.
    /// - Complexity: O(rows × columns + bytes of the row group).
    public func readRowGroup(_ index: Int, schema: Schema, keepDictionaries: Bool = false) throws(LambdaStoreError) -> (batch: ColumnBatch, offsets: [Int64]) {
        try readRowGroup(index, schema: schema, keepDictionaries: keepDictionaries, only: nil)
    }

    /// ``readRowGroup(_:schema:keepDictionaries:)`` decoding only the fields at `only`
    /// (schema field indexes; nil: all) and `_offset`: a column a scan does not read is never
    /// decompressed or decoded (Parquet's column chunks make that free). Every other column is a
    /// placeholder of the right type and row count holding zeros / empty strings and no nulls —
    /// for consumers that read only the fields they asked for (integer and float placeholder
    /// values are unspecified).
    public func readRowGroup(_ index: Int, schema: Schema, keepDictionaries: Bool = false, only: Set<Int>?) throws(LambdaStoreError) -> (batch: ColumnBatch, offsets: [Int64]) {
        guard tailOffset == 0 else { throw LambdaStoreError(.precondition, "a footer-only reader cannot read row groups", path: path) }
        guard index >= 0, index < rowGroups.count else {
            throw LambdaStoreError(.invalidArgument, "row group \(index) of a file with \(rowGroups.count)", path: path)
        }
        guard schema.fields.count == columns.count - 1 else {
            throw LambdaStoreError(.schema, "schema v\(schema.version) has \(schema.fields.count) fields, the file \(columns.count - 1) columns before '\(parquetOffsetColumnName)'", path: path)
        }
        for (f, c) in zip(schema.fields, columns) where f.name != c.name || f.type != c.type || f.nullable != c.nullable {
            throw LambdaStoreError(.schema, "field '\(f.name)' (\(f.type)\(f.nullable ? ", nullable" : "")) does not match column '\(c.name)' (\(c.type)\(c.nullable ? ", nullable" : ""))", path: path)
        }
        let info = rowGroups[index]
        let ranges = chunkRanges[index]
        let codecs = meta.rowGroups[index].columns.map { $0.metaData?.codec ?? 0 }
        return try bytes.withBytes { (raw: UnsafeRawBufferPointer) throws(LambdaStoreError) -> (batch: ColumnBatch, offsets: [Int64]) in
            var out: [Column] = []
            out.reserveCapacity(columns.count - 1)
            var offsets: [Int64] = []
            for (j, c) in columns.enumerated() {
                if let only, j < columns.count - 1, !only.contains(j) {
                    out.append(Self.placeholder(type: c.type, rows: info.rows))
                    continue
                }
                var d = ChunkDecoder(file: raw, path: path, name: c.name, physical: physical[j], type: c.type, nullable: c.nullable, rows: info.rows, codec: codecs[j], start: ranges[j].lowerBound, end: ranges[j].upperBound, keepDictionary: keepDictionaries)
                let column = try d.decode()
                if j == columns.count - 1 { offsets = column.ints } else { out.append(column) }
            }
            // Check after read: the offsets strictly increase and match the statistics.
            let at = Int64(ranges[columns.count - 1].lowerBound)
            for i in offsets.indices.dropFirst() where offsets[i] <= offsets[i - 1] {
                throw LambdaStoreError.corruption("row group \(index): '\(parquetOffsetColumnName)' does not increase at row \(i) (\(offsets[i - 1]), then \(offsets[i]))", path: path, offset: at)
            }
            if let a = offsets.first, let b = offsets.last, a != info.firstOffset || b != info.lastOffset {
                throw LambdaStoreError.corruption("row group \(index): '\(parquetOffsetColumnName)' spans \(a)...\(b), its statistics say \(info.firstOffset)...\(info.lastOffset)", path: path, offset: at)
            }
            return (ColumnBatch(schemaVersion: schema.version, columns: out), offsets)
        }
    }

    /// What an unread field holds: a column of the right type and row count, no nulls, empty
    /// strings; integer and float values are *unspecified* (the memory is not cleared: a scan
    /// that asked for some fields never reads the others, and clearing 8 bytes per row of every
    /// column it skips cost more than decoding the ones it reads).
    static func placeholder(type: FieldType, rows: Int) -> Column {
        switch type {
        case .float64:
            Column(type: type, count: rows, nullCount: 0, validity: [], doubles: [Double](zeroSafeCapacity: rows) { _, n in n = rows })
        case .string:
            Column(type: type, count: rows, nullCount: 0, validity: [], offsets: [UInt32](repeating: 0, count: rows + 1), utf8: [])
        case .bool:
            Column(type: type, count: rows, nullCount: 0, validity: [], ints: [Int64](repeating: 0, count: rows))   // 0/1 only
        default:
            Column(type: type, count: rows, nullCount: 0, validity: [], ints: [Int64](zeroSafeCapacity: rows) { _, n in n = rows })
        }
    }
}

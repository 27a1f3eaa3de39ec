import LambdaStoreCore

/// Tuning of ``ParquetFileWriter``.
public struct ParquetWriterOptions: Sendable {
    /// Rows per row group (1 ... ``ParquetLimits/rowGroupRowsMax``); default 1 Mi.
    public var rowGroupRows: Int
    /// Rows per data page (at least 1); default 128 Ki. A page of plain strings is cut earlier,
    /// near 8 MiB of values.
    public var pageRows: Int
    /// The zstd level of every page; default 3.
    public var zstdLevel: Int32

    /// The defaults.
    public init() {
        rowGroupRows = 1 << 20
        pageRows = 128 * 1024
        zstdLevel = 3
    }
}

/// Builds one Parquet file in memory: one column per schema field (schema order, same names,
/// nullability kept: OPTIONAL when nullable else REQUIRED), then a REQUIRED INT64 `_offset`
/// column holding each row's log offset.
///
/// ```swift
/// var w = try ParquetFileWriter(schema: schema, keyValueMetadata: [("lambdastore.stream", "orders")])
/// try w.append(batch, offsets: offsets)
/// let bytes = try w.finish()
/// ```
///
/// What it writes (docs-parquet-section.md): data pages v1 compressed with ZSTD; `timestamp` as
/// INT64 TIMESTAMP(UTC, MILLIS), `string` as BYTE_ARRAY STRING (dictionary-encoded, falling
/// back to PLAIN past 1 MiB or 64 Ki entries per chunk), `int64` as INT64 (PLAIN or
/// DELTA_BINARY_PACKED, whichever compresses the chunk's first page smaller), `float64` as
/// DOUBLE PLAIN, `bool` as BOOLEAN PLAIN; `_offset` DELTA_BINARY_PACKED; statistics on every
/// page and chunk, with TYPE_ORDER column orders.
///
/// Hand-written: no maintained Swift Parquet library exists; this follows the format
/// specification (apache/parquet-format) and copies no implementation.
///
/// Thread safety: a value type; use one writer from one task at a time.
public struct ParquetFileWriter {
    private let schema: Schema
    private let keyValueMetadata: [(key: String, value: String)]
    private let options: ParquetWriterOptions
    private var chunks: [ChunkBuilder]
    private var offsetChunk: ChunkBuilder
    private var groupRows = 0
    private var file: [UInt8] = parquetMagic
    private var rowGroups: [PQRowGroup] = []
    private var lastOffset: Int64?
    private var finished = false
    /// Rows appended so far, flushed or not.
    public private(set) var rowCount: Int64 = 0

    /// The bytes of each row group flushed so far (pages and page headers of all its column
    /// chunks), as the footer's `total_compressed_size` records them.
    public var rowGroupCompressedBytes: [Int64] { rowGroups.map { $0.totalCompressedSize ?? 0 } }

    /// A writer for batches of `schema`.
    /// - Throws: ``LambdaStoreError/Code/invalidArgument`` for options out of range or a field
    ///   named `_offset`; ``LambdaStoreError/Code/limitExceeded`` for more than
    ///   ``Limits/fieldsMax`` fields.
    public init(schema: Schema, keyValueMetadata: [(key: String, value: String)], options: ParquetWriterOptions = ParquetWriterOptions()) throws(LambdaStoreError) {
        guard options.rowGroupRows >= 1, options.rowGroupRows <= ParquetLimits.rowGroupRowsMax else {
            throw LambdaStoreError(.invalidArgument, "rowGroupRows \(options.rowGroupRows) outside 1...\(ParquetLimits.rowGroupRowsMax)")
        }
        guard options.pageRows >= 1 else { throw LambdaStoreError(.invalidArgument, "pageRows \(options.pageRows) must be at least 1") }
        guard schema.fields.count + 1 <= ParquetLimits.columnsMax else {
            throw LambdaStoreError(.limitExceeded, "\(schema.fields.count) fields (max \(ParquetLimits.columnsMax - 1))")
        }
        if schema.fields.contains(where: { $0.name == parquetOffsetColumnName }) {
            throw LambdaStoreError(.invalidArgument, "field name '\(parquetOffsetColumnName)' is reserved for the log offsets")
        }
        self.schema = schema
        self.keyValueMetadata = keyValueMetadata
        self.options = options
        chunks = schema.fields.map { ChunkBuilder(name: $0.name, type: $0.type, nullable: $0.nullable) }
        offsetChunk = ChunkBuilder(name: parquetOffsetColumnName, type: .int64, nullable: false, alwaysDelta: true)
    }

    /// Appends `batch` (columns exactly the schema's fields; plain or dictionary string
    /// columns), its rows having log offsets `offsets` (one per row, strictly increasing across
    /// all appends).
    /// - Throws: ``LambdaStoreError/Code/schema`` when the batch does not match the schema
    ///   (`ColumnBatch.validate(against:)`); ``LambdaStoreError/Code/invalidArgument`` for a
    ///   wrong offset count or offsets not strictly increasing; ``LambdaStoreError/Code/precondition``
    ///   after ``finish()``.
    /// - Complexity: O(rows + string bytes), plus encoding each row group that fills up.
    public mutating func append(_ batch: ColumnBatch, offsets: [Int64]) throws(LambdaStoreError) {
        guard !finished else { throw LambdaStoreError(.precondition, "append after finish()") }
        try batch.validate(against: schema)
        let n = batch.count
        guard offsets.count == n else {
            throw LambdaStoreError(.invalidArgument, "\(offsets.count) offsets for a batch of \(n) rows")
        }
        var prev = lastOffset
        for (i, o) in offsets.enumerated() {
            if let p = prev, o <= p {
                throw LambdaStoreError(.invalidArgument, "offset \(o) at row \(i) does not follow \(p): offsets must strictly increase")
            }
            prev = o
        }
        var start = 0
        while start < n {
            let k = Swift.min(n - start, options.rowGroupRows - groupRows)
            for (j, c) in batch.columns.enumerated() { try chunks[j].append(c, start..<(start + k)) }
            offsetChunk.append(ints: offsets[start..<(start + k)])
            groupRows += k
            rowCount += Int64(k)
            start += k
            if groupRows == options.rowGroupRows { try flushRowGroup() }
        }
        lastOffset = prev
    }

    /// Flushes the last row group and returns the whole file's bytes. The writer accepts
    /// nothing after it.
    /// - Throws: ``LambdaStoreError/Code/precondition`` when called twice;
    ///   ``LambdaStoreError/Code/limitExceeded`` when a page outgrows ``ParquetLimits/pageBytesMax``.
    public mutating func finish() throws(LambdaStoreError) -> [UInt8] {
        guard !finished else { throw LambdaStoreError(.precondition, "finish() called twice") }
        if groupRows > 0 { try flushRowGroup() }
        finished = true
        var meta = PQFileMetaData()
        meta.version = 2
        var root = PQSchemaElement(name: "schema")
        root.numChildren = Int32(schema.fields.count + 1)
        meta.schema = [root] + schema.fields.map { Self.schemaElement(name: $0.name, type: $0.type, nullable: $0.nullable) }
            + [Self.schemaElement(name: parquetOffsetColumnName, type: .int64, nullable: false)]
        meta.numRows = rowCount
        meta.rowGroups = rowGroups
        meta.keyValueMetadata = keyValueMetadata.map { ($0.key, $0.value) }
        meta.createdBy = "LambdaStore"
        meta.columnOrders = Array(repeating: 1, count: schema.fields.count + 1)   // TYPE_ORDER
        var w = ThriftWriter()
        meta.encode(into: &w)
        var out = file
        file = []
        out.append(contentsOf: w.bytes)
        out.appendLE(UInt32(w.bytes.count))
        out.append(contentsOf: parquetMagic)
        return out
    }

    /// Ends the current row group now (nothing when it is empty): the archive ends row groups at
    /// the source segment's batch boundaries.
    /// - Throws: ``LambdaStoreError/Code/precondition`` after ``finish()``;
    ///   ``LambdaStoreError/Code/limitExceeded`` when a page outgrows ``ParquetLimits/pageBytesMax``.
    public mutating func flushRowGroup() throws(LambdaStoreError) {
        guard !finished else { throw LambdaStoreError(.precondition, "flushRowGroup() after finish()") }
        guard groupRows > 0 else { return }
        var g = PQRowGroup()
        let start = Int64(file.count)
        for j in chunks.indices {
            g.columns.append(try chunks[j].encode(into: &file, options: options))
            chunks[j].reset()
        }
        g.columns.append(try offsetChunk.encode(into: &file, options: options))
        offsetChunk.reset()
        g.numRows = Int64(groupRows)
        g.totalByteSize = g.columns.reduce(0) { $0 + ($1.metaData?.totalUncompressedSize ?? 0) }
        g.fileOffset = start
        g.totalCompressedSize = Int64(file.count) - start
        if rowGroups.count <= Int(Int16.max) { g.ordinal = Int16(rowGroups.count) }
        rowGroups.append(g)
        groupRows = 0
    }

    static func schemaElement(name: String, type: FieldType, nullable: Bool) -> PQSchemaElement {
        var e = PQSchemaElement(name: name)
        e.type = ChunkBuilder.physicalType(type).rawValue
        e.repetition = nullable ? ParquetRepetition.optional : ParquetRepetition.required
        switch type {
        case .timestamp:
            e.convertedType = ParquetConvertedType.timestampMillis
            e.logicalType = .timestamp(isAdjustedToUTC: true, unit: 1)
        case .string:
            e.convertedType = ParquetConvertedType.utf8
            e.logicalType = .string
        default:
            break
        }
        return e
    }
}

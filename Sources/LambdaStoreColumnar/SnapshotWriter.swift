import Dispatch
import LambdaStoreCore
import Synchronization

/// Writes one columnar snapshot file (format-spec.md §4), row group by row group, and
/// publishes it atomically.
///
/// ```swift
/// let w = try SnapshotWriter(fs: fs, path: "views/revenue_hourly/00000000000000004096.snapshot",
///                            columns: [SnapshotColumn(name: "window_start", type: .timestamp, nullable: true),
///                                      SnapshotColumn(name: "merchant_id", type: .string),
///                                      SnapshotColumn(name: "revenue", type: .int64)],
///                            metadata: ["view": "revenue_hourly", "horizon": "4096"])
/// try w.append(columns: [windowStarts, merchants, revenues])   // split into row groups
/// let info = try w.finish()                                    // path, bytes, rows, whole-file CRC
/// ```
///
/// A file writer writes `<path>.tmp` as it goes; ``finish()`` appends the footer and tail,
/// fsyncs the temporary file, renames it over `path` and fsyncs the directory, so a crash at any
/// instant leaves either no file at `path` or the complete one. An in-memory writer
/// (``init(columns:options:metadata:)``) produces the same bytes for ``finishToBytes()``.
///
/// Output is deterministic: the same columns, options and metadata always give byte-identical
/// files (metadata is written sorted by key; dictionaries in first-appearance order).
///
/// Thread safety: not thread-safe; one writer is used by one task at a time.
public final class SnapshotWriter {
    /// The columns every appended row group must match.
    public let columns: [SnapshotColumn]
    /// Codec, zstd level and row-group size.
    public let options: SnapshotOptions
    private let metadata: [(key: String, value: String)]
    private let sink: Sink
    private var pending: [UInt8] = []
    private var written: Int64 = 0
    private var crc: UInt32 = 0
    private var rowGroups: [SnapshotRowGroup] = []
    private var rows: Int64 = 0
    private var isFinished = false

    private enum Sink {
        case file(fs: any FileSystem, path: String, temporary: String, handle: any FileHandle)
        case memory
    }

    /// Flush the pending bytes to the file once this many accumulate.
    private static let flushBytes = 4 << 20

    /// Starts writing `<path>.tmp` for a snapshot at `path`.
    /// - Throws: ``LambdaStoreError/Code/invalidArgument`` for bad columns, options or metadata;
    ///   ``LambdaStoreError/Code/io`` when the temporary file cannot be created.
    public init(fs: any FileSystem, path: String, columns: [SnapshotColumn], options: SnapshotOptions = SnapshotOptions(), metadata: [String: String] = [:]) throws(LambdaStoreError) {
        try Self.validate(columns: columns, options: options, metadata: metadata)
        self.columns = columns
        self.options = options
        self.metadata = SnapshotFooter.sortedMetadata(metadata)
        let temporary = path + ".tmp"
        // Created new: a leftover (or a planted symbolic link, which unlink does not follow)
        // is removed first, and the open never follows a link.
        if fs.exists(temporary) || fs.isSymbolicLink(temporary) { try fs.remove(temporary) }
        let handle = try fs.open(temporary, mode: .truncate)
        sink = .file(fs: fs, path: path, temporary: temporary, handle: handle)
        writeHeader()
    }

    /// An in-memory writer; ``finishToBytes()`` returns the file.
    /// - Throws: ``LambdaStoreError/Code/invalidArgument`` for bad columns, options or metadata.
    public init(columns: [SnapshotColumn], options: SnapshotOptions = SnapshotOptions(), metadata: [String: String] = [:]) throws(LambdaStoreError) {
        try Self.validate(columns: columns, options: options, metadata: metadata)
        self.columns = columns
        self.options = options
        self.metadata = SnapshotFooter.sortedMetadata(metadata)
        sink = .memory
        writeHeader()
    }

    /// The bytes of a snapshot holding `data` (one column per entry of `columns`), split into
    /// row groups of `options.rowGroupRows`.
    /// - Throws: as ``append(columns:)``.
    /// - Complexity: O(rows + bytes).
    public static func encode(columns: [SnapshotColumn], data: [Column], options: SnapshotOptions = SnapshotOptions(), metadata: [String: String] = [:]) throws(LambdaStoreError) -> [UInt8] {
        let w = try SnapshotWriter(columns: columns, options: options, metadata: metadata)
        try w.append(columns: data)
        return try w.finishToBytes()
    }

    private static func validate(columns: [SnapshotColumn], options: SnapshotOptions, metadata: [String: String]) throws(LambdaStoreError) {
        guard !columns.isEmpty, columns.count <= Limits.fieldsMax else {
            throw LambdaStoreError(.invalidArgument, "a snapshot needs 1…\(Limits.fieldsMax) columns, got \(columns.count)")
        }
        var seen = Set<String>()
        for c in columns {
            guard !c.name.isEmpty, c.name.utf8.count <= Limits.nameBytesMax else {
                throw LambdaStoreError(.invalidArgument, "column name '\(c.name)' must be 1…\(Limits.nameBytesMax) bytes")
            }
            guard seen.insert(c.name).inserted else { throw LambdaStoreError(.invalidArgument, "column '\(c.name)' given twice") }
        }
        guard options.rowGroupRows >= 1, options.rowGroupRows <= SnapshotFormat.rowGroupRowsMax else {
            throw LambdaStoreError(.invalidArgument, "rowGroupRows \(options.rowGroupRows) outside 1…\(SnapshotFormat.rowGroupRowsMax)")
        }
        for key in metadata.keys where key.isEmpty || key.utf8.count > Limits.nameBytesMax {
            throw LambdaStoreError(.invalidArgument, "metadata key '\(key)' must be 1…\(Limits.nameBytesMax) bytes")
        }
    }

    private func writeHeader() {
        var w = ByteWriter(capacity: SnapshotFormat.headerBytes)
        w.write(bytes: SnapshotFormat.magic)
        w.write(SnapshotFormat.version)
        w.write(w.crc32c(0..<12))
        emit(w.bytes)
    }

    /// Appends bytes to the file, extending the whole-file CRC.
    private func emit(_ bytes: [UInt8]) {
        crc = CRC32C.checksum(bytes, extending: crc)
        pending.append(contentsOf: bytes)
    }

    private func flush() throws(LambdaStoreError) {
        guard case .file(_, _, _, let handle) = sink, !pending.isEmpty else { return }
        try handle.write(pending, at: written)
        written += Int64(pending.count)
        pending.removeAll(keepingCapacity: true)
    }

    /// The position the next emitted byte will have in the file.
    private var position: Int64 {
        switch sink {
        case .file: written + Int64(pending.count)
        case .memory: Int64(pending.count)
        }
    }

    /// Appends whole columns, split into row groups of ``SnapshotOptions/rowGroupRows`` rows
    /// (the last one shorter). Each call starts a new row group.
    /// - Throws: ``LambdaStoreError/Code/invalidArgument`` when the columns do not match
    ///   ``columns`` (count, storage type, equal lengths, nulls in a non-nullable column, a
    ///   bool that is not 0/1); ``LambdaStoreError/Code/limitExceeded`` when a chunk would exceed
    ///   ``Limits/chunkBytesMax``; ``LambdaStoreError/Code/io`` from the file system.
    /// - Complexity: O(rows + bytes).
    public func append(columns data: [Column]) throws(LambdaStoreError) {
        try check(data)
        let n = data.first?.count ?? 0
        var ranges: [Range<Int>] = []
        var start = 0
        while start < n {
            let end = min(n, start + options.rowGroupRows)
            ranges.append(start..<end)
            start = end
        }
        let threads = max(1, min(options.threads, 64))
        let jobs = ranges.count * columns.count
        guard threads > 1 && jobs > 1 else {
            for r in ranges { try writeRowGroup(data, r) }
            return
        }
        // Encode and compress every (row group, column) chunk concurrently, then write them in
        // file order: the same bytes as the sequential path.
        let next = Atomic<Int>(0)
        let results = Locked<[Result<PreparedChunk, LambdaStoreError>?]>(Array(repeating: nil, count: jobs))
        let (cols, opts, groups) = (columns, options, ranges)
        DispatchQueue.concurrentPerform(iterations: min(threads, jobs)) { _ in
            while true {
                let j = next.add(1, ordering: .relaxed).oldValue
                guard j < jobs else { return }
                let g = j / cols.count, i = j % cols.count
                let r: Result<PreparedChunk, LambdaStoreError>
                do throws(LambdaStoreError) { r = .success(try Self.prepare(data[i], groups[g], cols[i], opts)) } catch { r = .failure(error) }
                results.withLock { $0[j] = r }
            }
        }
        let prepared = results.withLock { $0 }
        for (g, range) in ranges.enumerated() {
            var chunks: [PreparedChunk] = []
            chunks.reserveCapacity(columns.count)
            for i in columns.indices {
                switch prepared[g * columns.count + i] {
                case .success(let c)?: chunks.append(c)
                case .failure(let e)?: throw e
                case nil: throw LambdaStoreError(.precondition, "snapshot chunk \(i) of row group \(g) was not prepared")
                }
            }
            try emitRowGroup(chunks, range)
        }
    }

    /// Appends one row group made of `rowGroupColumns` (all rows of each). An empty group is
    /// skipped.
    /// - Throws: as ``append(columns:)``, and ``LambdaStoreError/Code/invalidArgument`` for more
    ///   than ``SnapshotFormat/rowGroupRowsMax`` rows.
    /// - Complexity: O(rows + bytes).
    public func append(rowGroupColumns data: [Column]) throws(LambdaStoreError) {
        try check(data)
        let n = data.first?.count ?? 0
        guard n <= SnapshotFormat.rowGroupRowsMax else {
            throw LambdaStoreError(.invalidArgument, "row group of \(n) rows exceeds \(SnapshotFormat.rowGroupRowsMax)")
        }
        if n > 0 { try writeRowGroup(data, 0..<n) }
    }

    /// Appends row group `g` of `reader` as it is stored: each chunk's bytes (checked against
    /// its CRC32C), encoding, codec and statistics, copied without decoding. The chunks of a
    /// row group depend only on its rows, the codec options and the column declarations, so
    /// the result equals encoding the same rows again under the same options.
    /// - Throws: ``LambdaStoreError/Code/invalidArgument`` when `reader` declares other columns
    ///   or `g` is out of range; corruption and I/O errors reading the chunks.
    /// - Complexity: O(stored bytes of the row group).
    public func append(rowGroup g: Int, copiedFrom reader: SnapshotReader) throws(LambdaStoreError) {
        guard !isFinished else { throw LambdaStoreError(.precondition, "snapshot writer already finished") }
        guard reader.columns == columns else {
            throw LambdaStoreError(.invalidArgument, "\(reader.path) declares other columns than this snapshot")
        }
        guard reader.rowGroups.indices.contains(g), reader.rowGroups[g].chunks.count == columns.count else {
            throw LambdaStoreError(.invalidArgument, "\(reader.path) has no row group \(g) with \(columns.count) chunks")
        }
        let group = reader.rowGroups[g]
        var prepared: [PreparedChunk] = []
        prepared.reserveCapacity(columns.count)
        for (c, chunk) in group.chunks.enumerated() {
            guard chunk.column == c else {
                throw LambdaStoreError.corruption("row group \(g) lists chunk \(c) as column \(chunk.column)", path: reader.path, offset: nil)
            }
            let body = try reader.readVerifiedChunk(group: g, column: c)
            prepared.append(PreparedChunk(body: body, encodedBytes: chunk.encodedBytes, encoding: chunk.encoding, codec: chunk.codec,
                                          crc32c: chunk.crc32c, statistics: chunk.statistics))
        }
        try emitRowGroup(prepared, 0..<group.rowCount)
    }

    /// Checks that `data` can be written under ``columns`` without trapping or lying.
    private func check(_ data: [Column]) throws(LambdaStoreError) {
        guard !isFinished else { throw LambdaStoreError(.precondition, "snapshot writer already finished") }
        guard data.count == columns.count else {
            throw LambdaStoreError(.invalidArgument, "got \(data.count) columns, the snapshot has \(columns.count)")
        }
        let n = data[0].count
        for (c, col) in zip(data, columns) {
            func bad(_ why: String) -> LambdaStoreError { LambdaStoreError(.invalidArgument, "column '\(col.name)': \(why)") }
            guard c.type == col.type.storage else { throw bad("is a \(c.type) column, expected \(col.type.storage) storage for \(col.type)") }
            guard c.count == n else { throw bad("has \(c.count) rows, the first column has \(n)") }
            guard !c.hasNulls || col.nullable else { throw bad("holds nulls but is not nullable") }
            guard !c.hasNulls || (c.nullCount <= n && c.validity.count >= (n + 7) / 8) else { throw bad("validity bitmap too short") }
            switch col.type.storage {
            case .float64:
                guard c.doubles.count == n else { throw bad("holds \(c.doubles.count) values for \(n) rows") }
            case .string:
                guard c.offsets.count == n + 1 else { throw bad("holds \(c.offsets.count) offsets for \(n) rows") }
                var prev: UInt32 = 0
                for o in c.offsets {
                    guard o >= prev else { throw bad("string offsets decrease") }
                    prev = o
                }
                guard Int(prev) <= c.utf8.count else { throw bad("string offsets run past the bytes") }
            default:
                guard c.ints.count == n else { throw bad("holds \(c.ints.count) values for \(n) rows") }
                if col.type == .bool, let v = c.ints.first(where: { $0 != 0 && $0 != 1 }) { throw bad("bool value \(v) is not 0 or 1") }
            }
        }
    }

    /// One chunk, encoded and compressed, ready to be written.
    struct PreparedChunk: Sendable {
        var body: [UInt8]
        var encodedBytes: Int
        var encoding: SnapshotEncoding
        var codec: Codec
        var crc32c: UInt32
        var statistics: SnapshotStatistics
    }

    /// Encodes and compresses rows `range` of `data` as a chunk of column `col` (pure: safe to
    /// run concurrently).
    static func prepare(_ data: Column, _ range: Range<Int>, _ col: SnapshotColumn, _ options: SnapshotOptions) throws(LambdaStoreError) -> PreparedChunk {
        let e = ChunkEncoder.encode(data, range: range, type: col.type, preferred: options.preferredEncoding)
        guard e.bytes.count <= Limits.chunkBytesMax, e.valueBytes <= Limits.chunkBytesMax else {
            throw LambdaStoreError(.limitExceeded, "column '\(col.name)': a chunk of \(range.count) rows takes \(max(e.bytes.count, e.valueBytes)) bytes (max \(Limits.chunkBytesMax)); use smaller row groups")
        }
        var codec = options.codec
        var stored: [UInt8] = []
        if codec != .none {
            _ = try typed { try e.bytes.withUnsafeBytes { raw in try codec.compress(raw, appendingTo: &stored, level: options.zstdLevel) } }
            if stored.count >= e.bytes.count { codec = .none }
        }
        let body = codec == .none ? e.bytes : stored
        return PreparedChunk(body: body, encodedBytes: e.bytes.count, encoding: e.encoding, codec: codec,
                             crc32c: CRC32C.checksum(body), statistics: e.statistics)
    }

    private func writeRowGroup(_ data: [Column], _ range: Range<Int>) throws(LambdaStoreError) {
        var chunks: [PreparedChunk] = []
        chunks.reserveCapacity(columns.count)
        for (i, col) in columns.enumerated() { chunks.append(try Self.prepare(data[i], range, col, options)) }
        try emitRowGroup(chunks, range)
    }

    /// Writes the prepared chunks of one row group, in column order.
    private func emitRowGroup(_ prepared: [PreparedChunk], _ range: Range<Int>) throws(LambdaStoreError) {
        var chunks: [SnapshotChunk] = []
        chunks.reserveCapacity(prepared.count)
        for (i, c) in prepared.enumerated() {
            chunks.append(SnapshotChunk(column: i, offset: position, storedBytes: c.body.count, encodedBytes: c.encodedBytes, encoding: c.encoding,
                                        codec: c.codec, crc32c: c.crc32c, statistics: c.statistics))
            emit(c.body)
            if pending.count >= Self.flushBytes { try flush() }
        }
        rowGroups.append(SnapshotRowGroup(index: rowGroups.count, firstRow: rows, rowCount: range.count, chunks: chunks))
        rows += Int64(range.count)
    }

    /// Appends the footer and the tail.
    private func writeFooterAndTail() throws(LambdaStoreError) {
        guard !isFinished else { throw LambdaStoreError(.precondition, "snapshot writer already finished") }
        isFinished = true
        let footer = SnapshotFooter(columns: columns, metadata: metadata, rowCount: rows, rowGroups: rowGroups).encode()
        guard footer.count <= Limits.footerBytesMax else {
            throw LambdaStoreError(.limitExceeded, "snapshot footer of \(footer.count) bytes exceeds \(Limits.footerBytesMax); use larger row groups or less metadata")
        }
        var tail = ByteWriter(capacity: SnapshotFormat.tailBytes)
        tail.write(UInt32(footer.count))
        var footerCRC = CRC32C.checksum(footer)
        footerCRC = CRC32C.checksum(tail.bytes, extending: footerCRC)
        footerCRC = CRC32C.checksum(SnapshotFormat.magic, extending: footerCRC)
        tail.write(footerCRC)
        tail.write(bytes: SnapshotFormat.magic)
        emit(footer)
        emit(tail.bytes)
    }

    /// Writes the footer and tail, fsyncs `<path>.tmp`, renames it to `path` and fsyncs the
    /// directory. On failure the temporary file is removed.
    /// - Returns: the path, size, row count and whole-file CRC32C, for the manifest.
    /// - Throws: ``LambdaStoreError/Code/io`` from the file system,
    ///   ``LambdaStoreError/Code/limitExceeded`` for an oversized footer,
    ///   ``LambdaStoreError/Code/precondition`` when already finished.
    public func finish() throws(LambdaStoreError) -> SnapshotFileInfo {
        guard case .file(let fs, let path, let temporary, let handle) = sink else {
            _ = try finishToBytes()
            return SnapshotFileInfo(path: "", bytes: position, rows: rows, crc32c: crc)
        }
        do throws(LambdaStoreError) {
            try writeFooterAndTail()
            try flush()
            try handle.sync()
            try handle.close()
            try fs.rename(temporary, to: path)
            try fs.syncDirectory(Path.parent(of: path))
        } catch {
            abort()
            throw error
        }
        return SnapshotFileInfo(path: path, bytes: written, rows: rows, crc32c: crc)
    }

    /// Finishes an in-memory writer and returns the file's bytes.
    /// - Throws: ``LambdaStoreError/Code/precondition`` for a file writer or when already
    ///   finished; ``LambdaStoreError/Code/limitExceeded`` for an oversized footer.
    public func finishToBytes() throws(LambdaStoreError) -> [UInt8] {
        guard case .memory = sink else { throw LambdaStoreError(.precondition, "finishToBytes() is for in-memory snapshot writers") }
        try writeFooterAndTail()
        return pending
    }

    /// Abandons a file writer: closes and removes `<path>.tmp` (best effort). `path` is untouched.
    public func abort() {
        isFinished = true
        if case .file(let fs, _, let temporary, let handle) = sink {
            try? handle.close()
            try? fs.remove(temporary)
        }
    }
}

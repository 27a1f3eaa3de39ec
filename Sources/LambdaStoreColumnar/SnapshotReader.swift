import Dispatch
import LambdaStoreCore
import Synchronization

/// Reads a columnar snapshot file (format-spec.md §4): its schema, metadata and row groups at
/// open, then only the column chunks a query asks for.
///
/// ```swift
/// let r = try SnapshotReader.open(fs: fs, path: "views/revenue_hourly/00000000000000004096.snapshot")
/// let groups = try r.rowGroups(where: [.range("window_start", lower: .timestamp(t0), upper: .timestamp(t1))])
/// let cols = try r.readColumns(["merchant_id", "revenue"], rowGroups: groups)
/// ```
///
/// ``open(fs:path:)`` validates the tail magic, the footer length (against
/// ``Limits/footerBytesMax`` and the file size), the footer CRC, the header (magic, CRC,
/// version) and every field of the footer; ``readColumns(_:rowGroups:)`` reads each requested
/// chunk with one positional read, checks its CRC, then decompresses and decodes it with every
/// length bounded. Damaged bytes raise ``LambdaStoreError/Code/corruption`` naming the file, the
/// column, the row group and the byte offset; nothing on disk can make the reader trap.
///
/// Thread safety: immutable after open and reads are positional, so one reader may be used
/// from several threads at once.
public final class SnapshotReader: Sendable {
    /// The path it was opened with.
    public let path: String
    /// The file size in bytes.
    public let fileSize: Int64
    /// The format version from the header.
    public let formatVersion: UInt32
    /// The columns, in file order.
    public let columns: [SnapshotColumn]
    /// The key-value metadata.
    public let metadata: [String: String]
    /// The total number of rows.
    public let rowCount: Int64
    /// The row groups, in file order.
    public let rowGroups: [SnapshotRowGroup]
    private let source: Source

    /// Where chunk reads go: the handle the reader was opened with, or the file system, which
    /// opens the file for each chunk read (a reader then holds no file descriptor).
    private enum Source: Sendable {
        case handle(any FileHandle)
        case reopen(any FileSystem)
    }

    /// Opens and validates the snapshot at `path`.
    ///
    /// With `keepOpen: false` the file is closed once the footer is read, and every chunk read
    /// opens it again: a store holding many snapshot files (a windowed view's parts) keeps no
    /// descriptor per file. Each chunk is checked against the CRC32C in the footer read at open,
    /// so a file replaced in between is reported as corruption, never read as if it were the
    /// same.
    /// - Throws: ``LambdaStoreError/Code/notFound`` when absent, ``LambdaStoreError/Code/corruption``
    ///   for a damaged file, ``LambdaStoreError/Code/unsupported`` for another format version,
    ///   ``LambdaStoreError/Code/io`` from the file system.
    /// - Complexity: O(footer bytes); one to three positional reads.
    public static func open(fs: any FileSystem, path: String, keepOpen: Bool = true) throws(LambdaStoreError) -> SnapshotReader {
        let h = try fs.open(path, mode: .read)
        do {
            let r = try SnapshotReader(handle: h, path: path, checkHeader: true, reopenWith: keepOpen ? nil : fs)
            if !keepOpen { try h.close() }
            return r
        } catch {
            try? h.close()
            throw error
        }
    }

    /// A reader over a snapshot held in memory (for example ``SnapshotWriter/finishToBytes()``).
    /// - Throws: as ``open(fs:path:)``.
    public convenience init(bytes: [UInt8], path: String = "<memory>") throws(LambdaStoreError) {
        try self.init(handle: MemoryFileHandle(bytes: bytes, path: path), path: path, checkHeader: true)
    }

    /// Opens over `handle`; `checkHeader: false` lets ``SnapshotInspector`` go on to check the
    /// chunks of a file whose header is damaged.
    /// With `reopenWith`, chunk reads open the file through that file system instead of
    /// using `handle` (which the caller closes).
    init(handle: any FileHandle, path: String, checkHeader: Bool, reopenWith fs: (any FileSystem)? = nil) throws(LambdaStoreError) {
        func corrupt(_ message: String, _ offset: Int64?) -> LambdaStoreError { .corruption(message, path: path, offset: offset) }
        let size = try handle.size()
        let minimum = Int64(SnapshotFormat.headerBytes + SnapshotFormat.tailBytes)
        guard size >= minimum else { throw corrupt("file of \(size) bytes is shorter than header and tail (\(minimum))", 0) }
        // One read for the tail, and usually the whole footer (and the header of a small file).
        let window = Int(min(size, 64 << 10))
        let windowStart = size - Int64(window)
        let last = try handle.read(count: window, at: windowStart)
        guard last.count == window else { throw corrupt("short read: file shrank while opening", windowStart + Int64(last.count)) }
        let tailAt = size - Int64(SnapshotFormat.tailBytes)
        let t = window - SnapshotFormat.tailBytes
        guard Array(last[(t + 8)...]) == SnapshotFormat.magic else { throw corrupt("bad tail magic", tailAt + 8) }
        let footerLength = Int(UInt32(last[t]) | UInt32(last[t + 1]) << 8 | UInt32(last[t + 2]) << 16 | UInt32(last[t + 3]) << 24)
        let storedCRC = UInt32(last[t + 4]) | UInt32(last[t + 5]) << 8 | UInt32(last[t + 6]) << 16 | UInt32(last[t + 7]) << 24
        guard footerLength <= Limits.footerBytesMax, Int64(footerLength) <= size - minimum else {
            throw corrupt("footer length \(footerLength) exceeds the limit \(Limits.footerBytesMax) or the file size \(size)", tailAt)
        }
        let footerAt = tailAt - Int64(footerLength)
        let footer: [UInt8]
        if footerLength <= t {
            footer = Array(last[(t - footerLength)..<t])
        } else {
            footer = try handle.read(count: footerLength, at: footerAt)
            guard footer.count == footerLength else { throw corrupt("short read of the footer", footerAt) }
        }
        var computed = CRC32C.checksum(footer)
        computed = CRC32C.checksum(last, t..<(t + 4), extending: computed)
        computed = CRC32C.checksum(SnapshotFormat.magic, extending: computed)
        guard computed == storedCRC else {
            throw .checksumMismatch(stored: storedCRC, computed: computed, what: "footer", path: path, offset: footerAt)
        }
        var version = SnapshotFormat.version
        if checkHeader {
            let header = size <= Int64(window) ? Array(last[0..<SnapshotFormat.headerBytes]) : try handle.read(count: SnapshotFormat.headerBytes, at: 0)
            version = try Self.checkHeader(header, path: path)
        }
        let decoded: SnapshotFooter
        do {
            decoded = try typed { try footer.withUnsafeBytes { raw in try SnapshotFooter(decoding: raw, base: footerAt) } }
        } catch {
            throw error.at(path: path)
        }
        self.path = path
        self.fileSize = size
        self.formatVersion = version
        self.columns = decoded.columns
        self.metadata = Dictionary(decoded.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        self.rowCount = decoded.rowCount
        self.rowGroups = decoded.rowGroups
        self.source = fs.map { .reopen($0) } ?? .handle(handle)
    }

    /// Validates the 16 header bytes and returns the version.
    static func checkHeader(_ header: [UInt8], path: String) throws(LambdaStoreError) -> UInt32 {
        guard header.count == SnapshotFormat.headerBytes else { throw .corruption("short header", path: path, offset: 0) }
        guard Array(header[0..<8]) == SnapshotFormat.magic else { throw .corruption("bad header magic (not a snapshot file)", path: path, offset: 0) }
        let stored = UInt32(header[12]) | UInt32(header[13]) << 8 | UInt32(header[14]) << 16 | UInt32(header[15]) << 24
        let computed = CRC32C.checksum(header, 0..<12)
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed, what: "header", path: path, offset: 0) }
        let version = UInt32(header[8]) | UInt32(header[9]) << 8 | UInt32(header[10]) << 16 | UInt32(header[11]) << 24
        guard version == SnapshotFormat.version else {
            throw LambdaStoreError(.unsupported, "snapshot format version \(version) (this build reads \(SnapshotFormat.version))", path: path, offset: 8)
        }
        return version
    }

    /// Closes the file. Further reads fail (a reader opened with `keepOpen: false` holds no
    /// file: nothing to close).
    public func close() throws(LambdaStoreError) {
        if case .handle(let h) = source { try h.close() }
    }

    /// The index of the column named `name`.
    public func columnIndex(named name: String) -> Int? { columns.firstIndex { $0.name == name } }

    /// Reads and decodes the columns named `names` over the row groups `rowGroups` (all when
    /// nil), concatenated in the order given. Only those chunks are read, one positional read
    /// each; `bytes` columns come back as `.string` ``Column``s.
    /// - Throws: ``LambdaStoreError/Code/notFound`` for an unknown column,
    ///   ``LambdaStoreError/Code/invalidArgument`` for a row group index out of range,
    ///   ``LambdaStoreError/Code/corruption`` for a damaged chunk (naming file, column, row
    ///   group and offset), ``LambdaStoreError/Code/io`` from the file system.
    /// - Complexity: O(bytes of the chunks read + rows).
    public func readColumns(_ names: [String], rowGroups selected: [Int]? = nil) throws(LambdaStoreError) -> [Column] {
        var indexes: [Int] = []
        for name in names {
            guard let i = columnIndex(named: name) else {
                throw LambdaStoreError(.notFound, "snapshot has no column '\(name)'", path: path)
            }
            indexes.append(i)
        }
        return try readColumns(at: indexes, rowGroups: selected)
    }

    /// ``readColumns(_:rowGroups:)`` by column index.
    /// - Throws: as ``readColumns(_:rowGroups:)``.
    /// - Complexity: O(bytes of the chunks read + rows).
    public func readColumns(at indexes: [Int], rowGroups selected: [Int]? = nil) throws(LambdaStoreError) -> [Column] {
        try readColumns(at: indexes, rowGroups: selected, parallel: false)
    }

    /// Rows from which ``rowGroupColumns(_:)`` decodes a group's columns on several threads.
    static let parallelDecodeRows = 16_384

    /// ``readColumns(at:rowGroups:)``; with `parallel`, the columns of at least
    /// ``parallelDecodeRows`` rows decode on up to as many threads as cores (each column is
    /// independent; the first error by column order is thrown).
    func readColumns(at indexes: [Int], rowGroups selected: [Int]?, parallel: Bool) throws(LambdaStoreError) -> [Column] {
        let groups = selected ?? Array(rowGroups.indices)
        var total = 0
        for g in groups {
            guard rowGroups.indices.contains(g) else {
                throw LambdaStoreError(.invalidArgument, "row group \(g) out of range 0..<\(rowGroups.count)", path: path)
            }
            total += rowGroups[g].rowCount
        }
        for c in indexes where !columns.indices.contains(c) {
            throw LambdaStoreError(.invalidArgument, "column index \(c) out of range 0..<\(columns.count)", path: path)
        }
        let rows = total
        @Sendable func column(_ c: Int) throws(LambdaStoreError) -> Column {
            var b = ColumnBuilder(type: columns[c].type, expectedRows: rows)
            for g in groups { try decodeChunk(group: g, column: c, into: &b) }
            return b.build()
        }
        if parallel, indexes.count > 1, rows >= Self.parallelDecodeRows, Platform.processorCount > 1 {
            let decoded = Locked([Result<Column, LambdaStoreError>?](repeating: nil, count: indexes.count))
            DispatchQueue.concurrentPerform(iterations: indexes.count) { i in
                let r: Result<Column, LambdaStoreError>
                do throws(LambdaStoreError) { r = .success(try column(indexes[i])) } catch { r = .failure(error) }
                decoded.withLock { $0[i] = r }
            }
            var out: [Column] = []
            out.reserveCapacity(indexes.count)
            for r in decoded.withLock({ $0 }) {
                switch r {
                case .success(let col)?: out.append(col)
                case .failure(let e)?: throw e
                case nil: throw LambdaStoreError(.precondition, "a column decode did not finish", path: path)
                }
            }
            return out
        }
        var out: [Column] = []
        out.reserveCapacity(indexes.count)
        for c in indexes { out.append(try column(c)) }
        return out
    }

    /// One row group kept decoded by ``rowGroupColumns(_:)``.
    private struct DecodedGroup {
        var columns: [Column]
        var bytes: Int
        var index: (any Sendable)?
        var lastUse: UInt64
        /// Decoded by ``prefetch(_:)`` and not read since: its next read counts as its first.
        var prefetched = false
    }

    /// Row groups kept decoded, by group, with their total bytes and a use counter for
    /// least-recently-used eviction.
    private let decodedGroups = Locked<(groups: [Int: DecodedGroup], bytes: Int, tick: UInt64)>(([:], 0, 0))

    /// The most bytes of decoded row groups ``rowGroupColumns(_:)`` keeps per reader (256 MiB:
    /// a whole snapshot of a few million cells, so that point queries over it stay in memory
    /// after their first touch, like a database's buffer pool).
    public static let decodedBytesKept = 256 << 20

    /// Every column of row group `g`, decoded (checksums verified) on first use and then served
    /// from a least-recently-used cache of at most ``decodedBytesKept`` bytes, so repeated
    /// point lookups do not read and decompress again.
    /// - Throws: as ``readColumns(_:rowGroups:)``.
    /// - Complexity: O(1) on a hit; O(bytes of the row group + groups cached) otherwise.
    public func rowGroupColumns(_ g: Int) throws(LambdaStoreError) -> [Column] {
        try cachedGroup(g).columns
    }

    /// ``rowGroupColumns(_:)`` plus an index the caller derives from the columns (a lookup
    /// structure over the group's rows): built by `build` on first use and kept in the cache
    /// with the columns, its `bytes` counted against ``decodedBytesKept``. A group evicted from
    /// the cache loses its index with its columns.
    /// - Complexity: as ``rowGroupColumns(_:)`` on a hit; plus `build` otherwise.
    public func rowGroupColumns<Index: Sendable>(_ g: Int, index build: ([Column]) -> (index: Index, bytes: Int)) throws(LambdaStoreError) -> ([Column], Index) {
        let (cols, cached, _) = try cachedGroup(g)
        return (cols, indexed(g, cols, cached, build))
    }

    /// `cached` as an `Index`, or `build` of `cols`, kept with group `g` in the cache.
    private func indexed<Index: Sendable>(_ g: Int, _ cols: [Column], _ cached: (any Sendable)?, _ build: ([Column]) -> (index: Index, bytes: Int)) -> Index {
        if let index = cached as? Index { return index }
        let (index, bytes) = build(cols)
        decodedGroups.withLock { cache in
            // Only while the group is still cached without an index: a group evicted in the
            // meantime must not add its index's bytes to the total (which would shrink the
            // cache for good).
            guard let kept = cache.groups[g], kept.index == nil else { return }
            cache.groups[g]?.index = index
            cache.groups[g]?.bytes += bytes
            cache.bytes += bytes
            Self.evict(&cache, keeping: g, toFit: 0)
        }
        return index
    }

    /// Whether every row group of the file is decoded in the cache (no read of it reads the
    /// file): one count under the cache's lock.
    public var isFullyDecoded: Bool {
        let n = rowGroups.count
        return decodedGroups.withLock { $0.groups.count == n }
    }

    /// Whether every group of `groups` is decoded in the cache (reading them reads no file).
    public func isDecoded(_ groups: [Int]) -> Bool {
        decodedGroups.withLock { cache in groups.allSatisfy { cache.groups[$0] != nil } }
    }

    /// ``rowGroupColumns(_:index:)``, but the index is built only from the group's second
    /// use on: a group read once (a one-shot query process, a cold cache) is searched without
    /// one, which costs less than building it; a group read again gets it. Nil on a first use.
    /// - Complexity: as ``rowGroupColumns(_:)`` on a first use; then as ``rowGroupColumns(_:index:)``.
    public func rowGroupColumnsIndexedOnReuse<Index: Sendable>(_ g: Int, index build: ([Column]) -> (index: Index, bytes: Int)) throws(LambdaStoreError) -> ([Column], Index?) {
        let (cols, cached, hit) = try cachedGroup(g)
        guard hit else { return (cols, nil) }
        return (cols, indexed(g, cols, cached, build))
    }

    /// Group `g`'s columns and index from the cache (`hit`), or read and decoded now (and kept).
    private func cachedGroup(_ g: Int) throws(LambdaStoreError) -> (columns: [Column], index: (any Sendable)?, hit: Bool) {
        let hit: DecodedGroup? = decodedGroups.withLock { cache in
            guard let kept = cache.groups[g] else { return nil }
            cache.tick += 1
            cache.groups[g]?.lastUse = cache.tick
            if kept.prefetched { cache.groups[g]?.prefetched = false }
            return kept
        }
        if let hit { return (hit.columns, hit.index, !hit.prefetched) }
        let cols = try decodeIntoCache(g, prefetched: false)
        return (cols, nil, false)
    }

    /// Decodes row group `g` into the cache when it is not there yet, without counting as a
    /// use: its next read is still its first (``rowGroupColumnsIndexedOnReuse(_:index:)``
    /// builds no index then). A reader of several cold groups prefetches them on parallel
    /// threads first. A damaged chunk is left for that read to report: nothing is cached.
    public func prefetch(_ g: Int) {
        guard rowGroups.indices.contains(g), !isDecoded([g]) else { return }
        _ = try? decodeIntoCache(g, prefetched: true)
    }

    /// Every column of group `g`, decoded and kept in the cache (unless another thread kept it
    /// first, or it alone exceeds the cache).
    private func decodeIntoCache(_ g: Int, prefetched: Bool) throws(LambdaStoreError) -> [Column] {
        let cols = try readColumns(at: Array(columns.indices), rowGroups: [g], parallel: true)
        let bytes = cols.reduce(0) { $0 + $1.ints.count * 8 + $1.doubles.count * 8 + $1.offsets.count * 4 + $1.utf8.count + $1.validity.count }
        decodedGroups.withLock { cache in
            guard cache.groups[g] == nil, bytes <= Self.decodedBytesKept else { return }
            Self.evict(&cache, keeping: nil, toFit: bytes)
            cache.tick += 1
            cache.groups[g] = DecodedGroup(columns: cols, bytes: bytes, index: nil, lastUse: cache.tick, prefetched: prefetched)
            cache.bytes += bytes
        }
        return cols
    }

    /// Drops least recently used groups (never `keeping`) until `toFit` more bytes fit.
    private static func evict(_ cache: inout (groups: [Int: DecodedGroup], bytes: Int, tick: UInt64), keeping: Int?, toFit more: Int) {
        while cache.bytes + more > decodedBytesKept {
            guard let victim = cache.groups.filter({ $0.key != keeping }).min(by: { $0.value.lastUse < $1.value.lastUse })?.key,
                  let removed = cache.groups.removeValue(forKey: victim) else { return }
            cache.bytes -= removed.bytes
        }
    }

    /// Reads, checks and decodes one chunk into `b`.
    func decodeChunk(group g: Int, column c: Int, into b: inout ColumnBuilder) throws(LambdaStoreError) {
        let chunk = rowGroups[g].chunks[c]
        let stored = try readVerifiedChunk(group: g, column: c)
        let what = "column '\(columns[c].name)' row group \(g)"
        do throws(LambdaStoreError) {
            if chunk.codec == .none {
                try typed { try stored.withUnsafeBytes { raw in
                    try ChunkDecoder.decode(raw, rows: rowGroups[g].rowCount, encoding: chunk.encoding, hasValidity: chunk.hasValidity, nullCount: chunk.statistics.nullCount, into: &b)
                } }
            } else {
                let encoded = try typed { try stored.withUnsafeBytes { raw in try chunk.codec.decompress(raw, uncompressedSize: chunk.encodedBytes) } }
                try typed { try encoded.withUnsafeBytes { raw in
                    try ChunkDecoder.decode(raw, rows: rowGroups[g].rowCount, encoding: chunk.encoding, hasValidity: chunk.hasValidity, nullCount: chunk.statistics.nullCount, into: &b)
                } }
            }
        } catch {
            var e = error
            let inner = e.offset.map { " (decoded byte \($0))" } ?? ""
            e.message = "\(what) (\(chunk.encoding), \(chunk.codec)): \(e.message)\(inner)"
            e.path = path
            e.offset = chunk.offset
            throw e
        }
    }

    /// The stored bytes of one chunk, after checking their CRC.
    func readVerifiedChunk(group g: Int, column c: Int) throws(LambdaStoreError) -> [UInt8] {
        let chunk = rowGroups[g].chunks[c]
        let stored: [UInt8]
        switch source {
        case .handle(let h):
            stored = try h.read(count: chunk.storedBytes, at: chunk.offset)
        case .reopen(let fs):
            let h = try fs.open(path, mode: .read)
            defer { try? h.close() }
            stored = try h.read(count: chunk.storedBytes, at: chunk.offset)
        }
        let what = "column '\(columns[c].name)' row group \(g)"
        guard stored.count == chunk.storedBytes else {
            throw .corruption("\(what): chunk cut short (\(stored.count) of \(chunk.storedBytes) bytes)", path: path, offset: chunk.offset)
        }
        let computed = CRC32C.checksum(stored)
        guard computed == chunk.crc32c else {
            throw .checksumMismatch(stored: chunk.crc32c, computed: computed, what: "\(what) chunk", path: path, offset: chunk.offset)
        }
        return stored
    }
}

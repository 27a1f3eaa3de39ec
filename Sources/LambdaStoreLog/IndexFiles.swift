import LambdaStoreCore

/// Reading, checking and writing the `.index` / `.timeindex` pair of one segment
/// (format-spec.md §2.4–§2.5). Both files are derived data: they are never trusted past the
/// segment's valid end and are rebuilt from the segment when missing or damaged.
enum IndexFiles {
    /// The two file images for `entries`.
    static func encode(_ entries: [IndexEntry], segmentBase: Int64) -> (index: [UInt8], timeIndex: [UInt8]) {
        var ix = ByteWriter(capacity: LogFormat.indexHeaderSize + entries.count * LogFormat.indexEntrySize)
        var tx = ByteWriter(capacity: LogFormat.indexHeaderSize + entries.count * LogFormat.timeIndexEntrySize)
        IndexFileHeader.forIndex(segmentBase).encode(into: &ix)
        IndexFileHeader.forTimeIndex(segmentBase).encode(into: &tx)
        for e in entries {
            e.encodeIndex(into: &ix)
            e.encodeTimeIndex(into: &tx)
        }
        return (ix.bytes, tx.bytes)
    }

    /// What loading an index pair found.
    struct Loaded {
        /// The entries both files agree on, in order (a valid prefix).
        var entries: [IndexEntry] = []
        /// A file is absent.
        var missing: [String] = []
        /// Damage that is not explained by a lagging or torn tail: (file, offset, message).
        var damage: [(file: String, offset: Int64, message: String)] = []
        /// Whether the loaded entries are usable as they are (nothing missing or damaged).
        var isIntact: Bool { missing.isEmpty && damage.isEmpty }
    }

    /// Loads both files of the segment at `segmentPath` (paths with the suffix replaced);
    /// `relSegment` is the name used in messages. `segmentSize` bounds the file sizes.
    static func load(fs: any FileSystem, segmentPath: String, relSegment: String, segmentBase: Int64, segmentSize: Int64) -> Loaded {
        var out = Loaded()
        let stem = String(segmentPath.dropLast(LogFormat.segmentSuffix.count))
        let relStem = String(relSegment.dropLast(LogFormat.segmentSuffix.count))
        let maxEntries = Int(max(0, segmentSize) / Int64(LogFormat.batchHeaderSize)) + 1
        let ix = loadOne(fs: fs, path: stem + LogFormat.indexSuffix, rel: relStem + LogFormat.indexSuffix,
                         header: .forIndex(segmentBase), maxEntries: maxEntries, into: &out) { IndexEntry.decodeIndex($0) }
        let tx = loadOne(fs: fs, path: stem + LogFormat.timeIndexSuffix, rel: relStem + LogFormat.timeIndexSuffix,
                         header: .forTimeIndex(segmentBase), maxEntries: maxEntries, into: &out) { IndexEntry.decodeTimeIndex($0) }
        let n = min(ix.count, tx.count)
        out.entries.reserveCapacity(n)
        for i in 0..<n {
            var e = ix[i]
            guard tx[i].position == e.position else {
                out.damage.append((relStem + LogFormat.timeIndexSuffix,
                                   Int64(LogFormat.indexHeaderSize + i * LogFormat.timeIndexEntrySize),
                                   "time index entry \(i) names position \(tx[i].position), index says \(e.position)"))
                break
            }
            e.eventTimeRange = tx[i].range
            out.entries.append(e)
        }
        return out
    }

    private static func loadOne<E>(fs: any FileSystem, path: String, rel: String, header: IndexFileHeader, maxEntries: Int,
                                   into out: inout Loaded, decode: (UnsafeRawBufferPointer) -> E?) -> [E] {
        guard fs.exists(path) else { out.missing.append(rel); return [] }
        let limit = LogFormat.indexHeaderSize + maxEntries * header.entrySize
        let bytes: [UInt8]
        do { bytes = try fs.readFile(path, limit: limit) } catch {
            out.damage.append((rel, 0, error.message))
            return []
        }
        return bytes.withUnsafeBytes { b -> [E] in
            switch IndexFileHeader.decode(b) {
            case .failure(let p):
                out.damage.append((rel, p.offset, p.message))
                return []
            case .success(let h):
                guard h == header else {
                    out.damage.append((rel, 0, "index header describes another file (magic \(hex32(h.magic)), entry size \(h.entrySize), base \(h.segmentBaseOffset))"))
                    return []
                }
            }
            var entries: [E] = []
            var p = LogFormat.indexHeaderSize
            while p + header.entrySize <= b.count {
                let slice = UnsafeRawBufferPointer(rebasing: b[p..<(p + header.entrySize)])
                if let e = decode(slice) {
                    entries.append(e)
                } else {
                    // A lagging index after a crash ends in zeros or a torn entry; a full entry
                    // with non-zero bytes that fails its check is damage.
                    if !UnsafeRawBufferPointer(rebasing: b[p...]).allSatisfy({ $0 == 0 }) {
                        out.damage.append((rel, Int64(p), "index entry \(entries.count) fails its checksum"))
                    }
                    return entries
                }
                p += header.entrySize
            }
            return entries
        }
    }

    /// Checks loaded entries against the structure every segment has: contiguous from the
    /// file header, dense offsets from `segmentBase`, inside `validEnd`. Returns the longest
    /// prefix that satisfies it and a message for the first entry that does not, if any.
    static func consistentPrefix(_ entries: [IndexEntry], segmentBase: Int64, validEnd: Int64) -> (count: Int, problem: String?) {
        var pos = Int64(LogFormat.segmentHeaderSize)
        var off = segmentBase
        for (i, e) in entries.enumerated() {
            if e.position != pos || e.baseOffset != off || e.recordCount < 1 || e.recordCount > Limits.batchRecordsMax
                || e.storedLength > Limits.batchBytesMax || e.uncompressedLength > Limits.batchBytesMax || e.schemaVersion < 1 {
                return (i, "entry \(i) (offset \(e.baseOffset) at \(e.position)) does not follow entry \(i - 1)")
            }
            if e.endPosition > validEnd { return (i, nil) }   // past the valid end: never trusted
            pos = e.endPosition
            off = e.endOffset
        }
        return (entries.count, nil)
    }

    /// Writes both files atomically (used when rebuilding).
    static func write(fs: any FileSystem, segmentPath: String, entries: [IndexEntry], segmentBase: Int64) throws(LambdaStoreError) {
        let stem = String(segmentPath.dropLast(LogFormat.segmentSuffix.count))
        let (ix, tx) = encode(entries, segmentBase: segmentBase)
        try fs.writeFileAtomically(stem + LogFormat.indexSuffix, ix)
        try fs.writeFileAtomically(stem + LogFormat.timeIndexSuffix, tx)
    }
}

/// Appends entries to the index pair of the active segment. Index writes are not synced on
/// each append (the files are derived); a failed write only marks the pair stale, so it is
/// rebuilt on the next open.
///
/// Thread safety: a value owned by the stream's writer state (under its lock).
struct IndexAppender: Sendable {
    let index: any FileHandle
    let timeIndex: any FileHandle
    private var indexSize: Int64
    private var timeIndexSize: Int64
    private(set) var isStale = false
    private var scratch = ByteWriter(capacity: 128)

    /// Opens the pair for appending after `entryCount` entries (the files must hold exactly
    /// the header and those entries).
    init(index: any FileHandle, timeIndex: any FileHandle, entryCount: Int) {
        self.index = index
        self.timeIndex = timeIndex
        indexSize = Int64(LogFormat.indexHeaderSize + entryCount * LogFormat.indexEntrySize)
        timeIndexSize = Int64(LogFormat.indexHeaderSize + entryCount * LogFormat.timeIndexEntrySize)
    }

    /// Creates both files empty (header only) for a new segment.
    static func create(fs: any FileSystem, segmentPath: String, segmentBase: Int64) throws(LambdaStoreError) -> IndexAppender {
        let stem = String(segmentPath.dropLast(LogFormat.segmentSuffix.count))
        let (ix, tx) = IndexFiles.encode([], segmentBase: segmentBase)
        let i = try fs.open(stem + LogFormat.indexSuffix, mode: .truncate)
        let t = try fs.open(stem + LogFormat.timeIndexSuffix, mode: .truncate)
        try i.write(ix, at: 0)
        try t.write(tx, at: 0)
        return IndexAppender(index: i, timeIndex: t, entryCount: 0)
    }

    /// Opens existing files that hold exactly `entryCount` entries.
    static func open(fs: any FileSystem, segmentPath: String, entryCount: Int) throws(LambdaStoreError) -> IndexAppender {
        let stem = String(segmentPath.dropLast(LogFormat.segmentSuffix.count))
        let a = IndexAppender(index: try fs.open(stem + LogFormat.indexSuffix, mode: .readWrite),
                              timeIndex: try fs.open(stem + LogFormat.timeIndexSuffix, mode: .readWrite), entryCount: entryCount)
        // Drop a torn or zero tail left by a crash, so appends continue a clean file.
        if try a.index.size() != a.indexSize { try a.index.truncate(to: a.indexSize) }
        if try a.timeIndex.size() != a.timeIndexSize { try a.timeIndex.truncate(to: a.timeIndexSize) }
        return a
    }

    /// Appends one entry to each file.
    mutating func append(_ e: IndexEntry) {
        guard !isStale else { return }
        do throws(LambdaStoreError) {
            scratch.bytes.removeAll(keepingCapacity: true)
            e.encodeIndex(into: &scratch)
            try index.write(scratch.bytes, at: indexSize)
            indexSize += Int64(scratch.count)
            scratch.bytes.removeAll(keepingCapacity: true)
            e.encodeTimeIndex(into: &scratch)
            try timeIndex.write(scratch.bytes, at: timeIndexSize)
            timeIndexSize += Int64(scratch.count)
        } catch {
            isStale = true
        }
    }

    /// Flushes both files (at a segment roll) and closes them.
    func syncAndClose() {
        if !isStale {
            try? index.sync()
            try? timeIndex.sync()
        }
        close()
    }

    /// Closes both files.
    func close() {
        try? index.close()
        try? timeIndex.close()
    }
}

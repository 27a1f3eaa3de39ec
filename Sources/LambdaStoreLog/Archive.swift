import LambdaStoreCore
import LambdaStoreParquet

/// One row group of an archive file, as the archive manifest records it: enough to plan reads
/// (offsets, event-time range) without opening the file.
public struct ArchiveRowGroup: Sendable, Equatable {
    /// Offset of the first record.
    public var firstOffset: Int64
    /// Records in the row group (offsets `firstOffset ..< firstOffset + rows`).
    public var rows: Int
    /// Smallest non-null event time (nil when all are null).
    public var minEventTime: Int64?
    /// Largest non-null event time (nil when all are null).
    public var maxEventTime: Int64?
    /// Compressed bytes of its column chunks.
    public var bytes: Int64

    /// One past the last offset.
    public var endOffset: Int64 { firstOffset + Int64(rows) }
}

/// One Parquet file of a stream's archive (`archive/<stream>/<20-digit first offset>.parquet`):
/// consecutive records of one schema version, copied from one sealed segment.
public struct ArchivedFile: Sendable, Equatable {
    /// The file name.
    public var name: String
    /// The schema version of every record in it.
    public var schemaVersion: UInt32
    /// The base offset of the segment it was copied from.
    public var segment: Int64
    /// The file's size.
    public var bytes: Int64
    /// CRC32C of the whole file.
    public var crc32c: UInt32
    /// An upper bound of the newest append among its records (the creation time of the
    /// segment after its source segment), epoch ms.
    public var newestAppendMillis: Int64
    /// When it was archived, epoch ms.
    public var archivedAtMillis: Int64
    /// Its row groups, in offset order, contiguous.
    public var rowGroups: [ArchiveRowGroup]

    /// Offset of the first record.
    public var firstOffset: Int64 { rowGroups.first?.firstOffset ?? 0 }
    /// One past the last offset.
    public var endOffset: Int64 { rowGroups.last?.endOffset ?? firstOffset }
    /// Records in the file.
    public var records: Int64 { endOffset - firstOffset }

    /// The file name for a first offset.
    public static func fileName(firstOffset: Int64) -> String { LogFormat.fileStem(baseOffset: firstOffset) + ".parquet" }
}

/// The archive manifest `archive/<stream>/MANIFEST` (format-spec.md §8.2): the archive files
/// in offset order and the earliest replayable offset, in the checksummed metadata container
/// (kind `ARCHIVE`). Published atomically; a file not listed is not part of the archive.
public struct ArchiveManifest: Sendable, Equatable {
    /// The file name.
    public static let fileName = "MANIFEST"
    /// The metadata-container kind.
    public static let kind = "ARCHIVE"
    /// Most files one manifest lists.
    public static let filesMax = 100_000

    /// The stream.
    public var stream: String
    /// Bumped by every publish.
    public var generation: UInt64 = 0
    /// The archive files, in offset order, contiguous.
    public var files: [ArchivedFile] = []
    /// The first offset of the history still kept: history below it was dropped behind base
    /// checkpoints (0 when nothing was dropped).
    public var earliestReplayableOffset: Int64 = 0
    /// When history was last dropped (nil: never).
    public var droppedAtMillis: Int64? = nil

    /// An empty manifest.
    public init(stream: String) { self.stream = stream }

    /// One past the last archived offset (``earliestReplayableOffset`` when nothing is archived).
    public var endOffset: Int64 { files.last?.endOffset ?? earliestReplayableOffset }

    /// The JSON payload.
    public func encoded() -> [UInt8] {
        func opt(_ v: Int64?) -> JSONValue { v.map { .int($0) } ?? .null }
        let j: JSONValue = .object([
            JSONMember("stream", .string(stream)),
            JSONMember("generation", .string(String(generation))),
            JSONMember("earliestReplayableOffset", .int(earliestReplayableOffset)),
            JSONMember("droppedAt", opt(droppedAtMillis)),
            JSONMember("files", .array(files.map { f in
                .object([
                    JSONMember("name", .string(f.name)),
                    JSONMember("schemaVersion", .int(Int64(f.schemaVersion))),
                    JSONMember("segment", .int(f.segment)),
                    JSONMember("bytes", .int(f.bytes)),
                    JSONMember("crc32c", .int(Int64(f.crc32c))),
                    JSONMember("newestAppend", .int(f.newestAppendMillis)),
                    JSONMember("archivedAt", .int(f.archivedAtMillis)),
                    JSONMember("rowGroups", .array(f.rowGroups.map { g in
                        .array([.int(g.firstOffset), .int(Int64(g.rows)), opt(g.minEventTime), opt(g.maxEventTime), .int(g.bytes)])
                    })),
                ])
            })),
        ])
        return MetadataFile.encode(kind: Self.kind, payload: Array(j.serialized().utf8))
    }

    /// Decodes and checks a manifest: container CRC, every field's type and range, files named
    /// by their first offset, contiguous and non-overlapping, row groups contiguous and
    /// non-empty, event-time ranges ordered.
    /// - Throws: `.corruption` naming `path`.
    public init(decoding bytes: [UInt8], path: String) throws(LambdaStoreError) {
        let payload = try MetadataFile.decode(bytes, kind: Self.kind, path: path)
        let j = try JSONValue.parse(payload)
        func bad(_ why: String) -> LambdaStoreError { .corruption("archive manifest: " + why, path: path, offset: nil) }
        func int(_ v: JSONValue?, _ what: String, min: Int64 = 0) throws(LambdaStoreError) -> Int64 {
            guard let i = v?.int64Value, i >= min else { throw bad("\(what) is not an integer ≥ \(min)") }
            return i
        }
        func optInt(_ v: JSONValue?, _ what: String) throws(LambdaStoreError) -> Int64? {
            guard let v, !v.isNull else { return nil }
            guard let i = v.int64Value else { throw bad("\(what) is not an integer") }
            return i
        }
        guard let s = j["stream"]?.stringValue else { throw bad("no stream") }
        stream = s
        guard let g = j["generation"]?.stringValue, let gen = UInt64(g) else { throw bad("bad generation") }
        generation = gen
        earliestReplayableOffset = try int(j["earliestReplayableOffset"], "earliestReplayableOffset")
        droppedAtMillis = try optInt(j["droppedAt"], "droppedAt")
        guard let list = j["files"]?.arrayValue else { throw bad("no file list") }
        guard list.count <= Self.filesMax else { throw bad("\(list.count) files, more than \(Self.filesMax)") }
        var files: [ArchivedFile] = []
        files.reserveCapacity(list.count)
        var expected: Int64? = nil
        for (i, f) in list.enumerated() {
            let what = "file \(i)"
            guard let name = f["name"]?.stringValue else { throw bad("\(what) has no name") }
            let version = try int(f["schemaVersion"], "\(what) schemaVersion", min: 1)
            guard version <= Int64(UInt32.max) else { throw bad("\(what) schemaVersion out of range") }
            let crc = try int(f["crc32c"], "\(what) crc32c")
            guard crc <= Int64(UInt32.max) else { throw bad("\(what) crc32c out of range") }
            guard let groups = f["rowGroups"]?.arrayValue, !groups.isEmpty, groups.count <= 1 << 20 else { throw bad("\(what) has no row groups") }
            var rgs: [ArchiveRowGroup] = []
            rgs.reserveCapacity(groups.count)
            for (k, g) in groups.enumerated() {
                guard let a = g.arrayValue, a.count == 5 else { throw bad("\(what) row group \(k) is not [first, rows, min, max, bytes]") }
                let first = try int(a[0], "\(what) row group \(k) first offset")
                let rows = try int(a[1], "\(what) row group \(k) rows", min: 1)
                guard rows <= Int64(Limits.batchRecordsMax) * 64, first <= Int64.max - rows else { throw bad("\(what) row group \(k) rows out of range") }
                let lo = try optInt(a[2], "\(what) row group \(k) min event time"), hi = try optInt(a[3], "\(what) row group \(k) max event time")
                guard (lo == nil) == (hi == nil), (lo ?? 0) <= (hi ?? 0) else { throw bad("\(what) row group \(k) event-time range is inconsistent") }
                if let e = rgs.last?.endOffset, e != first { throw bad("\(what) row group \(k) starts at \(first), the previous ends at \(e)") }
                rgs.append(ArchiveRowGroup(firstOffset: first, rows: Int(rows), minEventTime: lo, maxEventTime: hi, bytes: try int(a[4], "\(what) row group \(k) bytes")))
            }
            let file = ArchivedFile(name: name, schemaVersion: UInt32(version), segment: try int(f["segment"], "\(what) segment"),
                                    bytes: try int(f["bytes"], "\(what) bytes"), crc32c: UInt32(crc),
                                    newestAppendMillis: try int(f["newestAppend"], "\(what) newestAppend", min: .min),
                                    archivedAtMillis: try int(f["archivedAt"], "\(what) archivedAt", min: .min), rowGroups: rgs)
            guard name == ArchivedFile.fileName(firstOffset: file.firstOffset) else { throw bad("\(what) is named '\(name)' but starts at offset \(file.firstOffset)") }
            guard file.segment <= file.firstOffset else { throw bad("\(what) comes from segment \(file.segment), after its first offset") }
            if let e = expected, e != file.firstOffset { throw bad("\(what) starts at offset \(file.firstOffset), the previous file ends at \(e)") }
            if expected == nil, file.firstOffset != earliestReplayableOffset {
                throw bad("the first file starts at offset \(file.firstOffset), the earliest replayable offset is \(earliestReplayableOffset)")
            }
            expected = file.endOffset
            files.append(file)
        }
        self.files = files
    }

    /// Loads `archive/<stream>/MANIFEST` under `root`, nil when there is none.
    public static func load(fs: any FileSystem, root: String, stream: String) throws(LambdaStoreError) -> ArchiveManifest? {
        let rel = "archive/\(stream)/\(fileName)"
        let path = Path.join(root, rel)
        guard fs.exists(path) else { return nil }
        let m = try ArchiveManifest(decoding: try fs.readFile(path, limit: Limits.metadataBytesMax), path: rel)
        guard m.stream == stream else { throw LambdaStoreError.corruption("archive manifest is for stream '\(m.stream)'", path: rel, offset: nil) }
        return m
    }

    /// The archive file holding `offset`, if any.
    public func file(containing offset: Int64) -> ArchivedFile? {
        var lo = 0, hi = files.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if files[mid].endOffset <= offset { lo = mid + 1 } else { hi = mid }
        }
        guard lo < files.count, files[lo].firstOffset <= offset else { return nil }
        return files[lo]
    }
}

extension ArchivedFile {
    /// Checks this manifest entry against the file's own footer (read from its tail, not the
    /// whole file): size, row-group count and rows, the `_offset` range, and the event-time
    /// column's min/max statistics. Runs plan their reads by the manifest's ranges without
    /// reading the row groups they skip, so a manifest whose ranges (under a valid CRC) disagree
    /// with the file must not be trusted.
    /// - Throws: `.corruption` naming the file; `.notFound`/`.io`.
    public func checkFooter(fs: any FileSystem, root: String, stream: String, schema: Schema) throws(LambdaStoreError) {
        let rel = "archive/\(stream)/\(name)"
        let h = try fs.open(Path.join(root, rel), mode: .read)
        defer { try? h.close() }
        let size = try h.size()
        guard size == bytes else {
            throw LambdaStoreError.corruption("archive file is \(size) bytes, the manifest says \(bytes)", path: rel, offset: nil)
        }
        guard size >= 12 else { throw LambdaStoreError.corruption("archive file of \(size) bytes", path: rel, offset: nil) }
        var want = Int(Swift.min(size, 8 << 10))   // our footers are a few KiB; a longer one is read again whole
        var parsed: ParquetFileReader? = nil
        while parsed == nil {
            let tail = try h.read(count: want, at: size - Int64(want))
            do throws(LambdaStoreError) {
                parsed = try ParquetFileReader(tail: tail, fileSize: Int(size), path: rel)
            } catch where error.code == .invalidArgument && want < Int(size) {
                // The footer is longer than the tail read: its length is in the last 8 bytes.
                let n = tail.count
                let footer = Int(UInt32(tail[n - 8]) | UInt32(tail[n - 7]) << 8 | UInt32(tail[n - 6]) << 16 | UInt32(tail[n - 5]) << 24)
                let next = Swift.min(Int(size), footer + 8)
                guard next > want else { throw error }
                want = next
            }
        }
        guard let p = parsed else { return }
        guard p.rowGroups.count == rowGroups.count else {
            throw LambdaStoreError.corruption("archive file has \(p.rowGroups.count) row groups, the manifest lists \(rowGroups.count)", path: rel, offset: nil)
        }
        let et = schema.eventTimeIndex
        for (i, g) in p.rowGroups.enumerated() {
            let m = rowGroups[i]
            let times = et < g.intRanges.count ? g.intRanges[et] : nil
            guard g.rows == m.rows, g.firstOffset == m.firstOffset, g.lastOffset == m.endOffset - 1,
                  times?.min == m.minEventTime, times?.max == m.maxEventTime else {
                throw LambdaStoreError.corruption(
                    "row group \(i): the footer says \(g.rows) rows at offsets \(g.firstOffset)...\(g.lastOffset), event times \(times.map { "\($0.min)...\($0.max)" } ?? "none"); the manifest says \(m.rows) rows from \(m.firstOffset), event times \(m.minEventTime.map { "\($0)" } ?? "none")...\(m.maxEventTime.map { "\($0)" } ?? "none")",
                    path: rel, offset: nil)
            }
        }
    }
}

/// An archive file read whole and checked against its manifest entry: CRC32C of every byte,
/// then the Parquet footer; row groups are decoded on demand.
public struct ArchiveFileReader: Sendable {
    /// The manifest entry.
    public let file: ArchivedFile
    /// The stored schema version's schema.
    public let schema: Schema
    /// The parsed file.
    public let parquet: ParquetFileReader
    let relPath: String

    /// Reads and checks `file` of `stream`.
    /// - Throws: `.corruption` naming the file (size, checksum, footer, a row group that
    ///   disagrees with the manifest); `.notFound`; `.io`.
    public init(fs: any FileSystem, root: String, stream: String, file: ArchivedFile, schema: Schema) throws(LambdaStoreError) {
        let rel = "archive/\(stream)/\(file.name)"
        guard file.bytes >= 0, file.bytes <= 1 << 36 else { throw LambdaStoreError.corruption("archive file size \(file.bytes) is out of range", path: rel, offset: nil) }
        let bytes = try fs.readFile(Path.join(root, rel), limit: Int(file.bytes) + 1)
        guard bytes.count == Int(file.bytes) else {
            throw LambdaStoreError.corruption("archive file is \(bytes.count) bytes, the manifest says \(file.bytes)", path: rel, offset: Int64(bytes.count))
        }
        let crc = bytes.withUnsafeBytes { CRC32C.checksum($0) }
        guard crc == file.crc32c else {
            throw LambdaStoreError.checksumMismatch(stored: file.crc32c, computed: crc, what: "archive file", path: rel, offset: 0)
        }
        let p = try ParquetFileReader(bytes: bytes, path: rel)
        guard p.rowGroups.count == file.rowGroups.count else {
            throw LambdaStoreError.corruption("archive file has \(p.rowGroups.count) row groups, the manifest lists \(file.rowGroups.count)", path: rel, offset: nil)
        }
        for (i, g) in p.rowGroups.enumerated() {
            guard g.rows == file.rowGroups[i].rows else {
                throw LambdaStoreError.corruption("row group \(i) has \(g.rows) rows, the manifest says \(file.rowGroups[i].rows)", path: rel, offset: nil)
            }
            guard g.compressedBytes == file.rowGroups[i].bytes else {
                throw LambdaStoreError.corruption("row group \(i) is \(g.compressedBytes) bytes, the manifest says \(file.rowGroups[i].bytes)", path: rel, offset: nil)
            }
        }
        self.file = file
        self.schema = schema
        self.parquet = p
        self.relPath = rel
    }

    /// Decodes row group `index` (stored schema, not projected), checking its `_offset` column
    /// (dense, from the manifest's first offset) and its event-time range against the manifest.
    ///
    /// With `fields`, only those fields (by name) and the event time are decoded; the others
    /// are placeholders (see `ParquetFileReader.readRowGroup(_:schema:keepDictionaries:only:)`).
    public func readRowGroup(_ index: Int, keepDictionaries: Bool, fields: Set<String>? = nil) throws(LambdaStoreError) -> ColumnBatch {
        guard index >= 0, index < file.rowGroups.count else {
            throw LambdaStoreError(.notFound, "no row group \(index)", path: relPath)
        }
        let g = file.rowGroups[index]
        let only: Set<Int>? = fields.map { names in
            var s = Set(schema.fields.indices.filter { names.contains(schema.fields[$0].name) })
            s.insert(schema.eventTimeIndex)
            return s
        }
        let (batch, offsets) = try parquet.readRowGroup(index, schema: schema, keepDictionaries: keepDictionaries, only: only)
        guard batch.count == g.rows, offsets.count == g.rows else {
            throw LambdaStoreError.corruption("row group \(index) holds \(batch.count) records, the manifest says \(g.rows)", path: relPath, offset: nil)
        }
        var expected = g.firstOffset
        for o in offsets {
            guard o == expected else {
                throw LambdaStoreError.corruption("row group \(index): _offset \(o) where \(expected) was expected", path: relPath, offset: nil)
            }
            expected &+= 1
        }
        let times = batch.range(ofColumn: schema.eventTimeIndex)
        guard times?.min == g.minEventTime, times?.max == g.maxEventTime else {
            throw LambdaStoreError.corruption("row group \(index): event times \(times.map { "\($0.min)...\($0.max)" } ?? "none") differ from the manifest's", path: relPath, offset: nil)
        }
        return batch
    }
}

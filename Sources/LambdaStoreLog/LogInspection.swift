import LambdaStoreCore

/// One record batch as `dump segment` shows it.
public struct BatchDump: Sendable, Equatable {
    /// File position of the batch header.
    public var position: Int64
    /// Offset of the first record.
    public var baseOffset: Int64
    /// Number of records.
    public var count: Int
    /// Event-time range (nil when every record's event time is null).
    public var minEventTime: Int64?
    /// Largest event time (nil when none).
    public var maxEventTime: Int64?
    /// Schema version it was written under.
    public var schemaVersion: UInt32
    /// Codec of the stored payload.
    public var codec: Codec
    /// Bytes the batch takes in the file: header (56) plus stored payload.
    public var bytes: Int
    /// Payload bytes before compression.
    public var uncompressedBytes: Int
    /// Whether the payload CRC matched (the header's own CRC always did, or the walk stopped).
    public var checksumOk: Bool
    /// The records as stored (fields in the order of `schemaVersion`), when asked for and decodable.
    public var records: [[Value]]?
    /// Why `records` is nil although they were asked for.
    public var recordsError: String?
}

/// The structure of one segment file, as `dump segment` shows it (format-spec.md §2.2).
public struct SegmentDump: Sendable, Equatable {
    /// The file, as given.
    public var file: String
    /// The format version in the file header (0 when the header is unreadable).
    public var formatVersion: Int
    /// Base offset and creation time from the file header.
    public var baseOffset: Int64
    /// Creation time from the file header, epoch ms.
    public var createdAtMillis: Int64
    /// File size and the end of the last batch that was walked.
    public var fileBytes: Int64
    /// End of the last batch walked.
    public var validBytes: Int64
    /// Every batch whose header is valid, in file order.
    public var batches: [BatchDump]
    /// What follows the last batch when the file ends in a torn tail.
    public var tail: SegmentTail
    /// The damage that stopped the walk (a bad file or batch header), with its offset.
    public var problem: LambdaStoreError?
}

/// One entry of an index or time index file.
public struct IndexEntryDump: Sendable, Equatable {
    /// File position of the entry in the index file.
    public var entryPosition: Int64
    /// Position of the batch in its segment.
    public var position: Int64
    /// `.index` fields (nil in a time index).
    public var baseOffset: Int64?
    /// Record count.
    public var count: Int?
    /// Stored payload bytes.
    public var storedBytes: Int?
    /// Uncompressed payload bytes.
    public var uncompressedBytes: Int?
    /// Schema version.
    public var schemaVersion: UInt32?
    /// Codec.
    public var codec: Codec?
    /// `.timeindex` fields (nil in an offset index, and when the batch has no event time).
    public var minEventTime: Int64?
    /// Largest event time (nil when none).
    public var maxEventTime: Int64?
    /// Whether the entry's CRC matched (other fields are zero/nil when it did not).
    public var checksumOk: Bool
}

/// The structure of one `.index` or `.timeindex` file (format-spec.md §2.4–§2.5).
public struct IndexDump: Sendable, Equatable {
    /// The file, as given.
    public var file: String
    /// `index` or `timeindex`.
    public var kind: String
    /// Format version in the file header.
    public var formatVersion: Int
    /// Base offset of the segment it indexes.
    public var segmentBaseOffset: Int64
    /// Every complete entry, in file order.
    public var entries: [IndexEntryDump]
    /// Damage to the header, or a torn last entry, with its offset.
    public var problem: String?
    /// Where `problem` is in the file.
    public var problemOffset: Int64?
}

/// Read-only inspection of log files: the library side of `lambdastore dump` and `verify`.
///
/// Thread safety: stateless; every function may run concurrently with a writer (it then may
/// see an incomplete tail being written).
public enum LogInspector {
    /// Walks a segment file and describes every batch; never modifies anything.
    ///
    /// The walk continues past a payload whose CRC fails (`checksumOk == false`) and stops at
    /// a header that fails its checks (``SegmentDump/problem``). With `includeRecords`, each
    /// intact batch is decoded with the schema history (`schemas`, or the `schema` file beside
    /// the segment).
    /// - Throws: `.notFound` / `.io` when the file cannot be read.
    /// - Complexity: O(file size).
    public static func dumpSegment(path: String, fs: any FileSystem = PosixFileSystem(), schemas: SchemaHistory? = nil,
                                   includeRecords: Bool = false) throws(LambdaStoreError) -> SegmentDump {
        let h = try fs.open(path, mode: .read)
        defer { try? h.close() }
        var history = schemas
        if includeRecords, history == nil {
            history = try? SchemaHistory(decoding: fs.readFile(Path.join(Path.parent(of: path), LogFormat.schemaFileName), limit: Limits.metadataBytesMax))
        }
        return try dump(handle: h, file: path, schemas: history, includeRecords: includeRecords)
    }

    /// ``dumpSegment(path:fs:schemas:includeRecords:)`` over bytes in memory.
    public static func dumpSegment(bytes: [UInt8], file: String = "segment", schemas: SchemaHistory? = nil,
                                   includeRecords: Bool = false) throws(LambdaStoreError) -> SegmentDump {
        try dump(handle: MemoryFileHandle(bytes: bytes, path: file), file: file, schemas: schemas, includeRecords: includeRecords)
    }

    static func dump(handle h: any FileHandle, file: String, schemas: SchemaHistory?, includeRecords: Bool) throws(LambdaStoreError) -> SegmentDump {
        let size = try h.size()
        let head = try h.read(count: LogFormat.segmentHeaderSize, at: 0)
        var out = SegmentDump(file: file, formatVersion: head.count >= 6 ? Int(UInt16(head[4]) | UInt16(head[5]) << 8) : 0,
                              baseOffset: 0, createdAtMillis: 0, fileBytes: size, validBytes: 0, batches: [], tail: .clean, problem: nil)
        var scanner: SegmentScanner
        do throws(LambdaStoreError) {
            scanner = try SegmentScanner(handle: h, path: file, checkPayloads: true)
        } catch {
            out.problem = error
            return out
        }
        out.baseOffset = scanner.header.baseOffset
        out.createdAtMillis = scanner.header.createdAtMillis
        out.validBytes = Int64(LogFormat.segmentHeaderSize)
        var scratch = ReadScratch()
        walk: while true {
            switch try scanner.next() {
            case .batch(let hd, let p, let ok):
                var b = BatchDump(position: p, baseOffset: hd.baseOffset, count: hd.recordCount, minEventTime: hd.eventTimeRange?.lowerBound,
                                  maxEventTime: hd.eventTimeRange?.upperBound, schemaVersion: hd.schemaVersion, codec: hd.codec,
                                  bytes: hd.totalLength, uncompressedBytes: hd.uncompressedLength, checksumOk: ok)
                if includeRecords {
                    if !ok {
                        b.recordsError = "payload checksum mismatch"
                    } else if let schema = schemas?.schema(version: hd.schemaVersion) {
                        do throws(LambdaStoreError) {
                            let seg = Segment(baseOffset: out.baseOffset, name: Path.base(of: file), path: file, relPath: file, handle: h, createdAt: out.createdAtMillis, formatVersion: scanner.header.formatVersion)
                            let batch = try StreamLog.decodeStored(seg, IndexEntry(header: hd, position: p), schema: schema, scratch: &scratch)
                            b.records = (0..<batch.count).map { r in batch.columns.map { $0.value(at: r) } }
                        } catch {
                            b.recordsError = error.description
                        }
                    } else {
                        b.recordsError = "schema version \(hd.schemaVersion) is not known"
                    }
                }
                out.batches.append(b)
                out.validBytes = p + Int64(hd.totalLength)
            case .end(let tail):
                out.tail = tail
                break walk
            case .corrupt(let e):
                out.problem = e
                break walk
            }
        }
        return out
    }

    /// Describes an `.index` or `.timeindex` file entry by entry; never modifies anything.
    /// - Throws: `.notFound` / `.io` when the file cannot be read, `.limitExceeded` beyond
    ///   ``Limits/metadataBytesMax`` × 16.
    /// - Complexity: O(file size).
    public static func dumpIndex(path: String, fs: any FileSystem = PosixFileSystem()) throws(LambdaStoreError) -> IndexDump {
        let bytes = try fs.readFile(path, limit: Limits.metadataBytesMax * 16)
        let isTime = path.hasSuffix(LogFormat.timeIndexSuffix)
        var out = IndexDump(file: path, kind: isTime ? "timeindex" : "index",
                            formatVersion: bytes.count >= 6 ? Int(UInt16(bytes[4]) | UInt16(bytes[5]) << 8) : 0,
                            segmentBaseOffset: 0, entries: [])
        bytes.withUnsafeBytes { b in
            switch IndexFileHeader.decode(b) {
            case .failure(let p):
                out.problem = p.message
                out.problemOffset = p.offset
                return
            case .success(let h):
                let expected = isTime ? LogFormat.timeIndexMagic : LogFormat.indexMagic
                let size = isTime ? LogFormat.timeIndexEntrySize : LogFormat.indexEntrySize
                guard h.magic == expected, h.entrySize == size else {
                    out.problem = "not a \(out.kind) file (magic \(hex32(h.magic)), entry size \(h.entrySize))"
                    out.problemOffset = 0
                    return
                }
                out.segmentBaseOffset = h.segmentBaseOffset
                var p = LogFormat.indexHeaderSize
                while p + size <= b.count {
                    let e = UnsafeRawBufferPointer(rebasing: b[p..<(p + size)])
                    var d = IndexEntryDump(entryPosition: Int64(p), position: 0, checksumOk: false)
                    if isTime, let t = IndexEntry.decodeTimeIndex(e) {
                        d.position = t.position
                        d.minEventTime = t.range?.lowerBound
                        d.maxEventTime = t.range?.upperBound
                        d.checksumOk = true
                    } else if !isTime, let x = IndexEntry.decodeIndex(e) {
                        d.position = x.position
                        d.baseOffset = x.baseOffset
                        d.count = x.recordCount
                        d.storedBytes = x.storedLength
                        d.uncompressedBytes = x.uncompressedLength
                        d.schemaVersion = x.schemaVersion
                        d.codec = x.codec
                        d.checksumOk = true
                    }
                    out.entries.append(d)
                    p += size
                }
                if p < b.count {
                    out.problem = "\(b.count - p) bytes of a torn last entry"
                    out.problemOffset = Int64(p)
                }
            }
        }
        return out
    }
}

// MARK: - JSON shape of the dumps (DESIGN.md: `dump segment --json`)

extension BatchDump: Encodable {
    enum CodingKeys: String, CodingKey {
        case baseOffset, count, minEventTime, maxEventTime, schemaVersion, codec, bytes, checksumOk, records
    }

    /// `{"baseOffset","count","minEventTime","maxEventTime","schemaVersion","codec","bytes","checksumOk"}`,
    /// event times `null` when absent, `codec` by name, plus `"records"` (rows of JSON scalars)
    /// when they were decoded.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(baseOffset, forKey: .baseOffset)
        try c.encode(count, forKey: .count)
        try c.encode(minEventTime, forKey: .minEventTime)
        try c.encode(maxEventTime, forKey: .maxEventTime)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(codec.description, forKey: .codec)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(checksumOk, forKey: .checksumOk)
        if let records { try c.encode(records.map { $0.map(JSONScalar.init) }, forKey: .records) }
    }
}

extension SegmentDump: Encodable {
    enum CodingKeys: String, CodingKey { case file, formatVersion, batches }

    /// `{"file","formatVersion","batches":[...]}` (see ``BatchDump``).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(file, forKey: .file)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(batches, forKey: .batches)
    }
}

extension IndexEntryDump: Encodable {
    enum CodingKeys: String, CodingKey {
        case position, baseOffset, count, storedBytes, uncompressedBytes, schemaVersion, codec, minEventTime, maxEventTime, checksumOk
    }

    /// The entry's fields (those of its index kind), `null` where unknown, and `checksumOk`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(position, forKey: .position)
        if codec != nil || baseOffset != nil {
            try c.encode(baseOffset, forKey: .baseOffset)
            try c.encode(count, forKey: .count)
            try c.encode(storedBytes, forKey: .storedBytes)
            try c.encode(uncompressedBytes, forKey: .uncompressedBytes)
            try c.encode(schemaVersion, forKey: .schemaVersion)
            try c.encode(codec?.description, forKey: .codec)
        } else {
            try c.encode(minEventTime, forKey: .minEventTime)
            try c.encode(maxEventTime, forKey: .maxEventTime)
        }
        try c.encode(checksumOk, forKey: .checksumOk)
    }
}

extension IndexDump: Encodable {
    enum CodingKeys: String, CodingKey { case file, kind, formatVersion, segmentBaseOffset, entries, problem }

    /// `{"file","kind","formatVersion","segmentBaseOffset","entries":[...],"problem"}`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(file, forKey: .file)
        try c.encode(kind, forKey: .kind)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(segmentBaseOffset, forKey: .segmentBaseOffset)
        try c.encode(entries, forKey: .entries)
        try c.encode(problem.map { p in (problemOffset.map { "@ \($0): " } ?? "") + p }, forKey: .problem)
    }
}

/// A ``Value`` as a JSON scalar: numbers, strings, booleans, `null` (timestamps as epoch ms).
struct JSONScalar: Encodable {
    let value: Value
    init(_ value: Value) { self.value = value }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch value {
        case .null: try c.encodeNil()
        case .int64(let v), .timestamp(let v): try c.encode(v)
        case .float64(let v): if v.isFinite { try c.encode(v) } else { try c.encode(String(v)) }
        case .string(let s): try c.encode(s)
        case .bool(let b): try c.encode(b)
        }
    }
}

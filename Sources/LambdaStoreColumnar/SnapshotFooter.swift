import LambdaStoreCore

/// Where one column chunk sits in a snapshot file and how it is stored (format-spec.md §4.4).
///
/// Thread safety: a value type.
public struct SnapshotChunk: Sendable, Hashable {
    /// The column's index in ``SnapshotReader/columns``.
    public var column: Int
    /// The byte offset of the stored bytes in the file.
    public var offset: Int64
    /// The stored (possibly compressed) size; the chunk CRC covers exactly these bytes.
    public var storedBytes: Int
    /// The size after decompression (validity bitmap and encoded values).
    public var encodedBytes: Int
    /// How the values are encoded.
    public var encoding: SnapshotEncoding
    /// How the encoded bytes are compressed.
    public var codec: Codec
    /// CRC32C of the stored bytes.
    public var crc32c: UInt32
    /// Null count and bounds.
    public var statistics: SnapshotStatistics

    /// Whether the encoded bytes start with a validity bitmap (exactly when there are nulls).
    public var hasValidity: Bool { statistics.nullCount > 0 }
}

/// A horizontal slice of a snapshot: a run of consecutive rows with one chunk per column.
///
/// Thread safety: a value type.
public struct SnapshotRowGroup: Sendable, Hashable {
    /// The position of this row group in the file.
    public var index: Int
    /// The file-wide row number of its first row.
    public var firstRow: Int64
    /// The number of rows.
    public var rowCount: Int
    /// One chunk per column, in column order.
    public var chunks: [SnapshotChunk]
}

/// The decoded footer of a snapshot file (format-spec.md §4.3–§4.4), and its codec.
struct SnapshotFooter {
    var columns: [SnapshotColumn]
    /// Sorted by key, bytewise.
    var metadata: [(key: String, value: String)]
    var rowCount: Int64
    var rowGroups: [SnapshotRowGroup]

    init(columns: [SnapshotColumn], metadata: [(key: String, value: String)], rowCount: Int64, rowGroups: [SnapshotRowGroup]) {
        self.columns = columns
        self.metadata = metadata
        self.rowCount = rowCount
        self.rowGroups = rowGroups
    }

    // Chunk flag bits.
    static let flagValidity: UInt8 = 1
    static let flagStatistics: UInt8 = 2
    static let flagMinCut: UInt8 = 4
    static let flagMaxCut: UInt8 = 8

    /// Metadata sorted bytewise by key (the order written).
    static func sortedMetadata(_ m: [String: String]) -> [(key: String, value: String)] {
        m.map { (key: $0.key, value: $0.value) }.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
    }

    /// The footer bytes (format-spec.md §4.3).
    func encode() -> [UInt8] {
        var w = ByteWriter()
        w.write(UInt16(columns.count))
        for c in columns {
            w.writeString16(c.name)
            w.write(c.type.rawValue)
            w.write(UInt8(c.nullable ? 1 : 0))
        }
        w.write(UInt32(metadata.count))
        for (k, v) in metadata {
            w.writeString16(k)
            w.writeString32(v)
        }
        w.write(UInt64(rowCount))
        w.write(UInt32(rowGroups.count))
        for g in rowGroups {
            w.write(UInt32(g.rowCount))
            for ch in g.chunks {
                w.write(UInt64(ch.offset))
                w.write(UInt32(ch.storedBytes))
                w.write(UInt32(ch.encodedBytes))
                w.write(ch.encoding.rawValue)
                w.write(ch.codec.rawValue)
                var flags: UInt8 = ch.hasValidity ? Self.flagValidity : 0
                if let b = ch.statistics.bounds {
                    flags |= Self.flagStatistics
                    if case .bytes(_, _, let minExact, let maxExact) = b {
                        if !minExact { flags |= Self.flagMinCut }
                        if !maxExact { flags |= Self.flagMaxCut }
                    }
                }
                w.write(flags)
                w.write(UInt32(ch.statistics.nullCount))
                w.write(ch.crc32c)
                switch ch.statistics.bounds {
                case .none: break
                case .ints(let lo, let hi)?:
                    w.write(lo)
                    w.write(hi)
                case .doubles(let lo, let hi)?:
                    w.write(lo)
                    w.write(hi)
                case .bytes(let lo, let hi, _, _)?:
                    w.write(UInt16(lo.count))
                    w.write(bytes: lo)
                    w.write(UInt16(hi.count))
                    w.write(bytes: hi)
                }
            }
        }
        return w.bytes
    }

    /// Decodes and validates a footer that starts at file offset `base`; the chunks must tile
    /// the file from the end of the header to `base` exactly.
    /// - Throws: ``LambdaStoreError/Code/corruption`` with the file offset of the bad field.
    init(decoding footer: UnsafeRawBufferPointer, base: Int64) throws(LambdaStoreError) {
        var r = ByteReader(footer, base: base)
        func fail(_ message: String, at: Int) -> LambdaStoreError {
            LambdaStoreError(.corruption, message, offset: base + Int64(at))
        }
        var at = r.position
        let columnCount = Int(try r.read(UInt16.self, "column count"))
        guard columnCount >= 1, columnCount <= Limits.fieldsMax else {
            throw fail("column count \(columnCount) outside 1…\(Limits.fieldsMax)", at: at)
        }
        var columns: [SnapshotColumn] = []
        var names = Set<String>()
        for _ in 0..<columnCount {
            at = r.position
            let name = try r.readString16("column name")
            guard !name.isEmpty, name.utf8.count <= Limits.nameBytesMax else {
                throw fail("column name of \(name.utf8.count) bytes outside 1…\(Limits.nameBytesMax)", at: at)
            }
            guard names.insert(name).inserted else { throw fail("column '\(name)' defined twice", at: at) }
            at = r.position
            let code = try r.read(UInt8.self, "column type")
            guard let type = SnapshotType(rawValue: code) else { throw fail("column '\(name)' has unknown type code \(code)", at: at) }
            at = r.position
            let flags = try r.read(UInt8.self, "column flags")
            guard flags & ~1 == 0 else { throw fail("column '\(name)' has unknown flags \(flags)", at: at) }
            columns.append(SnapshotColumn(name: name, type: type, nullable: flags & 1 != 0))
        }
        at = r.position
        let metadataCount = Int(try r.read(UInt32.self, "metadata count"))
        guard metadataCount <= r.remaining / 6 else { throw fail("metadata count \(metadataCount) exceeds the footer", at: at) }
        var metadata: [(key: String, value: String)] = []
        var previous: [UInt8]? = nil
        for _ in 0..<metadataCount {
            at = r.position
            let key = try r.readString16("metadata key")
            let k = Array(key.utf8)
            guard !k.isEmpty else { throw fail("empty metadata key", at: at) }
            if let previous, !previous.lexicographicallyPrecedes(k) {
                throw fail("metadata key '\(key)' is not after the previous key", at: at)
            }
            previous = k
            let value = try r.readString32(max: Limits.footerBytesMax, "metadata value of '\(key)'")
            metadata.append((key, value))
        }
        let totalRowsAt = r.position
        let totalRows = try r.read(UInt64.self, "row count")
        at = r.position
        let groupCount = Int(try r.read(UInt32.self, "row group count"))
        guard groupCount <= r.remaining / max(1, 4 + columnCount * 27) else {
            throw fail("row group count \(groupCount) exceeds the footer", at: at)
        }
        var groups: [SnapshotRowGroup] = []
        var expectedOffset = Int64(SnapshotFormat.headerBytes)
        var firstRow: Int64 = 0
        for g in 0..<groupCount {
            at = r.position
            let rows = Int(try r.read(UInt32.self, "row group rows"))
            guard rows <= SnapshotFormat.rowGroupRowsMax else {
                throw fail("row group \(g) has \(rows) rows (max \(SnapshotFormat.rowGroupRowsMax))", at: at)
            }
            var chunks: [SnapshotChunk] = []
            for c in 0..<columnCount {
                let col = columns[c]
                let what = "row group \(g) column '\(col.name)'"
                at = r.position
                let offset = try r.read(UInt64.self, "chunk offset")
                guard offset == UInt64(expectedOffset) else {
                    throw fail("\(what): chunk offset \(offset), expected \(expectedOffset) (chunks are contiguous)", at: at)
                }
                at = r.position
                let stored = Int(try r.read(UInt32.self, "chunk stored size"))
                let encoded = Int(try r.read(UInt32.self, "chunk encoded size"))
                guard stored <= Limits.chunkBytesMax, encoded <= Limits.chunkBytesMax else {
                    throw fail("\(what): chunk sizes \(stored)/\(encoded) exceed \(Limits.chunkBytesMax)", at: at)
                }
                at = r.position
                let encodingCode = try r.read(UInt8.self, "chunk encoding")
                guard let encoding = SnapshotEncoding(rawValue: encodingCode), col.type.encodings.contains(encoding) else {
                    throw fail("\(what): encoding code \(encodingCode) does not apply to \(col.type)", at: at)
                }
                at = r.position
                let codecCode = try r.read(UInt8.self, "chunk codec")
                guard let codec = Codec(rawValue: codecCode) else { throw fail("\(what): unknown codec \(codecCode)", at: at) }
                guard codec != .none || stored == encoded else {
                    throw fail("\(what): uncompressed chunk with stored size \(stored) != encoded size \(encoded)", at: at)
                }
                at = r.position
                let flags = try r.read(UInt8.self, "chunk flags")
                let cutFlags = Self.flagMinCut | Self.flagMaxCut
                let allowed: UInt8 = col.type == .bytes ? Self.flagValidity
                    : Self.flagValidity | Self.flagStatistics | (col.type == .string ? cutFlags : 0)
                guard flags & ~allowed == 0, flags & Self.flagStatistics != 0 || flags & cutFlags == 0 else {
                    throw fail("\(what): invalid chunk flags \(flags)", at: at)
                }
                at = r.position
                let nulls = Int(try r.read(UInt32.self, "chunk null count"))
                guard nulls <= rows, (nulls > 0) == (flags & Self.flagValidity != 0), nulls == 0 || col.nullable else {
                    throw fail("\(what): null count \(nulls) inconsistent with \(rows) rows, flags \(flags), nullable \(col.nullable)", at: at)
                }
                let crc = try r.read(UInt32.self, "chunk crc")
                var bounds: SnapshotStatistics.Bounds? = nil
                if flags & Self.flagStatistics != 0 {
                    at = r.position
                    switch col.type {
                    case .int64, .timestamp, .bool:
                        let lo = try r.read(Int64.self, "min"), hi = try r.read(Int64.self, "max")
                        guard lo <= hi, col.type != .bool || (lo >= 0 && hi <= 1) else { throw fail("\(what): statistics min \(lo) > max \(hi) or not a bool", at: at) }
                        bounds = .ints(min: lo, max: hi)
                    case .float64:
                        let lo = try r.readDouble("min"), hi = try r.readDouble("max")
                        guard !lo.isNaN, !hi.isNaN, lo <= hi else { throw fail("\(what): statistics min \(lo) > max \(hi) or NaN", at: at) }
                        bounds = .doubles(min: lo, max: hi)
                    case .string:
                        let lo = try r.readBytes(Int(try r.read(UInt16.self, "min length")), "min")
                        let hi = try r.readBytes(Int(try r.read(UInt16.self, "max length")), "max")
                        guard compareBytes(lo, hi) <= 0 else { throw fail("\(what): statistics min > max", at: at) }
                        bounds = .bytes(min: lo, max: hi, minIsExact: flags & Self.flagMinCut == 0, maxIsExact: flags & Self.flagMaxCut == 0)
                    case .bytes:
                        break
                    }
                    guard nulls < rows else { throw fail("\(what): statistics on a chunk without values", at: at) }
                }
                chunks.append(SnapshotChunk(column: c, offset: expectedOffset, storedBytes: stored, encodedBytes: encoded, encoding: encoding,
                                            codec: codec, crc32c: crc, statistics: SnapshotStatistics(nullCount: nulls, bounds: bounds)))
                expectedOffset += Int64(stored)
            }
            groups.append(SnapshotRowGroup(index: g, firstRow: firstRow, rowCount: rows, chunks: chunks))
            firstRow += Int64(rows)
        }
        guard totalRows == UInt64(firstRow) else {
            throw fail("row count \(totalRows) != \(firstRow), the sum over row groups", at: totalRowsAt)
        }
        guard r.isAtEnd else { throw fail("\(r.remaining) trailing bytes in the footer", at: r.position) }
        guard expectedOffset == base else {
            throw fail("chunks end at \(expectedOffset) but the footer starts at \(base)", at: 0)
        }
        self.columns = columns
        self.metadata = metadata
        self.rowCount = firstRow
        self.rowGroups = groups
    }
}

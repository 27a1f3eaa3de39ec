import LambdaStoreCore

/// One problem found by a `verify` function: the file, the byte offset when known, and a
/// one-line reason.
///
/// Thread safety: a value type.
public struct VerificationProblem: Sendable, Hashable, Encodable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// The byte offset in `path`, when the problem has one.
    public var offset: Int64?
    /// What is wrong, one line.
    public var message: String

    /// Creates a problem.
    public init(path: String, offset: Int64?, message: String) {
        self.path = path
        self.offset = offset
        self.message = message
    }

    init(_ error: LambdaStoreError, path: String) {
        var e = error
        e.path = nil
        e.offset = nil
        self.init(path: error.path ?? path, offset: error.offset, message: e.description)
    }

    /// `path @ offset: message`.
    public var description: String { path + (offset.map { " @ \($0)" } ?? "") + ": " + message }
}

/// The structure of a snapshot file, for `lambdastore dump snapshot` (format-spec.md §4).
///
/// Encodes to JSON as `{"file", "formatVersion", "bytes", "rows", "metadata", "columns":
/// [{"name", "type", "nullable"}], "rowGroups": [{"index", "firstRow", "rows", "chunks":
/// [{"column", "offset", "encoding", "codec", "storedBytes", "uncompressedBytes", "nullCount",
/// "min", "max", "minExact", "maxExact", "crc32c", "checksumOk"}]}]}`.
///
/// Thread safety: a value type.
public struct SnapshotDescription: Sendable, Hashable, Encodable {
    /// One column of the schema.
    public struct ColumnInfo: Sendable, Hashable, Encodable {
        /// The column name.
        public var name: String
        /// The logical type name (`int64 float64 string bool timestamp bytes`).
        public var type: String
        /// Whether nulls are allowed.
        public var nullable: Bool
    }

    /// One column chunk.
    public struct ChunkInfo: Sendable, Hashable, Encodable {
        /// The column name.
        public var column: String
        /// The file offset of the stored bytes.
        public var offset: Int64
        /// `plain dictionary bitpack delta rle`.
        public var encoding: String
        /// `none lz4 zstd`.
        public var codec: String
        /// Bytes stored in the file.
        public var storedBytes: Int
        /// Bytes after decompression (validity and encoded values).
        public var uncompressedBytes: Int
        /// Null rows in the chunk.
        public var nullCount: Int
        /// The lower bound of the non-null values, or nil.
        public var min: Value?
        /// The upper bound of the non-null values, or nil.
        public var max: Value?
        /// False when `min` is a cut prefix of the true minimum.
        public var minExact: Bool
        /// False when `max` is an incremented prefix above the true maximum.
        public var maxExact: Bool
        /// The stored CRC32C, `0x` and eight hex digits.
        public var crc32c: String
        /// Whether the stored bytes match `crc32c`.
        public var checksumOk: Bool

        enum CodingKeys: String, CodingKey {
            case column, offset, encoding, codec, storedBytes, uncompressedBytes, nullCount, min, max, minExact, maxExact, crc32c, checksumOk
        }

        /// Encodes every field; `min`/`max` as JSON numbers, strings, booleans or null.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(column, forKey: .column)
            try c.encode(offset, forKey: .offset)
            try c.encode(encoding, forKey: .encoding)
            try c.encode(codec, forKey: .codec)
            try c.encode(storedBytes, forKey: .storedBytes)
            try c.encode(uncompressedBytes, forKey: .uncompressedBytes)
            try c.encode(nullCount, forKey: .nullCount)
            try Self.encode(min, in: &c, forKey: .min)
            try Self.encode(max, in: &c, forKey: .max)
            try c.encode(minExact, forKey: .minExact)
            try c.encode(maxExact, forKey: .maxExact)
            try c.encode(crc32c, forKey: .crc32c)
            try c.encode(checksumOk, forKey: .checksumOk)
        }

        static func encode(_ v: Value?, in c: inout KeyedEncodingContainer<CodingKeys>, forKey key: CodingKeys) throws {
            switch v {
            case .none, .null?: try c.encodeNil(forKey: key)
            case .int64(let x)?, .timestamp(let x)?: try c.encode(x, forKey: key)
            case .float64(let x)?: try c.encode(x, forKey: key)
            case .string(let s)?: try c.encode(s, forKey: key)
            case .bool(let b)?: try c.encode(b, forKey: key)
            }
        }
    }

    /// One row group.
    public struct RowGroupInfo: Sendable, Hashable, Encodable {
        /// The row group's position in the file.
        public var index: Int
        /// The file-wide number of its first row.
        public var firstRow: Int64
        /// Its number of rows.
        public var rows: Int
        /// One chunk per column, in column order.
        public var chunks: [ChunkInfo]
    }

    /// The path.
    public var file: String
    /// The header's format version.
    public var formatVersion: UInt32
    /// The file size.
    public var bytes: Int64
    /// The total rows.
    public var rows: Int64
    /// The key-value metadata.
    public var metadata: [String: String]
    /// The schema.
    public var columns: [ColumnInfo]
    /// The row groups and their chunks.
    public var rowGroups: [RowGroupInfo]

    /// A human-readable rendering, one line per row group and per chunk.
    public var text: String {
        var s = "snapshot \(file): format \(formatVersion), \(bytes) bytes, \(rows) rows, \(rowGroups.count) row groups\n"
        for (k, v) in metadata.sorted(by: { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }) {
            s += "  metadata \(k) = \(v)\n"
        }
        for c in columns { s += "  column \(c.name): \(c.type)\(c.nullable ? " nullable" : "")\n" }
        for g in rowGroups {
            s += "  row group \(g.index): rows \(g.firstRow)..<\(g.firstRow + Int64(g.rows))\n"
            for ch in g.chunks {
                let stats = ch.min.map { "min \($0)\(ch.minExact ? "" : "…") max \(ch.max.map { "\($0)" } ?? "?")\(ch.maxExact ? "" : "…")" } ?? "no bounds"
                s += "    \(ch.column) @ \(ch.offset): \(ch.encoding)/\(ch.codec) \(ch.storedBytes)/\(ch.uncompressedBytes) bytes, \(ch.nullCount) nulls, \(stats), crc \(ch.crc32c) \(ch.checksumOk ? "ok" : "BAD")\n"
            }
        }
        return s
    }
}

/// Describes and verifies snapshot files (format-spec.md §4) for `lambdastore dump` and
/// `lambdastore verify`.
///
/// Thread safety: stateless; safe from any thread.
public enum SnapshotInspector {
    /// The structure of the snapshot at `path`, with a checksum verdict per chunk.
    /// - Throws: as ``SnapshotReader/open(fs:path:)`` when the header, tail or footer is
    ///   unusable; damaged chunks are reported in `checksumOk` instead.
    /// - Complexity: O(file size): every chunk is read to check its CRC.
    public static func describe(fs: any FileSystem, path: String) throws(LambdaStoreError) -> SnapshotDescription {
        let r = try SnapshotReader.open(fs: fs, path: path)
        defer { try? r.close() }
        return describe(r)
    }

    /// The structure of an open snapshot, with a checksum verdict per chunk.
    /// - Complexity: O(file size).
    public static func describe(_ r: SnapshotReader) -> SnapshotDescription {
        var groups: [SnapshotDescription.RowGroupInfo] = []
        for g in r.rowGroups {
            var chunks: [SnapshotDescription.ChunkInfo] = []
            for ch in g.chunks {
                let col = r.columns[ch.column]
                let ok = (try? r.readVerifiedChunk(group: g.index, column: ch.column)) != nil
                var minExact = true, maxExact = true
                if case .bytes(_, _, let a, let b)? = ch.statistics.bounds { minExact = a; maxExact = b }
                chunks.append(SnapshotDescription.ChunkInfo(
                    column: col.name, offset: ch.offset, encoding: ch.encoding.description, codec: ch.codec.description,
                    storedBytes: ch.storedBytes, uncompressedBytes: ch.encodedBytes, nullCount: ch.statistics.nullCount,
                    min: ch.statistics.min(as: col.type), max: ch.statistics.max(as: col.type), minExact: minExact, maxExact: maxExact,
                    crc32c: hex32(ch.crc32c), checksumOk: ok))
            }
            groups.append(SnapshotDescription.RowGroupInfo(index: g.index, firstRow: g.firstRow, rows: g.rowCount, chunks: chunks))
        }
        return SnapshotDescription(
            file: r.path, formatVersion: r.formatVersion, bytes: r.fileSize, rows: r.rowCount, metadata: r.metadata,
            columns: r.columns.map { SnapshotDescription.ColumnInfo(name: $0.name, type: $0.type.description, nullable: $0.nullable) },
            rowGroups: groups)
    }

    /// Checks every CRC of the snapshot at `path` (header, footer, each chunk), decodes every
    /// chunk and checks its statistics; returns every problem found with its byte offset.
    /// Never throws: unreadable files and I/O errors are problems too. An empty list means the
    /// file is sound.
    /// - Complexity: O(file size + rows).
    public static func verify(fs: any FileSystem, path: String) -> [VerificationProblem] {
        let handle: any FileHandle
        do {
            handle = try fs.open(path, mode: .read)
        } catch {
            return [VerificationProblem(error, path: path)]
        }
        defer { try? handle.close() }
        return verify(handle: handle, path: path)
    }

    /// ``verify(fs:path:)`` of snapshot bytes held in memory.
    public static func verify(bytes: [UInt8], path: String = "<memory>") -> [VerificationProblem] {
        verify(handle: MemoryFileHandle(bytes: bytes, path: path), path: path)
    }

    static func verify(handle: any FileHandle, path: String) -> [VerificationProblem] {
        var problems: [VerificationProblem] = []
        do {
            let header = try handle.read(count: SnapshotFormat.headerBytes, at: 0)
            _ = try SnapshotReader.checkHeader(header, path: path)
        } catch {
            problems.append(VerificationProblem(error, path: path))
        }
        let r: SnapshotReader
        do {
            r = try SnapshotReader(handle: handle, path: path, checkHeader: false)
        } catch {
            problems.append(VerificationProblem(error, path: path))
            return problems
        }
        for g in r.rowGroups {
            for ch in g.chunks {
                let col = r.columns[ch.column]
                var b = ColumnBuilder(type: col.type, expectedRows: g.rowCount)
                do {
                    try r.decodeChunk(group: g.index, column: ch.column, into: &b)
                } catch {
                    problems.append(VerificationProblem(error, path: path))
                    continue
                }
                let decoded = b.build()
                let again = ChunkEncoder.encode(decoded, range: 0..<decoded.count, type: col.type, preferred: ch.encoding)
                if again.statistics != ch.statistics {
                    problems.append(VerificationProblem(path: path, offset: ch.offset, message: "column '\(col.name)' row group \(g.index): footer statistics \(ch.statistics) do not match the values (\(again.statistics))"))
                }
            }
        }
        return problems
    }

    /// CRC32C of the whole file at `path`, read in 1 MiB pieces.
    /// - Throws: ``LambdaStoreError/Code/io`` or ``LambdaStoreError/Code/notFound``.
    /// - Complexity: O(file size).
    public static func wholeFileChecksum(fs: any FileSystem, path: String) throws(LambdaStoreError) -> (bytes: Int64, crc32c: UInt32) {
        let h = try fs.open(path, mode: .read)
        defer { try? h.close() }
        let size = try h.size()
        var crc: UInt32 = 0
        var at: Int64 = 0
        while at < size {
            let piece = try h.read(count: Int(min(size - at, 1 << 20)), at: at)
            if piece.isEmpty { break }
            crc = CRC32C.checksum(piece, extending: crc)
            at += Int64(piece.count)
        }
        return (at, crc)
    }
}

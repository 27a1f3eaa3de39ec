import LambdaStoreCore

/// The structure of a Parquet file for `dump archive`: footer fields, and per row group, per
/// column chunk, its encodings, codec, sizes, counts, statistics and pages. Codable, so the
/// tool prints it as JSON.
public struct ParquetFileDescription: Sendable, Codable, Equatable {
    /// One column of the schema.
    public struct Column: Sendable, Codable, Equatable {
        public var name: String
        /// `INT64`, `DOUBLE`, `BOOLEAN`, `BYTE_ARRAY`.
        public var physicalType: String
        /// `STRING`, `TIMESTAMP(isAdjustedToUTC=true, unit=MILLIS)`, or nil.
        public var logicalType: String?
        /// `REQUIRED` or `OPTIONAL`.
        public var repetition: String
        /// The LambdaStore type.
        public var type: String
    }

    /// One page of a column chunk.
    public struct Page: Sendable, Codable, Equatable {
        /// `DICTIONARY_PAGE`, `DATA_PAGE`, `DATA_PAGE_V2`, …
        public var kind: String
        /// The offset of the page header in the file.
        public var offset: Int64
        public var headerBytes: Int
        public var compressedBytes: Int
        public var uncompressedBytes: Int
        /// Values (rows, nulls included) of a data page; entries of a dictionary page.
        public var values: Int
        public var encoding: String
        public var nullCount: Int64?
    }

    /// One column chunk of a row group.
    public struct ColumnChunk: Sendable, Codable, Equatable {
        public var column: String
        public var offset: Int64
        public var encodings: [String]
        public var codec: String
        public var compressedBytes: Int64
        public var uncompressedBytes: Int64
        public var values: Int64
        public var nullCount: Int64?
        /// The statistics' min and max, as text (strings as themselves, bytes that are not
        /// UTF-8 in hex).
        public var min: String?
        public var max: String?
        public var pages: [Page]
        /// Why the page list stops early (a damaged page header), or nil.
        public var pageError: String?
    }

    /// One row group.
    public struct RowGroup: Sendable, Codable, Equatable {
        public var rows: Int64
        public var offset: Int64?
        public var compressedBytes: Int64
        public var uncompressedBytes: Int64
        public var firstOffset: Int64
        public var lastOffset: Int64
        public var columns: [ColumnChunk]
    }

    public var createdBy: String?
    public var formatVersion: Int32
    public var rows: Int64
    public var bytes: Int
    public var footerBytes: Int
    public var columns: [Column]
    public var keyValueMetadata: [String: String]
    public var rowGroups: [RowGroup]
}

extension ParquetFileReader {
    /// Human/JSON-friendly structure for `dump archive`: per row group, per column chunk:
    /// encodings, codec, compressed/uncompressed bytes, value count, null count, min/max (as
    /// strings), pages. A page header that does not parse ends that chunk's page list, with
    /// the reason in `pageError`.
    /// - Complexity: O(footer + page headers).
    public func describe() -> ParquetFileDescription {
        let leaves = Array(meta.schema.dropFirst())
        let cols = zip(leaves, columns).map { e, c in
            ParquetFileDescription.Column(
                name: c.name, physicalType: ParquetPhysicalType(rawValue: e.type ?? -1)?.name ?? "?",
                logicalType: e.logicalType?.name, repetition: c.nullable ? "OPTIONAL" : "REQUIRED", type: "\(c.type)")
        }
        let footerBytes = Int(ParquetFileReader.int64(Array(bytes[(bytes.count - 8)..<(bytes.count - 4)])))   // init checked the size
        var groups: [ParquetFileDescription.RowGroup] = []
        for (gi, g) in meta.rowGroups.enumerated() {
            var chunks: [ParquetFileDescription.ColumnChunk] = []
            for (j, c) in g.columns.enumerated() {
                let m = c.metaData ?? PQColumnMetaData()
                let range = chunkRanges[gi][j]
                let (pages, error) = describePages(range)
                chunks.append(ParquetFileDescription.ColumnChunk(
                    column: columns[j].name, offset: Int64(range.lowerBound), encodings: m.encodings.map(ParquetEncoding.name),
                    codec: ParquetCodec.name(m.codec), compressedBytes: m.totalCompressedSize, uncompressedBytes: m.totalUncompressedSize,
                    values: m.numValues, nullCount: m.statistics?.nullCount,
                    min: (m.statistics?.minValue ?? m.statistics?.min).map { Self.text($0, columns[j].type) },
                    max: (m.statistics?.maxValue ?? m.statistics?.max).map { Self.text($0, columns[j].type) },
                    pages: pages, pageError: error))
            }
            groups.append(ParquetFileDescription.RowGroup(
                rows: g.numRows, offset: g.fileOffset, compressedBytes: rowGroups[gi].compressedBytes, uncompressedBytes: g.totalByteSize,
                firstOffset: rowGroups[gi].firstOffset, lastOffset: rowGroups[gi].lastOffset, columns: chunks))
        }
        return ParquetFileDescription(
            createdBy: meta.createdBy, formatVersion: meta.version, rows: rowCount, bytes: tailOffset + bytes.count, footerBytes: footerBytes,
            columns: cols, keyValueMetadata: keyValueMetadata, rowGroups: groups)
    }

    private func describePages(_ range: Range<Int>) -> ([ParquetFileDescription.Page], String?) {
        guard tailOffset == 0 else { return ([], nil) }   // a footer-only reader: no pages
        var pages: [ParquetFileDescription.Page] = []
        var pos = range.lowerBound
        return bytes.withUnsafeBytes { raw in
            while pos < range.upperBound {
                var r = ThriftReader(UnsafeRawBufferPointer(rebasing: raw[pos..<range.upperBound]), base: Int64(pos), path: path)
                let h: PQPageHeader
                do { h = try PQPageHeader(reading: &r) } catch { return (pages, "\(error)") }
                guard h.compressedSize >= 0, Int(h.compressedSize) <= range.upperBound - pos - r.position else {
                    return (pages, "page at \(pos): \(h.compressedSize) compressed bytes run past the chunk")
                }
                pages.append(ParquetFileDescription.Page(
                    kind: ParquetPageType.name(h.type), offset: Int64(pos), headerBytes: r.position, compressedBytes: Int(h.compressedSize),
                    uncompressedBytes: Int(h.uncompressedSize), values: Int(h.numValues), encoding: ParquetEncoding.name(h.encoding),
                    nullCount: h.statistics?.nullCount ?? (h.member == 8 ? Int64(h.numNulls) : nil)))
                pos += r.position + Int(h.compressedSize)
            }
            return (pages, nil)
        }
    }

    /// A statistic as text: integers and doubles as numbers, strings as themselves (hex when
    /// not UTF-8), booleans as true/false.
    static func text(_ b: [UInt8], _ type: FieldType) -> String {
        switch type {
        case .int64 where b.count == 8, .timestamp where b.count == 8: return String(int64(b))
        case .float64 where b.count == 8: return String(Double(bitPattern: UInt64(bitPattern: int64(b))))
        case .bool where b.count == 1: return b[0] != 0 ? "true" : "false"
        case .string:
            if let s = String(validating: b, as: UTF8.self) { return s }
            fallthrough
        default:
            return "0x" + b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
    }
}

import LambdaStoreCore

/// The byte layouts of the stream log, in one place so that the writer, the reader, recovery,
/// verify and dump cannot disagree (LevelDB's `log_format.h`). format-spec.md §2 is the
/// normative description; every constant here has a row there.
///
/// Thread safety: pure values and functions.
public enum LogFormat {
    /// The format version of the schema history, index and time index files.
    public static let formatVersion: UInt16 = 1
    /// The format version of new segment files: 2 (payload string columns may be
    /// dictionary-coded, format-spec.md §2.3.1). Version 1 segments are still read.
    public static let segmentFormatVersion: UInt16 = 2
    /// The segment format versions this build reads.
    public static let segmentFormatVersionsRead: ClosedRange<UInt16> = 1...2

    /// `LSSH`: schema history file magic (bytes `4C 53 53 48`).
    public static let schemaMagic: UInt32 = magic("LSSH")
    /// `LSSG`: segment file magic (bytes `4C 53 53 47`).
    public static let segmentMagic: UInt32 = magic("LSSG")
    /// `LSBT`: record batch marker (bytes `4C 53 42 54`).
    public static let batchMarker: UInt32 = magic("LSBT")
    /// `LSIX`: offset index file magic (bytes `4C 53 49 58`).
    public static let indexMagic: UInt32 = magic("LSIX")
    /// `LSTI`: time index file magic (bytes `4C 53 54 49`).
    public static let timeIndexMagic: UInt32 = magic("LSTI")

    /// Size of the segment file header (§2.2.1).
    public static let segmentHeaderSize = 32
    /// Size of a record batch header (§2.2.2).
    public static let batchHeaderSize = 56
    /// Size of an index or time index file header (§2.4).
    public static let indexHeaderSize = 24
    /// Size of one `.index` entry (§2.4).
    public static let indexEntrySize = 40
    /// Size of one `.timeindex` entry (§2.5).
    public static let timeIndexEntrySize = 32

    /// Batch header flag: `minEventTime`/`maxEventTime` are set (some record has a non-null event time).
    public static let flagHasEventTime: UInt8 = 1

    /// The file name extensions.
    public static let segmentSuffix = ".segment"
    /// Offset index file suffix.
    public static let indexSuffix = ".index"
    /// Time index file suffix.
    public static let timeIndexSuffix = ".timeindex"
    /// Suffix of files moved aside by repair.
    public static let damagedSuffix = ".damaged"
    /// The schema history file name.
    public static let schemaFileName = "schema"

    /// A u32 whose little-endian bytes are the four ASCII characters of `s`.
    static func magic(_ s: StaticString) -> UInt32 {
        precondition(s.utf8CodeUnitCount == 4)
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(s.utf8Start[i]) << (8 * UInt32(i)) }
        return v
    }

    /// `00000000000000001024.segment` etc.: the 20-digit zero-padded first offset, so that
    /// `ls` sorts the files numerically.
    public static func fileStem(baseOffset: Int64) -> String {
        let d = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - d.count)) + d
    }

    /// The base offset named by a segment (or index) file name, or nil when the name is not
    /// exactly 20 digits followed by `suffix`.
    public static func baseOffset(fromFileName name: String, suffix: String) -> Int64? {
        guard name.hasSuffix(suffix) else { return nil }
        let stem = name.utf8.dropLast(suffix.utf8.count)
        guard stem.count == 20, stem.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(String(decoding: stem, as: UTF8.self))
    }
}

// MARK: - Segment file header (§2.2.1)

/// The 32-byte header at position 0 of every segment file.
public struct SegmentFileHeader: Sendable, Equatable {
    /// The offset of the first record in the segment (equals the file name).
    public var baseOffset: Int64
    /// When the segment was created, epoch milliseconds.
    public var createdAtMillis: Int64
    /// The segment's format version (``LogFormat/segmentFormatVersion`` for new segments).
    public var formatVersion: UInt16

    /// Creates a header of the current segment format version.
    public init(baseOffset: Int64, createdAtMillis: Int64, formatVersion: UInt16 = LogFormat.segmentFormatVersion) {
        self.baseOffset = baseOffset
        self.createdAtMillis = createdAtMillis
        self.formatVersion = formatVersion
    }

    /// Appends the 32 header bytes.
    public func encode(into w: inout ByteWriter) {
        let start = w.count
        w.write(LogFormat.segmentMagic)
        w.write(formatVersion)
        w.write(UInt16(0))
        w.write(baseOffset)
        w.write(createdAtMillis)
        w.write(UInt32(0))
        w.write(w.crc32c(start..<(start + 28)))
    }

    /// Decodes and checks a header from the first 32 bytes of `bytes`.
    /// - Throws: ``LambdaStoreError/Code/corruption`` (offset within the file) or
    ///   ``LambdaStoreError/Code/unsupported`` for another format version.
    public init(decoding bytes: UnsafeRawBufferPointer) throws(LambdaStoreError) {
        guard bytes.count >= LogFormat.segmentHeaderSize else {
            throw .corruption("segment header needs \(LogFormat.segmentHeaderSize) bytes, file has \(bytes.count)", path: nil, offset: 0)
        }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[0..<LogFormat.segmentHeaderSize]))
        let magic = try r.read(UInt32.self)
        let stored = r.get(UInt32.self, at: 28) ?? 0
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<28]))
        guard stored == computed else {
            throw .checksumMismatch(stored: stored, computed: computed, what: "segment header", path: nil, offset: 0)
        }
        guard magic == LogFormat.segmentMagic else {
            throw .corruption("not a segment file (magic \(hex32(magic)))", path: nil, offset: 0)
        }
        let version = try r.read(UInt16.self)
        guard LogFormat.segmentFormatVersionsRead.contains(version) else {
            throw LambdaStoreError(.unsupported, "segment format version \(version) (this build reads \(LogFormat.segmentFormatVersionsRead.lowerBound) to \(LogFormat.segmentFormatVersionsRead.upperBound))", offset: 4)
        }
        formatVersion = version
        let flags = try r.read(UInt16.self)
        baseOffset = try r.read(Int64.self)
        createdAtMillis = try r.read(Int64.self)
        let reserved = try r.read(UInt32.self)
        guard flags == 0, reserved == 0 else { throw .corruption("segment header reserved bytes are not zero", path: nil, offset: 6) }
        guard baseOffset >= 0 else { throw .corruption("segment base offset \(baseOffset) is negative", path: nil, offset: 8) }
    }
}

// MARK: - Record batch header (§2.2.2)

/// The 56-byte header in front of every record batch payload in a segment.
///
/// The header carries its own CRC (over bytes 0..<52) and the payload's CRC, so a damaged
/// length is detected as corruption before it is ever used to decide "the file ends early".
public struct BatchHeader: Sendable, Equatable {
    /// Codec of the stored payload.
    public var codec: Codec
    /// Offset of the first record.
    public var baseOffset: Int64
    /// Number of records (1…``Limits/batchRecordsMax``).
    public var recordCount: Int
    /// The schema version the payload was written under.
    public var schemaVersion: UInt32
    /// Smallest and largest non-null event time, or nil when every record's is null.
    public var eventTimeRange: ClosedRange<Int64>?
    /// Payload size before compression.
    public var uncompressedLength: Int
    /// Payload size as stored.
    public var storedLength: Int
    /// CRC32C of the stored payload bytes.
    public var payloadCRC: UInt32

    /// Creates a header.
    public init(codec: Codec, baseOffset: Int64, recordCount: Int, schemaVersion: UInt32, eventTimeRange: ClosedRange<Int64>?, uncompressedLength: Int, storedLength: Int, payloadCRC: UInt32) {
        self.codec = codec
        self.baseOffset = baseOffset
        self.recordCount = recordCount
        self.schemaVersion = schemaVersion
        self.eventTimeRange = eventTimeRange
        self.uncompressedLength = uncompressedLength
        self.storedLength = storedLength
        self.payloadCRC = payloadCRC
    }

    /// Header plus payload size.
    @inlinable public var totalLength: Int { LogFormat.batchHeaderSize + storedLength }

    /// Writes the 56 header bytes at `base` of `raw` (which must have room).
    public func encode(into raw: UnsafeMutableRawBufferPointer, at base: Int) {
        precondition(base >= 0 && base + LogFormat.batchHeaderSize <= raw.count)
        func put<T: FixedWidthInteger>(_ v: T, _ o: Int) { raw.storeBytes(of: v.littleEndian, toByteOffset: base + o, as: T.self) }
        put(LogFormat.batchMarker, 0)
        put(codec.rawValue, 4)
        put(eventTimeRange == nil ? UInt8(0) : LogFormat.flagHasEventTime, 5)
        put(UInt16(0), 6)
        put(baseOffset, 8)
        put(UInt32(recordCount), 16)
        put(schemaVersion, 20)
        put(eventTimeRange?.lowerBound ?? 0, 24)
        put(eventTimeRange?.upperBound ?? 0, 32)
        put(UInt32(uncompressedLength), 40)
        put(UInt32(storedLength), 44)
        put(payloadCRC, 48)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[base..<(base + 52)]))
        put(crc, 52)
    }

    /// The 56 header bytes.
    public var encoded: [UInt8] {
        var out = [UInt8](repeating: 0, count: LogFormat.batchHeaderSize)
        out.withUnsafeMutableBytes { encode(into: $0, at: 0) }
        return out
    }

    /// Decodes and checks a header from the first 56 bytes of `bytes`; `at` is its file
    /// position, used in errors.
    /// - Throws: ``LambdaStoreError/Code/corruption`` naming the field, at its file offset.
    public init(decoding bytes: UnsafeRawBufferPointer, at position: Int64) throws(LambdaStoreError) {
        guard bytes.count >= LogFormat.batchHeaderSize else {
            throw .corruption("batch header needs \(LogFormat.batchHeaderSize) bytes, \(bytes.count) left", path: nil, offset: position)
        }
        let h = UnsafeRawBufferPointer(rebasing: bytes[0..<LogFormat.batchHeaderSize])
        let get = FieldReader(h)
        let stored = get.u32(52)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: h[0..<52]))
        guard stored == computed else {
            throw .checksumMismatch(stored: stored, computed: computed, what: "batch header", path: nil, offset: position)
        }
        let marker = get.u32(0)
        guard marker == LogFormat.batchMarker else {
            throw .corruption("bad batch marker \(hex32(marker))", path: nil, offset: position)
        }
        guard let codec = Codec(rawValue: get.u8(4)) else {
            throw .corruption("unknown codec \(get.u8(4))", path: nil, offset: position + 4)
        }
        let flags = get.u8(5)
        guard flags & ~LogFormat.flagHasEventTime == 0, get.u16(6) == 0 else {
            throw .corruption("unknown batch flags \(flags)", path: nil, offset: position + 5)
        }
        self.codec = codec
        baseOffset = get.i64(8)
        recordCount = Int(get.u32(16))
        schemaVersion = get.u32(20)
        let lo = get.i64(24), hi = get.i64(32)
        uncompressedLength = Int(get.u32(40))
        storedLength = Int(get.u32(44))
        payloadCRC = get.u32(48)
        guard baseOffset >= 0 else { throw .corruption("negative base offset \(baseOffset)", path: nil, offset: position + 8) }
        guard recordCount >= 1, recordCount <= Limits.batchRecordsMax else {
            throw .corruption("record count \(recordCount) out of bounds (1...\(Limits.batchRecordsMax))", path: nil, offset: position + 16)
        }
        guard schemaVersion >= 1 else { throw .corruption("schema version 0", path: nil, offset: position + 20) }
        if flags & LogFormat.flagHasEventTime != 0 {
            guard lo <= hi else { throw .corruption("minEventTime \(lo) > maxEventTime \(hi)", path: nil, offset: position + 24) }
            eventTimeRange = lo...hi
        } else {
            guard lo == 0, hi == 0 else { throw .corruption("event times set without the flag", path: nil, offset: position + 24) }
            eventTimeRange = nil
        }
        guard uncompressedLength <= Limits.batchBytesMax else {
            throw .corruption("uncompressed length \(uncompressedLength) exceeds \(Limits.batchBytesMax)", path: nil, offset: position + 40)
        }
        guard storedLength <= Limits.batchBytesMax else {
            throw .corruption("stored length \(storedLength) exceeds \(Limits.batchBytesMax)", path: nil, offset: position + 44)
        }
        guard codec != .none || storedLength == uncompressedLength else {
            throw .corruption("codec none with stored length \(storedLength) != uncompressed \(uncompressedLength)", path: nil, offset: position + 44)
        }
    }
}

// MARK: - Index and time index (§2.4, §2.5)

/// One `.index` entry: where a batch starts and what it holds (a copy of its header's fields).
public struct IndexEntry: Sendable, Equatable {
    /// Offset of the batch's first record.
    public var baseOffset: Int64
    /// File position of the batch header.
    public var position: Int64
    /// Records in the batch.
    public var recordCount: Int
    /// Stored payload length.
    public var storedLength: Int
    /// Uncompressed payload length.
    public var uncompressedLength: Int
    /// Schema version of the batch.
    public var schemaVersion: UInt32
    /// Codec of the batch.
    public var codec: Codec
    /// The batch's event-time range (from the time index).
    public var eventTimeRange: ClosedRange<Int64>?

    /// The entry describing `header` stored at `position`.
    public init(header: BatchHeader, position: Int64) {
        baseOffset = header.baseOffset
        self.position = position
        recordCount = header.recordCount
        storedLength = header.storedLength
        uncompressedLength = header.uncompressedLength
        schemaVersion = header.schemaVersion
        codec = header.codec
        eventTimeRange = header.eventTimeRange
    }

    /// One past the batch's last record offset.
    @inlinable public var endOffset: Int64 { baseOffset + Int64(recordCount) }
    /// One past the batch's last byte in the segment.
    @inlinable public var endPosition: Int64 { position + Int64(LogFormat.batchHeaderSize + storedLength) }

    /// Whether `header` at `position` is the batch this entry describes.
    public func matches(_ header: BatchHeader, at position: Int64) -> Bool {
        self == IndexEntry(header: header, position: position)
    }

    /// Appends the 40-byte `.index` entry.
    public func encodeIndex(into w: inout ByteWriter) {
        let start = w.count
        w.write(baseOffset)
        w.write(position)
        w.write(UInt32(recordCount))
        w.write(UInt32(storedLength))
        w.write(UInt32(uncompressedLength))
        w.write(schemaVersion)
        w.write(codec.rawValue)
        w.writeZeros(3)
        w.write(w.crc32c(start..<(start + 36)))
    }

    /// Appends the 32-byte `.timeindex` entry.
    public func encodeTimeIndex(into w: inout ByteWriter) {
        let start = w.count
        w.write(eventTimeRange?.lowerBound ?? 0)
        w.write(eventTimeRange?.upperBound ?? 0)
        w.write(position)
        w.write(eventTimeRange == nil ? UInt8(0) : LogFormat.flagHasEventTime)
        w.writeZeros(3)
        w.write(w.crc32c(start..<(start + 28)))
    }

    /// Decodes a 40-byte `.index` entry (event time left nil); nil when its CRC or a field is bad.
    static func decodeIndex(_ e: UnsafeRawBufferPointer) -> IndexEntry? {
        guard e.count >= LogFormat.indexEntrySize else { return nil }
        let get = FieldReader(e)
        guard get.u32(36) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: e[0..<36])) else { return nil }
        guard let codec = Codec(rawValue: get.u8(32)), get.u8(33) == 0, get.u16(34) == 0 else { return nil }
        let h = BatchHeader(codec: codec, baseOffset: get.i64(0), recordCount: Int(get.u32(16)),
                            schemaVersion: get.u32(28), eventTimeRange: nil,
                            uncompressedLength: Int(get.u32(24)), storedLength: Int(get.u32(20)), payloadCRC: 0)
        return IndexEntry(header: h, position: get.i64(8))
    }

    /// Decodes a 32-byte `.timeindex` entry: (position, event-time range); nil when bad.
    static func decodeTimeIndex(_ e: UnsafeRawBufferPointer) -> (position: Int64, range: ClosedRange<Int64>?)? {
        guard e.count >= LogFormat.timeIndexEntrySize else { return nil }
        let get = FieldReader(e)
        guard get.u32(28) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: e[0..<28])) else { return nil }
        let flags = get.u8(24)
        guard flags & ~LogFormat.flagHasEventTime == 0, get.u8(25) == 0, get.u16(26) == 0 else { return nil }
        let lo = get.i64(0), hi = get.i64(8)
        if flags == 0 {
            guard lo == 0, hi == 0 else { return nil }
            return (get.i64(16), nil)
        }
        guard lo <= hi else { return nil }
        return (get.i64(16), lo...hi)
    }
}

/// The 24-byte header of `.index` and `.timeindex` files.
struct IndexFileHeader: Equatable {
    var magic: UInt32
    var entrySize: Int
    var segmentBaseOffset: Int64

    static func forIndex(_ base: Int64) -> IndexFileHeader { IndexFileHeader(magic: LogFormat.indexMagic, entrySize: LogFormat.indexEntrySize, segmentBaseOffset: base) }
    static func forTimeIndex(_ base: Int64) -> IndexFileHeader { IndexFileHeader(magic: LogFormat.timeIndexMagic, entrySize: LogFormat.timeIndexEntrySize, segmentBaseOffset: base) }

    func encode(into w: inout ByteWriter) {
        let start = w.count
        w.write(magic)
        w.write(LogFormat.formatVersion)
        w.write(UInt16(entrySize))
        w.write(segmentBaseOffset)
        w.write(UInt32(0))
        w.write(w.crc32c(start..<(start + 20)))
    }

    /// Decodes a header; returns a reason string when it is bad.
    static func decode(_ b: UnsafeRawBufferPointer) -> Result<IndexFileHeader, IndexProblem> {
        guard b.count >= LogFormat.indexHeaderSize else { return .failure(IndexProblem(offset: 0, message: "index header cut short (\(b.count) bytes)")) }
        let get = FieldReader(b)
        let stored = get.u32(20)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<20]))
        guard stored == computed else {
            return .failure(IndexProblem(offset: 0, message: "index header checksum mismatch (stored \(hex32(stored)), computed \(hex32(computed)))"))
        }
        guard get.u16(4) == LogFormat.formatVersion, get.u32(16) == 0 else {
            return .failure(IndexProblem(offset: 4, message: "index format version \(get.u16(4)) not supported"))
        }
        return .success(IndexFileHeader(magic: get.u32(0), entrySize: Int(get.u16(6)), segmentBaseOffset: get.i64(8)))
    }
}

/// Why an index file was not usable, and where.
struct IndexProblem: Error, Equatable {
    var offset: Int64
    var message: String
}

/// Little-endian field loads at fixed offsets of a buffer the caller has bounds-checked.
/// Concrete (non-generic) so that header and index decoding stay cheap in debug builds too.
struct FieldReader {
    let b: UnsafeRawBufferPointer
    init(_ b: UnsafeRawBufferPointer) { self.b = b }
    @inline(__always) func u8(_ o: Int) -> UInt8 { b[o] }
    @inline(__always) func u16(_ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    @inline(__always) func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    @inline(__always) func i64(_ o: Int) -> Int64 { Int64(littleEndian: b.loadUnaligned(fromByteOffset: o, as: Int64.self)) }
}

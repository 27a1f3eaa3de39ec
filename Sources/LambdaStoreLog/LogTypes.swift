import LambdaStoreCore

/// When an append counts as done.
public enum Durability: Sendable, Equatable {
    /// `append` returns after an fdatasync covered the batch. Concurrent appenders share one
    /// fdatasync (group commit).
    case sync
    /// `append` returns after the write; a background flush syncs at most `milliseconds` later.
    case interval(milliseconds: Int)
    /// `append` returns after the write; the data is synced at the next roll, `sync()` or close.
    case none
}

/// How an ``EventLog`` writes and opens its files.
public struct LogOptions: Sendable {
    /// A segment rolls before a batch would take it past this size (a lone batch larger than it
    /// gets a segment of its own).
    public var segmentBytesMax: Int64
    /// A segment rolls at the first append once it is this old (nil: no age limit).
    public var segmentAgeMaxMillis: Int64?
    /// The codec for new batches. A batch that would not get smaller is stored with `none`.
    ///
    /// Default `none`: payloads are already columnar with dictionary-coded strings
    /// (format-spec.md §2.3.1), which on order events take fewer bytes than the former default
    /// (lz4 over plain string columns); lz4 on top saves about a quarter more bytes but costs
    /// about a fifth of a full scan's time (batch recompute, replay). `lz4` or `zstd` suit logs
    /// that are kept long and scanned rarely.
    public var codec: Codec
    /// zstd level, used when ``codec`` is `zstd`.
    public var zstdLevel: Int32
    /// Write a string column in dictionary form when that is smaller (format-spec.md §2.3.1;
    /// only into segments of format version 2). On by default; off writes every column plain.
    public var dictionaryStrings: Bool = true
    /// Open without the writer lock; never truncate, rebuild on disk or append.
    public var readOnly: Bool
    /// Also check every payload CRC of the sealed segments on open (slow: reads everything).
    /// Off by default: sealed segments are checked through their header and index.
    public var verifyOnOpen: Bool
    /// The clock for segment creation times and age-based rolls, epoch milliseconds.
    public var clock: @Sendable () -> Int64
    /// Most sealed segment files kept open at once, across the store's streams (reads reopen
    /// an evicted one; each stream's active segment has a descriptor of its own). Default 256,
    /// so a store of 100,000 segments works under `ulimit -n 1024`.
    public var openSegmentFilesMax: Int = 256

    /// Options with the defaults: 128 MiB segments, no age limit, no compression beyond the
    /// dictionary-coded strings (where smaller), zstd level 1 when zstd is chosen, read-write.
    public init(segmentBytesMax: Int64 = Limits.segmentBytesDefault, segmentAgeMaxMillis: Int64? = nil, codec: Codec = .none,
                zstdLevel: Int32 = 1, readOnly: Bool = false, verifyOnOpen: Bool = false,
                clock: @escaping @Sendable () -> Int64 = LogOptions.systemClock) {
        self.segmentBytesMax = segmentBytesMax
        self.segmentAgeMaxMillis = segmentAgeMaxMillis
        self.codec = codec
        self.zstdLevel = zstdLevel
        self.readOnly = readOnly
        self.verifyOnOpen = verifyOnOpen
        self.clock = clock
    }

    /// The wall clock, epoch milliseconds (UTC).
    @Sendable public static func systemClock() -> Int64 { Platform.wallClockMillis() }
}

/// What opening a stream had to fix (format-spec.md §2.6). One report per stream that needed
/// anything; a clean open produces none.
public struct RecoveryReport: Sendable, Equatable, CustomStringConvertible {
    /// The stream.
    public var stream: String
    /// The segment whose tail was cut, relative to the store root (nil when none was).
    public var file: String?
    /// Bytes removed from the end of `file`.
    public var bytesTruncated: Int64
    /// Why (`incomplete batch (...)`, `120 trailing zero bytes`, ...), nil when nothing was cut.
    public var reason: String?
    /// Index files (relative paths) that were missing or damaged and were rebuilt from their segment.
    public var rebuiltIndexes: [String]

    /// Creates a report.
    public init(stream: String, file: String? = nil, bytesTruncated: Int64 = 0, reason: String? = nil, rebuiltIndexes: [String] = []) {
        self.stream = stream
        self.file = file
        self.bytesTruncated = bytesTruncated
        self.reason = reason
        self.rebuiltIndexes = rebuiltIndexes
    }

    /// One line.
    public var description: String {
        var parts: [String] = []
        if let file { parts.append("\(file): cut \(bytesTruncated) bytes (\(reason ?? "tail"))") }
        if !rebuiltIndexes.isEmpty { parts.append("rebuilt \(rebuiltIndexes.joined(separator: ", "))") }
        return "stream \(stream): " + (parts.isEmpty ? "nothing to do" : parts.joined(separator: "; "))
    }
}

/// Where one stored record batch is and what it holds, read from the indexes without
/// decoding its payload.
public struct BatchInfo: Sendable, Equatable {
    /// Offset of the first record.
    public var baseOffset: Int64
    /// Number of records.
    public var count: Int
    /// Smallest non-null event time in the batch (nil when all are null).
    public var minEventTime: Int64?
    /// Largest non-null event time in the batch (nil when all are null).
    public var maxEventTime: Int64?
    /// The schema version the batch was written under.
    public var schemaVersion: UInt32
    /// The codec of the stored payload.
    public var codec: Codec
    /// The segment file name (`00000000000000000000.segment`).
    public var segment: String
    /// File position of the batch header in the segment.
    public var position: Int64
    /// Stored payload bytes.
    public var storedBytes: Int
    /// Uncompressed payload bytes.
    public var uncompressedBytes: Int

    /// Creates an info.
    public init(baseOffset: Int64, count: Int, minEventTime: Int64?, maxEventTime: Int64?, schemaVersion: UInt32, codec: Codec,
                segment: String, position: Int64, storedBytes: Int, uncompressedBytes: Int) {
        self.baseOffset = baseOffset
        self.count = count
        self.minEventTime = minEventTime
        self.maxEventTime = maxEventTime
        self.schemaVersion = schemaVersion
        self.codec = codec
        self.segment = segment
        self.position = position
        self.storedBytes = storedBytes
        self.uncompressedBytes = uncompressedBytes
    }

    init(_ e: IndexEntry, segment: String) {
        self.init(baseOffset: e.baseOffset, count: e.recordCount, minEventTime: e.eventTimeRange?.lowerBound,
                  maxEventTime: e.eventTimeRange?.upperBound, schemaVersion: e.schemaVersion, codec: e.codec,
                  segment: segment, position: e.position, storedBytes: e.storedLength, uncompressedBytes: e.uncompressedLength)
    }

    /// The offsets of its records.
    @inlinable public var offsets: Range<Int64> { baseOffset..<(baseOffset + Int64(count)) }
}

/// What ``EventLog/applySchema(_:)`` did.
public enum SchemaApplyResult: Sendable, Equatable {
    /// A new stream, with schema version 1.
    case created(version: UInt32)
    /// A compatible change, stored as a new version.
    case evolved(version: UInt32)
    /// The same definition as the latest version: nothing written.
    case unchanged(version: UInt32)

    /// The stream's latest version after the call.
    public var version: UInt32 {
        switch self {
        case .created(let v), .evolved(let v), .unchanged(let v): v
        }
    }
}

/// One segment of a stream, as ``StreamLog/segments()`` lists it.
public struct SegmentInfo: Sendable, Equatable {
    /// File name.
    public var name: String
    /// First offset.
    public var baseOffset: Int64
    /// One past the last offset.
    public var endOffset: Int64
    /// Valid bytes (file header included).
    public var bytes: Int64
    /// Number of batches.
    public var batchCount: Int
    /// Creation time from the file header, epoch ms.
    public var createdAtMillis: Int64
    /// Smallest and largest event time of its batches (nil when none has one).
    public var minEventTime: Int64?
    /// Largest event time of its batches.
    public var maxEventTime: Int64?
    /// Whether appends go to it.
    public var isActive: Bool
}

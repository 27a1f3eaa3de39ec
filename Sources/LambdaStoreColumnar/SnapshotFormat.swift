import LambdaStoreCore

/// The constants of the columnar snapshot file format (format-spec.md §4), shared by
/// ``SnapshotWriter`` and ``SnapshotReader`` so that they cannot disagree.
///
/// A snapshot file is `header · chunk* · footer · tail`:
/// a 16-byte header (magic, version, header CRC), the column chunks of every row group back to
/// back, the footer (schema, metadata, row groups, per-chunk offsets, CRCs and statistics) and a
/// 16-byte tail (footer length, footer CRC, magic).
public enum SnapshotFormat {
    /// The eight bytes at the start and at the end of every snapshot file: ASCII `LAMBSNAP`.
    public static let magic: [UInt8] = Array("LAMBSNAP".utf8)
    /// The format version this build writes and reads.
    public static let version: UInt32 = 1
    /// Size of the header: magic (8), version (4), header CRC (4).
    public static let headerBytes = 16
    /// Size of the tail: footer length (4), footer CRC (4), magic (8).
    public static let tailBytes = 16
    /// Values per block of the `bitpack` and `delta` encodings (the last block may be shorter).
    public static let blockValues = 1024
    /// Longest string statistic the writer stores; longer minimums are cut to a prefix (a lower
    /// bound) and longer maximums to an incremented prefix (an upper bound).
    public static let statisticBytesMax = 64
    /// Most rows in one row group (1,048,576 = 16 × the default): readers materialize a row
    /// group's rows (keys and aggregate states) at once, so this bounds what a hostile footer
    /// can make a reader allocate, whatever its chunks decode to.
    public static let rowGroupRowsMax = 1 << 20
    /// The default rows per row group (64 Ki).
    public static let rowGroupRowsDefault = 65_536
}

/// The logical type of a snapshot column (format-spec.md §4.3). Raw values are stored on disk.
///
/// The first five are the stream ``FieldType``s with the same codes; ``bytes`` is a binary blob
/// (for example an encoded aggregate state) held in a `.string`-typed ``Column`` whose
/// `offsets`/`utf8` arrays carry arbitrary bytes.
public enum SnapshotType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Signed 64-bit integer.
    case int64 = 1
    /// IEEE-754 double.
    case float64 = 2
    /// UTF-8 string.
    case string = 3
    /// Boolean (0 or 1 in ``Column/ints``).
    case bool = 4
    /// Epoch milliseconds, UTC.
    case timestamp = 5
    /// Arbitrary bytes, stored in a `.string` column.
    case bytes = 6

    /// The logical type of a stream field type.
    public init(_ fieldType: FieldType) {
        switch fieldType {
        case .int64: self = .int64
        case .float64: self = .float64
        case .string: self = .string
        case .bool: self = .bool
        case .timestamp: self = .timestamp
        }
    }

    /// Parses `int64 float64 string bool timestamp bytes`.
    public init?(name: String) {
        guard let t = SnapshotType.allCases.first(where: { $0.description == name }) else { return nil }
        self = t
    }

    /// The ``FieldType`` of the in-memory ``Column`` that holds values of this type.
    @inlinable
    public var storage: FieldType {
        switch self {
        case .int64: .int64
        case .float64: .float64
        case .string, .bytes: .string
        case .bool: .bool
        case .timestamp: .timestamp
        }
    }

    /// `int64 float64 string bool timestamp bytes`.
    public var description: String {
        switch self {
        case .int64: "int64"
        case .float64: "float64"
        case .string: "string"
        case .bool: "bool"
        case .timestamp: "timestamp"
        case .bytes: "bytes"
        }
    }

    /// The encodings a chunk of this type may use (format-spec.md §4.5).
    public var encodings: [SnapshotEncoding] {
        switch self {
        case .int64, .timestamp, .bool: [.plain, .bitpack, .delta, .rle]
        case .float64: [.plain, .rle]
        case .string, .bytes: [.plain, .dictionary]
        }
    }

    /// Whether values live in ``Column/ints`` (as for its ``storage`` type).
    var isIntegerBacked: Bool { storage.isIntegerBacked }
}

/// How the values of one column chunk are laid out before compression (format-spec.md §4.5).
/// Raw values are stored on disk.
public enum SnapshotEncoding: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Values as they are: `i64`/`f64` per row, `u8` per row for bools, offsets + bytes for strings.
    case plain = 0
    /// Strings and bytes: a dictionary of distinct values in first-appearance order, then one
    /// bit-packed code per row.
    case dictionary = 1
    /// Integers: frame of reference per block of 1024 values, bit-packed at the minimal width.
    case bitpack = 2
    /// Integers: the first value, then frame-of-reference bit-packed deltas.
    case delta = 3
    /// Integers and floats: runs of equal values (lengths, then values).
    case rle = 4

    /// `plain dictionary bitpack delta rle`.
    public var description: String {
        switch self {
        case .plain: "plain"
        case .dictionary: "dictionary"
        case .bitpack: "bitpack"
        case .delta: "delta"
        case .rle: "rle"
        }
    }
}

/// One column of a snapshot: its name, logical type and nullability (format-spec.md §4.3).
///
/// Thread safety: a value type.
public struct SnapshotColumn: Sendable, Hashable {
    /// The column name (1…``Limits/nameBytesMax`` UTF-8 bytes, unique in the file).
    public var name: String
    /// The logical type.
    public var type: SnapshotType
    /// Whether null values are allowed.
    public var nullable: Bool

    /// Creates a column description.
    public init(name: String, type: SnapshotType, nullable: Bool = false) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }
}

/// How a ``SnapshotWriter`` encodes and compresses (format-spec.md §4.6).
///
/// Thread safety: a value type.
public struct SnapshotOptions: Sendable, Hashable {
    /// The block codec for every chunk; a chunk whose compressed form is not smaller is stored
    /// with `none` instead (and says so).
    public var codec: Codec
    /// The zstd level (ignored by the other codecs).
    public var zstdLevel: Int32
    /// Rows per row group when ``SnapshotWriter/append(columns:)`` splits whole columns
    /// (1…``SnapshotFormat/rowGroupRowsMax``).
    public var rowGroupRows: Int
    /// When set, every chunk whose type allows this encoding uses it instead of the automatic
    /// choice (for tests and tuning); other chunks keep the automatic choice.
    public var preferredEncoding: SnapshotEncoding?
    /// Threads that encode and compress the chunks of one ``SnapshotWriter/append(columns:)``
    /// call (clamped to 1…64). The file bytes do not depend on it: chunks are prepared
    /// concurrently and written in order.
    public var threads: Int

    /// Options; the defaults are zstd level 3, 64 Ki rows per row group and one thread.
    public init(codec: Codec = .zstd, zstdLevel: Int32 = 3, rowGroupRows: Int = SnapshotFormat.rowGroupRowsDefault,
                preferredEncoding: SnapshotEncoding? = nil, threads: Int = 1) {
        self.codec = codec
        self.zstdLevel = zstdLevel
        self.rowGroupRows = rowGroupRows
        self.preferredEncoding = preferredEncoding
        self.threads = threads
    }
}

/// What ``SnapshotWriter/finish()`` published: enough for a ``ManifestFile`` entry.
///
/// Thread safety: a value type.
public struct SnapshotFileInfo: Sendable, Hashable {
    /// The final path (empty for an in-memory writer).
    public var path: String
    /// The file size in bytes.
    public var bytes: Int64
    /// The number of rows.
    public var rows: Int64
    /// CRC32C of the whole file, every byte from the header magic to the tail magic.
    public var crc32c: UInt32

    /// Creates a file description.
    public init(path: String, bytes: Int64, rows: Int64, crc32c: UInt32) {
        self.path = path
        self.bytes = bytes
        self.rows = rows
        self.crc32c = crc32c
    }
}

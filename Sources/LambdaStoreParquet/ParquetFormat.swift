// LambdaStoreParquet: an Apache Parquet writer and reader for the subset LambdaStore writes.
//
// No maintained Swift Parquet library exists, so this module is written by hand from the
// format's specification (apache/parquet-format: README.md, Encodings.md, LogicalTypes.md and
// src/main/thrift/parquet.thrift). No code was copied from any implementation.
//
// This file holds the constants that the writer and the reader share, so they cannot
// disagree: the magic, the Thrift enum values used, and every bound the reader enforces.
// docs-parquet-section.md (merged into format-spec.md) describes the subset.

import LambdaStoreCore

/// The 4 bytes at the start and at the end of every Parquet file.
let parquetMagic: [UInt8] = Array("PAR1".utf8)
/// The magic of a file with an encrypted footer (not supported).
let parquetEncryptedMagic: [UInt8] = Array("PARE".utf8)
/// The name of the column holding each row's log offset, last in every file written.
let parquetOffsetColumnName = "_offset"

/// Every bound the Parquet reader enforces before allocating, noun first, each with its reason.
public enum ParquetLimits {
    /// Largest Thrift footer (64 MiB, as ``Limits/footerBytesMax``): bounds the metadata parse.
    public static let footerBytesMax = Limits.footerBytesMax
    /// Largest page, compressed or not (256 MiB): bounds one allocation per page.
    public static let pageBytesMax = 256 << 20
    /// Most rows in one row group (8 Mi): bounds the arrays one `readRowGroup` allocates,
    /// since run-length encodings can declare many values in few bytes.
    public static let rowGroupRowsMax = 8 << 20
    /// Deepest nesting of Thrift structs, lists and maps in the metadata.
    public static let thriftDepthMax = 64
    /// Most columns in a file (the schema's fields plus `_offset`).
    public static let columnsMax = Limits.fieldsMax + 1
    /// Largest dictionary page the writer emits (1 MiB, plain-encoded); past it a string column
    /// chunk falls back to plain data pages.
    public static let dictionaryBytesMax = 1 << 20
    /// Most entries of a dictionary the writer emits; past it a column chunk falls back to
    /// plain data pages.
    public static let dictionaryEntriesMax = 1 << 16
    /// Longest string min/max statistic the writer stores; a chunk or page whose min or max
    /// is longer gets none.
    public static let statisticsBytesMax = 64
    /// Values per DELTA_BINARY_PACKED block the writer uses (the spec's recommendation).
    static let deltaBlockValues = 128
    /// Miniblocks per DELTA_BINARY_PACKED block the writer uses.
    static let deltaMiniblocks = 4
    /// Largest DELTA_BINARY_PACKED block the reader accepts (values).
    static let deltaBlockValuesMax = 1 << 16
}

/// `Type` of parquet.thrift: the physical types.
enum ParquetPhysicalType: Int32, Sendable {
    case boolean = 0, int32 = 1, int64 = 2, int96 = 3, float = 4, double = 5, byteArray = 6, fixedLenByteArray = 7

    var name: String {
        switch self {
        case .boolean: "BOOLEAN"
        case .int32: "INT32"
        case .int64: "INT64"
        case .int96: "INT96"
        case .float: "FLOAT"
        case .double: "DOUBLE"
        case .byteArray: "BYTE_ARRAY"
        case .fixedLenByteArray: "FIXED_LEN_BYTE_ARRAY"
        }
    }
}

/// `Encoding` of parquet.thrift (the values this module names).
enum ParquetEncoding {
    static let plain: Int32 = 0
    static let plainDictionary: Int32 = 2
    static let rle: Int32 = 3
    static let bitPacked: Int32 = 4
    static let deltaBinaryPacked: Int32 = 5
    static let rleDictionary: Int32 = 8

    static func name(_ e: Int32) -> String {
        switch e {
        case 0: "PLAIN"
        case 2: "PLAIN_DICTIONARY"
        case 3: "RLE"
        case 4: "BIT_PACKED"
        case 5: "DELTA_BINARY_PACKED"
        case 6: "DELTA_LENGTH_BYTE_ARRAY"
        case 7: "DELTA_BYTE_ARRAY"
        case 8: "RLE_DICTIONARY"
        case 9: "BYTE_STREAM_SPLIT"
        case 10: "ALP"
        default: "encoding \(e)"
        }
    }
}

/// `CompressionCodec` of parquet.thrift.
enum ParquetCodec {
    static let uncompressed: Int32 = 0
    static let zstd: Int32 = 6

    static func name(_ c: Int32) -> String {
        switch c {
        case 0: "UNCOMPRESSED"
        case 1: "SNAPPY"
        case 2: "GZIP"
        case 3: "LZO"
        case 4: "BROTLI"
        case 5: "LZ4"
        case 6: "ZSTD"
        case 7: "LZ4_RAW"
        default: "codec \(c)"
        }
    }
}

/// `PageType` of parquet.thrift.
enum ParquetPageType {
    static let dataPage: Int32 = 0
    static let indexPage: Int32 = 1
    static let dictionaryPage: Int32 = 2
    static let dataPageV2: Int32 = 3

    static func name(_ t: Int32) -> String {
        switch t {
        case 0: "DATA_PAGE"
        case 1: "INDEX_PAGE"
        case 2: "DICTIONARY_PAGE"
        case 3: "DATA_PAGE_V2"
        default: "page type \(t)"
        }
    }
}

/// `FieldRepetitionType` of parquet.thrift.
enum ParquetRepetition {
    static let required: Int32 = 0
    static let optional: Int32 = 1
    static let repeated: Int32 = 2
}

/// `ConvertedType` of parquet.thrift (the values this module names).
enum ParquetConvertedType {
    static let utf8: Int32 = 0
    static let timestampMillis: Int32 = 9
    static let timestampMicros: Int32 = 10
    static let int64: Int32 = 18
}

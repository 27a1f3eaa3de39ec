// The parts of parquet.thrift's FileMetaData and PageHeader this module reads and writes,
// as Swift values with symmetric `encode(into:)` / `init(reading:)`. Fields not modelled here
// are skipped on read (other writers add them); field ids are parquet.thrift's.

import LambdaStoreCore

/// `Statistics` (fields 1, 2, 3, 5, 6, 9).
struct PQStatistics: Sendable, Equatable {
    var max: [UInt8]?          // 1: deprecated, signed order
    var min: [UInt8]?          // 2
    var nullCount: Int64?      // 3
    var distinctCount: Int64?  // 4
    var maxValue: [UInt8]?     // 5
    var minValue: [UInt8]?     // 6
    var nanCount: Int64?       // 9

    func encode(into w: inout ThriftWriter) {
        if let max { w.field(1, binary: max) }
        if let min { w.field(2, binary: min) }
        if let nullCount { w.field(3, i64: nullCount) }
        if let distinctCount { w.field(4, i64: distinctCount) }
        if let maxValue { w.field(5, binary: maxValue) }
        if let minValue { w.field(6, binary: minValue) }
        if let nanCount { w.field(9, i64: nanCount) }
    }

    init() {}

    init(reading r: inout ThriftReader) throws(LambdaStoreError) {
        var s = PQStatistics()
        try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
            switch id {
            case 1: try r.expect(t, .binary, "Statistics.max"); s.max = try r.bytes()
            case 2: try r.expect(t, .binary, "Statistics.min"); s.min = try r.bytes()
            case 3: try r.expect(t, .i64, "Statistics.null_count"); s.nullCount = try r.i64()
            case 4: try r.expect(t, .i64, "Statistics.distinct_count"); s.distinctCount = try r.i64()
            case 5: try r.expect(t, .binary, "Statistics.max_value"); s.maxValue = try r.bytes()
            case 6: try r.expect(t, .binary, "Statistics.min_value"); s.minValue = try r.bytes()
            case 9: try r.expect(t, .i64, "Statistics.nan_count"); s.nanCount = try r.i64()
            default: return false
            }
            return true
        }
        self = s
    }
}

/// The `LogicalType` union members this module knows; any other is `.other(fieldId)`.
enum PQLogicalType: Sendable, Equatable {
    case string
    case timestamp(isAdjustedToUTC: Bool, unit: Int)   // unit: the TimeUnit member id (1 ms, 2 µs, 3 ns)
    case integer(bitWidth: Int8, isSigned: Bool)
    case other(Int)

    var name: String {
        switch self {
        case .string: "STRING"
        case .timestamp(let utc, let unit):
            "TIMESTAMP(isAdjustedToUTC=\(utc), unit=\(unit == 1 ? "MILLIS" : unit == 2 ? "MICROS" : unit == 3 ? "NANOS" : "?"))"
        case .integer(let w, let s): "INTEGER(\(w), \(s ? "signed" : "unsigned"))"
        case .other(let id): "logical type \(id)"
        }
    }

    func encode(into w: inout ThriftWriter) {
        switch self {
        case .string: w.field(1) { _ in }
        case .timestamp(let utc, let unit):
            w.field(8) { w in
                w.field(1, bool: utc)
                w.field(2) { w in w.field(unit) { _ in } }
            }
        case .integer(let width, let signed):
            w.field(10) { w in
                w.field(1, i8: width)
                w.field(2, bool: signed)
            }
        case .other(let id): w.field(id) { _ in }
        }
    }

    init(reading r: inout ThriftReader) throws(LambdaStoreError) {
        var found: PQLogicalType?
        try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
            guard found == nil else { throw r.fail("LogicalType union has more than one member") }
            guard t == .struct else { found = .other(id); return false }
            switch id {
            case 1:
                found = .string
                return false   // an empty struct: skip it
            case 8:
                var utc: Bool?
                var unit: Int?
                try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
                    switch id {
                    case 1: try r.expect(t, .boolTrue, "TimestampType.isAdjustedToUTC"); utc = t == .boolTrue
                    case 2:
                        try r.expect(t, .struct, "TimestampType.unit")
                        try r.readStruct { (_: inout ThriftReader, id: Int, _: ThriftType) throws(LambdaStoreError) -> Bool in
                            unit = id
                            return false
                        }
                    default: return false
                    }
                    return true
                }
                guard let utc, let unit else { throw r.fail("TimestampType lacks isAdjustedToUTC or unit") }
                found = .timestamp(isAdjustedToUTC: utc, unit: unit)
                return true
            case 10:
                var width: Int8?
                var signed: Bool?
                try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
                    switch id {
                    case 1: try r.expect(t, .byte, "IntType.bitWidth"); width = Int8(bitPattern: try r.byte())
                    case 2: try r.expect(t, .boolTrue, "IntType.isSigned"); signed = t == .boolTrue
                    default: return false
                    }
                    return true
                }
                guard let width, let signed else { throw r.fail("IntType lacks bitWidth or isSigned") }
                found = .integer(bitWidth: width, isSigned: signed)
                return true
            default:
                found = .other(id)
                return false
            }
        }
        guard let found else { throw r.fail("LogicalType union has no member") }
        self = found
    }
}

/// `SchemaElement` (fields 1 to 6 and 10).
struct PQSchemaElement: Sendable, Equatable {
    var type: Int32?
    var typeLength: Int32?
    var repetition: Int32?
    var name: String
    var numChildren: Int32?
    var convertedType: Int32?
    var logicalType: PQLogicalType?

    init(name: String) { self.name = name }

    func encode(into w: inout ThriftWriter) {
        w.element { w in
            if let type { w.field(1, i32: type) }
            if let typeLength { w.field(2, i32: typeLength) }
            if let repetition { w.field(3, i32: repetition) }
            w.field(4, string: name)
            if let numChildren { w.field(5, i32: numChildren) }
            if let convertedType { w.field(6, i32: convertedType) }
            if let logicalType { w.field(10) { w in logicalType.encode(into: &w) } }
        }
    }

    init(reading r: inout ThriftReader) throws(LambdaStoreError) {
        var e = PQSchemaElement(name: "")
        var hasName = false
        try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
            switch id {
            case 1: try r.expect(t, .i32, "SchemaElement.type"); e.type = try r.i32()
            case 2: try r.expect(t, .i32, "SchemaElement.type_length"); e.typeLength = try r.i32()
            case 3: try r.expect(t, .i32, "SchemaElement.repetition_type"); e.repetition = try r.i32()
            case 4: try r.expect(t, .binary, "SchemaElement.name"); e.name = try r.string(); hasName = true
            case 5: try r.expect(t, .i32, "SchemaElement.num_children"); e.numChildren = try r.i32()
            case 6: try r.expect(t, .i32, "SchemaElement.converted_type"); e.convertedType = try r.i32()
            case 10: try r.expect(t, .struct, "SchemaElement.logicalType"); e.logicalType = try PQLogicalType(reading: &r)
            default: return false
            }
            return true
        }
        guard hasName else { throw r.fail("SchemaElement lacks its name") }
        self = e
    }
}

/// `PageEncodingStats`.
struct PQPageEncodingStats: Sendable, Equatable {
    var pageType: Int32
    var encoding: Int32
    var count: Int32
}

/// `ColumnMetaData` (fields 1 to 7, 9, 11, 12, 13).
struct PQColumnMetaData: Sendable, Equatable {
    var type: Int32 = 0
    var encodings: [Int32] = []
    var pathInSchema: [String] = []
    var codec: Int32 = 0
    var numValues: Int64 = 0
    var totalUncompressedSize: Int64 = 0
    var totalCompressedSize: Int64 = 0
    var dataPageOffset: Int64 = 0
    var dictionaryPageOffset: Int64?
    var statistics: PQStatistics?
    var encodingStats: [PQPageEncodingStats]?

    func encode(into w: inout ThriftWriter) {
        w.field(1, i32: type)
        w.fieldList(2, of: .i32, count: encodings.count)
        for e in encodings { w.zigzag(Int64(e)) }
        w.fieldList(3, of: .binary, count: pathInSchema.count)
        for p in pathInSchema { w.binary(Array(p.utf8)) }
        w.field(4, i32: codec)
        w.field(5, i64: numValues)
        w.field(6, i64: totalUncompressedSize)
        w.field(7, i64: totalCompressedSize)
        w.field(9, i64: dataPageOffset)
        if let dictionaryPageOffset { w.field(11, i64: dictionaryPageOffset) }
        if let statistics { w.field(12) { w in statistics.encode(into: &w) } }
        if let encodingStats {
            w.fieldList(13, of: .struct, count: encodingStats.count)
            for s in encodingStats {
                w.element { w in
                    w.field(1, i32: s.pageType)
                    w.field(2, i32: s.encoding)
                    w.field(3, i32: s.count)
                }
            }
        }
    }

    init() {}

    init(reading r: inout ThriftReader) throws(LambdaStoreError) {
        var m = PQColumnMetaData()
        var seen = Set<Int>()
        let start = r.position
        try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
            switch id {
            case 1: try r.expect(t, .i32, "ColumnMetaData.type"); m.type = try r.i32()
            case 2: try r.expect(t, .list, "ColumnMetaData.encodings"); m.encodings = try r.list(of: .i32, "encodings") { (r: inout ThriftReader) throws(LambdaStoreError) in try r.i32() }
            case 3: try r.expect(t, .list, "ColumnMetaData.path_in_schema"); m.pathInSchema = try r.list(of: .binary, "path_in_schema") { (r: inout ThriftReader) throws(LambdaStoreError) in try r.string() }
            case 4: try r.expect(t, .i32, "ColumnMetaData.codec"); m.codec = try r.i32()
            case 5: try r.expect(t, .i64, "ColumnMetaData.num_values"); m.numValues = try r.i64()
            case 6: try r.expect(t, .i64, "ColumnMetaData.total_uncompressed_size"); m.totalUncompressedSize = try r.i64()
            case 7: try r.expect(t, .i64, "ColumnMetaData.total_compressed_size"); m.totalCompressedSize = try r.i64()
            case 9: try r.expect(t, .i64, "ColumnMetaData.data_page_offset"); m.dataPageOffset = try r.i64()
            case 11: try r.expect(t, .i64, "ColumnMetaData.dictionary_page_offset"); m.dictionaryPageOffset = try r.i64()
            case 12: try r.expect(t, .struct, "ColumnMetaData.statistics"); m.statistics = try PQStatistics(reading: &r)
            case 13:
                try r.expect(t, .list, "ColumnMetaData.encoding_stats")
                m.encodingStats = try r.list(of: .struct, "encoding_stats") { (r: inout ThriftReader) throws(LambdaStoreError) in
                    var s = PQPageEncodingStats(pageType: -1, encoding: -1, count: -1)
                    try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
                        switch id {
                        case 1: try r.expect(t, .i32, "PageEncodingStats.page_type"); s.pageType = try r.i32()
                        case 2: try r.expect(t, .i32, "PageEncodingStats.encoding"); s.encoding = try r.i32()
                        case 3: try r.expect(t, .i32, "PageEncodingStats.count"); s.count = try r.i32()
                        default: return false
                        }
                        return true
                    }
                    return s
                }
            default: return false
            }
            seen.insert(id)
            return true
        }
        for (id, name) in [(1, "type"), (2, "encodings"), (3, "path_in_schema"), (4, "codec"), (5, "num_values"), (6, "total_uncompressed_size"), (7, "total_compressed_size"), (9, "data_page_offset")] where !seen.contains(id) {
            throw r.fail("ColumnMetaData lacks required field \(name)", at: start)
        }
        self = m
    }
}

/// `ColumnChunk` (fields 1 to 3; encrypted column metadata is rejected by the reader).
struct PQColumnChunk: Sendable, Equatable {
    var filePath: String?
    var fileOffset: Int64 = 0
    var metaData: PQColumnMetaData?
    var isEncrypted = false

    func encode(into w: inout ThriftWriter) {
        w.element { w in
            if let filePath { w.field(1, string: filePath) }
            w.field(2, i64: fileOffset)
            if let metaData { w.field(3) { w in metaData.encode(into: &w) } }
        }
    }

    init() {}

    init(reading r: inout ThriftReader) throws(LambdaStoreError) {
        var c = PQColumnChunk()
        try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
            switch id {
            case 1: try r.expect(t, .binary, "ColumnChunk.file_path"); c.filePath = try r.string()
            case 2: try r.expect(t, .i64, "ColumnChunk.file_offset"); c.fileOffset = try r.i64()
            case 3: try r.expect(t, .struct, "ColumnChunk.meta_data"); c.metaData = try PQColumnMetaData(reading: &r)
            case 8, 9: c.isEncrypted = true; return false
            default: return false
            }
            return true
        }
        self = c
    }
}

/// `RowGroup` (fields 1 to 3, 5 to 7).
struct PQRowGroup: Sendable, Equatable {
    var columns: [PQColumnChunk] = []
    var totalByteSize: Int64 = 0
    var numRows: Int64 = 0
    var fileOffset: Int64?
    var totalCompressedSize: Int64?
    var ordinal: Int16?

    func encode(into w: inout ThriftWriter) {
        w.element { w in
            w.fieldList(1, of: .struct, count: columns.count)
            for c in columns { c.encode(into: &w) }
            w.field(2, i64: totalByteSize)
            w.field(3, i64: numRows)
            if let fileOffset { w.field(5, i64: fileOffset) }
            if let totalCompressedSize { w.field(6, i64: totalCompressedSize) }
            if let ordinal { w.field(7, i16: ordinal) }
        }
    }

    init() {}

    init(reading r: inout ThriftReader) throws(LambdaStoreError) {
        var g = PQRowGroup()
        var seen = Set<Int>()
        let start = r.position
        try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
            switch id {
            case 1: try r.expect(t, .list, "RowGroup.columns"); g.columns = try r.list(of: .struct, "columns") { (r: inout ThriftReader) throws(LambdaStoreError) in try PQColumnChunk(reading: &r) }
            case 2: try r.expect(t, .i64, "RowGroup.total_byte_size"); g.totalByteSize = try r.i64()
            case 3: try r.expect(t, .i64, "RowGroup.num_rows"); g.numRows = try r.i64()
            case 5: try r.expect(t, .i64, "RowGroup.file_offset"); g.fileOffset = try r.i64()
            case 6: try r.expect(t, .i64, "RowGroup.total_compressed_size"); g.totalCompressedSize = try r.i64()
            case 7: try r.expect(t, .i16, "RowGroup.ordinal"); g.ordinal = try r.i16()
            default: return false
            }
            seen.insert(id)
            return true
        }
        guard seen.contains(1), seen.contains(3) else { throw r.fail("RowGroup lacks columns or num_rows", at: start) }
        self = g
    }
}

/// `FileMetaData` (fields 1 to 8; `encryption_algorithm` only noticed, to reject it).
struct PQFileMetaData: Sendable, Equatable {
    var version: Int32 = 2
    var schema: [PQSchemaElement] = []
    var numRows: Int64 = 0
    var rowGroups: [PQRowGroup] = []
    var keyValueMetadata: [(key: String, value: String?)] = []
    var createdBy: String?
    /// Per leaf column, the `ColumnOrder` union member id (1: TYPE_ORDER).
    var columnOrders: [Int]?
    var isEncrypted = false

    static func == (a: PQFileMetaData, b: PQFileMetaData) -> Bool {
        a.version == b.version && a.schema == b.schema && a.numRows == b.numRows && a.rowGroups == b.rowGroups
            && a.keyValueMetadata.map(\.key) == b.keyValueMetadata.map(\.key) && a.keyValueMetadata.map(\.value) == b.keyValueMetadata.map(\.value)
            && a.createdBy == b.createdBy && a.columnOrders == b.columnOrders && a.isEncrypted == b.isEncrypted
    }

    func encode(into w: inout ThriftWriter) {
        w.beginStruct()
        w.field(1, i32: version)
        w.fieldList(2, of: .struct, count: schema.count)
        for e in schema { e.encode(into: &w) }
        w.field(3, i64: numRows)
        w.fieldList(4, of: .struct, count: rowGroups.count)
        for g in rowGroups { g.encode(into: &w) }
        if !keyValueMetadata.isEmpty {
            w.fieldList(5, of: .struct, count: keyValueMetadata.count)
            for kv in keyValueMetadata {
                w.element { w in
                    w.field(1, string: kv.key)
                    if let v = kv.value { w.field(2, string: v) }
                }
            }
        }
        if let createdBy { w.field(6, string: createdBy) }
        if let columnOrders {
            w.fieldList(7, of: .struct, count: columnOrders.count)
            for o in columnOrders { w.element { w in w.field(o) { _ in } } }
        }
        w.endStruct()
    }

    init() {}

    init(reading r: inout ThriftReader) throws(LambdaStoreError) {
        var m = PQFileMetaData()
        var seen = Set<Int>()
        try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
            switch id {
            case 1: try r.expect(t, .i32, "FileMetaData.version"); m.version = try r.i32()
            case 2: try r.expect(t, .list, "FileMetaData.schema"); m.schema = try r.list(of: .struct, "schema") { (r: inout ThriftReader) throws(LambdaStoreError) in try PQSchemaElement(reading: &r) }
            case 3: try r.expect(t, .i64, "FileMetaData.num_rows"); m.numRows = try r.i64()
            case 4: try r.expect(t, .list, "FileMetaData.row_groups"); m.rowGroups = try r.list(of: .struct, "row_groups") { (r: inout ThriftReader) throws(LambdaStoreError) in try PQRowGroup(reading: &r) }
            case 5:
                try r.expect(t, .list, "FileMetaData.key_value_metadata")
                m.keyValueMetadata = try r.list(of: .struct, "key_value_metadata") { (r: inout ThriftReader) throws(LambdaStoreError) -> (key: String, value: String?) in
                    var key: String?
                    var value: String?
                    try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
                        switch id {
                        case 1: try r.expect(t, .binary, "KeyValue.key"); key = try r.string()
                        case 2: try r.expect(t, .binary, "KeyValue.value"); value = try r.string()
                        default: return false
                        }
                        return true
                    }
                    guard let key else { throw r.fail("KeyValue lacks its key") }
                    return (key, value)
                }
            case 6: try r.expect(t, .binary, "FileMetaData.created_by"); m.createdBy = try r.string()
            case 7:
                try r.expect(t, .list, "FileMetaData.column_orders")
                m.columnOrders = try r.list(of: .struct, "column_orders") { (r: inout ThriftReader) throws(LambdaStoreError) -> Int in
                    var member = 0
                    try r.readStruct { (_: inout ThriftReader, id: Int, _: ThriftType) throws(LambdaStoreError) -> Bool in
                        member = id
                        return false
                    }
                    return member
                }
            case 8: m.isEncrypted = true; return false
            default: return false
            }
            seen.insert(id)
            return true
        }
        guard seen.contains(1), seen.contains(2), seen.contains(3), seen.contains(4) else {
            throw r.fail("FileMetaData lacks version, schema, num_rows or row_groups", at: 0)
        }
        self = m
    }
}

/// `DataPageHeader` / `DataPageHeaderV2` / `DictionaryPageHeader`, merged: which is set
/// depends on ``PQPageHeader/type``.
struct PQPageHeader: Sendable, Equatable {
    var type: Int32 = 0
    var uncompressedSize: Int32 = 0
    var compressedSize: Int32 = 0
    var crc: Int32?
    // DATA_PAGE (5), DICTIONARY_PAGE (7), DATA_PAGE_V2 (8)
    var numValues: Int32 = 0
    var encoding: Int32 = 0
    var definitionLevelEncoding: Int32 = ParquetEncoding.rle
    var repetitionLevelEncoding: Int32 = ParquetEncoding.rle
    var statistics: PQStatistics?
    var isSorted: Bool?
    // DATA_PAGE_V2 only
    var numNulls: Int32 = 0
    var numRows: Int32 = 0
    var definitionLevelsByteLength: Int32 = 0
    var repetitionLevelsByteLength: Int32 = 0
    var isCompressed = true
    /// Which page header member was present (5, 6, 7 or 8; 0 none).
    var member = 0

    func encode(into w: inout ThriftWriter) {
        w.beginStruct()
        w.field(1, i32: type)
        w.field(2, i32: uncompressedSize)
        w.field(3, i32: compressedSize)
        if let crc { w.field(4, i32: crc) }
        switch type {
        case ParquetPageType.dictionaryPage:
            w.field(7) { w in
                w.field(1, i32: numValues)
                w.field(2, i32: encoding)
                if let isSorted { w.field(3, bool: isSorted) }
            }
        case ParquetPageType.dataPageV2:
            w.field(8) { w in
                w.field(1, i32: numValues)
                w.field(2, i32: numNulls)
                w.field(3, i32: numRows)
                w.field(4, i32: encoding)
                w.field(5, i32: definitionLevelsByteLength)
                w.field(6, i32: repetitionLevelsByteLength)
                w.field(7, bool: isCompressed)
                if let statistics { w.field(8) { w in statistics.encode(into: &w) } }
            }
        default:
            w.field(5) { w in
                w.field(1, i32: numValues)
                w.field(2, i32: encoding)
                w.field(3, i32: definitionLevelEncoding)
                w.field(4, i32: repetitionLevelEncoding)
                if let statistics { w.field(5) { w in statistics.encode(into: &w) } }
            }
        }
        w.endStruct()
    }

    init() {}

    init(reading r: inout ThriftReader) throws(LambdaStoreError) {
        var h = PQPageHeader()
        var seen = Set<Int>()
        let start = r.position
        try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
            switch id {
            case 1: try r.expect(t, .i32, "PageHeader.type"); h.type = try r.i32()
            case 2: try r.expect(t, .i32, "PageHeader.uncompressed_page_size"); h.uncompressedSize = try r.i32()
            case 3: try r.expect(t, .i32, "PageHeader.compressed_page_size"); h.compressedSize = try r.i32()
            case 4: try r.expect(t, .i32, "PageHeader.crc"); h.crc = try r.i32()
            case 5:
                try r.expect(t, .struct, "PageHeader.data_page_header")
                h.member = 5
                var got = Set<Int>()
                try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
                    switch id {
                    case 1: try r.expect(t, .i32, "DataPageHeader.num_values"); h.numValues = try r.i32()
                    case 2: try r.expect(t, .i32, "DataPageHeader.encoding"); h.encoding = try r.i32()
                    case 3: try r.expect(t, .i32, "DataPageHeader.definition_level_encoding"); h.definitionLevelEncoding = try r.i32()
                    case 4: try r.expect(t, .i32, "DataPageHeader.repetition_level_encoding"); h.repetitionLevelEncoding = try r.i32()
                    case 5: try r.expect(t, .struct, "DataPageHeader.statistics"); h.statistics = try PQStatistics(reading: &r)
                    default: return false
                    }
                    got.insert(id)
                    return true
                }
                guard got.isSuperset(of: [1, 2, 3, 4]) else { throw r.fail("DataPageHeader lacks a required field", at: start) }
            case 7:
                try r.expect(t, .struct, "PageHeader.dictionary_page_header")
                h.member = 7
                var got = Set<Int>()
                try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
                    switch id {
                    case 1: try r.expect(t, .i32, "DictionaryPageHeader.num_values"); h.numValues = try r.i32()
                    case 2: try r.expect(t, .i32, "DictionaryPageHeader.encoding"); h.encoding = try r.i32()
                    case 3: try r.expect(t, .boolTrue, "DictionaryPageHeader.is_sorted"); h.isSorted = t == .boolTrue
                    default: return false
                    }
                    got.insert(id)
                    return true
                }
                guard got.isSuperset(of: [1, 2]) else { throw r.fail("DictionaryPageHeader lacks a required field", at: start) }
            case 8:
                try r.expect(t, .struct, "PageHeader.data_page_header_v2")
                h.member = 8
                var got = Set<Int>()
                try r.readStruct { (r: inout ThriftReader, id: Int, t: ThriftType) throws(LambdaStoreError) -> Bool in
                    switch id {
                    case 1: try r.expect(t, .i32, "DataPageHeaderV2.num_values"); h.numValues = try r.i32()
                    case 2: try r.expect(t, .i32, "DataPageHeaderV2.num_nulls"); h.numNulls = try r.i32()
                    case 3: try r.expect(t, .i32, "DataPageHeaderV2.num_rows"); h.numRows = try r.i32()
                    case 4: try r.expect(t, .i32, "DataPageHeaderV2.encoding"); h.encoding = try r.i32()
                    case 5: try r.expect(t, .i32, "DataPageHeaderV2.definition_levels_byte_length"); h.definitionLevelsByteLength = try r.i32()
                    case 6: try r.expect(t, .i32, "DataPageHeaderV2.repetition_levels_byte_length"); h.repetitionLevelsByteLength = try r.i32()
                    case 7: try r.expect(t, .boolTrue, "DataPageHeaderV2.is_compressed"); h.isCompressed = t == .boolTrue
                    case 8: try r.expect(t, .struct, "DataPageHeaderV2.statistics"); h.statistics = try PQStatistics(reading: &r)
                    default: return false
                    }
                    got.insert(id)
                    return true
                }
                guard got.isSuperset(of: [1, 2, 3, 4, 5, 6]) else { throw r.fail("DataPageHeaderV2 lacks a required field", at: start) }
            default: return false
            }
            seen.insert(id)
            return true
        }
        guard seen.isSuperset(of: [1, 2, 3]) else { throw r.fail("PageHeader lacks type or sizes", at: start) }
        self = h
    }
}

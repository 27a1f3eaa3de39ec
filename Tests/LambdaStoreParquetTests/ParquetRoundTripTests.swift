import Foundation
import LambdaStoreCore
import LambdaStoreTestSupport
import Testing

@testable import LambdaStoreParquet

@Suite struct ParquetRoundTripTests {
    @Test(arguments: [0, 1, 2, 127, 128, 129, 700, 701, 2_345])
    func everyTypeRoundTrips(rows: Int) throws {
        for nullable in [false, true] {
            for seed in UInt64(1)...3 {
                let ref = randomTable(rows: rows, nullable: nullable, seed: seed &* 31 &+ UInt64(rows))
                for dictionaryStrings in [false, true] {
                    let bytes = try ref.write(options: smallOptions(), batchRows: 333, dictionaryStrings: dictionaryStrings)
                    try checkFile(bytes, equals: ref)
                    try checkFile(bytes, equals: ref, keepDictionaries: true)
                }
            }
        }
    }

    @Test func defaultOptionsOneRowGroup() throws {
        let ref = randomTable(rows: 10_000, nullable: true, seed: 9)
        let bytes = try ref.write(options: ParquetWriterOptions(), batchRows: 4096)
        let r = try checkFile(bytes, equals: ref)
        #expect(r.rowGroups.count == 1)
        #expect(r.keyValueMetadata == ["k": "v"])
    }

    @Test func rowGroupsAndPagesSplitWhereAsked() throws {
        let ref = randomTable(rows: 1000, nullable: true, seed: 4)
        let bytes = try ref.write(options: smallOptions(rowGroupRows: 300, pageRows: 64), batchRows: 77)
        let r = try checkFile(bytes, equals: ref)
        #expect(r.rowGroups.map(\.rows) == [300, 300, 300, 100])
        let d = r.describe()
        let pages = d.rowGroups[0].columns[0].pages
        #expect(pages.filter { $0.kind == "DATA_PAGE" }.map(\.values) == [64, 64, 64, 64, 44])
        #expect(r.rowGroups[1].firstOffset == ref.offsets[300] && r.rowGroups[1].lastOffset == ref.offsets[599])
    }

    static let extremeSequences: [[Int64]] = [
        [Int64.min, Int64.max, Int64.min, Int64.max, 0, -1, 1],
        (0..<300).map { $0 % 2 == 0 ? Int64.min : Int64.max },
        (0..<300).map { Int64($0) &* 0x0123_4567_89AB_CDEF },
        [Int64](repeating: 42, count: 257),
        (0..<1000).map { Int64.max - Int64($0) },
        [Int64.max],
        [],
    ]

    @Test(arguments: extremeSequences)
    func extremeIntegersRoundTripThroughDelta(values: [Int64]) throws {
        // The encoder directly…
        var out: [UInt8] = []
        values.withUnsafeBufferPointer { DeltaBinaryPacked.encode($0, into: &out) }
        let padded = out + [UInt8](repeating: 0, count: PageBuffer.padding)
        var decoded = [Int64](repeating: 0, count: values.count)
        try padded.withBytes { (raw: UnsafeRawBufferPointer) throws(LambdaStoreError) in
            var c = PageCursor(raw, from: 0, to: out.count)
            try decoded.withUnsafeMutableBufferPointer { (d: inout UnsafeMutableBufferPointer<Int64>) throws(LambdaStoreError) in
                try DeltaBinaryPacked.decode(&c, count: values.count, into: d.baseAddress ?? UnsafeMutablePointer(bitPattern: 8).unsafelyUnwrapped, "test")
            }
            #expect(c.position == out.count)
        }
        #expect(decoded == values)
        // …and through a file (as int64, timestamp and the `_offset` column).
        let schema = Schema(stream: "x", eventTime: "t", fields: [Field(name: "t", type: .timestamp), Field(name: "i", type: .int64, nullable: true)])
        let ref = RefTable(schema: schema, columns: [values.map { .timestamp($0) }, values.map { .int64($0) }],
                           offsets: values.indices.map { Int64.min + Int64($0) * (Int64.max / 1000) })
        try checkFile(try ref.write(options: smallOptions(pageRows: 129)), equals: ref)
    }

    @Test func doublesAreBitExact() throws {
        let specials: [Double] = [.nan, -.nan, Double(bitPattern: 0x7FF0_0000_0000_0001), Double(bitPattern: 0xFFF8_DEAD_BEEF_0000), -0.0, 0.0, .infinity, -.infinity, .greatestFiniteMagnitude, -.leastNonzeroMagnitude, 1.5]
        let schema = Schema(stream: "x", eventTime: "t", fields: [Field(name: "t", type: .timestamp), Field(name: "d", type: .float64)])
        let ref = RefTable(schema: schema, columns: [specials.indices.map { .timestamp(Int64($0)) }, specials.map { .float64($0) }], offsets: specials.indices.map { Int64($0) })
        let r = try checkFile(try ref.write(options: smallOptions()), equals: ref)
        // TYPE_ORDER rules: NaN excluded from min/max, nan_count set.
        let stats = r.meta.rowGroups[0].columns[1].metaData?.statistics
        #expect(stats?.nanCount == 4)
        #expect(stats?.minValue == withUnsafeBytes(of: (-Double.infinity).bitPattern.littleEndian, Array.init))
        #expect(stats?.maxValue == withUnsafeBytes(of: Double.infinity.bitPattern.littleEndian, Array.init))
    }

    @Test func allNaNHasNoMinMaxAndZeroIsSigned() throws {
        let schema = Schema(stream: "x", eventTime: "t", fields: [Field(name: "t", type: .timestamp), Field(name: "a", type: .float64), Field(name: "z", type: .float64)])
        let ref = RefTable(schema: schema, columns: [[.timestamp(1), .timestamp(2)], [.float64(.nan), .float64(.nan)], [.float64(0.0), .float64(-0.0)]], offsets: [1, 2])
        let r = try checkFile(try ref.write(options: smallOptions()), equals: ref)
        let a = r.meta.rowGroups[0].columns[1].metaData?.statistics
        #expect(a?.minValue == nil && a?.maxValue == nil && a?.nanCount == 2)
        let z = r.meta.rowGroups[0].columns[2].metaData?.statistics
        #expect(z?.minValue.map { Double(bitPattern: UInt64(bitPattern: ParquetFileReader.int64($0))).sign } == .minus)
        #expect(z?.maxValue.map { Double(bitPattern: UInt64(bitPattern: ParquetFileReader.int64($0))).sign } == .plus)
    }

    @Test func stringsEmptyLongAndUnicode() throws {
        let long = String(repeating: "x", count: 300_000)
        let values: [Value] = [.string(""), .string(long), .null, .string("日本語"), .string(""), .string(long + "y"), .string("a\u{0}b")]
        let schema = Schema(stream: "x", eventTime: "t", fields: [Field(name: "t", type: .timestamp), Field(name: "s", type: .string, nullable: true)])
        let ref = RefTable(schema: schema, columns: [values.indices.map { .timestamp(Int64($0)) }, values], offsets: values.indices.map { Int64($0) })
        for dict in [false, true] {
            let r = try checkFile(try ref.write(options: smallOptions(pageRows: 3), dictionaryStrings: dict), equals: ref)
            let s = r.meta.rowGroups[0].columns[1].metaData?.statistics
            #expect(s?.minValue == [] && s?.maxValue == Array("日本語".utf8) && s?.nullCount == 1)
        }
        // A long min or max is left out of the statistics; the null count is kept.
        let longOnly = RefTable(schema: schema, columns: [[.timestamp(1), .timestamp(2)], [.string(long), .null]], offsets: [1, 2])
        let s = try checkFile(try longOnly.write(options: smallOptions()), equals: longOnly).meta.rowGroups[0].columns[1].metaData?.statistics
        #expect(s?.minValue == nil && s?.maxValue == nil && s?.nullCount == 1)
    }

    @Test func dictionaryFallsBackToPlainPastItsLimits() throws {
        // 70 000 distinct values exceed the 64 Ki entries of a dictionary.
        let n = 70_000
        let schema = Schema(stream: "x", eventTime: "t", fields: [Field(name: "t", type: .timestamp), Field(name: "s", type: .string), Field(name: "few", type: .string)])
        let ref = RefTable(schema: schema, columns: [(0..<n).map { .timestamp(Int64($0)) }, (0..<n).map { .string("id-\($0)") }, (0..<n).map { .string($0 % 3 == 0 ? "a" : "b") }],
                           offsets: (0..<n).map { Int64($0) })
        let bytes = try ref.write(options: ParquetWriterOptions(), batchRows: 10_000)
        let r = try checkFile(bytes, equals: ref, keepDictionaries: true)
        let d = r.describe()
        #expect(d.rowGroups[0].columns[1].encodings == ["PLAIN", "RLE"])
        #expect(!d.rowGroups[0].columns[1].pages.contains { $0.kind == "DICTIONARY_PAGE" })
        #expect(d.rowGroups[0].columns[2].encodings == ["PLAIN", "RLE", "RLE_DICTIONARY"])
        #expect(d.rowGroups[0].columns[2].pages.first?.kind == "DICTIONARY_PAGE")
        let (batch, _) = try r.readRowGroup(0, schema: schema, keepDictionaries: true)
        #expect(batch.columns[1].dictionary == nil)
        #expect(batch.columns[2].dictionary?.entries.count == 2)
        let (plain, _) = try r.readRowGroup(0, schema: schema)
        #expect(plain.columns[2].dictionary == nil)
    }

    @Test func dictionaryFallsBackPastOneMebibyte() throws {
        // 600 distinct strings of 2 KiB: 1.2 MiB of dictionary.
        let n = 2000
        let schema = Schema(stream: "x", eventTime: "t", fields: [Field(name: "t", type: .timestamp), Field(name: "s", type: .string)])
        let ref = RefTable(schema: schema, columns: [(0..<n).map { .timestamp(Int64($0)) }, (0..<n).map { .string(String(repeating: "\($0 % 600)", count: 2048 / 3)) }],
                           offsets: (0..<n).map { Int64($0) })
        let r = try checkFile(try ref.write(options: ParquetWriterOptions(), batchRows: 500, dictionaryStrings: true), equals: ref)
        #expect(r.describe().rowGroups[0].columns[1].encodings == ["PLAIN", "RLE"])
    }

    @Test func intEncodingIsChosenBySize() throws {
        let n = 5000
        var rng = SplitMix64(seed: 5)
        let schema = Schema(stream: "x", eventTime: "t", fields: [Field(name: "t", type: .timestamp), Field(name: "few", type: .int64)])
        let ref = RefTable(schema: schema, columns: [(0..<n).map { .timestamp(1_700_000_000_000 + Int64($0) * 10 + Int64(rng.next() % 5)) }, (0..<n).map { _ in .int64([7, 1_000_000_007, -5][Int(rng.next() % 3)]) }],
                           offsets: (0..<n).map { Int64($0) })
        let d = try checkFile(try ref.write(options: ParquetWriterOptions()), equals: ref).describe()
        #expect(d.rowGroups[0].columns[0].encodings.contains("DELTA_BINARY_PACKED"))
        #expect(d.rowGroups[0].columns[2].encodings.contains("DELTA_BINARY_PACKED"))   // _offset
        #expect(d.rowGroups[0].columns[0].codec == "ZSTD")
    }

    @Test func footerDescribesTypesAndStatistics() throws {
        let ref = randomTable(rows: 500, nullable: true, seed: 77)
        let r = try checkFile(try ref.write(options: smallOptions(rowGroupRows: 200)), equals: ref)
        let m = r.meta
        #expect(m.createdBy == "LambdaStore")
        #expect(m.columnOrders == Array(repeating: 1, count: 7))
        #expect(m.schema[0].numChildren == 7)
        #expect(m.schema[1].logicalType == .timestamp(isAdjustedToUTC: true, unit: 1) && m.schema[1].convertedType == ParquetConvertedType.timestampMillis)
        #expect(m.schema[5].logicalType == .string && m.schema[5].convertedType == ParquetConvertedType.utf8)
        #expect(m.schema[2].repetition == ParquetRepetition.optional && m.schema[1].repetition == ParquetRepetition.required)
        #expect(m.schema[7].name == "_offset" && m.schema[7].type == ParquetPhysicalType.int64.rawValue)
        for (gi, g) in r.rowGroups.enumerated() {
            let (batch, _) = try r.readRowGroup(gi, schema: ref.schema)
            for j in [0, 1, 5] {
                #expect(g.intRanges[j].map { [$0.min, $0.max] } == batch.range(ofColumn: j).map { [$0.min, $0.max] })
            }
            #expect(g.intRanges[2] == nil && g.intRanges[4] == nil)
            #expect(g.intRanges[6].map { [$0.min, $0.max] } == [g.firstOffset, g.lastOffset])
        }
        let json = try JSONEncoder().encode(r.describe())
        #expect(try JSONDecoder().decode(ParquetFileDescription.self, from: json) == r.describe())
    }

    @Test func writerRejectsBadInput() throws {
        let schema = allTypesSchema(nullable: false)
        let ref = randomTable(rows: 10, nullable: false, seed: 1)
        var w = try ParquetFileWriter(schema: schema, keyValueMetadata: [])
        #expect(throws: LambdaStoreError.self) { try w.append(ref.batch(0..<10), offsets: Array(ref.offsets[0..<9])) }
        #expect(throws: LambdaStoreError.self) { try w.append(ref.batch(0..<2), offsets: [5, 5]) }
        try w.append(ref.batch(0..<2), offsets: [5, 6])
        #expect(throws: LambdaStoreError.self) { try w.append(ref.batch(2..<3), offsets: [6]) }
        let other = randomTable(rows: 3, nullable: true, seed: 2)
        #expect(throws: LambdaStoreError.self) { try w.append(ColumnBatch(schemaVersion: 1, columns: Array(other.batch(0..<3).columns.prefix(3))), offsets: [7, 8, 9]) }
        _ = try w.finish()
        #expect(throws: LambdaStoreError.self) { _ = try w.finish() }
        let bad = Schema(stream: "x", eventTime: "t", fields: [Field(name: "t", type: .timestamp), Field(name: "_offset", type: .int64)])
        #expect(throws: LambdaStoreError.self) { _ = try ParquetFileWriter(schema: bad, keyValueMetadata: []) }
        var o = ParquetWriterOptions()
        o.rowGroupRows = 0
        #expect(throws: LambdaStoreError.self) { _ = try ParquetFileWriter(schema: schema, keyValueMetadata: [], options: o) }
    }

    @Test func readerRejectsAMismatchedSchema() throws {
        let ref = randomTable(rows: 10, nullable: true, seed: 1)
        let r = try ParquetFileReader(bytes: try ref.write(options: smallOptions()), path: "x.parquet")
        var s = ref.schema
        s.fields[1].nullable = false
        #expect { try r.readRowGroup(0, schema: s) } throws: { ($0 as? LambdaStoreError)?.code == .schema }
        s = ref.schema
        s.fields[2].type = .int64
        #expect { try r.readRowGroup(0, schema: s) } throws: { ($0 as? LambdaStoreError)?.code == .schema }
        s = ref.schema
        s.fields.removeLast()
        #expect { try r.readRowGroup(0, schema: s) } throws: { ($0 as? LambdaStoreError)?.code == .schema }
        #expect { try r.readRowGroup(1, schema: ref.schema) } throws: { ($0 as? LambdaStoreError)?.code == .invalidArgument }
        #expect(r.columns.last == ParquetColumnInfo(name: "_offset", type: .int64, nullable: false))
    }

    @Test func emptyFileHasNoRowGroups() throws {
        let ref = randomTable(rows: 0, nullable: true, seed: 1)
        let r = try checkFile(try ref.write(options: smallOptions()), equals: ref)
        #expect(r.rowGroups.isEmpty && r.rowCount == 0)
    }
}

@Suite struct ParquetFooterOnlyTests {
    /// A footer-only reader (what the archive's open-time check uses) sees the same row groups
    /// and statistics as a whole-file reader; a tail that misses part of a long footer is
    /// refused as `.invalidArgument` (the caller then reads footer length + 8 bytes), never
    /// misread; row groups cannot be read through it.
    @Test func aTailReaderSeesTheWholeFilesFooter() throws {
        let ref = randomTable(rows: 3_000, nullable: true, seed: 77)
        let bytes = try ref.write(options: smallOptions(rowGroupRows: 10, pageRows: 10), batchRows: 500)   // 300 row groups: a long footer
        let whole = try ParquetFileReader(bytes: bytes, path: "f.parquet")
        let n = bytes.count
        let footer = Int(UInt32(bytes[n - 8]) | UInt32(bytes[n - 7]) << 8 | UInt32(bytes[n - 6]) << 16 | UInt32(bytes[n - 5]) << 24)
        #expect(footer > 8 << 10, "the footer must be longer than the first tail read (\(footer) bytes)")
        #expect(throws: LambdaStoreError.self) { _ = try ParquetFileReader(tail: Array(bytes[(n - (8 << 10))...]), fileSize: n, path: "f.parquet") }
        do {
            _ = try ParquetFileReader(tail: Array(bytes[(n - (8 << 10))...]), fileSize: n, path: "f.parquet")
        } catch {
            #expect(error.code == .invalidArgument, "\(error)")
        }
        let tail = try ParquetFileReader(tail: Array(bytes[(n - footer - 8)...]), fileSize: n, path: "f.parquet")
        #expect(tail.rowGroups.count == whole.rowGroups.count)
        for (a, b) in zip(tail.rowGroups, whole.rowGroups) {
            #expect(a.rows == b.rows && a.firstOffset == b.firstOffset && a.lastOffset == b.lastOffset && a.compressedBytes == b.compressedBytes)
            #expect(a.intRanges.map { $0.map { [$0.min, $0.max] } } == b.intRanges.map { $0.map { [$0.min, $0.max] } })
        }
        #expect(tail.keyValueMetadata == whole.keyValueMetadata && tail.rowCount == whole.rowCount)
        #expect(throws: LambdaStoreError.self) { _ = try tail.readRowGroup(0, schema: allTypesSchema(nullable: true)) }
        // A whole file given as its own tail is the whole-file reader.
        let same = try ParquetFileReader(tail: bytes, fileSize: n, path: "f.parquet")
        #expect(same.rowGroups.count == whole.rowGroups.count)
        _ = try checkFile(bytes, equals: ref)
    }
}

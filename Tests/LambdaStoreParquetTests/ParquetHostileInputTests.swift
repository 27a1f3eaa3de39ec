import LambdaStoreCore
import LambdaStoreTestSupport
import Testing

@testable import LambdaStoreParquet

/// Everything a reader can be asked to do with a file, errors swallowed: the point is that no
/// input traps. Returns whether every step succeeded.
@discardableResult
func readEverything(_ bytes: [UInt8], _ schema: Schema) -> Bool {
    guard let r = try? ParquetFileReader(bytes: bytes, path: "hostile.parquet") else { return false }
    _ = r.describe()
    var ok = true
    for g in r.rowGroups.indices {
        for keep in [false, true] {
            do { _ = try r.readRowGroup(g, schema: schema, keepDictionaries: keep) } catch { ok = false }
        }
    }
    return ok
}

/// A one-row-group file with column `s` (a leaf `element`) and `_offset`, whose chunks are the
/// given pages (header, body as stored); the chunk metadata is filled from them.
func handMadeFile(element: PQSchemaElement, rows: Int64, codec: Int32 = ParquetCodec.uncompressed, pages: [(PQPageHeader, [UInt8])], offsets: [Int64]) -> [UInt8] {
    var file = parquetMagic
    var g = PQRowGroup()
    g.numRows = rows
    func chunk(_ type: Int32, _ name: String, _ codec: Int32, _ pages: [(PQPageHeader, [UInt8])]) -> PQColumnChunk {
        var m = PQColumnMetaData()
        m.type = type
        m.pathInSchema = [name]
        m.codec = codec
        m.numValues = rows
        m.encodings = [0, 3]
        let start = Int64(file.count)
        for (h, body) in pages {
            if h.type == ParquetPageType.dictionaryPage { m.dictionaryPageOffset = Int64(file.count) } else if m.dataPageOffset == 0 { m.dataPageOffset = Int64(file.count) }
            var w = ThriftWriter()
            h.encode(into: &w)
            file += w.bytes + body
        }
        m.totalCompressedSize = Int64(file.count) - start
        m.totalUncompressedSize = m.totalCompressedSize
        var s = PQStatistics()
        if let a = offsets.min(), let b = offsets.max() {
            s.minValue = withUnsafeBytes(of: a.littleEndian, Array.init)
            s.maxValue = withUnsafeBytes(of: b.littleEndian, Array.init)
        }
        m.statistics = s
        var c = PQColumnChunk()
        c.fileOffset = start
        c.metaData = m
        return c
    }
    g.columns.append(chunk(element.type ?? 0, element.name, codec, pages))
    var oh = PQPageHeader()
    oh.type = ParquetPageType.dataPage
    oh.numValues = Int32(offsets.count)
    oh.encoding = ParquetEncoding.plain
    let ob = offsets.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
    oh.uncompressedSize = Int32(ob.count)
    oh.compressedSize = Int32(ob.count)
    g.columns.append(chunk(ParquetPhysicalType.int64.rawValue, "_offset", ParquetCodec.uncompressed, [(oh, ob)]))
    var meta = PQFileMetaData()
    var root = PQSchemaElement(name: "schema")
    root.numChildren = 2
    var off = PQSchemaElement(name: "_offset")
    off.type = ParquetPhysicalType.int64.rawValue
    off.repetition = ParquetRepetition.required
    meta.schema = [root, element, off]
    meta.numRows = rows
    meta.rowGroups = [g]
    var w = ThriftWriter()
    meta.encode(into: &w)
    file += w.bytes
    file.appendLE(UInt32(w.bytes.count))
    return file + parquetMagic
}

func dataPage(_ numValues: Int32, encoding: Int32, body: [UInt8]) -> (PQPageHeader, [UInt8]) {
    var h = PQPageHeader()
    h.type = ParquetPageType.dataPage
    h.numValues = numValues
    h.encoding = encoding
    h.uncompressedSize = Int32(body.count)
    h.compressedSize = Int32(body.count)
    return (h, body)
}

func leaf(_ name: String, _ type: ParquetPhysicalType, optional: Bool, string: Bool = false) -> PQSchemaElement {
    var e = PQSchemaElement(name: name)
    e.type = type.rawValue
    e.repetition = optional ? ParquetRepetition.optional : ParquetRepetition.required
    if string { e.logicalType = .string }
    return e
}

@Suite struct ParquetHostileInputTests {
    static let schema = allTypesSchema(nullable: true)
    static let small: [UInt8] = {
        let ref = randomTable(rows: 300, nullable: true, seed: 11)
        return try! ref.write(options: smallOptions(rowGroupRows: 120, pageRows: 50), dictionaryStrings: false)
    }()

    @Test func everyTruncationIsAnError() {
        #expect(readEverything(Self.small, Self.schema))
        for n in 0..<Self.small.count {
            #expect(!readEverything(Array(Self.small[0..<n]), Self.schema), "prefix of \(n) bytes")
        }
    }

    @Test func randomByteFlipsNeverTrap() {
        var rng = SplitMix64(seed: 2024)
        var survived = 0
        for _ in 0..<3000 {
            var b = Self.small
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let i = Int(rng.next() % UInt64(b.count))
                b[i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            }
            if readEverything(b, Self.schema) { survived += 1 }
        }
        print("byte flips: \(survived) of 3000 mutated files still read (flips in statistics or padding)")
    }

    @Test func hugeFooterLengthIsCorruption() {
        var b = Self.small
        b.replaceSubrange((b.count - 8)..<(b.count - 4), with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect { try ParquetFileReader(bytes: b, path: "f") } throws: { ($0 as? LambdaStoreError)?.code == .corruption && ($0 as? LambdaStoreError)?.offset == Int64(b.count - 8) }
        #expect(throws: LambdaStoreError.self) { try ParquetFileReader(bytes: Array("PAR1PAR1".utf8), path: "f") }
        #expect { try ParquetFileReader(bytes: Array("PAR1\0\0\0\0\0\0\0\0PARE".utf8), path: "f") } throws: { ($0 as? LambdaStoreError)?.code == .unsupported }
    }

    @Test func hugeDeclaredSizesInTheFooterAreRefused() throws {
        let r = try ParquetFileReader(bytes: Self.small, path: "f")
        let dataEnd = Self.small.count - 8 - Int(ParquetFileReader.int64(Array(Self.small[(Self.small.count - 8)..<(Self.small.count - 4)])))
        let mutations: [(inout PQFileMetaData) -> Void] = [
            { $0.rowGroups[0].columns[1].metaData?.totalCompressedSize = .max },
            { $0.rowGroups[0].columns[1].metaData?.dataPageOffset = .max },
            { $0.rowGroups[0].columns[1].metaData?.dataPageOffset = -5 },
            { $0.rowGroups[0].numRows = 1 << 40 },
            { $0.rowGroups[0].numRows += 1 },
            { $0.numRows = 5 },
            { $0.rowGroups[0].columns[1].metaData?.numValues = 1 << 40 },
            { $0.rowGroups[0].columns[1].metaData?.codec = 1 },
            { $0.schema[2].repetition = ParquetRepetition.repeated },
            { $0.schema[0].numChildren = 3 },
            { $0.schema[2].type = ParquetPhysicalType.int32.rawValue },
            { $0.schema.removeLast() },
            { $0.rowGroups[0].columns.removeLast() },
            { $0.rowGroups[0].columns[6].metaData?.statistics = nil },
            { $0.rowGroups[0].columns[6].metaData?.statistics?.minValue = withUnsafeBytes(of: Int64(1_000_000), Array.init) },
        ]
        for (i, mutate) in mutations.enumerated() {
            var m = r.meta
            mutate(&m)
            var w = ThriftWriter()
            m.encode(into: &w)
            var b = Array(Self.small[0..<dataEnd]) + w.bytes
            b.appendLE(UInt32(w.bytes.count))
            b += parquetMagic
            #expect(!readEverything(b, Self.schema), "mutation \(i)")
        }
    }

    @Test func hostilePagesAreRefused() {
        let s = leaf("s", .byteArray, optional: true, string: true)
        let ok = handMadeFile(element: s, rows: 2, pages: [dataPage(2, encoding: 0, body: [2, 0, 0, 0, 0x03, 0x03] + [1, 0, 0, 0, 0x61] + [0, 0, 0, 0])], offsets: [1, 2])
        let schema = Schema(stream: "x", eventTime: "s", fields: [Field(name: "s", type: .string, nullable: true)])
        #expect(readEverything(ok, schema))

        var cases: [(String, [UInt8])] = []
        var huge = dataPage(2, encoding: 0, body: [])
        huge.0.uncompressedSize = .max
        cases.append(("uncompressed size beyond the limit", handMadeFile(element: s, rows: 2, pages: [huge], offsets: [1, 2])))
        var past = dataPage(2, encoding: 0, body: [1, 2, 3])
        past.0.compressedSize = 1 << 30
        cases.append(("compressed size past the chunk", handMadeFile(element: s, rows: 2, pages: [past], offsets: [1, 2])))
        cases.append(("definition level 3 > 1", handMadeFile(element: s, rows: 2, pages: [dataPage(2, encoding: 0, body: [2, 0, 0, 0, 0x04, 0x03] + [1, 0, 0, 0, 0x61] + [0, 0, 0, 0])], offsets: [1, 2])))
        cases.append(("string length past the page", handMadeFile(element: s, rows: 2, pages: [dataPage(2, encoding: 0, body: [2, 0, 0, 0, 0x04, 0x01] + [0xFF, 0xFF, 0, 0, 0x61] + [0, 0, 0, 0])], offsets: [1, 2])))
        cases.append(("invalid UTF-8", handMadeFile(element: s, rows: 2, pages: [dataPage(2, encoding: 0, body: [2, 0, 0, 0, 0x04, 0x01] + [1, 0, 0, 0, 0xFF] + [0, 0, 0, 0])], offsets: [1, 2])))
        cases.append(("more values than rows", handMadeFile(element: s, rows: 2, pages: [dataPage(3, encoding: 0, body: [2, 0, 0, 0, 0x06, 0x01] + [1, 0, 0, 0, 0x61] + [0, 0, 0, 0] + [0, 0, 0, 0])], offsets: [1, 2])))
        var dict = PQPageHeader()
        dict.type = ParquetPageType.dictionaryPage
        dict.numValues = 1
        dict.encoding = 0
        dict.uncompressedSize = 5
        dict.compressedSize = 5
        cases.append(("dictionary index out of range", handMadeFile(element: s, rows: 2, pages: [(dict, [1, 0, 0, 0, 0x61]), dataPage(2, encoding: 8, body: [2, 0, 0, 0, 0x04, 0x01] + [1, 0x04, 0x01])], offsets: [1, 2])))
        cases.append(("dictionary index bit width 40", handMadeFile(element: s, rows: 2, pages: [(dict, [1, 0, 0, 0, 0x61]), dataPage(2, encoding: 8, body: [2, 0, 0, 0, 0x04, 0x01] + [40, 0x04, 0, 0, 0, 0, 0])], offsets: [1, 2])))
        var bigDict = dict
        bigDict.numValues = .max
        cases.append(("dictionary of 2^31 entries", handMadeFile(element: s, rows: 2, pages: [(bigDict, [1, 0, 0, 0, 0x61]), dataPage(2, encoding: 8, body: [2, 0, 0, 0, 0x04, 0x01] + [0, 0x04])], offsets: [1, 2])))
        // A run longer than the page needs is cut to it: no allocation follows its length.
        readEverything(handMadeFile(element: s, rows: 2, pages: [dataPage(2, encoding: 0, body: [10, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x00] + [1, 0, 0, 0, 0x61])], offsets: [1, 2]), schema)
        cases.append(("bit-packed run of 2^62 groups", handMadeFile(element: s, rows: 2, pages: [dataPage(2, encoding: 0, body: [9, 0, 0, 0, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40] + [1, 0, 0, 0, 0x61])], offsets: [1, 2])))
        cases.append(("unsupported encoding", handMadeFile(element: s, rows: 2, pages: [dataPage(2, encoding: 6, body: [2, 0, 0, 0, 0x04, 0x01, 0, 0])], offsets: [1, 2])))
        cases.append(("offsets not increasing", handMadeFile(element: s, rows: 2, pages: [dataPage(2, encoding: 0, body: [2, 0, 0, 0, 0x04, 0x00])], offsets: [2, 2])))

        let i = leaf("s", .int64, optional: false)
        let ischema = Schema(stream: "x", eventTime: "s", fields: [Field(name: "s", type: .int64)])
        func delta(_ tail: [UInt8]) -> [UInt8] { [0x80, 0x01, 0x04, 0x02, 0x00] + tail }   // 128 per block, 4 miniblocks, 2 values, first 0
        #expect(readEverything(handMadeFile(element: i, rows: 2, pages: [dataPage(2, encoding: 5, body: delta([0x02, 1, 0, 0, 0, 0, 0, 0, 0]))], offsets: [1, 2]), ischema))
        cases.append(("delta bit width 65", handMadeFile(element: i, rows: 2, pages: [dataPage(2, encoding: 5, body: delta([0x02, 65, 0, 0, 0] + [UInt8](repeating: 0, count: 300)))], offsets: [1, 2])))
        cases.append(("delta miniblock past the page", handMadeFile(element: i, rows: 2, pages: [dataPage(2, encoding: 5, body: delta([0x02, 64, 0, 0, 0, 1]))], offsets: [1, 2])))
        cases.append(("delta block size 100", handMadeFile(element: i, rows: 2, pages: [dataPage(2, encoding: 5, body: [100, 0x04, 0x02, 0x00, 0x02, 0, 0, 0, 0])], offsets: [1, 2])))
        cases.append(("delta count mismatch", handMadeFile(element: i, rows: 2, pages: [dataPage(2, encoding: 5, body: [0x80, 0x01, 0x04, 0x05, 0x00, 0x02, 0, 0, 0, 0])], offsets: [1, 2])))
        cases.append(("null in a REQUIRED column (v2 levels)", {
            var h = dataPage(2, encoding: 0, body: [0x04, 0x01] + [UInt8](repeating: 0, count: 8))
            h.0.type = ParquetPageType.dataPageV2
            h.0.definitionLevelsByteLength = 2
            h.0.numRows = 2
            h.0.numNulls = 1
            h.0.isCompressed = false
            return handMadeFile(element: i, rows: 2, pages: [h], offsets: [1, 2])
        }()))
        for (name, bytes) in cases {
            let schema = name.contains("delta") || name.contains("REQUIRED") ? ischema : schema
            #expect(!readEverything(bytes, schema), "\(name)")
            if let r = try? ParquetFileReader(bytes: bytes, path: "p.parquet") {
                do { _ = try r.readRowGroup(0, schema: schema) } catch {
                    #expect(error.path == "p.parquet" && error.offset != nil, "\(name): \(error)")
                }
            }
        }
    }
}

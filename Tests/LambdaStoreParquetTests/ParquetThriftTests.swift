import LambdaStoreCore
import Testing

@testable import LambdaStoreParquet

@Suite struct ParquetThriftTests {
    private func read<T>(_ bytes: [UInt8], _ body: (inout ThriftReader) throws(LambdaStoreError) -> T) throws -> T {
        try bytes.withBytes { (raw: UnsafeRawBufferPointer) throws(LambdaStoreError) -> T in
            var r = ThriftReader(raw, base: 100, path: "footer")
            return try body(&r)
        }
    }

    @Test func metadataRoundTrips() throws {
        var m = PQFileMetaData()
        var root = PQSchemaElement(name: "schema")
        root.numChildren = 2
        var a = PQSchemaElement(name: "ts")
        a.type = 2; a.repetition = 0; a.convertedType = 9; a.logicalType = .timestamp(isAdjustedToUTC: true, unit: 1)
        var b = PQSchemaElement(name: "n")
        b.type = 2; b.repetition = 1; b.logicalType = .integer(bitWidth: 64, isSigned: true)
        m.schema = [root, a, b]
        m.numRows = 1 << 40
        var g = PQRowGroup()
        var c = PQColumnChunk()
        var cm = PQColumnMetaData()
        cm.encodings = Array(0..<20).map(Int32.init)   // a long list header
        cm.pathInSchema = ["ts"]
        cm.codec = 6; cm.numValues = -1; cm.dataPageOffset = Int64.max; cm.dictionaryPageOffset = Int64.min
        var st = PQStatistics()
        st.minValue = []; st.maxValue = [1, 2, 3]; st.nullCount = 0; st.nanCount = 7
        cm.statistics = st
        cm.encodingStats = [PQPageEncodingStats(pageType: 2, encoding: 0, count: 1)]
        c.metaData = cm
        c.fileOffset = 4
        g.columns = [c]
        g.numRows = 3; g.ordinal = 32767; g.fileOffset = 4; g.totalCompressedSize = 9
        m.rowGroups = [g, g]
        m.keyValueMetadata = [("a", "b"), ("no value", nil), ("ü", String(repeating: "z", count: 300))]
        m.createdBy = "LambdaStore"
        m.columnOrders = [1, 1]
        var w = ThriftWriter()
        m.encode(into: &w)
        let back = try read(w.bytes) { (r: inout ThriftReader) throws(LambdaStoreError) in try PQFileMetaData(reading: &r) }
        #expect(back == m)

        var h = PQPageHeader()
        h.type = 0; h.uncompressedSize = 10; h.compressedSize = 5; h.numValues = 3; h.encoding = 8; h.statistics = st
        var hw = ThriftWriter()
        h.encode(into: &hw)
        var hb = try read(hw.bytes) { (r: inout ThriftReader) throws(LambdaStoreError) in try PQPageHeader(reading: &r) }
        hb.member = 0
        #expect(hb == h)
    }

    /// A struct holding, before and between known fields, unknown fields of every type
    /// (including long-form ids, nested containers and bools in lists); the reader skips them.
    @Test func unknownFieldsOfEveryTypeAreSkipped() throws {
        var w = ThriftWriter()
        w.beginStruct()
        w.field(1, i32: 2)                                   // version
        w.field(100, bool: true)                             // long form
        w.field(101, bool: false)
        w.field(102, i8: -3)
        w.field(103, i16: -300)
        w.field(104, i32: .min)
        w.field(105, i64: .max)
        w.field(106, double: .pi)
        w.field(107, binary: [1, 2, 3])
        w.fieldList(108, of: .boolTrue, count: 3)
        w.bytes += [1, 2, 0]
        w.fieldHeader(109, .set)
        w.listHeader(.list, count: 1)
        w.listHeader(.i64, count: 2)
        w.zigzag(-1); w.zigzag(1 << 40)
        w.fieldHeader(110, .map)
        w.varint(2)
        w.bytes.append(ThriftType.binary.rawValue << 4 | ThriftType.struct.rawValue)
        for k in 0..<2 {
            w.binary([UInt8(k)])
            w.beginStruct(); w.field(1, double: 1); w.field(3) { w in w.field(1, bool: true) }; w.endStruct()
        }
        w.fieldHeader(111, .map)
        w.varint(0)                                          // empty map
        w.field(112) { w in w.fieldList(1, of: .struct, count: 20); for _ in 0..<20 { w.element { _ in } } }
        w.fieldList(2, of: .struct, count: 1)                // schema, after unknown fields (long form back down)
        PQSchemaElement(name: "root").encode(into: &w)
        w.field(3, i64: 5)
        w.fieldList(4, of: .struct, count: 0)
        w.field(9999, string: "future")
        w.endStruct()
        let m = try read(w.bytes) { (r: inout ThriftReader) throws(LambdaStoreError) in try PQFileMetaData(reading: &r) }
        #expect(m.version == 2 && m.numRows == 5 && m.schema.map(\.name) == ["root"] && m.rowGroups.isEmpty)
    }

    @Test func deepNestingIsRefused() throws {
        var w = ThriftWriter()
        w.beginStruct()
        for _ in 0..<200 { w.fieldHeader(50, .struct); w.beginStruct() }
        for _ in 0..<200 { w.endStruct() }
        w.endStruct()
        #expect(throws: LambdaStoreError.self) { try read(w.bytes) { (r: inout ThriftReader) throws(LambdaStoreError) in try PQFileMetaData(reading: &r) } }
        // Lists of lists nest too.
        var l = ThriftWriter()
        l.beginStruct()
        l.fieldHeader(50, .list)
        for _ in 0..<200 { l.listHeader(.list, count: 1) }
        l.listHeader(.i32, count: 0)
        l.endStruct()
        #expect(throws: LambdaStoreError.self) { try read(l.bytes) { (r: inout ThriftReader) throws(LambdaStoreError) in try PQFileMetaData(reading: &r) } }
    }

    @Test(arguments: [
        [0xF9, 0xFC, 0xFF, 0xFF, 0xFF, 0x0F],                               // list of 2^32 structs
        [0xF9, 0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],   // list of 2^64-1 i32
        [0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0x07],                               // binary of 2^31 bytes
        [0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], // varint of 11 bytes
        [0x15, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],                               // i32 out of range
        [0xFB, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x88],                         // map of 2^32 entries
        [0x1D],                                                             // unknown type 13
        [0x15],                                                             // truncated
        [0xF6, 0x80],                                                       // truncated varint
        [0xFC, 0x0D, 0x00],                                                 // bad type in a nested struct
    ] as [[UInt8]])
    func hostileBytesThrow(bytes: [UInt8]) {
        #expect(throws: LambdaStoreError.self) { try read(bytes) { (r: inout ThriftReader) throws(LambdaStoreError) in try PQFileMetaData(reading: &r) } }
    }

    @Test func missingRequiredFieldsThrow() {
        var w = ThriftWriter()
        w.beginStruct()
        w.field(1, i32: 1)
        w.endStruct()
        #expect(throws: LambdaStoreError.self) { try read(w.bytes) { (r: inout ThriftReader) throws(LambdaStoreError) in try PQFileMetaData(reading: &r) } }
    }

    @Test func errorsCarryPathAndOffset() throws {
        do {
            _ = try read([0x15, 0x02, 0x1D]) { (r: inout ThriftReader) throws(LambdaStoreError) in try PQFileMetaData(reading: &r) }
            Issue.record("no error")
        } catch let e as LambdaStoreError {
            #expect(e.code == .corruption && e.path == "footer" && e.offset == 102)
        }
    }

    @Test func hybridRunsRoundTrip() throws {
        var rng = SplitMix64Lite(seed: 3)
        for width in [0, 1, 2, 5, 8, 13, 20, 32] {
            for n in [0, 1, 7, 8, 9, 100, 1000] {
                let values: [UInt32] = (0..<n).map { i in
                    let v = i % 50 < 25 ? 1 : UInt32(truncatingIfNeeded: rng.next())
                    return width == 32 ? v : v & ((1 << UInt32(width)) - 1)
                }
                var out: [UInt8] = []
                values.withUnsafeBufferPointer { RLEHybrid.encode($0, width: width, into: &out) }
                let padded = out + [UInt8](repeating: 0, count: PageBuffer.padding)
                var back = [UInt32](repeating: 0, count: n)
                try padded.withBytes { (raw: UnsafeRawBufferPointer) throws(LambdaStoreError) in
                    var c = PageCursor(raw, from: 0, to: out.count)
                    try back.withUnsafeMutableBufferPointer { (b: inout UnsafeMutableBufferPointer<UInt32>) throws(LambdaStoreError) in
                        if n > 0 { _ = try RLEHybrid.decode(&c, count: n, width: width, into: b.baseAddress.unsafelyUnwrapped, "test") }
                    }
                    #expect(c.position == out.count)
                }
                #expect(back == values, "width \(width), \(n) values")
            }
        }
    }

    /// The spec's example: 0…7 bit-packed with width 3 is `88 C6 FA`.
    @Test func bitPackingMatchesTheSpecExample() {
        var out: [UInt8] = []
        var p = BitPacker()
        for v in 0..<8 { p.put(UInt64(v), width: 3, into: &out) }
        p.flush(&out)
        #expect(out == [0x88, 0xC6, 0xFA])
    }
}

/// A local generator so this file does not depend on the test-support target's.
struct SplitMix64Lite {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

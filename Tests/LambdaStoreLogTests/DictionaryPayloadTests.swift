import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

/// Dictionary-coded string columns of the record batch payload (format-spec.md §2.3.1): the
/// spec's example, the writer rule against a naive restatement, both decode forms, corruption,
/// and format version 1 segments.
@Suite struct DictionaryPayloadTests {
    static let exampleRows: [[Value]] = [
        [.timestamp(1_767_225_600_000), .string("m1")],
        [.timestamp(1_767_225_601_500), .string("m1")],
        [.timestamp(1_767_225_602_000), .string("m22")],
        [.timestamp(1_767_225_603_000), .string("m1")],
    ]

    static func payload(_ b: ColumnBatch, dictionaries: Bool) -> [UInt8] {
        var out: [UInt8] = []
        b.encodePayload(into: &out, dictionaryStrings: dictionaries)
        return out
    }

    @Test func specExampleEncodesAndDecodesBothWays() throws {
        let bytes = try FormatSpecTests.specHex("payload-dictionary")
        let batch = try Fixture.batch(FormatSpecTests.schema, Self.exampleRows)
        #expect(Self.payload(batch, dictionaries: true) == bytes, "the writer no longer produces the spec's dictionary example")
        #expect(Self.payload(batch, dictionaries: false).count == bytes.count + 4, "the plain merchant column is 4 bytes larger")
        let plain = try bytes.withUnsafeBytes { try ColumnBatch(decodingPayload: $0, schema: FormatSpecTests.schema, dictionaries: .materialized) }
        #expect(plain.columns[1].dictionary == nil)
        #expect(Fixture.rows(plain) == Self.exampleRows)
        let kept = try bytes.withUnsafeBytes { try ColumnBatch(decodingPayload: $0, schema: FormatSpecTests.schema, dictionaries: .kept) }
        let d = try #require(kept.columns[1].dictionary)
        #expect(d.codes == [0, 0, 1, 0] && d.entries.count == 2)
        #expect(Fixture.rows(kept) == Self.exampleRows)
        #expect(Fixture.rows(kept.slice(1..<3)) == Array(Self.exampleRows[1..<3]))
        #expect(kept.columns[1].materialized().offsets == [0, 2, 4, 7, 9])
        // A format version 1 payload may not use the form.
        #expect(throws: LambdaStoreError.self) {
            try bytes.withUnsafeBytes { try ColumnBatch(decodingPayload: $0, schema: FormatSpecTests.schema, dictionaries: .rejected) }
        }
    }

    /// The writer rule of §2.3.1, restated naively: the distinct non-null values in order of
    /// first appearance, at most rows / 2 of them, strictly fewer bytes than the plain form.
    static func expectedDictionary(_ values: [String?]) -> [String]? {
        let n = values.count
        guard n >= 2, values.contains(where: { $0 != nil }) else { return nil }
        var entries: [String] = []
        for v in values { if let v, !entries.contains(v) { entries.append(v) } }
        guard entries.count <= n / 2 else { return nil }
        let width = entries.count <= 256 ? 1 : entries.count <= 65_536 ? 2 : 4
        let dictBytes = 4 + 4 * (entries.count + 1) + entries.reduce(0) { $0 + $1.utf8.count } + n * width
        let plainBytes = 4 * (n + 1) + values.reduce(0) { $0 + ($1?.utf8.count ?? 0) }
        return dictBytes < plainBytes ? entries : nil
    }

    @Test func writerRuleMatchesANaiveRestatementAndRoundTrips() throws {
        let schema = Schema(stream: "s", eventTime: "t", fields: [Field(name: "t", type: .timestamp), Field(name: "s", type: .string, nullable: true)])
        var rng = SplitMix64(seed: 2026_12_06)
        var sawDictionary = 0, sawPlain = 0, sawWide = 0
        for round in 0..<300 {
            var n = Int(rng.next() % 40) + (round % 10 == 0 ? 600 : 0)
            var distinct = Int(rng.next() % UInt64(max(1, round % 7 == 0 ? 400 : 12))) + 1
            if round % 50 == 1 { n = 1000; distinct = 300 }   // u16 codes
            let nullEvery = Int(rng.next() % 5)
            let pool = (0..<distinct).map { i in String(repeating: "ab", count: Int(rng.next() % 4)) + "v\(i)" + (i % 5 == 0 ? "" : "é") }
            let values: [String?] = (0..<n).map { _ in nullEvery > 0 && rng.next() % UInt64(nullEvery + 1) == 0 ? nil : pool[Int(rng.next() % UInt64(distinct))] }
            let rows: [[Value]] = values.enumerated().map { [.timestamp(Int64($0.offset)), $0.element.map { .string($0) } ?? .null] }
            let batch = try Fixture.batch(schema, rows)
            let bytes = Self.payload(batch, dictionaries: true)
            // The string column's flags byte: after the header (6), the timestamp column
            // (2 + 8n, no nulls) and the string column's type byte.
            let flags = n == 0 ? 0 : bytes[6 + 2 + 8 * n + 1]
            let want = Self.expectedDictionary(values)
            #expect((flags & 2 != 0) == (want != nil), "round \(round): n \(n), distinct \(distinct)")
            if let want {
                sawDictionary += 1
                if want.count > 256 { sawWide += 1 }
                let kept = try bytes.withUnsafeBytes { try ColumnBatch(decodingPayload: $0, schema: schema, dictionaries: .kept) }
                let d = try #require(kept.columns[1].dictionary)
                #expect((0..<want.count).map { d.entries.string(at: $0) } == want)
                #expect(Fixture.rows(kept) == rows)
            } else {
                sawPlain += 1
            }
            let plain = try bytes.withUnsafeBytes { try ColumnBatch(decodingPayload: $0, schema: schema, dictionaries: .materialized) }
            #expect(Fixture.rows(plain) == rows)
            #expect(plain.columns[1].dictionary == nil)
            // Both ways back to the plain form give the appended layout exactly (null rows empty).
            let original = batch.columns[1]
            #expect(plain.columns[1].offsets == original.offsets && plain.columns[1].utf8 == original.utf8, "round \(round)")
            let twin = DictionaryTwin.column(original).materialized()
            #expect(twin.offsets == original.offsets && twin.utf8 == original.utf8 && twin.nullCount == original.nullCount, "round \(round)")
        }
        #expect(sawDictionary > 30 && sawPlain > 30 && sawWide > 0)
    }

    @Test func everyByteChangeOfADictionaryColumnIsCaughtOrHarmless() throws {
        let bytes = try FormatSpecTests.specHex("payload-dictionary")
        for at in 0x28..<bytes.count {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var bad = bytes
                bad[at] ^= mask
                for mode in [PayloadDictionaries.materialized, .kept] {
                    // Either a corruption error or a batch whose every value can be read.
                    if let b = try? bad.withUnsafeBytes({ try ColumnBatch(decodingPayload: $0, schema: FormatSpecTests.schema, dictionaries: mode) }) {
                        #expect(Fixture.rows(b).count == 4)
                    }
                }
            }
        }
        // Codes outside the dictionary are named with their row.
        var bad = bytes
        bad[0x3f + 2] = 7
        do throws(LambdaStoreError) {
            _ = try typed { try bad.withUnsafeBytes { try ColumnBatch(decodingPayload: $0, schema: FormatSpecTests.schema, dictionaries: .kept) } }
            Issue.record("a code outside the dictionary was accepted")
        } catch {
            #expect(error.code == .corruption && error.message.contains("row 2"))
        }
    }

    /// Rewrites a segment header's format version (and its CRC).
    static func setVersion(_ fs: SimulatedFileSystem, _ path: String, _ version: UInt16) throws {
        var b = try #require(fs.contents(path))
        b[4] = UInt8(version & 0xFF)
        b[5] = UInt8(version >> 8)
        let crc = b.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<28])) }
        for i in 0..<4 { b[28 + i] = UInt8((crc >> (8 * UInt32(i))) & 0xFF) }
        fs.setContents(path, b)
    }

    @Test func logKeepsDictionariesOnRequestAndReadsVersionOneSegments() async throws {
        let schema = FormatSpecTests.schema
        let rows: [[Value]] = (0..<100).map { [.timestamp(1_767_225_600_000 + Int64($0)), .string("m\($0 % 3)")] }
        let seg = "/s/streams/orders/00000000000000000000.segment"
        // Version 2: stored in dictionary form; read materialized or kept.
        do {
            let fs = SimulatedFileSystem()
            let log = try EventLog.open(root: "/s", fs: fs, options: LogOptions(codec: .none))
            _ = try log.applySchema(schema)
            let stream = try log.stream("orders")
            _ = try await stream.append(try Fixture.batch(schema, rows), durability: .sync)
            let info = try #require(try stream.batchInfos(in: 0..<100).first)
            var scratch = ReadScratch()
            let kept = try stream.readBatch(info, scratch: &scratch, keepDictionaries: true)
            #expect(kept.columns[1].dictionary?.entries.count == 3 && Fixture.rows(kept) == rows)
            let plain = try stream.readBatch(info)
            #expect(plain.columns[1].dictionary == nil && Fixture.rows(plain) == rows)
            log.close()
            // The same bytes in a version 1 segment are corrupt (flags bit 1 is not allowed there).
            try Self.setVersion(fs, seg, 1)
            let reopened = try EventLog.open(root: "/s", fs: fs, options: LogOptions(codec: .none, verifyOnOpen: false))
            let s2 = try reopened.stream("orders")
            let i2 = try #require(try s2.batchInfos(in: 0..<100).first)
            do throws(LambdaStoreError) {
                _ = try s2.readBatch(i2)
                Issue.record("a dictionary column was accepted in a format version 1 segment")
            } catch {
                #expect(error.code == .corruption && error.message.contains("flags"))
            }
            reopened.close()
        }
        // Version 1 (plain payloads, as an older build wrote them): read, and appended to with
        // plain payloads only; the next segment is version 2.
        do {
            let fs = SimulatedFileSystem()
            let log = try EventLog.open(root: "/s", fs: fs, options: { var o = LogOptions(codec: .none); o.dictionaryStrings = false; return o }())
            _ = try log.applySchema(schema)
            _ = try await log.stream("orders").append(try Fixture.batch(schema, rows), durability: .sync)
            log.close()
            try Self.setVersion(fs, seg, 1)
            let reopened = try EventLog.open(root: "/s", fs: fs, options: LogOptions(segmentBytesMax: 3000, codec: .none))
            let stream = try reopened.stream("orders")
            _ = try await stream.append(try Fixture.batch(schema, rows), durability: .sync)   // into the version 1 segment
            // Rolls to a version 2 segment; encoded while the version 1 one was active: plain.
            _ = try await stream.append(try Fixture.batch(schema, rows), durability: .sync)
            _ = try await stream.append(try Fixture.batch(schema, rows), durability: .sync)   // dictionary form
            var all: [[Value]] = []
            try stream.forEachBatch(in: 0..<400) { _, b throws(LambdaStoreError) in all += Fixture.rows(b) }
            #expect(all == rows + rows + rows + rows)
            reopened.close()
            let v1 = try LogInspector.dumpSegment(bytes: try #require(fs.contents(seg)), schemas: SchemaHistory(first: schema), includeRecords: true)
            #expect(v1.formatVersion == 1 && v1.batches.count == 2 && v1.batches.allSatisfy { $0.records?.count == 100 })
            let next = try #require(fs.allFiles().first { $0.hasSuffix(".segment") && $0 != seg })
            let v2 = try LogInspector.dumpSegment(bytes: try #require(fs.contents(next)), schemas: SchemaHistory(first: schema), includeRecords: true)
            #expect(v2.formatVersion == 2 && v2.batches.count == 2 && v2.batches.allSatisfy { $0.records?.count == 100 })
            #expect(v2.batches[0].uncompressedBytes == v1.batches[1].uncompressedBytes && v2.batches[1].uncompressedBytes < v1.batches[1].uncompressedBytes)
        }
    }
}

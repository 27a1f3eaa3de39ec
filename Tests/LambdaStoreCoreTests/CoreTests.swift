import Testing
@testable import LambdaStoreCore
import LambdaStoreTestSupport

@Suite struct CRC32CTests {
    @Test func standardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksumPortable(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func rfc3720Vectors() {
        // iSCSI (RFC 3720 B.4): 32 bytes of zeros, of 0xFF, ascending and descending.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    // Lengths around the three-lane block sizes (3 × 256 and 3 × 8192 bytes) of the hardware path.
    @Test(arguments: [0, 1, 7, 8, 9, 63, 64, 65, 767, 768, 769, 1000, 4097, 24_575, 24_576, 24_577, 50_001, 200_003])
    func hardwareAndPortableAgree(length: Int) {
        var rng = SplitMix64(seed: UInt64(length))
        let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        #expect(CRC32C.checksum(bytes) == CRC32C.checksumPortable(bytes))
        // Extending equals checksumming the concatenation.
        let cut = length / 3
        let a = CRC32C.checksum(Array(bytes[..<cut]))
        #expect(CRC32C.checksum(Array(bytes[cut...]), extending: a) == CRC32C.checksum(bytes))
        // Unaligned starts (the hardware path aligns with single bytes first).
        for start in 1..<max(1, min(8, length)) {
            let tail = Array(bytes[start...])
            let fromSlice = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
            #expect(fromSlice == CRC32C.checksumPortable(tail))
        }
    }
}

@Suite struct CodecTests {
    @Test(arguments: Codec.allCases)
    func roundTrip(codec: Codec) throws {
        var rng = SplitMix64(seed: 7)
        for size in [0, 1, 100, 70_000] {
            let input = (0..<size).map { i in UInt8(truncatingIfNeeded: i % 17 == 0 ? rng.next() : UInt64(i / 50)) }
            var compressed: [UInt8] = []
            _ = try input.withUnsafeBytes { try codec.compress($0, appendingTo: &compressed) }
            let out = try compressed.withUnsafeBytes { try codec.decompress($0, uncompressedSize: size) }
            #expect(out == input)
        }
    }

    @Test(arguments: [Codec.lz4, .zstd])
    func wrongSizeIsCorruption(codec: Codec) throws {
        let input = [UInt8](repeating: 42, count: 1000)
        var compressed: [UInt8] = []
        _ = try input.withUnsafeBytes { try codec.compress($0, appendingTo: &compressed) }
        #expect(throws: LambdaStoreError.self) {
            _ = try compressed.withUnsafeBytes { try codec.decompress($0, uncompressedSize: 999) }
        }
        var garbage = compressed
        garbage[garbage.count / 2] ^= 0xFF
        garbage.removeLast(3)
        // Damaged input must never crash; it either throws or decodes to other bytes.
        _ = try? garbage.withUnsafeBytes { try codec.decompress($0, uncompressedSize: 1000) }
    }
}

@Suite struct ColumnBatchTests {
    /// `gathering(rows:)` against the plain reference: one `append(copyOf:row:)` per row.
    @Test(arguments: FieldType.allCases)
    func gatheringEqualsRowByRowCopies(type: FieldType) throws {
        var rng = SplitMix64(seed: 11 + UInt64(type.rawValue))
        for (size, nullEvery) in [(0, 0), (1, 0), (37, 0), (500, 3), (500, 1)] {
            var src = Column(type: type)
            for i in 0..<size {
                if nullEvery > 0 && i % nullEvery == 0 { src.appendNull(); continue }
                let x = rng.next()
                switch type {
                case .int64: try src.append(.int64(Int64(bitPattern: x)))
                case .timestamp: try src.append(.timestamp(Int64(bitPattern: x >> 20)))
                case .float64: try src.append(.float64(Double(Int64(bitPattern: x)) / 7))
                case .bool: try src.append(.bool(x & 1 == 0))
                case .string: try src.append(.string(String(repeating: "x", count: Int(x % 9)) + "\(x % 1000)"))
                }
            }
            let rows = size == 0 ? [] : (0..<(size * 2)).map { _ in Int(rng.next() % UInt64(size)) }
            var reference = Column(type: type)
            for r in rows { reference.append(copyOf: src, row: r) }
            let got = src.gathering(rows: rows)
            #expect(got.count == rows.count && got.nullCount == reference.nullCount)
            for j in 0..<rows.count { #expect(got.value(at: j) == reference.value(at: j)) }
        }
    }

    static let schema = Schema(stream: "s", eventTime: "ts", fields: [
        Field(name: "ts", type: .timestamp),
        Field(name: "i", type: .int64, nullable: true),
        Field(name: "f", type: .float64, nullable: true),
        Field(name: "s", type: .string, nullable: true),
        Field(name: "b", type: .bool, nullable: true),
    ])

    static func randomBatch(rows: Int, seed: UInt64) throws -> (ColumnBatch, [[Value]]) {
        var rng = SplitMix64(seed: seed)
        var batch = ColumnBatch(schema: schema)
        var rows_: [[Value]] = []
        for r in 0..<rows {
            let nul = { (rng: inout SplitMix64) in rng.next() % 5 == 0 }
            let row: [Value] = [
                .timestamp(Int64(r) * 1000 - 5),
                nul(&rng) ? .null : .int64(Int64(bitPattern: rng.next())),
                nul(&rng) ? .null : .float64(Double(Int64(bitPattern: rng.next() >> 11)) / 7.0),
                nul(&rng) ? .null : .string(["", "a", "héllo", "m00042"][Int(rng.next() % 4)]),
                nul(&rng) ? .null : .bool(rng.next() % 2 == 0),
            ]
            for (i, v) in row.enumerated() { try batch.columns[i].append(v) }
            rows_.append(row)
        }
        return (batch, rows_)
    }

    @Test(arguments: [0, 1, 8, 9, 1000])
    func payloadRoundTrip(rows: Int) throws {
        let (batch, expected) = try Self.randomBatch(rows: rows, seed: UInt64(rows))
        try batch.validate(against: Self.schema)
        var payload: [UInt8] = []
        batch.encodePayload(into: &payload)
        let back = try payload.withUnsafeBytes { try ColumnBatch(decodingPayload: $0, schema: Self.schema) }
        #expect(back.count == rows)
        for r in 0..<rows {
            #expect(back.columns.map { $0.value(at: r) } == expected[r])
        }
    }

    @Test func everyTruncationIsRejected() throws {
        let (batch, _) = try Self.randomBatch(rows: 20, seed: 3)
        var payload: [UInt8] = []
        batch.encodePayload(into: &payload)
        for cut in 0..<payload.count {
            let short = Array(payload[..<cut])
            #expect(throws: LambdaStoreError.self) {
                _ = try short.withUnsafeBytes { try ColumnBatch(decodingPayload: $0, schema: Self.schema) }
            }
        }
    }

    @Test func projectionFillsDefaultsAndNulls() throws {
        let v1 = Schema(stream: "s", eventTime: "ts", fields: [Field(name: "ts", type: .timestamp)])
        let v2 = try #require(try v1.evolved(to: Schema(stream: "s", eventTime: "ts", fields: [
            Field(name: "channel", type: .string, nullable: true, defaultValue: .string("web")),
            Field(name: "ts", type: .timestamp),
            Field(name: "note", type: .string, nullable: true),
        ])))
        #expect(v2.version == 2)
        #expect(v2.fields.map(\.name) == ["ts", "channel", "note"])
        var b = ColumnBatch(schema: v1)
        try b.columns[0].append(.timestamp(5))
        let p = b.projected(from: v1, to: v2)
        #expect(p.columns.map { $0.value(at: 0) } == [.timestamp(5), .string("web"), .null])
    }

    @Test func incompatibleChangesNameTheField() throws {
        let v1 = Self.schema
        func reject(_ fields: [Field], _ needle: String) {
            do {
                _ = try v1.evolved(to: Schema(stream: "s", eventTime: "ts", fields: fields))
                Issue.record("expected rejection mentioning \(needle)")
            } catch {
                #expect(error.code == .schema && error.message.contains(needle), "\(error)")
            }
        }
        var f = v1.fields
        f[1].type = .float64
        reject(f, "'i'")
        reject(v1.fields + [Field(name: "required", type: .int64)], "'required'")
        reject(Array(v1.fields.dropLast()), "'b'")
        f = v1.fields
        f[3].nullable = false
        reject(f, "'s'")
        // Same fields in another order: a no-op.
        #expect(try v1.evolved(to: Schema(stream: "s", eventTime: "ts", fields: v1.fields.reversed())) == nil)
    }
}

/// The huge-page advice is advisory: arrays keep their contents and stay usable whatever the
/// kernel decides, for small, empty and large reservations.
@Suite struct HugePagesTests {
    @Test func adviceLeavesArraysIntact() {
        var empty: [Int64] = []
        HugePages.advise(&empty)
        #expect(empty.isEmpty)
        var small = [Int64](repeating: 7, count: 10)
        HugePages.advise(&small)
        #expect(small == [Int64](repeating: 7, count: 10))
        var large: [Int64] = []
        large.reserveCapacity(3 << 20)   // 24 MiB
        large.append(contentsOf: 0..<1000)
        HugePages.advise(&large)
        large.append(contentsOf: 1000..<(3 << 20))
        #expect(large.count == 3 << 20 && large[123_456] == 123_456 && large.last == Int64((3 << 20) - 1))
        // Unaligned and tiny ranges are ignored.
        large.withUnsafeMutableBytes { b in HugePages.advise(b.baseAddress! + 1, bytes: 100) }
        #expect(large[0] == 0 && large[1] == 1)
    }
}

import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

@Suite struct CorruptionTests {
    /// A small snapshot with every type, nulls, several row groups and several encodings.
    static func smallSnapshot(codec: Codec) throws -> (bytes: [UInt8], columns: [SnapshotColumn]) {
        var rng = SplitMix64(seed: 42)
        let columns = [SnapshotColumn(name: "window_start", type: .timestamp, nullable: true), SnapshotColumn(name: "merchant_id", type: .string),
                       SnapshotColumn(name: "revenue", type: .int64), SnapshotColumn(name: "ok", type: .bool, nullable: true),
                       SnapshotColumn(name: "avg", type: .float64, nullable: true), SnapshotColumn(name: "hll", type: .bytes)]
        let data = [TestData.column(.timestamp, rows: 30, shape: .runs, nullPercent: 10, rng: &rng),
                    TestData.column(.string, rows: 30, shape: .fewDistinct, nullPercent: 0, rng: &rng),
                    TestData.column(.int64, rows: 30, shape: .smallRange, nullPercent: 0, rng: &rng),
                    TestData.column(.bool, rows: 30, shape: .random, nullPercent: 20, rng: &rng),
                    TestData.column(.float64, rows: 30, shape: .fewDistinct, nullPercent: 20, rng: &rng),
                    TestData.column(.bytes, rows: 30, shape: .fewDistinct, nullPercent: 0, rng: &rng)]
        let bytes = try SnapshotWriter.encode(columns: columns, data: data, options: SnapshotOptions(codec: codec, rowGroupRows: 12),
                                              metadata: ["view": "revenue_hourly", "horizon": "1024"])
        return (bytes, columns)
    }

    /// Opens and reads every column; true when that throws.
    static func openAndReadFails(_ bytes: [UInt8], _ columns: [SnapshotColumn]) -> Bool {
        throwsError { () throws(LambdaStoreError) in
            let r = try SnapshotReader(bytes: bytes)
            _ = try r.readColumns(columns.map(\.name))
        }
    }

    @Test("every single-byte flip is detected by open/read and by verify", arguments: [Codec.none, .zstd])
    func everyByteFlipIsDetected(codec: Codec) throws {
        let (good, columns) = try Self.smallSnapshot(codec: codec)
        #expect(!Self.openAndReadFails(good, columns))
        #expect(SnapshotInspector.verify(bytes: good).isEmpty)
        for i in 0..<good.count {
            for mask: UInt8 in [0x01, 0x80] {
                let bad = good.flipping(i, mask)
                #expect(Self.openAndReadFails(bad, columns), "flip \(hex32(UInt32(mask))) at \(i) of \(good.count) went unnoticed by the reader")
                let problems = SnapshotInspector.verify(bytes: bad)
                #expect(!problems.isEmpty, "flip at \(i) went unnoticed by verify")
                #expect(problems.contains { ($0.offset ?? Int64.max) <= Int64(i) }, "flip at \(i): no problem names an offset at or before it: \(problems)")
            }
        }
    }

    @Test("every truncation and every extension is rejected", arguments: [Codec.none, .lz4])
    func truncationsAreRejected(codec: Codec) throws {
        let (good, columns) = try Self.smallSnapshot(codec: codec)
        for cut in 0..<good.count {
            let short = Array(good[..<cut])
            #expect(Self.openAndReadFails(short, columns), "a file cut to \(cut) bytes was accepted")
            #expect(!SnapshotInspector.verify(bytes: short).isEmpty)
        }
        for extra in [[UInt8](repeating: 0, count: 1), [UInt8](repeating: 0, count: 16), Array(good.suffix(16))] {
            #expect(Self.openAndReadFails(good + extra, columns))
            #expect(Self.openAndReadFails(extra + good, columns))
        }
    }

    @Test func checksumErrorNamesFileColumnRowGroupAndOffset() throws {
        let (good, columns) = try Self.smallSnapshot(codec: .none)
        let r = try SnapshotReader(bytes: good)
        let chunk = r.rowGroups[1].chunks[2]
        let fs = SimulatedFS()
        fs.setContents("views/v/x.snapshot", good.flipping(Int(chunk.offset) + chunk.storedBytes / 2))
        let damaged = try SnapshotReader.open(fs: fs, path: "views/v/x.snapshot")
        _ = try damaged.readColumns(["revenue"], rowGroups: [0, 2])  // other chunks of the column still read
        do {
            _ = try damaged.readColumns(columns.map(\.name))
            Issue.record("damaged chunk was read")
        } catch {
            #expect(error.code == .corruption)
            #expect(error.path == "views/v/x.snapshot" && error.offset == chunk.offset)
            #expect(error.message.contains("column 'revenue'") && error.message.contains("row group 1") && error.message.contains("checksum mismatch"), "\(error)")
            #expect(error.description.hasPrefix("corruption: views/v/x.snapshot @ \(chunk.offset): column 'revenue' row group 1"), "\(error)")
        }
        let problems = SnapshotInspector.verify(fs: fs, path: "views/v/x.snapshot")
        #expect(problems.count == 1 && problems[0].offset == chunk.offset && problems[0].path == "views/v/x.snapshot", "\(problems)")
        let d = try SnapshotInspector.describe(fs: fs, path: "views/v/x.snapshot")
        #expect(d.rowGroups.flatMap(\.chunks).filter { !$0.checksumOk }.map(\.offset) == [chunk.offset])
    }

    @Test func otherVersionIsUnsupported() throws {
        var (bytes, _) = try Self.smallSnapshot(codec: .none)
        bytes[8] = 2
        let crc = CRC32C.checksum(bytes, 0..<12)
        for k in 0..<4 { bytes[12 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
        #expect(throws: LambdaStoreError(.unsupported, "snapshot format version 2 (this build reads 1)", path: "<memory>", offset: 8)) {
            _ = try SnapshotReader(bytes: bytes)
        }
    }

    // MARK: Bytes behind valid checksums: decoding never traps

    /// Rewrites a snapshot after `mutate` changed chunk bodies (codec none) or the footer, with
    /// every CRC recomputed, so the decoders see the damage.
    static func resealed(_ file: [UInt8], footer mutateFooter: (inout [UInt8]) -> Void) -> [UInt8] {
        let n = file.count
        let footerLength = Int(file[n - 16]) | Int(file[n - 15]) << 8 | Int(file[n - 14]) << 16 | Int(file[n - 13]) << 24
        let footerAt = n - 16 - footerLength
        var footer = Array(file[footerAt..<(n - 16)])
        mutateFooter(&footer)
        var tail = ByteWriter()
        tail.write(UInt32(truncatingIfNeeded: footer.count))
        var crc = CRC32C.checksum(footer)
        crc = CRC32C.checksum(tail.bytes, extending: crc)
        crc = CRC32C.checksum(SnapshotFormat.magic, extending: crc)
        tail.write(crc)
        tail.write(bytes: SnapshotFormat.magic)
        return Array(file[..<footerAt]) + footer + tail.bytes
    }

    @Test func mutatedFootersWithValidChecksumsNeverTrap() throws {
        let (good, columns) = try Self.smallSnapshot(codec: .zstd)
        var rng = SplitMix64(seed: 2024)
        var opened = 0
        for trial in 0..<3000 {
            let bad = Self.resealed(good) { f in
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    switch rng.next() % 4 {
                    case 0: f[Int(rng.next() % UInt64(f.count))] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: f[Int(rng.next() % UInt64(f.count))] ^= 1 << UInt8(rng.next() % 8)
                    case 2: if f.count > 1 { f.removeLast(1 + Int(rng.next() % UInt64(min(8, f.count - 1)))) }
                    default: f.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(f.count)))
                    }
                }
            }
            if let r = try? SnapshotReader(bytes: bad) {
                opened += 1
                if let cols = try? r.readColumns(columns.map(\.name)) {
                    #expect(cols.allSatisfy { Int64($0.count) == r.rowCount }, "trial \(trial)")
                }
            }
        }
        #expect(opened < 3000, "every mutated footer was accepted")
    }

    @Test("mutated chunk bodies never trap the decoders", arguments: TypeEncoding.all)
    func mutatedChunksNeverTrap(_ te: TypeEncoding) throws {
        var rng = SplitMix64(seed: UInt64(te.type.rawValue) << 8 | UInt64(te.encoding.rawValue))
        for shape in [TestData.Shape.random, .runs, .fewDistinct] {
            let rows = 1 + Int(rng.next() % 300)
            let data = TestData.column(te.type, rows: rows, shape: shape, nullPercent: 20, rng: &rng)
            let good = ChunkEncoder.encode(data, range: 0..<rows, type: te.type, preferred: te.encoding)
            for _ in 0..<300 {
                var bad = good.bytes
                switch rng.next() % 3 {
                case 0 where !bad.isEmpty: bad[Int(rng.next() % UInt64(bad.count))] = UInt8(truncatingIfNeeded: rng.next())
                case 1 where !bad.isEmpty: bad.removeLast(1 + Int(rng.next() % UInt64(bad.count)))
                default: bad.append(UInt8(truncatingIfNeeded: rng.next()))
                }
                var b = ColumnBuilder(type: te.type, expectedRows: rows)
                let n = good.statistics.nullCount
                _ = try? bad.withUnsafeBytes { raw in
                    try ChunkDecoder.decode(raw, rows: rows, encoding: te.encoding, hasValidity: n > 0, nullCount: n, into: &b)
                }
            }
            // The good bytes still decode to the data.
            var b = ColumnBuilder(type: te.type, expectedRows: rows)
            try good.bytes.withUnsafeBytes { raw in
                try ChunkDecoder.decode(raw, rows: rows, encoding: te.encoding, hasValidity: good.statistics.nullCount > 0, nullCount: good.statistics.nullCount, into: &b)
            }
            #expect(TestData.difference(data, b.build()) == nil)
        }
    }
}

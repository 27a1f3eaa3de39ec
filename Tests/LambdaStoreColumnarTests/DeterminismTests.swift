import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

@Suite struct DeterminismTests {
    static func sample(seed: UInt64) -> ([SnapshotColumn], [Column]) {
        var rng = SplitMix64(seed: seed)
        let columns = [SnapshotColumn(name: "window_start", type: .timestamp, nullable: true),
                       SnapshotColumn(name: "merchant_id", type: .string),
                       SnapshotColumn(name: "revenue", type: .int64),
                       SnapshotColumn(name: "avg", type: .float64, nullable: true),
                       SnapshotColumn(name: "hll", type: .bytes)]
        let data = [TestData.column(.timestamp, rows: 3000, shape: .runs, nullPercent: 2, rng: &rng),
                    TestData.column(.string, rows: 3000, shape: .fewDistinct, nullPercent: 0, rng: &rng),
                    TestData.column(.int64, rows: 3000, shape: .smallRange, nullPercent: 0, rng: &rng),
                    TestData.column(.float64, rows: 3000, shape: .random, nullPercent: 20, rng: &rng),
                    TestData.column(.bytes, rows: 3000, shape: .random, nullPercent: 0, rng: &rng)]
        return (columns, data)
    }

    @Test(arguments: [Codec.none, .lz4, .zstd])
    func identicalInputGivesIdenticalBytes(codec: Codec) throws {
        let (columns, data) = Self.sample(seed: 8)
        let options = SnapshotOptions(codec: codec, rowGroupRows: 700)
        // Metadata inserted in two different orders.
        var m1: [String: String] = [:]
        for k in ["view", "fingerprint", "horizon", "maxEventTime", "a", "Z", "é"] { m1[k] = "v-\(k)" }
        var m2: [String: String] = [:]
        for k in ["é", "Z", "a", "maxEventTime", "horizon", "fingerprint", "view"] { m2[k] = "v-\(k)" }
        let a = try SnapshotWriter.encode(columns: columns, data: data, options: options, metadata: m1)
        let b = try SnapshotWriter.encode(columns: columns, data: data, options: options, metadata: m2)
        #expect(a == b)
        // The metadata is written sorted bytewise by key, whatever the dictionary's order.
        let positions = ["Z", "a", "fingerprint", "horizon", "maxEventTime", "view", "é"].map { k in
            let needle = Array("v-\(k)".utf8)
            return (0...(a.count - needle.count)).first { Array(a[$0..<($0 + needle.count)]) == needle } ?? -1
        }
        #expect(positions.allSatisfy { $0 >= 0 } && positions == positions.sorted(), "\(positions)")
        // Rebuilding the columns from scratch gives the same bytes too.
        let (_, again) = Self.sample(seed: 8)
        #expect(try SnapshotWriter.encode(columns: columns, data: again, options: options, metadata: m1) == a)
        // The file writer produces exactly the in-memory bytes, and reports their size and CRC.
        let fs = SimulatedFS()
        let w = try SnapshotWriter(fs: fs, path: "s.snapshot", columns: columns, options: options, metadata: m2)
        try w.append(columns: data)
        let info = try w.finish()
        #expect(fs.contents("s.snapshot") == a)
        #expect(info == SnapshotFileInfo(path: "s.snapshot", bytes: Int64(a.count), rows: 3000, crc32c: CRC32C.checksum(a)))
        #expect(fs.contents("s.snapshot.tmp") == nil)
        #expect(try SnapshotInspector.wholeFileChecksum(fs: fs, path: "s.snapshot") == (Int64(a.count), CRC32C.checksum(a)))
    }

    @Test(arguments: [Codec.none, .zstd])
    func threadCountDoesNotChangeTheBytes(codec: Codec) throws {
        let (columns, data) = Self.sample(seed: 21)
        let one = try SnapshotWriter.encode(columns: columns, data: data, options: SnapshotOptions(codec: codec, rowGroupRows: 500), metadata: ["view": "v"])
        for threads in [2, 3, 8] {
            let options = SnapshotOptions(codec: codec, rowGroupRows: 500, threads: threads)
            #expect(try SnapshotWriter.encode(columns: columns, data: data, options: options, metadata: ["view": "v"]) == one, "threads \(threads)")
            let fs = SimulatedFS()
            let w = try SnapshotWriter(fs: fs, path: "s.snapshot", columns: columns, options: options, metadata: ["view": "v"])
            try w.append(columns: data)
            _ = try w.finish()
            #expect(fs.contents("s.snapshot") == one, "file, threads \(threads)")
        }
    }

    @Test func nullSlotGarbageDoesNotChangeTheBytes() throws {
        // A column whose null slots hold leftovers encodes exactly like one with zeros there.
        var clean = Column(type: .int64)
        var dirty = Column(type: .int64)
        for i in 0..<100 {
            if i % 3 == 0 { clean.appendNull() } else { clean.append(int: Int64(i)) }
        }
        var ints = clean.ints
        for i in stride(from: 0, to: 100, by: 3) { ints[i] = 999 }
        dirty = Column(type: .int64, count: 100, nullCount: clean.nullCount, validity: clean.validity, ints: ints)
        let col = [SnapshotColumn(name: "x", type: .int64, nullable: true)]
        for e in SnapshotType.int64.encodings {
            let o = SnapshotOptions(preferredEncoding: e)
            #expect(try SnapshotWriter.encode(columns: col, data: [clean], options: o) == SnapshotWriter.encode(columns: col, data: [dirty], options: o))
        }
    }
}

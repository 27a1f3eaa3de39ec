import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

@Suite struct ProjectionTests {
    /// `DeterminismTests.sample(seed:)` written in row groups of 500 rows to a simulated file
    /// system, and a reader of it.
    static func written(seed: UInt64, codec: Codec) throws -> (SimulatedFS, [SnapshotColumn], [Column], SnapshotReader) {
        let (columns, data) = DeterminismTests.sample(seed: seed)
        let fs = SimulatedFS()
        let w = try SnapshotWriter(fs: fs, path: "s.snapshot", columns: columns, options: SnapshotOptions(codec: codec, rowGroupRows: 500))
        try w.append(columns: data)
        _ = try w.finish()
        return (fs, columns, data, try SnapshotReader.open(fs: fs, path: "s.snapshot"))
    }

    @Test func decodedRowGroupsAreCachedAndEqualFreshReads() throws {
        let (fs, columns, _, r) = try Self.written(seed: 9, codec: .zstd)
        var seen = Set<Int>()
        for g in [3, 0, 5, 3, 1, 0, 2, 4, 5] {
            fs.resetReadCounters()
            let cached = try r.rowGroupColumns(g)
            #expect(fs.reads == (seen.contains(g) ? 0 : columns.count), "row group \(g): read once, then served decoded")
            seen.insert(g)
            let fresh = try r.readColumns(at: Array(columns.indices), rowGroups: [g])
            for c in columns.indices {
                #expect(TestData.difference(fresh[c], cached[c]) == nil, "row group \(g) column \(c)")
            }
        }
        #expect(throws: LambdaStoreError.self) { _ = try r.rowGroupColumns(6) }

        // A caller's index is built once per cached group and handed back with its columns.
        var builds = 0
        for g in [2, 2, 4, 2] {
            fs.resetReadCounters()
            let (cols, index) = try r.rowGroupColumns(g) { cols in
                builds += 1
                return (cols[0].count * 10 + g, 8)
            }
            #expect(fs.reads == 0 && index == cols[0].count * 10 + g, "row group \(g)")
        }
        #expect(builds == 2, "one index build per group")
    }

    @Test func projectionReadsOnlyTheRequestedChunks() throws {
        let (columns, data) = DeterminismTests.sample(seed: 4)
        let fs = SimulatedFS()
        let w = try SnapshotWriter(fs: fs, path: "p.snapshot", columns: columns, options: SnapshotOptions(codec: .lz4, rowGroupRows: 500))
        try w.append(columns: data)
        _ = try w.finish()
        fs.resetReadCounters()
        let r = try SnapshotReader.open(fs: fs, path: "p.snapshot")
        #expect(fs.reads <= 3, "open takes the tail, footer and header in at most three reads")
        #expect(r.rowGroups.count == 6)

        for (names, groups) in [(["revenue"], [1, 3]), (["merchant_id", "hll"], [5]), (["window_start"], nil), ([], [0])] as [([String], [Int]?)] {
            fs.resetReadCounters()
            let got = try r.readColumns(names, rowGroups: groups)
            let picked = groups ?? Array(0..<6)
            let indexes = names.map { n in columns.firstIndex { $0.name == n }! }
            #expect(fs.reads == names.count * picked.count, "one read per requested chunk: \(names) \(picked)")
            let expectedBytes = indexes.reduce(0) { sum, c in sum + picked.reduce(0) { $0 + r.rowGroups[$1].chunks[c].storedBytes } }
            #expect(fs.bytesRead == expectedBytes, "only the requested chunks' bytes are read")
            for (k, c) in indexes.enumerated() {
                let expected = TestData.concat(picked.map { TestData.slice(data[c], ($0 * 500)..<min(3000, ($0 + 1) * 500)) }, type: columns[c].type.storage)
                #expect(TestData.difference(expected, got[k]) == nil, "\(names[k]) \(picked)")
            }
        }
    }

    @Test func concurrentReadersAgree() async throws {
        let (columns, data) = DeterminismTests.sample(seed: 6)
        let bytes = try SnapshotWriter.encode(columns: columns, data: data, options: SnapshotOptions(rowGroupRows: 256))
        let r = try SnapshotReader(bytes: bytes)
        let failures = await withTaskGroup(of: Int.self) { group in
            for t in 0..<8 {
                group.addTask {
                    var bad = 0
                    for g in stride(from: t % 3, to: r.rowGroups.count, by: 3) {
                        guard let got = try? r.readColumns(["revenue", "merchant_id"], rowGroups: [g]) else { bad += 1; continue }
                        let range = (g * 256)..<min(3000, (g + 1) * 256)
                        if TestData.difference(TestData.slice(data[2], range), got[0]) != nil { bad += 1 }
                        if TestData.difference(TestData.slice(data[1], range), got[1]) != nil { bad += 1 }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }

    /// Row groups of at least `SnapshotReader.parallelDecodeRows` rows decode their columns on
    /// parallel threads when cached: the columns must equal a one-thread read of every type,
    /// nulls included, and a group damaged in two columns must fail naming the first column,
    /// as the one-thread read does.
    @Test func largeGroupsDecodeInParallelAsInOrder() throws {
        var rng = SplitMix64(seed: 77)
        let rows = 2 * SnapshotReader.parallelDecodeRows + 5
        let columns = [SnapshotColumn(name: "window_start", type: .timestamp, nullable: true),
                       SnapshotColumn(name: "merchant_id", type: .string, nullable: true),
                       SnapshotColumn(name: "revenue", type: .int64),
                       SnapshotColumn(name: "avg", type: .float64, nullable: true),
                       SnapshotColumn(name: "ok", type: .bool, nullable: true),
                       SnapshotColumn(name: "hll", type: .bytes)]
        let data = [TestData.column(.timestamp, rows: rows, shape: .sortedSteps, nullPercent: 3, rng: &rng),
                    TestData.column(.string, rows: rows, shape: .fewDistinct, nullPercent: 10, rng: &rng),
                    TestData.column(.int64, rows: rows, shape: .smallRange, nullPercent: 0, rng: &rng),
                    TestData.column(.float64, rows: rows, shape: .random, nullPercent: 20, rng: &rng),
                    TestData.column(.bool, rows: rows, shape: .random, nullPercent: 5, rng: &rng),
                    TestData.column(.bytes, rows: rows, shape: .random, nullPercent: 0, rng: &rng)]
        let half = rows / 2 + 1
        let bytes = try SnapshotWriter.encode(columns: columns, data: data, options: SnapshotOptions(codec: .zstd, rowGroupRows: half))
        let r = try SnapshotReader(bytes: bytes)
        try #require(r.rowGroups.count == 2 && r.rowGroups.allSatisfy { $0.rowCount >= SnapshotReader.parallelDecodeRows })
        for g in 0..<2 {
            let cached = try r.rowGroupColumns(g)
            let serial = try r.readColumns(at: Array(columns.indices), rowGroups: [g])
            for c in columns.indices {
                let expected = TestData.slice(data[c], (g * half)..<min(rows, (g + 1) * half))
                #expect(TestData.difference(expected, cached[c]) == nil, "group \(g) column \(columns[c].name)")
                #expect(TestData.difference(serial[c], cached[c]) == nil, "group \(g) column \(columns[c].name)")
            }
        }
        // Damage group 1 in columns 4 and 1: both reads name column 1.
        var damaged = bytes
        for c in [4, 1] {
            let chunk = r.rowGroups[1].chunks[c]
            damaged[Int(chunk.offset) + chunk.storedBytes / 2] ^= 0x40
        }
        let d = try SnapshotReader(bytes: damaged)
        func failure(_ body: () throws(LambdaStoreError) -> Void) -> String {
            do throws(LambdaStoreError) { try body(); return "no error" } catch { return "\(error.code) \(error.message) @\(error.offset ?? -1)" }
        }
        let serial = failure { () throws(LambdaStoreError) in _ = try d.readColumns(at: Array(columns.indices), rowGroups: [1]) }
        let parallel = failure { () throws(LambdaStoreError) in _ = try d.rowGroupColumns(1) }
        #expect(serial.contains("merchant_id") && serial == parallel, "\(serial) / \(parallel)")
        #expect(try d.rowGroupColumns(0).count == columns.count, "the intact group still reads")
    }

    /// A prefetched group is decoded and cached, but its next read is still its first: no
    /// index is built then (a one-shot query pays none), the read after builds it.
    @Test func prefetchDecodesWithoutCountingAUse() throws {
        let (fs, columns, _, r) = try Self.written(seed: 12, codec: .lz4)
        fs.resetReadCounters()
        r.prefetch(2)
        r.prefetch(2)
        r.prefetch(99)
        #expect(fs.reads == columns.count && r.isDecoded([2]), "decoded once; an index out of range is ignored")
        var builds = 0
        func read() throws -> Int? {
            try r.rowGroupColumnsIndexedOnReuse(2) { cols in builds += 1; return (cols[0].count, 8) }.1
        }
        #expect(try read() == nil, "the first read after a prefetch builds no index")
        #expect(try read() == 500 && builds == 1, "the second builds it")
        #expect(fs.reads == columns.count, "no read after the prefetch")
    }
}

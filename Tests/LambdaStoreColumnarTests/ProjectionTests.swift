import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

@Suite struct ProjectionTests {
    @Test func decodedRowGroupsAreCachedAndEqualFreshReads() throws {
        let (columns, data) = DeterminismTests.sample(seed: 9)
        let fs = SimulatedFS()
        let w = try SnapshotWriter(fs: fs, path: "c.snapshot", columns: columns, options: SnapshotOptions(codec: .zstd, rowGroupRows: 500))
        try w.append(columns: data)
        _ = try w.finish()
        let r = try SnapshotReader.open(fs: fs, path: "c.snapshot")
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
}

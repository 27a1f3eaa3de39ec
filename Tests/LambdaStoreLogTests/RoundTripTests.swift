import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

@Suite struct RoundTripTests {
    /// Every type, nulls and empty strings, through every codec, with segment rolls, read
    /// back before and after a reopen and compared with the rows appended.
    @Test(arguments: Codec.allCases)
    func everyTypeAndCodecRoundTrips(codec: Codec) async throws {
        let seed = UInt64(0xC0DE + Int(codec.rawValue))
        var rng = SplitMix64(seed: seed)
        let fs = SimulatedFileSystem()
        let options = LogOptions(segmentBytesMax: 6_000, codec: codec)
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: options)
        _ = try log.applySchema(Fixture.allTypes)
        let s = try log.stream("all")
        var expected: [[Value]] = []
        for i in 0..<60 {
            let n = i % 10 == 0 ? 1 : Int(rng.next() % 40) + 1
            let rows = Fixture.randomAllTypes(&rng, count: n, serial: expected.count)
            let range = try await s.append(try Fixture.batch(Fixture.allTypes, rows), durability: i % 3 == 0 ? .sync : .none)
            #expect(range == Int64(expected.count)..<Int64(expected.count + n), "seed \(seed)")
            expected += rows
        }
        #expect(s.segments().count > 2, "rolls expected with small segments")
        #expect(try Fixture.allRows(s) == expected, "seed \(seed)")
        if codec != .none {
            #expect(try s.batchInfos(in: 0..<s.endOffset).contains { $0.codec == codec }, "compressible batches keep the codec")
        }
        log.close()

        let again = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(codec: codec))
        #expect(again.recoveryReports.isEmpty, "\(again.recoveryReports)")
        let s2 = try again.stream("all")
        #expect(s2.endOffset == Int64(expected.count))
        #expect(try Fixture.allRows(s2) == expected, "seed \(seed)")
        // Slices straddling batch boundaries.
        for _ in 0..<20 {
            let a = Int64(rng.next() % UInt64(expected.count)), b = Int64(rng.next() % UInt64(expected.count))
            let r = min(a, b)..<max(a, b)
            var got: [[Value]] = []
            var next = r.lowerBound
            try s2.forEachBatch(in: r) { info, batch in
                #expect(info.baseOffset == next && info.count == batch.count)
                next += Int64(batch.count)
                got += Fixture.rows(batch)
            }
            #expect(got == Array(expected[Int(r.lowerBound)..<Int(r.upperBound)]), "range \(r) seed \(seed)")
        }
        // Reads continue after reopen, appends too.
        _ = try await s2.append(try Fixture.batch(Fixture.allTypes, [[.null, .null, .null, .string(""), .null, .int64(-7)]]), durability: .sync)
        #expect(try Fixture.allRows(s2).last == [.null, .null, .null, .string(""), .null, .int64(-7)])
    }

    @Test func realFileSystemRoundTripAndSecondWriterRefused() async throws {
        let dir = try TempDir()
        let log = try EventLog.open(root: dir.path)
        _ = try log.applySchema(Fixture.orders)
        let s = try log.stream("orders")
        for i in 0..<5 { _ = try await s.append(Fixture.ordersBatch(first: i * 100, count: 100), durability: .sync) }
        do {
            _ = try EventLog.open(root: dir.path)
            Issue.record("a second writer must be refused")
        } catch {
            #expect(error.code == .locked)
        }
        // A read-only open is allowed beside the writer.
        let ro = try EventLog.open(root: dir.path, options: LogOptions(readOnly: true))
        #expect(try ro.stream("orders").endOffset == 500)
        log.close()
        let again = try EventLog.open(root: dir.path)
        let rows = try Fixture.allRows(try again.stream("orders"))
        #expect(rows.count == 500)
        #expect(rows[123] == Fixture.rows(Fixture.ordersBatch(first: 123, count: 1))[0])
        again.close()
        #expect(EventLog.verify(root: dir.path, fs: PosixFileSystem()).isClean)
    }

    @Test func emptyBatchAndOversizedBatchAndClosedLog() async throws {
        let log = try EventLog.open(root: Fixture.root, fs: SimulatedFileSystem())
        _ = try log.applySchema(Fixture.orders)
        let s = try log.stream("orders")
        #expect(try await s.append(ColumnBatch(schema: Fixture.orders), durability: .sync) == 0..<0)
        var wrong = Fixture.ordersBatch(first: 0, count: 2)
        wrong.columns.removeLast()
        await #expect(throws: LambdaStoreError.self) { try await s.append(wrong, durability: .none) }
        log.close()
        await #expect(throws: LambdaStoreError.self) { try await s.append(Fixture.ordersBatch(first: 0, count: 2), durability: .none) }
    }

    @Test func readFromEventTimeFindsTheRightBatches() async throws {
        var rng = SplitMix64(seed: 99)
        let log = try EventLog.open(root: Fixture.root, fs: SimulatedFileSystem(), options: LogOptions(segmentBytesMax: 4_000))
        _ = try log.applySchema(Fixture.allTypes)
        let s = try log.stream("all")
        var allRows: [[Value]] = []
        for i in 0..<80 {
            var rows = Fixture.randomAllTypes(&rng, count: Int(rng.next() % 8) + 1, serial: allRows.count)
            // Out-of-order event times; some batches with only null event times.
            for j in rows.indices { rows[j][0] = i % 9 == 4 ? .null : .timestamp(Int64(rng.next() % 10_000)) }
            _ = try await s.append(try Fixture.batch(Fixture.allTypes, rows), durability: .none)
            allRows += rows
        }
        let all = try s.batchInfos(in: 0..<s.endOffset)
        for _ in 0..<50 {
            let a = Int64(rng.next() % 10_500), b = Int64(rng.next() % 10_500)
            let window = min(a, b)...max(a, b)
            let offsets = Int64(rng.next() % 100)..<Int64(100 + rng.next() % 400)
            let got = try s.batchInfos(overlappingEventTime: window, in: offsets)
            // Naive reference: a batch matches when one of its records has an event time in the window.
            let want = all.filter { info in
                info.offsets.overlaps(offsets) && allRows[Int(info.baseOffset)..<Int(info.baseOffset) + info.count].contains {
                    if case .timestamp(let t) = $0[0] { return window.contains(t) } else { return false }
                }
            }
            // min/max overlap is a superset of "has a record inside"; it must contain every such batch
            // and nothing whose range misses the window.
            #expect(Set(want.map(\.baseOffset)).isSubset(of: Set(got.map(\.baseOffset))), "window \(window)")
            for g in got {
                let lo = try #require(g.minEventTime), hi = try #require(g.maxEventTime)
                #expect(lo <= window.upperBound && hi >= window.lowerBound)
                #expect(g.offsets.overlaps(offsets))
            }
            var visited: [Int64] = []
            try s.forEachBatch(overlappingEventTime: window, in: offsets) { info, batch in
                visited.append(info.baseOffset)
                #expect(Fixture.rows(batch) == Array(allRows[Int(info.baseOffset)..<Int(info.baseOffset) + info.count]))
            }
            #expect(visited == got.map(\.baseOffset))
        }
        // Batch infos carry the true min/max of each batch.
        for info in all {
            let ts = allRows[Int(info.baseOffset)..<Int(info.baseOffset) + info.count].compactMap { r -> Int64? in
                if case .timestamp(let t) = r[0] { return t } else { return nil }
            }
            #expect(info.minEventTime == ts.min() && info.maxEventTime == ts.max())
        }
    }

    @Test func ageBasedRoll() async throws {
        let clock = Clock()
        let log = try EventLog.open(root: Fixture.root, fs: SimulatedFileSystem(),
                                    options: LogOptions(segmentAgeMaxMillis: 1_000, clock: { clock.now }))
        _ = try log.applySchema(Fixture.orders)
        let s = try log.stream("orders")
        _ = try await s.append(Fixture.ordersBatch(first: 0, count: 3), durability: .none)
        _ = try await s.append(Fixture.ordersBatch(first: 3, count: 3), durability: .none)
        #expect(s.segments().count == 1)
        clock.advance(1_000)
        _ = try await s.append(Fixture.ordersBatch(first: 6, count: 3), durability: .none)
        #expect(s.segments().map(\.baseOffset) == [0, 6])
        #expect(s.segments().map(\.isActive) == [false, true])
    }
}

/// A settable clock for age-based rolls.
final class Clock: Sendable {
    private let value = Locked<Int64>(1_767_225_600_000)
    var now: Int64 { value.withLock { $0 } }
    func advance(_ ms: Int64) { value.withLock { $0 += ms } }
}

#if canImport(Glibc)
import Glibc
#endif

/// A temporary directory removed on deinit.
final class TempDir {
    let path: String
    init() throws {
        var template = Array("/tmp/lambdastore-log-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw LambdaStoreError(.io, "mkdtemp failed") }
        path = String(cString: p)
    }
    deinit { _ = system("rm -rf '\(path)'") }
}

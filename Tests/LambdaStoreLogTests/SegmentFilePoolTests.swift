import Dispatch
import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

/// Sealed segments are read through a bounded pool of descriptors (issue 11: one open file per
/// segment failed at 1,024 segments): a store with far more segments than the pool holds reads
/// every record, from many threads at once, with at most `capacity` descriptors open.
@Suite struct SegmentFilePoolTests {
    @Test func manySegmentsReadThroughASmallPool() async throws {
        let fs = SimulatedFileSystem()
        var options = LogOptions(segmentBytesMax: 400, codec: .none)
        options.openSegmentFilesMax = 8
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: options)
        _ = try log.applySchema(Fixture.orders)
        let s = try log.stream("orders")
        for i in 0..<600 { _ = try await s.append(Fixture.ordersBatch(first: i * 2, count: 2), durability: .none) }
        #expect(s.segments().count > 300, "one segment per batch or so")
        #expect(log.pool.openCount <= 8)
        log.close()

        let reopened = try EventLog.open(root: Fixture.root, fs: fs, options: options)
        defer { reopened.close() }
        let r = try reopened.stream("orders")
        #expect(r.endOffset == 1200)
        #expect(reopened.pool.openCount <= 8)
        let total = Locked(0)
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { t in
            do throws(LambdaStoreError) {
                var n = 0
                // Each thread walks the log from a different start, so the pool keeps evicting.
                let start = Int64(t * 200)
                try r.forEachBatch(in: start..<1200) { _, b throws(LambdaStoreError) in n += b.count }
                try r.forEachBatch(in: 0..<start) { _, b throws(LambdaStoreError) in n += b.count }
                total.withLock { $0 += n }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(total.withLock { $0 } == 6 * 1200)
        #expect(reopened.pool.openCount <= 8)
        // Appending goes on: rolls seal into the pool too.
        for i in 600..<650 { _ = try await r.append(Fixture.ordersBatch(first: i * 2, count: 2), durability: .none) }
        #expect(reopened.pool.openCount <= 8)
        var n = 0
        try r.forEachBatch(in: 0..<r.endOffset) { _, b throws(LambdaStoreError) in n += b.count }
        #expect(n == 1300)
    }
}

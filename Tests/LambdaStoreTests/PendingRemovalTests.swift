@_spi(Internals) import LambdaStore
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport
import Testing

/// Raw retention and history drops take segments out of the log at once (readers go to the
/// archive) but unlink their files only when no raw read is in flight. A segment still being
/// read past the wait must not be forgotten: it stays pending, its file on disk, and the next
/// compaction removes it; every offset reads the same throughout.
@Suite struct PendingRemovalTests {
    @Test func segmentsStillBeingReadAreRemovedByTheNextCompaction() async throws {
        let dir = makeTempDirectory("pending-removal")
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir, options: ArchiveLifecycleTests.options(segmentBytes: 8 << 10))
        defer { store.close() }
        try await store.applySchema(testSchema)
        var rng = SplitMix64(seed: 808)
        var clock: Int64 = 1_704_067_200_000
        for _ in 0..<12 { try await store.append(try batchOf(randomEvents(&rng, count: 150, clock: &clock)), to: "orders") }
        let total = try store.endOffset(of: "orders")
        let before = try await store.batches(of: "orders", in: 0..<total).flatMap { b in (0..<b.count).map { r in b.columns.map { $0.value(at: r) } } }
        let log = try store.streamLog("orders")
        let sealed = log.segments().dropLast().map { dir + "/streams/orders/" + $0.name }
        #expect(sealed.count >= 3)
        var p = try await store.streamPolicy("orders")
        p.archiveAfterMillis = 0
        p.keepRawMillis = 0
        try await store.setStreamPolicy(p, for: "orders")

        // A raw read in flight through the whole compaction, which waits 20 ms for it.
        log.unlinkWaitMillis.withLock { $0 = 20 }
        log.rawReaders.withLock { $0 += 1 }
        let first = try await store.compact()
        #expect(first.streams.first?.removedSegments == 0)
        #expect(first.streams.first?.notes.contains { $0.contains("still being read") } == true, "\(first.streams.first?.notes ?? [])")
        #expect(log.pendingSegmentRemovals.count == sealed.count)
        for path in sealed { #expect(PosixFileSystem().exists(path), "\(path) was unlinked under a reader") }
        // Readers see the archive already: the same events.
        let during = try await store.batches(of: "orders", in: 0..<total).flatMap { b in (0..<b.count).map { r in b.columns.map { $0.value(at: r) } } }
        #expect(during == before)

        // The read ends; the next compaction (nothing new to archive) removes them.
        log.rawReaders.withLock { $0 -= 1 }
        let second = try await store.compact()
        #expect(second.streams.first?.removedSegments == sealed.count)
        #expect(log.pendingSegmentRemovals.isEmpty)
        for path in sealed { #expect(!PosixFileSystem().exists(path), "\(path) is still on disk") }
        let after = try await store.batches(of: "orders", in: 0..<total).flatMap { b in (0..<b.count).map { r in b.columns.map { $0.value(at: r) } } }
        #expect(after == before)
        let report = await Store.verify(at: dir)
        #expect(report.problems.isEmpty, "\(report.problems)")
    }
}

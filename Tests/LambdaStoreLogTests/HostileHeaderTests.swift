import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

/// Batch headers that lie under a valid checksum (issue 11): the record count or the event-time
/// bounds disagree with the payload. Reads fail with corruption naming the segment and the
/// batch's position — never a trap, never a silently wrong answer — and verify reports them.
@Suite struct HostileHeaderTests {
    static let seg0 = Fixture.root + "/streams/orders/00000000000000000000.segment"

    /// Rewrites the header of the batch at `position` with `change`, recomputing its CRC.
    static func rewriteHeader(_ fs: SimulatedFileSystem, at position: Int64, _ change: (inout BatchHeader) -> Void) throws {
        var bytes = try #require(fs.contents(seg0))
        let p = Int(position), hs = LogFormat.batchHeaderSize
        var header = try bytes.withUnsafeBytes { b in try BatchHeader(decoding: UnsafeRawBufferPointer(rebasing: b[p..<(p + hs)]), at: position) }
        change(&header)
        bytes.withUnsafeMutableBytes { b in header.encode(into: b, at: p) }
        fs.setContents(seg0, bytes)
    }

    static func store() async throws -> (SimulatedFileSystem, [Int64]) {
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(codec: .none))
        _ = try log.applySchema(Fixture.orders)
        let s = try log.stream("orders")
        for i in 0..<3 { _ = try await s.append(Fixture.ordersBatch(first: i * 5, count: 5), durability: .sync) }
        log.close()
        // No checkpoint: the count change below would otherwise also move the log's end.
        try fs.remove(Fixture.root + "/streams/orders/" + LogCheckpoint.fileName)
        let positions = try LogInspector.dumpSegment(path: seg0, fs: fs).batches.map(\.position)
        return (fs, positions)
    }

    static func readAll(_ fs: SimulatedFileSystem) throws(LambdaStoreError) -> Int {
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(readOnly: true))
        defer { log.close() }
        let s = try log.stream("orders")
        var n = 0
        try s.forEachBatch(in: 0..<s.endOffset) { _, b throws(LambdaStoreError) in n += b.count }
        return n
    }

    @Test(arguments: [1, -1, 1000])
    func aRecordCountThatLiesIsCorruption(delta: Int) async throws {
        let (fs, positions) = try await Self.store()
        try Self.rewriteHeader(fs, at: positions[1]) { $0.recordCount += delta }
        do {
            _ = try Self.readAll(fs)
            Issue.record("a lying record count must not read")
        } catch {
            #expect(error.code == .corruption, "\(error)")
            #expect(error.path == "streams/orders/00000000000000000000.segment", "\(error)")
        }
        let v = EventLog.verify(root: Fixture.root, fs: fs)
        #expect(!v.isClean, "verify must report it")
    }

    @Test func eventTimeBoundsThatLieAreCorruption() async throws {
        let (fs, positions) = try await Self.store()
        try Self.rewriteHeader(fs, at: positions[2]) { h in
            h.eventTimeRange = h.eventTimeRange.map { ($0.lowerBound + 1)...$0.upperBound }
        }
        do {
            _ = try Self.readAll(fs)
            Issue.record("lying event-time bounds must not read")
        } catch {
            #expect(error.code == .corruption && error.offset == positions[2], "\(error)")
            #expect(error.message.contains("event-time range"), "\(error)")
        }
        let v = EventLog.verify(root: Fixture.root, fs: fs)
        #expect(v.problems.contains { $0.message.contains("event-time range") }, "\(v.problems)")
        let clean = try await Self.store().0
        #expect(try Self.readAll(clean) == 15)
    }
}

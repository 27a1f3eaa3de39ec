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

    /// A bool byte other than 0 or 1, under recomputed checksums, is corruption for readers and
    /// verify (it used to read as true and pass verify).
    @Test func aBoolByteOtherThanZeroOrOneIsCorruption() async throws {
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(codec: .none))
        _ = try log.applySchema(Fixture.allTypes)
        let s = try log.stream("all")
        var rows: [[Value]] = []
        for i in 0..<4 {
            let row: [Value] = [.timestamp(1_767_225_600_000 + Int64(i)), .int64(Int64(i)), .float64(0.5), .string("x"), .bool(i % 2 == 0), .int64(Int64(i))]
            rows.append(row)
        }
        _ = try await s.append(Fixture.batch(Fixture.allTypes, rows), durability: .sync)
        log.close()
        let seg = Fixture.root + "/streams/all/00000000000000000000.segment"
        let p = try #require(try LogInspector.dumpSegment(path: seg, fs: fs).batches.first?.position)
        var bytes = try #require(fs.contents(seg))
        let hs = LogFormat.batchHeaderSize
        var header = try bytes.withUnsafeBytes { b in try BatchHeader(decoding: UnsafeRawBufferPointer(rebasing: b[Int(p)..<(Int(p) + hs)]), at: p) }
        // Find the bool column's values: type code 4, flags, then 4 bytes of 0/1.
        let payload = Array(bytes[(Int(p) + hs)..<(Int(p) + hs + header.storedLength)])
        let pattern: [UInt8] = [4, 0, 1, 0, 1, 0]   // bool type code, no flags, then 1 0 1 0
        var found: Int? = nil
        for k in 0..<(payload.count - pattern.count) where Array(payload[k..<(k + pattern.count)]) == pattern { found = k; break }
        let at = try #require(found)
        bytes[Int(p) + hs + at + 3] = 7
        header.payloadCRC = CRC32C.checksum(Array(bytes[(Int(p) + hs)..<(Int(p) + hs + header.storedLength)]))
        bytes.withUnsafeMutableBytes { b in header.encode(into: b, at: Int(p)) }
        fs.setContents(seg, bytes)
        try fs.remove(Fixture.root + "/streams/all/" + LogCheckpoint.fileName)
        let ro = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(readOnly: true))
        defer { ro.close() }
        let r = try ro.stream("all")
        #expect(throws: LambdaStoreError.self) { try r.forEachBatch(in: 0..<r.endOffset) { _, _ throws(LambdaStoreError) in } }
        let v = EventLog.verify(root: Fixture.root, fs: fs)
        #expect(v.problems.contains { $0.message.contains("not 0 or 1") }, "\(v.problems)")
    }

    /// A schema history naming another stream is reported by verify (open refuses it too).
    @Test func aSchemaHistoryOfAnotherStreamFailsVerify() async throws {
        let (fs, _) = try await Self.store()
        var other = Fixture.orders
        other.stream = "payments"
        try fs.writeFileAtomically(Fixture.root + "/streams/orders/schema", SchemaHistory(first: other).encoded())
        let v = EventLog.verify(root: Fixture.root, fs: fs)
        #expect(v.problems.contains { $0.message.contains("schema history is for stream 'payments'") }, "\(v.problems)")
        do {
            _ = try EventLog.open(root: Fixture.root, fs: fs)
            Issue.record("open must refuse a schema history of another stream")
        } catch {
            #expect(error.code == .corruption)
        }
    }
}

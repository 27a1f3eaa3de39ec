import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

/// The stream CHECKPOINT (format-spec.md §2.9): recovery never goes below what it proves.
@Suite struct CheckpointTests {
    static let dir = Fixture.root + "/streams/orders"
    static let seg0 = dir + "/00000000000000000000.segment"

    /// The worked example of format-spec.md §2.9, byte for byte.
    @Test func specExampleRoundTrips() throws {
        let hex = "4c 53 43 50 01 00 00 00 0c 00 00 00 00 00 00 00 00 a8 da 76 9b 01 00 00"
        var bytes = hex.split(separator: " ").map { UInt8($0, radix: 16) ?? 0 }
        let crc = CRC32C.checksum(bytes)
        withUnsafeBytes(of: crc.littleEndian) { bytes.append(contentsOf: $0) }
        let c = try LogCheckpoint(decoding: bytes, path: "CHECKPOINT")
        #expect(c == LogCheckpoint(durableEnd: 12, writtenAtMillis: 1_767_225_600_000))
        #expect(c.encoded() == bytes)
        #expect(String(crc, radix: 16) == "62e45680", "the CRC the spec prints")
        for i in 0..<bytes.count {
            var bad = bytes
            bad[i] ^= 0x04
            #expect(throws: LambdaStoreError.self, "flip in byte \(i)") { try LogCheckpoint(decoding: bad, path: "CHECKPOINT") }
        }
        #expect(throws: LambdaStoreError.self) { try LogCheckpoint(decoding: Array(bytes.dropLast()), path: "CHECKPOINT") }
    }

    static func closedStore(batches: Int = 4) async throws -> SimulatedFileSystem {
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(codec: .none))
        _ = try log.applySchema(Fixture.orders)
        let s = try log.stream("orders")
        for i in 0..<batches { _ = try await s.append(Fixture.ordersBatch(first: i * 3, count: 3), durability: .sync) }
        log.close()
        return fs
    }

    /// Cutting whole batches off a closed log leaves only valid bytes, but the checkpoint proves
    /// they were durable: a writable open refuses, naming the segment and offset; a read-only
    /// open and verify report it; repair accepts the loss.
    @Test func aLogCutBelowItsCheckpointIsRefusedUntilRepaired() async throws {
        let fs = try await Self.closedStore()
        let c = try #require(try LogCheckpoint.load(fs: fs, directory: Self.dir, relDir: "streams/orders"))
        #expect(c.durableEnd == 12)
        let positions = try LogInspector.dumpSegment(path: Self.seg0, fs: fs).batches.map(\.position)
        let full = try #require(fs.contents(Self.seg0))
        fs.setContents(Self.seg0, Array(full.prefix(Int(positions[2]))))   // two whole batches gone
        do {
            _ = try EventLog.open(root: Fixture.root, fs: fs)
            Issue.record("a writable open must refuse")
        } catch {
            #expect(error.code == .corruption && error.path == "streams/orders/00000000000000000000.segment" && error.offset == positions[2], "\(error)")
            #expect(error.message.contains("records 12 durable events"), "\(error)")
        }
        let ro = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(readOnly: true))
        #expect(try ro.stream("orders").endOffset == 6)
        #expect(ro.recoveryReports.first?.reason?.contains("acknowledged history is missing") == true)
        let v = EventLog.verify(root: Fixture.root, fs: fs)
        #expect(!v.isClean && v.problems.contains { $0.message.contains("records 12 durable events") }, "\(v.problems)")
        let actions = try EventLog.repair(root: Fixture.root, fs: fs)
        #expect(actions.count == 1 && actions[0].endOffsetAfter == 6, "\(actions)")
        let log = try EventLog.open(root: Fixture.root, fs: fs)
        #expect(try log.stream("orders").endOffset == 6)
        log.close()
        #expect(EventLog.verify(root: Fixture.root, fs: fs).isClean)
    }

    /// The checkpoint never claims more than is durable: a crash at every write point of sync
    /// appends, segment rolls and a close leaves a log that opens for writing.
    @Test func aCrashAtAnyWritePointNeverTripsTheCheckpoint() async throws {
        let fs = SimulatedFileSystem()
        let images = Locked<[SimulatedFileSystem]>([])
        fs.setObserver { _, _ in
            let image = fs.crashImage(.durableOnly)
            images.withLock { $0.append(image) }
        }
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(segmentBytesMax: 700, codec: .none))
        _ = try log.applySchema(Fixture.orders)
        let s = try log.stream("orders")
        var acked: Int64 = 0
        for i in 0..<12 {
            let d: Durability = i % 3 == 0 ? .none : .sync
            let r = try await s.append(Fixture.ordersBatch(first: i * 3, count: 3), durability: d)
            if d == .sync { acked = r.upperBound }
        }
        _ = try s.checkpointVisible()
        log.close()
        fs.setObserver(nil)
        let all = images.withLock { $0 }
        #expect(all.count > 20)
        for (k, image) in all.enumerated() {
            do {
                let reopened = try EventLog.open(root: Fixture.root, fs: image)
                reopened.close()
            } catch {
                Issue.record("crash after operation \(k + 1): \(error)")
            }
        }
        #expect(acked == 36)
    }
}

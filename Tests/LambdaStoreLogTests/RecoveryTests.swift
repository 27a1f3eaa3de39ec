import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

/// Byte surgery on segment and index files, one failure per test (LevelDB's log_test style).
@Suite struct RecoveryTests {
    static let seg0 = "/store/streams/orders/00000000000000000000.segment"
    static let rel0 = "streams/orders/00000000000000000000.segment"

    /// A store with one stream and `batches` batches of 3 orders in one segment, closed.
    ///
    /// Its CHECKPOINT is removed: these tests tear or cut bytes that the clean close made
    /// durable, which only a crash before the close could have left unsynced, and then the
    /// checkpoint would not have recorded them either (`CheckpointTests` covers the refusal).
    static func store(batches: Int = 4, codec: Codec = .lz4, segmentBytes: Int64 = Limits.segmentBytesDefault) async throws -> SimulatedFileSystem {
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(segmentBytesMax: segmentBytes, codec: codec))
        _ = try log.applySchema(Fixture.orders)
        let s = try log.stream("orders")
        for i in 0..<batches { _ = try await s.append(Fixture.ordersBatch(first: i * 3, count: 3), durability: .sync) }
        log.close()
        try fs.remove(Fixture.root + "/streams/orders/" + LogCheckpoint.fileName)
        try fs.syncDirectory(Fixture.root + "/streams/orders")
        return fs
    }

    static func batchPositions(_ fs: SimulatedFileSystem, _ path: String = seg0) throws -> [(Int64, Int)] {
        try LogInspector.dumpSegment(path: path, fs: fs).batches.map { ($0.position, $0.bytes) }
    }

    // MARK: Torn tails

    /// Cutting the file anywhere inside the last batch (header or payload) is a torn tail:
    /// open cuts exactly that batch, reports it, and every earlier record is intact.
    @Test func truncatedTailIsCutAndReported() async throws {
        let fs = try await Self.store()
        let full = try #require(fs.contents(Self.seg0))
        let (lastPos, lastLen) = try #require(try Self.batchPositions(fs).last)
        for cut in 1..<lastLen {
            let img = fs.crashImage(.durableOnly)
            img.truncate(Self.seg0, by: cut)
            let log = try EventLog.open(root: Fixture.root, fs: img)
            let r = try #require(log.recoveryReports.first, "cut \(cut)")
            #expect(r.file == Self.rel0 && r.bytesTruncated == Int64(lastLen - cut), "cut \(cut): \(r)")
            let kept = lastLen - cut
            #expect(r.reason?.contains(kept < LogFormat.batchHeaderSize ? "incomplete batch header" : "payload cut short") == true, "\(r)")
            let s = try log.stream("orders")
            #expect(s.endOffset == 9)
            #expect(try Fixture.allRows(s) == Fixture.rows(Fixture.ordersBatch(first: 0, count: 9)))
            #expect(img.contents(Self.seg0) == Array(full[..<Int(lastPos)]))
            // Appends continue at the cut.
            #expect(try await s.append(Fixture.ordersBatch(first: 9, count: 3), durability: .sync) == 9..<12)
            log.close()
            #expect(try EventLog.open(root: Fixture.root, fs: img).recoveryReports.isEmpty)
        }
    }

    @Test(arguments: [1, 7, 56, 4096])
    func trailingZerosAreCut(count: Int) async throws {
        let fs = try await Self.store()
        fs.appendBytes(Self.seg0, [UInt8](repeating: 0, count: count))
        let before = EventLog.verify(root: Fixture.root, fs: fs)
        #expect(before.isClean && before.incompleteTails.map(\.tail) == [.trailingZeros(bytes: Int64(count))], "\(before)")
        let log = try EventLog.open(root: Fixture.root, fs: fs)
        #expect(log.recoveryReports == [RecoveryReport(stream: "orders", file: Self.rel0, bytesTruncated: Int64(count), reason: "\(count) trailing zero bytes")])
        #expect(try log.stream("orders").endOffset == 12)
    }

    @Test func readOnlyOpenNeverWrites() async throws {
        let fs = try await Self.store()
        let (_, lastLen) = try #require(try Self.batchPositions(fs).last)
        fs.truncate(Self.seg0, by: 10)
        try fs.remove("/store/streams/orders/00000000000000000000.index")
        let files = fs.allFiles().map { ($0, fs.contents($0)) }
        let ops = fs.operationCount
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(readOnly: true))
        let r = try #require(log.recoveryReports.first)
        #expect(r.file == Self.rel0 && r.bytesTruncated == Int64(lastLen - 10), "\(r)")
        #expect(r.rebuiltIndexes == ["streams/orders/00000000000000000000.index", "streams/orders/00000000000000000000.timeindex"])
        #expect(try log.stream("orders").endOffset == 9)
        await #expect(throws: LambdaStoreError.self) { try await log.stream("orders").append(Fixture.ordersBatch(first: 9, count: 1), durability: .none) }
        #expect(fs.operationCount == ops)
        #expect(fs.allFiles().map { ($0, fs.contents($0)) }.elementsEqual(files) { $0.0 == $1.0 && $0.1 == $1.1 })
    }

    // MARK: Corruption

    /// Every single-byte change anywhere in a segment is detected by verify, which names the
    /// file and an offset, and by open, which refuses to start rather than cutting data.
    @Test(arguments: [Codec.none, .lz4])
    func everyByteFlipIsDetected(codec: Codec) async throws {
        let fs = try await Self.store(batches: 3, codec: codec)
        let size = try #require(fs.contents(Self.seg0)).count
        for offset in 0..<size {
            let img = fs.crashImage(.durableOnly)
            img.flipBit(Self.seg0, at: offset, bit: offset % 8)
            let v = EventLog.verify(root: Fixture.root, fs: img)
            #expect(v.problems.contains { $0.file == Self.rel0 && $0.offset != nil && !$0.isDerived }, "offset \(offset): \(v.problems)")
            #expect(v.incompleteTails.isEmpty, "offset \(offset)")
            do {
                let log = try EventLog.open(root: Fixture.root, fs: img)
                Issue.record("offset \(offset): open succeeded: \(log.recoveryReports)")
            } catch {
                #expect(error.code == .corruption && error.path == Self.rel0 && error.offset != nil, "offset \(offset): \(error)")
            }
        }
    }

    /// A payload larger than the scanner's read window (1 MiB) is checked one window at a
    /// time: a flipped byte in its first window, on either side of a window boundary, or in its
    /// last byte is corruption at the batch's position, and the intact file opens with every
    /// record.
    @Test func payloadLargerThanTheReadWindowIsCheckedWhole() async throws {
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(codec: .none))
        _ = try log.applySchema(Fixture.orders)
        let big = Fixture.ordersBatch(first: 0, count: 80_000)
        _ = try await log.stream("orders").append(big, durability: .sync)
        _ = try await log.stream("orders").append(Fixture.ordersBatch(first: 80_000, count: 3), durability: .sync)
        log.close()
        try fs.remove(Fixture.root + "/streams/orders/" + LogCheckpoint.fileName)
        let batches = try Self.batchPositions(fs)
        let (pos, len) = try #require(batches.first)
        let chunk = 1 << 20
        try #require(len > 2 * chunk + 64, "the payload spans several windows (\(len) bytes)")
        let reopened = try EventLog.open(root: Fixture.root, fs: fs.crashImage(.durableOnly))
        #expect(try reopened.stream("orders").visibleEndOffset == 80_003)
        let payloadStart = Int(pos) + LogFormat.batchHeaderSize
        for offset in [payloadStart + 10, payloadStart + chunk - 1, payloadStart + chunk, payloadStart + 2 * chunk + 1, Int(pos) + len - 1] {
            let img = fs.crashImage(.durableOnly)
            img.flipBit(Self.seg0, at: offset)
            do {
                _ = try EventLog.open(root: Fixture.root, fs: img)
                Issue.record("byte \(offset): open succeeded")
            } catch {
                #expect(error.matches(.corruption, Self.rel0, "@ \(pos)", "batch payload checksum mismatch"), "byte \(offset): \(error)")
            }
            let v = EventLog.verify(root: Fixture.root, fs: img)
            #expect(v.problems.contains { $0.file == Self.rel0 && $0.offset == pos }, "byte \(offset): \(v.problems)")
        }
    }

    /// A complete last batch whose payload fails its checksum is corruption, not a tail.
    @Test func corruptLastBatchIsNotTruncated() async throws {
        let fs = try await Self.store()
        let (lastPos, lastLen) = try #require(try Self.batchPositions(fs).last)
        fs.flipBit(Self.seg0, at: Int(lastPos) + lastLen - 1)
        do {
            _ = try EventLog.open(root: Fixture.root, fs: fs)
            Issue.record("expected corruption")
        } catch {
            #expect(error.matches(.corruption, Self.rel0, "@ \(lastPos)", "batch payload checksum mismatch"), "\(error)")
        }
        #expect(fs.contents(Self.seg0)?.count == Int(lastPos) + lastLen, "nothing was cut")
    }

    /// A damaged length field in the last header is caught by the header CRC, never taken
    /// for a short write.
    @Test func damagedLengthIsNotMistakenForATornWrite() async throws {
        let fs = try await Self.store()
        let (lastPos, _) = try #require(try Self.batchPositions(fs).last)
        fs.flipBit(Self.seg0, at: Int(lastPos) + 45, bit: 3)   // storedLength grows by 2 KiB: would "run past EOF"
        do {
            _ = try EventLog.open(root: Fixture.root, fs: fs)
            Issue.record("expected corruption")
        } catch {
            #expect(error.matches(.corruption, "@ \(lastPos)", "batch header checksum mismatch"), "\(error)")
        }
    }

    @Test func flippedByteOnReadIsReportedWithFileAndOffset() async throws {
        let fs = try await Self.store()
        let log = try EventLog.open(root: Fixture.root, fs: fs)
        let s = try log.stream("orders")
        let info = try #require(try s.batchInfos(in: 4..<5).first)
        fs.flipByteOnRead(Self.seg0, at: info.position + 60)
        do {
            _ = try s.readBatch(info)
            Issue.record("expected corruption")
        } catch {
            #expect(error.matches(.corruption, Self.rel0, "@ \(info.position)", "checksum mismatch"), "\(error)")
        }
        fs.clearReadFlips()
        #expect(try s.readBatch(info).count == 3)
    }

    // MARK: Index files

    @Test(arguments: ["delete", "truncate", "flip", "garbage", "swap"])
    func damagedIndexFilesAreRebuilt(damage: String) async throws {
        let fs = try await Self.store(batches: 12, segmentBytes: 700)   // several sealed segments
        let names = try fs.list("/store/streams/orders").filter { $0.hasSuffix(".index") || $0.hasSuffix(".timeindex") }
        #expect(names.count >= 6)
        let before = try EventLog.open(root: Fixture.root, fs: fs.crashImage())
        let expectedInfos = try before.stream("orders").batchInfos(in: 0..<36)
        before.close()
        for name in names {
            let img = fs.crashImage()
            let path = "/store/streams/orders/" + name
            switch damage {
            case "delete": try img.remove(path)
            case "truncate": img.truncate(path, by: 41)
            case "flip": img.flipBit(path, at: 30)
            case "garbage": img.appendBytes(path, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40])
            default: img.setContents(path, try #require(fs.contents("/store/streams/orders/" + names[(names.firstIndex(of: name)! + 2) % names.count])))
            }
            let log = try EventLog.open(root: Fixture.root, fs: img)
            let rel = "streams/orders/" + name
            #expect(log.recoveryReports.flatMap(\.rebuiltIndexes).contains(rel), "\(damage) \(name): \(log.recoveryReports)")
            #expect(try log.stream("orders").batchInfos(in: 0..<36) == expectedInfos, "\(damage) \(name)")
            #expect(try Fixture.allRows(try log.stream("orders")).count == 36)
            log.close()
            #expect(img.contents(path) == fs.contents(path), "\(damage) \(name): rebuilt byte for byte")
            let again = try EventLog.open(root: Fixture.root, fs: img)
            #expect(again.recoveryReports.isEmpty, "\(again.recoveryReports)")
        }
    }

    @Test func indexDumpShowsEveryEntry() async throws {
        let fs = try await Self.store()
        let ix = try LogInspector.dumpIndex(path: "/store/streams/orders/00000000000000000000.index", fs: fs)
        #expect(ix.kind == "index" && ix.formatVersion == 1 && ix.problem == nil)
        #expect(ix.entries.map(\.baseOffset) == [0, 3, 6, 9])
        #expect(ix.entries.allSatisfy { $0.checksumOk })
        let tx = try LogInspector.dumpIndex(path: "/store/streams/orders/00000000000000000000.timeindex", fs: fs)
        #expect(tx.entries.map(\.position) == ix.entries.map(\.position))
        #expect(tx.entries.first?.minEventTime == 1_767_225_600_000 && tx.entries.first?.maxEventTime == 1_767_225_600_000 + 2 * 37)
        fs.flipBit("/store/streams/orders/00000000000000000000.index", at: 24 + 40 + 3)
        let bad = try LogInspector.dumpIndex(path: "/store/streams/orders/00000000000000000000.index", fs: fs)
        #expect(bad.entries.map(\.checksumOk) == [true, false, true, true])
        let v = EventLog.verify(root: Fixture.root, fs: fs)
        #expect(v.problems.map(\.file) == ["streams/orders/00000000000000000000.index"] && v.problems.allSatisfy { $0.isDerived }, "\(v.problems)")
    }

    // MARK: Segment rolls and headers

    @Test func crashDuringRollLeavesAnEmptyActiveSegment() async throws {
        let fs = try await Self.store(batches: 6, segmentBytes: 700)
        let segs = try fs.list("/store/streams/orders").filter { $0.hasSuffix(".segment") }
        let last = "/store/streams/orders/" + segs[segs.count - 1]
        for keep in [0, 5, 31] {
            let img = fs.crashImage()
            let lastBase = try #require(LogFormat.baseOffset(fromFileName: segs[segs.count - 1], suffix: ".segment"))
            img.setContents(last, Array(try #require(fs.contents(last)).prefix(keep)))
            let log = try EventLog.open(root: Fixture.root, fs: img)
            let r = try #require(log.recoveryReports.first)
            #expect(r.reason?.contains("incomplete segment file header") == true, "\(r)")
            let s = try log.stream("orders")
            #expect(s.endOffset == lastBase)
            #expect(try await s.append(Fixture.ordersBatch(first: Int(lastBase), count: 3), durability: .sync) == lastBase..<lastBase + 3)
            log.close()
            #expect(EventLog.verify(root: Fixture.root, fs: img).isClean)
        }
    }

    @Test func offsetGapBetweenSegmentsIsCorruption() async throws {
        let fs = try await Self.store(batches: 12, segmentBytes: 700)
        let segs = try fs.list("/store/streams/orders").filter { $0.hasSuffix(".segment") }
        #expect(segs.count >= 3)
        try fs.remove("/store/streams/orders/" + segs[1])
        do {
            _ = try EventLog.open(root: Fixture.root, fs: fs)
            Issue.record("expected corruption")
        } catch {
            #expect(error.matches(.corruption, "offset gap"), "\(error)")
        }
        #expect(EventLog.verify(root: Fixture.root, fs: fs).problems.contains { $0.message.contains("offset gap") })
    }

    // MARK: Repair

    @Test func repairMovesTheDamageAsideAndKeepsEverythingBefore() async throws {
        let fs = try await Self.store(batches: 12, segmentBytes: 700)
        let dir = "/store/streams/orders/"
        let segs = try fs.list("/store/streams/orders").filter { $0.hasSuffix(".segment") }
        #expect(segs.count >= 3)
        let victim = dir + segs[1]
        let dump = try LogInspector.dumpSegment(path: victim, fs: fs)
        let bad = try #require(dump.batches.dropFirst().first)
        fs.flipBit(victim, at: Int(bad.position) + 70)
        // A sealed segment's payloads are checked by verify and by a verifying open.
        #expect(EventLog.verify(root: Fixture.root, fs: fs).problems.map(\.file) == ["streams/orders/" + segs[1]])
        #expect(throws: LambdaStoreError.self) { try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(verifyOnOpen: true)) }
        let victimBytes = try #require(fs.contents(victim))

        let actions = try EventLog.repair(root: Fixture.root, fs: fs)
        let a = try #require(actions.first)
        #expect(actions.count == 1)
        #expect(a.file == "streams/orders/" + segs[1] && a.offset == bad.position && a.endOffsetAfter == bad.baseOffset, "\(a)")
        #expect(a.movedAside.first == "streams/orders/" + segs[1] + ".damaged")
        #expect(a.movedAside.count == segs.count - 1)
        #expect(fs.contents(victim + ".damaged") == Array(victimBytes[Int(bad.position)...]))
        #expect(fs.contents(victim) == Array(victimBytes[..<Int(bad.position)]))
        for later in segs.dropFirst(2) { #expect(fs.exists(dir + later + ".damaged") && !fs.exists(dir + later)) }

        let log = try EventLog.open(root: Fixture.root, fs: fs)
        let s = try log.stream("orders")
        #expect(s.endOffset == bad.baseOffset)
        #expect(try Fixture.allRows(s) == Fixture.rows(Fixture.ordersBatch(first: 0, count: Int(bad.baseOffset))))
        #expect(try await s.append(Fixture.ordersBatch(first: 100, count: 1), durability: .sync) == bad.baseOffset..<bad.baseOffset + 1)
        log.close()
        let v = EventLog.verify(root: Fixture.root, fs: fs)
        #expect(v.isClean && v.notes.contains { $0.contains(".damaged") }, "\(v)")
        #expect(try EventLog.repair(root: Fixture.root, fs: fs).isEmpty)
    }

    @Test func repairOfADamagedFileHeaderRestartsTheSegmentEmpty() async throws {
        let fs = try await Self.store(batches: 3)
        fs.flipBit(Self.seg0, at: 9)
        let original = try #require(fs.contents(Self.seg0))
        let a = try #require(try EventLog.repair(root: Fixture.root, fs: fs).first)
        #expect(a.offset == 0 && a.endOffsetAfter == 0)
        #expect(fs.contents(Self.seg0 + ".damaged") == original)
        let log = try EventLog.open(root: Fixture.root, fs: fs)
        #expect(try log.stream("orders").endOffset == 0)
    }

    @Test func segmentDumpDescribesBatchesAndRecords() async throws {
        let fs = try await Self.store(batches: 2, codec: .zstd)
        let d = try LogInspector.dumpSegment(path: Self.seg0, fs: fs, includeRecords: true)
        #expect(d.formatVersion == 2 && d.baseOffset == 0 && d.tail == .clean && d.problem == nil)
        #expect(d.batches.map(\.baseOffset) == [0, 3] && d.batches.allSatisfy { $0.count == 3 && $0.checksumOk && $0.schemaVersion == 1 })
        #expect(d.batches[0].records == Fixture.rows(Fixture.ordersBatch(first: 0, count: 3)))
        #expect(d.batches.reduce(32) { $0 + Int64($1.bytes) } == d.fileBytes)
        fs.flipBit(Self.seg0, at: Int(d.batches[0].position) + 60)
        let bad = try LogInspector.dumpSegment(path: Self.seg0, fs: fs, includeRecords: true)
        #expect(bad.batches.map(\.checksumOk) == [false, true])
        #expect(bad.batches[0].records == nil && bad.batches[0].recordsError != nil)
    }
}

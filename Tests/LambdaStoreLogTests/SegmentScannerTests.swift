import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

/// The segment scan that checks payload checksums on two threads after reading the headers
/// must be indistinguishable from the one-pass scan, whatever the damage.
@Suite struct SegmentScannerTests {
    /// Orders per batch: payloads from a few bytes to more than the 1 MiB read window.
    static let counts = [3, 4_000, 7, 30_000, 1, 12_000, 5, 2, 45_000, 3]

    /// A segment of `counts` batches (codec none), and each batch's position and bytes.
    static func segment() async throws -> (bytes: [UInt8], batches: [(Int, Int)]) {
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(codec: .none))
        _ = try log.applySchema(Fixture.orders)
        var first = 0
        for n in counts {
            _ = try await log.stream("orders").append(Fixture.ordersBatch(first: first, count: n), durability: .sync)
            first += n
        }
        log.close()
        let seg = Fixture.root + "/streams/orders/00000000000000000000.segment"
        let clean = try #require(fs.contents(seg))
        let batches = try LogInspector.dumpSegment(path: seg, fs: fs).batches.map { (Int($0.position), $0.bytes) }
        try #require(batches.count == counts.count && clean.count > 2 << 20)
        return (clean, batches)
    }

    /// What a scan of `bytes` returns or throws, and where it stops, as comparable text.
    static func outcome(_ bytes: [UInt8], parallelFrom threshold: Int64) -> String {
        let h = MemoryFileHandle(bytes: bytes, path: "seg")
        var scanner: SegmentScanner
        do throws(LambdaStoreError) {
            scanner = try SegmentScanner(handle: h, path: "seg", checkPayloads: true)
        } catch {
            return "header: \(error.code) \(error.message) @\(error.offset ?? -1)"
        }
        do throws(LambdaStoreError) {
            let (entries, end, tail) = try scanner.scanAll(parallelFrom: threshold)
            return "ok \(entries.map { "\($0.baseOffset)@\($0.position)+\($0.storedLength)" }) end \(end) tail \(tail) intact \(scanner.intactOffset)"
        } catch {
            return "error: \(error.code) \(error.message) \(error.path ?? "-") @\(error.offset ?? -1) intact \(scanner.intactOffset) at \(scanner.position) next \(scanner.nextOffset)"
        }
    }

    /// Batches from 1 to 45,000 orders (payloads from a few bytes to more than the 1 MiB read
    /// window), then 400 damaged copies: single bit flips (anywhere, and on the first and last
    /// bytes of headers and payloads), two flips (a payload early and a header late: the
    /// payload mismatch comes first by position and must win; two payloads in the two halves
    /// the threads check: the first half's must win), cuts, and trailing zeros or garbage.
    /// The two-thread scan must return or throw exactly what the one-pass scan does.
    @Test func parallelScanEqualsSerialScan() async throws {
        let (clean, batches) = try await Self.segment()
        #expect(Self.outcome(clean, parallelFrom: .max).hasPrefix("ok "))
        var marks: [Int] = []
        for (p, len) in batches {
            marks += [p, p + 8, p + LogFormat.batchHeaderSize - 1, p + LogFormat.batchHeaderSize, p + len - 1]
        }
        var rng = SplitMix64(seed: 0x5CA7)
        func anywhere() -> Int { Int(rng.next() % UInt64(clean.count)) }
        func flip(_ b: inout [UInt8], _ i: Int) { b[i] ^= UInt8(1 << (rng.next() % 8)) }
        var variants: [[UInt8]] = [clean]
        for _ in 0..<400 {
            var b = clean
            func payloadByte(_ k: Int) -> Int { batches[k].0 + LogFormat.batchHeaderSize + Int(rng.next() % UInt64(batches[k].1 - LogFormat.batchHeaderSize)) }
            switch rng.next() % 7 {
            case 0: flip(&b, anywhere())
            case 1: flip(&b, marks[Int(rng.next() % UInt64(marks.count))])
            case 2:
                // A payload early, a header later.
                let k = Int(rng.next() % UInt64(batches.count - 1))
                flip(&b, payloadByte(k))
                flip(&b, batches[k + 1 + Int(rng.next() % UInt64(batches.count - k - 1))].0 + Int(rng.next() % UInt64(LogFormat.batchHeaderSize)))
            case 3:
                // Two payloads, one in each half of the bytes (the split falls after batch 5).
                flip(&b, payloadByte(Int(rng.next() % 6)))
                flip(&b, payloadByte(6 + Int(rng.next() % 4)))
            case 4: b.removeLast(Int(rng.next() % UInt64(clean.count - 64)))
            case 5: b += [UInt8](repeating: 0, count: 1 + Int(rng.next() % 5_000))
            default: b += (0..<(1 + Int(rng.next() % 200))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            variants.append(b)
        }
        var errors = 0
        for (i, b) in variants.enumerated() {
            let serial = Self.outcome(b, parallelFrom: .max), parallel = Self.outcome(b, parallelFrom: 0)
            #expect(serial == parallel, "variant \(i)")
            if !serial.hasPrefix("ok ") { errors += 1 }
        }
        // The damage is real: most variants fail, some (tails) open.
        #expect(errors > 200 && errors < variants.count - 20, "\(errors) of \(variants.count) variants fail")
    }

    /// A file whose reads fail when they touch one byte (a bad sector).
    final class FailingHandle: FileHandle, @unchecked Sendable {
        let bytes: [UInt8], bad: Int
        let path = "seg"
        init(_ bytes: [UInt8], failingAt bad: Int) { self.bytes = bytes; self.bad = bad }
        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(LambdaStoreError) -> Int {
            let from = Int(offset), n = max(0, min(buffer.count, bytes.count - from))
            if from <= bad && bad < from + n { throw LambdaStoreError(.io, "read error at byte \(bad)", path: path, offset: Int64(bad)) }
            if n > 0 { bytes.withUnsafeBytes { buffer.baseAddress?.copyMemory(from: $0.baseAddress! + from, byteCount: n) } }
            return n
        }
        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(LambdaStoreError) { throw LambdaStoreError(.io, "read-only") }
        func sync() throws(LambdaStoreError) {}
        func truncate(to size: Int64) throws(LambdaStoreError) { throw LambdaStoreError(.io, "read-only") }
        func size() throws(LambdaStoreError) -> Int64 { Int64(bytes.count) }
        func close() throws(LambdaStoreError) {}
    }

    /// A read that fails (anywhere: a header, a payload in either half) fails both scans with
    /// that error, and neither counts as intact a batch at or after the one holding the bad
    /// byte: repair keeps what `intactOffset` says was checked.
    @Test func aFailedReadNeverCountsUncheckedBatchesAsIntact() async throws {
        let (clean, batches) = try await Self.segment()
        var bads: [Int] = []
        for (p, len) in batches { bads += [p + 3, p + LogFormat.batchHeaderSize + 1, p + len - 1] }
        var scanned = 0
        for bad in bads {
            // The offset of the first record of the batch holding the bad byte.
            let k = try #require(batches.lastIndex { $0.0 <= bad })
            let limit = Int64(Self.counts.prefix(k).reduce(0, +))
            for threshold in [Int64.max, 0] {
                // (Opening reads the first MiB: a bad byte there fails before any scan.)
                var scanner: SegmentScanner
                do throws(LambdaStoreError) {
                    scanner = try SegmentScanner(handle: FailingHandle(clean, failingAt: bad), path: "seg", checkPayloads: true)
                } catch {
                    #expect(error.code == .io && bad < FileWindow.defaultChunk, "byte \(bad): \(error)")
                    continue
                }
                do throws(LambdaStoreError) {
                    _ = try scanner.scanAll(parallelFrom: threshold)
                    Issue.record("byte \(bad): the scan succeeded")
                } catch {
                    #expect(error.code == .io, "byte \(bad): \(error)")
                }
                scanned += 1
                #expect(scanner.intactOffset <= limit, "byte \(bad), \(threshold == 0 ? "two threads" : "one pass"): intact \(scanner.intactOffset) > \(limit)")
            }
        }
        #expect(scanned >= 30, "bad bytes past the first MiB, in both halves: \(scanned) scans")
    }
}

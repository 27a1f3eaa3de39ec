import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

/// The segment scan that checks payload checksums on two threads after reading the headers
/// must be indistinguishable from the one-pass scan, whatever the damage.
@Suite struct SegmentScannerTests {
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
            return "error: \(error.code) \(error.message) \(error.path ?? "-") @\(error.offset ?? -1) intact \(scanner.intactOffset)"
        }
    }

    /// Batches from 1 to 45,000 orders (payloads from a few bytes to more than the 1 MiB read
    /// window), then 400 damaged copies: single bit flips (anywhere, and on the first and last
    /// bytes of headers and payloads), two flips (a payload early and a header late: the
    /// payload mismatch comes first by position and must win; two payloads in the two halves
    /// the threads check: the first half's must win), cuts, and trailing zeros or garbage.
    /// The two-thread scan must return or throw exactly what the one-pass scan does.
    @Test func parallelScanEqualsSerialScan() async throws {
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(codec: .none))
        _ = try log.applySchema(Fixture.orders)
        var first = 0
        for n in [3, 4_000, 7, 30_000, 1, 12_000, 5, 2, 45_000, 3] {
            _ = try await log.stream("orders").append(Fixture.ordersBatch(first: first, count: n), durability: .sync)
            first += n
        }
        log.close()
        let seg = Fixture.root + "/streams/orders/00000000000000000000.segment"
        let clean = try #require(fs.contents(seg))
        let batches = try LogInspector.dumpSegment(path: seg, fs: fs).batches.map { (Int($0.position), $0.bytes) }
        try #require(batches.count == 10 && clean.count > 2 << 20)
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
}

import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Crash simulation: one seeded run of ≥ 1,000 appends (mixed `sync` and `none`, small
/// segments so they roll, a schema evolution and a stream creation in the middle) on the
/// simulated file system. After EVERY mutating file-system operation the test takes crash
/// images of the state at that instant: only durable data; all data with the last write
/// torn at a random byte; and synced names with all data, last write torn. Each image must
/// open, hold every acknowledged `sync` event intact at its offset, have dense offsets and
/// contain nothing but a prefix of what was appended.
///
/// `LAMBDASTORE_CRASH_SEEDS` (default 1) runs more seeds, `LAMBDASTORE_CRASH_APPENDS`
/// (default 1000) longer runs: e.g. `LAMBDASTORE_CRASH_SEEDS=20 swift test --filter Crash`.
@Suite struct CrashTests {
    static func env(_ name: String, _ fallback: Int) -> Int {
        guard let v = getenv(name) else { return fallback }
        return Int(String(cString: v)) ?? fallback
    }

    static let v1 = Schema(stream: "events", eventTime: "ts", fields: [
        Field(name: "ts", type: .timestamp),
        Field(name: "seq", type: .int64),
        Field(name: "s", type: .string, nullable: true),
    ])
    static let v2Fields = v1.fields + [Field(name: "tag", type: .string, defaultValue: .string("x"))]

    /// The event at offset `k` of `stream` (a pure function, so any prefix can be checked).
    static func ts(_ k: Int64) -> Int64 { 1_700_000_000_000 + (k * 7919) % 100_000 }
    static func seq(_ stream: String, _ k: Int64) -> Int64 { k * 3 + (stream == "events" ? 1 : 2) }
    static func str(_ k: Int64) -> String? { k % 5 == 0 ? nil : "v\(k)" }
    static func tag(_ k: Int64) -> String { "t\(k % 3)" }

    static func batch(_ schema: Schema, stream: String, from k: Int64, count: Int) -> ColumnBatch {
        var b = ColumnBatch(schema: schema, capacity: count)
        for i in k..<(k + Int64(count)) {
            b.columns[0].append(int: ts(i))
            b.columns[1].append(int: seq(stream, i))
            if let s = str(i) { b.columns[2].append(string: s) } else { b.columns[2].appendNull() }
            if schema.fields.count > 3 { b.columns[3].append(string: tag(i)) }
        }
        return b
    }

    /// What the workload has been told so far (read by the checker inside the observer).
    struct Acked: Sendable, Equatable {
        var durable: [String: Int64] = [:]      // end offset of the last acknowledged sync append
        var appended: [String: Int64] = [:]     // end offset of everything written
        var evolvedAt: Int64?                   // first offset written under v2 (events)
        var schemaV2Acked = false
        var otherCreated = false
    }

    final class Run: Sendable {
        let state = Locked(Acked())
        /// The acknowledged state at the last durable-only image.
        let lastChecked = Locked(Acked())
        /// Per stream, the end of what a durable-only image has decoded and compared in full.
        /// Durable bytes below it never change (the writer only appends), so later durable
        /// images decode from there, or from their active segment when that starts earlier.
        let verifiedThrough = Locked([String: Int64]())
        let stats = Locked((images: 0, failures: [String]()))
        let rng: Locked<SplitMix64>
        let seed: UInt64
        let options: LogOptions
        init(seed: UInt64, options: LogOptions) {
            self.seed = seed
            rng = Locked(SplitMix64(seed: seed ^ 0xA5A5))
            self.options = options
        }

        func fail(_ s: String) { stats.withLock { if $0.failures.count < 20 { $0.failures.append(s) } } }

        /// Opens `img` and checks it against what was acknowledged.
        ///
        /// With `fullRead` every record is decoded and compared. Otherwise the records of the
        /// active segment are, and those a durable-only image has not compared yet (when
        /// `isDurableImage`); sealed segments are byte-identical to the durable state, which the
        /// durable-only images compare after every sync. Everything is also checked through
        /// the indexes: dense, contiguous batches from offset 0 to the end.
        func check(_ img: SimulatedFileSystem, _ what: String, appendAfter: Bool, fullRead: Bool, isDurableImage: Bool = false) {
            let acked = state.withLock { $0 }
            stats.withLock { $0.images += 1 }
            let log: EventLog
            do { log = try EventLog.open(root: Fixture.root, fs: img, options: options) } catch {
                fail("seed \(seed) \(what): open failed: \(error)")
                return
            }
            defer { log.close() }
            for stream in ["events", "other"] {
                let durable = acked.durable[stream] ?? 0
                guard let s = try? log.stream(stream) else {
                    if durable > 0 || (stream == "other" && acked.otherCreated) || (stream == "events") {
                        fail("seed \(seed) \(what): stream \(stream) missing")
                    }
                    continue
                }
                if stream == "events", acked.schemaV2Acked, s.latestSchema.version != 2 {
                    fail("seed \(seed) \(what): acknowledged schema v2 lost")
                }
                let end = s.endOffset
                if end < durable { fail("seed \(seed) \(what): \(stream) ends at \(end), \(durable) acknowledged"); continue }
                if end > (acked.appended[stream] ?? 0) { fail("seed \(seed) \(what): \(stream) ends at \(end), only \(acked.appended[stream] ?? 0) appended") }
                var next: Int64 = 0
                do {
                    let active = s.segments().last?.baseOffset ?? 0
                    let unverified = isDurableImage ? verifiedThrough.withLock { $0[stream] ?? 0 } : .max
                    let readFrom = fullRead ? 0 : min(active, unverified, end)
                    for info in try s.batchInfos(in: 0..<readFrom) {
                        guard info.baseOffset == next else { throw LambdaStoreError(.corruption, "offset gap at \(next)") }
                        next += Int64(info.count)
                    }
                    guard next == readFrom else { throw LambdaStoreError(.corruption, "sealed segments end at \(next), active starts at \(readFrom)") }
                    try s.forEachBatch(in: readFrom..<end) { (info, b) throws(LambdaStoreError) in
                        guard info.baseOffset == next else { throw LambdaStoreError(.corruption, "offset gap at \(next)") }
                        try Self.verify(b, stream: stream, from: next, evolvedAt: acked.evolvedAt)
                        next += Int64(b.count)
                    }
                } catch {
                    fail("seed \(seed) \(what): \(stream): \(error)")
                    continue
                }
                if next != end { fail("seed \(seed) \(what): \(stream): read \(next) records, end offset \(end)") }
                if isDurableImage { verifiedThrough.withLock { $0[stream] = end } }
                if appendAfter {
                    do {
                        let b = CrashTests.batch(s.latestSchema, stream: stream, from: end, count: 2)
                        _ = try s.write(b, durability: .none)
                        try s.sync()
                        var n: Int64 = 0
                        try s.forEachBatch(in: end..<(end + 2)) { _, b in n += Int64(b.count) }
                        if n != 2 { fail("seed \(seed) \(what): append after recovery not readable") }
                    } catch {
                        fail("seed \(seed) \(what): append after recovery failed: \(error)")
                    }
                }
            }
        }

        static func verify(_ b: ColumnBatch, stream: String, from k: Int64, evolvedAt: Int64?) throws(LambdaStoreError) {
            let ts = b.columns[0].ints, seq = b.columns[1].ints
            for j in 0..<b.count {
                let o = k + Int64(j)
                guard ts[j] == CrashTests.ts(o), seq[j] == CrashTests.seq(stream, o) else {
                    throw LambdaStoreError(.corruption, "record \(o) differs")
                }
                let s: String? = b.columns[2].isNull(j) ? nil : b.columns[2].string(at: j)
                guard s == CrashTests.str(o) else { throw LambdaStoreError(.corruption, "record \(o) string differs") }
                if b.columns.count > 3 {
                    let want = evolvedAt.map { o >= $0 } == true ? CrashTests.tag(o) : "x"
                    guard b.columns[3].string(at: j) == want else { throw LambdaStoreError(.corruption, "record \(o) tag differs") }
                }
            }
        }
    }

    @Test func everyWritePointSurvivesACrash() async throws {
        let seeds = Self.env("LAMBDASTORE_CRASH_SEEDS", 1)
        let appends = Self.env("LAMBDASTORE_CRASH_APPENDS", 1_000)
        for seed in 1...UInt64(seeds) {
            try await runOnce(seed: seed, appends: appends)
        }
    }

    func runOnce(seed: UInt64, appends: Int) async throws {
        let codec = Codec.allCases[Int(seed % 3)]
        let options = LogOptions(segmentBytesMax: 8_000, codec: codec)
        let run = Run(seed: seed, options: options)
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: options)
        _ = try log.applySchema(Self.v1)
        fs.setObserver { k, op in
            // Pick the images for this instant.
            let (t1, t2) = run.rng.withLock { r in (Int(r.next() % 64), Int(r.next() % 4096)) }
            if case .write(let path, _, let n) = op {
                run.check(fs.crashImage(.everything(tornLastWriteAt: n > 0 ? t1 % n : 0)), "op \(k) \(op) everything torn",
                          appendAfter: k % 97 == 0, fullRead: k % 50 == 0)
                if path.hasSuffix(".segment") {
                    run.check(fs.crashImage(.unsyncedData(tornLastWriteAt: n > 0 ? t2 % n : 0)), "op \(k) \(op) names durable, data torn",
                              appendAfter: false, fullRead: false)
                }
            }
            // The durable-only image changes at syncs; what must be in it changes after them.
            let acked = run.state.withLock { $0 }
            let isSync: Bool = switch op { case .sync, .syncDirectory: true; default: false }
            let changed = run.lastChecked.withLock { last in
                defer { last = acked }
                return last != acked
            }
            if isSync || changed {
                run.check(fs.crashImage(.durableOnly), "op \(k) \(op) durable only", appendAfter: k % 89 == 0, fullRead: k % 100 == 0, isDurableImage: true)
            }
        }
        var rng = SplitMix64(seed: seed)
        let events = try log.stream("events")
        var other: StreamLog?
        for i in 0..<appends {
            if i == appends * 2 / 5 {
                let r = try log.applySchema(Schema(stream: "events", eventTime: "ts", fields: Self.v2Fields))
                #expect(r == .evolved(version: 2))
                run.state.withLock { $0.schemaV2Acked = true; $0.evolvedAt = events.endOffset }
            }
            if i == appends * 7 / 10 {
                _ = try log.applySchema(Schema(stream: "other", eventTime: "ts", fields: Self.v1.fields))
                other = try log.stream("other")
                run.state.withLock { $0.otherCreated = true }
            }
            let target = (other != nil && rng.next() % 3 == 0) ? other! : events
            let n = Int(rng.next() % 4) + 1
            let from = target.endOffset
            let b = Self.batch(target.latestSchema, stream: target.name, from: from, count: n)
            run.state.withLock { $0.appended[target.name] = from + Int64(n) }
            let durability: Durability = rng.next() % 2 == 0 ? .sync : .none
            let range = try await target.append(b, durability: durability)
            #expect(range == from..<from + Int64(n))
            if durability == .sync { run.state.withLock { $0.durable[target.name] = range.upperBound } }
        }
        fs.setObserver(nil)
        log.close()
        let stats = run.stats.withLock { $0 }
        #expect(stats.failures.isEmpty, "seed \(seed) (\(codec)): \(stats.failures.joined(separator: "\n"))")
        #expect(stats.images > 2 * appends, "seed \(seed): only \(stats.images) crash images checked")
        #expect(fs.operationCount > 2 * appends)
        print("crash simulation seed \(seed) (\(codec)): \(fs.operationCount) operations, \(stats.images) crash images checked")
    }
}

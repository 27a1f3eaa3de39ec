import Dispatch
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport
import Logging
import Testing
#if canImport(Glibc)
import Glibc
#endif

// Crash safety and concurrency of the lifecycle manager (DESIGN.md "Lifecycle", format-spec.md
// §7.3 and §8): archiving, raw retention, history drop behind base checkpoints and snapshot GC.
//
//   LAMBDASTORE_LONG=1   more history per crash scenario (more segments, archive files and
//                        write points; a few minutes in all instead of about 20 s)

/// Whether the long variants were asked for.
let lifecycleLong: Bool = getenv("LAMBDASTORE_LONG").map { String(cString: $0) == "1" } ?? false

/// A crash at every write point of `compact` (every file-system operation, with the worst-case
/// "only synced data and synced directory entries survive" image and with "everything, the last
/// write torn") leaves a store that opens, serves what it served before, holds every
/// acknowledged event, verifies clean, and converges to the uncrashed run's final state when
/// `compact` runs again.
@Suite struct LifecycleCrashTests {
    static let root = "/store"
    static let views = ["v", "w"]

    /// What the crashed `compact` does.
    enum Scenario: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// (a) copies the sealed segments into the archive (archive-after 0s).
        case archive
        /// (b) deletes the archived raw segments (keep-raw 0s after an earlier archiving run).
        case retention
        /// (c) drops the archived history behind base checkpoints of two views
        /// (drop-history-after 0s, allow-history-loss).
        case drop
        /// (d) collects snapshot generations beyond keep-generations 2 after several batch runs.
        case gc
        /// (e) all of it at once, after a roll that the age policy makes due, with events past
        /// the views' horizons (a speed part, and a drop clamped to the lowest horizon).
        case all

        var testDescription: String { rawValue }
    }

    /// The store's clock (epoch ms): fixed, moved only by the test.
    final class Clock: Sendable {
        let value = Locked<Int64>(1_767_225_600_000)
        var now: Int64 { value.withLock { $0 } }
        func advance(_ ms: Int64) { value.withLock { $0 += ms } }
    }

    static func options(_ fs: SimulatedFileSystem, _ clock: Clock) -> StoreOptions {
        var o = StoreOptions()
        o.fileSystem = fs
        o.batchParallelism = 2
        o.clock = { clock.now }
        o.log.clock = { clock.now }   // segment creation times: what "newest append" is measured by
        o.logger.logLevel = .critical   // recovery warnings are expected here
        return o
    }

    /// The records of a batch, as values per row.
    static func rows(_ b: ColumnBatch) -> [[Value]] {
        (0..<b.count).map { r in b.columns.map { $0.value(at: r) } }
    }

    /// Every view's full answer.
    static func answers(_ s: Store) async throws -> [String: [ReferenceModel.Cell: [Value]]] {
        var out: [String: [ReferenceModel.Cell: [Value]]] = [:]
        for v in views { out[v] = try await served(s, view: v) }
        return out
    }

    /// The files of the directories the lifecycle manager changes.
    static func disk(_ fs: SimulatedFileSystem) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for d in ["streams/orders", "archive/orders"] + views.map({ "views/" + $0 }) {
            let p = root + "/" + d
            out[d] = fs.isDirectory(p) ? ((try? fs.list(p)) ?? ["<cannot list>"]) : []
        }
        return out
    }

    /// What every recovered store must show.
    struct Expected: Sendable {
        var rows: [[Value]]
        var end: Int64
        var oldEarliest: Int64
        var newEarliest: Int64
        /// The answers before `compact` (and after the uncrashed one).
        var before: [String: [ReferenceModel.Cell: [Value]]]
        /// The answers after a full batch run of every view.
        var full: [String: [ReferenceModel.Cell: [Value]]]
        /// The uncrashed run's archive manifest files and directory listings.
        var finalArchive: [ArchivedFile]
        var finalDisk: [String: [String]]
    }

    @Test(arguments: Scenario.allCases)
    func crashAtEveryWritePointOfCompactLeavesTheOldOrTheNewState(_ scenario: Scenario) async throws {
        let started = ContinuousClock.now
        let clock = Clock()
        let fs = SimulatedFileSystem()
        // The store directory's own entry is durable (the caller's business, not the store's).
        try fs.createDirectory(Self.root)
        try fs.syncDirectory("/")
        let store = try await Store.open(at: Self.root, options: Self.options(fs, clock))
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(name: "v", window: ServingTests.windows[0].0, lateness: "10m")))
        try await store.createView(ViewDefinition.parse(json: viewJSON(name: "w", window: ServingTests.windows[1].0, lateness: "10m", filter: nil)))
        try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4096), for: "orders")
        var rng = SplitMix64(seed: 0x11FE_C0DE &+ UInt64(Scenario.allCases.firstIndex(of: scenario)!))
        var eventClock: Int64 = 1_704_067_200_000
        var rows: [[Value]] = []
        func append(_ batches: Int) async throws {
            for _ in 0..<batches {
                let b = try batchOf(randomEvents(&rng, count: 30, clock: &eventClock))
                rows += Self.rows(b)
                _ = try await store.append(b, to: "orders", durability: .sync)
            }
        }
        func runBatches() async throws {
            for v in Self.views { _ = try await store.runBatch(view: v) }
        }
        let archive = StreamPolicy(segmentBytes: 4096, archiveAfterMillis: 0)
        try await append(lifecycleLong ? 80 : 24)
        switch scenario {
        case .archive:
            try await runBatches()
            try await store.setStreamPolicy(archive, for: "orders")
        case .retention:
            try await store.setStreamPolicy(archive, for: "orders")
            _ = try await store.compact()
            try await runBatches()
            try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4096, archiveAfterMillis: 0, keepRawMillis: 0), for: "orders")
        case .drop:
            try await store.setStreamPolicy(archive, for: "orders")
            _ = try await store.compact()
            try await runBatches()
            try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4096, archiveAfterMillis: 0, dropHistoryAfterMillis: 0, allowHistoryLoss: true),
                                      for: "orders")
        case .gc:
            for v in Self.views { try await store.setViewPolicy(ViewPolicy(keepGenerations: 2), for: v) }
            for _ in 0..<3 {
                try await runBatches()
                try await append(2)
            }
            try await runBatches()
        case .all:
            for v in Self.views { try await store.setViewPolicy(ViewPolicy(keepGenerations: 2), for: v) }
            for _ in 0..<3 {
                try await runBatches()
                try await append(3)
            }
            // The last appends stay past the horizons (served by the speed layers), and the
            // active segment is due by age: compact rolls it first.
            try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4096, segmentAgeMillis: 1000, archiveAfterMillis: 0, keepRawMillis: 0,
                                                   dropHistoryAfterMillis: 0, allowHistoryLoss: true), for: "orders")
            clock.advance(2000)
        }
        let log = try store.streamLog("orders")
        let end = log.endOffset
        #expect(end == Int64(rows.count))
        #expect(log.segments().count >= 4, "enough segments to archive, remove and drop")
        let oldEarliest = log.earliestReplayableOffset
        let before = try await Self.answers(store)
        let full = try await Self.fullBatchAnswers(fs.crashImage(.everything(tornLastWriteAt: nil)), clock)

        // The crashed run: a crash image after every operation.
        let images = Locked<[(k: Int, op: String, durableOnly: Bool, image: SimulatedFileSystem)]>([])
        fs.setObserver { k, op in
            let a = fs.crashImage(.durableOnly, directoryEntriesNeedSync: true)
            let b = fs.crashImage(.everything(tornLastWriteAt: 3))
            images.withLock { $0.append((k, "\(op)", true, a)); $0.append((k, "\(op)", false, b)) }
        }
        let report = try await store.compact()
        fs.setObserver(nil)
        let r = try #require(report.streams.first)
        switch scenario {
        case .archive:
            #expect(r.archivedSegments >= 3 && r.removedSegments == 0 && r.droppedEvents == 0)
        case .retention:
            #expect(r.archivedSegments == 0 && r.removedSegments >= 3 && r.droppedEvents == 0)
        case .drop:
            #expect(r.droppedEvents > 0 && r.earliestReplayableOffset > oldEarliest)
        case .gc:
            #expect(report.snapshotsRemoved >= 2 && r.archivedSegments == 0)
        case .all:
            #expect(r.rolled && r.archivedSegments >= 3 && r.removedSegments >= 3 && r.droppedEvents > 0 && report.snapshotsRemoved >= 2,
                    "\(report.json.serialized())")
            #expect(r.earliestReplayableOffset > 0 && r.earliestReplayableOffset < end, "a clamped drop keeps some archived history")
        }
        if scenario == .drop || scenario == .all {
            // Every view kept its base checkpoint at the new earliest replayable offset.
            for v in Self.views {
                let files = (try? fs.list(Self.root + "/views/" + v)) ?? []
                #expect(files.contains { $0.hasPrefix("BASE.") && !$0.hasSuffix(".tmp") }, "view \(v): \(files)")
                #expect(files.contains { $0.hasSuffix("-" + LogFormat.fileStem(baseOffset: r.earliestReplayableOffset) + ".base") }, "view \(v): \(files)")
            }
        }
        let expected = Expected(rows: rows, end: end, oldEarliest: oldEarliest, newEarliest: log.earliestReplayableOffset,
                                before: before, full: full, finalArchive: log.archiveManifest.files, finalDisk: Self.disk(fs))
        await #expect(try Self.answers(store) == before, "the uncrashed compact changed the answers")
        store.close()
        let clean = await Store.verify(at: Self.root, fileSystem: fs)
        #expect(clean.isClean, "the uncrashed run: \(clean.problems)")

        let all = images.withLock { $0 }
        #expect(all.count >= [.gc: 8, .retention: 16][scenario, default: 40], "compact has many write points")
        var failed = 0
        // Many write points leave the same image (a durable-only image changes only at an fsync):
        // each distinct one is checked once (the clock is fixed, so recovery is deterministic).
        var checked = Set<[String]>()
        for (k, op, durableOnly, image) in all where failed < 12 {
            guard checked.insert(Self.digest(image)).inserted else { continue }
            let what = "\(scenario): crash after operation \(k) (\(op)), \(durableOnly ? "durable only" : "everything, last write torn")"
            let issues = await Self.checkRecovery(image, what: what, clock: clock, expected)
            for i in issues { Issue.record(Comment(rawValue: i)) }
            if !issues.isEmpty { failed += 1 }
        }
        print("lifecycle crash \(scenario): \(all.count / 2) write points, \(all.count) crash images, \(checked.count) distinct ones checked, \(failed) failed, in \(ContinuousClock.now - started)")
    }

    /// Every directory and file of `fs` with the CRC32C of its contents.
    static func digest(_ fs: SimulatedFileSystem) -> [String] {
        var out: [String] = []
        var dirs = ["/"]
        while let d = dirs.popLast() {
            for n in (try? fs.list(d)) ?? [] {
                let p = Path.join(d, n)
                if fs.isDirectory(p) {
                    out.append(p + "/")
                    dirs.append(p)
                } else {
                    out.append(p + " " + String(CRC32C.checksum(fs.contents(p) ?? [])) + " " + String(fs.contents(p)?.count ?? -1))
                }
            }
        }
        return out.sorted()
    }

    /// Opens `image`, runs a full batch of every view and returns the answers.
    static func fullBatchAnswers(_ image: SimulatedFileSystem, _ clock: Clock) async throws -> [String: [ReferenceModel.Cell: [Value]]] {
        let s = try await Store.open(at: root, options: options(image, clock))
        defer { s.close() }
        for v in views { _ = try await s.runBatch(view: v) }
        return try await answers(s)
    }

    /// Every check of one crash image; the problems found (empty: recovered as promised).
    static func checkRecovery(_ image: SimulatedFileSystem, what: String, clock: Clock, _ x: Expected) async -> [String] {
        var issues: [String] = []
        func check(_ ok: Bool, _ message: @autoclosure () -> String) { if !ok { issues.append("\(what): \(message())") } }
        // The image as it is, before any recovery: leftovers of a cut-short step are not damage.
        let raw = await Store.verify(at: root, fileSystem: image)
        check(raw.isClean, "verify of the crash image: \(raw.problems.map(\.description))")
        let s: Store
        do { s = try await Store.open(at: root, options: options(image, clock)) } catch {
            return issues + ["\(what): the store does not open: \(error)"]
        }
        do {
            defer { s.close() }
            check(s.unavailableViews.isEmpty, "unavailable views \(s.unavailableViews.map { "\($0.view): \($0.reason)" })")
            let log = try s.streamLog("orders")
            check(log.endOffset == x.end, "stream ends at \(log.endOffset), not \(x.end)")
            let e = log.earliestReplayableOffset
            check(e == x.oldEarliest || e == x.newEarliest, "earliest replayable offset \(e), neither the old \(x.oldEarliest) nor the new \(x.newEarliest)")
            await check(try answers(s) == x.before, "the answers differ from before the compaction")
            // Every acknowledged event from the earliest replayable offset on, once, in order.
            var got: [[Value]] = []
            try log.forEachBatch(in: e..<x.end) { _, b in got += rows(b) }
            let want = Array(x.rows[Int(e)...])
            if got != want {
                let firstBad = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
                check(false, "read \(got.count) events from offset \(e), want \(want.count); first difference at offset \(Int(e) + firstBad)")
            }
            // compact again: it completes and ends where the uncrashed run ended.
            _ = try await s.compact()
            check(log.earliestReplayableOffset == x.newEarliest, "after compact again: earliest replayable offset \(log.earliestReplayableOffset), want \(x.newEarliest)")
            check(log.archiveManifest.files == x.finalArchive,
                  "after compact again: archive \(log.archiveManifest.files.map(\.name)), want \(x.finalArchive.map(\.name))")
            let d = disk(image)
            check(d == x.finalDisk, "after compact again: files \(d.filter { x.finalDisk[$0.key] != $0.value }), want \(x.finalDisk.filter { d[$0.key] != $0.value })")
            await check(try answers(s) == x.before, "after compact again the answers differ from before")
            for v in views { _ = try await s.runBatch(view: v) }
            await check(try answers(s) == x.full, "after a full batch the answers differ from a full batch of the uncrashed store")
        } catch {
            issues.append("\(what): \(error)")
        }
        let after = await Store.verify(at: root, fileSystem: image)
        check(after.isClean, "verify after recovery: \(after.problems.map(\.description))")
        return issues
    }
}

/// Compaction racing batch runs and scans, pinned to exact interleavings with a hooked file
/// system (the real one underneath).
@Suite(.serialized) struct LifecycleConcurrencyRegressionTests {
    static let tumbling = ServingTests.windows[0].0

    /// A store with view `v`, 4 KiB segments, and `batches` appends of `perBatch` events, its
    /// sealed segments archived (raw copies kept).
    static func makeArchivedStore(_ dir: String, batches: Int, perBatch: Int, seed: UInt64) async throws -> (Store, HookedFileSystem, [ReferenceModel.Event]) {
        let fs = HookedFileSystem(PosixFileSystem())
        var options = StoreOptions()
        options.fileSystem = fs
        options.batchParallelism = 1
        options.logger.logLevel = .error
        let store = try await Store.open(at: dir, options: options)
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: tumbling, lateness: "10m")))
        try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4096, archiveAfterMillis: 0), for: "orders")
        var rng = SplitMix64(seed: seed)
        var clock: Int64 = 1_704_067_200_000
        var events: [ReferenceModel.Event] = []
        for _ in 0..<batches {
            let e = randomEvents(&rng, count: perBatch, clock: &clock)
            events += e
            _ = try await store.append(try batchOf(e), to: "orders", durability: .none)
        }
        let c = try await store.compact()
        #expect(c.streams[0].archivedSegments >= 3 && c.streams[0].removedSegments == 0)
        let log = try store.streamLog("orders")
        #expect(log.startOffset == 0 && log.archiveManifest.files.count >= 3)
        return (store, fs, events)
    }

    /// A batch run has taken its batch infos (raw batches, by segment name) and is reading the
    /// first one when retention removes those segments: the read in flight finishes on the raw
    /// file (it is unlinked only afterwards), every later read falls back to the archive copy,
    /// and the run publishes the right answer.
    @Test func aBatchRunWhoseRawSegmentsRetentionRemovedReadsTheArchive() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let (store, fs, events) = try await Self.makeArchivedStore(dir, batches: 24, perBatch: 30, seed: 31)
        defer { store.close() }
        let log = try store.streamLog("orders")
        let sealed = log.segments().filter { !$0.isActive }
        let infos = try log.batchInfos(in: 0..<log.endOffset)
        #expect(infos.allSatisfy { $0.segment.hasSuffix(".segment") }, "raw batches are preferred where both hold a record")
        _ = try await store.query(QueryRequest(view: "v"))   // the speed layer is built: the run reads the log only in its recompute
        try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4096, archiveAfterMillis: 0, keepRawMillis: 0), for: "orders")

        let gate = fs.pauseFirst { op in
            if case .read(let p, _) = op { return p.hasSuffix(".segment") }
            return false
        }
        // On a thread of its own: it blocks at the gate, and must not take one of the few
        // threads of the cooperative pool (other suites block some too).
        let run = Task.detached(executorPreference: QueueExecutor("lifecycle.run")) { try await store.runBatch(view: "v") }
        #expect(await gate.waitUntilReached())
        let parquetOpens = Locked<[String]>([])
        fs.setHook { op in
            if case .open(let p, _) = op, p.hasSuffix(".parquet") { parquetOpens.withLock { $0.append(p) } }
        }
        let compaction = Task.detached { try await store.compact() }
        // Retention takes the sealed segments out of what readers see, then waits for the raw
        // read in flight before unlinking them.
        let deadline = ContinuousClock.now + .seconds(60)
        while log.startOffset == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        #expect(log.startOffset == sealed.last?.endOffset)
        try await Task.sleep(for: .milliseconds(200))
        for seg in sealed {
            #expect(PosixFileSystem().exists(dir + "/streams/orders/" + seg.name), "\(seg.name) unlinked while a raw read of it was in flight")
        }
        gate.open()
        let summary = try await run.value
        let report = try await compaction.value
        #expect(summary.horizon == Int64(events.count))
        var ref = ReferenceModel(view: .init(statusFilter: "completed", size: 3_600_000, slide: nil, lateness: 600_000))
        ref.events = events
        await #expect(try served(store) == expected(ref, horizon: events.count))
        #expect(!parquetOpens.withLock { $0 }.isEmpty, "the run's later reads came from the archive")
        #expect(report.streams[0].removedSegments == sealed.count, "\(report.json.serialized())")
        for seg in sealed { #expect(!PosixFileSystem().exists(dir + "/streams/orders/" + seg.name)) }
        // The same answer after a reopen (speed recovery and a run over the archive).
        store.close()
        let reopened = try await Store.open(at: dir)
        defer { reopened.close() }
        await #expect(try served(reopened) == expected(ref, horizon: events.count))
        _ = try await reopened.runBatch(view: "v")
        await #expect(try served(reopened) == expected(ref, horizon: events.count))
        #expect(await Store.verify(at: dir).isClean)
    }

    /// A view created while `compact` drops history (after the drop chose its views and
    /// target, before its commit) must not end up needing the dropped history: either the drop
    /// waits for it (or is clamped by its horizon 0), or the creation is refused for want of that
    /// history. Never a view that was created but whose runs fail forever.
    @Test func aViewCreatedDuringAHistoryDropIsBuiltOrRefused() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let (store, fs, events) = try await Self.makeArchivedStore(dir, batches: 24, perBatch: 30, seed: 77)
        defer { store.close() }
        let log = try store.streamLog("orders")
        _ = try await store.runBatch(view: "v")
        try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4096, archiveAfterMillis: 0, dropHistoryAfterMillis: 0, allowHistoryLoss: true), for: "orders")
        // Pause the drop while it keeps view v's base checkpoint.
        let gate = fs.pauseFirst { op in
            if case .open(let p, _) = op { return p.hasSuffix(".base.tmp") }
            return false
        }
        let compaction = Task.detached(executorPreference: QueueExecutor("lifecycle.compact")) { try await store.compact() }
        #expect(await gate.waitUntilReached())
        let z = try ViewDefinition.parse(json: viewJSON(name: "z", window: Self.tumbling, lateness: "10m"))
        let creation = Task.detached { try await store.createView(z) }
        try await Task.sleep(for: .milliseconds(300))
        gate.open()
        let report = try await compaction.value
        let created: Result<ViewCreateResult, any Error>
        do { created = .success(try await creation.value) } catch { created = .failure(error) }
        let e = log.earliestReplayableOffset
        var ref = ReferenceModel(view: .init(statusFilter: "completed", size: 3_600_000, slide: nil, lateness: 600_000))
        ref.events = events
        switch created {
        case .success:
            // Created: it serves and is built from every event (the drop must have left it the
            // history).
            do {
                await #expect(try served(store, view: "z") == expected(ref, horizon: 0), "z's speed layer, replayed from offset 0")
                _ = try await store.runBatch(view: "z")
                await #expect(try served(store, view: "z") == expected(ref, horizon: events.count))
            } catch {
                Issue.record("view z was created, but its batch run fails (earliest replayable offset \(e), report \(report.json.serialized())): \(error)")
            }
        case .failure(let error):
            let code = (error as? LambdaStoreError)?.code
            #expect(code == .precondition && e > 0, "refused only for want of dropped history: \(error)")
        }
        await #expect(try served(store) == expected(ref, horizon: events.count), "view v, base checkpoint plus the rest")
        #expect(await Store.verify(at: dir).isClean)
    }

    /// A `forEachBatch` scan is in progress when retention removes the segments it reads: their
    /// files stay until the scan's chunk is done (`rawReaders`), and the scan sees every record
    /// exactly once — over more than one chunk (256 pieces), the later chunks read the archive.
    @Test(arguments: [(24, 30), (320, 2)])
    func aScanInProgressKeepsRemovedSegmentsUntilItsChunkIsDone(batches: Int, perBatch: Int) async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let (store, _, events) = try await Self.makeArchivedStore(dir, batches: batches, perBatch: perBatch, seed: UInt64(40 + batches))
        defer { store.close() }
        let log = try store.streamLog("orders")
        let sealed = log.segments().filter { !$0.isActive }
        let end = log.endOffset
        let oneChunk = try log.batchInfos(in: 0..<end).count <= 256
        #expect(oneChunk == (batches < 256))
        try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4096, archiveAfterMillis: 0, keepRawMillis: 0), for: "orders")

        let gate = TestGate()
        struct Seen: Sendable {
            var offsets: [Int64] = []
            var rows: [[Value]] = []
            var pieces: [String] = []
            var missingFiles: [String] = []
            var error: String? = nil
            var done = false
        }
        let seen = Locked(Seen())
        // The scan runs on a thread of its own (it blocks at the gate).
        DispatchQueue.global().async {
            var first = true
            do throws(LambdaStoreError) {
                try log.forEachBatch(in: 0..<end) { info, b throws(LambdaStoreError) in
                    if first {
                        first = false
                        gate.wait()
                    }
                    // Every piece of the first chunk was taken before the removal: its files stay.
                    let missing = oneChunk ? sealed.map(\.name).filter { !PosixFileSystem().exists(dir + "/streams/orders/" + $0) } : []
                    seen.withLock { s in
                        s.offsets += Array(info.baseOffset..<(info.baseOffset + Int64(info.count)))
                        s.rows += LifecycleCrashTests.rows(b)
                        s.pieces.append(info.segment)
                        s.missingFiles += missing
                    }
                }
            } catch {
                seen.withLock { $0.error = "\(error)" }
            }
            seen.withLock { $0.done = true }
        }
        #expect(await gate.waitUntilReached())
        let compaction = Task.detached { try await store.compact() }
        let deadline = ContinuousClock.now + .seconds(60)
        while log.startOffset == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        #expect(log.startOffset == sealed.last?.endOffset, "retention took the sealed segments out of what readers see")
        try await Task.sleep(for: .milliseconds(200))
        for seg in sealed {
            #expect(PosixFileSystem().exists(dir + "/streams/orders/" + seg.name), "\(seg.name) unlinked while a scan of it was in progress")
        }
        gate.open()
        while !seen.withLock({ $0.done }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        let report = try await compaction.value
        let s = seen.withLock { $0 }
        #expect(s.done && s.error == nil, "\(s.error ?? "the scan did not finish")")
        #expect(s.offsets == Array(0..<end), "every offset once, in order")
        #expect(s.rows == events.map { e in
            [e.ts.map { .timestamp($0) } ?? .null, .string(e.merchant), .string(e.status), e.amount.map { .int64($0) } ?? .null]
        })
        #expect(s.missingFiles.isEmpty, "files unlinked during the scan's chunk: \(Set(s.missingFiles).sorted())")
        if !oneChunk {
            #expect(s.pieces.contains { $0.hasSuffix(".parquet") }, "the chunks after the removal read the archive")
        }
        #expect(report.streams[0].removedSegments == sealed.count, "\(report.json.serialized())")
        for seg in sealed { #expect(!PosixFileSystem().exists(dir + "/streams/orders/" + seg.name)) }
        #expect(await Store.verify(at: dir).isClean)
    }
}

import Dispatch
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport
import Logging
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

// The library-level concurrency stress test (issue 10): appenders, queriers, batch runs
// (full and incremental), reconciliation, view version swaps and compaction run at once
// against one store on the real file system; every answer is then judged against the naive
// reference of StressReference.swift. A second run does the same with a lifecycle policy
// (4 KiB segments, archive-after 0s, keep-raw 0s): the compaction worker then archives and
// deletes raw segments under the readers, and the log read back, every answer, the reopened
// store and verify must not notice where history lives.
//
//   LAMBDASTORE_STRESS_SECONDS   seconds of concurrent work (default 10)
//   LAMBDASTORE_STRESS_SEED      the seed of the data and of every worker's choices (default:
//                                random, printed). The interleaving itself is not reproducible.
//   LAMBDASTORE_STRESS_KEEP      set to 1 to keep the store directory for inspection
//   LAMBDASTORE_STRESS_WORKERS   the worker kinds to run, comma-separated (default all):
//                                append, query, batch-full, batch-incremental, reconcile, swap,
//                                compact — to narrow a failure down to the operations that race

/// The run's parameters, from the environment.
struct StressConfig: Sendable {
    var seconds: Double
    var seed: UInt64
    var keepDirectory: Bool
    var workers: Set<String>

    static let allWorkers: Set<String> = ["append", "query", "batch-full", "batch-incremental", "reconcile", "swap", "compact"]

    static func fromEnvironment() -> StressConfig {
        func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        var rng = SystemRandomNumberGenerator()
        return StressConfig(seconds: env("LAMBDASTORE_STRESS_SECONDS").flatMap(Double.init) ?? 10,
                            seed: env("LAMBDASTORE_STRESS_SEED").flatMap { UInt64($0) } ?? rng.next() % 1_000_000_000,
                            keepDirectory: env("LAMBDASTORE_STRESS_KEEP") == "1",
                            workers: env("LAMBDASTORE_STRESS_WORKERS").map { Set($0.split(separator: ",").map(String.init)) } ?? allWorkers)
    }

    var reproduce: String {
        let w = workers == Self.allWorkers ? "" : " LAMBDASTORE_STRESS_WORKERS=" + workers.sorted().joined(separator: ",")
        return "seed \(seed) (LAMBDASTORE_STRESS_SEED=\(seed) LAMBDASTORE_STRESS_SECONDS=\(seconds)\(w))"
    }
}

/// An error that a concurrent operation may legitimately throw. Every other error fails the test.
struct ToleratedError: Sendable {
    /// The operation (`append`, `query`, `runBatch`, `reconcile`, `createView`, `compact`).
    var operation: String
    var code: LambdaStoreError.Code
    /// A substring of the message that identifies the documented case.
    var messageContains: String
    /// Where the API documents it.
    var documentedAt: String

    /// None today: the public API documents no "busy" or retry-later error for concurrent calls
    /// (Store.swift: "every method may be called from any thread or task"). Add an entry here,
    /// with the doc that allows it, when one is introduced.
    static let all: [ToleratedError] = []

    static func tolerates(_ error: LambdaStoreError, in operation: String) -> Bool {
        all.contains { $0.operation == operation && $0.code == error.code && error.message.contains($0.messageContains) }
    }
}

/// A serial dispatch queue as a task executor, so each worker runs on a thread of its own and
/// the store's synchronous calls (queries, batch recomputes) really overlap instead of taking
/// turns on the cooperative pool's few threads.
final class QueueExecutor: TaskExecutor {
    let queue: DispatchQueue
    init(_ label: String) { queue = DispatchQueue(label: label) }
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}

/// Everything the workers record, guarded for concurrent use.
final class StressRecorder: Sendable {
    struct Append: Sendable {
        var worker: String
        var range: Range<Int64>
        var events: [StressEvent]
        var durability: Durability
    }

    struct Failure: Sendable, CustomStringConvertible {
        var worker: String
        var operation: String
        var error: String
        var description: String { "\(worker): \(operation) threw \(error)" }
    }

    struct State: Sendable {
        var appends: [Append] = []
        var observations: [StressObservation] = []
        var failures: [Failure] = []
        var tolerated: [Failure] = []
        var counts: [String: Int] = [:]
        /// What each worker is doing now, and since when (for the watchdog).
        var inFlight: [String: (what: String, since: ContinuousClock.Instant)] = [:]
    }

    /// The largest end offset of all acknowledged appends.
    let ackedEnd = Atomic<Int64>(0)
    /// The event-time clock the appenders advance (epoch ms).
    let eventClock: Atomic<Int64>
    let finished = Atomic<Bool>(false)
    let state = Locked(State())

    init(startTime: Int64) { eventClock = Atomic(startTime) }

    func acknowledge(_ a: Append) {
        var seen = ackedEnd.load(ordering: .acquiring)
        while a.range.upperBound > seen {
            let (exchanged, now) = ackedEnd.compareExchange(expected: seen, desired: a.range.upperBound, ordering: .acquiringAndReleasing)
            if exchanged { break }
            seen = now
        }
        state.withLock {
            $0.appends.append(a)
            $0.counts["append", default: 0] += 1
            $0.counts["events", default: 0] += a.events.count
        }
    }

    func count(_ what: String) { state.withLock { $0.counts[what, default: 0] += 1 } }

    func doing(_ worker: String, _ what: String?) {
        let now = ContinuousClock.now
        state.withLock { $0.inFlight[worker] = what.map { ($0, now) } }
    }

    /// Runs `body`, recording a thrown error (tolerated or not) instead of propagating it.
    func attempt<T>(_ worker: String, _ operation: String, detail: String = "", _ body: () async throws -> T) async -> T? {
        doing(worker, operation + " " + detail)
        defer { doing(worker, nil) }
        do {
            let r = try await body()
            count(operation)
            return r
        } catch {
            let text = "\(error)"
            let ok = (error as? LambdaStoreError).map { ToleratedError.tolerates($0, in: operation) } ?? false
            let f = Failure(worker: worker, operation: operation + (detail.isEmpty ? "" : " " + detail), error: text)
            state.withLock { ok ? $0.tolerated.append(f) : $0.failures.append(f) }
            return nil
        }
    }
}

/// The fixed shape of the workload: views, keys, timing.
enum StressWorkload {
    static let keys = ["k0", "k1", "k2", "k3", "k4"]
    static let tags: [String?] = [nil, nil, nil, nil, "web", "web", "web", "app", "app", "refund"]
    static let startTime: Int64 = 1_767_225_600_000   // 2026-01-01T00:00:00Z

    /// The tumbling view, in two versions that differ by allowedLateness (the swap worker
    /// alternates them).
    static func tumbling(lateness: Int64) throws -> StressView {
        try StressView(name: "tumbling", filterSQL: "amount > 50 AND (tag IS NULL OR tag <> 'refund')",
                       passes: { e in e.amount > 50 && (e.tag == nil || e.tag != "refund") },
                       window: StressWindow(size: 60_000, slide: nil), lateness: lateness)
    }

    /// The hopping view (no filter; late per window).
    static func hopping() throws -> StressView {
        try StressView(name: "hopping", filterSQL: nil, passes: { _ in true },
                       window: StressWindow(size: 120_000, slide: 30_000), lateness: 5_000)
    }

    /// Events that are mostly increasing with some jitter, and a few percent very late.
    static func events(_ rng: inout SplitMix64, count: Int, clock: borrowing Atomic<Int64>) -> [StressEvent] {
        (0..<count).map { _ in
            let now = clock.add(Int64(rng.next() % 1_000), ordering: .relaxed).newValue
            var ts = now - Int64(rng.next() % 15_000)                                   // jitter, up to 15 s
            if rng.next() % 100 < 4 { ts = now - 60_000 - Int64(rng.next() % 1_140_000) }  // very late: 1 to 20 min
            return StressEvent(ts: ts, key: keys[Int(rng.next() % UInt64(keys.count))], amount: Int64(rng.next() % 200),
                               tag: tags[Int(rng.next() % UInt64(tags.count))])
        }
    }

    /// A random query of one of the views: a cell (one key, one window), a range of windows
    /// (all keys, or one key), rarely (1 %: the costliest to check) the whole view; mostly recent windows, some old ones.
    static func query(_ rng: inout SplitMix64, views: [StressView], now: Int64) -> StressQuery {
        let view = views[Int(rng.next() % UInt64(views.count))]
        let step = view.window.step
        let span = max(1, now - startTime)
        let back = rng.next() % 4 == 0 ? Int64(rng.next() % UInt64(span)) : Int64(rng.next() % 900_000)
        let at = now - back
        let key = rng.next() % 20 == 0 ? "k9" : keys[Int(rng.next() % UInt64(keys.count))]   // k9: never appended
        switch rng.next() % 100 {
        case 0..<50:
            let w = floorDiv(at, step) * step
            return StressQuery(view: view.name, key: key, from: w, to: w + 1)
        case 50..<90:
            return StressQuery(view: view.name, key: nil, from: at, to: at + 30_000 + Int64(rng.next() % 300_000))
        case 90..<99:
            return StressQuery(view: view.name, key: key, from: rng.next() % 2 == 0 ? at : nil, to: rng.next() % 2 == 0 ? nil : at + 600_000)
        default:
            return StressQuery(view: view.name, key: nil, from: nil, to: nil)
        }
    }
}

@Suite(.serialized) struct ConcurrencyStressTests {
    /// Violations after which the answers recorded during the run are no longer checked.
    static let violationsMax = 300

    /// The stream policy of the lifecycle variant: 4 KiB segments (they keep rolling), every
    /// sealed segment archived and its raw copy deleted at the next `compact` — so the
    /// compaction worker archives and removes segments while the others append, query and run
    /// batches over them.
    static let lifecyclePolicy = StreamPolicy(segmentBytes: 4096, archiveAfterMillis: 0, keepRawMillis: 0)

    @Test func concurrentOperationsServeWhatTheReferencePromises() async {
        await stress(lifecycle: nil)
    }

    /// The same workload with ``lifecyclePolicy``: history moves from raw segments to the
    /// archive under the readers, and every answer, the log read back, the reopened store and
    /// `verify` must not notice.
    @Test func concurrentOperationsWithArchivingAndRetentionServeWhatTheReferencePromises() async {
        await stress(lifecycle: Self.lifecyclePolicy)
    }

    func stress(lifecycle: StreamPolicy?) async {
        let config = StressConfig.fromEnvironment()
        print("concurrency stress\(lifecycle == nil ? "" : " (archive, retention)"): \(config.reproduce)")
        let dir = makeTempDirectory("ls-stress")
        defer { if config.keepDirectory { print("concurrency stress: store kept at \(dir)") } else { removeTree(dir) } }
        let rec = StressRecorder(startTime: StressWorkload.startTime)
        // The watchdog: a store operation in flight for a minute is a hang; so is the whole test
        // running far past its deadline. Between operations a worker may wait longer on a
        // loaded machine (its sleeps resume on a starved pool while the process-spawning suites
        // block threads), which is not the store's doing, so that alone gets a wide margin.
        let operationSecondsMax = 60.0
        let totalSeconds = config.seconds + max(300, config.seconds * 8)
        let started = ContinuousClock.now
        @Sendable func watch() {
            guard !rec.finished.load(ordering: .acquiring) else { return }
            let now = ContinuousClock.now
            let inFlight = rec.state.withLock { $0.inFlight }
            let stuck = inFlight.filter { now - $0.value.since > .seconds(operationSecondsMax) }
            if !stuck.isEmpty || now - started > .seconds(totalSeconds) {
                fatalError("concurrency stress: a hang? \(stuck.isEmpty ? "still running \(Int(totalSeconds)) s after the start" : "operations in flight for over \(Int(operationSecondsMax)) s"); in flight: \(inFlight.mapValues { "\($0.what) for \(now - $0.since)" }); \(config.reproduce)")
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + 5, execute: watch)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + 5, execute: watch)
        defer { rec.finished.store(true, ordering: .releasing) }
        do {
            try await run(config: config, directory: dir, rec: rec, lifecycle: lifecycle)
        } catch {
            Issue.record("the stress run threw \(error) — \(config.reproduce)")
        }
    }

    /// Sets up the store, runs the workers, then judges everything recorded.
    func run(config: StressConfig, directory dir: String, rec: StressRecorder, lifecycle: StreamPolicy?) async throws {
        let tumblingA = try StressWorkload.tumbling(lateness: 20_000)
        let tumblingB = try StressWorkload.tumbling(lateness: 45_000)
        let hopping = try StressWorkload.hopping()
        let versions = [tumblingA, tumblingB, hopping]

        var options = StoreOptions()
        options.logger.logLevel = .error   // drift warnings are expected while the layers race
        let store = try await Store.open(at: dir, options: options)
        try await store.applySchema(StressStream.schema)
        try await store.createView(tumblingA.definition)
        try await store.createView(hopping.definition)
        if let lifecycle { try await store.setStreamPolicy(lifecycle, for: StressStream.name) }

        let deadline = ContinuousClock.now + .milliseconds(Int(config.seconds * 1000))
        let started = ContinuousClock.now
        try await runWorkers(store: store, config: config, rec: rec, deadline: deadline, views: (tumblingA, tumblingB, hopping))
        let ran = ContinuousClock.now - started

        let (appends, observations, failures, tolerated, counts) = rec.state.withLock {
            ($0.appends, $0.observations, $0.failures, $0.tolerated, $0.counts)
        }
        print("concurrency stress: ran \(ran): \(counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); "
              + "\(failures.count) errors, \(tolerated.count) tolerated")
        for f in failures.prefix(10) { Issue.record("\(f) — \(config.reproduce)") }
        if failures.count > 10 { Issue.record("\(failures.count) operations threw in all — \(config.reproduce)") }

        // 1. The reference, from the acknowledged records in offset order; the log read back
        //    holds every one of them at its offset.
        let sorted = appends.sorted { $0.range.lowerBound < $1.range.lowerBound }
        var events: [StressEvent] = []
        for a in sorted {
            #expect(a.range.lowerBound == Int64(events.count), "acknowledged appends are not dense at offset \(events.count): \(a.range) — \(config.reproduce)")
            events += a.events
        }
        let reference = StressReference(events: events, batchEnds: sorted.map(\.range.upperBound))
        try expectLogHoldsAcknowledgedRecords(store, appends: sorted, config: config)
        if lifecycle != nil {
            // The history really moved: most of it lives in the archive only.
            let log = try store.streamLog(StressStream.name)
            let archived = log.archiveManifest.files
            print("concurrency stress: \(archived.count) archive files up to offset \(log.archiveManifest.endOffset), raw segments from offset \(log.startOffset) (\(log.segments().count) segments)")
            if config.workers.contains("compact") {
                #expect(archived.count >= 2 && log.startOffset > 0, "the compaction worker archived and removed segments — \(config.reproduce)")
            }
        }

        // 2. Every recorded answer.
        var checker = StressChecker(reference: reference, versions: versions)
        var checkStarted = ContinuousClock.now
        for v in versions { _ = checker.cells(v) }
        print("concurrency stress: reference cells built in \(ContinuousClock.now - checkStarted)")
        checkStarted = ContinuousClock.now
        // A badly broken engine fails nearly every answer, and a failing answer costs the most to
        // judge (every candidate prefix, then a diff): stop after enough evidence.
        var violations: [StressViolation] = []
        var checked = 0
        for o in observations where violations.count < Self.violationsMax {
            checked += 1
            if let v = checker.check(o) { violations.append(v) }
        }
        report(violations, of: checked, what: "answers during the run" + (checked < observations.count ? " (checking stopped after \(checked) of \(observations.count))" : ""),
               config: config)
        print("concurrency stress: checked \(checked) answers in \(ContinuousClock.now - checkStarted)")

        // 3. At rest, after a reopen (speed recovery), and after a final batch: X = the log end.
        let end = Int64(events.count)
        var rng = SplitMix64(seed: config.seed ^ 0xF1A1)
        func atRest(_ store: Store, _ what: String) async throws {
            var queries = versions.map { StressQuery(view: $0.name, key: nil, from: nil, to: nil) }
            for _ in 0..<40 { queries.append(StressWorkload.query(&rng, views: [tumblingA, hopping], now: rec.eventClock.load(ordering: .relaxed))) }
            var found: [StressViolation] = []
            for (i, q) in queries.enumerated() {
                let result = try await store.query(q.request)
                let o = StressObservation(worker: what, sequence: i, query: q, ackedBefore: end, endAfter: end, result: result)
                if let v = checker.check(o) { found.append(v) }
            }
            report(found, of: queries.count, what: what, config: config)
        }
        rec.doing("final", "queries at rest")
        do { try await atRest(store, "at rest") } catch { Issue.record("a query at rest threw \(error) — \(config.reproduce)") }
        store.close()
        rec.doing("final", "reopen")
        do {
            let reopened = try await Store.open(at: dir, options: options)
            defer { reopened.close() }
            try await atRest(reopened, "after reopen")
            try expectLogHoldsAcknowledgedRecords(reopened, appends: sorted, config: config)
            for v in reopened.views() {
                let summary = try await reopened.runBatch(view: v.definition.name)
                #expect(summary.horizon == end, "final batch of \(v.definition.name): horizon \(summary.horizon), log end \(end) — \(config.reproduce)")
            }
            try await atRest(reopened, "after a final batch")
        } catch {
            Issue.record("reopen, a query after it or the final batch threw \(error) — \(config.reproduce)")
        }

        // 4. Every checksum of every file.
        rec.doing("final", "verify")
        let verify = await Store.verify(at: dir)
        #expect(verify.isClean, "verify: \(verify.problems.prefix(5).map(\.description)) — \(config.reproduce)")
        print("concurrency stress: done in \(ContinuousClock.now - started)")
    }

    /// Runs every worker until `deadline`.
    func runWorkers(store: Store, config: StressConfig, rec: StressRecorder, deadline: ContinuousClock.Instant,
                    views: (tumblingA: StressView, tumblingB: StressView, hopping: StressView)) async throws {
        let viewNames = ["tumbling", "hopping"]
        let queryViews = [views.tumblingA, views.hopping]   // only name, window and step are used
        @Sendable func running() -> Bool { ContinuousClock.now < deadline }
        @Sendable func pause(_ rng: inout SplitMix64, _ lo: Int, _ hi: Int) async {
            try? await Task.sleep(for: .milliseconds(lo + Int(rng.next() % UInt64(hi - lo + 1))))
        }
        await withTaskGroup(of: Void.self) { group in
            // A worker's kind is its name without the trailing number.
            func spawn(_ name: String, _ index: UInt64, _ body: @escaping @Sendable (String, inout SplitMix64) async -> Void) {
                guard config.workers.contains(String(name.prefix { !$0.isNumber })) else { return }
                group.addTask(executorPreference: QueueExecutor("stress." + name)) {
                    var rng = SplitMix64(seed: config.seed &+ index &* 0x9E37_79B9)
                    await body(name, &rng)
                }
            }
            for i in 0..<3 {
                spawn("append\(i)", UInt64(1 + i)) { name, rng in
                    while running() {
                        let events = StressWorkload.events(&rng, count: 1 + Int(rng.next() % 16), clock: rec.eventClock)
                        let durability: Durability = [.sync, .none, .interval(milliseconds: 20)][Int(rng.next() % 3)]
                        let batch: ColumnBatch
                        do { batch = try StressStream.batch(events) } catch {
                            Issue.record("\(name): cannot build a batch: \(error)")
                            return
                        }
                        if let range = await rec.attempt(name, "append", { try await store.append(batch, to: StressStream.name, durability: durability) }) {
                            if range.count != events.count {
                                rec.state.withLock { $0.failures.append(.init(worker: name, operation: "append", error: "returned \(range) for \(events.count) records")) }
                            }
                            rec.acknowledge(.init(worker: name, range: range, events: events, durability: durability))
                        }
                        await pause(&rng, 1, 6)
                    }
                }
            }
            for i in 0..<3 {
                spawn("query\(i)", UInt64(10 + i)) { name, rng in
                    var sequence = 0
                    while running() {
                        let q = StressWorkload.query(&rng, views: queryViews, now: rec.eventClock.load(ordering: .relaxed))
                        let ackedBefore = rec.ackedEnd.load(ordering: .acquiring)
                        let answer = await rec.attempt(name, "query", detail: "\(q)") { () throws -> (QueryResult, Int64) in
                            let result = try await store.query(q.request)
                            return (result, try store.streamLog(StressStream.name).endOffset)
                        }
                        if let (result, endAfter) = answer {
                            let o = StressObservation(worker: name, sequence: sequence, query: q, ackedBefore: ackedBefore, endAfter: endAfter, result: result)
                            rec.state.withLock { $0.observations.append(o) }
                        }
                        sequence += 1
                        await pause(&rng, 1, 4)
                    }
                }
            }
            spawn("batch-full", 20) { name, rng in
                while running() {
                    let v = viewNames[Int(rng.next() % 2)]
                    _ = await rec.attempt(name, "runBatch", detail: "\(v) full") { try await store.runBatch(view: v, mode: .full) }
                    await pause(&rng, 30, 200)
                }
            }
            spawn("batch-incremental", 21) { name, rng in
                while running() {
                    let v = viewNames[Int(rng.next() % 2)]
                    _ = await rec.attempt(name, "runBatch", detail: "\(v) incremental") { try await store.runBatch(view: v, mode: .incremental) }
                    await pause(&rng, 30, 200)
                }
            }
            spawn("reconcile", 22) { name, rng in
                while running() {
                    let v = viewNames[Int(rng.next() % 2)]
                    _ = await rec.attempt(name, "reconcile", detail: v) { try await store.reconcile(view: v) }
                    await pause(&rng, 100, 400)
                }
            }
            spawn("swap", 23) { name, rng in
                var useB = true
                while running() {
                    await pause(&rng, 200, 700)
                    let next = useB ? views.tumblingB : views.tumblingA
                    _ = await rec.attempt(name, "createView", detail: "tumbling lateness \(next.lateness)") { try await store.createView(next.definition) }
                    useB.toggle()
                }
            }
            spawn("compact", 24) { name, rng in
                while running() {
                    _ = await rec.attempt(name, "compact") { try await store.compact() }
                    await pause(&rng, 50, 250)
                }
            }
        }
    }

    /// The log read back holds exactly the acknowledged records, each at its offset.
    func expectLogHoldsAcknowledgedRecords(_ store: Store, appends: [StressRecorder.Append], config: StressConfig) throws {
        let log = try store.streamLog(StressStream.name)
        let acked = appends.last?.range.upperBound ?? 0
        #expect(log.endOffset == acked, "log end \(log.endOffset), acknowledged records end at \(acked) — \(config.reproduce)")
        var stored: [[Value]] = []
        try log.forEachBatch(in: 0..<log.endOffset) { _, batch in stored += StressStream.rows(of: batch) }
        var mismatches: [String] = []
        for a in appends {
            for (i, e) in a.events.enumerated() {
                let offset = Int(a.range.lowerBound) + i
                let got = offset < stored.count ? stored[offset] : nil
                if got != e.values { mismatches.append("offset \(offset): stored \(got.map { "\($0)" } ?? "nothing"), appended \(e)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) acknowledged records not in the log as appended: \(mismatches.prefix(5)) — \(config.reproduce)")
    }

    /// Records the first violations and a summary by kind.
    func report(_ violations: [StressViolation], of total: Int, what: String, config: StressConfig) {
        guard !violations.isEmpty else { return }
        var byKind: [String: Int] = [:]
        for v in violations { byKind[v.kind.rawValue, default: 0] += 1 }
        Issue.record("\(what): \(violations.count) of \(total) answers violate DESIGN.md (\(byKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))) — \(config.reproduce)")
        // The first two of each kind.
        var shown: [String: Int] = [:]
        for v in violations where shown[v.kind.rawValue, default: 0] < 2 {
            shown[v.kind.rawValue, default: 0] += 1
            Issue.record("\(what): \(v) — \(config.reproduce)")
        }
    }
}

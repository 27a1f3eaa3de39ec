import Foundation
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import Synchronization

// Issue 10's measurements: appends during a batch run, queries during appends, and the first
// publish of a freshly opened store. Each run works on a fresh copy of a closed template store,
// so every run (and the same group built against another commit) starts from the same files.

/// One loop of appends or queries: per-call latencies (µs), what it did, its wall time.
struct LoopResult: Sendable {
    var lat: [Double] = []
    var count = 0
    var seconds = 0.0
    var rate: Double { seconds > 0 ? Double(count) / seconds : 0 }

    /// Loops that ran side by side, as one.
    init(merging parts: [LoopResult]) {
        lat = parts.flatMap(\.lat)
        count = parts.reduce(0) { $0 + $1.count }
        seconds = parts.map(\.seconds).max() ?? 0
    }
    init() {}
}

/// Tells a loop on another task or thread to stop.
final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .relaxed) }
    var isRaised: Bool { raised.load(ordering: .relaxed) }
}

/// Runs `body(i)` for `i` in `0..<count`, each in a task of its own (`Store.query` is async:
/// it reads snapshot chunks off the cooperative pool, and serves a view held in memory alone
/// on the calling task).
func onTasks<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        for i in 0..<count { group.addTask { (i, try await body(i)) } }
        var out: [(Int, T)] = []
        for try await r in group { out.append(r) }
        return out.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

extension Bench {
    /// A closed template store, built once per process (untimed): `all` = every event appended
    /// (`none`, 10k batches) after the view was created, no batch yet (what a restarted process
    /// finds); `published` = `all` after one batch run; `split` = one batch over the first 90 %
    /// of the events, the last 10 % appended after it (the speed part).
    func template(_ kind: String) async throws -> String {
        let name = "template-" + kind
        if templates.contains(name) { return o.work + "/" + name }
        let all = kind == "published" ? try await template("all") : ""
        log("== building the \(kind) template store (untimed)")
        let s: Store
        if kind == "published" {
            s = try await Store.open(at: try copyStore(all, as: name), options: storeOptions())
            _ = try await s.runBatch(view: Workload.viewName)
        } else {
            s = try await freshStore(name, view: true)
            let cut = kind == "split" ? batches10k.count * 9 / 10 : batches10k.count
            try await appendAll(s, batches10k[..<cut])
            if cut < batches10k.count {
                _ = try await s.runBatch(view: Workload.viewName)
                try await appendAll(s, batches10k[cut...])
            }
        }
        s.close()
        templates.insert(name)
        return o.work + "/" + name
    }

    /// A copy of the closed store at `from`, written back to disk before any timing starts.
    func copyStore(_ from: String, as name: String) throws -> String {
        let dir = o.work + "/" + name
        Files.removeTree(dir)
        try FileManager.default.copyItem(atPath: from, toPath: dir)
        sync()
        return dir
    }

    /// ``timeRuns`` where every run (warm-ups too) opens a fresh copy of the store `template`
    /// and `prepare`s it, untimed. Returns the kept runs' results and the seconds of every
    /// `Store.open`.
    func storeRuns<T>(_ template: String, prepare: (Store) async throws -> Void = { _ in },
                      _ body: (Store) async throws -> T) async throws -> (Timed, [T], opens: [Double]) {
        var store: Store? = nil
        var results: [T] = []
        var opens: [Double] = []
        let t = try await timeRuns(gate, runs: o.runs, warmup: o.warmup, setup: {
            store?.close()
            store = nil
            let dir = try copyStore(template, as: "run")
            let t0 = nowNanos()
            let s = try await Store.open(at: dir, options: storeOptions())
            opens.append(seconds(since: t0))
            store = s
            try await prepare(s)
        }, {
            guard let s = store else { throw WorkloadError(description: "no store") }
            return try await body(s)
        }, check: { results.append($0) })
        store?.close()
        Files.removeTree(o.work + "/run")
        return (t, Array(results.suffix(t.seconds.count)), opens)
    }

    /// The data set's event-time span rounded up to whole hours. Appenders move each pass over
    /// the events this much later, so appended events are new (not late) wherever they start.
    func dataSpan() -> Int64 {
        let r = batches10k.compactMap { $0.range(ofColumn: 1) }
        guard let lo = r.map(\.min).min(), let hi = r.map(\.max).max() else { return 0 }
        return ((hi - lo) / Workload.hourMillis + 1) * Workload.hourMillis
    }

    /// Appends `batches` (pass p ≥ 1 over them moved p × `span` later) under `none`, one after
    /// the other, until `limit` batches or `stop`.
    nonisolated static func appendLoop(_ store: Store, _ batches: [ColumnBatch], span: Int64, limit: Int,
                                       stop: StopFlag) async throws -> LoopResult {
        var r = LoopResult()
        let start = nowNanos()
        var i = 0
        while i < limit && !stop.isRaised && !Task.isCancelled {
            var b = batches[i % batches.count]
            let ts = b.columns[1].ints, shift = span * Int64(1 + i / batches.count)
            b.columns[1] = Column(type: .timestamp, count: ts.count, nullCount: 0, validity: [], ints: ts.map { $0 &+ shift })
            let t0 = nowNanos()
            r.count += try await store.append(b, to: "orders", durability: .none).count
            r.lat.append(Double(nowNanos() &- t0) / 1e3)
            i += 1
        }
        r.seconds = seconds(since: start)
        return r
    }

    /// `store.query` over `requests` (from `first`, cyclically) for `seconds`.
    nonisolated static func queryLoop(_ store: Store, _ requests: [QueryRequest], first: Int, seconds limit: Double) async throws -> LoopResult {
        var r = LoopResult()
        let start = nowNanos()
        var i = first
        while seconds(since: start) < limit {
            let t0 = nowNanos()
            blackHole(try await store.query(requests[i % requests.count]))
            r.lat.append(Double(nowNanos() &- t0) / 1e3)
            i += 1
        }
        r.count = r.lat.count
        r.seconds = seconds(since: start)
        return r
    }

    /// A full batch run that raises `stop` when it ends; its summary and wall seconds.
    nonisolated static func batchThenStop(_ store: Store, _ stop: StopFlag) async throws -> (BatchSummary, Double) {
        defer { stop.raise() }
        let t0 = nowNanos()
        let s = try await store.runBatch(view: Workload.viewName)
        return (s, seconds(since: t0))
    }

    /// One query that makes the store build the view's speed layer (untimed).
    func buildSpeed(_ s: Store) async throws {
        _ = try await s.query(QueryRequest(view: Workload.viewName, keys: [(field: nil, value: Workload.merchantName(0))], from: 0, to: Workload.hourMillis))
    }

    /// Rows for loops measured by ``storeRuns``: the median rate (min–max over the runs) and
    /// the latency percentiles over every call of the kept runs. Returns the p99 (µs).
    @discardableResult
    func loopRows(_ id: String, _ title: String, _ t: Timed, _ runs: [LoopResult], unit: String, threads: Int = 1,
                  target: ((Double) -> Target)? = nil, code: String, notes: String) -> Double {
        let rates = runs.map(\.rate)
        report.add(Measurement(id: id + ".rate", title: title, value: Stats.median(rates), unit: unit,
                               range: (rates.min() ?? 0, rates.max() ?? 0), threads: threads, runs: runs.count,
                               seconds: runs.map(\.seconds), cmd: cmd + "  # " + code, notes: notes,
                               foreignMax: t.foreignMax, retries: t.retries))
        let lat = runs.flatMap(\.lat).sorted()
        latency(id, title + ", latency per call", lat, foreign: t.foreignMax, target: target, code: code,
                notes: "\(lat.count) calls over \(runs.count) runs; max \(format(lat.last ?? 0, "us"))", threads: threads)
        return Stats.quantile(sorted: lat, 0.99)
    }

    // MARK: Contention (issue 10)

    func runContention() async throws {
        let batches = try batches1k()
        let template = try await template("published")
        let span = dataSpan()
        log("== contention: one task appends 1k batches (none) while runBatch(revenue_hourly) runs over \(n) events; then idle")
        let (tb, during, _) = try await storeRuns(template, prepare: buildSpeed) { s in
            let stop = StopFlag()
            async let batch = Self.batchThenStop(s, stop)
            let appends = try await Self.appendLoop(s, batches, span: span, limit: .max, stop: stop)
            return (appends, try await batch)
        }
        // Idle: the same number of batches into the same store state, no batch running.
        let k = max(1_000, Int(Stats.median(during.map { Double($0.0.lat.count) })))
        let (ti, idle, _) = try await storeRuns(template, prepare: buildSpeed) { s in
            try await Self.appendLoop(s, batches, span: span, limit: k, stop: StopFlag())
        }
        let code = "store.append(1k batch, to: \"orders\", durability: .none) in a loop, one task; view registered, its batch published"
        let idleP99 = loopRows("contention.idle", "Append, none, 1k batches, idle (no batch running)", ti, idle, unit: "events/s",
                               code: code, notes: "\(k) batches per run")
        let batchSeconds = during.map { $0.1.0.seconds }
        loopRows("contention.batch", "Append, none, 1k batches, during a full runBatch", tb, during.map(\.0), unit: "events/s",
                 target: { Target(text: "p99 < 5 ms (idle p99 \(format(idleP99, "us")))", met: $0 < 5_000) },
                 code: code + "; store.runBatch(view: \"revenue_hourly\") started just before, appends until it returns",
                 notes: "appended during the batch: \(during.map { $0.0.count }) events; batch scanned \(during.map { $0.1.0.eventsScanned })")
        report.add(Measurement(id: "contention.batch.seconds", title: "  the runBatch during those appends (BatchSummary.seconds)",
                               value: Stats.median(batchSeconds), unit: "s", range: (batchSeconds.min() ?? 0, batchSeconds.max() ?? 0),
                               threads: o.batchThreads, runs: batchSeconds.count, seconds: batchSeconds,
                               cmd: cmd + "  # store.runBatch(view: \"revenue_hourly\") (full) on a store with \(n) events, batch already published once",
                               notes: "wall seconds of the call: \(during.map { fixed($0.1.1, 3) })", foreignMax: tb.foreignMax, retries: tb.retries))
    }

    // MARK: Query load (issue 10)

    func runQueryLoad() async throws {
        let batches = try batches1k()
        let template = try await template("split")
        let span = dataSpan()
        let requests = sampleCells(try requireSpeedTable(), count: o.queries).map(request)
        let loadSeconds = o.loadSeconds
        // Warm-up, untimed: builds the speed layer, decodes the row groups, checks one row per cell.
        func warmQueries(_ s: Store) async throws {
            for r in requests where try await s.query(r).rows.count != 1 {
                throw WorkloadError(description: "query of \(r.keys[0].value) at \(r.from ?? 0) did not return one row")
            }
        }
        log("== queryload: \(requests.count) random point queries (key + one window) for \(loadSeconds) s per run, 1 or 2 query threads, with and without an appender")
        for appender in [false, true] {
            for threads in [1, 2] {
                let (t, runs, _) = try await storeRuns(template, prepare: warmQueries) { s in
                    let stop = StopFlag()
                    async let appends = Self.appendLoop(s, batches, span: span, limit: appender ? .max : 0, stop: stop)
                    let q = try await onTasks(threads) { i in
                        try await Bench.queryLoop(s, requests, first: i * requests.count / threads, seconds: loadSeconds)
                    }
                    stop.raise()
                    return (LoopResult(merging: q), try await appends)
                }
                let appendRates = runs.map { fixed($0.1.rate / 1e6, 2) + " M" }
                loopRows("queryload.q\(threads)" + (appender ? ".append" : ""),
                         "Store.query key + one window, \(threads) query thread\(threads > 1 ? "s" : "")" + (appender ? ", one task appending (none, 1k batches)" : ", no appender"),
                         t, runs.map(\.0), unit: "queries/s", threads: threads,
                         code: "store.query(QueryRequest(view:, keys: [(nil, merchant)], from: w, to: w + 1h)) in a loop in each task for \(loadSeconds) s"
                             + (appender ? "; store.append(1k batch, durability: .none) in a loop meanwhile" : ""),
                         notes: "batch snapshot over 90 % of the events + speed part (the last 10 %" + (appender ? " and the appended events" : "")
                             + "); decoded row groups warm" + (appender ? "; appender ev/s per run: \(appendRates)" : ""))
            }
        }
    }

    // MARK: First publish (issue 10)

    func runFirstPublish() async throws {
        let template = try await template("all")
        log("== firstpublish: the first runBatch of revenue_hourly on a fresh Store.open of a closed store with \(n) events, no batch yet")
        let (t, runs, opens) = try await storeRuns(template) { s in try await s.runBatch(view: Workload.viewName) }
        guard runs.allSatisfy({ $0.eventsScanned == Int64(n) }) else {
            throw WorkloadError(description: "first publish scanned \(runs.map(\.eventsScanned)) events")
        }
        report.add(Measurement(id: "firstpublish", title: "First publish: runBatch on a freshly opened store (speed layer not built yet)",
                               value: t.median, unit: "s", range: (t.min, t.max), threads: o.batchThreads, runs: t.seconds.count,
                               seconds: t.seconds, events: n,
                               cmd: cmd + "  # copy of a closed store (view created, \(n) events, no batch), Store.open, then store.runBatch(view: \"revenue_hourly\")",
                               notes: "BatchSummary.seconds \(runs.map { fixed($0.seconds, 3) }); rows \(runs.first?.rows ?? 0); Store.open (untimed) median \(fixed(Stats.median(opens), 3)) s",
                               foreignMax: t.foreignMax, retries: t.retries))
    }
}

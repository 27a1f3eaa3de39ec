import Foundation
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog

/// One event of the peers' workload as a Swift value (the typed append's input).
struct OrderEvent: Encodable {
    var event_id: Int64
    var event_ts: Date
    var merchant_id: String
    var status: String
    var currency: String
    var amount_cents: Int64
}

extension Bench {
    /// Every event as `OrderEvent` values, in 10k-event chunks (untimed).
    func orderEvents() -> [[OrderEvent]] {
        batches10k.map { b in
            (0..<b.count).map { r in
                OrderEvent(event_id: b.columns[0].ints[r], event_ts: Date(timeIntervalSince1970: Double(b.columns[1].ints[r]) / 1000),
                           merchant_id: b.columns[2].string(at: r), status: b.columns[3].string(at: r),
                           currency: b.columns[4].string(at: r), amount_cents: b.columns[5].ints[r])
            }
        }
    }

    /// Append throughput of the typed forms against `ColumnBatch`, under `none`, 10k-event
    /// batches; then typed query latency against `Store.query`.
    func runTypedAppend() async throws {
        log("== typed append: \(n) events as ColumnBatch / Encodable / row builder, none, 10k batches, fresh store each run")
        let t0 = nowNanos()
        let events = orderEvents()
        log("   built \(n) OrderEvent values in \(fixed(seconds(since: t0), 1)) s (untimed)")
        // The typed forms must store exactly what the ColumnBatch form stores.
        do {
            let s = try await freshStore("typed-check", view: false)
            try await s.append(events[0], to: "orders", durability: .none)
            var b = try s.batchBuilder(for: "orders", capacity: 10_000)
            for e in events[0] { try Self.setRow(&b, e) }
            try await s.append(b, durability: .none)
            let log_ = try s.streamLog("orders")
            var got: [ColumnBatch] = []
            try log_.forEachBatch(in: 0..<log_.endOffset) { _, b in got.append(b) }
            let want = batches10k[0]
            for g in got {
                for (c, w) in zip(g.columns, want.columns) {
                    for r in 0..<w.count where c.value(at: r) != w.value(at: r) {
                        throw WorkloadError(description: "typed append stored \(c.value(at: r)) for \(w.value(at: r)) at row \(r)")
                    }
                }
            }
            s.close()
            Files.removeTree(o.work + "/typed-check")
        }
        let forms: [(String, String, String)] = [
            ("typedappend.columnbatch", "Append ColumnBatch, none, 10k batches", "store.append(batch, to: \"orders\", durability: .none)"),
            ("typedappend.encodable", "Append Encodable structs, none, 10k batches", "store.append(orderEvents, to: \"orders\", durability: .none)"),
            ("typedappend.rowbuilder", "Append via row builder, none, 10k batches", "var b = store.batchBuilder(for: \"orders\"); b.append { row in try row.set(\"event_ts\", date) … }; store.append(b, durability: .none)"),
        ]
        var medians: [Double] = []
        for (k, (id, title, code)) in forms.enumerated() {
            var store: Store? = nil
            let t = try await timeRuns(gate, runs: o.runs, warmup: o.warmup, setup: {
                store?.close()
                store = nil
                store = try await self.freshStore("typedappend", view: false)
            }, {
                guard let s = store else { return 0 }
                var appended = 0
                switch k {
                case 0:
                    for b in self.batches10k { appended += try await s.append(b, to: "orders", durability: .none).count }
                case 1:
                    for chunk in events { appended += try await s.append(chunk, to: "orders", durability: .none).count }
                default:
                    for chunk in events {
                        var b = try s.batchBuilder(for: "orders", capacity: chunk.count)
                        for e in chunk { try Self.setRow(&b, e) }
                        appended += try await s.append(b, durability: .none).count
                    }
                }
                return appended
            }, check: { (appended: Int) in
                guard appended == self.n else { throw WorkloadError(description: "\(id): appended \(appended) of \(self.n)") }
            })
            store?.close()
            store = nil
            medians.append(Double(n) / t.median)
            let vs = k == 0 ? "" : "; \(pct(medians[k] / medians[0])) of the ColumnBatch form's throughput in this group"
            // The Encodable form encodes a 10k-value append on StoreOptions.batchParallelism
            // threads (the values are Sendable); the other two forms build on the caller's.
            throughput(id, title, t, events: n, threads: k == 1 ? o.batchThreads : 1,
                       target: k == 1 ? { Target(text: "≥ 2 M ev/s", met: $0 >= 2e6) } : nil,
                       code: code, notes: "Date timestamps; fresh store each run\(vs)" + (k == 1 ? "; encoding on \(o.batchThreads) threads" : ""))
        }
        Files.removeTree(o.work + "/typedappend")
        try await runTypedQuery()
    }

    static func setRow(_ b: inout BatchBuilder, _ e: OrderEvent) throws {
        try b.append { row in
            try row.set("event_id", e.event_id)
            try row.set("event_ts", e.event_ts)
            try row.set("merchant_id", e.merchant_id)
            try row.set("status", e.status)
            try row.set("currency", e.currency)
            try row.set("amount_cents", e.amount_cents)
        }
    }

    /// `store.query(view:keys:fromMillis:toMillis:)` (typed) against `Store.query` on the same
    /// random live cells, calls interleaved.
    func runTypedQuery() async throws {
        let store = try await ensureMainStore()
        let table = try requireSpeedTable()
        let sample = sampleCells(table, count: o.queries)
        log("== typed query vs Store.query: --key + one window, \(sample.count) queries each, interleaved")
        let requests = sample.map(request)
        let keys: [[String: QueryKeyValue]] = requests.map { ["merchant_id": QueryKeyValue($0.keys[0].value)] }
        for i in 0..<min(20, requests.count) {
            let raw = try await store.query(requests[i])
            let typed = try await store.query(view: Workload.viewName, keys: keys[i], fromMillis: requests[i].from, toMillis: requests[i].to)
            guard typed.result.rows == raw.rows, typed.count == 1 else {
                throw WorkloadError(description: "typed query \(i) differs from Store.query")
            }
        }
        gate.waitQuiet()
        var rawLat: [Double] = [], typedLat: [Double] = [], readLat: [Double] = []
        let a = NoiseMeter.Mark()
        for (i, r) in requests.enumerated() {
            let t0 = nowNanos()
            let raw = try await store.query(r)
            let t1 = nowNanos()
            let typed = try await store.query(view: Workload.viewName, keys: keys[i], fromMillis: r.from, toMillis: r.to)
            let t2 = nowNanos()
            let revenue = try typed.first?.int("revenue")
            let t3 = nowNanos()
            blackHole(raw); blackHole(typed); blackHole(revenue)
            rawLat.append(Double(t1 &- t0) / 1e3)
            typedLat.append(Double(t2 &- t1) / 1e3)
            readLat.append(Double(t3 &- t1) / 1e3)
        }
        let b = NoiseMeter.Mark()
        let foreign = NoiseMeter.foreignShare(a, b)
        let q = { (x: [Double], p: Double) in Stats.quantile(sorted: x.sorted(), p) }
        let overhead99 = q(typedLat, 0.99) - q(rawLat, 0.99), overhead50 = q(typedLat, 0.5) - q(rawLat, 0.5)
        log("   p50 raw \(fixed(q(rawLat, 0.5), 2)) µs typed \(fixed(q(typedLat, 0.5), 2)) µs; p99 raw \(fixed(q(rawLat, 0.99), 2)) µs typed \(fixed(q(typedLat, 0.99), 2)) µs; p99 overhead \(fixed(overhead99, 2)) µs")
        latency("typedquery.raw", "Store.query --key + one window (same sample)", rawLat, foreign: foreign, target: nil,
                code: "store.query(QueryRequest(view:, keys: [(nil, merchant)], from: w, to: w + 1h))")
        latency("typedquery.typed", "Typed query by view name + key + window", typedLat, foreign: foreign,
                target: nil, code: "store.query(view: \"revenue_hourly\", keys: [\"merchant_id\": m], fromMillis: w, toMillis: w + 1h)",
                notes: "p50 overhead vs Store.query \(fixed(overhead50 * 1000, 0)) ns, p99 overhead \(fixed(overhead99 * 1000, 0)) ns (target < 1 µs: \(overhead99 < 1 ? "met" : "missed"))")
        latency("typedquery.typed_read", "Typed query + row.int(\"revenue\")", readLat, foreign: foreign, target: nil,
                code: "try await store.query(view:…).first?.int(\"revenue\")")
        report.add(Measurement(id: "typedquery.p99_overhead", title: "Typed query p99 overhead vs Store.query", value: overhead99, unit: "us",
                               threads: 1, runs: requests.count, target: Target(text: "< 1 µs", met: overhead99 < 1),
                               cmd: cmd + "  # p99(typed) − p99(Store.query), interleaved calls", foreignMax: foreign))
    }
}

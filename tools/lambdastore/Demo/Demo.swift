@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews

/// The guided tour behind `lambdastore demo`: a fresh store, generated marketplace orders with
/// late arrivals ingested in steps, the speed answer, a batch publish, the corrected answer and
/// the drift report, each step explained in plain words.
enum Demo {
    /// What the tour did, for `lambdastore demo --json`.
    struct Summary: Sendable {
        /// The store directory.
        var store: String
        /// Events appended.
        var events: Int64
        /// The two batch publishes.
        var batches: [BatchSummary]
        /// The replay drill.
        var replay: ReplayReport

        /// The JSON form.
        var json: JSONValue {
            (["store": .string(store), "events": .int(events), "batches": .array(batches.map(\.json)), "replay": replay.json] as JSONValue)
        }
    }

    /// Runs the tour in the (new or empty) directory `path`, reporting through `say`.
    /// - Throws: any engine error (the tour stops at the first).
    @discardableResult
    static func run(at path: String, events: Int = 120_000, options: StoreOptions = StoreOptions(), say: @Sendable (String) -> Void) async throws(LambdaStoreError) -> Summary {
        let fs = PosixFileSystem()
        if fs.exists(path), !(try fs.list(path)).isEmpty {
            throw LambdaStoreError(.alreadyExists, "the demo needs a fresh store directory; this one is not empty", path: path)
        }
        let store = try await Store.open(at: path, options: options)
        defer { store.close() }
        say("LambdaStore demo — store at \(path)")
        say("")
        say("1. Schema and view")
        try await store.applySchema(MarketplaceGenerator.schema)
        let def = try ViewDefinition.parse(json: Array(MarketplaceGenerator.revenueHourlyJSON.utf8))
        _ = try await store.createView(def)
        let fp = try store.viewInfo(def.name).fingerprint
        say("   stream 'orders' (event time: event_ts) and view 'revenue_hourly':")
        say("   completed orders, grouped by merchant, 1-hour tumbling windows, 10 minutes allowed lateness,")
        say("   revenue = sum(amount_cents), orders = count. Fingerprint \(fp): the one compiled plan both paths run.")
        say("")

        // About two days of orders, whatever the count, so most hourly windows close during the run.
        var gen = MarketplaceGenerator(seed: 42, merchants: 40, lateFraction: 0.03, maxLateMillis: 2 * 3_600_000,
                                       meanGapMillis: max(1, 48 * 3_600_000 / Int64(max(1, events))))
        let steps = 4
        let perStep = max(1, events / steps)
        say("2. Ingest, first half (\(2 * perStep) orders, ~3 % arriving up to 2 h late)")
        for _ in 0..<2 { try await store.append(gen.batch(perStep), to: "orders", durability: .sync) }
        let top = MarketplaceGenerator.merchantID(0)
        try await show(store, merchant: top, title: "   Speed layer answer for merchant \(top) (no batch yet, every row comes from the speed layer):", say: say)
        let st1 = try await store.status()
        if let v = st1.views.first {
            say("   The speed layer applied each event as it was appended and skipped \(v.pendingLateEvents) late events whose window had already")
            say("   closed (maxEventTime ≥ window end + 10 min): it never changes a closed window. Only the batch layer will count them.")
        }
        say("")

        say("3. Batch: recompute the view from the whole log and publish a columnar snapshot")
        let b1 = try await store.runBatch(view: def.name)
        describe(b1, say: say)
        try await show(store, merchant: top, title: "   Served after the batch (settled windows come from the batch snapshot alone):", say: say)
        say("")

        say("4. Ingest the second half, with more late arrivals")
        for _ in 0..<2 { try await store.append(gen.batch(perStep), to: "orders", durability: .sync) }
        try await show(store, merchant: top, title: "   Served now: batch ⊕ speed (\"merged\" rows hold both; new windows come from the speed layer):", say: say, last: 4)
        say("")

        say("5. Second batch: the drift monitor compares what was served just before with the new truth")
        let b2 = try await store.runBatch(view: def.name, mode: .incremental)
        describe(b2, say: say)
        try await show(store, merchant: top, title: "   Corrected answer:", say: say, last: 4)
        say("")

        say("6. Replay drill: rebuild the view from the whole history and compare with what is published")
        let r = try await store.replayDrill(view: def.name)
        say("   \(r.events) events replayed in \(fmt(r.seconds)) s (\(Int(r.eventsPerSecond)) events/s); rebuilt snapshot is "
            + (r.identicalBytes ? "byte-identical to the published one." : r.matchesPublished ? "the same rows as the published one (other bytes)." : "DIFFERENT from the published one!"))
        say("")
        say("Done. Explore it: lambdastore status --store \(path); lambdastore query --store \(path) --view revenue_hourly --key \(top);")
        say("lambdastore drift --store \(path) --view revenue_hourly; lambdastore verify --store \(path)")
        return Summary(store: path, events: try store.streamLog("orders").endOffset, batches: [b1, b2], replay: r)
    }

    static func fmt(_ x: Double) -> String {
        let ms = Int64((x * 1000).rounded())
        let f = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - f.count) + f
    }

    static func describe(_ s: BatchSummary, say: (String) -> Void) {
        say("   horizon H = \(s.horizon): \(s.eventsScanned) events scanned in \(fmt(s.seconds)) s, \(s.rows) rows, \(s.bytesWritten) bytes (zstd columnar)")
        if let d = s.drift {
            say("   drift report (H \(d.fromHorizon) → \(d.toHorizon)): \(d.cellsCompared) closed cells that received events compared,")
            say("   \(d.cellsDiffering) differed (divergence \(String(format4: d.divergenceRate * 100)) %, status \(d.status.rawValue)), caused by \(d.lateEvents) late events;")
            let re = d.relativeError.keys.sorted().map { "\($0) \(String(format4: (d.relativeError[$0] ?? 0) * 100)) %" }.joined(separator: ", ")
            say("   relative error of what was served: \(re). The batch value now replaces it.")
        }
    }

    static func show(_ store: Store, merchant: String, title: String, say: (String) -> Void, last: Int = 3) async throws(LambdaStoreError) {
        say(title)
        let rows = try await store.query(QueryRequest(view: "revenue_hourly", keys: [(nil, merchant)])).rows
        for row in rows.suffix(last) {
            let w = row.windowStart.map { Timestamp.format($0) } ?? "-"
            say("     \(w)  revenue \(row.values[0])  orders \(row.values[1])  [\(row.source.rawValue)]")
        }
    }
}

extension String {
    init(format4 x: Double) {
        let v = Int64((x * 10_000).rounded())
        let f = String(abs(v) % 10_000)
        self = (v < 0 ? "-" : "") + "\(abs(v) / 10_000)." + String(repeating: "0", count: 4 - f.count) + f
    }
}

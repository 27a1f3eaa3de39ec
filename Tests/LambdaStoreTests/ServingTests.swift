import Testing
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A fresh temporary directory, removed by the caller with `removeTree`.
func makeTempDirectory(_ tag: String = "ls") -> String {
    var template = Array("/tmp/\(tag)-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: p!)
}

func removeTree(_ path: String) {
    _ = path.withCString { p in system("rm -rf '\(String(cString: p))'") }
}

let testSchema = Schema(stream: "orders", eventTime: "ts", fields: [
    Field(name: "ts", type: .timestamp, nullable: true),
    Field(name: "merchant", type: .string),
    Field(name: "status", type: .string),
    Field(name: "amount", type: .int64, nullable: true),
])

func viewJSON(name: String = "v", window: String, lateness: String, filter: String? = "status = 'completed'") -> [UInt8] {
    let f = filter.map { "\"filter\":\"\($0)\"," } ?? ""
    return Array("""
    {"name":"\(name)","stream":"orders",\(f)"groupBy":["merchant"],"window":\(window),"allowedLateness":"\(lateness)",
     "aggregates":[{"name":"n","fn":"count"},{"name":"total","fn":"sum","field":"amount"},{"name":"lo","fn":"min","field":"amount"},
                   {"name":"hi","fn":"max","field":"amount"},{"name":"mean","fn":"avg","field":"amount"}]}
    """.utf8)
}

/// Random events that are mostly in order with some late arrivals and some nulls.
func randomEvents(_ rng: inout SplitMix64, count: Int, clock: inout Int64) -> [ReferenceModel.Event] {
    (0..<count).map { _ in
        clock += Int64(rng.next() % 40_000)
        var ts: Int64? = clock
        if rng.next() % 8 == 0 { ts = clock - Int64(rng.next() % 7_200_000) }   // late, up to 2 h
        if rng.next() % 50 == 0 { ts = nil }
        let statuses = ["completed", "completed", "completed", "cancelled"]
        return ReferenceModel.Event(ts: ts, merchant: "m\(rng.next() % 5)", status: statuses[Int(rng.next() % 4)],
                                    amount: rng.next() % 20 == 0 ? nil : Int64(rng.next() % 1000))
    }
}

func batchOf(_ events: [ReferenceModel.Event]) throws -> ColumnBatch {
    var b = ColumnBatch(schema: testSchema)
    for e in events {
        try b.columns[0].append(e.ts.map { .timestamp($0) } ?? .null)
        b.columns[1].append(string: e.merchant)
        b.columns[2].append(string: e.status)
        try b.columns[3].append(e.amount.map { .int64($0) } ?? .null)
    }
    return b
}

func served(_ store: Store, view: String = "v") async throws -> [ReferenceModel.Cell: [Value]] {
    var out: [ReferenceModel.Cell: [Value]] = [:]
    let rows = try await store.query(QueryRequest(view: view)).rows
    // Whatever layers answer, rows come once per cell in (window, key) order.
    let order = rows.map { CellKey(windowStart: $0.windowStart, key: GroupKey(values: $0.key)) }
    #expect(zip(order, order.dropFirst()).allSatisfy { $0 < $1 }, "query rows not strictly in (window, key) order")
    for row in rows {
        guard case .string(let m) = row.key[0], let w = row.windowStart else { continue }
        out[ReferenceModel.Cell(window: w, merchant: m)] = row.values
    }
    return out
}

/// Keyed queries (one window, a few windows, open ranges) through both layers equal the
/// matching rows of the unconstrained query.
func expectKeyedQueriesMatchFullQuery(_ store: Store, rng: inout SplitMix64, _ what: String) async throws {
    let all = try await store.query(QueryRequest(view: "v")).rows
    guard !all.isEmpty else { return }
    for probe in 0..<8 {
        let row = all[Int(rng.next() % UInt64(all.count))]
        guard case .string(let m) = row.key[0], let w = row.windowStart else { continue }
        let (from, to): (Int64?, Int64?) = [(w, w + 1), (w - 3_600_000, w + 7_200_000), (nil, w + 1), (w, nil), (nil, nil)][probe % 5]
        let got = try await store.query(QueryRequest(view: "v", keys: [(nil, m)], from: from, to: to)).rows
        let want = all.filter { r in
            r.key == row.key && (from.map { r.windowStart! >= $0 } ?? true) && (to.map { r.windowStart! < $0 } ?? true)
        }
        #expect(got == want, "\(what) probe \(probe): key \(m) from \(String(describing: from)) to \(String(describing: to))")
    }
    // A key that does not exist.
    #expect(try await store.query(QueryRequest(view: "v", keys: [(nil, "no-such-merchant")])).rows.isEmpty, "\(what): unknown key")
}

func expected(_ ref: ReferenceModel, horizon: Int) -> [ReferenceModel.Cell: [Value]] {
    ref.answer(horizon: horizon).mapValues(\.values)
}

@Suite struct ServingTests {
    static let windows: [(String, Int64, Int64?)] = [
        ("{\"type\":\"tumbling\",\"field\":\"ts\",\"size\":\"1h\"}", 3_600_000, nil),
        ("{\"type\":\"hopping\",\"field\":\"ts\",\"size\":\"1h\",\"slide\":\"20m\"}", 3_600_000, 1_200_000),
    ]

    @Test(arguments: [(UInt64(1), 0), (2, 1), (3, 0), (4, 1)])
    func mergedAnswerEqualsReferenceAtEveryStep(seed: UInt64, windowIndex: Int) async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let (wjson, size, slide) = Self.windows[windowIndex]
        var ref = ReferenceModel(view: .init(statusFilter: "completed", size: size, slide: slide, lateness: 600_000))
        var store = try await Store.open(at: dir)
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: wjson, lateness: "10m")))
        var rng = SplitMix64(seed: seed)
        var clock: Int64 = 1_704_067_200_000
        var horizon = 0
        for step in 0..<12 {
            let events = randomEvents(&rng, count: Int(rng.next() % 300) + 1, clock: &clock)
            try await store.append(try batchOf(events), to: "orders", durability: step % 3 == 0 ? .sync : .none)
            ref.events += events
            await #expect(try served(store) == expected(ref, horizon: horizon), "seed \(seed) step \(step) before batch")
            if step % 3 == 2 {
                let mode: BatchMode = [.full, .incremental, .targeted(from: clock - 7_200_000, to: clock)][Int(rng.next() % 3)]
                let summary = try await store.runBatch(view: "v", mode: mode)
                #expect(summary.horizon == Int64(ref.events.count))
                let drift = try #require(summary.drift)
                let rd = ref.drift(from: horizon, to: ref.events.count)
                #expect(drift.cellsCompared == Int64(rd.compared), "seed \(seed) step \(step)")
                #expect(drift.cellsDiffering == Int64(rd.differing), "seed \(seed) step \(step)")
                #expect(drift.lateEvents == Int64(ref.lateEvents(in: horizon..<ref.events.count)), "seed \(seed) step \(step)")
                horizon = ref.events.count
                await #expect(try served(store) == expected(ref, horizon: horizon), "seed \(seed) step \(step) after batch")
                try await expectKeyedQueriesMatchFullQuery(store, rng: &rng, "seed \(seed) step \(step)")
            }
            if step == 7 {
                // Speed recovery: reopen and get the same answer.
                store.close()
                store = try await Store.open(at: dir)
                await #expect(try served(store) == expected(ref, horizon: horizon), "seed \(seed) after reopen")
            }
        }
        // The in-memory recompute (no publish) equals the reference over every event.
        let (table, read) = try await store.recompute(view: "v")
        #expect(read == Int64(ref.events.count))
        var recomputed: [ReferenceModel.Cell: [Value]] = [:]
        for row in table.rows() {
            guard case .string(let m) = row.key[0], let w = row.windowStart else { continue }
            recomputed[ReferenceModel.Cell(window: w, merchant: m)] = row.states.map(\.result)
        }
        #expect(recomputed == expected(ref, horizon: ref.events.count), "seed \(seed): recompute")
        store.close()
    }

    @Test func provenanceReportsBatchSpeedAndMerged() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir)
        defer { store.close() }
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: Self.windows[0].0, lateness: "2h")))
        let t0: Int64 = 1_704_067_200_000
        try await store.append(try batchOf([.init(ts: t0, merchant: "a", status: "completed", amount: 1),
                                            .init(ts: t0, merchant: "b", status: "completed", amount: 2)]), to: "orders")
        _ = try await store.runBatch(view: "v")
        try await store.append(try batchOf([.init(ts: t0 + 1, merchant: "b", status: "completed", amount: 3),
                                            .init(ts: t0 + 2, merchant: "c", status: "completed", amount: 4)]), to: "orders")
        let rows = try await store.query(QueryRequest(view: "v")).rows
        #expect(rows.map(\.source) == [.batch, .merged, .speed])
        #expect(rows.map { $0.values[1] } == [.int64(1), .int64(5), .int64(4)])
        // Key lookups.
        let b = try await store.query(QueryRequest(view: "v", keys: [(nil, "b")])).rows
        #expect(b.count == 1 && b[0].values[0] == .int64(2))
        #expect(try await store.query(QueryRequest(view: "v", keys: [("merchant", "c")])).rows.count == 1)
        #expect(try await store.query(QueryRequest(view: "v", from: t0 + 3_600_000)).rows.isEmpty)
    }

    @Test func incrementalAndTargetedRunsAreByteIdenticalToFullRuns() async throws {
        let a = makeTempDirectory(), b = makeTempDirectory()
        defer { removeTree(a); removeTree(b) }
        let sa = try await Store.open(at: a), sb = try await Store.open(at: b)
        defer { sa.close(); sb.close() }
        for s in [sa, sb] {
            try await s.applySchema(testSchema)
            try await s.createView(ViewDefinition.parse(json: viewJSON(window: Self.windows[1].0, lateness: "0m")))
        }
        var rng = SplitMix64(seed: 99)
        var clock: Int64 = 1_704_067_200_000
        for step in 0..<6 {
            let events = randomEvents(&rng, count: 400, clock: &clock)
            try await sa.append(try batchOf(events), to: "orders", durability: .none)
            try await sb.append(try batchOf(events), to: "orders", durability: .none)
            let mode: BatchMode = step % 2 == 0 ? .incremental : .targeted(from: clock - 3_600_000 * 5, to: clock)
            let ra = try await sa.runBatch(view: "v", mode: mode)
            let rb = try await sb.runBatch(view: "v", mode: .full)
            #expect(ra.horizon == rb.horizon)
            let fa = try snapshotBytes(sa), fb = try snapshotBytes(sb)
            #expect(fa == fb, "step \(step): \(mode) snapshot differs from the full run's")
        }
    }

    func snapshotBytes(_ store: Store) throws -> [UInt8] {
        try #require(store.views().first?.snapshotFile != nil)
        return try store.liveSnapshotBytes()
    }
}

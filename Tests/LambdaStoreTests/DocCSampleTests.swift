import Foundation
import Testing
import LambdaStore
import LambdaStoreTestSupport

// Every code sample of the DocC catalog (Sources/LambdaStore/LambdaStore.docc) and the example
// in the doc comment of `Store`, compiled and run. Each sample sits between a
// `// sample: NAME` and an `// end sample` line; `everySampleIsHere` checks that every Swift
// block of the articles and of `Store`'s doc comment appears here line for line.

/// One order event; its property names are the stream's field names.
struct Order: Encodable {
    var event_ts: Date
    var merchant_id: String
    var status: String
    var amount_cents: Int
}

/// One row of the hourly revenue view.
struct RevenueHour: Decodable {
    var window_start: Date
    var merchant_id: String
    var revenue: Int
    var orders: Int
    var source: String
}

extension RevenueHour: Equatable {}

@Suite struct DocCSampleTests {
    static let ordersSchema = Schema(stream: "orders", eventTime: "event_ts", fields: [
        Field(name: "event_ts", type: .timestamp),
        Field(name: "merchant_id", type: .string),
        Field(name: "status", type: .string),
        Field(name: "amount_cents", type: .int64),
    ])

    static let revenueHourly = try! ViewDefinition(
        name: "revenue_hourly", stream: "orders", filter: "status = 'completed'",
        groupBy: ["merchant_id"], window: .tumbling(field: "event_ts", size: .hours(1)),
        allowedLateness: .minutes(10),
        aggregates: [.sum("amount_cents", as: "revenue"), .count(as: "orders")])

    /// 2026-01-01T00:00:00Z.
    static let t0 = Date(timeIntervalSince1970: 1_767_225_600)

    /// A store with the orders stream and the revenue_hourly view (the state the later
    /// articles start from).
    static func prepared(_ path: String, options: StoreOptions = StoreOptions()) async throws -> Store {
        let store = try await Store.open(at: path, options: options)
        try await store.applySchema(ordersSchema)
        try await store.createView(revenueHourly)
        return store
    }

    /// The three orders of "Getting started".
    static func appendFirstOrders(_ store: Store) async throws {
        let t0 = Self.t0
        try await store.append([
            Order(event_ts: t0, merchant_id: "m1", status: "completed", amount_cents: 1_250),
            Order(event_ts: t0.addingTimeInterval(60), merchant_id: "m1", status: "cancelled", amount_cents: 900),
            Order(event_ts: t0.addingTimeInterval(120), merchant_id: "m2", status: "completed", amount_cents: 400),
        ], to: "orders", durability: .sync)
    }

    // MARK: - Store's doc comment

    @Test func storeDocCommentExample() async throws {
        let path = makeTempDirectory("docc")
        defer { removeTree(path) }
        let schema = Self.ordersSchema
        let viewJSON = #"{"name":"revenue_hourly","stream":"orders","groupBy":["merchant_id"],"aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"}]}"#
        var builder = BatchBuilder(schema: schema)
        try builder.append { row in
            try row.set("event_ts", Self.t0)
            try row.set("merchant_id", "m1")
            try row.set("status", "completed")
            try row.set("amount_cents", 700)
        }
        let batch = builder.batch
        // sample: Store
        let store = try await Store.open(at: path)
        try await store.applySchema(schema)
        try await store.createView(ViewDefinition.parse(json: viewJSON))
        _ = try await store.append(batch, to: "orders", durability: .sync)
        let rows = try await store.query(QueryRequest(view: "revenue_hourly"))
        let summary = try await store.runBatch(view: "revenue_hourly")
        // end sample
        defer { store.close() }
        #expect(rows.rows.map(\.values) == [[.int64(700)]])
        #expect(rows.rows.map(\.source) == [.speed])
        #expect(summary.horizon == 1)
    }

    // MARK: - Getting started

    @Test func gettingStarted() async throws {
        let path = makeTempDirectory("docc")
        defer { removeTree(path) }
        // sample: GettingStarted
        let store = try await Store.open(at: path)
        defer { store.close() }

        try await store.applySchema(Schema(stream: "orders", eventTime: "event_ts", fields: [
            Field(name: "event_ts", type: .timestamp),
            Field(name: "merchant_id", type: .string),
            Field(name: "status", type: .string),
            Field(name: "amount_cents", type: .int64),
        ]))
        try await store.createView(ViewDefinition(
            name: "revenue_hourly", stream: "orders", filter: "status = 'completed'",
            groupBy: ["merchant_id"], window: .tumbling(field: "event_ts", size: .hours(1)),
            allowedLateness: .minutes(10),
            aggregates: [.sum("amount_cents", as: "revenue"), .count(as: "orders")]))

        let t0 = Date(timeIntervalSince1970: 1_767_225_600)   // 2026-01-01T00:00:00Z
        try await store.append([
            Order(event_ts: t0, merchant_id: "m1", status: "completed", amount_cents: 1_250),
            Order(event_ts: t0.addingTimeInterval(60), merchant_id: "m1", status: "cancelled", amount_cents: 900),
            Order(event_ts: t0.addingTimeInterval(120), merchant_id: "m2", status: "completed", amount_cents: 400),
        ], to: "orders", durability: .sync)

        // Fresh: served by the speed layer, before any batch run.
        let fresh = try await store.query(view: "revenue_hourly", keys: ["merchant_id": "m1"])
        // Authoritative: recomputed from the log, published as a snapshot, then served.
        let summary = try await store.runBatch(view: "revenue_hourly")
        let settled = try await store.query(view: "revenue_hourly", keys: ["merchant_id": "m1"])
        let hours = try settled.decode(RevenueHour.self)
        // end sample
        #expect(fresh.count == 1)
        #expect(fresh[0].source == .speed)
        #expect(try fresh[0].int("revenue") == 1_250)
        #expect(try fresh[0].int("orders") == 1)
        #expect(summary.horizon == 3 && summary.eventsScanned == 3)
        #expect(hours == [RevenueHour(window_start: t0, merchant_id: "m1", revenue: 1_250, orders: 1, source: "batch")])
    }

    // MARK: - Streams and schemas

    @Test func streamsAndSchemas() async throws {
        let path = makeTempDirectory("docc")
        defer { removeTree(path) }
        let store = try await Store.open(at: path)
        defer { store.close() }
        let t0 = Self.t0
        // sample: StreamsAndSchemas
        let v1 = Schema(stream: "orders", eventTime: "event_ts", fields: [
            Field(name: "event_ts", type: .timestamp),
            Field(name: "merchant_id", type: .string),
            Field(name: "amount_cents", type: .int64),
        ])
        let created = try await store.applySchema(v1)      // .created(version: 1)
        let again = try await store.applySchema(v1)        // .unchanged(version: 1)

        // Records field by field, checked against the schema.
        var first = try store.batchBuilder(for: "orders")
        try first.append { row in
            try row.set("event_ts", t0)
            try row.set("merchant_id", "m1")
            try row.set("amount_cents", 500)
        }
        try await store.append(first, durability: .sync)    // offsets 0..<1

        // Compatible: a new field that is nullable or has a default.
        var v2 = v1
        v2.fields.append(Field(name: "channel", type: .string, nullable: true, defaultValue: .string("web")))
        let evolved = try await store.applySchema(v2)      // .evolved(version: 2)

        // Incompatible: an existing field changes its type. The error names the field.
        var bad = v2
        bad.fields[2] = Field(name: "amount_cents", type: .float64)
        var rejection: LambdaStoreError? = nil
        do throws(LambdaStoreError) {
            try await store.applySchema(bad)
        } catch {
            rejection = error                               // code .schema, message names amount_cents
        }

        // A field left unset takes its default.
        var builder = try store.batchBuilder(for: "orders")
        try builder.append { row in
            try row.set("event_ts", t0.addingTimeInterval(60))
            try row.set("merchant_id", "m2")
            try row.set("amount_cents", 700)
        }
        let offsets = try await store.append(builder, durability: .sync)   // 1..<2

        // Old records are read projected onto the latest schema.
        var channels: [Value] = []
        for batch in try await store.batches(of: "orders", in: 0..<store.endOffset(of: "orders")) {
            for r in 0..<batch.count { channels.append(batch.columns[3].value(at: r)) }
        }
        // end sample
        #expect(created == .created(version: 1))
        #expect(again == .unchanged(version: 1))
        #expect(evolved == .evolved(version: 2))
        #expect(rejection?.code == .schema)
        #expect(rejection?.message.contains("amount_cents") == true)
        #expect(offsets == 1..<2)
        #expect(try store.schema(of: "orders").version == 2)
        #expect(channels == [.string("web"), .string("web")])
    }

    // MARK: - Views and lateness

    @Test func viewsAndLateness() async throws {
        let path = makeTempDirectory("docc")
        defer { removeTree(path) }
        let store = try await Store.open(at: path)
        defer { store.close() }
        try await store.applySchema(Self.ordersSchema)
        // sample: ViewsAndLateness
        let view = try ViewDefinition(
            name: "revenue_hourly", stream: "orders", filter: "status = 'completed'",
            groupBy: ["merchant_id"], window: .tumbling(field: "event_ts", size: .hours(1)),
            allowedLateness: .minutes(10),
            aggregates: [.sum("amount_cents", as: "revenue"), .count(as: "orders")])
        // The same view as a view file: equal, with the same fingerprint.
        let fromJSON = try ViewDefinition.parse(json: """
            {"name":"revenue_hourly","stream":"orders","filter":"status = 'completed'",
             "groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},
             "allowedLateness":"10m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},
             {"name":"orders","fn":"count"}]}
            """)
        try await store.createView(view)

        let ten = Date(timeIntervalSince1970: 1_767_261_600)   // 2026-01-01T10:00:00Z
        func order(_ minutes: Double, _ cents: Int) -> Order {
            Order(event_ts: ten.addingTimeInterval(minutes * 60), merchant_id: "m1", status: "completed", amount_cents: cents)
        }
        try await store.append([order(5, 1_000)], to: "orders")
        // 11:15 moves maxEventTime past 11:00 + 10 min: the 10:00 window is closed.
        try await store.append([order(75, 2_000)], to: "orders")
        // An event of 10:30 arriving now is late: the speed layer counts it and skips it.
        try await store.append([order(30, 500)], to: "orders")

        let served = try await store.query(view: "revenue_hourly", from: ten, to: ten.addingTimeInterval(3_600))
        let pendingLate = try await store.status().views[0].pendingLateEvents   // 1
        // The batch layer counts every event, late or not.
        _ = try await store.runBatch(view: "revenue_hourly")
        let settled = try await store.query(view: "revenue_hourly", from: ten, to: ten.addingTimeInterval(3_600))
        // end sample
        #expect(fromJSON == view && fromJSON.fingerprint == view.fingerprint)
        #expect(served.count == 1 && served[0].source == .speed)
        #expect(try served[0].int("revenue") == 1_000)
        #expect(pendingLate == 1)
        #expect(settled.count == 1 && settled[0].source == .batch)
        #expect(try settled[0].int("revenue") == 1_500)
        #expect(try settled[0].int("orders") == 2)
    }

    // MARK: - Serving and provenance

    @Test func servingAndProvenance() async throws {
        let path = makeTempDirectory("docc")
        defer { removeTree(path) }
        let store = try await Self.prepared(path)
        defer { store.close() }
        try await Self.appendFirstOrders(store)
        let t0 = Self.t0
        // sample: ServingAndProvenance
        let batch = try await store.runBatch(view: "revenue_hourly")          // horizon H = 3
        try await store.append([
            Order(event_ts: t0.addingTimeInterval(600), merchant_id: "m1", status: "completed", amount_cents: 100),
        ], to: "orders")

        let answer = try await store.query(view: "revenue_hourly")
        for row in answer {
            print(try row.string("merchant_id") ?? "", try row.int("revenue") ?? 0, row.source)
        }
        // m1 1350 merged   (batch part: offsets < H; speed part: offsets >= H)
        // m2 400 batch

        // The untyped form: keys as text, window starts in epoch ms.
        let result = try await store.query(QueryRequest(view: "revenue_hourly", keys: [(field: "merchant_id", value: "m1")]))
        // end sample
        #expect(answer.horizon == batch.horizon && batch.horizon == 3)
        #expect(answer.fingerprint == Self.revenueHourly.fingerprint)
        #expect(answer.map(\.source) == [.merged, .batch])
        #expect(try answer.map { try $0.int("revenue") } == [1_350, 400])
        #expect(result.rows.count == 1)
        #expect(result.rows[0].source == .merged)
        #expect(result.rows[0].values == [.int64(1_350), .int64(2)])
        #expect(result.rows[0].windowStart == 1_767_225_600_000 && result.rows[0].windowEnd == 1_767_229_200_000)
    }

    // MARK: - Drift and reconciliation

    @Test func driftAndReconciliation() async throws {
        let path = makeTempDirectory("docc")
        defer { removeTree(path) }
        let store = try await Self.prepared(path)
        defer { store.close() }
        let ten = Date(timeIntervalSince1970: 1_767_261_600)
        func order(_ minutes: Double, _ cents: Int) -> Order {
            Order(event_ts: ten.addingTimeInterval(minutes * 60), merchant_id: "m1", status: "completed", amount_cents: cents)
        }
        try await store.append([order(5, 1_000)], to: "orders")
        try await store.append([order(75, 2_000)], to: "orders")
        try await store.append([order(30, 500)], to: "orders")   // late
        // sample: DriftAndReconciliation
        let summary = try await store.runBatch(view: "revenue_hourly")
        let report = try await store.driftReports(view: "revenue_hourly")[0]   // newest first
        // report.cellsCompared == 1, report.cellsDiffering == 1, report.lateEvents == 1,
        // report.status == .critical, report.differingWindows == [10:00 as epoch ms]

        let incident = try await store.reconcile(view: "revenue_hourly")
        // incident.windows == report.differingWindows, incident.fullRecompute == false
        // end sample
        #expect(summary.drift?.cellsDiffering == report.cellsDiffering)
        #expect(report.cellsCompared == 1 && report.cellsDiffering == 1)
        #expect(report.lateEvents == 1)
        #expect(report.divergenceRate == 1)
        #expect(report.status == .critical)
        #expect(report.differingWindows == [1_767_261_600_000])
        #expect(abs((report.relativeError["revenue"] ?? 0) - 500.0 / 1_500.0) < 1e-12)
        #expect(report.fromHorizon == 0 && report.toHorizon == 3)
        #expect(report.fingerprint == Self.revenueHourly.fingerprint)
        #expect(incident.windows == report.differingWindows)
        #expect(!incident.fullRecompute)
        #expect(incident.cellsCorrected == 0)   // the publish already served the truth
    }

    @Test func parityCheck() async throws {
        let view = Self.revenueHourly
        // sample: ParityCheck
        let schema = Schema(stream: "orders", eventTime: "event_ts", fields: [
            Field(name: "event_ts", type: .timestamp),
            Field(name: "merchant_id", type: .string),
            Field(name: "status", type: .string),
            Field(name: "amount_cents", type: .int64),
        ])
        var fixture = BatchBuilder(schema: schema)
        for (minute, cents) in [(5, 1_000), (75, 2_000), (30, 500)] {   // the last one is late
            try fixture.append { row in
                try row.set("event_ts", Int64(1_767_261_600_000 + minute * 60_000))
                try row.set("merchant_id", "m1")
                try row.set("status", "completed")
                try row.set("amount_cents", cents)
            }
        }
        let diffs = try await ParityCheck.run(definition: view, schema: schema,
                                              batches: [fixture.batch])
        let unexplained = diffs.filter { !$0.explainedByLateEvents }   // empty: the paths agree
        // end sample
        #expect(diffs.count == 1)
        #expect(diffs.first?.windowStart == 1_767_261_600_000)
        #expect(unexplained.isEmpty)
    }

    // MARK: - Durability and concurrency

    @Test func durabilityAndConcurrency() async throws {
        let path = makeTempDirectory("docc")
        defer { removeTree(path) }
        let store = try await Self.prepared(path)
        let t0 = Self.t0
        // sample: DurabilityAndConcurrency
        // One store, many tasks: appends to a stream are ordered by its log, queries overlap.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for i in 0..<25 {
                        let order = Order(event_ts: t0.addingTimeInterval(Double(i)), merchant_id: "m\(worker)",
                                          status: "completed", amount_cents: 100)
                        try await store.append([order], to: "orders", durability: .interval(milliseconds: 50))
                    }
                }
                group.addTask { _ = try await store.query(view: "revenue_hourly") }
            }
            try await group.waitForAll()
        }
        let end = try store.endOffset(of: "orders")                   // 100: offsets 0..<100, dense

        store.close()                                                 // idempotent
        var afterClose: LambdaStoreError.Code? = nil
        do throws(LambdaStoreError) {
            _ = try await store.query(view: "revenue_hourly")
        } catch {
            afterClose = error.code                                   // .precondition
        }
        // end sample
        #expect(end == 100)
        #expect(afterClose == .precondition)
        let reopened = try await Store.open(at: path)
        defer { reopened.close() }
        let answer = try await reopened.query(view: "revenue_hourly")
        #expect(try answer.map { try $0.int("revenue") } == [2_500, 2_500, 2_500, 2_500])
    }

    // MARK: - Lifecycle

    @Test func lifecycle() async throws {
        let path = makeTempDirectory("docc")
        defer { removeTree(path) }
        let store = try await Self.prepared(path)
        defer { store.close() }
        let t0 = Self.t0
        for b in 0..<5 {
            let orders = (0..<200).map { i in
                Order(event_ts: t0.addingTimeInterval(Double(b * 200 + i)), merchant_id: "m\(i % 7)", status: "completed", amount_cents: i)
            }
            try await store.append(orders, to: "orders", durability: .none)
        }
        // sample: Lifecycle
        _ = try await store.runBatch(view: "revenue_hourly")
        try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4_096, archiveAfterMillis: 0, keepRawMillis: 0),
                                        for: "orders")
        try await store.setViewPolicy(ViewPolicy(keepGenerations: 2), for: "revenue_hourly")

        let plan = try await store.compact(dryRun: true)      // what a run would do; no file changes
        let report = try await store.compact()                // roll, archive to Parquet, delete raw, GC
        // report.streams[0].archivedEvents == 1000: the history now lives in the archive.

        // Batch runs and replays read archive and raw segments as one history.
        let replay = try await store.replayDrill(view: "revenue_hourly")   // replay.matchesPublished
        let check = await Store.verify(at: path)                             // check.isClean
        // end sample
        #expect(plan.dryRun && plan.streams[0].archivedEvents == report.streams[0].archivedEvents)
        #expect(report.rolled == 1)
        #expect(report.streams[0].archivedEvents == 1_000)
        #expect(report.streams[0].removedSegments >= 1)
        #expect(report.after.archive > 0 && report.after.raw < report.before.raw)
        #expect(replay.matchesPublished && replay.comparedWithPublished && replay.events == 1_000)
        #expect(check.isClean, "\(check.problems)")
        #expect(try await store.viewPolicy("revenue_hourly").keepGenerations == 2)
    }

    // MARK: - The samples are the ones shown

    /// Every ```swift block of the articles, and the example of `Store`'s doc comment, appears
    /// in this file line for line (leading and trailing spaces aside).
    @Test func everySampleIsHere() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let tests = try String(contentsOf: here, encoding: .utf8)
        let testLines = tests.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        func contains(_ block: [String]) -> Bool {
            let b = block.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let t = testLines.filter { !$0.isEmpty }
            guard !b.isEmpty, b.count <= t.count else { return b.isEmpty }
            return (0...(t.count - b.count)).contains { i in Array(t[i..<(i + b.count)]) == b }
        }
        /// The ```swift blocks of `text`, with `prefix` removed from each line first.
        func blocks(_ text: String, prefix: String = "") -> [[String]] {
            var out: [[String]] = []
            var current: [String]? = nil
            for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
                var line = String(raw)
                if !prefix.isEmpty {
                    let trimmed = line.drop { $0 == " " }
                    guard trimmed.hasPrefix(prefix) else { if current != nil { current = nil }; continue }
                    line = String(trimmed.dropFirst(prefix.count))
                    if line.hasPrefix(" ") { line.removeFirst() }
                }
                if current == nil, line.trimmingCharacters(in: .whitespaces) == "```swift" { current = []; continue }
                if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" { out.append(current!); current = nil; continue }
                current?.append(line)
            }
            return out
        }
        let catalog = root.appendingPathComponent("Sources/LambdaStore/LambdaStore.docc")
        let articles = try FileManager.default.contentsOfDirectory(atPath: catalog.path).filter { $0.hasSuffix(".md") }.sorted()
        #expect(articles.count >= 9)
        var checked = 0
        for name in articles {
            let text = try String(contentsOf: catalog.appendingPathComponent(name), encoding: .utf8)
            for block in blocks(text) {
                checked += 1
                #expect(contains(block), "a sample of \(name) is not in DocCSampleTests.swift:\n\(block.joined(separator: "\n"))")
            }
        }
        #expect(checked >= 8)
        let store = try String(contentsOf: root.appendingPathComponent("Sources/LambdaStore/Store.swift"), encoding: .utf8)
        let storeBlocks = blocks(store, prefix: "///")
        #expect(!storeBlocks.isEmpty)
        for block in storeBlocks {
            #expect(contains(block), "Store's doc-comment example is not in DocCSampleTests.swift:\n\(block.joined(separator: "\n"))")
        }
    }
}

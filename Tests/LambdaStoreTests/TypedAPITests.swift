import Foundation
import Testing
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport

/// The typed API (issue 13): Encodable appends and the row builder against hand-built
/// ColumnBatches, Swift-built views against their JSON form, typed reads against Store.query.
@Suite struct TypedAPITests {
    static let schema = Schema(stream: "orders", eventTime: "event_ts", fields: [
        Field(name: "event_ts", type: .timestamp),
        Field(name: "merchant_id", type: .string),
        Field(name: "status", type: .string, defaultValue: .string("completed")),
        Field(name: "amount_cents", type: .int64),
        Field(name: "rate", type: .float64, nullable: true),
        Field(name: "flag", type: .bool, nullable: true),
        Field(name: "note", type: .string, nullable: true),
    ])

    struct Order: Encodable, Equatable {
        var event_ts: Date
        var merchant_id: String
        var status: String?
        var amount_cents: Int64
        var rate: Double?
        var flag: Bool?
        var note: String?
    }

    /// The same order with its timestamp as epoch ms and a String-backed enum.
    enum Status: String, Codable { case completed, cancelled }
    struct MillisOrder: Encodable {
        var event_ts: Int64
        var merchant_id: String
        var status: Status
        var amount_cents: Int
    }

    static func openStore() async throws -> (Store, String) {
        let dir = makeTempDirectory("typed")
        let store = try await Store.open(at: dir)
        try await store.applySchema(schema)
        return (store, dir)
    }

    /// Every record of `stream`, as values.
    static func records(_ store: Store, _ stream: String = "orders") throws -> [[Value]] {
        let log = try store.streamLog(stream)
        var out: [[Value]] = []
        try log.forEachBatch(in: 0..<log.endOffset) { _, b in
            for r in 0..<b.count { out.append(b.columns.map { $0.value(at: r) }) }
        }
        return out
    }

    static func rows(_ b: ColumnBatch) -> [[Value]] {
        (0..<b.count).map { r in b.columns.map { $0.value(at: r) } }
    }

    /// The reference: the batch a careful caller builds column by column.
    static func referenceBatch(_ orders: [Order]) throws -> ColumnBatch {
        var b = ColumnBatch(schema: schema)
        for o in orders {
            // The orders are made from whole milliseconds: the nearest one is the instant's.
            b.columns[0].append(int: Int64((o.event_ts.timeIntervalSince1970 * 1000).rounded()))
            b.columns[1].append(string: o.merchant_id)
            b.columns[2].append(string: o.status ?? "completed")
            b.columns[3].append(int: o.amount_cents)
            try b.columns[4].append(o.rate.map { .float64($0) } ?? .null)
            try b.columns[5].append(o.flag.map { .bool($0) } ?? .null)
            try b.columns[6].append(o.note.map { .string($0) } ?? .null)
        }
        return b
    }

    static func randomOrders(_ rng: inout SplitMix64, _ n: Int) -> [Order] {
        (0..<n).map { _ in
            // Whole milliseconds over (most of) the supported range.
            let ms = Int64(bitPattern: rng.next() % 300_000_000_000_000) - 62_000_000_000_000
            return Order(event_ts: Date(timeIntervalSince1970: Double(ms) / 1000),
                         merchant_id: "m\(rng.next() % 100)" + (rng.next() % 7 == 0 ? "é✓" : ""),
                         status: rng.next() % 3 == 0 ? nil : (rng.next() % 2 == 0 ? "completed" : "cancelled"),
                         amount_cents: Int64(bitPattern: rng.next()),
                         rate: rng.next() % 4 == 0 ? nil : Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF),
                         flag: rng.next() % 3 == 0 ? nil : rng.next() % 2 == 0,
                         note: rng.next() % 2 == 0 ? nil : String(repeating: "n", count: Int(rng.next() % 20)))
        }
    }

    // MARK: Typed writes

    @Test func encodableAppendEqualsTheColumnBatch() async throws {
        let (store, dir) = try await Self.openStore()
        defer { store.close(); removeTree(dir) }
        var rng = SplitMix64(seed: 13)
        var expected: [[Value]] = []
        for round in 0..<20 {
            let orders = Self.randomOrders(&rng, 1 + Int(rng.next() % 300))
            let range = try await store.append(orders, to: "orders", durability: .none)
            #expect(range.count == orders.count, "round \(round)")
            expected += Self.rows(try Self.referenceBatch(orders))
        }
        let got = try Self.records(store)
        #expect(got.count == expected.count)
        for (i, (g, e)) in zip(got, expected).enumerated() where g != e {
            Issue.record("record \(i): \(g) != \(e)")
            break
        }
    }

    @Test func millisAndRawRepresentableFields() async throws {
        let (store, dir) = try await Self.openStore()
        defer { store.close(); removeTree(dir) }
        try await store.append([MillisOrder(event_ts: -1, merchant_id: "m", status: .cancelled, amount_cents: 7)], to: "orders")
        #expect(try Self.records(store) == [[.timestamp(-1), .string("m"), .string("cancelled"), .int64(7), .null, .null, .null]])
        let empty = try await store.append([MillisOrder](), to: "orders")
        #expect(empty == 1..<1)
    }

    /// Records of different types (different coding keys) in one append.
    @Test func mixedRecordTypesInOneAppend() async throws {
        let (store, dir) = try await Self.openStore()
        defer { store.close(); removeTree(dir) }
        let records = [AnyRecord(MillisOrder(event_ts: 1, merchant_id: "a", status: .completed, amount_cents: 1)),
                       AnyRecord(Order(event_ts: Date(timeIntervalSince1970: 0.002), merchant_id: "b", amount_cents: 2, flag: true)),
                       AnyRecord(MillisOrder(event_ts: 3, merchant_id: "c", status: .cancelled, amount_cents: 3))]
        try await store.append(records, to: "orders")
        #expect(try Self.records(store) == [
            [.timestamp(1), .string("a"), .string("completed"), .int64(1), .null, .null, .null],
            [.timestamp(2), .string("b"), .string("completed"), .int64(2), .null, .bool(true), .null],
            [.timestamp(3), .string("c"), .string("cancelled"), .int64(3), .null, .null, .null],
        ])
    }

    @Test func dateRoundsTowardNegativeInfinity() async throws {
        let (store, dir) = try await Self.openStore()
        defer { store.close(); removeTree(dir) }
        let dates = [Date(timeIntervalSince1970: -0.0005), Date(timeIntervalSince1970: 1.0015), Date(timeIntervalSince1970: 0.001),
                     Date(timeIntervalSince1970: -62_135_596_800), Date(timeIntervalSince1970: 253_402_300_799.999)]
        var b = try store.batchBuilder(for: "orders")
        for d in dates {
            try b.append { row in
                try row.set("event_ts", d); try row.set("merchant_id", "m"); try row.set("amount_cents", 1)
            }
        }
        try await store.append(dates.map { Order(event_ts: $0, merchant_id: "m", amount_cents: 1) }, to: "orders")
        try await store.append(b)
        let ts = try Self.records(store).map { $0[0] }
        let want: [Value] = [.timestamp(-1), .timestamp(1001), .timestamp(1), .timestamp(-62_135_596_800_000), .timestamp(253_402_300_799_999)]
        #expect(ts == want + want)
        // Every whole millisecond survives ms → Date → ms.
        var rng = SplitMix64(seed: 7)
        var orders: [Order] = []
        var msList: [Int64] = []
        for _ in 0..<2_000 {
            let ms = Int64(bitPattern: rng.next() % 300_000_000_000_000) - 62_000_000_000_000
            msList.append(ms)
            orders.append(Order(event_ts: Date(timeIntervalSince1970: Double(ms) / 1000), merchant_id: "m", amount_cents: 0))
        }
        try await store.append(orders, to: "orders")
        #expect(try Self.records(store).suffix(2_000).map { $0[0] } == msList.map { .timestamp($0) })
    }

    @Test func rowBuilderEqualsTheColumnBatch() async throws {
        let (store, dir) = try await Self.openStore()
        defer { store.close(); removeTree(dir) }
        var rng = SplitMix64(seed: 99)
        let orders = Self.randomOrders(&rng, 500)
        var b = try store.batchBuilder(for: "orders")
        for o in orders {
            try b.append { row in
                try row.set("event_ts", o.event_ts)
                try row.set("merchant_id", o.merchant_id)
                if let s = o.status { try row.set("status", s) }
                try row.set("amount_cents", o.amount_cents)
                if let r = o.rate { try row.set("rate", r) } else { try row.setNull("rate") }
                if let f = o.flag { try row.set("flag", f) }
                try row.set("note", o.note.map { Value.string($0) } ?? .null)
            }
        }
        #expect(b.count == 500)
        #expect(Self.rows(b.batch) == Self.rows(try Self.referenceBatch(orders)))
        try await store.append(b, durability: .none)
        #expect(try Self.records(store) == Self.rows(try Self.referenceBatch(orders)))
    }

    /// Runs `body` expecting a LambdaStoreError of `code` whose message names `name`.
    static func expectError(_ code: LambdaStoreError.Code, naming name: String, _ body: () async throws -> Void,
                            sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await body()
            Issue.record("no error (expected one naming '\(name)')", sourceLocation: sourceLocation)
        } catch let e as LambdaStoreError {
            #expect(e.code == code, "\(e)", sourceLocation: sourceLocation)
            #expect(e.message.contains("'\(name)'"), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    struct Extra: Encodable { var event_ts: Int64 = 0; var merchant_id = "m"; var amount_cents = 1; var colour = "red" }
    struct WrongType: Encodable { var event_ts: Int64 = 0; var merchant_id = 5; var amount_cents = 1 }
    struct Missing: Encodable { var event_ts: Int64 = 0; var merchant_id = "m" }
    struct Big: Encodable { var event_ts: Int64 = 0; var merchant_id = "m"; var amount_cents = UInt64.max }
    struct FarDate: Encodable { var event_ts = Date(timeIntervalSince1970: 1e15); var merchant_id = "m"; var amount_cents = 1 }
    struct FarMillis: Encodable { var event_ts = Int64.max; var merchant_id = "m"; var amount_cents = 1 }
    struct DoubleIntoInt: Encodable { var event_ts: Int64 = 0; var merchant_id = "m"; var amount_cents = 1.5 }
    struct Nested: Encodable { var event_ts: Int64 = 0; var merchant_id = ["a": "b"]; var amount_cents = 1 }
    struct ArrayField: Encodable { var event_ts: Int64 = 0; var merchant_id = "m"; var amount_cents = [1, 2] }
    struct ExplicitNil: Encodable {
        func encode(to encoder: any Encoder) throws {
            enum K: String, CodingKey { case event_ts, merchant_id, amount_cents }
            var c = encoder.container(keyedBy: K.self)
            try c.encode(Int64(0), forKey: .event_ts)
            try c.encodeNil(forKey: .merchant_id)
            try c.encode(1, forKey: .amount_cents)
        }
    }
    struct Twice: Encodable {
        func encode(to encoder: any Encoder) throws {
            enum K: String, CodingKey { case event_ts, merchant_id, amount_cents }
            var c = encoder.container(keyedBy: K.self)
            try c.encode(Int64(0), forKey: .event_ts)
            try c.encode("a", forKey: .merchant_id)
            try c.encode("b", forKey: .merchant_id)
            try c.encode(1, forKey: .amount_cents)
        }
    }

    @Test func encodableErrorsNameTheField() async throws {
        let (store, dir) = try await Self.openStore()
        defer { store.close(); removeTree(dir) }
        await Self.expectError(.schema, naming: "colour") { try await store.append([Extra()], to: "orders") }
        await Self.expectError(.schema, naming: "merchant_id") { try await store.append([WrongType()], to: "orders") }
        await Self.expectError(.schema, naming: "amount_cents") { try await store.append([Missing()], to: "orders") }
        await Self.expectError(.schema, naming: "amount_cents") { try await store.append([Big()], to: "orders") }
        await Self.expectError(.schema, naming: "event_ts") { try await store.append([FarDate()], to: "orders") }
        await Self.expectError(.schema, naming: "event_ts") { try await store.append([FarMillis()], to: "orders") }
        await Self.expectError(.schema, naming: "amount_cents") { try await store.append([DoubleIntoInt()], to: "orders") }
        await Self.expectError(.schema, naming: "merchant_id") { try await store.append([Nested()], to: "orders") }
        await Self.expectError(.schema, naming: "amount_cents") { try await store.append([ArrayField()], to: "orders") }
        await Self.expectError(.schema, naming: "merchant_id") { try await store.append([ExplicitNil()], to: "orders") }
        await Self.expectError(.schema, naming: "merchant_id") { try await store.append([Twice()], to: "orders") }
        // An unkeyed record and a failing record after good ones: nothing is appended.
        await Self.expectError(.schema, naming: "colour") {
            try await store.append([Extra(colour: "x")].map { $0 }, to: "orders")
        }
        do {
            try await store.append([[1, 2]], to: "orders")
            Issue.record("an array record was accepted")
        } catch {
            let e = error
            #expect(e.code == .schema && e.message.contains("unkeyed"), "\(e)")
        }
        do {
            try await store.append([Missing(), Missing()].enumerated().map { i, m in i == 0 ? Extra() as any Encodable & Sendable : m }.map(AnyRecord.init), to: "orders")
        } catch {
            let e = error
            #expect(e.message.hasPrefix("record 0: "), "\(e)")
        }
        #expect(try Self.records(store).isEmpty)
        await Self.expectError(.notFound, naming: "nope") { try await store.append([Missing()], to: "nope") }
    }

    struct AnyRecord: Encodable, Sendable {
        let base: any Encodable & Sendable
        init(_ base: any Encodable & Sendable) { self.base = base }
        func encode(to encoder: any Encoder) throws { try base.encode(to: encoder) }
    }

    @Test func rowBuilderErrorsNameTheFieldAndKeepTheBuilder() async throws {
        let (store, dir) = try await Self.openStore()
        defer { store.close(); removeTree(dir) }
        var b = try store.batchBuilder(for: "orders")
        await Self.expectError(.schema, naming: "colour") { try b.append { row in try row.set("colour", "red") } }
        await Self.expectError(.schema, naming: "merchant_id") { try b.append { row in try row.set("merchant_id", 5) } }
        await Self.expectError(.schema, naming: "amount_cents") { try b.append { row in try row.set("amount_cents", 1.5) } }
        await Self.expectError(.schema, naming: "flag") { try b.append { row in try row.set("flag", "yes") } }
        await Self.expectError(.schema, naming: "merchant_id") { try b.append { row in try row.setNull("merchant_id") } }
        await Self.expectError(.schema, naming: "event_ts") { try b.append { row in try row.set("event_ts", Date(timeIntervalSince1970: -1e14)) } }
        await Self.expectError(.schema, naming: "event_ts") { try b.append { row in try row.set("event_ts", Int64.min) } }
        await Self.expectError(.schema, naming: "event_ts") { try b.append { row in try row.set("event_ts", Value.int64(5)) } }
        await Self.expectError(.schema, naming: "amount_cents") {
            try b.append { row in try row.set("event_ts", 0); try row.set("merchant_id", "m") }
        }
        #expect(b.count == 0)
        try b.append { row in try row.set("event_ts", 5); try row.set("merchant_id", "m"); try row.set("amount_cents", 2) }
        #expect(Self.rows(b.batch) == [[.timestamp(5), .string("m"), .string("completed"), .int64(2), .null, .null, .null]])
        await Self.expectError(.notFound, naming: "nope") { _ = try store.batchBuilder(for: "nope") }
    }

    // MARK: Views in Swift

    @Test func swiftViewsEqualTheirJSONForm() throws {
        let cases: [(String, ViewDefinition)] = [
            (#"{"name":"revenue_hourly","stream":"orders","filter":"status = 'completed'","groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"10m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"}]}"#,
             try ViewDefinition(name: "revenue_hourly", stream: "orders", filter: "status = 'completed'", groupBy: ["merchant_id"],
                                window: .tumbling(field: "event_ts", size: .hours(1)), allowedLateness: .minutes(10),
                                aggregates: [.sum("amount_cents", as: "revenue"), .count(as: "orders")])),
            (#"{"name":"h","stream":"orders","groupBy":["merchant_id","status"],"window":{"type":"hopping","field":"event_ts","size":"1d","slide":"6h"},"allowedLateness":1500,"aggregates":[{"name":"lo","fn":"min","field":"amount_cents"},{"name":"hi","fn":"max","field":"amount_cents"},{"name":"mean","fn":"avg","field":"rate"},{"name":"d","fn":"count_distinct","field":"merchant_id"},{"name":"nn","fn":"count","field":"note"}],"drift":{"warn":0.01,"critical":0.05}}"#,
             try ViewDefinition(name: "h", stream: "orders", groupBy: ["merchant_id", "status"],
                                window: .hopping(field: "event_ts", size: .days(1), slide: .hours(6)), allowedLateness: .milliseconds(1500),
                                aggregates: [.min("amount_cents", as: "lo"), .max("amount_cents", as: "hi"), .avg("rate", as: "mean"),
                                             .countDistinct("merchant_id", as: "d"), .count("note", as: "nn")],
                                drift: DriftThresholds(warn: 0.01, critical: 0.05))),
            (#"{"name":"all","stream":"orders","aggregates":[{"name":"n","fn":"count"}]}"#,
             try ViewDefinition(name: "all", stream: "orders", allowedLateness: .seconds(0), aggregates: [.count(as: "n")])),
            (#"{"name":"f","stream":"orders","filter":"amount_cents >= 100 AND (flag = true OR note IS NULL)","window":{"type":"none"},"allowedLateness":"2s","aggregates":[{"name":"s","fn":"sum","field":"rate"}]}"#,
             try ViewDefinition(name: "f", stream: "orders", filter: "amount_cents >= 100 AND (flag = true OR note IS NULL)", window: .none,
                                allowedLateness: .seconds(2), aggregates: [.sum("rate", as: "s")])),
            (#"{"name":"t","stream":"orders","window":{"type":"tumbling","field":"event_ts","size":90000},"aggregates":[{"name":"n","fn":"count"}]}"#,
             try ViewDefinition(name: "t", stream: "orders", window: .tumbling(field: "event_ts", size: .seconds(90)),
                                allowedLateness: .milliseconds(0), aggregates: [.count(as: "n")])),
        ]
        var fingerprints = Set<String>()
        for (json, built) in cases {
            let parsed = try ViewDefinition.parse(json: json)
            #expect(parsed == built, "\(json)")
            #expect(parsed.canonicalForm == built.canonicalForm)
            #expect(parsed.fingerprint == built.fingerprint)
            #expect(try ViewDefinition.parse(json: built.toJSON()) == built)
            fingerprints.insert(built.fingerprint)
        }
        #expect(fingerprints.count == cases.count)
        // The memberwise form in milliseconds, validated, is the same definition.
        #expect(try ViewDefinition(name: "all", stream: "orders", aggregates: [.count(as: "n")]).validated() == cases[2].1)
        #expect(ViewInterval.hours(1).description == "1h" && ViewInterval.milliseconds(1500).description == "1500ms")
    }

    @Test func swiftViewsValidateAsTheJSONFormDoes() throws {
        let pairs: [(String, () throws -> ViewDefinition)] = [
            (#"{"name":"v","stream":"orders","window":{"type":"hopping","field":"event_ts","size":"1h","slide":"2h"},"aggregates":[{"name":"n","fn":"count"}]}"#,
             { try ViewDefinition(name: "v", stream: "orders", window: .hopping(field: "event_ts", size: .hours(1), slide: .hours(2)), allowedLateness: .seconds(0), aggregates: [.count(as: "n")]) }),
            (#"{"name":"v","stream":"orders","aggregates":[{"name":"n","fn":"count"},{"name":"n","fn":"sum","field":"x"}]}"#,
             { try ViewDefinition(name: "v", stream: "orders", allowedLateness: .seconds(0), aggregates: [.count(as: "n"), .sum("x", as: "n")]) }),
            (#"{"name":"v","stream":"orders","filter":"a = = 1","aggregates":[{"name":"n","fn":"count"}]}"#,
             { try ViewDefinition(name: "v", stream: "orders", filter: "a = = 1", allowedLateness: .seconds(0), aggregates: [.count(as: "n")]) }),
            (#"{"name":"v","stream":"orders","aggregates":[]}"#,
             { try ViewDefinition(name: "v", stream: "orders", allowedLateness: .seconds(0), aggregates: []) }),
            (#"{"name":"v","stream":"orders","groupBy":["window_start"],"aggregates":[{"name":"n","fn":"count"}]}"#,
             { try ViewDefinition(name: "v", stream: "orders", groupBy: ["window_start"], allowedLateness: .seconds(0), aggregates: [.count(as: "n")]) }),
        ]
        for (json, build) in pairs {
            var jsonError: LambdaStoreError? = nil, swiftError: LambdaStoreError? = nil
            do { _ = try ViewDefinition.parse(json: json) } catch { jsonError = error }
            do { _ = try build() } catch let e as LambdaStoreError { swiftError = e }
            #expect(jsonError != nil && jsonError == swiftError, "\(json): \(String(describing: jsonError)) vs \(String(describing: swiftError))")
        }
        // A negative lateness is rejected by key path (JSON cannot even write one).
        #expect(throws: LambdaStoreError.self) {
            _ = try ViewDefinition(name: "v", stream: "orders", allowedLateness: .minutes(-1), aggregates: [.count(as: "n")])
        }
    }

    // MARK: Typed reads

    struct RevenueRow: Decodable, Equatable {
        var window_start: Date
        var window_end: Date?
        var merchant_id: String
        var revenue: Int64?
        var orders: Int
        var mean: Double?
        var source: String
    }

    enum Source: String, Decodable { case batch, speed, merged }
    struct WithEnum: Decodable { var source: Source; var orders: Int64; var missing: String? }
    struct NeedsMissing: Decodable { var nope: Int }
    struct WrongColumnType: Decodable { var merchant_id: Int }

    @Test func typedQueriesMatchStoreQuery() async throws {
        let (store, dir) = try await Self.openStore()
        defer { store.close(); removeTree(dir) }
        try await store.createView(try ViewDefinition(
            name: "revenue_hourly", stream: "orders", filter: "status = 'completed'", groupBy: ["merchant_id"],
            window: .tumbling(field: "event_ts", size: .hours(1)), allowedLateness: .minutes(10),
            aggregates: [.sum("amount_cents", as: "revenue"), .count(as: "orders"), .avg("rate", as: "mean")]))
        var rng = SplitMix64(seed: 5)
        let t0: Int64 = 1_767_225_600_000
        func orders(_ n: Int, _ base: Int64) -> [Order] {
            (0..<n).map { i in
                Order(event_ts: Date(timeIntervalSince1970: Double(base + Int64(i) * 37_000) / 1000), merchant_id: "m\(rng.next() % 4)",
                      status: rng.next() % 5 == 0 ? "cancelled" : nil, amount_cents: Int64(rng.next() % 10_000),
                      rate: rng.next() % 3 == 0 ? nil : Double(rng.next() % 100) / 8)
            }
        }
        try await store.append(orders(400, t0), to: "orders")
        _ = try await store.runBatch(view: "revenue_hourly")
        try await store.append(orders(200, t0 + 4 * 3_600_000), to: "orders")

        func check(_ keys: [String: QueryKeyValue], _ from: Int64?, _ to: Int64?) async throws {
            let raw = try await store.query(QueryRequest(view: "revenue_hourly", keys: keys.map { ($0.key, $0.value.value.description) }, from: from, to: to))
            let typed = try await store.query(view: "revenue_hourly", keys: keys, fromMillis: from, toMillis: to)
            let byDate = try await store.query(view: "revenue_hourly", keys: keys,
                                         from: from.map { Date(timeIntervalSince1970: Double($0) / 1000) }, to: to.map { Date(timeIntervalSince1970: Double($0) / 1000) })
            #expect(typed.result.rows == raw.rows && byDate.result.rows == raw.rows)
            #expect(typed.fingerprint == raw.fingerprint && typed.horizon == raw.horizon)
            #expect(typed.count == raw.rows.count)
            let decoded = try typed.decode(RevenueRow.self)
            for (d, r) in zip(decoded, raw.rows) {
                let want = RevenueRow(window_start: Date(timeIntervalSince1970: Double(r.windowStart!) / 1000),
                                      window_end: Date(timeIntervalSince1970: Double(r.windowEnd!) / 1000),
                                      merchant_id: { if case .string(let s) = r.key[0] { s } else { "?" } }(),
                                      revenue: { if case .int64(let x) = r.values[0] { x } else { nil } }(),
                                      orders: { if case .int64(let x) = r.values[1] { Int(x) } else { -1 } }(),
                                      mean: { if case .float64(let x) = r.values[2] { x } else { nil } }(),
                                      source: r.source.rawValue)
                #expect(d == want)
            }
            for (row, r) in zip(typed, raw.rows) {
                #expect(row.source == r.source)
                #expect(try row.int("window_start") == r.windowStart)
                #expect(try row.date("window_end") == r.windowEnd.map { Date(timeIntervalSince1970: Double($0) / 1000) })
                #expect(row["merchant_id"] == r.key[0] && row["revenue"] == r.values[0] && row["mean"] == r.values[2])
                #expect(try row.int("orders") == { if case .int64(let x) = r.values[1] { x } else { nil } }())
                #expect(row["nope"] == nil)
                #expect(try row.decode(WithEnum.self).source.rawValue == r.source.rawValue)
            }
        }
        try await check([:], nil, nil)
        try await check(["merchant_id": "m1"], nil, nil)
        try await check(["merchant_id": "m2"], t0 + 3_600_000, t0 + 5 * 3_600_000)
        try await check([:], t0 + 4 * 3_600_000, nil)
        try await check([:], nil, t0)
        let sources = Set(try await store.query(view: "revenue_hourly").map(\.source))
        #expect(sources.contains(.batch) && sources.contains(.speed))

        await Self.expectError(.invalidArgument, naming: "status") { _ = try await store.query(view: "revenue_hourly", keys: ["status": "x"]) }
        await Self.expectError(.invalidArgument, naming: "merchant_id") { _ = try await store.query(view: "revenue_hourly", keys: ["merchant_id": 5]) }
        let answer = try await store.query(view: "revenue_hourly")
        let row = try #require(answer.first)
        await Self.expectError(.invalidArgument, naming: "nope") { _ = try row.int("nope") }
        await Self.expectError(.schema, naming: "merchant_id") { _ = try row.int("merchant_id") }
        await Self.expectError(.invalidArgument, naming: "nope") { _ = try answer.decode(NeedsMissing.self) }
        await Self.expectError(.schema, naming: "merchant_id") { _ = try answer.decode(WrongColumnType.self) }
        await Self.expectError(.notFound, naming: "nope") { _ = try await store.query(view: "nope") }
    }
}

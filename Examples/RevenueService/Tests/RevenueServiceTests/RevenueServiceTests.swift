import AsyncHTTPClient
import Foundation
import Hummingbird
import LambdaStore
import RevenueServiceCore
import Testing

/// End to end: the service on 127.0.0.1 (port 0, the bound port read from `onServerRunning`),
/// driven over HTTP by AsyncHTTPClient, its answers compared with sums computed here.
@Suite(.serialized)
struct RevenueServiceTests {
    @Test func ingestQueryBatchDriftMetrics() async throws {
        try await withRunningService(batchInterval: nil) { http in
            // 3 hours of orders of 3 merchants, in event-time order (so none is late).
            let orders = Fixture.orders(count: 90, start: Fixture.t0)
            let ingest: IngestBody = try await http.postJSON("/streams/orders", body: Fixture.jsonLines(orders))
            #expect(ingest.appended == Int64(orders.count))
            #expect(ingest.firstOffset == 0)
            #expect(ingest.lastOffset == Int64(orders.count) - 1)

            // A bad line: 400 naming the line and the field, and nothing appended.
            let bad = Fixture.jsonLines(Array(orders.prefix(1))) + #"{"event_ts":"2026-01-01T01:00:00Z","merchant_id":"m1","status":"completed","amount_cents":"12.50"}"# + "\n"
            let rejected = try await http.request("/streams/orders", method: .POST, body: bad)
            #expect(rejected.status == 400)
            let error = try JSONDecoder().decode(ErrorBody.self, from: rejected.body)
            #expect(error.error.contains("line 2"), "\(error.error)")
            #expect(error.error.contains("amount_cents"), "\(error.error)")

            // Before any batch: the speed layer answers, fresh, and equals the naive sum.
            let truth = Fixture.revenueByMerchantHour(orders)
            let from = "2026-01-01T00:00:00Z", to = String(Fixture.t0Millis + 86_400_000)
            var fingerprint = ""
            for merchant in Fixture.merchants {
                let answer: QueryBody = try await http.getJSON("/views/revenue_hourly?key=\(merchant)&from=\(from)&to=\(to)")
                #expect(answer.horizon == 0)
                #expect(answer.rows.allSatisfy { $0.source == "speed" && $0.merchant_id == merchant })
                #expect(answer.cells == truth.filter { $0.key.merchant == merchant }, "\(merchant)")
                fingerprint = answer.fingerprint
            }
            #expect(!fingerprint.isEmpty)

            // A batch now: the same numbers, from the batch layer, at the new horizon.
            let batch: BatchBody = try await http.postJSON("/admin/batch", body: "")
            #expect(batch.views.map(\.view) == ["revenue_hourly"])
            #expect(batch.views.first?.horizon == Int64(orders.count))
            for merchant in Fixture.merchants {
                let answer: QueryBody = try await http.getJSON("/views/revenue_hourly?key=\(merchant)&from=\(from)&to=\(to)")
                #expect(answer.horizon == Int64(orders.count))
                #expect(answer.fingerprint == fingerprint)
                #expect(answer.rows.allSatisfy { $0.source == "batch" })
                #expect(answer.cells == truth.filter { $0.key.merchant == merchant }, "\(merchant)")
            }

            // One more order in the last hour: that cell is now batch ⊕ speed ("merged").
            let last = try #require(orders.last)
            let extra = Order(event_ts: last.event_ts + 1_000, merchant_id: "m1", status: "completed", amount_cents: 4_321)
            let more: IngestBody = try await http.postJSON("/streams/orders", body: Fixture.jsonLines([extra]))
            #expect(more.firstOffset == Int64(orders.count))
            let all = orders + [extra]
            let answer: QueryBody = try await http.getJSON("/views/revenue_hourly?key=m1&from=\(Fixture.t0Millis)")
            #expect(answer.cells == Fixture.revenueByMerchantHour(all).filter { $0.key.merchant == "m1" })
            let hour = extra.event_ts - extra.event_ts % 3_600_000
            #expect(answer.rows.first { $0.window_start == hour }?.source == "merged")
            #expect(answer.rows.filter { $0.window_start != hour }.allSatisfy { $0.source == "batch" })

            // The drift report of the publish: nothing was late, so nothing differs.
            let drift: DriftBody = try await http.getJSON("/drift?view=revenue_hourly")
            let report = try #require(drift.views.first?.reports.first)
            #expect(report.toHorizon == Int64(orders.count))
            #expect(report.fromHorizon == 0)
            #expect(report.cellsCompared > 0)
            #expect(report.cellsDiffering == 0)
            #expect(report.status == "ok")

            // /metrics in the Prometheus text format, with the library's metrics in it.
            let scrape = try await http.request("/metrics", method: .GET)
            #expect(scrape.status == 200)
            #expect(scrape.contentType?.hasPrefix("text/plain") == true)
            let text = String(decoding: scrape.body, as: UTF8.self)
            let metrics = try PrometheusText.parse(text)
            #expect(text.contains("# TYPE lambdastore_append_events counter"))
            // Process-wide counters: other tests of this process may have appended too.
            let appended = try #require(metrics[#"lambdastore_append_events{stream="orders"}"#])
            #expect(appended >= Double(all.count))
            let scanned = try #require(metrics[#"lambdastore_batch_events{view="revenue_hourly"}"#])
            #expect(scanned >= Double(orders.count))
            let divergence = try #require(metrics[#"lambdastore_drift_divergence_rate{view="revenue_hourly"}"#])
            #expect(divergence >= 0 && divergence <= 1)
            #expect(metrics[#"lambdastore_batch_seconds_count{view="revenue_hourly"}"#].map { $0 >= 1 } == true)

            // Errors name what is wrong.
            #expect(try await http.request("/views/nope", method: .GET).status == 404)
            #expect(try await http.request("/views/revenue_hourly?from=yesterday", method: .GET).status == 400)
            #expect(try await http.request("/streams/orders", method: .POST, body: "").status == 400)
        }
    }

    @Test func scheduledBatchesAdvanceTheHorizon() async throws {
        try await withRunningService(batchInterval: .milliseconds(200)) { http in
            let orders = Fixture.orders(count: 12, start: Fixture.t0)
            let _: IngestBody = try await http.postJSON("/streams/orders", body: Fixture.jsonLines(orders))
            let deadline = ContinuousClock.now + .seconds(30)
            var answer: QueryBody = try await http.getJSON("/views/revenue_hourly")
            while answer.horizon < Int64(orders.count), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                answer = try await http.getJSON("/views/revenue_hourly")
            }
            #expect(answer.horizon == Int64(orders.count))
            #expect(answer.rows.allSatisfy { $0.source == "batch" })
            #expect(answer.cells == Fixture.revenueByMerchantHour(orders))
        }
    }
}

/// Starts a service on 127.0.0.1 with a fresh store, runs `body` against it, then shuts it
/// down gracefully and closes the store; the service group's own error, if any, fails the test.
func withRunningService(batchInterval: Duration?, _ body: (HTTP) async throws -> Void) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("revenue-service-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let service = try await RevenueService(configuration: RevenueServiceConfiguration(
        storePath: dir, host: "127.0.0.1", port: 0, batchInterval: batchInterval))
    defer { service.close() }
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let group = service.makeServiceGroup { port in continuation.yield(port) }
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        #expect(port > 0)
        do {
            try await body(HTTP(base: "http://127.0.0.1:\(port)"))
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// A small JSON-over-HTTP client on `HTTPClient.shared`.
struct HTTP {
    let base: String

    enum Method { case GET, POST }

    struct Reply {
        var status: UInt
        var contentType: String?
        var body: Data
    }

    func request(_ path: String, method: Method, body: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        switch method {
        case .GET: request.method = .GET
        case .POST: request.method = .POST
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/x-ndjson")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return Reply(status: response.status.code, contentType: response.headers.first(name: "Content-Type"),
                     body: Data(bytes.readableBytesView))
    }

    /// GET, expecting 200 and JSON of type `T`.
    func getJSON<T: Decodable>(_ path: String) async throws -> T {
        try decode(try await request(path, method: .GET), path)
    }

    /// POST `body`, expecting 200 and JSON of type `T`.
    func postJSON<T: Decodable>(_ path: String, body: String) async throws -> T {
        try decode(try await request(path, method: .POST, body: body), path)
    }

    func decode<T: Decodable>(_ reply: Reply, _ path: String) throws -> T {
        let text = String(decoding: reply.body, as: UTF8.self)
        try #require(reply.status == 200, "\(path): HTTP \(reply.status): \(text)")
        return try JSONDecoder().decode(T.self, from: reply.body)
    }
}

/// The Prometheus text exposition format: `name{labels} value [timestamp]` per sample line,
/// `#` comments; keyed by `name{labels}` exactly as written.
enum PrometheusText {
    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() where !line.hasPrefix("#") {
            // Label values may hold spaces: the series ends at the closing brace when there is one.
            let seriesEnd = line.lastIndex(of: "}").map { line.index(after: $0) } ?? line.firstIndex(of: " ") ?? line.endIndex
            let series = String(line[..<seriesEnd])
            let rest = line[seriesEnd...].split(separator: " ")
            guard let first = rest.first else { throw ParseError(description: "line \(n + 1): no value: \(line)") }
            let value: Double? = switch first {
            case "+Inf": .infinity
            case "-Inf": -.infinity
            case "NaN": .nan
            default: Double(first)
            }
            guard let value, series.first?.isLetter == true || series.first == "_" else {
                throw ParseError(description: "line \(n + 1): not a sample: \(line)")
            }
            samples[series] = value
        }
        return samples
    }
}

/// One order, as sent (event time in epoch ms) and as the naive sum reads it.
struct Order: Encodable {
    var event_ts: Int64
    var merchant_id: String
    var status: String
    var amount_cents: Int64
}

struct CellKey: Hashable {
    var merchant: String
    var hour: Int64
}

struct Cell: Hashable {
    var revenue: Int64
    var orders: Int64
}

enum Fixture {
    static let t0Millis: Int64 = 1_767_225_600_000   // 2026-01-01T00:00:00Z
    static let t0 = t0Millis
    static let merchants = ["m1", "m2", "m3"]

    /// `count` orders, 2 minutes apart from `start`, merchants and statuses in a fixed
    /// pseudo-random pattern (every fourth one cancelled), amounts from a linear congruence.
    static func orders(count: Int, start: Int64) -> [Order] {
        var seed: UInt64 = 42
        return (0..<count).map { i in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Order(event_ts: start + Int64(i) * 120_000, merchant_id: merchants[Int(seed >> 33) % merchants.count],
                         status: i % 4 == 3 ? "cancelled" : "completed", amount_cents: Int64(100 + (seed >> 40) % 10_000))
        }
    }

    /// Odd lines use ISO-8601 event times, even ones epoch ms (both are accepted).
    static func jsonLines(_ orders: [Order]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return orders.enumerated().map { i, o in
            if i % 2 == 0, let data = try? encoder.encode(o) { return String(decoding: data, as: UTF8.self) }
            let iso = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(o.event_ts) / 1000))
            return #"{"event_ts":"\#(iso)","merchant_id":"\#(o.merchant_id)","status":"\#(o.status)","amount_cents":\#(o.amount_cents)}"#
        }.joined(separator: "\n") + "\n"
    }

    /// The naive truth of `revenue_hourly`: completed orders, per merchant and hour.
    static func revenueByMerchantHour(_ orders: [Order]) -> [CellKey: Cell] {
        var out: [CellKey: Cell] = [:]
        for o in orders where o.status == "completed" {
            let key = CellKey(merchant: o.merchant_id, hour: o.event_ts - o.event_ts % 3_600_000)
            out[key, default: Cell(revenue: 0, orders: 0)].revenue += o.amount_cents
            out[key, default: Cell(revenue: 0, orders: 0)].orders += 1
        }
        return out
    }
}

struct IngestBody: Decodable {
    var appended: Int64
    var firstOffset: Int64
    var lastOffset: Int64
}

struct ErrorBody: Decodable {
    var error: String
}

struct QueryBody: Decodable {
    struct Row: Decodable {
        var window_start: Int64
        var window_end: Int64
        var merchant_id: String
        var revenue: Int64
        var orders: Int64
        var source: String
    }
    var fingerprint: String
    var horizon: Int64
    var rows: [Row]

    var cells: [CellKey: Cell] {
        Dictionary(rows.map { (CellKey(merchant: $0.merchant_id, hour: $0.window_start), Cell(revenue: $0.revenue, orders: $0.orders)) },
                   uniquingKeysWith: { a, _ in a })
    }
}

struct BatchBody: Decodable {
    struct Summary: Decodable {
        var view: String
        var horizon: Int64
    }
    var views: [Summary]
}

struct DriftBody: Decodable {
    struct ViewReports: Decodable {
        var view: String
        var reports: [Report]
    }
    struct Report: Decodable {
        var cellsCompared: Int64
        var cellsDiffering: Int64
        var fromHorizon: Int64
        var toHorizon: Int64
        var status: String
    }
    var views: [ViewReports]
}

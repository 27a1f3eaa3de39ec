// A complete LambdaStore program: open a store, define a stream and a view, append events,
// read the fresh (speed) answer, run a batch, read the authoritative answer and the drift report.
// Typed throughout: records are Swift values, the view is built in Swift, answers decode
// into Swift types.
//
//   swift run QuickStart /tmp/quickstart-store
import Foundation
import LambdaStore

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

let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "/tmp/lambdastore-quickstart-\(Store.nowMillis())"
let store = try await Store.open(at: path)
defer { store.close() }

try await store.applySchema(Schema(stream: "orders", eventTime: "event_ts", fields: [
    Field(name: "event_ts", type: .timestamp),
    Field(name: "merchant_id", type: .string),
    Field(name: "status", type: .string),
    Field(name: "amount_cents", type: .int64),
]))
try await store.createView(ViewDefinition(
    name: "revenue_hourly", stream: "orders", filter: "status = 'completed'", groupBy: ["merchant_id"],
    window: .tumbling(field: "event_ts", size: .hours(1)), allowedLateness: .minutes(10),
    aggregates: [.sum("amount_cents", as: "revenue"), .count(as: "orders")]))

// Append events as Swift values (fields matched by name, checked against the schema).
let t0 = Date(timeIntervalSince1970: 1_767_225_600)   // 2026-01-01T00:00:00Z
let orders = ["m1", "m2", "m1"].enumerated().map { i, merchant in
    Order(event_ts: t0.addingTimeInterval(Double(i) * 60), merchant_id: merchant, status: "completed", amount_cents: 1_000 * (i + 1))
}
try await store.append(orders, to: "orders", durability: .sync)

// Or record by record, by field name.
var builder = try store.batchBuilder(for: "orders")
try builder.append { row in
    try row.set("event_ts", t0.addingTimeInterval(300))
    try row.set("merchant_id", "m2")
    try row.set("status", "cancelled")
    try row.set("amount_cents", 500)
}
try await store.append(builder, durability: .sync)

for row in try await store.query(view: "revenue_hourly") {
    print("fresh:", try row.string("merchant_id") ?? "", try row.int("revenue") ?? 0, row.source)   // source: speed
}
let summary = try await store.runBatch(view: "revenue_hourly")
print("batch published horizon \(summary.horizon) in \(summary.seconds) s")
let answer = try await store.query(view: "revenue_hourly", keys: ["merchant_id": "m1"], from: t0, to: t0.addingTimeInterval(86_400))
for hour in try answer.decode(RevenueHour.self) {
    print("authoritative:", hour.window_start, hour.merchant_id, hour.revenue, hour.orders, hour.source)   // source: batch
}
print("fingerprint:", answer.fingerprint)
if let drift = try await store.driftReports(view: "revenue_hourly").first {
    print("drift:", drift.status, "\(drift.cellsDiffering)/\(drift.cellsCompared) cells differ")
}

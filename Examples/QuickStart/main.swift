// A complete LambdaStore program: open a store, define a stream and a view, append events,
// read the fresh (speed) answer, run a batch, read the authoritative answer and the drift report.
//
//   swift run QuickStart /tmp/quickstart-store
import LambdaStore

let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "/tmp/lambdastore-quickstart-\(Store.nowMillis())"
let store = try Store.open(at: path)
defer { store.close() }

try store.applySchema(Schema(stream: "orders", eventTime: "event_ts", fields: [
    Field(name: "event_ts", type: .timestamp),
    Field(name: "merchant_id", type: .string),
    Field(name: "status", type: .string),
    Field(name: "amount_cents", type: .int64),
]))
try await store.createView(ViewDefinition.parse(json: Array("""
    {"name":"revenue_hourly","stream":"orders","filter":"status = 'completed'","groupBy":["merchant_id"],
     "window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"10m",
     "aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"}]}
    """.utf8)))

// Append a batch of events (columnar: one column per field, in schema order).
var batch = ColumnBatch(schema: try store.schema(of: "orders"))
let t0: Int64 = 1_767_225_600_000   // 2026-01-01T00:00:00Z
for (i, merchant) in ["m1", "m2", "m1"].enumerated() {
    batch.columns[0].append(int: t0 + Int64(i) * 60_000)
    batch.columns[1].append(string: merchant)
    batch.columns[2].append(string: "completed")
    batch.columns[3].append(int: 1_000 * Int64(i + 1))
}
try await store.append(batch, to: "orders", durability: .sync)

for row in try store.query(QueryRequest(view: "revenue_hourly")).rows {
    print("fresh:", row.key, row.values, row.source)          // source: speed
}
let summary = try await store.runBatch(view: "revenue_hourly")
print("batch published horizon \(summary.horizon) in \(summary.seconds) s")
for row in try store.query(QueryRequest(view: "revenue_hourly", keys: [(nil, "m1")])).rows {
    print("authoritative:", row.key, row.values, row.source)  // source: batch
}
if let drift = try store.driftReports(view: "revenue_hourly").first {
    print("drift:", drift.status, "\(drift.cellsDiffering)/\(drift.cellsCompared) cells differ")
}

import Foundation
import LambdaStoreTestSupport
import Testing

let schemaJSON = """
{"stream":"orders","eventTime":"event_ts","fields":[{"name":"event_ts","type":"timestamp"},
{"name":"merchant_id","type":"string"},{"name":"status","type":"string"},{"name":"amount_cents","type":"int64"},
{"name":"channel","type":"string","nullable":true,"default":"web"}]}
"""

let viewFileJSON = """
{"name":"revenue_hourly","stream":"orders","filter":"status = 'completed'",
"groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},
"allowedLateness":"10m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},
{"name":"orders","fn":"count"}]}
"""

/// An order as the test writes it and as the naive reference reads it.
struct Order {
    var ts: Int64
    var merchant: String
    var status: String
    var amount: Int64
    var jsonLine: String {
        "{\"event_ts\":\(ts),\"merchant_id\":\"\(merchant)\",\"status\":\"\(status)\",\"amount_cents\":\(amount)}"
    }
}

/// The plain reference: cells (window, merchant) → (revenue, orders), over all events, skipping
/// the events at offsets >= `horizon` that were late when they arrived.
func reference(_ orders: [Order], horizon: Int) -> [String: [Int64]] {
    let hour: Int64 = 3_600_000, lateness: Int64 = 600_000
    var out: [String: [Int64]] = [:]
    var maxTs: Int64? = nil
    for (i, o) in orders.enumerated() {
        let w = o.ts - ((o.ts % hour) + hour) % hour
        let late = maxTs.map { $0 >= w + hour + lateness } ?? false
        if o.status == "completed" && !(i >= horizon && late) {
            let k = "\(w)|\(o.merchant)"
            var v = out[k] ?? [0, 0]
            v[0] += o.amount
            v[1] += 1
            out[k] = v
        }
        maxTs = max(maxTs ?? o.ts, o.ts)
    }
    return out
}

/// Parses `query --format csv` output into cells → [revenue, orders] and cells → source.
func parseQueryCSV(_ text: String) -> (values: [String: [Int64]], sources: [String: String]) {
    var values: [String: [Int64]] = [:], sources: [String: String] = [:]
    let lines = text.split(separator: "\n").map(String.init)
    guard let header = lines.first?.split(separator: ",").map(String.init) else { return ([:], [:]) }
    let iw = header.firstIndex(of: "window_start")!, im = header.firstIndex(of: "merchant_id")!
    let ir = header.firstIndex(of: "revenue")!, io = header.firstIndex(of: "orders")!, isrc = header.firstIndex(of: "source")!
    for line in lines.dropFirst() {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let k = "\(f[iw])|\(f[im])"
        values[k] = [Int64(f[ir]) ?? -1, Int64(f[io]) ?? -1]
        sources[k] = f[isrc]
    }
    return (values, sources)
}

func makeOrders(_ rng: inout SplitMix64, count: Int, clock: inout Int64, lateFraction: UInt64 = 10) -> [Order] {
    (0..<count).map { _ in
        clock += Int64(rng.next() % 20_000)
        var ts = clock
        if rng.next() % lateFraction == 0 { ts -= Int64(rng.next() % (3 * 3_600_000)) }   // late: up to 3 h, beyond the 10 min allowed
        return Order(ts: ts, merchant: "m\(rng.next() % 6)", status: rng.next() % 5 == 0 ? "cancelled" : "completed",
                     amount: Int64(100 + rng.next() % 5000))
    }
}

@Suite(.serialized) struct EndToEndTests {
    @Test func lateArrivalsBatchDriftAndReconcileThroughTheCommand() throws {
        let s = Scratch()
        let store = ["--store", s.store]
        #expect(try Tool.run(["schema", "apply", s.write("schema.json", schemaJSON)] + store).status == 0)
        #expect(try Tool.run(["view", "create", s.write("view.json", viewFileJSON)] + store).status == 0)

        var rng = SplitMix64(seed: 2026)
        var clock: Int64 = 1_767_225_600_000   // 2026-01-01T00:00:00Z
        var orders = makeOrders(&rng, count: 3000, clock: &clock)
        let ingest = try Tool.run(["ingest", "--stream", "orders", "--json", s.write("a.jsonl", orders.map(\.jsonLine).joined(separator: "\n") + "\n")] + store)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let summary = try #require(ingest.json)
        #expect(summary["appended"] as? Int == 3000)
        #expect(summary["rejected"] as? Int == 0)
        #expect(summary["firstOffset"] as? Int == 0)
        #expect(summary["lastOffset"] as? Int == 2999)

        // Before any batch: the speed layer skips exactly the late events.
        let q1 = try Tool.run(["query", "--view", "revenue_hourly", "--format", "csv"] + store)
        #expect(q1.status == 0, "\(q1.stderr)")
        let speedOnly = reference(orders, horizon: 0)
        #expect(parseQueryCSV(q1.stdout).values == speedOnly)
        #expect(Set(parseQueryCSV(q1.stdout).sources.values) == ["speed"])
        let full = reference(orders, horizon: orders.count)
        #expect(speedOnly != full, "the data must contain late events that change answers")

        // Batch: now the full reference; the drift report counts the cells the late events changed.
        let b = try Tool.run(["batch", "--view", "revenue_hourly", "--json"] + store)
        #expect(b.status == 0, "\(b.stderr)")
        let bj = try #require(b.json)
        #expect(bj["horizon"] as? Int == 3000)
        let drift = try #require(bj["drift"] as? [String: Any])
        let changed = full.keys.filter { speedOnly[$0] != full[$0] }.count
        #expect(drift["cellsDiffering"] as? Int == changed)
        let q2 = try Tool.run(["query", "--view", "revenue_hourly", "--format", "csv"] + store)
        #expect(parseQueryCSV(q2.stdout).values == full)
        let reports = try #require(try Tool.run(["drift", "--view", "revenue_hourly", "--json"] + store).json?["reports"] as? [[String: Any]])
        #expect(reports.count == 1 && reports[0]["cellsDiffering"] as? Int == changed)
        let flagged = Set((reports[0]["differingWindows"] as? [Int] ?? []).map(Int64.init))
        #expect(!flagged.isEmpty)

        // A targeted change: late events into the flagged windows. The speed layer drops them
        // (their windows are closed); reconcile recomputes exactly those windows.
        let target = flagged.sorted().prefix(2)
        let lateOnes = target.map { w in Order(ts: w + 1234, merchant: "m1", status: "completed", amount: 777) }
        let before = parseQueryCSV(try Tool.run(["query", "--view", "revenue_hourly", "--format", "csv"] + store).stdout).values
        #expect(try Tool.run(["ingest", "--stream", "orders", s.write("b.jsonl", lateOnes.map(\.jsonLine).joined(separator: "\n"))] + store).status == 0)
        orders += lateOnes
        let served = parseQueryCSV(try Tool.run(["query", "--view", "revenue_hourly", "--format", "csv"] + store).stdout).values
        #expect(served == before, "late events into closed windows are not applied by the speed layer")
        let r = try Tool.run(["reconcile", "--view", "revenue_hourly", "--json"] + store)
        #expect(r.status == 0, "\(r.stderr)")
        let after = parseQueryCSV(try Tool.run(["query", "--view", "revenue_hourly", "--format", "csv"] + store).stdout).values
        #expect(after == reference(orders, horizon: orders.count))
        let changedWindows = Set(after.keys.filter { after[$0] != before[$0] }.map { Int64($0.split(separator: "|")[0])! })
        #expect(changedWindows == Set(target))
        #expect(try Tool.run(["verify"] + store).status == 0)
    }

    @Test func badInputIsRejectedWithOneLineAndChangesNothing() throws {
        let s = Scratch()
        let store = ["--store", s.store]
        #expect(try Tool.run(["schema", "apply", s.write("schema.json", schemaJSON)] + store).status == 0)
        #expect(try Tool.run(["view", "create", s.write("view.json", viewFileJSON)] + store).status == 0)
        var rng = SplitMix64(seed: 7)
        var clock: Int64 = 1_767_225_600_000
        let orders = makeOrders(&rng, count: 200, clock: &clock)
        #expect(try Tool.run(["ingest", "--stream", "orders", s.write("a.jsonl", orders.map(\.jsonLine).joined(separator: "\n"))] + store).status == 0)
        #expect(try Tool.run(["batch"] + store).status == 0)
        let baseline = try Tool.run(["query", "--view", "revenue_hourly", "--format", "csv"] + store).stdout
        let status0 = try Tool.run(["status", "--json"] + store).stdout

        let bad: [(String, [String])] = [
            ("malformed schema", ["schema", "apply", s.write("bad1.json", "{\"stream\": \"orders\", ")]),
            ("type change", ["schema", "apply", s.write("bad2.json", schemaJSON.replacingOccurrences(of: "\"amount_cents\",\"type\":\"int64\"", with: "\"amount_cents\",\"type\":\"float64\""))]),
            ("missing required field", ["schema", "apply", s.write("bad3.json", schemaJSON.replacingOccurrences(of: "]}", with: ",{\"name\":\"x\",\"type\":\"int64\"}]}"))]),
            ("unknown stream", ["ingest", "--stream", "nope", s.write("c.jsonl", orders[0].jsonLine)]),
            ("unknown view", ["query", "--view", "nope"]),
            ("unknown view batch", ["batch", "--view", "nope"]),
            ("unparseable filter", ["view", "create", s.write("v2.json", viewFileJSON.replacingOccurrences(of: "status = 'completed'", with: "status = = 'completed'"))]),
            ("filter type mismatch", ["view", "create", s.write("v3.json", viewFileJSON.replacingOccurrences(of: "status = 'completed'", with: "amount_cents = 'x'"))]),
            ("unknown group field", ["view", "create", s.write("v4.json", viewFileJSON.replacingOccurrences(of: "[\"merchant_id\"]", with: "[\"shop\"]"))]),
            ("malformed view", ["view", "create", s.write("v5.json", "[1,2")]),
            ("missing file", ["schema", "apply", s.path + "/does-not-exist.json"]),
        ]
        for (what, args) in bad {
            let r = try Tool.run(args + store)
            #expect(r.status != 0, "\(what): expected failure")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(what): stderr should be one line, got: \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(what): nothing on stdout")
        }
        // Wrong types in ingest lines: each rejected with its line number, valid lines kept, exit 1.
        let mixed = [orders[0].jsonLine, "{\"event_ts\":\"yesterday\",\"merchant_id\":\"m1\",\"status\":\"completed\",\"amount_cents\":1}",
                     "{\"event_ts\":1,\"merchant_id\":\"m1\",\"status\":\"completed\"}", "not json", orders[1].jsonLine].joined(separator: "\n")
        let r = try Tool.run(["ingest", "--stream", "orders", "--json", s.write("mixed.jsonl", mixed)] + store)
        #expect(r.status == 1)
        #expect(r.json?["appended"] as? Int == 2 && r.json?["rejected"] as? Int == 3)
        let errs = r.stderr.split(separator: "\n").map(String.init)
        #expect(errs.filter { $0.hasPrefix("line 2:") }.count == 1)
        #expect(errs.filter { $0.hasPrefix("line 3:") && $0.contains("amount_cents") }.count == 1)
        #expect(errs.filter { $0.hasPrefix("line 4:") }.count == 1)

        // Nothing already stored was lost or changed (the two valid lines went to the speed layer).
        let after = try Tool.run(["query", "--view", "revenue_hourly", "--format", "csv"] + store).stdout
        let b = parseQueryCSV(baseline).values, a = parseQueryCSV(after).values
        for (k, v) in b where a[k] != v {
            // Only the cells of the two re-ingested valid orders may have grown.
            #expect([orders[0], orders[1]].contains { o in k.hasSuffix("|\(o.merchant)") }, "cell \(k) changed")
        }
        let st = try JSONSerialization.jsonObject(with: Data(status0.utf8)) as? [String: Any]
        #expect((st?["streams"] as? [[String: Any]])?.first?["endOffset"] as? Int == 200)
        #expect(try Tool.run(["verify"] + store).status == 0)
    }
}

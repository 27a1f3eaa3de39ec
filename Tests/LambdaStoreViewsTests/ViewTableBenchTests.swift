import Testing
import Foundation
import LambdaStoreViews
import LambdaStoreCore
import LambdaStoreTestSupport

/// A by-hand benchmark of the hourly revenue view (issue 3's target workload), skipped unless
/// `LAMBDASTORE_BENCH=1`. Run it in release:
///
///     LAMBDASTORE_BENCH=1 swift test -c release -Xswiftc -enable-testing --disable-xctest --filter ViewTableBenchTests
///
/// Workload: filter `status = 'completed'` (given as a selection, ~85 % pass), group by
/// `merchant_id` (string, 10,000 distinct, Zipf), tumbling 1 h on `event_ts`, `sum(amount_cents)`
/// + `count`, batches of 10,000 rows, 30 days, events nearly time-ordered (2 % up to 6 h late),
/// allowed lateness 10 min; Zipf exponent 1.0 gives ≈ 2.2 M cells. `LAMBDASTORE_BENCH_EVENTS` and
/// `LAMBDASTORE_BENCH_ZIPF` override the event count (10 M) and the exponent.
@Suite struct ViewTableBenchTests {
    static let enabled = ProcessInfo.processInfo.environment["LAMBDASTORE_BENCH"] == "1"

    static func workload(events: Int, zipf: Double) -> (layout: ViewLayout, batches: [ColumnBatch], selections: [[UInt8]]) {
        var rng = SplitMix64(seed: 2026)
        let merchants = 10_000
        var cdf = [Double](repeating: 0, count: merchants)
        var acc = 0.0
        for r in 0..<merchants { acc += 1 / pow(Double(r + 1), zipf); cdf[r] = acc }
        let ids = (0..<merchants).map { Array("merchant-\(String(format: "%05d", ($0 &* 7919) % merchants))".utf8) }
        let start: Int64 = 1_767_225_600_000   // 2026-01-01
        let span: Int64 = 30 * 86_400_000
        var batches: [ColumnBatch] = []
        var selections: [[UInt8]] = []
        var made = 0
        while made < events {
            let n = Swift.min(10_000, events - made)
            var ts = [Int64](), amt = [Int64](), offs: [UInt32] = [0], utf8 = [UInt8](), sel = [UInt8]()
            ts.reserveCapacity(n); amt.reserveCapacity(n); offs.reserveCapacity(n + 1); utf8.reserveCapacity(n * 14); sel.reserveCapacity(n)
            for i in 0..<n {
                var t = start + Int64(made + i) * span / Int64(events) + Int64(rng.next() % 1000)
                if rng.next() % 50 == 0 { t -= Int64(rng.next() % 21_600_000) }
                ts.append(t)
                let u = Double(rng.next() >> 11) / Double(1 << 53) * acc
                var lo = 0, hi = merchants - 1
                while lo < hi { let mid = (lo + hi) / 2; if cdf[mid] < u { lo = mid + 1 } else { hi = mid } }
                utf8.append(contentsOf: ids[lo])
                offs.append(UInt32(utf8.count))
                amt.append(Int64(rng.next() % 20_000))
                sel.append(rng.next() % 100 < 85 ? 1 : 0)
            }
            batches.append(ColumnBatch(schemaVersion: 1, columns: [
                Column(type: .timestamp, count: n, nullCount: 0, validity: [], ints: ts),
                Column(type: .string, count: n, nullCount: 0, validity: [], offsets: offs, utf8: utf8),
                Column(type: .int64, count: n, nullCount: 0, validity: [], ints: amt),
            ]))
            selections.append(sel)
            made += n
        }
        let layout = ViewLayout(
            groupBy: [GroupField(name: "merchant_id", index: 1, type: .string)],
            window: .tumbling(size: 3_600_000), windowFieldIndex: 0, allowedLateness: 600_000,
            aggregates: [
                AggregateSlot(name: "revenue", function: .sum, fieldIndex: 2, fieldType: .int64),
                AggregateSlot(name: "orders", function: .count, fieldIndex: nil, fieldType: nil),
            ])
        return (layout, batches, selections)
    }

    /// CPU seconds of the calling thread (the machine is shared: wall time is noisy).
    static func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    @Test(.enabled(if: enabled))
    func hourlyRevenue() {
        let events = Int(ProcessInfo.processInfo.environment["LAMBDASTORE_BENCH_EVENTS"] ?? "") ?? 10_000_000
        let zipf = Double(ProcessInfo.processInfo.environment["LAMBDASTORE_BENCH_ZIPF"] ?? "") ?? 1.0
        let w = Self.workload(events: events, zipf: zipf)
        let clock = ContinuousClock()
        for policy in [ViewTable.LatePolicy.dropLate, .includeAll] {
            for round in 0..<2 {
                var t = ViewTable(layout: w.layout)
                let cpu0 = Self.cpuSeconds()
                let elapsed = clock.measure {
                    for (b, s) in zip(w.batches, w.selections) { t.apply(b, selection: s, policy: policy) }
                }
                let cpu = Self.cpuSeconds() - cpu0
                let sec = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                print("bench \(policy) round \(round): \(events) events, CPU \(String(format: "%.3f", cpu)) s = \(String(format: "%.1f", Double(events) / cpu / 1e6)) M events/s per core (wall \(String(format: "%.3f", sec)) s); cells \(t.cellCount), late \(t.lateEvents), ~\(t.approximateBytes >> 20) MiB")
            }
        }
        // Merge cost: two halves merged (the batch path's parallel reduce).
        let half = w.batches.count / 2
        var a = ViewTable(layout: w.layout), b = ViewTable(layout: w.layout)
        for i in 0..<half { a.apply(w.batches[i], selection: w.selections[i], policy: .includeAll) }
        for i in half..<w.batches.count { b.apply(w.batches[i], selection: w.selections[i], policy: .includeAll) }
        let m = clock.measure { a.merge(b) }
        print("bench merge of two halves (\(b.cellCount) cells into \(a.cellCount - b.cellCount)+): \(m)")
        let r = clock.measure { _ = a.rows() }
        print("bench rows() of \(a.cellCount) cells: \(r)")
    }
}

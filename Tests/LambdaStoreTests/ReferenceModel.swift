@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport

/// A deliberately plain model of DESIGN.md's semantics, independent of the engine: it keeps
/// every event in a list and recomputes answers from scratch with dictionaries.
///
/// Supports the view shapes the facade tests use: a filter `status = 'X'` (or none), group by
/// one string field, tumbling or hopping windows on `ts`, aggregates count / sum / min / max /
/// avg over the int64 field `amount`.
struct ReferenceModel {
    struct Event {
        var ts: Int64?
        var merchant: String
        var status: String
        var amount: Int64?
    }

    struct View {
        var statusFilter: String?
        var size: Int64
        var slide: Int64?          // hopping when set
        var lateness: Int64
    }

    struct Cell: Hashable, Comparable {
        var window: Int64
        var merchant: String
        static func < (a: Cell, b: Cell) -> Bool { (a.window, a.merchant) < (b.window, b.merchant) }
    }

    /// count, sum, min, max, avg (as Values, null when no values).
    struct Aggs: Equatable {
        var count: Int64 = 0
        var sum: Int64 = 0
        var n: Int64 = 0
        var min: Int64? = nil
        var max: Int64? = nil
        var values: [Value] {
            [.int64(count), n == 0 ? .null : .int64(sum), min.map { .int64($0) } ?? .null,
             max.map { .int64($0) } ?? .null, n == 0 ? .null : .float64(Double(sum) / Double(n))]
        }
    }

    var events: [Event] = []
    let view: View

    init(view: View) { self.view = view }

    func windows(of ts: Int64) -> [Int64] {
        if let slide = view.slide {
            var out: [Int64] = []
            var s = floorDiv(ts, slide) * slide
            while s > ts - view.size { out.append(s); s -= slide }
            return out.sorted()
        }
        return [floorDiv(ts, view.size) * view.size]
    }

    func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// maxEventTime before offset i (over every event, filter or not).
    func maxEventTime(before i: Int) -> Int64? { events[..<i].compactMap(\.ts).max() }

    func passes(_ e: Event) -> Bool { view.statusFilter.map { e.status == $0 } ?? true }

    /// Whether event i is late for window w.
    func isLate(_ i: Int, window w: Int64) -> Bool {
        guard let m = maxEventTime(before: i) else { return false }
        return m >= w + view.size + view.lateness
    }

    /// The answer DESIGN.md promises at horizon `h`: a full recompute minus the late events at
    /// offsets >= h. `h = events.count` gives the full recompute.
    func answer(horizon h: Int) -> [Cell: Aggs] {
        var out: [Cell: Aggs] = [:]
        for (i, e) in events.enumerated() where passes(e) {
            guard let ts = e.ts else { continue }
            for w in windows(of: ts) {
                if i >= h && isLate(i, window: w) { continue }
                var a = out[Cell(window: w, merchant: e.merchant), default: Aggs()]
                a.count += 1
                if let v = e.amount {
                    a.sum &+= v
                    a.n += 1
                    a.min = Swift.min(a.min ?? v, v)
                    a.max = Swift.max(a.max ?? v, v)
                }
                out[Cell(window: w, merchant: e.merchant)] = a
            }
        }
        return out
    }

    /// Late events among offsets in `range` passing the filter (once per event).
    func lateEvents(in range: Range<Int>) -> Int {
        range.filter { i in
            let e = events[i]
            guard passes(e), let ts = e.ts else { return false }
            return windows(of: ts).contains { isLate(i, window: $0) }
        }.count
    }

    /// Cells a drift report at publish H0 → H1 compares and the ones that differ.
    func drift(from h0: Int, to h1: Int) -> (compared: Int, differing: Int) {
        let truth = answer(horizon: h1)       // batch at H1 covers everything below H1
        // What was served for offsets < H1: everything below H0, plus the non-late events of [H0, H1).
        var prefix = ReferenceModel(view: view)
        prefix.events = Array(events[..<h1])
        let served = prefix.answer(horizon: h0)
        let m = events[..<h1].compactMap(\.ts).max()
        var touched = Set<Cell>()
        for i in h0..<h1 where passes(events[i]) {
            guard let ts = events[i].ts else { continue }
            for w in windows(of: ts) { touched.insert(Cell(window: w, merchant: events[i].merchant)) }
        }
        var compared = 0, differing = 0
        for c in touched {
            guard let m, m >= c.window + view.size + view.lateness else { continue }
            compared += 1
            if served[c] != truth[c] { differing += 1 }
        }
        return (compared, differing)
    }
}

@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog

// The naive reference model of the concurrency stress test (ConcurrencyStressTests.swift) and
// the checker that judges a recorded query answer against it.
//
// Everything here is computed from the recorded events in offset order with plain arrays and
// dictionaries, straight from DESIGN.md ("Lateness", "Batch horizon", "Serving merge",
// "Provenance"); nothing calls the engine's aggregation, filter or view tables. The one thing
// taken from the library is `ViewDefinition.fingerprint`, to name which definition a served
// answer claims to come from.

// MARK: - The stream

/// One event of the stress stream, as appended.
struct StressEvent: Sendable, Equatable, CustomStringConvertible {
    /// Event time (epoch ms).
    var ts: Int64
    /// The group key (few distinct values).
    var key: String
    /// The summed field.
    var amount: Int64
    /// The nullable field (filtered on and counted).
    var tag: String?

    var description: String { "{ts \(ts), key \(key), amount \(amount), tag \(tag ?? "null")}" }

    /// The record as the log stores it, in ``StressStream/schema`` field order.
    var values: [Value] { [.timestamp(ts), .string(key), .int64(amount), tag.map { .string($0) } ?? .null] }

    /// The event of a record read back from the log, nil when a value has the wrong type.
    init?(values: [Value]) {
        guard values.count == 4, case .timestamp(let ts) = values[0], case .string(let key) = values[1],
              case .int64(let amount) = values[2] else { return nil }
        switch values[3] {
        case .null: tag = nil
        case .string(let t): tag = t
        default: return nil
        }
        self.ts = ts
        self.key = key
        self.amount = amount
    }

    init(ts: Int64, key: String, amount: Int64, tag: String?) {
        self.ts = ts
        self.key = key
        self.amount = amount
        self.tag = tag
    }
}

/// The stream of the stress test: an event time, a string key, an int64 amount, a nullable tag.
enum StressStream {
    static let name = "events"
    static let schema = Schema(stream: name, eventTime: "ts", fields: [
        Field(name: "ts", type: .timestamp),
        Field(name: "key", type: .string),
        Field(name: "amount", type: .int64),
        Field(name: "tag", type: .string, nullable: true),
    ])

    /// The column batch of `events`, under ``schema``.
    static func batch(_ events: [StressEvent]) throws -> ColumnBatch {
        var b = ColumnBatch(schema: schema, capacity: events.count)
        for e in events {
            for (i, v) in e.values.enumerated() { try b.columns[i].append(v) }
        }
        return b
    }

    /// The records of a batch read back from the log, as values per row.
    static func rows(of batch: ColumnBatch) -> [[Value]] {
        (0..<batch.count).map { r in batch.columns.map { $0.value(at: r) } }
    }
}

// MARK: - View definitions, in the engine's terms and in the reference's

/// An event-time window: tumbling (`slide == nil`) or hopping.
struct StressWindow: Sendable, Equatable {
    var size: Int64
    var slide: Int64?

    /// The starts of the windows that hold event time `ts`, ascending (DESIGN.md: aligned to
    /// multiples of the size, or of the slide for hopping windows, from epoch 0).
    func starts(containing ts: Int64) -> [Int64] {
        let step = slide ?? size
        var out: [Int64] = []
        var s = floorDiv(ts, step) * step
        while s > ts - size {
            out.append(s)
            s -= step
        }
        return out.reversed()
    }

    /// The alignment of window starts.
    var step: Int64 { slide ?? size }

    /// The JSON of the window in a view file.
    var json: String {
        if let slide { return #"{"type":"hopping","field":"ts","size":"\#(size)ms","slide":"\#(slide)ms"}"# }
        return #"{"type":"tumbling","field":"ts","size":"\#(size)ms"}"#
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

/// One version of a view: the definition handed to the engine and the same semantics spelled
/// out in Swift for the reference. Both are built in one place from the same parameters so they
/// cannot drift apart.
struct StressView: Sendable {
    /// The view name.
    var name: String
    /// The filter as the engine gets it (nil: every event passes).
    var filterSQL: String?
    /// The same filter in Swift (SQL three-valued logic: a comparison with null is not true).
    var passes: @Sendable (StressEvent) -> Bool
    var window: StressWindow
    var lateness: Int64
    /// The engine's definition.
    let definition: ViewDefinition

    /// The aggregate names, in the view's order; ``StressAggregate/values`` yields them.
    static let aggregatesJSON = """
        [{"name":"n","fn":"count"},{"name":"total","fn":"sum","field":"amount"},{"name":"lo","fn":"min","field":"amount"},\
        {"name":"hi","fn":"max","field":"amount"},{"name":"mean","fn":"avg","field":"amount"},{"name":"tagged","fn":"count","field":"tag"}]
        """

    init(name: String, filterSQL: String?, passes: @escaping @Sendable (StressEvent) -> Bool, window: StressWindow, lateness: Int64) throws {
        self.name = name
        self.filterSQL = filterSQL
        self.passes = passes
        self.window = window
        self.lateness = lateness
        let filter = filterSQL.map { #""filter":"\#($0)","# } ?? ""
        definition = try ViewDefinition.parse(json: """
            {"name":"\(name)","stream":"\(StressStream.name)",\(filter)"groupBy":["key"],"window":\(window.json),\
            "allowedLateness":"\(lateness)ms","aggregates":\(Self.aggregatesJSON)}
            """)
    }

    var fingerprint: String { definition.fingerprint }

    /// Whether a window starting at `start` is closed once `maxEventTime` is reached.
    func isClosed(windowStart start: Int64, maxEventTime: Int64?) -> Bool {
        guard let m = maxEventTime else { return false }
        return m >= start + window.size + lateness
    }
}

// MARK: - Aggregation

/// The aggregates of one cell, computed naively: count, sum, min, max, avg of `amount`, and the
/// count of non-null `tag` values.
struct StressAggregate: Equatable {
    var count: Int64 = 0
    var sum: Int64 = 0
    var min: Int64? = nil
    var max: Int64? = nil
    var tagged: Int64 = 0

    mutating func add(_ e: StressEvent) {
        count += 1
        sum += e.amount
        min = Swift.min(min ?? e.amount, e.amount)
        max = Swift.max(max ?? e.amount, e.amount)
        if e.tag != nil { tagged += 1 }
    }

    /// The values a query row holds, in the view's aggregate order (`amount` is never null, so
    /// sum/min/max/avg are null only over no events, which is never served).
    var values: [Value] {
        [.int64(count), count == 0 ? .null : .int64(sum), min.map { .int64($0) } ?? .null, max.map { .int64($0) } ?? .null,
         count == 0 ? .null : .float64(Double(sum) / Double(count)), .int64(tagged)]
    }
}

/// One row as the reference expects it (or as served, converted for comparison).
struct StressRow: Equatable, Comparable, CustomStringConvertible {
    var windowStart: Int64
    var windowEnd: Int64
    var key: String
    var values: [Value]
    var source: RowSource

    static func < (a: StressRow, b: StressRow) -> Bool { (a.windowStart, a.key) < (b.windowStart, b.key) }

    var description: String {
        "[\(windowStart)..\(windowEnd)) \(key): \(values.map(\.description).joined(separator: ",")) \(source.rawValue)"
    }
}

// MARK: - The reference

/// The whole event history in offset order, with `maxEventTime` before every offset and the
/// batch boundaries (the only offsets at which an answer can change).
struct StressReference {
    /// Events in offset order: `events[i]` is at offset `i`.
    let events: [StressEvent]
    /// `maxEventTimeBefore[i]`: the largest event time at offsets `< i`, over the whole stream
    /// (every event, filter or not); `events.count + 1` entries.
    let maxEventTimeBefore: [Int64?]
    /// Every batch end offset (and 0), ascending.
    let boundaries: [Int64]

    init(events: [StressEvent], batchEnds: [Int64]) {
        self.events = events
        var m: [Int64?] = [nil]
        m.reserveCapacity(events.count + 1)
        var running: Int64? = nil
        for e in events {
            running = Swift.max(running ?? e.ts, e.ts)
            m.append(running)
        }
        maxEventTimeBefore = m
        boundaries = Array(Set(batchEnds + [0])).sorted()
    }

    /// The batch boundaries in `range`, ascending.
    /// - Complexity: O(log boundaries + result).
    func boundaries(in range: ClosedRange<Int64>) -> ArraySlice<Int64> {
        func firstIndex(above x: Int64) -> Int {
            var a = 0, b = boundaries.count
            while a < b {
                let m = (a + b) / 2
                if boundaries[m] <= x { a = m + 1 } else { b = m }
            }
            return a
        }
        return boundaries[firstIndex(above: range.lowerBound - 1)..<firstIndex(above: range.upperBound)]
    }

    /// Whether the event at `offset` is late for the window starting at `start` in `view`:
    /// that window was closed when it arrived (DESIGN.md "Lateness"; per window for hopping).
    func isLate(offset: Int, windowStart start: Int64, view: StressView) -> Bool {
        view.isClosed(windowStart: start, maxEventTime: maxEventTimeBefore[offset])
    }

    /// The contributions of every filter-passing event to every cell of `view`.
    func cells(of view: StressView) -> StressCells {
        var byWindow: [Int64: [String: [StressCells.Contribution]]] = [:]
        for (i, e) in events.enumerated() where view.passes(e) {
            for w in view.window.starts(containing: e.ts) {
                byWindow[w, default: [:]][e.key, default: []]
                    .append(.init(offset: Int64(i), late: isLate(offset: i, windowStart: w, view: view), event: e))
            }
        }
        return StressCells(view: view, byWindow: byWindow, windowStarts: byWindow.keys.sorted())
    }
}

/// The contributions of events to the cells of one view version: per window start, per key,
/// the events in offset order with their late flag for that window.
struct StressCells {
    struct Contribution {
        var offset: Int64
        var late: Bool
        var event: StressEvent
    }

    let view: StressView
    let byWindow: [Int64: [String: [Contribution]]]
    let windowStarts: [Int64]

    /// The rows DESIGN.md promises for a query (`key`, windows starting in `[from, to)`) when
    /// the batch part covers `[0, horizon)` and the speed part has seen `[horizon, prefix)`:
    /// every filter-passing event below the horizon (late ones included), plus the events in
    /// `[horizon, prefix)` that were not late for the cell's window. Source per "Provenance":
    /// `batch` when only the batch part holds events for the cell, `speed` when only the speed
    /// part does, `merged` when both do.
    func expectedRows(key: String?, from: Int64?, to: Int64?, horizon: Int64, prefix: Int64) -> [StressRow] {
        expectedRows(key: key, from: from, to: to, horizon: horizon, prefixes: [prefix])[0]
    }

    /// ``expectedRows(key:from:to:horizon:prefix:)`` for each of `prefixes` (ascending), in one
    /// pass over the cells' events.
    func expectedRows(key: String?, from: Int64?, to: Int64?, horizon: Int64, prefixes: [Int64]) -> [[StressRow]] {
        var out = [[StressRow]](repeating: [], count: prefixes.count)
        let lo = from ?? Int64.min, hi = to ?? Int64.max
        guard lo < hi else { return out }
        var i = lowerBound(lo)
        while i < windowStarts.count && windowStarts[i] < hi {
            let w = windowStarts[i]
            i += 1
            guard let keys = byWindow[w] else { continue }
            for k in (key.map { [$0] } ?? keys.keys.sorted()) {
                guard let contributions = keys[k] else { continue }
                var agg = StressAggregate()
                var inBatch = false, inSpeed = false
                var p = 0
                func emitUpTo(_ offset: Int64) {
                    // The cell as of every prefix at or below `offset`.
                    while p < prefixes.count && prefixes[p] <= offset {
                        if inBatch || inSpeed {
                            out[p].append(StressRow(windowStart: w, windowEnd: w + view.window.size, key: k, values: agg.values,
                                                    source: inBatch ? (inSpeed ? .merged : .batch) : .speed))
                        }
                        p += 1
                    }
                }
                for c in contributions {
                    emitUpTo(c.offset)
                    if p == prefixes.count { break }
                    if c.offset < horizon {
                        inBatch = true
                    } else if !c.late {
                        inSpeed = true
                    } else {
                        continue
                    }
                    agg.add(c.event)
                }
                emitUpTo(Int64.max)
            }
        }
        return out
    }

    /// The offsets in `range` of the events that reach the cells a query selects (late or not):
    /// the only offsets past which its answer can change.
    func contributionOffsets(key: String?, from: Int64?, to: Int64?, in range: Range<Int64>) -> [Int64] {
        let lo = from ?? Int64.min, hi = to ?? Int64.max
        guard lo < hi else { return [] }
        var out: [Int64] = []
        var i = lowerBound(lo)
        while i < windowStarts.count && windowStarts[i] < hi {
            let keys = byWindow[windowStarts[i]] ?? [:]
            i += 1
            for (k, contributions) in keys where key == nil || key == k {
                for c in contributions where range.contains(c.offset) { out.append(c.offset) }
            }
        }
        return out
    }

    private func lowerBound(_ x: Int64) -> Int {
        var a = 0, b = windowStarts.count
        while a < b {
            let m = (a + b) / 2
            if windowStarts[m] < x { a = m + 1 } else { b = m }
        }
        return a
    }
}

// MARK: - Judging a recorded query

/// A query as the stress test issues it: one view, optionally one key, a window-start range.
struct StressQuery: Sendable, CustomStringConvertible {
    var view: String
    var key: String?
    var from: Int64?
    var to: Int64?

    var request: QueryRequest { QueryRequest(view: view, keys: key.map { [(nil, $0)] } ?? [], from: from, to: to) }

    var description: String {
        "view \(view) key \(key ?? "*") from \(from.map(String.init) ?? "-") to \(to.map(String.init) ?? "-")"
    }
}

/// One query answered during the run, with the log offsets that bound what it may have seen.
struct StressObservation: Sendable {
    var worker: String
    var sequence: Int
    var query: StressQuery
    /// The largest end offset of the appends acknowledged before the query was issued.
    var ackedBefore: Int64
    /// The stream's log end right after the query returned.
    var endAfter: Int64
    var result: QueryResult
}

/// A violation found by ``StressChecker``.
struct StressViolation: Error, CustomStringConvertible {
    enum Kind: String {
        /// No prefix X in [ackedBefore, endAfter] gives the served values.
        case values
        /// The values match some prefix, but the `source` column does not.
        case provenance
        /// The answer names a fingerprint of no definition of the view, or an impossible horizon.
        case version
        /// Rows out of (window, key) order, duplicated, or with a wrong window end or key shape.
        case shape
    }

    var kind: Kind
    var message: String
    var description: String { "[\(kind.rawValue)] \(message)" }
}

/// Judges recorded answers against the reference: an answer is correct when it equals the
/// reference for the served view version, its batch horizon H = `result.horizon`, and some
/// prefix X with `max(ackedBefore, H) <= X <= endAfter` at a batch boundary.
struct StressChecker {
    let reference: StressReference
    /// Every view version that may be served, by fingerprint.
    let versions: [String: StressView]
    private var cache: [String: StressCells] = [:]

    init(reference: StressReference, versions: [StressView]) {
        self.reference = reference
        self.versions = Dictionary(versions.map { ($0.fingerprint, $0) }, uniquingKeysWith: { a, _ in a })
    }

    mutating func cells(_ view: StressView) -> StressCells {
        if let c = cache[view.fingerprint] { return c }
        let c = reference.cells(of: view)
        cache[view.fingerprint] = c
        return c
    }

    /// The served rows in the reference's form, or a shape violation.
    static func servedRows(_ result: QueryResult, view: StressView) -> Result<[StressRow], StressViolation> {
        var rows: [StressRow] = []
        for r in result.rows {
            guard let s = r.windowStart, let e = r.windowEnd, r.key.count == 1, case .string(let k) = r.key[0] else {
                return .failure(.init(kind: .shape, message: "row without a window or a string key: \(r)"))
            }
            guard e == s + view.window.size, floorDiv(s, view.window.step) * view.window.step == s else {
                return .failure(.init(kind: .shape, message: "row window [\(s), \(e)) is not a window of \(view.name)"))
            }
            rows.append(StressRow(windowStart: s, windowEnd: e, key: k, values: r.values, source: r.source))
        }
        for (a, b) in zip(rows, rows.dropFirst()) where !(a < b) {
            return .failure(.init(kind: .shape, message: "rows not strictly in (window, key) order: \(a) then \(b)"))
        }
        return .success(rows)
    }

    /// Nil when `o` is correct, else what is wrong.
    mutating func check(_ o: StressObservation) -> StressViolation? {
        let r = o.result
        let head = "\(o.worker)#\(o.sequence) \(o.query): fingerprint \(r.fingerprint) horizon \(r.horizon) "
            + "ackedBefore \(o.ackedBefore) endAfter \(o.endAfter)" + (r.note.map { " note: \($0)" } ?? "")
        guard let view = versions[r.fingerprint], view.name == o.query.view else {
            return .init(kind: .version, message: head + ": no definition of view \(o.query.view) has this fingerprint")
        }
        guard r.horizon >= 0, r.horizon <= o.endAfter, !reference.boundaries(in: r.horizon...r.horizon).isEmpty else {
            return .init(kind: .version, message: head + ": the horizon is not a batch boundary at or below endAfter")
        }
        let served: [StressRow]
        switch Self.servedRows(r, view: view) {
        case .success(let rows): served = rows
        case .failure(let v): return .init(kind: v.kind, message: head + ": " + v.message)
        }
        let cells = self.cells(view)
        let lowest = max(o.ackedBefore, r.horizon)
        let candidates = prefixes(from: lowest, to: o.endAfter, cells: cells, query: o.query)
        var valuesMatchedAt: Int64? = nil
        // One prefix at a time, lowest first: most answers match the first, and building the
        // rows of every candidate costs more than it saves.
        for x in candidates {
            let want = cells.expectedRows(key: o.query.key, from: o.query.from, to: o.query.to, horizon: r.horizon, prefix: x)
            if want == served { return nil }
            if valuesMatchedAt == nil, want.map(\.values) == served.map(\.values), want.map(\.key) == served.map(\.key),
               want.map(\.windowStart) == served.map(\.windowStart) {
                valuesMatchedAt = x
            }
        }
        let x = valuesMatchedAt ?? candidates.last ?? o.endAfter
        let want = cells.expectedRows(key: o.query.key, from: o.query.from, to: o.query.to, horizon: r.horizon, prefix: x)
        let kind: StressViolation.Kind = valuesMatchedAt != nil ? .provenance : .values
        return .init(kind: kind, message: head + ": no prefix X in \(candidates) matches (\(lowest)...\(o.endAfter)); at X=\(x): "
                     + Self.diff(served: served, expected: want))
    }

    /// The batch boundaries X in `[lowest, highest]` at which the query's answer can differ:
    /// the first one, and each one that ends a batch holding an event of the queried cells.
    func prefixes(from lowest: Int64, to highest: Int64, cells: StressCells, query q: StressQuery) -> [Int64] {
        let all = reference.boundaries(in: lowest...highest)
        guard let first = all.first else { return [] }
        var out: Set<Int64> = [first]
        for offset in cells.contributionOffsets(key: q.key, from: q.from, to: q.to, in: first..<highest) {
            // The smallest boundary above the offset: the end of its batch.
            var a = all.startIndex, b = all.endIndex
            while a < b {
                let m = (a + b) / 2
                if all[m] <= offset { a = m + 1 } else { b = m }
            }
            if a < all.endIndex { out.insert(all[a]) }
        }
        return out.sorted()
    }

    /// The differing cells, at most a few, as `got … want …`.
    static func diff(served: [StressRow], expected: [StressRow], limit: Int = 4) -> String {
        struct Cell: Hashable { var w: Int64; var k: String }
        let got = Dictionary(served.map { (Cell(w: $0.windowStart, k: $0.key), $0) }, uniquingKeysWith: { a, _ in a })
        let want = Dictionary(expected.map { (Cell(w: $0.windowStart, k: $0.key), $0) }, uniquingKeysWith: { a, _ in a })
        var lines: [String] = []
        var differing = 0
        for c in Set(got.keys).union(want.keys).sorted(by: { ($0.w, $0.k) < ($1.w, $1.k) }) where got[c] != want[c] {
            differing += 1
            if lines.count < limit {
                lines.append("cell [\(c.w)] \(c.k): got \(got[c].map(\.description) ?? "nothing"), want \(want[c].map(\.description) ?? "nothing")")
            }
        }
        return "\(differing) of \(Set(got.keys).union(want.keys).count) cells differ (\(served.count) rows served, \(expected.count) expected): "
            + lines.joined(separator: "; ")
    }
}

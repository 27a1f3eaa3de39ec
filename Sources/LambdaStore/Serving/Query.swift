import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreViews

/// Where a served row's value came from (DESIGN.md "Provenance").
public enum RowSource: String, Sendable, Hashable {
    /// Only the batch part holds events for the cell.
    case batch
    /// Only the speed part does.
    case speed
    /// Both do; the value is their monoid merge.
    case merged
}

/// A query against one view (DESIGN.md "Queries").
public struct QueryRequest: Sendable {
    /// The view name.
    public var view: String
    /// Group-key constraints: `(field, value text)`; a nil field means "the only group field".
    public var keys: [(field: String?, value: String)]
    /// Windows whose start is `>= from`.
    public var from: Int64?
    /// Windows whose start is `< to`.
    public var to: Int64?

    /// Creates a request.
    public init(view: String, keys: [(field: String?, value: String)] = [], from: Int64? = nil, to: Int64? = nil) {
        self.view = view
        self.keys = keys
        self.from = from
        self.to = to
    }
}

/// One served row.
public struct QueryRow: Sendable, Hashable {
    /// Window start (epoch ms), nil for views without a window.
    public var windowStart: Int64?
    /// Window end (epoch ms, exclusive), nil for views without a window.
    public var windowEnd: Int64?
    /// The group-by values, in view order.
    public var key: [Value]
    /// The aggregate values, in view order.
    public var values: [Value]
    /// Provenance.
    public var source: RowSource
}

/// The answer to a ``QueryRequest``.
public struct QueryResult: Sendable {
    /// The group-by field names.
    public var groupBy: [String]
    /// The aggregate names.
    public var aggregates: [String]
    /// Rows sorted by window start, then group key.
    public var rows: [QueryRow]
    /// The fingerprint of the served view version.
    public var fingerprint: String
    /// The batch horizon of the batch part.
    public var horizon: Int64
    /// Set when the batch and speed parts could not be merged, saying why.
    public var note: String?
}

extension QueryRequest {
    /// The window starts the request selects, `from..<to` with an open side for a nil bound;
    /// nil when neither is given. `from >= to` is an empty range, never a trap.
    var windowStartRange: Range<Int64>? {
        guard from != nil || to != nil else { return nil }
        let lower = from ?? Int64.min, upper = to ?? Int64.max
        return lower..<max(lower, upper)
    }
}

extension Store {
    /// Serves `batch ⊕ speed-since-horizon` for the cells matching `request` (DESIGN.md
    /// "Serving merge"). Settled windows come from the batch part alone, because the speed
    /// layer never applies events to closed windows.
    /// - Throws: `.notFound` for an unknown view, `.invalidArgument` for a bad key.
    /// - Complexity: O(matching snapshot row groups + matching speed cells).
    ///
    /// Reads snapshot chunks and, the first time a view is served in this process, replays
    /// its stream from the batch horizon to build the speed layer: off the cooperative pool.
    /// A query served from memory alone (the view's speed layer built, and no snapshot or only
    /// snapshot row groups already decoded in its cache to read) runs on the calling task:
    /// that is an in-memory read, and a thread hop would cost more than it.
    nonisolated(nonsending) public func query(_ request: QueryRequest) async throws(LambdaStoreError) -> QueryResult {
        if try servedFromMemory(request) { return try queryBlocking(request) }
        return try await Blocking.run { () throws(LambdaStoreError) -> QueryResult in try self.queryBlocking(request) }
    }

    /// Whether `request` reads no file now: its view's speed layer is built and it has no
    /// snapshot, or every snapshot row group the request selects is decoded in the cache.
    /// (A publish, an eviction or a speed-layer rebuild racing the query may still make it
    /// read one row group, a snapshot or the tail of the log on the calling task.)
    func servedFromMemory(_ request: QueryRequest) throws(LambdaStoreError) -> Bool {
        let (built, snapshot, layout, schema, codec) = try handle(request.view).state.withLock { rt in
            (rt.speed != nil, rt.snapshot, rt.compiled.layout, rt.compiled.schema, rt.codec)
        }
        guard built else { return false }
        guard let snapshot else { return true }
        if snapshot.isFullyDecoded { return true }
        guard request.from != nil || request.to != nil || !request.keys.isEmpty,
              let keys = try? Self.resolveKeys(request.keys, layout: layout, schema: schema),
              let codec else { return false }
        let range = request.windowStartRange
        return codec.readsOnlyDecodedGroups(snapshot, windowStartRange: range, keys: keys)
    }

    /// ``query(_:)`` on the calling thread.
    func queryBlocking(_ request: QueryRequest) throws(LambdaStoreError) -> QueryResult {
        let h = try handle(request.view)
        try ensureSpeed(h)
        // One instant, under the view's lock: the batch part (pinned, read below without the
        // lock) and the speed cells that go with its horizon.
        // `from >= to` selects no window (never a trap: the range is only formed when valid).
        let range = request.windowStartRange
        let (v, speedRows, pinned) = try h.state.withLock { (rt: inout ViewRuntime) throws(LambdaStoreError) -> (ViewRuntime, [[ViewRow]], [String]) in
            let keyConstraints = try Self.resolveKeys(request.keys, layout: rt.compiled.layout, schema: rt.compiled.schema)
            let rows: [[ViewRow]] = range.map { $0.isEmpty } == true ? [] : (rt.speed?.generations ?? []).map {
                $0.table.rows(windowStartRange: range, keyEquals: keyConstraints)
            }
            // The parts the read below may open stay on disk until it is done.
            // (Each reader holds the path it was opened at, `Path.join(viewDirectory, name)`,
            // the string compaction checks pins against: no path is built per query.)
            let paths = (rt.snapshot?.parts(overlapping: range) ?? []).map(\.reader.path)
            for p in paths { pins.pin(p) }
            return (rt.withoutSpeed, rows, paths)
        }
        defer { for p in pinned { pins.unpin(p) } }
        let layout = v.compiled.layout
        let keyConstraints = try Self.resolveKeys(request.keys, layout: layout, schema: v.compiled.schema)
        if let r = range, r.isEmpty { return QueryResult(groupBy: layout.groupBy.map(\.name), aggregates: layout.aggregates.map(\.name), rows: [], fingerprint: v.compiled.fingerprint, horizon: v.horizon) }

        var note: String? = nil
        // Batch part.
        var batchRows: [(CellKey, [AggregateState])] = []
        if let snap = v.snapshot {
            let batchFingerprint = snap.fingerprint ?? v.manifest.fingerprint
            if batchFingerprint != v.compiled.fingerprint {
                note = "batch part has fingerprint \(batchFingerprint), speed part \(v.compiled.fingerprint): they are never merged, so only the speed part is served"
            } else {
                batchRows = try v.snapshotLayout().read(snap, windowStartRange: range, keys: keyConstraints)
            }
        }
        let groupBy = layout.groupBy.map(\.name), aggregates = layout.aggregates.map(\.name)
        // One source (the common point query): its rows are already in (window, key) order and
        // need no merge.
        let sources = (batchRows.isEmpty ? 0 : 1) + speedRows.filter { !$0.isEmpty }.count
        if sources <= 1 {
            var rows: [QueryRow] = []
            if !batchRows.isEmpty {
                let types = layout.groupBy.map(\.type)
                rows = batchRows.map { cell, states in
                    QueryRow(windowStart: cell.windowStart, windowEnd: cell.windowStart.flatMap { layout.window.windowEnd(start: $0) },
                             key: cell.key.values(types: types), values: states.map(\.result), source: .batch)
                }
            } else if let speed = speedRows.first(where: { !$0.isEmpty }) {
                rows = speed.map { QueryRow(windowStart: $0.windowStart, windowEnd: $0.windowEnd, key: $0.key, values: $0.values, source: .speed) }
            }
            return QueryResult(groupBy: groupBy, aggregates: aggregates, rows: rows, fingerprint: v.compiled.fingerprint, horizon: v.horizon, note: note)
        }
        var cells: [CellKey: (states: [AggregateState], batch: Bool, speed: Bool)] = [:]
        for (cell, states) in batchRows { cells[cell] = (states, true, false) }
        for generationRows in speedRows {
            for row in generationRows {
                let cell = CellKey(windowStart: row.windowStart, key: GroupKey(values: row.key))
                if var e = cells[cell] {
                    for i in e.states.indices { e.states[i].merge(row.states[i]) }
                    e.speed = true
                    cells[cell] = e
                } else {
                    cells[cell] = (row.states, false, true)
                }
            }
        }
        var rows: [QueryRow] = []
        rows.reserveCapacity(cells.count)
        for (cell, e) in cells {
            let source: RowSource = e.batch ? (e.speed ? .merged : .batch) : .speed
            rows.append(QueryRow(windowStart: cell.windowStart, windowEnd: cell.windowStart.flatMap { layout.window.windowEnd(start: $0) },
                                 key: cell.key.values(types: layout.groupBy.map(\.type)),
                                 values: e.states.map(\.result), source: source))
        }
        let keyed = zip(cells.keys, rows).sorted { a, b in
            if a.0.windowStart != b.0.windowStart { return (a.0.windowStart ?? Int64.min) < (b.0.windowStart ?? Int64.min) }
            return a.0.key < b.0.key
        }
        return QueryResult(groupBy: groupBy, aggregates: aggregates,
                           rows: keyed.map(\.1), fingerprint: v.compiled.fingerprint, horizon: v.horizon, note: note)
    }

    /// Parses `--key` constraints against the group-by fields.
    static func resolveKeys(_ keys: [(field: String?, value: String)], layout: ViewLayout, schema: Schema) throws(LambdaStoreError) -> [(groupIndex: Int, value: Value)] {
        var out: [(groupIndex: Int, value: Value)] = []
        for (field, text) in keys {
            let gi: Int
            if let field {
                guard let i = layout.groupBy.firstIndex(where: { $0.name == field }) else {
                    throw LambdaStoreError(.invalidArgument, "--key \(field)=…: '\(field)' is not a group-by field of this view (group-by: \(layout.groupBy.map(\.name).joined(separator: ", ")))")
                }
                gi = i
            } else {
                guard layout.groupBy.count == 1 else {
                    throw LambdaStoreError(.invalidArgument, "--key VALUE needs a view with exactly one group-by field; use --key FIELD=VALUE")
                }
                gi = 0
            }
            let g = layout.groupBy[gi]
            guard let v = Value.parse(text: text, as: g.type) else {
                throw LambdaStoreError(.invalidArgument, "--key \(g.name): '\(text)' is not a valid \(g.type)")
            }
            out.append((gi, v))
        }
        return out
    }
}

extension AggregateSlot {
    /// Whether the aggregate's result is a number (it then gets a drift `relativeError`).
    var hasNumericResult: Bool {
        switch function {
        case .count, .sum, .avg, .countDistinct: true
        case .min, .max: fieldType != .string
        }
    }
}

extension Value {
    /// Parses command-line text as a value of `type`: integers, floats, `true`/`false`,
    /// strings as is, timestamps as epoch ms or ISO-8601 with a zone. Nil when it does not parse.
    static func parse(text: String, as type: FieldType) -> Value? {
        switch type {
        case .int64: Int64(text).map { .int64($0) }
        case .float64: Double(text).map { .float64($0) }
        case .bool: text == "true" ? .bool(true) : (text == "false" ? .bool(false) : nil)
        case .string: .string(text)
        case .timestamp: Timestamp.parse(text).map { .timestamp($0) }
        }
    }
}

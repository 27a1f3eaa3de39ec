import Dispatch
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
    /// A query served from memory alone (the view's speed layer built, and every snapshot row
    /// group it selects already decoded in its reader's cache) runs on the calling task: that
    /// is an in-memory read, and a thread hop would cost more than it.
    nonisolated(nonsending) public func query(_ request: QueryRequest) async throws(LambdaStoreError) -> QueryResult {
        let h = try handle(request.view)
        // The speed layer not built yet: building it reads the log, off the pool.
        guard let plan = try queryPlan(request, h) else {
            return try await Blocking.run { () throws(LambdaStoreError) -> QueryResult in try self.queryBlocking(request) }
        }
        defer { for p in plan.parts { pins.unpin(p.pinKey) } }
        // (A publish or an eviction racing the query may still make it decode one row group on
        // the calling task; the pins keep the files it reads on disk.)
        if plan.readsOnlyDecodedGroups { return try answer(request, plan) }
        return try await Blocking.run { () throws(LambdaStoreError) -> QueryResult in try self.answer(request, plan) }
    }

    /// ``query(_:)`` on the calling thread.
    func queryBlocking(_ request: QueryRequest) throws(LambdaStoreError) -> QueryResult {
        let h = try handle(request.view)
        while true {
            try ensureSpeed(h)
            // Nil when the speed layer was dropped again in between (a batch it could not
            // apply): build it again rather than serve the batch part without it.
            guard let plan = try queryPlan(request, h) else { continue }
            defer { for p in plan.parts { pins.unpin(p.pinKey) } }
            return try answer(request, plan)
        }
    }

    /// What one query reads, taken from the view's runtime in one instant, under its lock: the
    /// batch part (its selected snapshot parts pinned, read later without the lock) and the
    /// speed cells that go with its horizon. The caller unpins `parts`.
    struct QueryPlan {
        let compiled: CompiledView
        let horizon: Int64
        let keys: [(groupIndex: Int, value: Value)]
        let speedRows: [[ViewRow]]
        /// The batch part's fingerprint; nil without a snapshot.
        let batchFingerprint: String?
        /// The snapshot layout, when the batch part is read (its fingerprint is the view's).
        let codec: SnapshotLayout?
        /// Why the view has no snapshot layout, when the batch part would be read.
        let codecError: LambdaStoreError?
        /// The snapshot parts that may hold a selected window, each with the row groups its
        /// statistics select; pinned.
        let parts: [PlannedPart]
        /// Whether every selected row group is decoded in its reader's cache.
        let readsOnlyDecodedGroups: Bool
    }

    /// The most cold row groups a query decodes on parallel threads before reading them (64
    /// groups of the default 65,536 rows are about 200 MB decoded); a wider read goes one group
    /// after the other. (A reader's cache, ``SnapshotReader/decodedBytesKept``, could otherwise
    /// evict prefetched groups of a very wide read before they are read, which would then
    /// decode them again.)
    static let prefetchGroupsMax = 64

    /// One snapshot part a query reads: pinned by `pinKey`, and its selected row groups.
    struct PlannedPart {
        let pinKey: FilePins.Key
        let reader: SnapshotReader
        let groups: [Int]
    }

    /// The ``QueryPlan`` of `request`, or nil when the view's speed layer is not built.
    func queryPlan(_ request: QueryRequest, _ h: ViewHandle) throws(LambdaStoreError) -> QueryPlan? {
        // `from >= to` selects no window (never a trap: the range is only formed when valid).
        let range = request.windowStartRange
        // A struct, not a tuple: a tuple this wide is copied out of the lock through the
        // runtime's generic tuple witnesses, which cost a tenth of a point query.
        struct Taken {
            let compiled: CompiledView, horizon: Int64, keys: [(groupIndex: Int, value: Value)], rows: [[ViewRow]]
            var batchFingerprint: String? = nil, codec: SnapshotLayout? = nil, codecError: LambdaStoreError? = nil
            var parts: ArraySlice<SnapshotPart> = []
        }
        let taken = try h.state.withLock { (rt: inout ViewRuntime) throws(LambdaStoreError) -> Taken? in
            guard rt.speed != nil else { return nil }
            let keys = try Self.resolveKeys(request.keys, layout: rt.compiled.layout, schema: rt.compiled.schema)
            if let range, range.isEmpty { return Taken(compiled: rt.compiled, horizon: rt.horizon, keys: keys, rows: []) }
            let rows = rt.speed?.rows(windowStartRange: range, keyEquals: keys) ?? []
            guard let snapshot = rt.snapshot else { return Taken(compiled: rt.compiled, horizon: rt.horizon, keys: keys, rows: rows) }
            let batchFingerprint = snapshot.fingerprint ?? rt.manifest.fingerprint
            guard batchFingerprint == rt.compiled.fingerprint else { return Taken(compiled: rt.compiled, horizon: rt.horizon, keys: keys, rows: rows, batchFingerprint: batchFingerprint) }
            let codec: SnapshotLayout
            do throws(LambdaStoreError) { codec = try rt.snapshotLayout() } catch {
                return Taken(compiled: rt.compiled, horizon: rt.horizon, keys: keys, rows: rows, batchFingerprint: batchFingerprint, codecError: error)
            }
            // The parts the read below may open stay on disk until it is done.
            // (Each part's pin key holds its reader's path, `Path.join(viewDirectory, name)`,
            // the string compaction checks pins against: no path is built per query.)
            let parts = snapshot.parts(overlapping: range)
            for p in parts { pins.pin(p.pinKey) }
            return Taken(compiled: rt.compiled, horizon: rt.horizon, keys: keys, rows: rows, batchFingerprint: batchFingerprint, codec: codec, parts: parts)
        }
        guard let taken else { return nil }
        var parts: [PlannedPart] = []
        var decoded = true
        if let layout = taken.codec {
            parts.reserveCapacity(taken.parts.count)
            do throws(LambdaStoreError) {
                for p in taken.parts {
                    let groups = try layout.groups(of: p.reader, windowStartRange: range, keys: taken.keys)
                    parts.append(PlannedPart(pinKey: p.pinKey, reader: p.reader, groups: groups))
                    if decoded && !groups.isEmpty && !p.reader.isDecoded(groups) { decoded = false }
                }
            } catch {
                for p in taken.parts { pins.unpin(p.pinKey) }
                throw error
            }
        }
        return QueryPlan(compiled: taken.compiled, horizon: taken.horizon, keys: taken.keys, speedRows: taken.rows,
                         batchFingerprint: taken.batchFingerprint, codec: taken.codec, codecError: taken.codecError,
                         parts: parts, readsOnlyDecodedGroups: decoded)
    }

    /// Answers `request` from `plan`: reads the selected snapshot row groups and merges them with
    /// the plan's speed cells.
    func answer(_ request: QueryRequest, _ plan: QueryPlan) throws(LambdaStoreError) -> QueryResult {
        let layout = plan.compiled.layout
        let range = request.windowStartRange
        if let r = range, r.isEmpty { return QueryResult(groupBy: plan.compiled.groupByNames, aggregates: plan.compiled.aggregateNames, rows: [], fingerprint: plan.compiled.fingerprint, horizon: plan.horizon) }
        let speedRows = plan.speedRows
        var note: String? = nil
        // Batch part.
        var batchRows: [(CellKey, [AggregateState])] = []
        if let batchFingerprint = plan.batchFingerprint {
            if batchFingerprint != plan.compiled.fingerprint {
                note = "batch part has fingerprint \(batchFingerprint), speed part \(plan.compiled.fingerprint): they are never merged, so only the speed part is served"
            } else if let error = plan.codecError {
                throw error
            } else if let codec = plan.codec {
                let target = codec.fullKey(plan.keys)
                // Several row groups to decode (a range over cold groups): decode them on
                // parallel threads first; the reads below then find them in the caches. Only
                // reads that go through the caches (a range or a key: a read of everything
                // decodes without them), and at most `prefetchGroupsMax` groups.
                if !plan.readsOnlyDecodedGroups, range != nil || !plan.keys.isEmpty {
                    let cold = plan.parts.flatMap { p in p.groups.map { (p.reader, $0) } }.filter { !$0.0.isDecoded([$0.1]) }
                    if cold.count > 1, cold.count <= Self.prefetchGroupsMax {
                        DispatchQueue.concurrentPerform(iterations: cold.count) { cold[$0].0.prefetch(cold[$0].1) }
                    }
                }
                for p in plan.parts where !p.groups.isEmpty {
                    let rows = try codec.read(p.reader, groups: p.groups, windowStartRange: range, keys: plan.keys, fullKey: target)
                    // (Assigned when first: appending copies each row.)
                    if batchRows.isEmpty { batchRows = rows } else { batchRows += rows }
                }
            }
        }
        let groupBy = plan.compiled.groupByNames, aggregates = plan.compiled.aggregateNames
        // One source (the common point query): its rows are already in (window, key) order and
        // need no merge.
        let sources = (batchRows.isEmpty ? 0 : 1) + speedRows.reduce(0) { $0 + ($1.isEmpty ? 0 : 1) }
        if sources <= 1 {
            var rows: [QueryRow] = []
            if !batchRows.isEmpty {
                rows = batchRows.map { cell, states in
                    QueryRow(windowStart: cell.windowStart, windowEnd: cell.windowStart.flatMap { layout.window.windowEnd(start: $0) },
                             key: cell.key.values, values: states.map(\.result), source: .batch)
                }
            } else if let speed = speedRows.first(where: { !$0.isEmpty }) {
                rows = speed.map { QueryRow(windowStart: $0.windowStart, windowEnd: $0.windowEnd, key: $0.key, values: $0.values, source: .speed) }
            }
            return QueryResult(groupBy: groupBy, aggregates: aggregates, rows: rows, fingerprint: plan.compiled.fingerprint, horizon: plan.horizon, note: note)
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
                                 key: cell.key.values,
                                 values: e.states.map(\.result), source: source))
        }
        let keyed = zip(cells.keys, rows).sorted { a, b in
            if a.0.windowStart != b.0.windowStart { return (a.0.windowStart ?? Int64.min) < (b.0.windowStart ?? Int64.min) }
            return a.0.key < b.0.key
        }
        return QueryResult(groupBy: groupBy, aggregates: aggregates,
                           rows: keyed.map(\.1), fingerprint: plan.compiled.fingerprint, horizon: plan.horizon, note: note)
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

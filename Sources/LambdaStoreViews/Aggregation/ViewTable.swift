import Dispatch
import LambdaStoreCore

/// The cell store of a view, shared by the speed path and the batch path: `(window start,
/// group key) → aggregate states`, plus the view's `maxEventTime` and its late-event counters
/// (DESIGN.md "Views", "Lateness", "Details"; the state encodings are format-spec.md §3b).
///
/// Both paths run the same ``apply(_:rows:selection:policy:)`` on the same ``ViewLayout``; the
/// only difference is the ``LatePolicy``: the speed layer drops late events (``LatePolicy/dropLate``),
/// the batch layer includes them (``LatePolicy/includeAll``). Every aggregate is a monoid, so
/// ``merge(_:)`` of tables built over any split of a sequence of events equals the table built
/// over all of them — bit for bit, float sums included — as long as no event is late (the
/// batch policy) and `maxEventTime` is carried across the split (it is, by ``merge(_:)`` and by
/// seeding ``maxEventTime``).
///
/// Layout internals (none of it visible in results): group keys are interned into dense ids
/// straight from the columns' bytes (an open-addressing table whose slots hold the first 16
/// key bytes); each key keeps its newest cell, and its cells form a chain sorted by descending
/// window start, so the next window of a key is created without any lookup and a late event a
/// few windows back is found by a short walk; lookups deeper than 16 cells fall back to a
/// (window, key id) hash map built lazily. States are stored struct-of-arrays per aggregate
/// (plain `[Int64]`/`[Int128]`/`[Double]` for the common kinds, state structs for float sums,
/// string extremes and sketches).
///
/// Thread safety: a value type (copy-on-write arrays); a table may be sent between tasks, and
/// separate copies may be mutated concurrently.
public struct ViewTable: Sendable {
    /// What the batch and speed layers do with late events.
    public enum LatePolicy: Sendable, Hashable {
        /// Skip late (event, window) pairs and count them: the speed layer.
        case dropLate
        /// Apply every event (late ones are still counted): the batch layer.
        case includeAll
    }

    /// What one ``apply(_:rows:selection:policy:)`` call did.
    public struct ApplyStats: Sendable, Hashable {
        /// Rows examined.
        public var rows = 0
        /// Rows passing the selection (the view's filter).
        public var selectedRows = 0
        /// Selected rows that fell in no window: null window time, or a window starting below `Int64.min`.
        public var rowsWithoutWindow = 0
        /// Selected rows late for at least one window (counted once per event).
        public var lateEvents = 0
        /// Late (row, window) pairs.
        public var lateAssignments = 0
        /// (row, window) pairs applied to a cell.
        public var appliedAssignments = 0
        /// Rows not applied because the table cannot read the batch (0 when it was applied).
        public var skippedRows = 0
        /// Why the batch was skipped (``ViewTable/problem(with:)``), or nil.
        public var skipReason: String?
        /// Creates empty stats.
        public init() {}
    }

    /// The compiled plan this table evaluates.
    public let layout: ViewLayout
    /// The resolved kind of each aggregate.
    public let kinds: [AggregateKind]
    /// The largest non-null event time (window field) of every row applied so far, filter or
    /// not; nil before any. Recovery seeds it from a snapshot. Always nil for a view without window.
    public var maxEventTime: Int64?
    /// Selected events that were late for at least one window, over every apply and merge.
    public internal(set) var lateEvents: Int64 = 0
    /// Late events per window start (an event late for two hopping windows counts in both).
    public internal(set) var lateEventsByWindow: [Int64: Int64] = [:]

    enum KeyMode: Sendable { case none, singleString(Int), general }
    let keyMode: KeyMode

    var interner = KeyInterner()
    var nullKeyId: Int32 = -1
    /// Canonical key of each key id.
    var keys: [GroupKey] = []
    var cellWindow: [Int64] = []
    var cellKey: [Int32] = []
    /// Per key id: its newest cell (largest window start; `cell` -1 when none). A newer window
    /// cannot have a cell yet, so the common case — the next window of a key in nearly
    /// time-ordered data — creates its cell without any lookup.
    var keyHead: [KeyCell] = []
    /// Per cell: the next older *linked* cell of the same key, or -1. A key's linked cells form
    /// a chain from its head, strictly descending by window start: a late event a few windows
    /// back is found (or its cell linked in place) by a short walk.
    var cellPrev: [Int32] = []
    /// Per key id: 1 when some of its cells are not linked (created deeper than
    /// ``chainWalkMax`` in the chain): only then must a full-chain miss in ``findCell(_:_:)``
    /// consult ``cellMap``.
    var keyHasUnlinked: [UInt8] = []
    /// Every cell `[0, mappedCells)`, built lazily (only deep lookups need it).
    var cellMap = CellMap()
    var mappedCells = 0
    /// Longest chain walk before falling back to ``cellMap``.
    static let chainWalkMax = 16
    var columns: [StateColumn]

    /// Checks that the aggregation side can evaluate `layout`.
    /// - Throws: ``LambdaStoreError/Code/view`` naming the problem: an aggregate that does not
    ///   take its input type, a window without field (or a field without window), a size or
    ///   slide ≤ 0, more than ``WindowKind/windowsPerEventMax`` hopping windows per event, a
    ///   negative `allowedLateness`.
    public static func validate(_ layout: ViewLayout) throws(LambdaStoreError) {
        for s in layout.aggregates { _ = try AggregateKind(s) }
        switch layout.window {
        case .none:
            guard layout.windowFieldIndex == nil else { throw LambdaStoreError(.view, "a view without window has a window field") }
        case .tumbling(let size):
            guard layout.windowFieldIndex != nil else { throw LambdaStoreError(.view, "window without field") }
            guard size > 0 else { throw LambdaStoreError(.view, "window size \(size) must be > 0") }
        case .hopping(let size, let slide):
            guard layout.windowFieldIndex != nil else { throw LambdaStoreError(.view, "window without field") }
            guard size > 0, slide > 0 else { throw LambdaStoreError(.view, "window size \(size) and slide \(slide) must be > 0") }
            guard layout.window.windowsPerEvent <= WindowKind.windowsPerEventMax else {
                throw LambdaStoreError(.view, "hopping window size \(size) / slide \(slide) puts an event in more than \(WindowKind.windowsPerEventMax) windows")
            }
        }
        guard layout.allowedLateness >= 0 else { throw LambdaStoreError(.view, "allowedLateness \(layout.allowedLateness) is negative") }
    }

    /// An empty table for `layout`, which must pass ``validate(_:)`` (a programming error otherwise).
    public init(layout: ViewLayout) {
        do { try ViewTable.validate(layout) } catch { preconditionFailure("invalid view layout: \(error)") }
        self.layout = layout
        var ks: [AggregateKind] = []
        for s in layout.aggregates {
            guard let k = try? AggregateKind(s) else { preconditionFailure("invalid aggregate \(s.name)") }
            ks.append(k)
        }
        kinds = ks
        columns = zip(ks, layout.aggregates).map { StateColumn(kind: $0, field: $1.fieldIndex) }
        if layout.groupBy.isEmpty {
            keyMode = .none
        } else if layout.groupBy.count == 1, layout.groupBy[0].type == .string {
            keyMode = .singleString(layout.groupBy[0].index)
        } else {
            keyMode = .general
        }
    }

    /// The number of cells.
    public var cellCount: Int { cellWindow.count }

    /// Reserves room for `cells` cells, so a table that will grow to about that size does not
    /// reallocate and copy its per-cell arrays as it grows (memory is only committed as cells
    /// are added).
    public mutating func reserveCapacity(cells n: Int) {
        guard n > cellCount else { return }
        cellWindow.reserveCapacity(n)
        cellKey.reserveCapacity(n)
        cellPrev.reserveCapacity(n)
        HugePages.advise(&cellWindow)
        HugePages.advise(&cellKey)
        HugePages.advise(&cellPrev)
        for j in columns.indices { columns[j].reserve(n) }
    }

    /// Approximate heap bytes held by the table.
    /// - Complexity: O(cells) when rare aggregate kinds (float sums, strings, sketches) are present.
    public var approximateBytes: Int {
        var b = interner.slots.capacity * 8 + interner.arena.capacity + interner.entries.capacity * 16 + interner.hashes.capacity * 8
        b += keys.reduce(0) { $0 + 32 + $1.bytes.capacity }
        b += cellMap.slots.capacity * 8 + keyHasUnlinked.capacity
        b += cellWindow.capacity * 8 + cellKey.capacity * 4 + cellPrev.capacity * 4 + keyHead.capacity * 16
        b += lateEventsByWindow.count * 32
        for c in columns { b += c.approximateBytes }
        return b
    }

    // MARK: Keys and cells

    mutating func newKey(_ k: GroupKey) -> Int32 {
        precondition(keys.count < Int(Int32.max), "too many group keys")
        let id = Int32(keys.count)
        keys.append(k)
        keyHead.append(KeyCell(window: 0, cell: -1))
        keyHasUnlinked.append(0)
        return id
    }

    /// The bytes a key is interned under in this table's key mode, or nil for the null key of
    /// a single string field (which has its own id).
    func internBytes(_ k: GroupKey) -> [UInt8]? {
        switch keyMode {
        case .none, .general: return k.bytes
        case .singleString:
            if k.bytes.count >= 5 && k.bytes[0] == FieldType.string.rawValue { return Array(k.bytes[5...]) }
            return nil
        }
    }

    /// The id of `k`, creating it when `create`; -1 when absent.
    mutating func keyId(for k: GroupKey, create: Bool) -> Int32 {
        guard let b = internBytes(k) else {
            if nullKeyId < 0 && create { nullKeyId = newKey(k) }
            return nullKeyId
        }
        return b.withUnsafeBytes { p in
            let h = fastBytesHash(p)
            let id = interner.find(p, hash: h)
            if id >= 0 || !create { return id }
            let n = newKey(k)
            interner.insert(p, hash: h, id: n)
            return n
        }
    }

    func findKeyId(_ k: GroupKey) -> Int32 {
        guard let b = internBytes(k) else { return nullKeyId }
        return b.withUnsafeBytes { interner.find($0, hash: fastBytesHash($0)) }
    }

    /// The cell of (w, k), or -1 (read-only: the key's newest cell, else the map when it covers
    /// every cell (``indexAllCells()``), else a walk of the whole chain, then the map and the
    /// cells not mapped yet).
    /// - Complexity: O(1) for the key's newest windows and after ``indexAllCells()``; O(cells of
    ///   the key) at worst otherwise.
    func findCell(_ w: Int64, _ k: Int32) -> Int32 {
        let head = keyHead[Int(k)]
        if head.cell < 0 || w > head.window { return -1 }
        if w == head.window { return head.cell }
        // The map holds every cell [0, mappedCells): when that is all of them it answers alone.
        if mappedCells == cellCount { return cellMap.find(w, k, windows: cellWindow, keys: cellKey) }
        var c = head.cell
        while c >= 0 {
            let cw = cellWindow[Int(c)]
            if cw == w { return c }
            if cw < w { break }
            c = cellPrev[Int(c)]
        }
        guard keyHasUnlinked[Int(k)] != 0 else { return -1 }
        let m = cellMap.find(w, k, windows: cellWindow, keys: cellKey)
        if m >= 0 { return m }
        for x in mappedCells..<cellCount where cellWindow[x] == w && cellKey[x] == k { return Int32(x) }
        return -1
    }

    /// Brings ``cellMap`` up to date with every cell.
    mutating func catchUpCellMap() {
        while mappedCells < cellCount {
            cellMap.insert(cellWindow[mappedCells], cellKey[mappedCells], cell: Int32(mappedCells))
            mappedCells += 1
        }
    }

    /// The cell of (w, k), created when absent.
    mutating func cell(_ w: Int64, _ k: Int32) -> Int32 {
        let ki = Int(k)
        let head = keyHead[ki]
        if head.cell < 0 || w > head.window { return newestCell(w, k) }
        if w == head.window { return head.cell }
        // Walk the chain from the head (newer → older) to w or to where w belongs.
        var newer = head.cell
        var c = cellPrev[Int(newer)]
        var steps = 0
        while c >= 0 && steps < ViewTable.chainWalkMax {
            let cw = cellWindow[Int(c)]
            if cw == w { return c }
            if cw < w { break }
            newer = c
            c = cellPrev[Int(c)]
            steps += 1
        }
        // A shallow miss proves absence: an unlinked cell always has more than chainWalkMax
        // linked cells newer than it (links are only ever added), so no shallow walk passes it.
        let deep = c >= 0 && steps >= ViewTable.chainWalkMax
        if deep {
            catchUpCellMap()
            let m = cellMap.find(w, k, windows: cellWindow, keys: cellKey)
            if m >= 0 { return m }
        }
        let n = appendCell(w, k)
        if deep {
            // Too deep to link: the cell lives in the map only.
            cellPrev.append(-1)
            keyHasUnlinked[ki] = 1
            catchUpCellMap()
        } else {
            cellPrev.append(c)           // link between `newer` and `c`
            cellPrev[Int(newer)] = n
        }
        return n
    }

    /// Creates the cell of (w, k) where w is newer than every cell of k.
    @inline(__always)
    mutating func newestCell(_ w: Int64, _ k: Int32) -> Int32 {
        let ki = Int(k)
        let c = appendCell(w, k)
        cellPrev.append(keyHead[ki].cell)
        keyHead[ki] = KeyCell(window: w, cell: c)
        return c
    }

    @inline(__always)
    mutating func appendCell(_ w: Int64, _ k: Int32) -> Int32 {
        precondition(cellWindow.count < Int(Int32.max), "too many cells")
        let c = Int32(cellWindow.count)
        cellWindow.append(w)
        cellKey.append(k)
        return c
    }

    /// ``cell(_:_:)`` with the newest-window fast path inlined (tumbling and no window).
    @inline(__always)
    mutating func cachedCell(_ w: Int64, _ k: Int32) -> Int32 {
        let head = keyHead[Int(k)]
        if head.cell >= 0 {
            if w == head.window { return head.cell }
            if w < head.window { return cell(w, k) }
        }
        return newestCell(w, k)
    }

    func cellKeyOf(_ c: Int) -> CellKey {
        CellKey(windowStart: layout.window == .none ? nil : cellWindow[c], key: keys[Int(cellKey[c])])
    }

    // MARK: Reading

    /// The states of `cell` in aggregate order, or nil when the table has no such cell.
    /// - Complexity: O(1) for a key's newest windows and, for any cell, after
    ///   ``indexAllCells()``; otherwise O(cells of the key) for old windows.
    public func state(of cell: CellKey) -> [AggregateState]? {
        guard (cell.windowStart == nil) == (layout.window == .none) else { return nil }
        let k = findKeyId(cell.key)
        guard k >= 0 else { return nil }
        let c = findCell(cell.windowStart ?? 0, k)
        guard c >= 0 else { return nil }
        return columns.map { $0.state(Int(c)) }
    }

    /// Every cell key, in no particular order.
    /// - Complexity: O(cells).
    public var cellKeys: [CellKey] { (0..<cellCount).map(cellKeyOf) }

    /// Output rows sorted by (window start, group key) (the order of DESIGN.md "Queries").
    ///
    /// - Parameters:
    ///   - windowStartRange: keep windows whose start is in the range; a view without window has
    ///     no start, so a range excludes all of its rows.
    ///   - keyEquals: keep rows whose group field at `groupIndex` equals `value` (every pair must
    ///     hold). Equality is that of group keys: float −0.0 equals +0.0, NaN equals NaN, and an
    ///     `int64` value matches a `timestamp` field with the same number.
    /// - Complexity: O(cells · log cells).
    public func rows(windowStartRange: Range<Int64>? = nil, keyEquals: [(groupIndex: Int, value: Value)] = []) -> [ViewRow] {
        // An empty table (a speed generation with nothing since the horizon): no key to look up.
        if cellCount == 0 { return [] }
        let hasWindow = layout.window != .none
        // Point and key queries (every group field given): only that key's cells, found by
        // lookups of the candidate windows or a walk of the key's chain, never a scan.
        if let target = fullKey(keyEquals) {
            guard let key = target else { return [] }
            let k = findKeyId(key)
            guard k >= 0 else { return [] }
            if windowStartRange != nil && !hasWindow { return [] }
            var picked = cells(ofKey: k, windowStartRange: windowStartRange)
            // Local references: a closure over `self` would copy the whole table (one retain
            // per array) on every call, which dominates a point query.
            let windows = cellWindow
            if picked.count > 1 { picked.sort { windows[$0] < windows[$1] } }
            let values = keys[Int(k)].values
            var out: [ViewRow] = []
            out.reserveCapacity(picked.count)
            for c in picked {
                var states: [AggregateState] = []
                states.reserveCapacity(columns.count)
                for j in columns.indices { states.append(columns[j].state(c)) }
                out.append(ViewRow(windowStart: hasWindow ? windows[c] : nil,
                                   windowEnd: hasWindow ? layout.window.windowEnd(start: windows[c]) : nil,
                                   key: values, values: states.map(\.result), states: states))
            }
            return out
        }
        // Which key ids pass keyEquals.
        var keyPasses = [Bool](repeating: true, count: keys.count)
        if !keyEquals.isEmpty {
            var wanted: [(Int, [UInt8])] = []
            for (gi, v) in keyEquals {
                guard gi >= 0, gi < layout.groupBy.count else { return [] }
                var b: [UInt8] = []
                GroupKey.append(ViewTable.coerce(v, to: layout.groupBy[gi].type), to: &b)
                wanted.append((gi, b))
            }
            for id in 0..<keys.count {
                let vals = keys[id].values
                keyPasses[id] = wanted.allSatisfy { gi, b in
                    var mine: [UInt8] = []
                    GroupKey.append(vals[gi], to: &mine)
                    return mine == b
                }
            }
        }
        // Rank keys once so cells sort by integers.
        let order = (0..<keys.count).sorted { keys[$0] < keys[$1] }
        var rank = [Int32](repeating: 0, count: keys.count)
        for (r, id) in order.enumerated() { rank[id] = Int32(r) }
        var picked: [Int] = []
        for c in 0..<cellCount where keyPasses[Int(cellKey[c])] {
            if let range = windowStartRange {
                guard hasWindow, range.contains(cellWindow[c]) else { continue }
            }
            picked.append(c)
        }
        picked.sort { a, b in
            cellWindow[a] != cellWindow[b] ? cellWindow[a] < cellWindow[b] : rank[Int(cellKey[a])] < rank[Int(cellKey[b])]
        }
        var decoded = [[Value]?](repeating: nil, count: keys.count)
        return picked.map { c in
            let k = Int(cellKey[c])
            if decoded[k] == nil { decoded[k] = keys[k].values }
            let states = columns.map { $0.state(c) }
            return ViewRow(
                windowStart: hasWindow ? cellWindow[c] : nil,
                windowEnd: hasWindow ? layout.window.windowEnd(start: cellWindow[c]) : nil,
                key: decoded[k] ?? [], values: states.map(\.result), states: states)
        }
    }

    /// The group key `keyEquals` pins down when it names every group field: `.some(nil)` when
    /// two constraints on one field disagree (nothing matches), nil when some field is free or
    /// an index is out of range.
    func fullKey(_ keyEquals: [(groupIndex: Int, value: Value)]) -> GroupKey?? {
        let n = layout.groupBy.count
        guard n > 0, keyEquals.count >= n else { return nil }
        var values = [Value?](repeating: nil, count: n)
        var contradictory = false
        for (gi, v) in keyEquals {
            guard gi >= 0, gi < n else { return nil }
            let c = ViewTable.coerce(v, to: layout.groupBy[gi].type)
            if let prior = values[gi] {
                if GroupKey(values: [prior]) != GroupKey(values: [c]) { contradictory = true }
            } else {
                values[gi] = c
            }
        }
        let all = values.compactMap { $0 }
        guard all.count == n else { return nil }
        return .some(contradictory ? nil : GroupKey(values: all))
    }

    /// The cells of key `k` whose window start is in `range` (every cell of the key when nil).
    /// - Complexity: O(candidate windows) lookups when the range spans at most 64 window starts;
    ///   otherwise O(cells of the key) (a chain walk, or a scan of every cell when some of the
    ///   key's cells were created too deep in its chain to be linked).
    func cells(ofKey k: Int32, windowStartRange range: Range<Int64>?) -> [Int] {
        let step: Int64
        switch layout.window {
        case .none:
            let c = findCell(0, k)
            return c >= 0 ? [Int(c)] : []
        case .tumbling(let size): step = size
        case .hopping(_, let slide): step = slide
        }
        if let r = range, !r.isEmpty {
            // Window starts are the multiples of `step` (floor alignment from epoch 0).
            let lo = Int128(r.lowerBound), hi = Int128(r.upperBound), st = Int128(step)
            var first = lo / st * st
            if first < lo { first += st }
            if first >= hi { return [] }
            let count = (hi - 1 - first) / st + 1
            if count <= 64 {
                var out: [Int] = []
                var s = first
                while s < hi {
                    let c = findCell(Int64(s), k)
                    if c >= 0 { out.append(Int(c)) }
                    s += st
                }
                return out
            }
        }
        var out: [Int] = []
        if keyHasUnlinked[Int(k)] != 0 {
            for c in 0..<cellCount where cellKey[c] == k { out.append(c) }
        } else {
            var c = keyHead[Int(k)].cell
            while c >= 0 {
                out.append(Int(c))
                c = cellPrev[Int(c)]
            }
        }
        if let r = range { out.removeAll { !r.contains(cellWindow[$0]) } }
        return out
    }

    static func coerce(_ v: Value, to t: FieldType) -> Value {
        switch (v, t) {
        case (.int64(let x), .timestamp): .timestamp(x)
        case (.timestamp(let x), .int64): .int64(x)
        default: v
        }
    }

    // MARK: Merge and eviction

    /// Merges `other` (same layout) into this table: cell by cell monoid merge; `maxEventTime`
    /// becomes the larger; late counters add up.
    /// - Complexity: O(cells of `other`).
    public mutating func merge(_ other: ViewTable) {
        let target = mergeCells(of: other)
        for j in columns.indices {
            columns[j].grow(to: cellCount)
            columns[j].merge(column: other.columns[j], into: target)
        }
    }

    /// ``merge(_:)`` on two threads: while this one maps `other`'s cells to cells here, a
    /// second one extends the state columns by identity states for every cell of `other`
    /// (faulting in and zero-filling fresh memory: most of the cost of merging a table whose
    /// cells are mostly new here, as when the batch job joins the parts of the log).
    /// - Complexity: O(cells of `other`).
    public mutating func mergeUsingTwoThreads(_ other: ViewTable) {
        var cols: [StateColumn] = []
        swap(&cols, &columns)
        let extended = cellCount + other.cellCount
        var target: [Int] = []
        withUnsafeMutablePointer(to: &self) { me in
            withUnsafeMutablePointer(to: &cols) { cs in
                withUnsafeMutablePointer(to: &target) { tg in
                    let me = UncheckedPointer(me), cs = UncheckedPointer(cs), tg = UncheckedPointer(tg)
                    DispatchQueue.concurrentPerform(iterations: 2) { i in
                        if i == 0 {
                            tg.pointer.pointee = me.pointer.pointee.mergeCells(of: other)
                        } else {
                            for j in cs.pointer.pointee.indices { cs.pointer.pointee[j].grow(to: extended) }
                        }
                    }
                }
            }
        }
        swap(&cols, &columns)
        for j in columns.indices {
            columns[j].truncate(to: cellCount)
            columns[j].merge(column: other.columns[j], into: target)
        }
    }

    /// Everything of ``merge(_:)`` but the states: counters, keys and cells; returns, per cell
    /// of `other`, its cell here (created when absent). The state columns are left short.
    mutating func mergeCells(of other: ViewTable) -> [Int] {
        precondition(layout == other.layout, "merging tables of different layouts")
        if let m = other.maxEventTime { maxEventTime = Swift.max(maxEventTime ?? m, m) }
        lateEvents &+= other.lateEvents
        for (w, n) in other.lateEventsByWindow { lateEventsByWindow[w, default: 0] &+= n }
        var keyMap = [Int32](repeating: -1, count: other.keys.count)
        let m = other.cellCount
        reserveCapacity(cells: cellCount + m)
        var target = [Int](repeating: 0, count: m)
        // Cells of a later part of the log are mostly newer than every cell of their key here:
        // the inlined newest-window path appends them without a lookup.
        target.withUnsafeMutableBufferPointer { tg in
            other.cellWindow.withUnsafeBufferPointer { ow in
                other.cellKey.withUnsafeBufferPointer { ok in
                    for oc in 0..<m {
                        let ko = Int(ok[oc])
                        var k = keyMap[ko]
                        if k < 0 {
                            k = keyId(for: other.keys[ko], create: true)
                            keyMap[ko] = k
                        }
                        tg[oc] = Int(cachedCell(ow[oc], k))
                    }
                }
            }
        }
        return target
    }

    /// Merges states into one cell (creating it), e.g. states read back from a snapshot.
    /// - Precondition: one state per aggregate, each of the aggregate's kind (check ``AggregateState/kind``
    ///   against ``kinds`` before calling with states read from disk).
    public mutating func merge(states: [AggregateState], into cell: CellKey) {
        precondition(states.count == columns.count && zip(states, kinds).allSatisfy { $0.kind == $1 }, "states do not match the view's aggregates")
        precondition((cell.windowStart == nil) == (layout.window == .none), "window start does not match the view's window")
        let k = keyId(for: cell.key, create: true)
        let c = Int(self.cell(cell.windowStart ?? 0, k))
        for j in columns.indices {
            columns[j].grow(to: cellCount)
            columns[j].merge(states[j], into: c)
        }
    }

    /// Removes every cell for which `predicate` is true (eviction of settled windows), and the
    /// group keys no remaining cell uses. Late counters are kept.
    /// - Complexity: O(cells + keys).
    public mutating func removeCells(where predicate: (CellKey) -> Bool) {
        var keep: [Int] = []
        keep.reserveCapacity(cellCount)
        for c in 0..<cellCount where !predicate(cellKeyOf(c)) { keep.append(c) }
        if keep.count == cellCount { return }
        var usedKeys = [Int32](repeating: -1, count: keys.count)
        var newKeys: [GroupKey] = []
        for c in keep {
            let k = Int(cellKey[c])
            if usedKeys[k] < 0 {
                usedKeys[k] = Int32(newKeys.count)
                newKeys.append(keys[k])
            }
        }
        cellWindow = keep.map { cellWindow[$0] }
        cellKey = keep.map { usedKeys[Int(cellKey[$0])] }
        for j in columns.indices { columns[j].compact(keep) }
        keys = []
        keyHead = []
        keyHasUnlinked = []
        interner = KeyInterner()
        nullKeyId = -1
        for k in newKeys { _ = keyId(for: k, create: true) }
        // Relink every cell: per key, descending window order.
        cellMap = CellMap()
        mappedCells = 0
        cellPrev = [Int32](repeating: -1, count: cellCount)
        let order = (0..<cellCount).sorted { cellKey[$0] != cellKey[$1] ? cellKey[$0] < cellKey[$1] : cellWindow[$0] < cellWindow[$1] }
        for c in order {
            let k = Int(cellKey[c])
            cellPrev[c] = keyHead[k].cell
            keyHead[k] = KeyCell(window: cellWindow[c], cell: Int32(c))
        }
    }
}

/// A pointer handed to the other thread of ``ViewTable/mergeUsingTwoThreads(_:)``, which
/// touches disjoint data through it and is joined before the pointer's scope ends.
struct UncheckedPointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ p: UnsafeMutablePointer<T>) { pointer = p }
}

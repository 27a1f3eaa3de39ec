import LambdaStoreCore

/// A cell in internal form: (window start, key id).
struct PackedCell: Hashable {
    var window: Int64
    var key: Int32
}

/// Produces the key id of a row (interning it on first sight).
protocol RowKeyer {
    mutating func key(_ r: Int, _ t: inout ViewTable) -> Int32
    /// The key id of row `r` and its cell in window `w` (created when absent).
    mutating func keyAndCell(_ r: Int, window w: Int64, _ t: inout ViewTable) -> (key: Int32, cell: Int32)
}

extension RowKeyer {
    @inline(__always)
    mutating func keyAndCell(_ r: Int, window w: Int64, _ t: inout ViewTable) -> (key: Int32, cell: Int32) {
        let k = key(r, &t)
        return (k, t.cachedCell(w, k))
    }
}

/// No group-by fields: one key.
struct NoKeyer: RowKeyer {
    @inline(__always)
    mutating func key(_ r: Int, _ t: inout ViewTable) -> Int32 {
        if t.keys.isEmpty { return t.keyId(for: .empty, create: true) }
        return 0
    }
}

extension ViewTable {
    /// The key id of a single-string-field key with these UTF-8 bytes, interned on first sight.
    @inline(__always)
    mutating func stringKeyId(_ b: UnsafeRawBufferPointer) -> Int32 {
        let h = fastBytesHash(b)
        let id = interner.find(b, hash: h)
        if id >= 0 { return id }
        var canonical: [UInt8] = [FieldType.string.rawValue]
        GroupKey.appendLE(UInt32(truncatingIfNeeded: b.count), &canonical)
        canonical.append(contentsOf: b)
        let n = newKey(GroupKey(unchecked: canonical))
        interner.insert(b, hash: h, id: n)
        return n
    }

    /// The key id of the null single-field key.
    @inline(__always)
    mutating func nullStringKeyId() -> Int32 {
        if nullKeyId < 0 { nullKeyId = newKey(GroupKey(unchecked: [0])) }
        return nullKeyId
    }
}

/// One string group field: interned straight from the column's UTF-8 bytes.
struct StringKeyer: RowKeyer {
    let v: ColumnView
    @inline(__always)
    mutating func key(_ r: Int, _ t: inout ViewTable) -> Int32 {
        if v.isNull(r) { return t.nullStringKeyId() }
        return t.stringKeyId(v.bytes(r))
    }
}

/// What a ``DictionaryStringKeyer`` knows about one dictionary entry: its key id (-1: not
/// interned yet) and its cell in window `window` (`cell` -1: none known).
struct EntryCell {
    var window: Int64
    var key: Int32
    var cell: Int32
}

/// One dictionary-encoded string group field. Before the rows, one pass over the dictionary
/// looks every entry up in the key table (without interning) and notes its key's newest cell:
/// independent lookups the processor overlaps, where a row-by-row probe waits for each cache
/// miss in turn. A row then costs one read of its entry's slot when its window is the one
/// noted (most rows of nearly time-ordered data); otherwise its cell is found or created as
/// for a plain column and noted.
struct DictionaryStringKeyer: RowKeyer {
    let v: ColumnView
    /// One slot per dictionary entry, owned by the caller.
    let slots: UnsafeMutablePointer<EntryCell>

    /// Fills `slots` (room for every entry of `v`'s dictionary) from `table`.
    init(v: ColumnView, slots: UnsafeMutablePointer<EntryCell>, table: ViewTable) {
        self.v = v
        self.slots = slots
        let d = v.offsets.count - 1
        // Three passes so the cache misses overlap: hash every entry and start loading its
        // key-table slot; probe (the slots are arriving) and start loading each found key's
        // head; read the heads.
        let hashes = UnsafeMutablePointer<UInt64>.allocate(capacity: Swift.max(1, d))
        defer { hashes.deallocate() }
        for e in 0..<d {
            let h = fastBytesHash(v.entry(e))
            hashes[e] = h
            table.interner.prefetch(hash: h)
        }
        table.keyHead.withUnsafeBufferPointer { heads in
            let base = UnsafeRawPointer(heads.baseAddress)
            for e in 0..<d {
                let k = table.interner.find(v.entry(e), hash: hashes[e])
                slots[e] = EntryCell(window: 0, key: k, cell: -1)
                if k >= 0, let base { prefetchForRead(base + Int(k) * MemoryLayout<KeyCell>.stride) }
            }
            for e in 0..<d where slots[e].key >= 0 {
                let h = heads[Int(slots[e].key)]
                slots[e].window = h.window
                slots[e].cell = h.cell
            }
        }
    }

    @inline(__always)
    mutating func key(_ r: Int, _ t: inout ViewTable) -> Int32 {
        if v.isNull(r) { return t.nullStringKeyId() }
        let e = Int(v.codes[r])
        let k = slots[e].key
        if k >= 0 { return k }
        let n = t.stringKeyId(v.entry(e))
        slots[e] = EntryCell(window: 0, key: n, cell: -1)
        return n
    }

    @inline(__always)
    mutating func keyAndCell(_ r: Int, window w: Int64, _ t: inout ViewTable) -> (key: Int32, cell: Int32) {
        if v.isNull(r) {
            let k = t.nullStringKeyId()
            return (k, t.cachedCell(w, k))
        }
        let e = Int(v.codes[r])
        let s = slots[e]
        if s.cell >= 0 && s.window == w { return (s.key, s.cell) }
        let k = s.key >= 0 ? s.key : t.stringKeyId(v.entry(e))
        let c = t.cachedCell(w, k)
        slots[e] = EntryCell(window: w, key: k, cell: c)
        return (k, c)
    }
}

/// Any group fields: the row's canonical key bytes, then interned.
struct GeneralKeyer: RowKeyer {
    let views: [ColumnView]
    var scratch: [UInt8] = []

    @inline(__always)
    mutating func key(_ r: Int, _ t: inout ViewTable) -> Int32 {
        scratch.removeAll(keepingCapacity: true)
        for v in views {
            if v.isNull(r) { scratch.append(0); continue }
            scratch.append(v.type.rawValue)
            switch v.type {
            case .int64, .timestamp: GroupKey.appendLE(UInt64(bitPattern: v.ints[r]), &scratch)
            case .float64: GroupKey.appendLE(CanonicalFloat.canonical(v.doubles[r]).bitPattern, &scratch)
            case .bool: scratch.append(v.ints[r] != 0 ? 1 : 0)
            case .string:
                let b = v.bytes(r)
                GroupKey.appendLE(UInt32(truncatingIfNeeded: b.count), &scratch)
                scratch.append(contentsOf: b)
            }
        }
        return scratch.withUnsafeBytes { b in
            let h = fastBytesHash(b)
            let id = t.interner.find(b, hash: h)
            if id >= 0 { return id }
            let n = t.newKey(GroupKey(unchecked: [UInt8](b)))
            t.interner.insert(b, hash: h, id: n)
            return n
        }
    }
}

/// The tumbling window a grouping pass is on: `[start, end)`; `end` is clamped to
/// `Int64.max` (and `endFits` false) when `start + size` overflows.
struct TumblingWindowCursor {
    var start: Int64 = 0
    var end: Int64 = 0
    var endFits = false
    var valid = false

    /// Moves to the window holding `t`; false when `t` has none (its start underflows).
    @inline(__always)
    mutating func move(to t: Int64, size: Int64) -> Bool {
        if valid && t >= start && t < end && endFits { return true }
        guard let s = WindowKind.floorMultiple(t, size) else { return false }
        start = s
        let (e, o) = s.addingReportingOverflow(size)
        end = o ? Int64.max : e
        endFits = !o
        valid = true
        return true
    }
}

/// The (row, cell) pairs one apply produces: a manually managed growable buffer, so the hot
/// loop appends without array uniqueness checks.
struct Assignments: ~Copyable {
    private(set) var rows: UnsafeMutablePointer<Int32>
    private(set) var cells: UnsafeMutablePointer<Int32>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = Swift.max(16, capacity)
        rows = .allocate(capacity: self.capacity)
        cells = .allocate(capacity: self.capacity)
    }

    deinit {
        rows.deallocate()
        cells.deallocate()
    }

    @inline(__always)
    mutating func append(row: Int, cell: Int32) {
        if count == capacity { grow() }
        rows[count] = Int32(truncatingIfNeeded: row)
        cells[count] = cell
        count += 1
    }

    mutating func grow() {
        let n = capacity * 2
        let r = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        let c = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        r.update(from: rows, count: count)
        c.update(from: cells, count: count)
        rows.deallocate()
        cells.deallocate()
        rows = r
        cells = c
        capacity = n
    }
}

extension ViewTable {
    /// Applies rows of `batch` in order (DESIGN.md "Lateness").
    ///
    /// `maxEventTime` is updated by every row in `rows` (whether or not it passes the selection;
    /// null times do not move it). A row passing the selection is late for window `w` when `w`
    /// is closed as of `maxEventTime` *before* that row: `maxEventTime >= w.end + allowedLateness`.
    /// Under ``LatePolicy/dropLate`` late (row, window) pairs are skipped and counted; under
    /// ``LatePolicy/includeAll`` everything is applied (late ones still counted). A selected row
    /// with a null window time falls in no window and is only counted (``ApplyStats/rowsWithoutWindow``).
    ///
    /// - Parameters:
    ///   - batch: a batch laid out under the schema the layout was compiled for, or a later
    ///     compatible version of it (extra trailing columns are ignored). A batch the layout
    ///     cannot read (``problem(with:)``) is skipped: nothing is applied, not even to
    ///     `maxEventTime`, and the stats say so (``ApplyStats/skippedRows``,
    ///     ``ApplyStats/skipReason``).
    ///   - rows: the rows to apply (default: all).
    ///   - selection: one byte per row of `batch` (not of `rows`), non-zero when the row passes
    ///     the view's filter; nil when every row passes.
    ///   - policy: the late policy.
    /// - Returns: what was applied.
    /// - Complexity: O(rows × windows per event), amortized.
    @discardableResult
    public mutating func apply(_ batch: ColumnBatch, rows: Range<Int>? = nil, selection: [UInt8]?, policy: LatePolicy) -> ApplyStats {
        var touched = Set<PackedCell>()
        return _apply(batch, rows: rows, selection: selection, policy: policy, track: false, touched: &touched)
    }

    /// ``apply(_:rows:selection:policy:)``, also inserting into `touched` every cell that got a
    /// selected row, late or not (what the drift monitor compares).
    @discardableResult
    public mutating func apply(_ batch: ColumnBatch, rows: Range<Int>? = nil, selection: [UInt8]?, policy: LatePolicy, touched: inout Set<CellKey>) -> ApplyStats {
        var packed = Set<PackedCell>()
        let s = _apply(batch, rows: rows, selection: selection, policy: policy, track: true, touched: &packed)
        let hasWindow = layout.window != .none
        for p in packed { touched.insert(CellKey(windowStart: hasWindow ? p.window : nil, key: keys[Int(p.key)])) }
        return s
    }

    /// Why `batch` cannot be applied to this table, or nil when it can
    /// (``ViewLayout/problem(with:)``).
    /// - Complexity: O(rows) per string column read, O(1) per other column read.
    public func problem(with batch: ColumnBatch) -> String? { layout.problem(with: batch) }

    mutating func _apply(_ batch: ColumnBatch, rows: Range<Int>?, selection: [UInt8]?, policy: LatePolicy, track: Bool, touched: inout Set<PackedCell>) -> ApplyStats {
        let n = batch.count
        let range = rows ?? 0..<n
        precondition(range.lowerBound >= 0 && range.upperBound <= n, "rows \(range) outside the batch of \(n)")
        precondition(selection == nil || selection?.count == n, "selection must have one byte per batch row")
        precondition(n <= Int(Int32.max), "batch too large")
        var stats = ApplyStats()
        stats.rows = range.count
        // A batch this layout cannot read (a mistyped or missing column: a schema change racing
        // the caller, or a damaged batch) is skipped whole, never trapped on.
        if let p = problem(with: batch) {
            stats.skippedRows = range.count
            stats.skipReason = p
            return stats
        }
        var used = [Bool](repeating: false, count: batch.columns.count)
        for (i, _) in layout.columnsRead { used[i] = true }
        var asg = Assignments(capacity: range.count * Swift.min(4, Swift.max(1, layout.window.windowsPerEvent)))

        withColumnViews(batch.columns, used: used) { views in
            let sel: [UInt8] = selection ?? []
            sel.withUnsafeBufferPointer { selBuf in
                let selPtr: UnsafeBufferPointer<UInt8>? = selection == nil ? nil : selBuf
                let ts = layout.windowFieldIndex.flatMap { views[$0] }
                switch keyMode {
                case .none:
                    var k = NoKeyer()
                    assign(&k, ts: ts, sel: selPtr, range: range, policy: policy, track: track, touched: &touched, asg: &asg, stats: &stats)
                case .singleString(let i):
                    guard let v = views[i] else { return }
                    if v.isDictionary {
                        let slots = UnsafeMutablePointer<EntryCell>.allocate(capacity: Swift.max(1, v.offsets.count - 1))
                        defer { slots.deallocate() }
                        var k = DictionaryStringKeyer(v: v, slots: slots, table: self)
                        assign(&k, ts: ts, sel: selPtr, range: range, policy: policy, track: track, touched: &touched, asg: &asg, stats: &stats)
                    } else {
                        var k = StringKeyer(v: v)
                        assign(&k, ts: ts, sel: selPtr, range: range, policy: policy, track: track, touched: &touched, asg: &asg, stats: &stats)
                    }
                case .general:
                    var k = GeneralKeyer(views: layout.groupBy.compactMap { views[$0.index] })
                    assign(&k, ts: ts, sel: selPtr, range: range, policy: policy, track: track, touched: &touched, asg: &asg, stats: &stats)
                }
            }
            stats.appliedAssignments = asg.count
            let cellTotal = cellCount
            var scratch: [UInt8] = []
            let rp = UnsafeBufferPointer(start: asg.rows, count: asg.count)
            let cp = UnsafeBufferPointer(start: asg.cells, count: asg.count)
            for j in columns.indices {
                columns[j].grow(to: cellTotal)
                columns[j].apply(rows: rp, cells: cp, input: columns[j].field.flatMap { views[$0] }, scratch: &scratch)
            }
        }
        return stats
    }

    /// The tumbling-window pass of ``assign`` for the common case (no null event times, a
    /// filter selection): one branch-free sweep over every row records the selected rows and,
    /// for each, the largest event time before it (lateness is judged against every earlier
    /// row, selected or not); a second sweep assigns only the selected rows, so the
    /// unpredictable "is this row selected" branch is gone from the grouping loop.
    mutating func assignTumblingSelected<K: RowKeyer>(_ keyer: inout K, ts: ColumnView, sel: UnsafeBufferPointer<UInt8>, size: Int64, range: Range<Int>,
                                                      policy: LatePolicy, track: Bool, touched: inout Set<PackedCell>, asg: inout Assignments, stats: inout ApplyStats) {
        let lateness = layout.allowedLateness
        let drop = policy == .dropLate
        let cnt = range.count
        let rows = UnsafeMutablePointer<Int32>.allocate(capacity: cnt)
        let before = UnsafeMutablePointer<Int64>.allocate(capacity: cnt)
        defer {
            rows.deallocate()
            before.deallocate()
        }
        // Sweep 1. Int64.min stands for "no event time yet": no window can be late against it
        // (its bound underflows, or is below every window end), and it is only the previous
        // maximum of the range's first row when the table has none.
        let noneBefore = maxEventTime == nil
        var m = maxEventTime ?? Int64.min
        var n = 0
        let tp = ts.ints.baseAddress.unsafelyUnwrapped, sp = sel.baseAddress.unsafelyUnwrapped
        for r in range {
            rows[n] = Int32(truncatingIfNeeded: r)
            before[n] = m
            n &+= sp[r] != 0 ? 1 : 0
            let t = tp[r]
            m = t > m ? t : m
        }
        maxEventTime = m
        stats.selectedRows += n
        // Sweep 2.
        var window = TumblingWindowCursor()
        var lateRows = 0
        for j in 0..<n {
            let r = Int(rows[j])
            guard window.move(to: tp[r], size: size) else { stats.rowsWithoutWindow += 1; continue }
            let hadM = !(noneBefore && r == range.lowerBound)
            if groupTumblingRow(&keyer, row: r, window: window, previousMax: hadM ? before[j] : nil, lateness: lateness, drop: drop,
                                track: track, touched: &touched, asg: &asg) {
                lateRows += 1
            }
        }
        stats.lateEvents += lateRows
        stats.lateAssignments += lateRows
        lateEvents &+= Int64(lateRows)
    }

    /// Groups selected row `r` into its tumbling `window`, unless it is late for it under
    /// `drop`. Late: the window closed (`end + lateness <= previousMax`, the largest event time
    /// before the row; nil when there was none). Returns whether the row was late.
    @inline(__always)
    mutating func groupTumblingRow<K: RowKeyer>(_ keyer: inout K, row r: Int, window: TumblingWindowCursor, previousMax: Int64?, lateness: Int64, drop: Bool,
                                                track: Bool, touched: inout Set<PackedCell>, asg: inout Assignments) -> Bool {
        var late = false
        if let prevM = previousMax, window.endFits {
            let (bound, o) = prevM.subtractingReportingOverflow(lateness)
            if !o && window.end <= bound {
                late = true
                noteLate(window: window.start)
                if drop {
                    if track { touched.insert(PackedCell(window: window.start, key: keyer.key(r, &self))) }
                    return true
                }
            }
        }
        let (k, c) = keyer.keyAndCell(r, window: window.start, &self)
        asg.append(row: r, cell: c)
        if track { touched.insert(PackedCell(window: window.start, key: k)) }
        return late
    }

    @inline(__always)
    mutating func noteLate(window w: Int64) {
        lateEventsByWindow[w, default: 0] &+= 1
    }

    /// Phase 1: lateness, keys and cells for every row; fills `asg`.
    mutating func assign<K: RowKeyer>(_ keyer: inout K, ts: ColumnView?, sel: UnsafeBufferPointer<UInt8>?, range: Range<Int>, policy: LatePolicy, track: Bool, touched: inout Set<PackedCell>, asg: inout Assignments, stats: inout ApplyStats) {
        let lateness = layout.allowedLateness
        let drop = policy == .dropLate
        switch layout.window {
        case .none:
            for r in range {
                if let sel, sel[r] == 0 { continue }
                stats.selectedRows += 1
                let (k, c) = keyer.keyAndCell(r, window: 0, &self)
                asg.append(row: r, cell: c)
                if track { touched.insert(PackedCell(window: 0, key: k)) }
            }

        case .tumbling(let size):
            guard let ts else { return }
            if !ts.hasNulls, let sel, !range.isEmpty {
                assignTumblingSelected(&keyer, ts: ts, sel: sel, size: size, range: range, policy: policy, track: track, touched: &touched, asg: &asg, stats: &stats)
                return
            }
            var hasM = maxEventTime != nil
            var m = maxEventTime ?? 0
            var window = TumblingWindowCursor()
            var lateRows = 0
            for r in range {
                if ts.isNull(r) {
                    if sel == nil || sel![r] != 0 { stats.selectedRows += 1; stats.rowsWithoutWindow += 1 }
                    continue
                }
                let t = ts.ints[r]
                let hadM = hasM, prevM = m
                if !hasM || t > m { m = t; hasM = true }
                if let sel, sel[r] == 0 { continue }
                stats.selectedRows += 1
                guard window.move(to: t, size: size) else { stats.rowsWithoutWindow += 1; continue }
                if groupTumblingRow(&keyer, row: r, window: window, previousMax: hadM ? prevM : nil, lateness: lateness, drop: drop,
                                    track: track, touched: &touched, asg: &asg) {
                    lateRows += 1
                }
            }
            maxEventTime = hasM ? m : nil
            stats.lateEvents += lateRows
            stats.lateAssignments += lateRows
            lateEvents &+= Int64(lateRows)

        case .hopping(let size, let slide):
            guard let ts else { return }
            var hasM = maxEventTime != nil
            var m = maxEventTime ?? 0
            for r in range {
                if ts.isNull(r) {
                    if sel == nil || sel![r] != 0 { stats.selectedRows += 1; stats.rowsWithoutWindow += 1 }
                    continue
                }
                let t = ts.ints[r]
                let hadM = hasM, prevM = m
                if !hasM || t > m { m = t; hasM = true }
                if let sel, sel[r] == 0 { continue }
                stats.selectedRows += 1
                guard var s = WindowKind.floorMultiple(t, slide) else { stats.rowsWithoutWindow += 1; continue }
                // Windows [s, s + size) with s > t - size; all of them when t - size underflows.
                let (lo, loUnder) = t.subtractingReportingOverflow(size)
                let (bound, boundUnder) = prevM.subtractingReportingOverflow(lateness)
                let canBeLate = hadM && !boundUnder
                var key: Int32 = -1
                var rowLate = false
                while loUnder || s > lo {
                    let (e, eo) = s.addingReportingOverflow(size)
                    if canBeLate && !eo && e <= bound {
                        rowLate = true
                        stats.lateAssignments += 1
                        noteLate(window: s)
                        if drop {
                            if track {
                                if key < 0 { key = keyer.key(r, &self) }
                                touched.insert(PackedCell(window: s, key: key))
                            }
                            let (nx, so) = s.subtractingReportingOverflow(slide)
                            if so { break }
                            s = nx
                            continue
                        }
                    }
                    if key < 0 { key = keyer.key(r, &self) }
                    asg.append(row: r, cell: cell(s, key))
                    if track { touched.insert(PackedCell(window: s, key: key)) }
                    let (nx, so) = s.subtractingReportingOverflow(slide)
                    if so { break }
                    s = nx
                }
                if rowLate {
                    stats.lateEvents += 1
                    lateEvents &+= 1
                }
            }
            maxEventTime = hasM ? m : nil
        }
    }
}

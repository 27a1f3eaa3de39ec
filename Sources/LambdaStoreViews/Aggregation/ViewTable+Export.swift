import LambdaStoreCore

/// Bulk, allocation-light access to every cell, in serving order, for writers of snapshot
/// files (the batch layer): no `ViewRow` per cell, group values decoded once per key.
extension ViewTable {
    /// The rank of each key id in group-key order.
    /// - Complexity: O(keys · log keys) comparisons of 64-bit order prefixes
    ///   (``GroupKey/orderPrefix(_:)``); whole keys are compared only where prefixes tie.
    func keyRanks() -> [Int32] {
        let prefix = keys.map { GroupKey.orderPrefix($0.bytes) }
        let order = prefix.withUnsafeBufferPointer { p in
            (0..<keys.count).sorted { a, b in
                let pa = p[a], pb = p[b]
                return pa != pb ? pa < pb : keys[a] < keys[b]
            }
        }
        var rank = [Int32](repeating: 0, count: keys.count)
        for (r, id) in order.enumerated() { rank[id] = Int32(r) }
        return rank
    }

    /// Every cell index, sorted by (window start, group key): the order of ``rows(windowStartRange:keyEquals:)``.
    /// - Complexity: O(keys · log keys + windows · log windows + cells): each cell gets a dense
    ///   composite key (window rank, key rank), then a stable LSD radix sort on it, skipped when
    ///   the cells are already in order.
    public func sortedCellIndices() -> [Int] {
        let n = cellCount
        guard n > 1 else { return Array(0..<n) }
        let keyRank = keyRanks()
        // Window ranks: cells come in runs of one window (nearly time-ordered data), so the
        // dictionary is consulted once per run.
        let windows = distinctWindowStarts.compactMap { $0 }.sorted()
        var windowRank: [Int64: UInt64] = [:]
        windowRank.reserveCapacity(windows.count)
        for (r, w) in windows.enumerated() { windowRank[w] = UInt64(r) }
        let keyBits = UInt64(max(1, Int.bitWidth - max(1, keys.count).leadingZeroBitCount))
        var composite = [UInt64](zeroSafeCapacity: n) { b, count in
            var lastWindow = cellWindow[0], lastRank = windowRank[cellWindow[0]] ?? 0
            cellWindow.withUnsafeBufferPointer { cw in
                cellKey.withUnsafeBufferPointer { ck in
                    keyRank.withUnsafeBufferPointer { kr in
                        for c in 0..<n {
                            let w = cw[c]
                            if w != lastWindow { lastWindow = w; lastRank = windowRank[w] ?? 0 }
                            b[c] = lastRank << keyBits | UInt64(UInt32(bitPattern: kr[Int(ck[c])]))
                        }
                    }
                }
            }
            count = n
        }
        let sorted = composite.withUnsafeBufferPointer { b in (1..<n).allSatisfy { b[$0 - 1] <= b[$0] } }
        var idx = [Int32](zeroSafeCapacity: n) { b, count in
            for i in 0..<n { b[i] = Int32(i) }
            count = n
        }
        if !sorted { Self.radixSort(&composite, &idx) }
        return [Int](zeroSafeCapacity: n) { b, count in
            idx.withUnsafeBufferPointer { x in for i in 0..<n { b[i] = Int(x[i]) } }
            count = n
        }
    }

    /// Sorts `idx` (and `keys`) stably by `keys`: LSD counting passes of at most 12 bits over
    /// the bits in use, as few passes as that allows (two for the 24 bits of 720 windows ×
    /// 10,000 keys).
    static func radixSort(_ keys: inout [UInt64], _ idx: inout [Int32]) {
        let n = idx.count
        let maxKey = keys.max() ?? 0
        let bits = UInt64.bitWidth - maxKey.leadingZeroBitCount
        guard bits > 0 else { return }
        let passes = (bits + 11) / 12
        let digitBits = (bits + passes - 1) / passes, radix = 1 << digitBits
        var keys2 = [UInt64](zeroSafeCapacity: n) { _, count in count = n }
        var idx2 = [Int32](zeroSafeCapacity: n) { _, count in count = n }
        var counts = [Int](repeating: 0, count: radix)
        var shift = 0
        while shift < bits {
            let sh = UInt64(shift), mask = UInt64(radix - 1)
            keys.withUnsafeBufferPointer { k in
                idx.withUnsafeBufferPointer { x in
                    keys2.withUnsafeMutableBufferPointer { k2 in
                        idx2.withUnsafeMutableBufferPointer { x2 in
                            counts.withUnsafeMutableBufferPointer { cnt in
                                for d in 0..<radix { cnt[d] = 0 }
                                for i in 0..<n { cnt[Int((k[i] >> sh) & mask)] += 1 }
                                var sum = 0
                                for d in 0..<radix { let c = cnt[d]; cnt[d] = sum; sum += c }
                                for i in 0..<n {
                                    let d = Int((k[i] >> sh) & mask)
                                    let at = cnt[d]
                                    cnt[d] = at + 1
                                    k2[at] = k[i]
                                    x2[at] = x[i]
                                }
                            }
                        }
                    }
                }
            }
            swap(&keys, &keys2)
            swap(&idx, &idx2)
            shift += digitBits
        }
    }

    /// The distinct window starts of the cells (nil for a view without a window).
    /// - Complexity: O(cells) (runs of equal windows, the common case, cost no hashing).
    public var distinctWindowStarts: Set<Int64?> {
        if layout.window == .none { return cellCount > 0 ? [nil] : [] }
        var set = Set<Int64?>()
        var last: Int64? = nil
        for w in cellWindow where w != last {
            set.insert(w)
            last = w
        }
        return set
    }

    /// The window start of cell `c` (nil for a view without a window).
    @inlinable
    public func windowStart(ofCell c: Int) -> Int64? { layout.window == .none ? nil : cellWindowStart(c) }

    @usableFromInline
    func cellWindowStart(_ c: Int) -> Int64 { cellWindow[c] }

    /// The window start stored for cell `c` (0 for a view without a window).
    @inlinable
    public func cellWindowStartValue(_ c: Int) -> Int64 { cellWindowStart(c) }

    /// The group-key id of cell `c` (dense, `0..<keyCount`).
    public func keyID(ofCell c: Int) -> Int { Int(cellKey[c]) }

    /// The number of distinct group keys.
    public var keyCount: Int { keys.count }

    /// The group values of key `id`, in group-by order.
    public func keyValues(id: Int) -> [Value] { keys[id].values(types: layout.groupBy.map(\.type)) }

    /// The state of aggregate `i` in cell `c`.
    public func state(ofCell c: Int, aggregate i: Int) -> AggregateState { columns[i].state(c) }

    // MARK: Bulk lookups (drift comparison)

    /// Indexes every cell by (window start, key id) so that every lookup until the next new
    /// cell is O(1) expected, however deep in its key's history (costs about 32 bytes per cell;
    /// meant for a table about to answer many lookups of old windows, like the batch truth a
    /// drift report is measured against).
    /// - Complexity: O(cells not indexed yet).
    public mutating func indexAllCells() { catchUpCellMap() }

    /// For each group-key id of `other`, this table's id of the same key, or -1 when this table
    /// has no cell with that key (both tables must share a layout).
    /// - Complexity: O(keys of `other`).
    public func keyIDs(matching other: ViewTable) -> [Int] {
        precondition(layout == other.layout, "matching keys of tables of different layouts")
        return other.keys.map { Int(findKeyId($0)) }
    }

    /// The index of the cell of (window start, key id), or nil when absent (a negative or
    /// unknown key id is absent).
    /// - Complexity: see ``state(of:)``.
    public func cellIndex(windowStart: Int64?, keyID: Int) -> Int? {
        guard keyID >= 0, keyID < keys.count, (windowStart == nil) == (layout.window == .none) else { return nil }
        let c = findCell(windowStart ?? 0, Int32(keyID))
        return c >= 0 ? Int(c) : nil
    }

    /// The cell indices of `count` lookups of (window start, key id) (nil window starts and
    /// negative or unknown key ids are absent: -1), as ``cellIndex(windowStart:keyID:)``
    /// answers them one by one, with the cache misses of a run of lookups overlapped: every
    /// lookup's first slot is prefetched, then the cells those slots name, then all are
    /// answered. For large joins of two tables (the drift comparison), where each lookup of
    /// an indexed table of millions of cells otherwise waits for memory two or three times.
    public func cellIndices(count: Int, windowStart: (Int) -> Int64?, keyID: (Int) -> Int, into out: inout [Int32]) {
        out.removeAll(keepingCapacity: true)
        let mapped = mappedCells == cellCount
        if mapped {
            for i in 0..<count {
                let k = keyID(i)
                guard k >= 0, k < keys.count, let w = windowStart(i) ?? (layout.window == .none ? 0 : nil) else { continue }
                cellMap.prefetch(w, Int32(k))
            }
            for i in 0..<count {
                let k = keyID(i)
                guard k >= 0, k < keys.count, let w = windowStart(i) ?? (layout.window == .none ? 0 : nil) else { continue }
                cellMap.prefetchCandidate(w, Int32(k), windows: cellWindow, keys: cellKey)
            }
        }
        for i in 0..<count {
            out.append(Int32(cellIndex(windowStart: windowStart(i), keyID: keyID(i)) ?? -1))
        }
    }

    /// The results of every aggregate of cell `c`, in aggregate order.
    public func results(ofCell c: Int) -> [Value] { columns.map { $0.state(c).result } }

    /// The results of every aggregate of cell `c` into `out` (replacing its contents, keeping
    /// its capacity: no allocation per cell when one buffer serves many cells).
    public func results(ofCell c: Int, into out: inout [Value]) {
        out.removeAll(keepingCapacity: true)
        // By index: `for column in columns` copies each StateColumn out of the array, a retain
        // and release of each of its arrays per cell (the drift comparison of a first publish
        // calls this for millions of cells).
        for i in columns.indices { out.append(columns[i].state(c).result) }
    }

    // MARK: Integer states compared in place (drift)

    /// Whether every aggregate is a `count` or an integer `sum` or `avg`: states of plain
    /// integers, which ``sameIntegerStates(cell:as:cell:)`` and
    /// ``integerResultNumber(ofCell:aggregate:)`` read without building states or values.
    public var hasOnlyIntegerStates: Bool {
        kinds.allSatisfy { k in
            switch k {
            case .count, .sumInt, .avgInt: true
            default: false
            }
        }
    }

    /// Whether cell `c` holds exactly the states of cell `d` of `other`, a table of the same
    /// layout whose aggregates are all integer states (``hasOnlyIntegerStates``; any other kind
    /// answers false, so the caller compares results).
    public func sameIntegerStates(cell c: Int, as other: ViewTable, cell d: Int) -> Bool {
        guard other.columns.count == columns.count else { return false }
        for i in columns.indices {
            switch kinds[i] {
            case .count:
                guard columns[i].i64[c] == other.columns[i].i64[d] else { return false }
            case .sumInt, .avgInt:
                guard columns[i].i64[c] == other.columns[i].i64[d], columns[i].i128[c] == other.columns[i].i128[d] else { return false }
            default:
                return false
            }
        }
        return true
    }

    /// Aggregate `i`'s result in cell `c` as the drift comparison counts it: the `Double` of
    /// what ``results(ofCell:)`` returns for a count or an integer sum or average, 0 for a null
    /// result (a sum or average of no value). NaN for another kind.
    public func integerResultNumber(ofCell c: Int, aggregate i: Int) -> Double {
        switch kinds[i] {
        case .count:
            return Double(columns[i].i64[c])
        case .sumInt:
            return columns[i].i64[c] == 0 ? 0 : Double(Int64(clamping: columns[i].i128[c]))
        case .avgInt:
            let n = columns[i].i64[c]
            return n == 0 ? 0 : Double(columns[i].i128[c]) / Double(n)
        default:
            return .nan
        }
    }

    // MARK: Typed gathers (snapshot writers)

    /// The counts of aggregate `i` for cells `order`, when it is a `count` (nil otherwise).
    public func gatherCounts(aggregate i: Int, order: [Int]) -> [Int64]? {
        guard case .count = kinds[i] else { return nil }
        return Self.gather(columns[i].i64, order)
    }

    /// Whether every index is in `0..<bound` (one branch-free pass).
    static func allBelow(_ o: UnsafeBufferPointer<Int>, _ bound: Int) -> Bool {
        var bad = false
        for x in o { bad = bad || UInt(bitPattern: x) >= UInt(bound) }
        return !bad
    }

    /// `order.map { source[$0] }` in one pass after one bounds pass (every index of `order` must be a cell).
    static func gather(_ source: [Int64], _ order: [Int]) -> [Int64] {
        let n = order.count
        return [Int64](zeroSafeCapacity: n) { out, count in
            source.withUnsafeBufferPointer { src in
                order.withUnsafeBufferPointer { o in
                    precondition(Self.allBelow(o, src.count), "gather index outside the cells")
                    for j in 0..<n { out[j] = src[o[j]] }
                }
            }
            count = n
        }
    }

    /// The states of aggregate `i` for cells `order`, when it is an integer `sum`: the low and
    /// high 64 bits of each 128-bit sum and the value count (nil for other kinds).
    public func gatherIntSums(aggregate i: Int, order: [Int]) -> (sumLow: [Int64], sumHigh: [Int64], n: [Int64])? {
        guard case .sumInt = kinds[i] else { return nil }
        let sums = columns[i].i128
        let n = order.count
        var high = [Int64](zeroSafeCapacity: n) { _, count in count = n }
        let low = [Int64](zeroSafeCapacity: n) { lo, count in
            sums.withUnsafeBufferPointer { src in
                order.withUnsafeBufferPointer { o in
                    precondition(Self.allBelow(o, src.count), "gather index outside the cells")
                    high.withUnsafeMutableBufferPointer { hi in
                        for j in 0..<n {
                            let v = src[o[j]]
                            lo[j] = Int64(truncatingIfNeeded: v)
                            hi[j] = Int64(truncatingIfNeeded: v >> 64)
                        }
                    }
                }
            }
            count = n
        }
        return (low, high, Self.gather(columns[i].i64, order))
    }
}

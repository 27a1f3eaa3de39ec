import LambdaStoreCore

/// Bulk, allocation-light access to every cell, in serving order, for writers of snapshot
/// files (the batch layer): no `ViewRow` per cell, group values decoded once per key.
extension ViewTable {
    /// The rank of each key id in group-key order.
    func keyRanks() -> [Int32] {
        let order = (0..<keys.count).sorted { keys[$0] < keys[$1] }
        var rank = [Int32](repeating: 0, count: keys.count)
        for (r, id) in order.enumerated() { rank[id] = Int32(r) }
        return rank
    }

    /// Every cell index, sorted by (window start, group key): the order of ``rows(windowStartRange:keyEquals:)``.
    /// - Complexity: O(keys · log keys + cells · log cells).
    public func sortedCellIndices() -> [Int] {
        let rank = keyRanks()
        // Sort (window, key rank, cell) triples: contiguous values, no closure over the table.
        var triples = [(Int64, Int32, Int32)]()
        triples.reserveCapacity(cellCount)
        for c in 0..<cellCount { triples.append((cellWindow[c], rank[Int(cellKey[c])], Int32(c))) }
        triples.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        return triples.map { Int($0.2) }
    }

    /// The distinct window starts of the cells (nil for a view without a window).
    /// - Complexity: O(cells).
    public var distinctWindowStarts: Set<Int64?> {
        if layout.window == .none { return cellCount > 0 ? [nil] : [] }
        return Set(cellWindow[0..<cellCount].map { Optional($0) })
    }

    /// The window start of cell `c` (nil for a view without a window).
    @inlinable
    public func windowStart(ofCell c: Int) -> Int64? { layout.window == .none ? nil : cellWindowStart(c) }

    @usableFromInline
    func cellWindowStart(_ c: Int) -> Int64 { cellWindow[c] }

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

    /// The results of every aggregate of cell `c`, in aggregate order.
    public func results(ofCell c: Int) -> [Value] { columns.map { $0.state(c).result } }
}

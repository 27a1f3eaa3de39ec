import Dispatch
import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreViews
import Synchronization

/// How a view's cells are laid out as snapshot columns (format-spec.md §6.2):
/// `window_start` (int64, null for views without a window), one `key.<field>` column per
/// group-by field, then the aggregate states: typed columns for `count`, integer `sum` and
/// `min`/`max`, the §3b state encoding in a bytes column for the others. Rows are sorted by
/// (window start, group key).
///
/// A class: every query takes the view's layout, and a reference is one retain where a copy
/// of the struct was one per array.
final class SnapshotLayout: Sendable {
    let layout: ViewLayout
    let kinds: [AggregateKind]
    /// `columns.count`, kept so per-query checks do not rebuild the column list.
    let columnCount: Int
    /// `columns.map(\.name)`, likewise.
    let columnNames: [String]
    /// `columns`, likewise (what a snapshot's footer must declare, exactly).
    let expectedColumns: [SnapshotColumn]
    /// `keyColumn(_:)` of each group field, likewise (a query's predicates name them).
    let keyColumnNames: [String]

    init(layout: ViewLayout) throws(LambdaStoreError) {
        self.layout = layout
        var k: [AggregateKind] = []
        for slot in layout.aggregates { k.append(try AggregateKind(slot)) }
        kinds = k
        var names = [Self.windowColumn] + layout.groupBy.map { Self.keyColumn($0.name) }
        for (a, kind) in zip(layout.aggregates, k) { names += Self.stateColumns(a.name, kind).map(\.name) }
        columnNames = names
        columnCount = names.count
        expectedColumns = Self.columns(layout: layout, kinds: k)
        keyColumnNames = layout.groupBy.map { Self.keyColumn($0.name) }
    }

    static let windowColumn = "window_start"
    static func keyColumn(_ name: String) -> String { "key." + name }

    /// The state columns of one aggregate.
    static func stateColumns(_ name: String, _ kind: AggregateKind) -> [SnapshotColumn] {
        let base = "state." + name
        switch kind {
        case .count:
            return [SnapshotColumn(name: base, type: .int64)]
        case .sumInt:
            return [SnapshotColumn(name: base + ".sum", type: .int64), SnapshotColumn(name: base + ".sumHigh", type: .int64),
                    SnapshotColumn(name: base + ".n", type: .int64)]
        case .min(let t), .max(let t):
            return [SnapshotColumn(name: base, type: SnapshotType(t == .bool ? .int64 : t), nullable: true)]
        default:
            return [SnapshotColumn(name: base, type: .bytes)]
        }
    }

    /// The snapshot column schema.
    var columns: [SnapshotColumn] { expectedColumns }

    static func columns(layout: ViewLayout, kinds: [AggregateKind]) -> [SnapshotColumn] {
        var cols = [SnapshotColumn(name: Self.windowColumn, type: .int64, nullable: true)]
        for g in layout.groupBy {
            cols.append(SnapshotColumn(name: Self.keyColumn(g.name), type: SnapshotType(g.type), nullable: true))
        }
        for (a, k) in zip(layout.aggregates, kinds) { cols += Self.stateColumns(a.name, k) }
        return cols
    }

    /// Encodes every cell of `table`, sorted, as columns.
    /// - Complexity: O(cells · log cells).
    func encode(_ table: ViewTable) -> (columns: [Column], rows: Int) {
        let order = table.sortedCellIndices()
        return (encode(table, order: order, keyValues: keyValueColumns(table)), order.count)
    }

    /// Encodes the cells `order` of `table` (in that order) as columns; `keyValues` is
    /// ``keyValueColumns(_:)`` of the table, built once for all the parts of a snapshot.
    func encode(_ table: ViewTable, order: [Int], keyValues: [Column]) -> [Column] {
        let n = order.count
        // The window column, the key columns and each aggregate's state columns are gathered
        // independently: on all cores (part 0: window, 1: keys, 2 + i: aggregate i).
        let parts = 2 + kinds.count
        let built = Locked<[[Column]]>(Array(repeating: [], count: parts))
        let gather: @Sendable (Int) -> Void = { part in
            let cols: [Column]
            switch part {
            case 0: cols = [self.windowColumn(table, order)]
            case 1: cols = self.keyColumns(table, order, keyValues)
            default: cols = self.stateColumns(table, order, aggregate: part - 2)
            }
            built.withLock { $0[part] = cols }
        }
        if n == 0 {
            // Nothing to gather (a windowed view's head, an empty part): no threads for it.
            for part in 0..<parts { gather(part) }
        } else {
            DispatchQueue.concurrentPerform(iterations: parts, execute: gather)
        }
        return built.withLock { $0 }.flatMap { $0 }
    }

    private func windowColumn(_ table: ViewTable, _ order: [Int]) -> Column {
        let n = order.count
        if layout.window != .none {
            return Column(type: .int64, count: n, nullCount: 0, validity: [], ints: order.map { table.cellWindowStartValue($0) })
        }
        var window = Column(type: .int64, capacity: n)
        for _ in 0..<n { window.appendNull() }
        return window
    }

    /// Each group field's values once, one row per key id (gathered by key id into the key
    /// columns of every part).
    func keyValueColumns(_ table: ViewTable) -> [Column] {
        var perKey = layout.groupBy.map { Column(type: $0.type, capacity: table.keyCount) }
        for id in 0..<table.keyCount {
            let kv = table.keyValues(id: id)
            for i in perKey.indices { try? perKey[i].append(kv[i]) }
        }
        return perKey
    }

    /// Key columns: ``keyValueColumns(_:)`` gathered by the key id of each cell of `order`.
    private func keyColumns(_ table: ViewTable, _ order: [Int], _ perKey: [Column]) -> [Column] {
        let keyOf = order.map { table.keyID(ofCell: $0) }
        return perKey.map { $0.gathering(rows: keyOf) }
    }

    private func stateColumns(_ table: ViewTable, _ order: [Int], aggregate i: Int) -> [Column] {
        let n = order.count
        if let counts = table.gatherCounts(aggregate: i, order: order) {
            return [Column(type: .int64, count: n, nullCount: 0, validity: [], ints: counts)]
        }
        if let sums = table.gatherIntSums(aggregate: i, order: order) {
            return [Column(type: .int64, count: n, nullCount: 0, validity: [], ints: sums.sumLow),
                    Column(type: .int64, count: n, nullCount: 0, validity: [], ints: sums.sumHigh),
                    Column(type: .int64, count: n, nullCount: 0, validity: [], ints: sums.n)]
        }
        let kind = kinds[i]
        let typed = Self.isTyped(kind)
        var scratch = ByteWriter()
        var col = Column(type: Self.stateColumns("", kind)[0].type == .bytes ? .string : FieldType(Self.stateColumns("", kind)[0].type), capacity: n)
        for c in order {
            let s = table.state(ofCell: c, aggregate: i)
            switch s {
            case .min(let e) where typed, .max(let e) where typed:
                try? col.append(e.value)
            default:
                scratch.bytes.removeAll(keepingCapacity: true)
                s.encode(into: &scratch)
                scratch.bytes.withUnsafeBytes { col.append(utf8: $0) }
            }
        }
        return [col]
    }

    static func isTyped(_ k: AggregateKind) -> Bool {
        switch k {
        case .count, .sumInt, .min, .max: true
        default: false
        }
    }

    /// Reads the cells of `reader` whose window start is in `range` and whose group values match
    /// `keys`, using the row-group statistics to skip the rest. Row groups are decoded through
    /// the reader's cache (`SnapshotReader/rowGroupColumns(_:)`) when the read is narrow (a
    /// window range or a key given); within a group, rows sorted by (window, key) are found by
    /// binary search.
    func read(_ reader: SnapshotReader, windowStartRange range: Range<Int64>?, keys: [(groupIndex: Int, value: Value)]) throws(LambdaStoreError) -> [(CellKey, [AggregateState])] {
        try read(reader, groups: groups(of: reader, windowStartRange: range, keys: keys), windowStartRange: range, keys: keys, fullKey: fullKey(keys))
    }

    /// The row groups of `reader` whose statistics may hold a cell in `range` matching `keys`.
    func groups(of reader: SnapshotReader, windowStartRange range: Range<Int64>?, keys: [(groupIndex: Int, value: Value)]) throws(LambdaStoreError) -> [Int] {
        try reader.rowGroups(where: predicates(windowStartRange: range, keys: keys))
    }

    /// ``read(_:windowStartRange:keys:)`` of the row groups `groups` (from
    /// ``groups(of:windowStartRange:keys:)``), with `fullKey` = ``fullKey(_:)`` of `keys`:
    /// a query works both out once.
    func read(_ reader: SnapshotReader, groups: [Int], windowStartRange range: Range<Int64>?, keys: [(groupIndex: Int, value: Value)], fullKey target: GroupKey?) throws(LambdaStoreError) -> [(CellKey, [AggregateState])] {
        if groups.isEmpty { return [] }
        // Names, types and nullability: the decoders below read each column's storage for its
        // type, so a file whose footer declares other types is refused here, never trapped on.
        guard reader.columns == expectedColumns else {
            throw LambdaStoreError.corruption("snapshot columns \(reader.columns.map { "\($0.name):\($0.type)\($0.nullable ? "?" : "")" }) do not match the view layout's \(expectedColumns.map { "\($0.name):\($0.type)\($0.nullable ? "?" : "")" })", path: reader.path, offset: nil)
        }
        if range == nil && keys.isEmpty {
            let cols = try reader.readColumns(columnNames, rowGroups: groups)
            return try decode(cols, windowStartRange: nil, keys: [], fullKey: nil, path: reader.path)
        }
        var out: [(CellKey, [AggregateState])] = []
        let keyed = target != nil && layout.window != .none
        for g in groups {
            let rows: [(CellKey, [AggregateState])]
            if keyed {
                let (cols, index) = try reader.rowGroupColumnsIndexedOnReuse(g, index: { cols in
                    let index = RowKeyIndex(cols, layout: self)
                    return (index, index.slots.count * 8)
                })
                rows = try decode(cols, windowStartRange: range, keys: keys, fullKey: target, index: index, path: reader.path)
            } else {
                rows = try decode(try reader.rowGroupColumns(g), windowStartRange: range, keys: keys, fullKey: target, path: reader.path)
            }
            // (Assigned when first: appending copies each row.)
            if out.isEmpty { out = rows } else { out += rows }
        }
        return out
    }

    /// Every row of `reader` as columns in this layout's order, after checking that the file
    /// declares exactly this layout's columns (names, types, nullability).
    /// Only the rows from row group `first` on when given.
    func allColumns(of reader: SnapshotReader, fromRowGroup first: Int = 0) throws(LambdaStoreError) -> [Column] {
        guard reader.columns == expectedColumns else {
            throw LambdaStoreError.corruption("snapshot columns \(reader.columns.map { "\($0.name):\($0.type)\($0.nullable ? "?" : "")" }) do not match the view layout's \(expectedColumns.map { "\($0.name):\($0.type)\($0.nullable ? "?" : "")" })", path: reader.path, offset: nil)
        }
        return try reader.readColumns(columnNames, rowGroups: first == 0 ? nil : Array(first..<max(first, reader.rowGroups.count)))
    }

    /// The row-group statistics predicates of a read: the window-start range and each key.
    func predicates(windowStartRange range: Range<Int64>?, keys: [(groupIndex: Int, value: Value)]) -> [ColumnPredicate] {
        var preds: [ColumnPredicate] = []
        if let range { preds.append(.range(Self.windowColumn, lower: .int64(range.lowerBound), upper: .int64(range.upperBound))) }
        for k in keys { preds.append(.equals(keyColumnNames[k.groupIndex], k.value)) }
        return preds
    }

    /// The group key `keys` pins down when it names every group field (nil otherwise, or when
    /// two constraints on one field disagree).
    func fullKey(_ keys: [(groupIndex: Int, value: Value)]) -> GroupKey? {
        guard !layout.groupBy.isEmpty else { return nil }
        // The common point query: the one group field, given once.
        if layout.groupBy.count == 1, keys.count == 1, keys[0].groupIndex == 0 {
            return GroupKey(values: [Self.coerce(keys[0].value, to: layout.groupBy[0].type)])
        }
        var values = [Value?](repeating: nil, count: layout.groupBy.count)
        for k in keys {
            guard layout.groupBy.indices.contains(k.groupIndex) else { return nil }
            let v = Self.coerce(k.value, to: layout.groupBy[k.groupIndex].type)
            if let prior = values[k.groupIndex], GroupKey(values: [prior]) != GroupKey(values: [v]) { return nil }
            values[k.groupIndex] = v
        }
        let all = values.compactMap { $0 }
        return all.count == values.count ? GroupKey(values: all) : nil
    }

    static func coerce(_ v: Value, to t: FieldType) -> Value {
        switch (v, t) {
        case (.int64(let x), .timestamp): .timestamp(x)
        case (.timestamp(let x), .int64): .int64(x)
        default: v
        }
    }

    /// The window starts in `range` under `window` (multiples of its slide, ascending), or nil
    /// when there are more than `limit` of them (or no window).
    static func windowStarts(in range: Range<Int64>, layout window: WindowKind, limit: Int) -> [Int64]? {
        let unit: Int64
        switch window {
        case .none: return nil
        case .tumbling(let size): unit = size
        case .hopping(_, let slide): unit = slide
        }
        guard unit > 0 else { return nil }
        let lower = Int128(range.lowerBound), u = Int128(unit)
        var q = lower / u
        if lower % u != 0 && lower < 0 { q -= 1 }
        var c = q * u
        if c < lower { c += u }
        var out: [Int64] = []
        while c < Int128(range.upperBound) {
            if out.count == limit { return nil }
            out.append(Int64(c))
            c += u
        }
        return out
    }

    /// Sets `scratch` to the canonical group-key bytes of row `r`, straight from the key columns.
    func rowKeyBytes(_ cols: [Column], _ r: Int, into scratch: inout [UInt8]) {
        scratch.removeAll(keepingCapacity: true)
        for i in 0..<layout.groupBy.count { GroupKey.appendCanonical(cols[1 + i], row: r, to: &scratch) }
    }

    /// Compares the key of row `r` with `target` (negative: the row sorts first), encoding the
    /// row's key into `scratch`.
    func compareRowKey(_ cols: [Column], _ r: Int, _ target: GroupKey, _ scratch: inout [UInt8]) -> Int {
        rowKeyBytes(cols, r, into: &scratch)
        return target.compare(canonical: scratch)
    }

    /// Decodes columns back into cells, keeping those that match.
    /// `fullTarget` is ``fullKey(_:)`` of `keys`.
    func decode(_ cols: [Column], windowStartRange range: Range<Int64>?, keys: [(groupIndex: Int, value: Value)], fullKey fullTarget: GroupKey?, index: RowKeyIndex? = nil, path: String) throws(LambdaStoreError) -> [(CellKey, [AggregateState])] {
        guard cols.count == columnCount else {
            throw LambdaStoreError.corruption("snapshot has \(cols.count) columns, the view layout needs \(columnCount)", path: path, offset: nil)
        }
        let n = cols[0].count
        let windowed = layout.window != .none
        // A full key and a short window range with the group's index: probe each window start
        // the range can hold (starts are multiples of the slide from epoch 0) directly.
        if let index, let range, let target = fullTarget, !cols[0].hasNulls, let starts = Self.windowStarts(in: range, layout: layout.window, limit: 64) {
            let w = cols[0].ints
            var rows: [Int] = []
            var scratch: [UInt8] = []
            scratch.reserveCapacity(target.bytes.count + 16)
            for start in starts {
                let found = index.row(window: start, key: target) { r in
                    r < n && w[r] == start && compareRowKey(cols, r, target, &scratch) == 0
                }
                if let found { rows.append(found) }
            }
            return try decodeRows(cols, rows: rows, windowStartRange: nil, keys: [], path: path)
        }
        // Rows are sorted by (window start, key): the window range is a contiguous run.
        var lo = 0, hi = n
        if let range {
            guard windowed, !cols[0].hasNulls else {
                if !windowed { return [] }
                return try decodeRows(cols, rows: Array(0..<n), windowStartRange: range, keys: keys, path: path)
            }
            let w = cols[0].ints
            func lowerBound(_ x: Int64) -> Int {
                var a = 0, b = n
                while a < b { let m = (a + b) / 2; if w[m] < x { a = m + 1 } else { b = m } }
                return a
            }
            lo = lowerBound(range.lowerBound)
            hi = lowerBound(range.upperBound)
        }
        // A full key: one binary search per window in the run.
        if let target = fullTarget, windowed, !cols[0].hasNulls {
            let w = cols[0].ints
            var rows: [Int] = []
            var scratch: [UInt8] = []
            scratch.reserveCapacity(target.bytes.count + 16)
            var start = lo
            while start < hi {
                let win = w[start]
                var end = start + 1, step = 1
                while end < hi && w[end] == win { end = min(hi, end + step); step *= 2 }   // gallop past the run
                var a = start, b = end
                while a < b { let m = (a + b) / 2; if w[m] == win { a = m + 1 } else { b = m } }
                end = a
                if let index {
                    // One probe of the group's (window, key) index instead of a binary search.
                    let found = index.row(window: win, key: target) { r in
                        r >= start && r < end && compareRowKey(cols, r, target, &scratch) == 0
                    }
                    if let found { rows.append(found) }
                } else {
                    var x = start, y = end
                    while x < y { let m = (x + y) / 2; if compareRowKey(cols, m, target, &scratch) < 0 { x = m + 1 } else { y = m } }
                    if x < end && compareRowKey(cols, x, target, &scratch) == 0 { rows.append(x) }
                }
                start = end
            }
            return try decodeRows(cols, rows: rows, windowStartRange: nil, keys: [], path: path)
        }
        return try decodeRows(cols, rows: Array(lo..<hi), windowStartRange: range, keys: keys, path: path)
    }

    /// Decodes `rows` of `cols` into cells, keeping those that match `range` and `keys`.
    func decodeRows(_ cols: [Column], rows: [Int], windowStartRange range: Range<Int64>?, keys: [(groupIndex: Int, value: Value)], path: String) throws(LambdaStoreError) -> [(CellKey, [AggregateState])] {
        let nk = layout.groupBy.count
        var out: [(CellKey, [AggregateState])] = []
        out.reserveCapacity(rows.count)
        rowLoop: for r in rows {
            let w: Int64? = cols[0].isNull(r) ? nil : cols[0].ints[r]
            if let range {
                guard let w, range.contains(w) else { continue }
            }
            var values: [Value] = []
            values.reserveCapacity(nk)
            for i in 0..<nk { values.append(cols[1 + i].value(at: r)) }
            for k in keys where values[k.groupIndex] != k.value { continue rowLoop }
            var states: [AggregateState] = []
            states.reserveCapacity(kinds.count)
            var at = 1 + nk
            // `cols[at]` read in place throughout: a `let` copy of a column retains each of
            // its arrays, per row.
            for kind in kinds {
                switch kind {
                case .count:
                    states.append(.count(cols[at].ints[r]))
                    at += 1
                case .sumInt:
                    let sum = Int128(cols[at + 1].ints[r]) << 64 | Int128(UInt64(bitPattern: cols[at].ints[r]))
                    states.append(.sumInt(IntSum(sum: sum, count: cols[at + 2].ints[r])))
                    at += 3
                case .min(let t), .max(let t):
                    var e = Extreme(type: t)
                    if !cols[at].isNull(r) {
                        switch t {
                        case .float64: e = .float64(cols[at].doubles[r])
                        case .string: e = .string(Array(cols[at].utf8[Int(cols[at].offsets[r])..<Int(cols[at].offsets[r + 1])]))
                        case .timestamp: e = .timestamp(cols[at].ints[r])
                        default: e = .int64(cols[at].ints[r])
                        }
                    }
                    if case .min = kind { states.append(.min(e)) } else { states.append(.max(e)) }
                    at += 1
                default:
                    let a = Int(cols[at].offsets[r]), b = Int(cols[at].offsets[r + 1])
                    let s = try typed {
                        try cols[at].utf8.withUnsafeBytes { raw in
                            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: raw[a..<b]))
                            let state = try AggregateState(decoding: &reader)
                            // A state of another aggregate, or bytes left over, is corruption:
                            // merging mismatched states would trap or lie.
                            guard state.kind == kind, reader.isAtEnd else {
                                throw LambdaStoreError.corruption("row \(r): state column \(columnNames[at]) holds a \(state.kind) state\(reader.isAtEnd ? "" : " followed by \(b - a - reader.position) stray bytes"), the view needs \(kind)", path: path, offset: nil)
                            }
                            return state
                        }
                    }
                    states.append(s)
                    at += 1
                }
            }
            out.append((CellKey(windowStart: w, key: GroupKey(values: values)), states))
        }
        return out
    }
}

extension FieldType {
    /// The field type holding a snapshot type's values (`bytes` → `string` storage).
    init(_ t: SnapshotType) {
        switch t {
        case .int64: self = .int64
        case .float64: self = .float64
        case .string, .bytes: self = .string
        case .bool: self = .bool
        case .timestamp: self = .timestamp
        }
    }
}

/// A hash index of one decoded snapshot row group: (window start, group key) → row, so a
/// point query finds its row with one probe instead of a binary search through the window's
/// rows (each step of which touches the key bytes of a random row). Open addressing over
/// `2^k ≥ 2 × rows` words `(hash >> 32) << 32 | (row + 1)`; a hit is confirmed by the caller
/// against the row itself.
struct RowKeyIndex: Sendable {
    let slots: [UInt64]

    static func hash(window: Int64, canonicalKey: UnsafeRawBufferPointer) -> UInt64 {
        XXH64.hash(canonicalKey, seed: UInt64(bitPattern: window))
    }

    /// Indexes every row of `cols` (laid out by `layout`) that has a window start.
    init(_ cols: [Column], layout: SnapshotLayout) {
        let n = cols.first?.count ?? 0
        var capacity = 16
        while capacity < 2 * n { capacity <<= 1 }
        var slots = [UInt64](repeating: 0, count: capacity)
        var scratch: [UInt8] = []
        let mask = capacity - 1
        for r in 0..<n where !cols[0].isNull(r) {
            layout.rowKeyBytes(cols, r, into: &scratch)
            let h = scratch.withUnsafeBytes { RowKeyIndex.hash(window: cols[0].ints[r], canonicalKey: $0) }
            var i = Int(truncatingIfNeeded: h) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = (h >> 32) << 32 | UInt64(r + 1)
        }
        self.slots = slots
    }

    /// The first row whose hash matches (window, key) and that `matches` accepts, or nil.
    func row(window: Int64, key: GroupKey, matches: (Int) -> Bool) -> Int? {
        let h = key.bytes.withUnsafeBytes { RowKeyIndex.hash(window: window, canonicalKey: $0) }
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            if s >> 32 == h >> 32, matches(Int(s & 0xFFFF_FFFF) - 1) { return Int(s & 0xFFFF_FFFF) - 1 }
            i = (i + 1) & mask
        }
    }
}

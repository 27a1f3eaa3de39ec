import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreViews

/// How a view's cells are laid out as snapshot columns (format-spec.md §6.2):
/// `window_start` (int64, null for views without a window), one `key.<field>` column per
/// group-by field (the field's type, nullable), and one `state.<aggregate>` bytes column per
/// aggregate holding the aggregate state encoding of §3b. Rows are sorted by (window start,
/// group key).
struct SnapshotLayout: Sendable {
    let layout: ViewLayout

    static let windowColumn = "window_start"
    static func keyColumn(_ name: String) -> String { "key." + name }
    static func stateColumn(_ name: String) -> String { "state." + name }

    /// The snapshot column schema.
    var columns: [SnapshotColumn] {
        var cols = [SnapshotColumn(name: Self.windowColumn, type: .int64, nullable: true)]
        for g in layout.groupBy {
            cols.append(SnapshotColumn(name: Self.keyColumn(g.name), type: SnapshotType(g.type), nullable: true))
        }
        for a in layout.aggregates {
            cols.append(SnapshotColumn(name: Self.stateColumn(a.name), type: .bytes, nullable: false))
        }
        return cols
    }

    /// Encodes sorted rows as columns.
    func encode(_ rows: [ViewRow]) -> [Column] {
        var window = Column(type: .int64, capacity: rows.count)
        var keys = layout.groupBy.map { Column(type: $0.type, capacity: rows.count) }
        var states = layout.aggregates.map { _ in Column(type: .string, capacity: rows.count) }
        var scratch = ByteWriter()
        for row in rows {
            if let w = row.windowStart { window.append(int: w) } else { window.appendNull() }
            for (i, v) in row.key.enumerated() { try? keys[i].append(v) }
            for (i, s) in row.states.enumerated() {
                scratch.bytes.removeAll(keepingCapacity: true)
                s.encode(into: &scratch)
                scratch.bytes.withUnsafeBytes { states[i].append(utf8: $0) }
            }
        }
        return [window] + keys + states
    }

    /// Reads the cells of `reader` whose window start is in `range` and whose group values match
    /// `keys`, using the row-group statistics to skip the rest.
    func read(_ reader: SnapshotReader, windowStartRange range: Range<Int64>?, keys: [(groupIndex: Int, value: Value)]) throws(LambdaStoreError) -> [(CellKey, [AggregateState])] {
        var preds: [ColumnPredicate] = []
        if let range { preds.append(.range(Self.windowColumn, lower: .int64(range.lowerBound), upper: .int64(range.upperBound))) }
        for k in keys { preds.append(.equals(Self.keyColumn(layout.groupBy[k.groupIndex].name), k.value)) }
        let groups = try reader.rowGroups(where: preds)
        if groups.isEmpty { return [] }
        let names = columns.map(\.name)
        let cols = try reader.readColumns(names, rowGroups: groups)
        return try decode(cols, windowStartRange: range, keys: keys, path: reader.path)
    }

    /// Decodes columns back into cells, keeping those that match.
    func decode(_ cols: [Column], windowStartRange range: Range<Int64>?, keys: [(groupIndex: Int, value: Value)], path: String) throws(LambdaStoreError) -> [(CellKey, [AggregateState])] {
        let nk = layout.groupBy.count
        guard cols.count == 1 + nk + layout.aggregates.count else {
            throw LambdaStoreError.corruption("snapshot has \(cols.count) columns, view layout needs \(1 + nk + layout.aggregates.count)", path: path, offset: nil)
        }
        let n = cols[0].count
        var out: [(CellKey, [AggregateState])] = []
        out.reserveCapacity(n)
        rowLoop: for r in 0..<n {
            let w: Int64? = cols[0].isNull(r) ? nil : cols[0].ints[r]
            if let range {
                guard let w, range.contains(w) else { continue }
            }
            var values: [Value] = []
            values.reserveCapacity(nk)
            for i in 0..<nk { values.append(cols[1 + i].value(at: r)) }
            for k in keys where values[k.groupIndex] != k.value { continue rowLoop }
            var states: [AggregateState] = []
            states.reserveCapacity(layout.aggregates.count)
            for i in layout.aggregates.indices {
                let c = cols[1 + nk + i]
                let a = Int(c.offsets[r]), b = Int(c.offsets[r + 1])
                let s = try typed {
                    try c.utf8.withUnsafeBytes { raw in
                        var reader = ByteReader(UnsafeRawBufferPointer(rebasing: raw[a..<b]))
                        return try AggregateState(decoding: &reader)
                    }
                }
                states.append(s)
            }
            out.append((CellKey(windowStart: w, key: GroupKey(values: values)), states))
        }
        return out
    }
}

extension ViewLayout {
    /// The window size in ms (0 for no window).
    var windowSize: Int64 {
        switch window {
        case .none: 0
        case .tumbling(let size): size
        case .hopping(let size, _): size
        }
    }

    /// The window end for `start`, or nil for no window.
    func windowEnd(_ start: Int64?) -> Int64? { start.map { $0 + windowSize } }

    /// Whether the window starting at `start` is closed as of `maxEventTime` (DESIGN.md
    /// "Lateness"). Views without windows are never closed.
    func isClosed(windowStart start: Int64?, maxEventTime: Int64?) -> Bool {
        guard let start, let m = maxEventTime, windowSize > 0 else { return false }
        let (end, o1) = start.addingReportingOverflow(windowSize)
        let (bound, o2) = end.addingReportingOverflow(allowedLateness)
        if o1 || o2 { return false }
        return m >= bound
    }
}

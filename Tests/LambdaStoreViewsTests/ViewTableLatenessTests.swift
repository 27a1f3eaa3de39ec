import Testing
@testable import LambdaStoreViews
import LambdaStoreCore
import LambdaStoreTestSupport

/// The boundary cases of DESIGN.md "Lateness", pinned one by one. Layout: field 0 is the
/// timestamp (nullable), field 1 an int64 amount; `count` of rows and `sum(amount)`.
@Suite struct ViewTableLatenessTests {
    static func layout(_ window: WindowKind, lateness: Int64) -> ViewLayout {
        ViewLayout(groupBy: [], window: window, windowFieldIndex: 0, allowedLateness: lateness, aggregates: [
            AggregateSlot(name: "n", function: .count, fieldIndex: nil, fieldType: nil),
            AggregateSlot(name: "s", function: .sum, fieldIndex: 1, fieldType: .int64),
        ])
    }

    /// A batch of (time, amount) rows.
    static func batch(_ rows: [(Int64?, Int64)]) -> ColumnBatch {
        var ts = Column(type: .timestamp), amt = Column(type: .int64)
        for (t, a) in rows {
            if let t { ts.append(int: t) } else { ts.appendNull() }
            amt.append(int: a)
        }
        return ColumnBatch(schemaVersion: 1, columns: [ts, amt])
    }

    static func counts(_ t: ViewTable) -> [Int64: Int64] {
        var out: [Int64: Int64] = [:]
        for r in t.rows() { if case .int64(let n) = r.values[0] { out[r.windowStart ?? 0] = n } }
        return out
    }

    /// Window [0, 10), lateness 5: closed once maxEventTime >= 15.
    @Test(arguments: [(15, true), (14, false), (16, true)] as [(Int64, Bool)])
    func closedExactlyAtEndPlusLateness(maxBefore: Int64, late: Bool) {
        var t = ViewTable(layout: Self.layout(.tumbling(size: 10), lateness: 5))
        let stats = t.apply(Self.batch([(maxBefore, 1), (3, 10)]), selection: nil, policy: .dropLate)
        #expect(stats.lateEvents == (late ? 1 : 0))
        #expect(t.lateEvents == (late ? 1 : 0))
        #expect(Self.counts(t)[0] == (late ? nil : 1))
        #expect(t.lateEventsByWindow == (late ? [0: 1] : [:]))
        #expect(t.maxEventTime == maxBefore)
    }

    /// The event's own time does not count for its own decision, and order inside a batch matters.
    @Test func decisionUsesTheMaximumBeforeTheEvent() {
        var a = ViewTable(layout: Self.layout(.tumbling(size: 10), lateness: 0))
        a.apply(Self.batch([(5, 1), (25, 1)]), selection: nil, policy: .dropLate)
        #expect(a.lateEvents == 0 && Self.counts(a) == [0: 1, 20: 1])
        var b = ViewTable(layout: Self.layout(.tumbling(size: 10), lateness: 0))
        b.apply(Self.batch([(25, 1), (5, 1)]), selection: nil, policy: .dropLate)
        #expect(b.lateEvents == 1 && Self.counts(b) == [20: 1])
        // A first event is never late, whatever its time; an event at the current maximum is
        // not late; with lateness 0 anything before the current window is.
        var c = ViewTable(layout: Self.layout(.tumbling(size: 10), lateness: 0))
        c.apply(Self.batch([(1_000, 1), (1_000, 1), (1_009, 1), (999, 1)]), selection: nil, policy: .dropLate)
        #expect(c.lateEvents == 1 && Self.counts(c) == [1_000: 3])
    }

    /// Hopping windows: one event late for one window and not for another.
    @Test func hoppingEventLateForOneWindowOnly() {
        // size 10, slide 5: t = 12 falls in [5, 15) and [10, 20). maxEventTime 15: [5, 15) is closed.
        var t = ViewTable(layout: Self.layout(.hopping(size: 10, slide: 5), lateness: 0))
        var touched = Set<CellKey>()
        let stats = t.apply(Self.batch([(15, 100), (12, 7)]), selection: [0, 1], policy: .dropLate, touched: &touched)
        #expect(stats.lateEvents == 1 && stats.lateAssignments == 1 && stats.appliedAssignments == 1)
        #expect(Self.counts(t) == [10: 1])
        #expect(t.lateEventsByWindow == [5: 1])
        // The drift monitor sees both cells, the late one included.
        #expect(Set(touched.map(\.windowStart)) == [5, 10])
        // The batch policy applies both and still counts the late pair.
        var b = ViewTable(layout: Self.layout(.hopping(size: 10, slide: 5), lateness: 0))
        let bs = b.apply(Self.batch([(15, 100), (12, 7)]), selection: [0, 1], policy: .includeAll)
        #expect(bs.lateEvents == 1 && bs.appliedAssignments == 2)
        #expect(Self.counts(b) == [5: 1, 10: 1])
    }

    /// Events failing the filter still move maxEventTime.
    @Test func unselectedEventsMoveTheMaximum() {
        var t = ViewTable(layout: Self.layout(.tumbling(size: 10), lateness: 0))
        let stats = t.apply(Self.batch([(30, 1), (5, 1)]), selection: [0, 1], policy: .dropLate)
        #expect(stats.selectedRows == 1 && stats.lateEvents == 1)
        #expect(t.cellCount == 0 && t.maxEventTime == 30)
    }

    /// Null event times neither move maxEventTime nor land in a window.
    @Test func nullTimes() {
        var t = ViewTable(layout: Self.layout(.tumbling(size: 10), lateness: 0))
        let stats = t.apply(Self.batch([(nil, 1), (5, 1), (nil, 1)]), selection: nil, policy: .includeAll)
        #expect(stats.rowsWithoutWindow == 2 && stats.appliedAssignments == 1)
        #expect(t.maxEventTime == 5)
        var n = ViewTable(layout: Self.layout(.tumbling(size: 10), lateness: 0))
        n.apply(Self.batch([(nil, 1)]), selection: nil, policy: .dropLate)
        #expect(n.maxEventTime == nil && n.cellCount == 0)
    }

    /// A seeded maxEventTime (recovery from a snapshot) makes the same decisions as the
    /// uninterrupted run, across batches.
    @Test func seededMaximumReproducesDecisions() {
        let rows: [(Int64?, Int64)] = [(100, 1), (50, 1), (120, 1), (95, 1), (nil, 1), (119, 1), (40, 1)]
        var whole = ViewTable(layout: Self.layout(.tumbling(size: 10), lateness: 15))
        whole.apply(Self.batch(rows), selection: nil, policy: .dropLate)
        var first = ViewTable(layout: Self.layout(.tumbling(size: 10), lateness: 15))
        first.apply(Self.batch(Array(rows.prefix(3))), selection: nil, policy: .dropLate)
        var second = ViewTable(layout: Self.layout(.tumbling(size: 10), lateness: 15))
        second.maxEventTime = first.maxEventTime
        second.apply(Self.batch(Array(rows.dropFirst(3))), selection: nil, policy: .dropLate)
        #expect(first.lateEvents + second.lateEvents == whole.lateEvents)
        #expect(whole.lateEvents == 3)   // 50 (M=100), 95 (M=120: 100 <= 120-15... window [90,100) end 100 <= 105), 40
        var merged = first
        merged.merge(second)
        #expect(merged.rows() == whole.rows())
    }

    /// A view without window: never late, maxEventTime untouched, null window start.
    @Test func noWindowIsNeverLate() {
        let layout = ViewLayout(groupBy: [], window: .none, windowFieldIndex: nil, allowedLateness: 0, aggregates: [
            AggregateSlot(name: "n", function: .count, fieldIndex: nil, fieldType: nil),
        ])
        var t = ViewTable(layout: layout)
        t.apply(Self.batch([(100, 1), (1, 1), (nil, 1)]), selection: nil, policy: .dropLate)
        #expect(t.lateEvents == 0 && t.maxEventTime == nil)
        let rows = t.rows()
        #expect(rows.count == 1 && rows[0].windowStart == nil && rows[0].windowEnd == nil && rows[0].values == [.int64(3)])
        #expect(t.rows(windowStartRange: 0..<10).isEmpty)
    }

    /// Huge allowed lateness and extreme times never trap.
    @Test func extremesDoNotTrap() {
        var t = ViewTable(layout: Self.layout(.tumbling(size: 7), lateness: .max))
        t.apply(Self.batch([(.max, 1), (.min, 1), (0, 1), (.min + 3, 1)]), selection: nil, policy: .dropLate)
        // .min has no window (it would start below Int64.min); [0, 7) is open since 7 + max
        // exceeds every time; [.min + 1, .min + 8) is closed: max >= .min + 8 + max = 7.
        #expect(t.lateEvents == 1)
        #expect(Self.counts(t).keys.sorted() == [0, WindowKind.tumbling(size: 7).windowStarts(containing: .max)[0]])
        var h = ViewTable(layout: Self.layout(.hopping(size: 10, slide: 3), lateness: 0))
        let s = h.apply(Self.batch([(.max, 1), (.min, 1), (.max - 1, 1), (.min + 1, 1)]), selection: nil, policy: .dropLate)
        #expect(s.rows == 4)
        #expect(h.rows().allSatisfy { ($0.windowEnd ?? 0) >= ($0.windowStart ?? 0) })
    }
}

import Testing
import Foundation
@testable import LambdaStoreViews
import LambdaStoreCore
import LambdaStoreTestSupport

/// Seeded property tests of ViewTable against the naive reference (ViewTableReferenceModelTests).
/// Each failure message names its seed; run more seeds by hand with LAMBDASTORE_SEEDS=N.
@Suite struct ViewTablePropertyTests {
    static let seeds: [UInt64] = {
        let n = Int(ProcessInfo.processInfo.environment["LAMBDASTORE_SEEDS"] ?? "") ?? 60
        return (0..<UInt64(n)).map { $0 &* 0x9E37_79B9 &+ 17 }
    }()

    /// Applies every batch, each in one or two `rows:` pieces, to `table`.
    static func applyAll(_ s: RandomSetup, to table: inout ViewTable, policy: ViewTable.LatePolicy, rng: inout SplitMix64, touched: inout Set<CellKey>) {
        for (b, sel) in zip(s.batches, s.selections) {
            let cut = Int(rng.next() % UInt64(b.count + 1))
            table.apply(b, rows: 0..<cut, selection: sel, policy: policy, touched: &touched)
            table.apply(b, rows: cut..<b.count, selection: sel, policy: policy, touched: &touched)
        }
    }

    static func touchedStrings(_ t: Set<CellKey>) -> Set<String> {
        Set(t.map { ReferenceModel.keyString($0.windowStart, $0.key.values) })
    }

    /// With unbounded lateness, or under `.includeAll`, the table equals the reference over all
    /// events, cell by cell; under `.dropLate` with a random lateness it equals the reference
    /// that drops late (event, window) pairs, and late counters and touched cells agree.
    @Test(arguments: seeds)
    func tableEqualsNaiveReference(seed: UInt64) {
        var rng = SplitMix64(seed: seed ^ 0xABCD)
        // Unbounded lateness, speed policy.
        let huge = RandomData.setup(seed: seed, hugeLateness: true)
        var t1 = ViewTable(layout: huge.layout)
        var touched = Set<CellKey>()
        ViewTablePropertyTests.applyAll(huge, to: &t1, policy: .dropLate, rng: &rng, touched: &touched)
        var r1 = ReferenceModel(layout: huge.layout)
        for (b, sel) in zip(huge.batches, huge.selections) { r1.apply(b, rows: 0..<b.count, selection: sel, dropLate: true) }
        #expect(r1.lateEvents == 0 && t1.lateEvents == 0, "seed \(seed)")
        expectTableMatchesReference(t1, r1, "seed \(seed) unbounded lateness")

        // Random lateness: batch policy includes everything, speed policy drops late pairs.
        let s = RandomData.setup(seed: seed)
        for drop in [false, true] {
            var t = ViewTable(layout: s.layout)
            var touched = Set<CellKey>()
            ViewTablePropertyTests.applyAll(s, to: &t, policy: drop ? .dropLate : .includeAll, rng: &rng, touched: &touched)
            var r = ReferenceModel(layout: s.layout)
            for (b, sel) in zip(s.batches, s.selections) { r.apply(b, rows: 0..<b.count, selection: sel, dropLate: drop) }
            expectTableMatchesReference(t, r, "seed \(seed) lateness \(s.layout.allowedLateness) drop \(drop)")
            #expect(t.lateEvents == Int64(r.lateEvents), "seed \(seed) drop \(drop): late events")
            #expect(t.lateEventsByWindow == r.lateByWindow, "seed \(seed) drop \(drop): late events by window")
            #expect(ViewTablePropertyTests.touchedStrings(touched) == r.touched, "seed \(seed) drop \(drop): touched cells")
            // state(of:) agrees with rows().
            for row in t.rows() {
                let st = t.state(of: CellKey(windowStart: row.windowStart, key: GroupKey(values: row.key)))
                #expect(st == row.states, "seed \(seed): state(of:)")
            }
        }
    }

    /// Batches whose string columns are dictionary-encoded (as the batch job reads the log)
    /// build the same table as the plain batches: cells, states, keys, late counts, touched
    /// cells; in time order and in random order.
    @Test(arguments: seeds.prefix(40))
    func dictionaryEncodedBatchesBuildTheSameTable(seed: UInt64) {
        for randomOrder in [false, true] {
            let s = RandomData.setup(seed: seed, rows: 400, randomOrder: randomOrder)
            var twin = s
            twin.batches = s.batches.map(DictionaryTwin.batch)
            for drop in [false, true] {
                var rngA = SplitMix64(seed: seed), rngB = SplitMix64(seed: seed)
                var a = ViewTable(layout: s.layout), b = ViewTable(layout: s.layout)
                var ta = Set<CellKey>(), tb = Set<CellKey>()
                ViewTablePropertyTests.applyAll(s, to: &a, policy: drop ? .dropLate : .includeAll, rng: &rngA, touched: &ta)
                ViewTablePropertyTests.applyAll(twin, to: &b, policy: drop ? .dropLate : .includeAll, rng: &rngB, touched: &tb)
                let what = "seed \(seed) random order \(randomOrder) drop \(drop)"
                // Compared as text: NaN states are equal bit for bit but not by ==.
                let ra = String(describing: a.rows()), rb = String(describing: b.rows())
                #expect(ra == rb, "\(what): rows")
                #expect(a.keys.count == b.keys.count, "\(what): keys")
                #expect(a.lateEvents == b.lateEvents && a.lateEventsByWindow == b.lateEventsByWindow, "\(what): late events")
                #expect(ta == tb, "\(what): touched cells")
            }
        }
    }

    /// The batch job's two-thread merge equals the plain merge, for every aggregate kind, with
    /// the second table holding cells both new and already present in the first.
    @Test(arguments: seeds.prefix(30))
    func twoThreadMergeEqualsMerge(seed: UInt64) {
        let s = RandomData.setup(seed: seed, rows: 400, randomOrder: seed % 2 == 0)
        var first = ViewTable(layout: s.layout), second = ViewTable(layout: s.layout)
        let cut = s.batches.count / 2
        for (i, (b, sel)) in zip(s.batches, s.selections).enumerated() {
            if i < cut { first.apply(b, selection: sel, policy: .includeAll) } else { second.apply(b, selection: sel, policy: .includeAll) }
        }
        var plain = first, threaded = first
        plain.merge(second)
        threaded.mergeUsingTwoThreads(second)
        let what = "seed \(seed)"
        #expect(String(describing: plain.rows()) == String(describing: threaded.rows()), "\(what): rows")
        #expect(plain.cellCount == threaded.cellCount && plain.keys.count == threaded.keys.count, "\(what): cells and keys")
        #expect(plain.lateEvents == threaded.lateEvents && plain.lateEventsByWindow == threaded.lateEventsByWindow, "\(what): late events")
        for j in threaded.columns.indices { #expect(threaded.columns[j].count == threaded.cellCount, "\(what): column \(j) length") }
        // And both equal one table fed every batch.
        var whole = ViewTable(layout: s.layout)
        for (b, sel) in zip(s.batches, s.selections) { whole.apply(b, selection: sel, policy: .includeAll) }
        let sortedRows = { (t: ViewTable) in String(describing: t.rows()) }
        #expect(sortedRows(whole) == sortedRows(threaded), "\(what): equals one table over all batches")
    }

    /// Events in random time order (deep lookups in each key's chain of cells, the fallback
    /// cell map, cells created far behind the newest window) still match the reference.
    @Test(arguments: seeds.prefix(30))
    func randomTimeOrderEqualsNaiveReference(seed: UInt64) {
        var rng = SplitMix64(seed: seed ^ 0x7777)
        let s = RandomData.setup(seed: seed, rows: 600, randomOrder: true)
        for drop in [false, true] {
            var t = ViewTable(layout: s.layout)
            var touched = Set<CellKey>()
            ViewTablePropertyTests.applyAll(s, to: &t, policy: drop ? .dropLate : .includeAll, rng: &rng, touched: &touched)
            var r = ReferenceModel(layout: s.layout)
            for (b, sel) in zip(s.batches, s.selections) { r.apply(b, rows: 0..<b.count, selection: sel, dropLate: drop) }
            expectTableMatchesReference(t, r, "seed \(seed) random order drop \(drop)")
            #expect(t.lateEventsByWindow == r.lateByWindow, "seed \(seed) random order: late events by window")
            // The radix-sorted cell order equals a plain comparison sort by (window, key).
            let naive = (0..<t.cellCount).sorted { a, b in
                let ka = CellKey(windowStart: t.windowStart(ofCell: a), key: t.keys[t.keyID(ofCell: a)])
                let kb = CellKey(windowStart: t.windowStart(ofCell: b), key: t.keys[t.keyID(ofCell: b)])
                return ka < kb
            }
            #expect(t.sortedCellIndices() == naive, "seed \(seed): sorted cell order")
            // Full-key queries (lookups of candidate windows or a chain walk) equal a filter of
            // every row, with and without the cell index.
            let all = t.rows()
            var indexed = t
            indexed.indexAllCells()
            let windows = all.compactMap(\.windowStart)
            for probe in 0..<12 where !all.isEmpty {
                let row = all[Int(rng.next() % UInt64(all.count))]
                let keyEquals = row.key.enumerated().map { (groupIndex: $0.offset, value: $0.element) }
                var range: Range<Int64>? = nil
                if let lo = windows.min(), let hi = windows.max(), probe % 4 != 0 {
                    let span = Swift.max(1, (hi - lo) / 8)
                    let a = lo - span + Int64(rng.next() % UInt64(3 * span + 1))
                    range = probe % 4 == 1 ? a..<(a + span) : (probe % 4 == 2 ? Int64.min..<a : a..<(a + 1))
                }
                // Compared by canonical key bytes and exact states (NaN results are not == themselves).
                func form(_ rows: [ViewRow]) -> [String] {
                    rows.map { "\(String(describing: $0.windowStart)) \(GroupKey(values: $0.key).bytes) \($0.states)" }
                }
                let wanted = GroupKey(values: row.key)
                let expected = all.filter { r in
                    GroupKey(values: r.key) == wanted && (range.map { rg in r.windowStart.map { rg.contains($0) } ?? false } ?? true)
                }
                #expect(form(t.rows(windowStartRange: range, keyEquals: keyEquals)) == form(expected), "seed \(seed) probe \(probe) range \(String(describing: range))")
                #expect(form(indexed.rows(windowStartRange: range, keyEquals: keyEquals)) == form(expected), "seed \(seed) probe \(probe) indexed")
            }
            // Batched lookups (prefetching) answer as one-by-one lookups do: every cell, absent
            // windows, unknown and negative key ids, on the table with and without its full index.
            var lookups: [(Int64?, Int)] = (0..<t.cellCount).map { (t.windowStart(ofCell: $0), t.keyID(ofCell: $0)) }
            for _ in 0..<40 {
                let w: Int64? = t.layout.window == .none ? nil : (windows.randomElement(using: &rng) ?? 0) + Int64(rng.next() % 3) - 1
                lookups.append((w, Int(rng.next() % UInt64(t.keyCount + 3)) - 1))
            }
            lookups.shuffle(using: &rng)
            for table in [t, indexed] {
                var out: [Int32] = []
                table.cellIndices(count: lookups.count, windowStart: { lookups[$0].0 }, keyID: { lookups[$0].1 }, into: &out)
                #expect(out == lookups.map { Int32(table.cellIndex(windowStart: $0.0, keyID: $0.1) ?? -1) }, "seed \(seed): batched cell lookups")
            }
            #expect(t.distinctWindowStarts == Set((0..<t.cellCount).map { t.windowStart(ofCell: $0) }), "seed \(seed): distinct windows")
            for row in t.rows() {
                #expect(t.state(of: CellKey(windowStart: row.windowStart, key: GroupKey(values: row.key))) == row.states, "seed \(seed): state(of:)")
            }
        }
    }

    /// The table over all events equals the merge of tables over ANY split of them (random cut
    /// points, random merge order), bit for bit (encoded states), under `.includeAll`; and under
    /// `.dropLate` when each part is seeded with the `maxEventTime` before it (speed recovery).
    @Test(arguments: seeds)
    func mergeOfAnySplitEqualsWhole(seed: UInt64) {
        var rng = SplitMix64(seed: seed ^ 0x5151)
        let s = RandomData.setup(seed: seed)
        // Flatten to (batch, row) positions so cuts can fall inside batches.
        var positions: [(Int, Int)] = []
        for (bi, b) in s.batches.enumerated() { for r in 0..<b.count { positions.append((bi, r)) } }
        var cuts = Set<Int>([0, positions.count])
        for _ in 0..<(1 + rng.next() % 6) { cuts.insert(Int(rng.next() % UInt64(positions.count + 1))) }
        let bounds = cuts.sorted()

        for policy in [ViewTable.LatePolicy.includeAll, .dropLate] {
            var whole = ViewTable(layout: s.layout)
            for (b, sel) in zip(s.batches, s.selections) { whole.apply(b, selection: sel, policy: policy) }
            var parts: [ViewTable] = []
            var seedM: Int64? = nil
            for (lo, hi) in zip(bounds, bounds.dropFirst()) {
                var part = ViewTable(layout: s.layout)
                if policy == .dropLate { part.maxEventTime = seedM }   // recovery seeds it
                var i = lo
                while i < hi {
                    let (bi, r0) = positions[i]
                    let r1 = Swift.min(s.batches[bi].count, r0 + (hi - i))
                    part.apply(s.batches[bi], rows: r0..<r1, selection: s.selections[bi], policy: policy)
                    i += r1 - r0
                }
                seedM = part.maxEventTime ?? seedM
                parts.append(part)
            }
            let lateSum = parts.reduce(Int64(0)) { $0 + $1.lateEvents }
            while parts.count > 1 {
                let a = parts.remove(at: Int(rng.next() % UInt64(parts.count)))
                parts[Int(rng.next() % UInt64(parts.count))].merge(a)
            }
            let merged = parts[0]
            let context = "seed \(seed) policy \(policy) cuts \(bounds)"
            #expect(merged.maxEventTime == whole.maxEventTime, "\(context): maxEventTime")
            let a = merged.rows(), b = whole.rows()
            #expect(a.count == b.count, "\(context): cell count")
            let bytes = { (rows: [ViewRow]) -> [[UInt8]] in
                rows.map { row in
                    var w = ByteWriter()
                    w.write(row.windowStart ?? 0)
                    w.write(bytes: GroupKey(values: row.key).bytes)
                    for st in row.states { st.encode(into: &w) }
                    return w.bytes
                }
            }
            #expect(bytes(a) == bytes(b), "\(context): merged states differ from the whole")
            if policy == .dropLate {
                #expect(lateSum == whole.lateEvents, "\(context): late decisions differ after seeding maxEventTime")
            }
        }
    }

    /// `merge(states:into:)` of every row read back from `rows()` rebuilds an equal table, and
    /// `removeCells` keeps exactly the other cells with their states.
    @Test(arguments: seeds.prefix(20))
    func rebuildAndEvict(seed: UInt64) throws {
        let s = RandomData.setup(seed: seed)
        var t = ViewTable(layout: s.layout)
        for (b, sel) in zip(s.batches, s.selections) { t.apply(b, selection: sel, policy: .includeAll) }
        let rows = t.rows()
        var rebuilt = ViewTable(layout: s.layout)
        for row in rows.reversed() {
            let decoded = try row.states.map { try AggregateState(decoding: $0.encoded) }
            rebuilt.merge(states: decoded, into: CellKey(windowStart: row.windowStart, key: GroupKey(values: row.key)))
        }
        #expect(rebuilt.rows() == rows || rebuilt.rows().map(\.states) == rows.map(\.states), "seed \(seed)")
        // Evict the first half of the windows (or, without windows, half of the keys).
        let victims = Set(rows.prefix(rows.count / 2).map { CellKey(windowStart: $0.windowStart, key: GroupKey(values: $0.key)) })
        t.removeCells { victims.contains($0) }
        let after = t.rows()
        let kept = rows.filter { !victims.contains(CellKey(windowStart: $0.windowStart, key: GroupKey(values: $0.key))) }
        #expect(after.map(\.states) == kept.map(\.states), "seed \(seed): eviction")
        #expect(t.cellCount == kept.count)
        // The table keeps working after eviction: re-applying everything adds on top.
        for (b, sel) in zip(s.batches, s.selections) { t.apply(b, selection: sel, policy: .includeAll) }
        #expect(t.cellCount == rows.count, "seed \(seed): cells after re-apply")
    }
}

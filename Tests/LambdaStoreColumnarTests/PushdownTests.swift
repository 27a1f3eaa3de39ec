import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

@Suite struct PushdownTests {
    /// -1/0/1, or nil when unordered (NaN) — an independent reference for predicate semantics.
    static func compare(_ a: Value, _ b: Value) -> Int? {
        func int(_ v: Value) -> Int64? {
            switch v {
            case .int64(let x), .timestamp(let x): x
            case .bool(let b): b ? 1 : 0
            default: nil
            }
        }
        func dbl(_ v: Value) -> Double? {
            switch v {
            case .float64(let d): d
            case .int64(let x): Double(x)
            default: nil
            }
        }
        if case .float64 = a, let x = dbl(a), let y = dbl(b) {
            if x.isNaN || y.isNaN { return nil }
            return x < y ? -1 : (x == y ? 0 : 1)
        }
        if let x = int(a), let y = int(b) { return x < y ? -1 : (x == y ? 0 : 1) }
        if case .string(let x) = a, case .string(let y) = b {
            let p = Array(x.utf8), q = Array(y.utf8)
            return p == q ? 0 : (p.lexicographicallyPrecedes(q) ? -1 : 1)
        }
        return nil
    }

    static func matches(_ v: Value, _ c: ColumnPredicate.Condition) -> Bool {
        switch c {
        case .equals(.null): return v.isNull
        case .equals(let x): return !v.isNull && compare(v, x) == 0
        case .range(let lo, let hi):
            if v.isNull { return false }
            if let lo, !lo.isNull { guard let c = compare(v, lo), c >= 0 else { return false } }
            if let hi, !hi.isNull { guard let c = compare(v, hi), c < 0 else { return false } }
            return true
        }
    }

    /// The row groups holding at least one row that satisfies every predicate.
    static func naive(_ data: [Column], _ columns: [SnapshotColumn], _ predicates: [ColumnPredicate], groupRows: Int) -> [Int] {
        let n = data[0].count
        var out: [Int] = []
        for g in 0..<((n + groupRows - 1) / groupRows) {
            let rows = (g * groupRows)..<min(n, (g + 1) * groupRows)
            if rows.contains(where: { i in
                predicates.allSatisfy { p in
                    let c = columns.firstIndex { $0.name == p.column }!
                    return matches(TestData.value(data[c], i, type: columns[c].type), p.condition)
                }
            }) { out.append(g) }
        }
        return out
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func neverSkipsAMatchingRowGroup(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let types: [SnapshotType] = [.int64, .timestamp, .bool, .float64, .string]
        let columns = types.map { SnapshotColumn(name: "\($0)", type: $0, nullable: true) }
        let shapes: [TestData.Shape] = [.smallRange, .runs, .random, .random, .fewDistinct]
        let data = zip(types, shapes).map { TestData.column($0, rows: 2000, shape: $1, nullPercent: 15, rng: &rng) }
        let groupRows = 100
        let r = try SnapshotReader(bytes: try SnapshotWriter.encode(columns: columns, data: data, options: SnapshotOptions(rowGroupRows: groupRows)))
        var skipped = 0
        for trial in 0..<300 {
            var predicates: [ColumnPredicate] = []
            for _ in 0..<(1 + Int(rng.next() % 2)) {
                let c = Int(rng.next() % UInt64(types.count))
                let v1 = TestData.value(data[c], Int(rng.next() % 2000), type: types[c])
                let v2 = TestData.value(data[c], Int(rng.next() % 2000), type: types[c])
                switch rng.next() % 4 {
                case 0: predicates.append(.equals(columns[c].name, v1))
                case 1: predicates.append(.range(columns[c].name, lower: v1, upper: v2))
                case 2: predicates.append(.range(columns[c].name, lower: nil, upper: v2))
                default: predicates.append(.range(columns[c].name, lower: v1, upper: nil))
                }
            }
            let got = try r.rowGroups(where: predicates)
            let expected = Self.naive(data, columns, predicates, groupRows: groupRows)
            #expect(Set(expected).isSubset(of: got), "seed \(seed) trial \(trial): \(predicates) kept \(got), needed \(expected)")
            #expect(got == got.sorted())
            skipped += r.rowGroups.count - got.count
        }
        #expect(skipped > 0, "statistics never excluded anything (seed \(seed))")
    }

    /// Sorted, dense keys (every window present, every merchant sorted): the statistics are
    /// exact, so pushdown keeps exactly the row groups that hold a match.
    @Test(arguments: [UInt64(10), 11])
    func exactOnSortedDenseKeys(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let hour: Int64 = 3_600_000
        var windows = Column(type: .timestamp)
        var merchants = Column(type: .string)
        var counts = Column(type: .int64)
        var names: [String] = []
        for h in 0..<40 {
            let k = 1 + Int(rng.next() % 60)
            for m in 0..<k {
                windows.append(int: 1_700_000_000_000 / hour * hour + Int64(h) * hour)
                let name = "m" + String(1000 + h * 60 + m)  // globally sorted
                merchants.append(string: name)
                names.append(name)
                counts.append(int: Int64(rng.next() % 100))
            }
        }
        let n = windows.count
        let columns = [SnapshotColumn(name: "window_start", type: .timestamp), SnapshotColumn(name: "merchant_id", type: .string),
                       SnapshotColumn(name: "orders", type: .int64)]
        let data = [windows, merchants, counts]
        let groupRows = 37
        let r = try SnapshotReader(bytes: try SnapshotWriter.encode(columns: columns, data: data, options: SnapshotOptions(rowGroupRows: groupRows)))
        for _ in 0..<200 {
            let w1 = windows.ints[Int(rng.next() % UInt64(n))], w2 = windows.ints[Int(rng.next() % UInt64(n))]
            let lo = min(w1, w2), hi = max(w1, w2) + (rng.next() % 2 == 0 ? 0 : hour)
            let key = names[Int(rng.next() % UInt64(n))]
            for predicates in [[ColumnPredicate.equals("window_start", .timestamp(w1))],
                               [.range("window_start", lower: .timestamp(lo), upper: .timestamp(hi))],
                               [.equals("merchant_id", .string(key))],
                               [.range("merchant_id", lower: .string(key), upper: nil)]] {
                let got = try r.rowGroups(where: predicates)
                #expect(got == Self.naive(data, columns, predicates, groupRows: groupRows), "seed \(seed) \(predicates)")
            }
        }
        // A key absent from the file, below every key, and an empty range keep nothing.
        #expect(try r.rowGroups(where: [.equals("merchant_id", .string("a"))]).isEmpty)
        #expect(try r.rowGroups(where: [.range("window_start", lower: .timestamp(5), upper: .timestamp(5))]).isEmpty)
        #expect(try r.rowGroups(where: [.equals("orders", .int64(-1))]).isEmpty)
    }

    @Test func nullsAndAllNullGroups() throws {
        var c = Column(type: .int64)
        for i in 0..<40 { if (10..<20).contains(i) || i == 33 { c.appendNull() } else { c.append(int: Int64(i)) } }
        var f = Column(type: .float64)
        for i in 0..<40 { f.append(double: i < 10 ? .nan : Double(i)) }
        let columns = [SnapshotColumn(name: "x", type: .int64, nullable: true), SnapshotColumn(name: "f", type: .float64)]
        let r = try SnapshotReader(bytes: try SnapshotWriter.encode(columns: columns, data: [c, f], options: SnapshotOptions(rowGroupRows: 10)))
        #expect(r.rowGroups[1].chunks[0].statistics == SnapshotStatistics(nullCount: 10, bounds: nil))
        #expect(r.rowGroups[0].chunks[1].statistics.bounds == nil, "an all-NaN chunk has no bounds")
        #expect(try r.rowGroups(where: [.equals("x", .null)]) == [1, 3])
        #expect(try r.rowGroups(where: [.range("x", lower: nil, upper: nil)]) == [0, 2, 3])
        #expect(try r.rowGroups(where: [.equals("x", .int64(15))]).isEmpty)
        #expect(try r.rowGroups(where: [.equals("f", .float64(.nan))]).isEmpty, "NaN equals nothing")
        #expect(try r.rowGroups(where: [.range("f", lower: .float64(5), upper: .float64(25))]) == [0, 1, 2])
        let intOnFloat = try r.rowGroups(where: [.equals("f", .int64(31))])
        // Group 0 (all NaN) has no bounds, so it is kept: without bounds nothing is skipped.
        #expect(intOnFloat == [0, 3], "int values compare with float columns: \(intOnFloat)")
        #expect(try r.rowGroups(where: []) == [0, 1, 2, 3])
    }

    @Test func badPredicatesAreErrors() throws {
        let (columns, data) = DeterminismTests.sample(seed: 2)
        let r = try SnapshotReader(bytes: try SnapshotWriter.encode(columns: columns, data: data))
        #expect(throws: LambdaStoreError(.notFound, "snapshot has no column 'nope'", path: "<memory>")) {
            _ = try r.rowGroups(where: [.equals("nope", .int64(1))])
        }
        for p in [ColumnPredicate.equals("revenue", .string("1")), .equals("merchant_id", .int64(1)),
                  .range("avg", lower: .string("a"), upper: nil), .equals("window_start", .float64(1))] {
            #expect(throws: LambdaStoreError.self) { _ = try r.rowGroups(where: [p]) }
        }
    }
}

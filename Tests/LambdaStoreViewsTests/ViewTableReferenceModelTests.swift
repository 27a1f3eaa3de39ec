import Testing
@testable import LambdaStoreViews
import LambdaStoreCore
import LambdaStoreTestSupport

// A random view setup and a NAIVE REFERENCE for ViewTable, written plainly: a `[String: …]`
// dictionary of cells holding the raw input values, aggregated at the end by the definitions of
// DESIGN.md "Views"/"Lateness"/"Details" — no monoids, no interning, Int128 window arithmetic.

/// One random view: schema field types, a layout over them, and events in batches.
struct RandomSetup {
    var fields: [(type: FieldType, nullable: Bool)]
    var layout: ViewLayout
    var batches: [ColumnBatch]
    var selections: [[UInt8]?]
    let seed: UInt64

    var rowCount: Int { batches.reduce(0) { $0 + $1.count } }
}

enum RandomData {
    static let floats: [Double] = [0.0, -0.0, 1.5, -2.25, 0.1, 0.2, 1e300, -1e300, .nan, .infinity, -.infinity, Double(bitPattern: 6071), 1e16, -1]
    static let strings: [String] = ["", "a", "b", "ab", "é", "zz", "\u{0}x", "merchant-0042", "a-much-longer-merchant-identifier-01", "a-much-longer-merchant-identifier-02", "exactly-16-bytes"]

    static func value(_ t: FieldType, _ rng: inout SplitMix64) -> Value {
        switch t {
        case .int64:
            switch rng.next() % 10 {
            case 0: return .int64(.max)
            case 1: return .int64(.min)
            default: return .int64(Int64(rng.next() % 7) - 3)
            }
        case .float64:
            if rng.next() % 5 == 0 { return .float64(Double(Int64(bitPattern: rng.next()) >> 11) / 1024) }
            return .float64(floats[Int(rng.next() % UInt64(floats.count))])
        case .string: return .string(strings[Int(rng.next() % UInt64(strings.count))])
        case .bool: return .bool(rng.next() & 1 == 0)
        case .timestamp: return .timestamp(Int64(rng.next() % 41) - 20)
        }
    }

    static func setup(seed: UInt64, rows: Int = 300, hugeLateness: Bool = false, randomOrder: Bool = false) -> RandomSetup {
        var rng = SplitMix64(seed: seed)
        var fields: [(type: FieldType, nullable: Bool)] = (0..<(2 + Int(rng.next() % 5))).map { _ in
            (FieldType.allCases[Int(rng.next() % 5)], rng.next() % 3 == 0)
        }
        // Window.
        let window: WindowKind
        switch rng.next() % 3 {
        case 0: window = .none
        case 1: window = .tumbling(size: Int64(1 + rng.next() % 40))
        default:
            let slide = Int64(1 + rng.next() % 15)
            window = .hopping(size: Int64(1 + rng.next() % 50), slide: slide)
        }
        var windowField: Int? = nil
        if window != .none {
            if let i = fields.firstIndex(where: { $0.type == .timestamp }), rng.next() % 2 == 0 {
                windowField = i
            } else {
                fields.append((.timestamp, rng.next() % 3 == 0))
                windowField = fields.count - 1
            }
        }
        // Group by 0–3 distinct fields.
        var groupBy: [GroupField] = []
        for i in Array(fields.indices).shuffled(using: &rng).prefix(Int(rng.next() % 4)) {
            groupBy.append(GroupField(name: "f\(i)", index: i, type: fields[i].type))
        }
        // 1–6 aggregates, every function eligible; add a field when none of the right type exists.
        var aggs: [AggregateSlot] = []
        func fieldOf(_ types: [FieldType]) -> Int {
            let c = fields.indices.filter { types.contains(fields[$0].type) }
            if c.isEmpty || rng.next() % 4 == 0 {
                fields.append((types[Int(rng.next() % UInt64(types.count))], rng.next() % 2 == 0))
                return fields.count - 1
            }
            return c[Int(rng.next() % UInt64(c.count))]
        }
        for a in 0..<(1 + Int(rng.next() % 6)) {
            let fn = AggregateFunction.allCases[Int(rng.next() % 6)]
            var idx: Int?
            switch fn {
            case .count: idx = rng.next() % 2 == 0 ? nil : fieldOf(FieldType.allCases)
            case .sum, .avg: idx = fieldOf([.int64, .float64])
            case .min, .max: idx = fieldOf([.int64, .float64, .timestamp, .string])
            case .countDistinct: idx = fieldOf(FieldType.allCases)
            }
            aggs.append(AggregateSlot(name: "a\(a)", function: fn, fieldIndex: idx, fieldType: idx.map { fields[$0].type }))
        }
        let lateness: Int64 = hugeLateness ? Int64.max / 2 : Int64(rng.next() % 3 == 0 ? 0 : rng.next() % 30)
        let layout = ViewLayout(groupBy: groupBy, window: window, windowFieldIndex: windowField, allowedLateness: lateness, aggregates: aggs)

        // Events: nearly time-ordered window times with late stragglers, negative times included.
        var batches: [ColumnBatch] = []
        var selections: [[UInt8]?] = []
        var clock: Int64 = -150
        var made = 0
        while made < rows {
            let n = Swift.min(rows - made, 1 + Int(rng.next() % 40))
            var cols = fields.map { Column(type: $0.type) }
            var sel: [UInt8] = []
            for _ in 0..<n {
                clock += Int64(rng.next() % 4)
                for (i, f) in fields.enumerated() {
                    var v: Value
                    if f.nullable && rng.next() % 6 == 0 {
                        v = .null
                    } else if i == windowField {
                        let late = rng.next() % 8 == 0 ? Int64(rng.next() % 80) : 0
                        v = .timestamp(randomOrder ? Int64(rng.next() % 4000) - 2000 : clock - late)
                    } else {
                        v = value(f.type, &rng)
                    }
                    try? cols[i].append(v)
                }
                sel.append(rng.next() % 10 < 7 ? 1 : 0)
            }
            batches.append(ColumnBatch(schemaVersion: 1, columns: cols))
            selections.append(rng.next() % 5 == 0 ? nil : sel)
            made += n
        }
        return RandomSetup(fields: fields, layout: layout, batches: batches, selections: selections, seed: seed)
    }
}

/// The naive reference.
struct ReferenceModel {
    struct Cell {
        var window: Int64?
        var key: [Value]
        var rows = 0
        var inputs: [[Value]]
    }
    let layout: ViewLayout
    var cells: [String: Cell] = [:]
    var maxEventTime: Int64?
    var lateEvents = 0
    var lateByWindow: [Int64: Int64] = [:]
    var touched: Set<String> = []

    init(layout: ViewLayout) { self.layout = layout }

    static func canonicalKeyValue(_ v: Value) -> Value {
        if case .float64(let d) = v { return .float64(d.isNaN ? Double(bitPattern: 0x7FF8_0000_0000_0000) : (d == 0 ? 0 : d)) }
        return v
    }

    static func keyString(_ w: Int64?, _ key: [Value]) -> String {
        var s = w.map { "w\($0)|" } ?? "-|"
        for v in key {
            switch v {
            case .null: s += "n|"
            case .int64(let x): s += "i\(x)|"
            case .timestamp(let x): s += "t\(x)|"
            case .float64(let d): s += "f\(d.bitPattern)|"
            case .bool(let b): s += "b\(b)|"
            case .string(let x): s += "s\(Array(x.utf8))|"
            }
        }
        return s
    }

    /// Windows containing t, by brute force on multiples of the slide (Int128).
    func windows(_ t: Int64) -> [Int64] {
        switch layout.window {
        case .none: return []
        case .tumbling(let size), .hopping(let size, _):
            let slide: Int64
            if case .hopping(_, let s) = layout.window { slide = s } else { slide = size }
            var k = Int128(t) / Int128(slide)
            if Int128(t) % Int128(slide) != 0 && t < 0 { k -= 1 }
            var out: [Int64] = []
            while k * Int128(slide) + Int128(size) > Int128(t) {
                let s = k * Int128(slide)
                if s >= Int128(Int64.min) { out.append(Int64(s)) }
                k -= 1
            }
            return out.reversed()
        }
    }

    func windowSize() -> Int64 {
        switch layout.window {
        case .none: 0
        case .tumbling(let s), .hopping(let s, _): s
        }
    }

    mutating func apply(_ batch: ColumnBatch, rows: Range<Int>, selection: [UInt8]?, dropLate: Bool) {
        for r in rows {
            var t: Int64?
            if let wf = layout.windowFieldIndex, case .timestamp(let x) = batch.columns[wf].value(at: r) { t = x }
            let prev = maxEventTime
            if let t { maxEventTime = Swift.max(maxEventTime ?? t, t) }
            if let selection, selection[r] == 0 { continue }
            let key = layout.groupBy.map { ReferenceModel.canonicalKeyValue(batch.columns[$0.index].value(at: r)) }
            var targets: [Int64?] = []
            var rowLate = false
            if layout.window == .none {
                targets = [nil]
            } else if let t {
                for w in windows(t) {
                    let late = prev.map { Int128($0) >= Int128(w) + Int128(windowSize()) + Int128(layout.allowedLateness) } ?? false
                    if late {
                        rowLate = true
                        lateByWindow[w, default: 0] += 1
                        touched.insert(ReferenceModel.keyString(w, key))
                        if dropLate { continue }
                    }
                    targets.append(w)
                }
            }
            if rowLate { lateEvents += 1 }
            for w in targets {
                let ks = ReferenceModel.keyString(w, key)
                touched.insert(ks)
                var c = cells[ks] ?? Cell(window: w, key: key, inputs: Array(repeating: [], count: layout.aggregates.count))
                c.rows += 1
                for (j, a) in layout.aggregates.enumerated() {
                    if let f = a.fieldIndex {
                        let v = batch.columns[f].value(at: r)
                        if !v.isNull { c.inputs[j].append(v) }
                    }
                }
                cells[ks] = c
            }
        }
    }

    static func floatLess(_ a: Double, _ b: Double) -> Bool {
        if a.isNaN { return false }
        if b.isNaN { return true }
        if a == b { return a.sign == .minus && b.sign == .plus }
        return a < b
    }

    static func less(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return false
        case (.null, _): return true
        case (_, .null): return false
        case (.int64(let x), .int64(let y)), (.timestamp(let x), .timestamp(let y)): return x < y
        case (.float64(let x), .float64(let y)): return floatLess(x, y)
        case (.bool(let x), .bool(let y)): return !x && y
        case (.string(let x), .string(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        default: return false
        }
    }

    func result(_ c: Cell, _ j: Int) -> Value {
        let a = layout.aggregates[j]
        let vals = c.inputs[j]
        switch a.function {
        case .count: return .int64(Int64(a.fieldIndex == nil ? c.rows : vals.count))
        case .sum, .avg:
            if vals.isEmpty { return .null }
            if a.fieldType == .int64 {
                var s: Int128 = 0
                for v in vals { if case .int64(let x) = v { s += Int128(x) } }
                if a.function == .sum { return .int64(s > Int128(Int64.max) ? .max : (s < Int128(Int64.min) ? .min : Int64(s))) }
                return .float64(Double(s) / Double(vals.count))
            }
            let ds = vals.compactMap { if case .float64(let d) = $0 { d } else { nil } }
            var sum: Double
            if ds.contains(where: \.isNaN) || (ds.contains(.infinity) && ds.contains(-.infinity)) {
                sum = .nan
            } else if ds.contains(.infinity) {
                sum = .infinity
            } else if ds.contains(-.infinity) {
                sum = -.infinity
            } else {
                sum = referenceFsum(ds)
            }
            return a.function == .sum ? .float64(sum) : .float64(sum / Double(ds.count))
        case .min, .max:
            guard var best = vals.first else { return .null }
            for v in vals.dropFirst() {
                if a.function == .min ? ReferenceModel.less(v, best) : ReferenceModel.less(best, v) { best = v }
            }
            return best
        case .countDistinct:
            var h = HyperLogLog()
            for v in vals { if let x = DistinctHash.hash(v) { h.insert(hash: x) } }
            return .int64(h.cardinality)
        }
    }

    /// Rows sorted by window start then group key, by the plain comparator above.
    func rows() -> [(window: Int64?, end: Int64?, key: [Value], values: [Value])] {
        let sorted = cells.values.sorted { x, y in
            if x.window != y.window { return (x.window ?? .min) < (y.window ?? .min) }
            for (a, b) in zip(x.key, y.key) {
                if ReferenceModel.less(a, b) { return true }
                if ReferenceModel.less(b, a) { return false }
            }
            return false
        }
        return sorted.map { c in
            let end = c.window.map { w in Int128(w) + Int128(windowSize()) > Int128(Int64.max) ? Int64.max : w + windowSize() }
            return (c.window, end, c.key, layout.aggregates.indices.map { result(c, $0) })
        }
    }
}

/// Value equality for tests: floats by bits, except every NaN equals every NaN.
func sameValue(_ a: Value, _ b: Value) -> Bool {
    if case .float64(let x) = a, case .float64(let y) = b { return x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN) }
    return a == b
}

/// Compares a table with the reference: same cells in the same order with the same values.
func expectTableMatchesReference(_ t: ViewTable, _ ref: ReferenceModel, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let got = t.rows()
    let want = ref.rows()
    #expect(got.count == want.count, "\(context): \(got.count) cells, reference \(want.count)", sourceLocation: sourceLocation)
    for (g, w) in zip(got, want) {
        let ok = g.windowStart == w.window && g.windowEnd == w.end
            && g.key.count == w.key.count && zip(g.key, w.key).allSatisfy(sameValue)
            && g.values.count == w.values.count && zip(g.values, w.values).allSatisfy(sameValue)
        #expect(ok, "\(context): cell [\(String(describing: g.windowStart))] \(g.key) = \(g.values); reference [\(String(describing: w.window))] \(w.key) = \(w.values)", sourceLocation: sourceLocation)
        if !ok { return }
    }
    #expect(t.maxEventTime == ref.maxEventTime, "\(context): maxEventTime", sourceLocation: sourceLocation)
}

@Suite struct ViewTableReferenceModelTests {
    /// The generator covers what the property tests claim: every type, every aggregate, every
    /// window kind, 0–3 group fields, nulls and late events.
    @Test func generatorCoversTheSpace() {
        var types = Set<FieldType>(), fns = Set<AggregateFunction>(), windows = Set<Int>(), groups = Set<Int>()
        var late = 0
        for seed in 0..<60 {
            let s = RandomData.setup(seed: UInt64(seed))
            s.fields.forEach { types.insert($0.type) }
            s.layout.aggregates.forEach { fns.insert($0.function) }
            switch s.layout.window { case .none: windows.insert(0); case .tumbling: windows.insert(1); case .hopping: windows.insert(2) }
            groups.insert(s.layout.groupBy.count)
            var ref = ReferenceModel(layout: s.layout)
            for (b, sel) in zip(s.batches, s.selections) { ref.apply(b, rows: 0..<b.count, selection: sel, dropLate: true) }
            late += ref.lateEvents
        }
        #expect(types.count == 5 && fns.count == 6 && windows.count == 3 && groups == [0, 1, 2, 3])
        #expect(late > 0)
    }
}

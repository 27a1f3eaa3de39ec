import LambdaStoreCore

/// The states of one aggregate for every cell of a ViewTable, struct-of-arrays: plain arrays
/// for the common kinds (counts, integer sums, numeric min/max), arrays of state structs for the
/// rare ones (float sums, string min/max, sketches). Internal.
struct StateColumn: Sendable {
    let kind: AggregateKind
    /// The input column, nil for `count` of rows.
    let field: Int?
    /// count: the count · sum/avg int: value counts · min/max int/timestamp: the values.
    var i64: [Int64] = []
    /// sum/avg int: the sums.
    var i128: [Int128] = []
    /// min/max float: the values.
    var f64: [Double] = []
    /// min/max: 1 when a value is present.
    var present: [UInt8] = []
    /// sum/avg float.
    var exact: [ExactFloatSum] = []
    /// min/max string.
    var strings: [[UInt8]] = []
    /// count_distinct.
    var sketches: [HyperLogLog] = []

    init(kind: AggregateKind, field: Int?) {
        self.kind = kind
        self.field = field
    }

    var count: Int {
        switch kind {
        case .count: i64.count
        case .sumInt, .avgInt: i128.count
        case .sumFloat, .avgFloat: exact.count
        case .min, .max: present.count
        case .countDistinct: sketches.count
        }
    }

    /// Reserves room for `n` cells in the arrays this kind uses (no states are added).
    mutating func reserve(_ n: Int) {
        defer {
            // Large reservations fault in 2 MiB at a time (see HugePages).
            HugePages.advise(&i64)
            HugePages.advise(&i128)
            HugePages.advise(&f64)
        }
        switch kind {
        case .count: i64.reserveCapacity(n)
        case .sumInt, .avgInt:
            i64.reserveCapacity(n)
            i128.reserveCapacity(n)
        case .sumFloat, .avgFloat: exact.reserveCapacity(n)
        case .min(let t), .max(let t):
            present.reserveCapacity(n)
            switch t {
            case .float64: f64.reserveCapacity(n)
            case .string: strings.reserveCapacity(n)
            default: i64.reserveCapacity(n)
            }
        case .countDistinct: sketches.reserveCapacity(n)
        }
    }

    /// Appends identity states up to `n` cells.
    mutating func grow(to n: Int) {
        let k = n - count
        guard k > 0 else { return }
        switch kind {
        case .count: i64.append(contentsOf: repeatElement(0, count: k))
        case .sumInt, .avgInt:
            i64.append(contentsOf: repeatElement(0, count: k))
            i128.append(contentsOf: repeatElement(0, count: k))
        case .sumFloat, .avgFloat: exact.append(contentsOf: repeatElement(ExactFloatSum(), count: k))
        case .min(let t), .max(let t):
            present.append(contentsOf: repeatElement(0, count: k))
            switch t {
            case .float64: f64.append(contentsOf: repeatElement(0, count: k))
            case .string: strings.append(contentsOf: repeatElement([], count: k))
            default: i64.append(contentsOf: repeatElement(0, count: k))
            }
        case .countDistinct: sketches.append(contentsOf: repeatElement(HyperLogLog(), count: k))
        }
    }

    /// Drops the states of cells `n...` (identity states appended ahead of need).
    mutating func truncate(to n: Int) {
        func cut<T>(_ a: inout [T]) { if a.count > n { a.removeLast(a.count - n) } }
        cut(&i64)
        cut(&i128)
        cut(&f64)
        cut(&present)
        cut(&exact)
        cut(&strings)
        cut(&sketches)
    }

    var isMin: Bool { if case .min = kind { true } else { false } }

    /// The state of cell `c`.
    func state(_ c: Int) -> AggregateState {
        switch kind {
        case .count: return .count(i64[c])
        case .sumInt: return .sumInt(IntSum(sum: i128[c], count: i64[c]))
        case .avgInt: return .avgInt(IntSum(sum: i128[c], count: i64[c]))
        case .sumFloat: return .sumFloat(exact[c])
        case .avgFloat: return .avgFloat(exact[c])
        case .min(let t), .max(let t):
            let has = present[c] != 0
            let e: Extreme
            switch t {
            case .float64: e = .float64(has ? f64[c] : nil)
            case .string: e = .string(has ? strings[c] : nil)
            case .timestamp: e = .timestamp(has ? i64[c] : nil)
            default: e = .int64(has ? i64[c] : nil)
            }
            return isMin ? .min(e) : .max(e)
        case .countDistinct: return .countDistinct(sketches[c])
        }
    }

    /// Merges `s` (of this column's kind) into cell `c`.
    mutating func merge(_ s: AggregateState, into c: Int) {
        switch s {
        case .count(let n): i64[c] &+= n
        case .sumInt(let v), .avgInt(let v):
            i128[c] &+= v.sum
            i64[c] &+= v.count
        case .sumFloat(let v), .avgFloat(let v): exact[c].merge(v)
        case .min(let e), .max(let e):
            var cur = extreme(c)
            cur.combine(e, isMin: isMin)
            setExtreme(cur, c)
        case .countDistinct(let h): sketches[c].merge(h)
        }
    }

    func extreme(_ c: Int) -> Extreme {
        switch state(c) {
        case .min(let e), .max(let e): e
        default: preconditionFailure("not a min/max column")
        }
    }

    mutating func setExtreme(_ e: Extreme, _ c: Int) {
        switch e {
        case .int64(let v), .timestamp(let v):
            present[c] = v == nil ? 0 : 1
            i64[c] = v ?? 0
        case .float64(let v):
            present[c] = v == nil ? 0 : 1
            f64[c] = v ?? 0
        case .string(let v):
            present[c] = v == nil ? 0 : 1
            strings[c] = v ?? []
        }
    }

    /// Merges every cell `oc` of `other` (same kind) into cell `targets[oc]`: the column-wise
    /// loop of ``ViewTable/merge(_:)``.
    mutating func merge(column other: StateColumn, into targets: [Int]) {
        let n = targets.count
        targets.withUnsafeBufferPointer { tg in
            switch kind {
            case .count:
                i64.withUnsafeMutableBufferPointer { a in
                    other.i64.withUnsafeBufferPointer { b in for oc in 0..<n { a[tg[oc]] &+= b[oc] } }
                }
            case .sumInt, .avgInt:
                i64.withUnsafeMutableBufferPointer { a in
                    other.i64.withUnsafeBufferPointer { b in for oc in 0..<n { a[tg[oc]] &+= b[oc] } }
                }
                i128.withUnsafeMutableBufferPointer { a in
                    other.i128.withUnsafeBufferPointer { b in for oc in 0..<n { a[tg[oc]] &+= b[oc] } }
                }
            case .min(let t), .max(let t):
                let isMin = self.isMin
                switch t {
                case .float64:
                    for oc in 0..<n where other.present[oc] != 0 {
                        let c = tg[oc], x = other.f64[oc]
                        if present[c] == 0 {
                            present[c] = 1
                            f64[c] = x
                        } else {
                            let kx = CanonicalFloat.orderKey(x), kc = CanonicalFloat.orderKey(f64[c])
                            if isMin ? kx < kc : kx > kc { f64[c] = x }
                        }
                    }
                case .string:
                    for oc in 0..<n where other.present[oc] != 0 { merge(other.state(oc), into: tg[oc]) }
                default:
                    for oc in 0..<n where other.present[oc] != 0 {
                        let c = tg[oc], x = other.i64[oc]
                        if present[c] == 0 {
                            present[c] = 1
                            i64[c] = x
                        } else if isMin ? x < i64[c] : x > i64[c] {
                            i64[c] = x
                        }
                    }
                }
            case .sumFloat, .avgFloat:
                for oc in 0..<n where other.exact[oc].count != 0 { exact[tg[oc]].merge(other.exact[oc]) }
            case .countDistinct:
                for oc in 0..<n { sketches[tg[oc]].merge(other.sketches[oc]) }
            }
        }
    }

    /// Keeps only the cells `keep` (ascending old indexes), renumbered 0..<keep.count.
    mutating func compact(_ keep: [Int]) {
        func gather<T>(_ a: [T]) -> [T] { a.isEmpty ? a : keep.map { a[$0] } }
        i64 = gather(i64)
        i128 = gather(i128)
        f64 = gather(f64)
        present = gather(present)
        exact = gather(exact)
        strings = gather(strings)
        sketches = gather(sketches)
    }

    /// Bytes held, approximately.
    var approximateBytes: Int {
        var b = i64.capacity * 8 + i128.capacity * 16 + f64.capacity * 8 + present.capacity
        b += exact.capacity * MemoryLayout<ExactFloatSum>.stride + exact.reduce(0) { $0 + ($1.limbs.isEmpty ? 0 : 32 + 8 * $1.limbs.capacity) }
        b += strings.capacity * 8 + strings.reduce(0) { $0 + ($1.isEmpty ? 0 : 32 + $1.capacity) }
        b += sketches.capacity * MemoryLayout<HyperLogLog>.stride
        for s in sketches {
            switch s.storage {
            case .sparse(let e): b += e.isEmpty ? 0 : 32 + 4 * e.capacity
            case .dense(let r): b += 32 + r.capacity
            }
        }
        return b
    }

    // MARK: Hot path

    /// Applies the pairs (row, cell) to this aggregate, reading the input column `v`.
    mutating func apply(rows: UnsafeBufferPointer<Int32>, cells: UnsafeBufferPointer<Int32>, input v: ColumnView?, scratch: inout [UInt8]) {
        let n = rows.count
        switch kind {
        case .count:
            i64.withUnsafeMutableBufferPointer { cnt in
                if let v, v.hasNulls {
                    for j in 0..<n where !v.isNull(Int(rows[j])) { cnt[Int(cells[j])] &+= 1 }
                } else {
                    for j in 0..<n { cnt[Int(cells[j])] &+= 1 }
                }
            }
        case .sumInt, .avgInt:
            guard let v else { return }
            i64.withUnsafeMutableBufferPointer { cnt in
                i128.withUnsafeMutableBufferPointer { sum in
                    if v.hasNulls {
                        for j in 0..<n {
                            let r = Int(rows[j])
                            if v.isNull(r) { continue }
                            let c = Int(cells[j])
                            sum[c] &+= Int128(v.ints[r])
                            cnt[c] &+= 1
                        }
                    } else {
                        for j in 0..<n {
                            let c = Int(cells[j])
                            sum[c] &+= Int128(v.ints[Int(rows[j])])
                            cnt[c] &+= 1
                        }
                    }
                }
            }
        case .sumFloat, .avgFloat:
            guard let v else { return }
            for j in 0..<n {
                let r = Int(rows[j])
                if v.isNull(r) { continue }
                exact[Int(cells[j])].add(v.doubles[r])
            }
        case .min(let t), .max(let t):
            guard let v else { return }
            let isMin = self.isMin
            switch t {
            case .float64:
                present.withUnsafeMutableBufferPointer { has in
                    f64.withUnsafeMutableBufferPointer { val in
                        for j in 0..<n {
                            let r = Int(rows[j])
                            if v.isNull(r) { continue }
                            let c = Int(cells[j])
                            let x = v.doubles[r]
                            if has[c] == 0 {
                                has[c] = 1
                                val[c] = CanonicalFloat.canonicalNaN(x)
                            } else {
                                let kx = CanonicalFloat.orderKey(x), kc = CanonicalFloat.orderKey(val[c])
                                if isMin ? kx < kc : kx > kc { val[c] = CanonicalFloat.canonicalNaN(x) }
                            }
                        }
                    }
                }
            case .string:
                for j in 0..<n {
                    let r = Int(rows[j])
                    if v.isNull(r) { continue }
                    let c = Int(cells[j])
                    let x = v.bytes(r)
                    if present[c] == 0 {
                        present[c] = 1
                        strings[c] = [UInt8](x)
                    } else {
                        let cmp = strings[c].withUnsafeBytes { compareBytes(x, $0) }
                        if isMin ? cmp < 0 : cmp > 0 { strings[c] = [UInt8](x) }
                    }
                }
            default:
                present.withUnsafeMutableBufferPointer { has in
                    i64.withUnsafeMutableBufferPointer { val in
                        for j in 0..<n {
                            let r = Int(rows[j])
                            if v.isNull(r) { continue }
                            let c = Int(cells[j])
                            let x = v.ints[r]
                            if has[c] == 0 {
                                has[c] = 1
                                val[c] = x
                            } else if isMin ? x < val[c] : x > val[c] {
                                val[c] = x
                            }
                        }
                    }
                }
            }
        case .countDistinct:
            guard let v else { return }
            for j in 0..<n {
                let r = Int(rows[j])
                if v.isNull(r) { continue }
                let h: UInt64
                switch v.type {
                case .float64: h = DistinctHash.hash(double: v.doubles[r])
                case .string: h = DistinctHash.hash(utf8: v.bytes(r), scratch: &scratch)
                default: h = DistinctHash.hash(int: v.ints[r], type: v.type)
                }
                sketches[Int(cells[j])].insert(hash: h)
            }
        }
    }
}

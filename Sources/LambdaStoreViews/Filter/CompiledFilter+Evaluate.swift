import LambdaStoreCore

/// A per-row byte mask being written: 1 or 0 per row.
typealias FilterMaskPointer = UnsafeMutablePointer<UInt8>

extension CompiledFilter {
    /// Sets `selection[i]` to 1 when row `i` of `batch` passes the filter (the filter is
    /// *true*), else 0; `selection` is resized to `batch.count`.
    ///
    /// Column at a time: every leaf compares a whole column (against a literal, a list or
    /// another column) into a *true* mask and, where a `not` above it needs it, a *false* mask;
    /// null rows are then cleared from both (unknown = neither); `and`/`or` combine masks
    /// bytewise. String equality compares the UTF-8 bytes in place.
    ///
    /// The batch must be laid out like the schema the filter was compiled against, or a later
    /// compatible version of it (projected with `ColumnBatch.projected(from:to:)`; added fields
    /// go last, so the filter's column indexes keep their meaning and extra columns are
    /// ignored): every column the filter reads present with its compiled type and consistent
    /// storage (`Column.storageProblem()`). A batch that is not — a missing or mistyped column,
    /// as a concurrent schema change or a damaged file could produce — selects **no rows**: it
    /// never traps. Use ``evaluateChecked(_:into:)`` to get the reason as an error instead.
    ///
    /// - Complexity: O(rows × leaves), plus O(rows × list length) for `IN` lists.
    public func evaluate(_ batch: ColumnBatch, into selection: inout [UInt8]) {
        let n = batch.count
        if problem(with: batch) != nil {
            selection.removeAll(keepingCapacity: true)
            selection.append(contentsOf: repeatElement(0, count: n))
            return
        }
        run(batch, into: &selection)
    }

    /// ``evaluate(_:into:)``, throwing instead of selecting no rows when `batch` cannot be
    /// evaluated.
    /// - Throws: ``LambdaStoreError/Code/schema`` naming the field and the problem.
    /// - Complexity: as ``evaluate(_:into:)``.
    public func evaluateChecked(_ batch: ColumnBatch, into selection: inout [UInt8]) throws(LambdaStoreError) {
        if let p = problem(with: batch) { throw LambdaStoreError(.schema, "filter '\(canonicalText)': \(p)") }
        run(batch, into: &selection)
    }

    /// Why `batch` cannot be evaluated by this filter, or nil when it can: a column the filter
    /// reads is missing, has another type, has another row count than the batch, or has
    /// inconsistent storage.
    /// - Complexity: O(rows) per string column read, O(1) per other column read.
    public func problem(with batch: ColumnBatch) -> String? {
        batch.readProblem(columns: columnsRead.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                          label: { i in "field \(i < fieldNames.count ? "'\(fieldNames[i])'" : "#\(i)") (column \(i))" }, reader: "the filter")
    }

    /// Runs the kernels over a batch that passed ``problem(with:)``.
    func run(_ batch: ColumnBatch, into selection: inout [UInt8]) {
        let n = batch.count
        if selection.count != n {
            selection.removeAll(keepingCapacity: true)
            selection.append(contentsOf: repeatElement(0, count: n))
        }
        if n == 0 { return }
        let cols = batch.columns
        selection.withUnsafeMutableBufferPointer { sel in
            guard let t = sel.baseAddress else { return }
            FilterKernels.run(plan, cols, n, t, nil)
        }
    }

    /// The selection mask of `batch`: see ``evaluate(_:into:)``.
    /// - Complexity: as ``evaluate(_:into:)``.
    public func evaluate(_ batch: ColumnBatch) -> [UInt8] {
        var s: [UInt8] = []
        evaluate(batch, into: &s)
        return s
    }
}

/// The column kernels. Each writes, for the rows `0..<n`, 1/0 into `t` (row is true) and/or
/// `f` (row is false) when those are non-nil; unknown rows get 0 in both.
enum FilterKernels {
    /// Stands in for the bytes of an empty string column (never read: every length is 0).
    nonisolated(unsafe) static let emptyBytes: UnsafeMutablePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 8)
        p.initialize(repeating: 0, count: 8)
        return p
    }()

    /// Evaluates `plan` into `t` / `f`. Each leaf is its own non-inlined kernel, so that every
    /// row loop is compiled (and vectorized) on its own.
    static func run(_ plan: FilterPlan, _ cols: [Column], _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        if t == nil && f == nil { return }
        switch plan {
        case .and(let items): combine(items, cols, n, t, f, isAnd: true)
        case .or(let items): combine(items, cols, n, t, f, isAnd: false)
        case .not(let inner): run(inner, cols, n, f, t)
        case .constant(let b):
            t?.update(repeating: b ? 1 : 0, count: n)
            f?.update(repeating: b ? 0 : 1, count: n)
        case .boolColumn(let i):
            boolColumn(cols[i], n, t, f)
            maskNulls(cols[i], n, t, f)
        case .isNull(let i, let negated):
            isNull(cols[i], negated, n, t, f)
        case .intLiteral(let i, let op, let lit):
            intLiteral(cols[i], op, lit, n, t, f)
            maskNulls(cols[i], n, t, f)
        case .doubleLiteral(let i, let op, let lit):
            doubleLiteral(cols[i], op, lit, n, t, f)
            maskNulls(cols[i], n, t, f)
        case .intAsDoubleLiteral(let i, let op, let lit):
            intAsDoubleLiteral(cols[i], op, lit, n, t, f)
            maskNulls(cols[i], n, t, f)
        case .stringLiteral(let i, let op, let lit):
            if let d = cols[i].dictionary {
                perEntry(d, n, t, f) { stringLiteral(d.entries, op, lit, d.entries.count, $0, $1) }
            } else {
                stringLiteral(cols[i], op, lit, n, t, f)
            }
            maskNulls(cols[i], n, t, f)
        case .intColumns(let a, let op, let b):
            intColumns(cols[a], op, cols[b], n, t, f)
            maskNulls(cols[a], n, t, f)
            maskNulls(cols[b], n, t, f)
        case .doubleColumns(let a, let op, let b):
            doubleColumns(cols[a], op, cols[b], n, t, f)
            maskNulls(cols[a], n, t, f)
            maskNulls(cols[b], n, t, f)
        case .intDoubleColumns(let a, let op, let b):
            intDoubleColumns(cols[a], op, cols[b], n, t, f)
            maskNulls(cols[a], n, t, f)
            maskNulls(cols[b], n, t, f)
        case .stringColumns(let a, let op, let b):
            stringColumns(cols[a].materialized(), op, cols[b].materialized(), n, t, f)
            maskNulls(cols[a], n, t, f)
            maskNulls(cols[b], n, t, f)
        case .intIn(let i, let ints, let doubles, let negated):
            intIn(cols[i], ints, doubles, negated, n, t, f)
            maskNulls(cols[i], n, t, f)
        case .doubleIn(let i, let list, let negated):
            doubleIn(cols[i], list, negated, n, t, f)
            maskNulls(cols[i], n, t, f)
        case .stringIn(let i, let list, let negated):
            if let d = cols[i].dictionary {
                perEntry(d, n, t, f) { stringIn(d.entries, list, negated, d.entries.count, $0, $1) }
            } else {
                stringIn(cols[i], list, negated, n, t, f)
            }
            maskNulls(cols[i], n, t, f)
        }
    }

    /// A string leaf over a dictionary-encoded column: `kernel` evaluates the leaf once per
    /// dictionary entry into entry masks, and each row takes its entry's answer (null rows are
    /// masked by the caller as for plain columns).
    @inline(never)
    static func perEntry(_ d: ColumnDictionary, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?,
                         _ kernel: (FilterMaskPointer?, FilterMaskPointer?) -> Void) {
        let k = d.entries.count
        let te = t == nil ? nil : FilterMaskPointer.allocate(capacity: Swift.max(1, k))
        let fe = f == nil ? nil : FilterMaskPointer.allocate(capacity: Swift.max(1, k))
        defer {
            te?.deallocate()
            fe?.deallocate()
        }
        if k > 0 { kernel(te, fe) }
        d.codes.withUnsafeBufferPointer { codes in
            let c = codes.baseAddress.unsafelyUnwrapped
            if let t, let te { for r in 0..<n { t[r] = te[Int(c[r])] } }
            if let f, let fe { for r in 0..<n { f[r] = fe[Int(c[r])] } }
        }
    }

    @inline(never)
    static func boolColumn(_ c: Column, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        c.ints.withUnsafeBufferPointer { v in
            let p = v.baseAddress.unsafelyUnwrapped
            emit(n, t, f) { p[$0] != 0 }
        }
    }

    @inline(never)
    static func isNull(_ c: Column, _ negated: Bool, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        guard c.hasNulls else {
            t?.update(repeating: negated ? 1 : 0, count: n)
            f?.update(repeating: negated ? 0 : 1, count: n)
            return
        }
        c.validity.withUnsafeBufferPointer { v in
            let p = v.baseAddress.unsafelyUnwrapped
            let want: UInt8 = negated ? 1 : 0   // the validity bit of a passing row
            emit(n, t, f) { (p[$0 >> 3] >> UInt8($0 & 7)) & 1 == want }
        }
    }

    @inline(never)
    static func intLiteral(_ c: Column, _ op: FilterComparison, _ lit: Int64, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        c.ints.withUnsafeBufferPointer { v in
            let p = v.baseAddress.unsafelyUnwrapped
            compare(op, n, t, f, { p[$0] }, { _ in lit })
        }
    }

    @inline(never)
    static func doubleLiteral(_ c: Column, _ op: FilterComparison, _ lit: Double, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        c.doubles.withUnsafeBufferPointer { v in
            let p = v.baseAddress.unsafelyUnwrapped
            compare(op, n, t, f, { p[$0] }, { _ in lit })
        }
    }

    @inline(never)
    static func intAsDoubleLiteral(_ c: Column, _ op: FilterComparison, _ lit: Double, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        c.ints.withUnsafeBufferPointer { v in
            let p = v.baseAddress.unsafelyUnwrapped
            compare(op, n, t, f, { Double(p[$0]) }, { _ in lit })
        }
    }

    @inline(never)
    static func intColumns(_ ca: Column, _ op: FilterComparison, _ cb: Column, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        ca.ints.withUnsafeBufferPointer { va in
            cb.ints.withUnsafeBufferPointer { vb in
                let pa = va.baseAddress.unsafelyUnwrapped, pb = vb.baseAddress.unsafelyUnwrapped
                compare(op, n, t, f, { pa[$0] }, { pb[$0] })
            }
        }
    }

    @inline(never)
    static func doubleColumns(_ ca: Column, _ op: FilterComparison, _ cb: Column, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        ca.doubles.withUnsafeBufferPointer { va in
            cb.doubles.withUnsafeBufferPointer { vb in
                let pa = va.baseAddress.unsafelyUnwrapped, pb = vb.baseAddress.unsafelyUnwrapped
                compare(op, n, t, f, { pa[$0] }, { pb[$0] })
            }
        }
    }

    @inline(never)
    static func intDoubleColumns(_ ca: Column, _ op: FilterComparison, _ cb: Column, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        ca.ints.withUnsafeBufferPointer { va in
            cb.doubles.withUnsafeBufferPointer { vb in
                let pa = va.baseAddress.unsafelyUnwrapped, pb = vb.baseAddress.unsafelyUnwrapped
                compare(op, n, t, f, { Double(pa[$0]) }, { pb[$0] })
            }
        }
    }

    /// An integer-backed column in a list: up to 8 exact integers by a linear scan, more by
    /// binary search; float literals (for an `int64` column) compared as `Double`.
    @inline(never)
    static func intIn(_ c: Column, _ ints: [Int64], _ doubles: [Double], _ negated: Bool, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        let sorted = Array(Set(ints)).sorted()
        c.ints.withUnsafeBufferPointer { v in
            let p = v.baseAddress.unsafelyUnwrapped
            if doubles.isEmpty && sorted.count <= 8 {
                sorted.withUnsafeBufferPointer { l in
                    emit(n, t, f) { k in
                        let x = p[k]
                        var hit = false
                        for y in l where y == x { hit = true }
                        return hit != negated
                    }
                }
            } else {
                emit(n, t, f) { k in
                    let x = p[k]
                    return (contains(sorted, x) || (!doubles.isEmpty && doubles.contains(Double(x)))) != negated
                }
            }
        }
    }

    @inline(never)
    static func doubleIn(_ c: Column, _ list: [Double], _ negated: Bool, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        c.doubles.withUnsafeBufferPointer { v in
            let p = v.baseAddress.unsafelyUnwrapped
            list.withUnsafeBufferPointer { l in
                emit(n, t, f) { k in
                    let x = p[k]
                    var hit = false
                    for y in l where y == x { hit = true }
                    return hit != negated
                }
            }
        }
    }

    /// Binary search in an ascending array.
    @inline(__always)
    static func contains(_ sorted: [Int64], _ x: Int64) -> Bool {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if sorted[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo < sorted.count && sorted[lo] == x
    }

    /// `and` / `or` of several children: the first writes the output masks directly, each
    /// further one writes scratch masks that are folded in (`and`: t &= t', f |= f';
    /// `or`: t |= t', f &= f').
    @inline(never)
    static func combine(_ items: [FilterPlan], _ cols: [Column], _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?, isAnd: Bool) {
        guard let first = items.first else { return }
        run(first, cols, n, t, f)
        if items.count == 1 { return }
        let st: FilterMaskPointer? = t == nil ? nil : .allocate(capacity: n)
        let sf: FilterMaskPointer? = f == nil ? nil : .allocate(capacity: n)
        defer {
            st?.deallocate()
            sf?.deallocate()
        }
        for item in items.dropFirst() {
            run(item, cols, n, st, sf)
            if let t, let st {
                if isAnd { for k in 0..<n { t[k] &= st[k] } } else { for k in 0..<n { t[k] |= st[k] } }
            }
            if let f, let sf {
                if isAnd { for k in 0..<n { f[k] |= sf[k] } } else { for k in 0..<n { f[k] &= sf[k] } }
            }
        }
    }

    /// Writes `pred(i)` into `t` and `!pred(i)` into `f` for every row.
    @inline(__always)
    static func emit(_ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?, _ pred: (Int) -> Bool) {
        if let t, let f {
            for k in 0..<n {
                let c: UInt8 = pred(k) ? 1 : 0
                t[k] = c
                f[k] = c ^ 1
            }
        } else if let t {
            for k in 0..<n { t[k] = pred(k) ? 1 : 0 }
        } else if let f {
            for k in 0..<n { f[k] = pred(k) ? 0 : 1 }
        }
    }

    /// `a(i) op b(i)` for every row (specialized for the element types the kernels use, so the
    /// comparisons compile to plain machine compares).
    @inline(__always)
    @_specialize(where T == Int64)
    @_specialize(where T == Double)
    @_specialize(where T == Int)
    static func compare<T: Comparable>(_ op: FilterComparison, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?,
                                       _ a: (Int) -> T, _ b: (Int) -> T) {
        switch op {
        case .eq: emit(n, t, f) { a($0) == b($0) }
        case .ne: emit(n, t, f) { a($0) != b($0) }
        case .lt: emit(n, t, f) { a($0) < b($0) }
        case .le: emit(n, t, f) { a($0) <= b($0) }
        case .gt: emit(n, t, f) { a($0) > b($0) }
        case .ge: emit(n, t, f) { a($0) >= b($0) }
        }
    }

    /// Clears the null rows of `c` from both masks (their result is unknown).
    @inline(never)
    static func maskNulls(_ c: Column, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        guard c.hasNulls else { return }
        c.validity.withUnsafeBufferPointer { v in
            let p = v.baseAddress.unsafelyUnwrapped
            if let t {
                for k in 0..<n { t[k] &= (p[k >> 3] >> UInt8(k & 7)) & 1 }
            }
            if let f {
                for k in 0..<n { f[k] &= (p[k >> 3] >> UInt8(k & 7)) & 1 }
            }
        }
    }


    /// Bytewise lexicographic order of two byte strings: <0, 0 or >0 (Core's `compareBytes`,
    /// the project's one string order, inlined).
    @inline(__always)
    static func order(_ a: UnsafePointer<UInt8>, _ la: Int, _ b: UnsafePointer<UInt8>, _ lb: Int) -> Int {
        compareBytes(UnsafeRawBufferPointer(start: a, count: la), UnsafeRawBufferPointer(start: b, count: lb))
    }

    @inline(__always)
    static func withStrings<R>(_ c: Column, _ body: (UnsafePointer<UInt32>, UnsafePointer<UInt8>) -> R) -> R {
        c.offsets.withUnsafeBufferPointer { o in
            c.utf8.withUnsafeBufferPointer { u in
                body(o.baseAddress.unsafelyUnwrapped, u.baseAddress ?? UnsafePointer(emptyBytes))
            }
        }
    }

    @inline(never)
    static func stringLiteral(_ c: Column, _ op: FilterComparison, _ lit: [UInt8], _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        let ll = lit.count
        let byteCount = c.utf8.count
        if (op == .eq || op == .ne), ll >= 1, ll <= 16, byteCount >= ll {
            shortStringEquality(c, equal: op == .eq, lit, n, t, f)
            return
        }
        withStrings(c) { off, bytes in
            lit.withUnsafeBufferPointer { l in
                let lp = l.baseAddress ?? UnsafePointer(emptyBytes)
                switch op {
                case .eq, .ne:
                    let want = op == .eq
                    emit(n, t, f) { k in
                        let a = Int(off[k])
                        let same = Int(off[k + 1]) - a == ll && bytesEqual(bytes + a, lp, count: ll)
                        return same == want
                    }
                default:
                    compare(op, n, t, f, { k in order(bytes + Int(off[k]), Int(off[k + 1]) - Int(off[k]), lp, ll) }, { _ in 0 })
                }
            }
        }
    }

    /// Branch-free `column = literal` for literals of 1…16 bytes (the common case: status
    /// codes, country codes, enum-like strings). Each row loads a fixed window of the literal's
    /// length at its start — two overlapping 8- or 4-byte words, or three bytes — XORs it with
    /// the literal and ORs in `length ^ literalLength`: the row is equal exactly when the result
    /// is 0. The window start is clamped to `byteCount - literalLength`, so no load leaves the
    /// buffer; a row clamped that way is shorter than the literal and so is never equal.
    @inline(never)
    static func shortStringEquality(_ c: Column, equal: Bool, _ lit: [UInt8], _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        let ll = lit.count
        let limit = c.utf8.count - ll
        withStrings(c) { off, bytes in
            lit.withUnsafeBytes { l in
                let raw = UnsafeRawPointer(bytes)
                let lp = l.baseAddress.unsafelyUnwrapped
                @inline(__always) func start(_ k: Int) -> (UnsafeRawPointer, UInt64) {
                    let a = Int(off[k])
                    let len = Int(off[k + 1]) &- a
                    return (raw + min(a, limit), UInt64(truncatingIfNeeded: len ^ ll))
                }
                if ll >= 8 {
                    let w0 = lp.loadUnaligned(as: UInt64.self), w1 = lp.loadUnaligned(fromByteOffset: ll - 8, as: UInt64.self)
                    emit(n, t, f) { k in
                        let (s, dl) = start(k)
                        let d = (s.loadUnaligned(as: UInt64.self) ^ w0) | (s.loadUnaligned(fromByteOffset: ll - 8, as: UInt64.self) ^ w1) | dl
                        return (d == 0) == equal
                    }
                } else if ll >= 4 {
                    let w0 = lp.loadUnaligned(as: UInt32.self), w1 = lp.loadUnaligned(fromByteOffset: ll - 4, as: UInt32.self)
                    emit(n, t, f) { k in
                        let (s, dl) = start(k)
                        let d = UInt64((s.loadUnaligned(as: UInt32.self) ^ w0) | (s.loadUnaligned(fromByteOffset: ll - 4, as: UInt32.self) ^ w1)) | dl
                        return (d == 0) == equal
                    }
                } else {
                    let b0 = lp.load(as: UInt8.self), bm = lp.load(fromByteOffset: ll / 2, as: UInt8.self)
                    let b1 = lp.load(fromByteOffset: ll - 1, as: UInt8.self)
                    emit(n, t, f) { k in
                        let (s, dl) = start(k)
                        let d = UInt64((s.load(as: UInt8.self) ^ b0) | (s.load(fromByteOffset: ll / 2, as: UInt8.self) ^ bm)
                            | (s.load(fromByteOffset: ll - 1, as: UInt8.self) ^ b1)) | dl
                        return (d == 0) == equal
                    }
                }
            }
        }
    }

    @inline(never)
    static func stringColumns(_ ca: Column, _ op: FilterComparison, _ cb: Column, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        withStrings(ca) { oa, ba in
            withStrings(cb) { ob, bb in
                switch op {
                case .eq, .ne:
                    let want = op == .eq
                    emit(n, t, f) { k in
                        let a = Int(oa[k]), la = Int(oa[k + 1]) - a
                        let b = Int(ob[k]), lb = Int(ob[k + 1]) - b
                        return (la == lb && bytesEqual(ba + a, bb + b, count: la)) == want
                    }
                default:
                    compare(op, n, t, f, { k in
                        order(ba + Int(oa[k]), Int(oa[k + 1]) - Int(oa[k]), bb + Int(ob[k]), Int(ob[k + 1]) - Int(ob[k]))
                    }, { _ in 0 })
                }
            }
        }
    }

    /// A string column in a list: the OR of one equality kernel per literal (each branch-free
    /// for literals up to 16 bytes).
    @inline(never)
    static func stringIn(_ c: Column, _ list: [[UInt8]], _ negated: Bool, _ n: Int, _ t: FilterMaskPointer?, _ f: FilterMaskPointer?) {
        let hit = FilterMaskPointer.allocate(capacity: n)
        let one = FilterMaskPointer.allocate(capacity: n)
        defer {
            hit.deallocate()
            one.deallocate()
        }
        hit.initialize(repeating: 0, count: n)
        for lit in Set(list) {
            stringLiteral(c, .eq, lit, n, one, nil)
            for k in 0..<n { hit[k] |= one[k] }
        }
        emit(n, t, f) { (hit[$0] != 0) != negated }
    }
}

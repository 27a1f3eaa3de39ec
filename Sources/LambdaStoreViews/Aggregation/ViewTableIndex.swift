import LambdaStoreCore

// The cell index of a ViewTable: group keys interned into dense ids, and cells keyed by
// (window start, key id) in a flat open-addressing table. Internal; hot paths only.

/// A fast, non-persistent hash of a short byte string (in-memory tables only).
@inline(__always)
func fastBytesHash(_ b: UnsafeRawBufferPointer) -> UInt64 {
    let n = b.count
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(n) &* 0xFF51_AFD7_ED55_8CCD)
    var i = 0
    while i + 8 <= n {
        let w = b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
        i += 8
    }
    if i < n {
        var t: UInt64 = 0
        var s: UInt64 = 0
        while i < n {
            t |= UInt64(b[i]) << s
            s += 8
            i += 1
        }
        h = (h ^ t) &* 0x94D0_49BB_1331_11EB
    }
    h ^= h >> 29
    h = h &* 0xBF58_476D_1CE4_E5B9
    h ^= h >> 32
    return h
}

/// Byte strings interned to caller-chosen dense ids (open addressing, linear probing).
struct KeyInterner: Sendable {
    /// 0 = empty; else `(hash >> 32) << 32 | (id + 1)`.
    var slots: [UInt64] = [UInt64](repeating: 0, count: 64)
    var arena: [UInt8] = []
    /// Per entry: arena range and id.
    var starts: [Int] = []
    var ends: [Int] = []
    var ids: [Int32] = []
    var hashes: [UInt64] = []

    var count: Int { ids.count }

    /// The id of `b`, or -1.
    @inline(__always)
    func find(_ b: UnsafeRawBufferPointer, hash h: UInt64) -> Int32 {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        let tag = h >> 32
        return slots.withUnsafeBufferPointer { sl in
            arena.withUnsafeBytes { ar in
                while true {
                    let s = sl[i]
                    if s == 0 { return -1 }
                    if s >> 32 == tag {
                        let e = Int(truncatingIfNeeded: s & 0xFFFF_FFFF) - 1
                        let a = starts[e], z = ends[e]
                        if z - a == b.count && (b.count == 0 || Extreme.memcmpBytes(ar.baseAddress! + a, b.baseAddress!, b.count) == 0) {
                            return ids[e]
                        }
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    /// Adds `b` (not present) with `id`.
    mutating func insert(_ b: UnsafeRawBufferPointer, hash h: UInt64, id: Int32) {
        let e = ids.count
        starts.append(arena.count)
        arena.append(contentsOf: b)
        ends.append(arena.count)
        ids.append(id)
        hashes.append(h)
        if 2 * (e + 1) > slots.count {
            rehash(capacity: slots.count * 2)
        } else {
            place(entry: e)
        }
    }

    @inline(__always)
    mutating func place(entry e: Int) {
        let h = hashes[e]
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = ((h >> 32) << 32) | UInt64(e + 1)
    }

    mutating func rehash(capacity: Int) {
        slots = [UInt64](repeating: 0, count: capacity)
        for e in 0..<ids.count { place(entry: e) }
    }

    /// The bytes of entry `e`.
    func bytes(entry e: Int) -> ArraySlice<UInt8> { arena[starts[e]..<ends[e]] }
}

/// One slot of the cell map.
struct CellSlot: Sendable {
    var window: Int64
    var key: Int32     // -1: empty
    var cell: Int32
}

/// (window start, key id) → cell index, open addressing with linear probing.
struct CellMap: Sendable {
    var slots: [CellSlot] = [CellSlot](repeating: CellSlot(window: 0, key: -1, cell: 0), count: 64)
    var count = 0

    @inline(__always)
    static func hash(_ w: Int64, _ k: Int32) -> Int {
        var h = UInt64(bitPattern: w) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(UInt32(bitPattern: k)) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 31
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 29
        return Int(truncatingIfNeeded: h)
    }

    /// The cell of (w, k), or -1.
    @inline(__always)
    func find(_ w: Int64, _ k: Int32) -> Int32 {
        slots.withUnsafeBufferPointer { sl in
            let mask = sl.count - 1
            var i = CellMap.hash(w, k) & mask
            while true {
                let s = sl[i]
                if s.key < 0 { return -1 }
                if s.key == k && s.window == w { return s.cell }
                i = (i + 1) & mask
            }
        }
    }

    /// Adds (w, k) → cell; (w, k) must be absent.
    @inline(__always)
    mutating func insert(_ w: Int64, _ k: Int32, cell: Int32) {
        if 2 * (count + 1) > slots.count { grow() }
        let mask = slots.count - 1
        var i = CellMap.hash(w, k) & mask
        while slots[i].key >= 0 { i = (i + 1) & mask }
        slots[i] = CellSlot(window: w, key: k, cell: cell)
        count += 1
    }

    mutating func grow() {
        let old = slots
        slots = [CellSlot](repeating: CellSlot(window: 0, key: -1, cell: 0), count: old.count * 2)
        let mask = slots.count - 1
        for s in old where s.key >= 0 {
            var i = CellMap.hash(s.window, s.key) & mask
            while slots[i].key >= 0 { i = (i + 1) & mask }
            slots[i] = s
        }
    }

    /// Rebuilds the map for the given cells.
    init(windows: [Int64], keys: [Int32]) {
        var cap = 64
        while cap < 2 * windows.count + 2 { cap *= 2 }
        slots = [CellSlot](repeating: CellSlot(window: 0, key: -1, cell: 0), count: cap)
        count = 0
        for c in 0..<windows.count { insert(windows[c], keys[c], cell: Int32(c)) }
    }

    init() {}
}

/// Unsafe read access to one column's storage, valid inside ``withColumnViews``.
struct ColumnView {
    let type: FieldType
    let count: Int
    let hasNulls: Bool
    let ints: UnsafeBufferPointer<Int64>
    let doubles: UnsafeBufferPointer<Double>
    let offsets: UnsafeBufferPointer<UInt32>
    let utf8: UnsafeRawBufferPointer
    let validity: UnsafeBufferPointer<UInt8>

    @inline(__always)
    func isNull(_ i: Int) -> Bool {
        hasNulls && (validity[i >> 3] & (1 << UInt8(i & 7))) == 0
    }

    /// The UTF-8 bytes of row `i` of a string column.
    @inline(__always)
    func bytes(_ i: Int) -> UnsafeRawBufferPointer {
        let a = Int(offsets[i]), b = Int(offsets[i + 1])
        return UnsafeRawBufferPointer(rebasing: utf8[a..<b])
    }

    /// Checks the storage invariants of ``Column`` the unsafe accesses rely on (O(1), plus the
    /// string offsets' last entry).
    static func check(_ c: Column) {
        let n = c.count
        precondition(!c.hasNulls || c.validity.count >= (n + 7) / 8, "column validity shorter than its rows")
        switch c.type {
        case .float64: precondition(c.doubles.count >= n, "column values shorter than its rows")
        case .string:
            precondition(c.offsets.count >= n + 1, "string offsets shorter than rows + 1")
            precondition(n == 0 || Int(c.offsets[n]) <= c.utf8.count, "string offsets beyond the bytes")
        default: precondition(c.ints.count >= n, "column values shorter than its rows")
        }
    }
}

/// Runs `body` with views of `columns[i]` for every `i` in `used` (nil elsewhere).
func withColumnViews<R>(_ columns: [Column], used: [Bool], _ body: ([ColumnView?]) -> R) -> R {
    var views = [ColumnView?](repeating: nil, count: columns.count)
    return withColumnViewsStep(columns, used, 0, &views, body)
}

private func withColumnViewsStep<R>(_ columns: [Column], _ used: [Bool], _ i: Int, _ views: inout [ColumnView?], _ body: ([ColumnView?]) -> R) -> R {
    if i == columns.count { return body(views) }
    if !used[i] { return withColumnViewsStep(columns, used, i + 1, &views, body) }
    let c = columns[i]
    ColumnView.check(c)
    return c.ints.withUnsafeBufferPointer { ints in
        c.doubles.withUnsafeBufferPointer { doubles in
            c.offsets.withUnsafeBufferPointer { offsets in
                c.utf8.withUnsafeBytes { utf8 in
                    c.validity.withUnsafeBufferPointer { validity in
                        views[i] = ColumnView(type: c.type, count: c.count, hasNulls: c.hasNulls, ints: ints, doubles: doubles, offsets: offsets, utf8: utf8, validity: validity)
                        return withColumnViewsStep(columns, used, i + 1, &views, body)
                    }
                }
            }
        }
    }
}

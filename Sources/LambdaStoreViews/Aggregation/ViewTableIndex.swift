import LambdaStoreCore

// The cell index of a ViewTable: group keys interned into dense ids, and cells keyed by
// (window start, key id) in a flat open-addressing table. Internal; hot paths only.

/// One interned byte string: its arena range and its id.
struct InternEntry: Sendable {
    var start: Int
    var count: Int
    var id: Int32
}

/// Byte strings interned to caller-chosen dense ids: open addressing with linear probing over
/// 32-byte slots that hold the hash tag, the id, the length and the first 16 bytes of the key,
/// so a lookup of a key of up to 16 bytes touches one slot and nothing else.
struct KeyInterner: Sendable {
    /// Four words per slot: `(hash >> 32) << 32 | (id + 1)` (0: empty), `count | entry << 32`,
    /// bytes 0..<8 and 8..<16 of the key (zero padded).
    var slots: [UInt64] = [UInt64](repeating: 0, count: 4 * 64)
    var arena: [UInt8] = []
    var entries: [InternEntry] = []
    var hashes: [UInt64] = []

    var count: Int { entries.count }
    var capacity: Int { slots.count / 4 }

    /// The first 16 bytes of `b`, zero padded, as two little-endian words.
    @inline(__always)
    static func prefix(_ b: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        let n = b.count
        if n >= 16 {
            return (b.loadUnaligned(fromByteOffset: 0, as: UInt64.self), b.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
        if n >= 8 {
            let x0 = b.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            if n == 8 { return (x0, 0) }
            // Bytes n-8..<n, dropping the 16-n that overlap x0.
            return (x0, b.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) >> UInt64(8 * (16 - n)))
        }
        if n >= 4 {
            let lo = UInt64(b.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            let hi = UInt64(b.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) >> UInt64(8 * (8 - n))
            return (lo | hi << 32, 0)
        }
        var x: UInt64 = 0
        for i in 0..<n { x |= UInt64(b[i]) << UInt64(8 * i) }
        return (x, 0)
    }

    /// The id of `b`, or -1.
    @inline(__always)
    func find(_ b: UnsafeRawBufferPointer, hash h: UInt64) -> Int32 {
        let tag = h >> 32
        let n = UInt64(b.count)
        let (x0, x1) = KeyInterner.prefix(b)
        return slots.withUnsafeBufferPointer { sl in
            let mask = sl.count / 4 - 1
            var i = Int(truncatingIfNeeded: h) & mask
            while true {
                let meta = sl[4 * i]
                if meta == 0 { return -1 }
                if meta >> 32 == tag && sl[4 * i + 1] & 0xFFFF_FFFF == n && sl[4 * i + 2] == x0 && sl[4 * i + 3] == x1 {
                    if n <= 16 || longTailEquals(b, entry: Int(sl[4 * i + 1] >> 32)) {
                        return Int32(truncatingIfNeeded: meta & 0xFFFF_FFFF) - 1
                    }
                }
                i = (i + 1) & mask
            }
        }
    }

    /// Starts loading the slot a lookup of `hash` probes first.
    @inline(__always)
    func prefetch(hash h: UInt64) {
        slots.withUnsafeBufferPointer { sl in
            let i = Int(truncatingIfNeeded: h) & (sl.count / 4 - 1)
            prefetchForRead(UnsafeRawPointer(sl.baseAddress.unsafelyUnwrapped + 4 * i))
        }
    }

    /// Whether bytes 16... of `b` equal those of entry `e` (same length).
    func longTailEquals(_ b: UnsafeRawBufferPointer, entry e: Int) -> Bool {
        let start = entries[e].start
        return arena.withUnsafeBytes { ar in
            compareBytes(UnsafeRawBufferPointer(rebasing: ar[(start + 16)..<(start + b.count)]), UnsafeRawBufferPointer(rebasing: b[16...])) == 0
        }
    }

    /// Adds `b` (not present) with `id`.
    mutating func insert(_ b: UnsafeRawBufferPointer, hash h: UInt64, id: Int32) {
        precondition(b.count <= Int(UInt32.max) && entries.count < Int(UInt32.max), "key interner limits")
        let e = entries.count
        entries.append(InternEntry(start: arena.count, count: b.count, id: id))
        arena.append(contentsOf: b)
        hashes.append(h)
        if 10 * (e + 1) > 7 * capacity {
            rehash(capacity: capacity * 2)
        } else {
            place(entry: e)
        }
    }

    mutating func place(entry e: Int) {
        let h = hashes[e]
        let en = entries[e]
        let (x0, x1) = arena.withUnsafeBytes { KeyInterner.prefix(UnsafeRawBufferPointer(rebasing: $0[en.start..<(en.start + en.count)])) }
        let mask = capacity - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[4 * i] != 0 { i = (i + 1) & mask }
        slots[4 * i] = ((h >> 32) << 32) | UInt64(UInt32(bitPattern: en.id) &+ 1)
        slots[4 * i + 1] = UInt64(en.count) | UInt64(e) << 32
        slots[4 * i + 2] = x0
        slots[4 * i + 3] = x1
    }

    mutating func rehash(capacity: Int) {
        slots = [UInt64](repeating: 0, count: 4 * capacity)
        for e in 0..<entries.count { place(entry: e) }
    }
}

/// One cell of a group key: its window start and cell index. Each key keeps its cells sorted
/// by window start.
struct KeyCell: Sendable {
    var window: Int64
    var cell: Int32
}

/// Unsafe read access to one column's storage, valid inside ``withColumnViews``. For a
/// dictionary-encoded string column, ``offsets``/``utf8`` are the dictionary's entries and
/// ``codes`` the per-row codes (empty otherwise).
struct ColumnView {
    let type: FieldType
    let count: Int
    let hasNulls: Bool
    let ints: UnsafeBufferPointer<Int64>
    let doubles: UnsafeBufferPointer<Double>
    let offsets: UnsafeBufferPointer<UInt32>
    let utf8: UnsafeRawBufferPointer
    let validity: UnsafeBufferPointer<UInt8>
    let codes: UnsafeBufferPointer<UInt32>
    let isDictionary: Bool

    @inline(__always)
    func isNull(_ i: Int) -> Bool {
        hasNulls && (validity[i >> 3] & (1 << UInt8(i & 7))) == 0
    }

    /// The UTF-8 bytes of row `i` of a string column (either form).
    @inline(__always)
    func bytes(_ i: Int) -> UnsafeRawBufferPointer {
        entry(isDictionary ? Int(codes[i]) : i)
    }

    /// The UTF-8 bytes of entry `j`: row `j` of a plain column, dictionary entry `j` of a
    /// dictionary-encoded one.
    @inline(__always)
    func entry(_ j: Int) -> UnsafeRawBufferPointer {
        let a = Int(offsets[j]), b = Int(offsets[j + 1])
        return UnsafeRawBufferPointer(rebasing: utf8[a..<b])
    }
}

/// Runs `body` with views of `columns[i]` for every `i` in `used` (nil elsewhere). Every used
/// column must have consistent storage (`Column.storageProblem()` nil): the caller checks.
func withColumnViews<R>(_ columns: [Column], used: [Bool], _ body: ([ColumnView?]) -> R) -> R {
    var views = [ColumnView?](repeating: nil, count: columns.count)
    return withColumnViewsStep(columns, used, 0, &views, body)
}

private func withColumnViewsStep<R>(_ columns: [Column], _ used: [Bool], _ i: Int, _ views: inout [ColumnView?], _ body: ([ColumnView?]) -> R) -> R {
    if i == columns.count { return body(views) }
    if !used[i] { return withColumnViewsStep(columns, used, i + 1, &views, body) }
    let c = columns[i]
    let strings = c.dictionary?.entries ?? c
    let codes = c.dictionary?.codes ?? []
    return c.ints.withUnsafeBufferPointer { ints in
        c.doubles.withUnsafeBufferPointer { doubles in
            strings.offsets.withUnsafeBufferPointer { offsets in
                strings.utf8.withUnsafeBytes { utf8 in
                    c.validity.withUnsafeBufferPointer { validity in
                        codes.withUnsafeBufferPointer { codes in
                            views[i] = ColumnView(type: c.type, count: c.count, hasNulls: c.hasNulls, ints: ints, doubles: doubles, offsets: offsets,
                                                  utf8: utf8, validity: validity, codes: codes, isDictionary: c.dictionary != nil)
                            return withColumnViewsStep(columns, used, i + 1, &views, body)
                        }
                    }
                }
            }
        }
    }
}

/// (window start, key id) → cell index, open addressing with linear probing: the index of a
/// ViewTable for lookups deep in a key's chain (kept up to date by the speed layer, built
/// lazily elsewhere). A slot is 8 bytes: 0 when empty, else the low 32 bits of the hash (high
/// half) and the cell index + 1 (low half); a probe compares the hash bits first and checks the
/// table's own window and key arrays only on a match, so the map stores no keys.
struct CellMap: Sendable {
    var slots: [UInt64] = [UInt64](repeating: 0, count: 64)
    var count = 0

    @inline(__always)
    static func hash(_ w: Int64, _ k: Int32) -> UInt32 {
        var h = UInt64(bitPattern: w) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(UInt32(bitPattern: k)) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 31
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 29
        return UInt32(truncatingIfNeeded: h)
    }

    /// The cell of (w, k), or -1; `windows`/`keys` are the table's per-cell arrays.
    @inline(__always)
    func find(_ w: Int64, _ k: Int32, windows: [Int64], keys: [Int32]) -> Int32 {
        let h = CellMap.hash(w, k)
        return slots.withUnsafeBufferPointer { sl in
            let mask = sl.count - 1
            var i = Int(h) & mask
            while true {
                let s = sl[i]
                if s == 0 { return -1 }
                if UInt32(truncatingIfNeeded: s >> 32) == h {
                    let c = Int(UInt32(truncatingIfNeeded: s)) - 1
                    if windows[c] == w && keys[c] == k { return Int32(c) }
                }
                i = (i + 1) & mask
            }
        }
    }

    /// Starts loading the slot a lookup of (w, k) probes first.
    @inline(__always)
    func prefetch(_ w: Int64, _ k: Int32) {
        let h = CellMap.hash(w, k)
        slots.withUnsafeBufferPointer { sl in
            guard let base = sl.baseAddress else { return }
            prefetchForRead(UnsafeRawPointer(base + (Int(h) & (sl.count - 1))))
        }
    }

    /// Starts loading the per-cell entries that a lookup of (w, k) checks first (the cell its
    /// first slot names, when the slot's hash matches): the second miss of a lookup, issued
    /// once the slot itself is in cache.
    @inline(__always)
    func prefetchCandidate(_ w: Int64, _ k: Int32, windows: [Int64], keys: [Int32]) {
        let h = CellMap.hash(w, k)
        let s = slots.withUnsafeBufferPointer { sl in sl[Int(h) & (sl.count - 1)] }
        guard s != 0, UInt32(truncatingIfNeeded: s >> 32) == h else { return }
        let c = Int(UInt32(truncatingIfNeeded: s)) - 1
        guard c >= 0, c < windows.count, c < keys.count else { return }
        windows.withUnsafeBufferPointer { b in if let a = b.baseAddress { prefetchForRead(UnsafeRawPointer(a + c)) } }
        keys.withUnsafeBufferPointer { b in if let a = b.baseAddress { prefetchForRead(UnsafeRawPointer(a + c)) } }
    }

    /// Adds (w, k) → cell; (w, k) must be absent.
    @inline(__always)
    mutating func insert(_ w: Int64, _ k: Int32, cell: Int32) {
        if 2 * (count + 1) > slots.count { grow() }
        place(UInt64(CellMap.hash(w, k)) << 32 | UInt64(UInt32(cell) + 1))
        count += 1
    }

    @inline(__always)
    mutating func place(_ entry: UInt64) {
        slots.withUnsafeMutableBufferPointer { sl in
            let mask = sl.count - 1
            var i = Int(entry >> 32) & mask
            while sl[i] != 0 { i = (i + 1) & mask }
            sl[i] = entry
        }
    }

    mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        for s in old where s != 0 { place(s) }
    }

    init() {}
}

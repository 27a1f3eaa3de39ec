import LambdaStoreCore

/// One column chunk encoded, before compression (format-spec.md §4.5).
struct EncodedChunk {
    /// The encoding chosen.
    var encoding: SnapshotEncoding
    /// `[validity] values`, the bytes the chunk CRC will cover once compressed.
    var bytes: [UInt8]
    /// Statistics of the rows.
    var statistics: SnapshotStatistics
    /// Bytes of non-null string values (bounded by the writer).
    var valueBytes: Int
}

/// Encodes rows of a ``Column`` into a chunk, choosing the smallest applicable encoding
/// (format-spec.md §4.5, "Choice of encoding"). Deterministic: the same rows always give the
/// same bytes. Null rows are written as 0 / 0.0 / the empty string / dictionary code 0 whatever
/// the column holds in their slots.
///
/// Thread safety: pure functions.
enum ChunkEncoder {
    /// Encodes `range` of `column` (whose storage type matches `type`).
    /// - Complexity: O(rows + bytes).
    static func encode(_ column: Column, range: Range<Int>, type: SnapshotType, preferred: SnapshotEncoding?) -> EncodedChunk {
        let n = range.count
        var out: [UInt8] = []
        var validity: [UInt8] = []
        var nulls = 0
        if column.hasNulls {
            validity = Bitmap.extract(column.validity, start: range.lowerBound, count: n)
            nulls = validity.withUnsafeBytes { Bitmap.zeroCount($0, count: n) }
            if nulls > 0 { out = validity } else { validity = [] }
        }
        let forced = preferred.flatMap { type.encodings.contains($0) ? $0 : nil }
        switch type {
        case .int64, .timestamp, .bool:
            return column.ints.withUnsafeBufferPointer { all in
                let src = UnsafeBufferPointer(rebasing: all[range])
                return validity.withUnsafeBytes { valid in
                    encodeInts(src, valid: nulls > 0 ? valid : nil, nulls: nulls, isBool: type == .bool, forced: forced, out: &out)
                }
            }
        case .float64:
            return column.doubles.withUnsafeBufferPointer { all in
                let src = UnsafeBufferPointer(rebasing: all[range])
                return validity.withUnsafeBytes { valid in
                    encodeDoubles(src, valid: nulls > 0 ? valid : nil, nulls: nulls, forced: forced, out: &out)
                }
            }
        case .string, .bytes:
            return column.offsets.withUnsafeBufferPointer { offs in
                column.utf8.withUnsafeBytes { bytes in
                    validity.withUnsafeBytes { valid in
                        encodeStrings(offsets: UnsafeBufferPointer(rebasing: offs[range.lowerBound...range.upperBound]), bytes: bytes, valid: nulls > 0 ? valid : nil, nulls: nulls, withStatistics: type == .string, forced: forced, out: &out)
                    }
                }
            }
        }
    }

    // MARK: Integers

    /// Sizes of the integer encodings of `v`, in bytes.
    struct IntSizes {
        var plain = 0, bitpack = 0, delta = 0, rle = 0
    }

    static func intSizes(_ v: UnsafeBufferPointer<Int64>, isBool: Bool) -> IntSizes {
        let n = v.count
        var s = IntSizes()
        s.plain = isBool ? n : 8 * n
        var runs = n > 0 ? 1 : 0
        for i in 1..<max(n, 1) where v[i] != v[i - 1] { runs += 1 }
        s.rle = 4 + 12 * runs
        s.bitpack = forBlocksSize(count: n) { v[$0] }
        s.delta = n == 0 ? 0 : 8 + forBlocksSize(count: n - 1) { v[$0 + 1] &- v[$0] }
        return s
    }

    /// Size of `count` values in frame-of-reference blocks.
    @inline(__always)
    static func forBlocksSize(count: Int, _ value: (Int) -> Int64) -> Int {
        var size = 0
        var start = 0
        while start < count {
            let m = min(SnapshotFormat.blockValues, count - start)
            var lo = value(start), hi = lo
            for j in (start + 1)..<(start + m) {
                let x = value(j)
                if x < lo { lo = x }
                if x > hi { hi = x }
            }
            size += 9 + BitPacking.packedBytes(count: m, width: BitPacking.width(UInt64(bitPattern: hi &- lo)))
            start += m
        }
        return size
    }

    /// Appends `count` values in frame-of-reference blocks: `i64 reference, u8 width, packed`.
    @inline(__always)
    static func writeForBlocks(count: Int, out: inout [UInt8], _ value: (Int) -> Int64) {
        var start = 0
        while start < count {
            let m = min(SnapshotFormat.blockValues, count - start)
            var lo = value(start), hi = lo
            for j in (start + 1)..<(start + m) {
                let x = value(j)
                if x < lo { lo = x }
                if x > hi { hi = x }
            }
            let width = BitPacking.width(UInt64(bitPattern: hi &- lo))
            appendLE(lo, to: &out)
            out.append(UInt8(width))
            BitPacking.pack(count: m, width: width, into: &out) { UInt64(bitPattern: value(start + $0) &- lo) }
            start += m
        }
    }

    static func encodeInts(_ raw: UnsafeBufferPointer<Int64>, valid: UnsafeRawBufferPointer?, nulls: Int, isBool: Bool, forced: SnapshotEncoding?, out: inout [UInt8]) -> EncodedChunk {
        let n = raw.count
        // Null slots are written as 0: copy only when some null slot holds something else.
        var normalized: [Int64] = []
        if let valid, (0..<n).contains(where: { !Bitmap.isSet(valid, $0) && raw[$0] != 0 }) {
            normalized = Array(raw)
            for i in 0..<n where !Bitmap.isSet(valid, i) { normalized[i] = 0 }
        }
        return normalized.withUnsafeBufferPointer { norm in
            let v = normalized.isEmpty ? raw : norm
            // Statistics over the non-null values.
            var lo = Int64.max, hi = Int64.min, any = false
            if let valid {
                for i in 0..<n where Bitmap.isSet(valid, i) { lo = min(lo, v[i]); hi = max(hi, v[i]); any = true }
            } else {
                for x in v { lo = min(lo, x); hi = max(hi, x) }
                any = n > 0
            }
            let stats = SnapshotStatistics(nullCount: nulls, bounds: any ? .ints(min: lo, max: hi) : nil)
            let encoding: SnapshotEncoding
            if let forced {
                encoding = forced
            } else {
                let s = intSizes(v, isBool: isBool)
                var best = (SnapshotEncoding.plain, s.plain)
                for (e, size) in [(SnapshotEncoding.rle, s.rle), (.bitpack, s.bitpack), (.delta, s.delta)] where size < best.1 {
                    best = (e, size)
                }
                encoding = best.0
            }
            out.reserveCapacity(out.count + 8 * n + 16)
            switch encoding {
            case .plain:
                if isBool {
                    for x in v { out.append(UInt8(truncatingIfNeeded: x)) }
                } else {
                    out.append(contentsOf: UnsafeRawBufferPointer(v))
                }
            case .bitpack:
                writeForBlocks(count: n, out: &out) { v[$0] }
            case .delta:
                if n > 0 {
                    appendLE(v[0], to: &out)
                    writeForBlocks(count: n - 1, out: &out) { v[$0 + 1] &- v[$0] }
                }
            case .rle:
                writeRuns(count: n, out: &out, equal: { v[$0] == v[$0 - 1] }, value: { UInt64(bitPattern: v[$0]) })
            case .dictionary:
                preconditionFailure("dictionary encoding does not apply to integers")
            }
            return EncodedChunk(encoding: encoding, bytes: out, statistics: stats, valueBytes: 0)
        }
    }

    /// Appends `u32 runCount, runCount × u32 length, runCount × u64 value`.
    @inline(__always)
    static func writeRuns(count n: Int, out: inout [UInt8], equal: (Int) -> Bool, value: (Int) -> UInt64) {
        var starts: [Int] = []
        for i in 0..<n where i == 0 || !equal(i) { starts.append(i) }
        appendLE(UInt32(starts.count), to: &out)
        for (k, s) in starts.enumerated() {
            let end = k + 1 < starts.count ? starts[k + 1] : n
            appendLE(UInt32(end - s), to: &out)
        }
        for s in starts { appendLE(value(s), to: &out) }
    }

    // MARK: Floats

    static func encodeDoubles(_ raw: UnsafeBufferPointer<Double>, valid: UnsafeRawBufferPointer?, nulls: Int, forced: SnapshotEncoding?, out: inout [UInt8]) -> EncodedChunk {
        let n = raw.count
        var normalized: [Double] = []
        if let valid, (0..<n).contains(where: { !Bitmap.isSet(valid, $0) && raw[$0].bitPattern != 0 }) {
            normalized = Array(raw)
            for i in 0..<n where !Bitmap.isSet(valid, i) { normalized[i] = 0 }
        }
        return normalized.withUnsafeBufferPointer { norm in
            let v = normalized.isEmpty ? raw : norm
            var lo = Double.infinity, hi = -Double.infinity, any = false
            for i in 0..<n where (valid.map { Bitmap.isSet($0, i) } ?? true) && !v[i].isNaN {
                lo = min(lo, v[i]); hi = max(hi, v[i]); any = true
            }
            let stats = SnapshotStatistics(nullCount: nulls, bounds: any ? .doubles(min: lo, max: hi) : nil)
            var runs = n > 0 ? 1 : 0
            for i in 1..<max(n, 1) where v[i].bitPattern != v[i - 1].bitPattern { runs += 1 }
            let encoding = forced ?? (4 + 12 * runs < 8 * n ? .rle : .plain)
            switch encoding {
            case .rle:
                writeRuns(count: n, out: &out, equal: { v[$0].bitPattern == v[$0 - 1].bitPattern }, value: { v[$0].bitPattern })
            default:
                out.append(contentsOf: UnsafeRawBufferPointer(v))
            }
            return EncodedChunk(encoding: encoding == .rle ? .rle : .plain, bytes: out, statistics: stats, valueBytes: 0)
        }
    }

    // MARK: Strings and bytes

    static func encodeStrings(offsets: UnsafeBufferPointer<UInt32>, bytes: UnsafeRawBufferPointer, valid: UnsafeRawBufferPointer?, nulls: Int, withStatistics: Bool, forced: SnapshotEncoding?, out: inout [UInt8]) -> EncodedChunk {
        let n = offsets.count - 1
        @inline(__always) func isValid(_ i: Int) -> Bool { valid.map { Bitmap.isSet($0, i) } ?? true }
        @inline(__always) func value(_ i: Int) -> UnsafeRawBufferPointer {
            isValid(i) ? UnsafeRawBufferPointer(rebasing: bytes[Int(offsets[i])..<Int(offsets[i + 1])]) : UnsafeRawBufferPointer(start: nil, count: 0)
        }
        var valueBytes = 0
        if valid == nil {
            valueBytes = Int(offsets[n] - offsets[0])
        } else {
            for i in 0..<n where isValid(i) { valueBytes += Int(offsets[i + 1] - offsets[i]) }
        }
        let plainSize = 4 * (n + 1) + valueBytes

        var dictionary: ByteDictionary? = nil
        if forced == .dictionary || (forced == nil && n > 1) {
            // Give up as soon as the entries alone outweigh the plain encoding: it cannot win.
            dictionary = ByteDictionary.build(rows: n, sizeLimit: forced == .dictionary ? Int.max : plainSize, isValid: isValid, value: value)
        }
        var encoding = SnapshotEncoding.plain
        if let d = dictionary {
            if forced == .dictionary || d.encodedSize(rows: n) < plainSize { encoding = .dictionary }
        }

        // Statistics: over the dictionary entries when there is one, else over the rows.
        var stats = SnapshotStatistics(nullCount: nulls, bounds: nil)
        if withStatistics {
            var lo: UnsafeRawBufferPointer? = nil, hi: UnsafeRawBufferPointer? = nil
            func consider(_ s: UnsafeRawBufferPointer) {
                if lo.map({ compareBytes(s, $0) < 0 }) ?? true { lo = s }
                if hi.map({ compareBytes(s, $0) > 0 }) ?? true { hi = s }
            }
            if let d = dictionary {
                for e in 0..<d.count { consider(value(d.firstRow[e])) }
            } else {
                for i in 0..<n where isValid(i) { consider(value(i)) }
            }
            if let lo, let hi { stats.bounds = .strings(min: lo, max: hi) }
        }

        out.reserveCapacity(out.count + (encoding == .plain ? plainSize : 0))
        switch encoding {
        case .dictionary:
            guard let d = dictionary else { preconditionFailure("dictionary missing") }
            appendLE(UInt32(d.count), to: &out)
            var at: UInt32 = 0
            appendLE(at, to: &out)
            for e in 0..<d.count {
                at += UInt32(value(d.firstRow[e]).count)
                appendLE(at, to: &out)
            }
            for e in 0..<d.count { out.append(contentsOf: value(d.firstRow[e])) }
            let width = BitPacking.width(UInt64(max(d.count - 1, 0)))
            out.append(UInt8(width))
            d.codes.withUnsafeBufferPointer { codes in
                BitPacking.pack(count: n, width: width, into: &out) { UInt64(codes[$0]) }
            }
        default:
            if valid == nil {
                let base = offsets[0]
                for o in offsets { appendLE(o - base, to: &out) }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[Int(base)..<Int(offsets[n])]))
            } else {
                var at: UInt32 = 0
                appendLE(at, to: &out)
                for i in 0..<n {
                    at += UInt32(value(i).count)
                    appendLE(at, to: &out)
                }
                for i in 0..<n { out.append(contentsOf: value(i)) }
            }
        }
        return EncodedChunk(encoding: encoding, bytes: out, statistics: stats, valueBytes: valueBytes)
    }
}

/// Appends `v` little-endian.
@inline(__always)
func appendLE<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
    withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
}

/// The distinct values of a string chunk in first-appearance order, and one code per row
/// (0 for null rows), built with an open-addressing hash table over the bytes.
struct ByteDictionary {
    /// The row where each entry first appears.
    var firstRow: [Int] = []
    /// The code of each row.
    var codes: [UInt32] = []
    /// Total bytes of the entries.
    var entryBytes = 0

    var count: Int { firstRow.count }

    /// Size of the dictionary encoding of `rows` rows (format-spec.md §4.5).
    func encodedSize(rows: Int) -> Int {
        4 + 4 * (count + 1) + entryBytes + 1 + BitPacking.packedBytes(count: rows, width: BitPacking.width(UInt64(max(count - 1, 0))))
    }

    /// Builds the dictionary, or returns nil once its entries and their offsets alone take
    /// `sizeLimit` bytes or more.
    @inline(__always)
    static func build(rows n: Int, sizeLimit: Int, isValid: (Int) -> Bool, value: (Int) -> UnsafeRawBufferPointer) -> ByteDictionary? {
        var d = ByteDictionary()
        d.codes = [UInt32](repeating: 0, count: n)
        var hashes: [UInt64] = []
        var capacity = 1024
        while capacity < 2 * min(n, 4096) { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        for i in 0..<n where isValid(i) {
            let s = value(i)
            let h = hash(s)
            var mask = capacity - 1
            var p = Int(truncatingIfNeeded: h) & mask
            var found = -1
            while slots[p] >= 0 {
                let e = Int(slots[p])
                if hashes[e] == h, compareBytes(value(d.firstRow[e]), s) == 0 { found = e; break }
                p = (p + 1) & mask
            }
            if found < 0 {
                found = d.count
                d.firstRow.append(i)
                hashes.append(h)
                d.entryBytes += s.count
                guard d.entryBytes + 4 * d.count < sizeLimit else { return nil }
                slots[p] = Int32(found)
                if 2 * d.count > capacity {
                    capacity <<= 1
                    mask = capacity - 1
                    slots = [Int32](repeating: -1, count: capacity)
                    for (e, eh) in hashes.enumerated() {
                        var q = Int(truncatingIfNeeded: eh) & mask
                        while slots[q] >= 0 { q = (q + 1) & mask }
                        slots[q] = Int32(e)
                    }
                }
            }
            d.codes[i] = UInt32(found)
        }
        return d
    }

    /// A 64-bit hash of `s` (not stored; only used for lookups).
    @inline(__always)
    static func hash(_ s: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(s.count)
        var i = 0
        let n = s.count
        if let base = s.baseAddress {
            while i + 8 <= n {
                h = (h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
                h ^= h &>> 29
                i += 8
            }
            if i < n {
                var t: UInt64 = 0
                var k: UInt64 = 0
                while i < n {
                    t |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) &<< (8 &* k)
                    i += 1
                    k += 1
                }
                h = (h ^ t) &* 0xBF58_476D_1CE4_E5B9
                h ^= h &>> 29
            }
        }
        return h ^ (h &>> 32)
    }
}

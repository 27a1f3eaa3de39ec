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
    struct IntSizes: Equatable {
        var plain = 0, bitpack = 0, delta = 0, rle = 0
    }

    static func intSizes(_ v: UnsafeBufferPointer<Int64>, isBool: Bool) -> IntSizes {
        let n = v.count
        var s = IntSizes()
        s.plain = isBool ? n : 8 * n
        guard n > 0, let p = v.baseAddress else {
            s.rle = 4
            return s
        }
        // One pass per block: runs, the value range (bitpack) and the delta range (delta).
        var runs = 1
        var start = 0
        var dlo = Int64.max, dhi = Int64.min, deltas = 0
        s.delta = 8
        let block = SnapshotFormat.blockValues
        while start < n {
            let m = min(block, n - start)
            var lo = p[start], hi = lo
            var j = start + 1
            while j < start + m {
                let x = p[j], d = x &- p[j - 1]
                lo = min(lo, x)
                hi = max(hi, x)
                if d != 0 { runs += 1 }
                dlo = min(dlo, d)
                dhi = max(dhi, d)
                deltas += 1
                if deltas == block {
                    s.delta += 9 + BitPacking.packedBytes(count: block, width: BitPacking.width(UInt64(bitPattern: dhi &- dlo)))
                    dlo = .max
                    dhi = .min
                    deltas = 0
                }
                j += 1
            }
            // The delta that crosses into the next block.
            if start + m < n {
                let d = p[start + m] &- p[start + m - 1]
                if d != 0 { runs += 1 }
                dlo = min(dlo, d)
                dhi = max(dhi, d)
                deltas += 1
                if deltas == block {
                    s.delta += 9 + BitPacking.packedBytes(count: block, width: BitPacking.width(UInt64(bitPattern: dhi &- dlo)))
                    dlo = .max
                    dhi = .min
                    deltas = 0
                }
            }
            s.bitpack += 9 + BitPacking.packedBytes(count: m, width: BitPacking.width(UInt64(bitPattern: hi &- lo)))
            start += m
        }
        if deltas > 0 {
            s.delta += 9 + BitPacking.packedBytes(count: deltas, width: BitPacking.width(UInt64(bitPattern: dhi &- dlo)))
        }
        s.rle = 4 + 12 * runs
        return s
    }

    /// ``intSizes(_:isBool:)`` computed the obvious way, for tests.
    static func intSizesReference(_ v: UnsafeBufferPointer<Int64>, isBool: Bool) -> IntSizes {
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
            let encoding = forced ?? bestIntEncoding(v, isBool: isBool).encoding
            writeIntBody(v, encoding: encoding, isBool: isBool, out: &out)
            return EncodedChunk(encoding: encoding, bytes: out, statistics: stats, valueBytes: 0)
        }
    }

    /// The smallest integer encoding of `v` and its size; ties go to the first of plain, rle,
    /// bitpack, delta.
    static func bestIntEncoding(_ v: UnsafeBufferPointer<Int64>, isBool: Bool) -> (encoding: SnapshotEncoding, size: Int) {
        let s = intSizes(v, isBool: isBool)
        var best = (SnapshotEncoding.plain, s.plain)
        for (e, size) in [(SnapshotEncoding.rle, s.rle), (.bitpack, s.bitpack), (.delta, s.delta)] where size < best.1 {
            best = (e, size)
        }
        return best
    }

    /// Appends the body of an integer encoding of `v` (format-spec.md §4.5).
    static func writeIntBody(_ v: UnsafeBufferPointer<Int64>, encoding: SnapshotEncoding, isBool: Bool, out: inout [UInt8]) {
        let n = v.count
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
    }

    /// Appends an integer stream: `u8 encoding`, then that encoding's body for `v`, choosing
    /// the smallest (format-spec.md §4.5, "Integer streams").
    static func writeIntStream(_ v: [Int64], out: inout [UInt8]) {
        v.withUnsafeBufferPointer { b in
            let e = bestIntEncoding(b, isBool: false).encoding
            out.append(e.rawValue)
            writeIntBody(b, encoding: e, isBool: false, out: &out)
        }
    }

    /// The size of ``writeIntStream(_:out:)``'s output.
    static func intStreamSize(_ v: [Int64]) -> Int {
        v.withUnsafeBufferPointer { 1 + bestIntEncoding($0, isBool: false).size }
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
        // Lengths of the rows, 0 for nulls.
        var lengths = [Int64](repeating: 0, count: n)
        var valueBytes = 0
        for i in 0..<n where isValid(i) {
            let len = Int(offsets[i + 1] - offsets[i])
            lengths[i] = Int64(len)
            valueBytes += len
        }
        let plainSize = intStreamSize(lengths) + valueBytes

        // The dictionary: distinct values sorted bytewise, one code per row.
        var dictionary: ByteDictionary? = nil
        var dictionarySize = Int.max
        if forced == .dictionary || (forced == nil && n > 1) {
            // Give up as soon as the entries alone outweigh the plain encoding: it cannot win.
            if var d = ByteDictionary.build(offsets: offsets, bytes: bytes, valid: valid, sizeLimit: forced == .dictionary ? Int.max : plainSize) {
                d.sort(value: value, isValid: isValid)
                dictionarySize = 4 + intStreamSize(d.entryLengths) + d.entryBytes + intStreamSize(d.codes)
                dictionary = d
            }
        }
        let encoding: SnapshotEncoding = forced == .dictionary || (forced == nil && dictionarySize < plainSize) ? .dictionary : .plain

        // Statistics: the first and last entries of the sorted dictionary, else over the rows.
        var stats = SnapshotStatistics(nullCount: nulls, bounds: nil)
        if withStatistics {
            if let d = dictionary {
                if let first = d.firstRow.first, let last = d.firstRow.last { stats.bounds = .strings(min: value(first), max: value(last)) }
            } else {
                var lo: UnsafeRawBufferPointer? = nil, hi: UnsafeRawBufferPointer? = nil
                for i in 0..<n where isValid(i) {
                    let s = value(i)
                    if lo.map({ compareBytes(s, $0) < 0 }) ?? true { lo = s }
                    if hi.map({ compareBytes(s, $0) > 0 }) ?? true { hi = s }
                }
                if let lo, let hi { stats.bounds = .strings(min: lo, max: hi) }
            }
        }

        switch encoding {
        case .dictionary:
            guard let d = dictionary else { preconditionFailure("dictionary missing") }
            out.reserveCapacity(out.count + dictionarySize)
            appendLE(UInt32(d.count), to: &out)
            writeIntStream(d.entryLengths, out: &out)
            for e in 0..<d.count { out.append(contentsOf: value(d.firstRow[e])) }
            writeIntStream(d.codes, out: &out)
        default:
            out.reserveCapacity(out.count + plainSize)
            writeIntStream(lengths, out: &out)
            if valid == nil {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[Int(offsets[0])..<Int(offsets[n])]))
            } else {
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

/// The distinct values of a string chunk and one code per row, built with an open-addressing
/// hash table over the bytes, then sorted bytewise (``sort(value:isValid:)``).
struct ByteDictionary {
    /// A row holding each entry (the first where it appears).
    var firstRow: [Int] = []
    /// The code of each row; a null row repeats the previous row's code (0 at the start).
    var codes: [Int64] = []
    /// The length of each entry.
    var entryLengths: [Int64] = []
    /// Total bytes of the entries.
    var entryBytes = 0

    var count: Int { firstRow.count }

    /// Renumbers the entries in bytewise order of their values and fills `entryLengths`.
    mutating func sort(value: (Int) -> UnsafeRawBufferPointer, isValid: (Int) -> Bool) {
        let entries = firstRow.map { value($0) }
        let order = entries.indices.sorted { compareBytes(entries[$0], entries[$1]) < 0 }
        var rank = [Int64](repeating: 0, count: count)
        for (r, e) in order.enumerated() { rank[e] = Int64(r) }
        firstRow = order.map { firstRow[$0] }
        entryLengths = order.map { Int64(entries[$0].count) }
        var previous: Int64 = 0
        for i in codes.indices {
            if isValid(i) { previous = rank[Int(codes[i])] }
            codes[i] = previous
        }
    }

    /// Builds the dictionary in first-appearance order, or returns nil once its entries alone
    /// take `sizeLimit` bytes or more.
    @inline(__always)
    static func build(offsets: UnsafeBufferPointer<UInt32>, bytes: UnsafeRawBufferPointer, valid: UnsafeRawBufferPointer?, sizeLimit: Int) -> ByteDictionary? {
        let n = offsets.count - 1
        var d = ByteDictionary()
        d.codes = [Int64](repeating: 0, count: n)
        var hashes: [UInt64] = []
        var capacity = 1024
        while capacity < 2 * min(n, 4096) { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let base = bytes.baseAddress
        @inline(__always) func value(_ i: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: base.map { $0 + Int(offsets[i]) }, count: Int(offsets[i + 1] &- offsets[i]))
        }
        for i in 0..<n {
            if let valid, !Bitmap.isSet(valid, i) { continue }
            let s = value(i)
            let h = hash(s, readable: bytes.count - Int(offsets[i]))
            var mask = capacity - 1
            var p = Int(truncatingIfNeeded: h) & mask
            var found = -1
            while slots[p] >= 0 {
                let e = Int(slots[p])
                if hashes[e] == h, bytesEqual(value(d.firstRow[e]), s) { found = e; break }
                p = (p + 1) & mask
            }
            if found < 0 {
                found = d.count
                d.firstRow.append(i)
                hashes.append(h)
                d.entryBytes += s.count
                guard d.entryBytes < sizeLimit else { return nil }
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
            d.codes[i] = Int64(found)
        }
        return d
    }

    /// Whether two byte strings are equal.
    @inline(__always)
    static func bytesEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard a.count > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
        return LambdaStoreCore.bytesEqual(pa, pb, count: a.count)
    }

    /// A 64-bit hash of `s` (not stored; only used for lookups). `readable` is how many bytes
    /// from the start of `s` may be loaded (at least `s.count`): the tail is then read as one
    /// word and masked instead of byte by byte.
    @inline(__always)
    static func hash(_ s: UnsafeRawBufferPointer, readable: Int) -> UInt64 {
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
                if i + 8 <= readable {
                    t = base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & ((1 &<< UInt64(8 * (n - i))) &- 1)
                } else {
                    var k: UInt64 = 0
                    while i < n {
                        t |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) &<< (8 &* k)
                        i += 1
                        k += 1
                    }
                }
                h = (h ^ t) &* 0xBF58_476D_1CE4_E5B9
                h ^= h &>> 29
            }
        }
        return h ^ (h &>> 32)
    }
}

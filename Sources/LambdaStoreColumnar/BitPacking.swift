#if _endian(big)
#error("LambdaStore snapshot encodings assume a little-endian host")
#endif

/// Bit-packing of unsigned values at a fixed width (format-spec.md §4.5): value `j` of a packed
/// run occupies bits `[j·w, (j+1)·w)` of the run, bit `k` being bit `k mod 8` of byte `k div 8`
/// (least significant bit first); the run takes `ceil(n·w / 8)` bytes and unused high bits of
/// its last byte are zero.
///
/// Thread safety: pure functions.
enum BitPacking {
    /// The number of bits needed to represent `v` (0 for 0).
    @inline(__always)
    static func width(_ v: UInt64) -> Int { 64 - v.leadingZeroBitCount }

    /// The size in bytes of `count` values packed at `width` bits.
    @inline(__always)
    static func packedBytes(count: Int, width: Int) -> Int { (count * width + 7) >> 3 }

    /// Appends `count` values produced by `value(i)` (each `< 2^width`) packed at `width` bits.
    /// - Complexity: O(count).
    @inline(__always)
    static func pack(count: Int, width: Int, into out: inout [UInt8], _ value: (Int) -> UInt64) {
        guard width > 0, count > 0 else { return }
        let total = packedBytes(count: count, width: width)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: total + 8))  // 8 bytes of slack for word stores
        out.withUnsafeMutableBytes { raw in
            guard let p = raw.baseAddress?.advanced(by: start) else { return }
            var acc: UInt64 = 0
            var bits = 0
            var pos = 0
            for i in 0..<count {
                let v = value(i)
                acc |= v &<< UInt64(bits)
                let next = bits + width
                if next >= 64 {
                    p.storeBytes(of: acc.littleEndian, toByteOffset: pos, as: UInt64.self)
                    pos += 8
                    acc = bits == 0 ? 0 : v &>> UInt64(64 - bits)
                    bits = next - 64
                } else {
                    bits = next
                }
            }
            if bits > 0 { p.storeBytes(of: acc.littleEndian, toByteOffset: pos, as: UInt64.self) }
        }
        out.removeLast(8)
    }

    /// Calls `sink(j, v)` for each of the `count` values packed at `width` bits in `src`.
    ///
    /// Never reads outside `src`: bits past its end read as zero. Callers check that `src`
    /// holds ``packedBytes(count:width:)`` bytes before calling, so that never happens on a
    /// well-formed chunk. `width` must be 0…64.
    /// - Complexity: O(count).
    @inline(__always)
    static func unpack(_ src: UnsafeRawBufferPointer, count: Int, width: Int, _ sink: (Int, UInt64) -> Void) {
        guard width > 0, let base = src.baseAddress else {
            for j in 0..<count { sink(j, 0) }
            return
        }
        let n = src.count
        let mask: UInt64 = width >= 64 ? ~0 : (1 &<< UInt64(width)) &- 1
        // Eight values at a time while 8 + 8 bytes past the group's start are in `src`: eight
        // values of `width` bits take exactly `width` bytes, so each group starts on a byte
        // and its eight loads are independent of each other (no running bit position).
        var j = 0
        while j &+ 8 <= count, (j &>> 3) &* width &+ width &+ 8 <= n {
            let group = (j &>> 3) &* width
            for k in 0..<8 {
                let at = k &* width
                let byte = group &+ (at &>> 3)
                let shift = UInt64(at & 7)
                var v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: byte, as: UInt64.self)) &>> shift
                if shift &+ UInt64(width) > 64 {
                    v |= UInt64(base.load(fromByteOffset: byte &+ 8, as: UInt8.self)) &<< (64 &- shift)
                }
                sink(j &+ k, v & mask)
            }
            j &+= 8
        }
        var bit = j &* width
        for j in j..<count {
            let byte = bit &>> 3
            let shift = UInt64(bit & 7)
            var v: UInt64
            if byte &+ 8 <= n {
                v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: byte, as: UInt64.self)) &>> shift
                if shift &+ UInt64(width) > 64, byte &+ 8 < n {
                    v |= UInt64(base.load(fromByteOffset: byte &+ 8, as: UInt8.self)) &<< (64 &- shift)
                }
            } else {
                var w: UInt64 = 0
                var k = 0
                while byte &+ k < n, k < 8 {
                    w |= UInt64(base.load(fromByteOffset: byte &+ k, as: UInt8.self)) &<< UInt64(8 &* k)
                    k &+= 1
                }
                v = w &>> shift
            }
            sink(j, v & mask)
            bit &+= width
        }
    }
}

/// Validity bitmaps (format-spec.md §4.5): bit `i mod 8` of byte `i div 8` is 1 when row `i` is
/// non-null; bits past the last row are zero.
enum Bitmap {
    /// The number of zero bits among the first `count` bits of `bits` (bounds-checked).
    static func zeroCount(_ bits: UnsafeRawBufferPointer, count: Int) -> Int {
        var ones = 0
        let full = min(count >> 3, bits.count)
        var i = 0
        while i + 8 <= full {
            ones += bits.loadUnaligned(fromByteOffset: i, as: UInt64.self).nonzeroBitCount
            i += 8
        }
        while i < full {
            ones += bits[i].nonzeroBitCount
            i += 1
        }
        if count & 7 != 0, full < bits.count {
            ones += (bits[full] & UInt8((1 << (count & 7)) - 1)).nonzeroBitCount
        }
        return count - ones
    }

    /// Whether every bit at positions `count…` of `bits` is zero.
    static func paddingIsZero(_ bits: UnsafeRawBufferPointer, count: Int) -> Bool {
        let full = count >> 3
        if count & 7 != 0 {
            guard full < bits.count else { return true }
            if bits[full] & ~UInt8((1 << (count & 7)) - 1) != 0 { return false }
            return bits[(full + 1)...].allSatisfy { $0 == 0 }
        }
        return full >= bits.count || bits[full...].allSatisfy { $0 == 0 }
    }

    /// The bits `[start, start + count)` of a column's validity, as a fresh bitmap of
    /// `ceil(count / 8)` bytes with zero padding.
    static func extract(_ validity: [UInt8], start: Int, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: (count + 7) >> 3)
        let shift = start & 7
        let first = start >> 3
        validity.withUnsafeBufferPointer { v in
            for k in 0..<out.count {
                let lo = first + k < v.count ? v[first + k] : 0
                if shift == 0 {
                    out[k] = lo
                } else {
                    let hi = first + k + 1 < v.count ? v[first + k + 1] : 0
                    out[k] = (lo >> UInt8(shift)) | (hi << UInt8(8 - shift))
                }
            }
        }
        if count & 7 != 0, let last = out.indices.last { out[last] &= UInt8((1 << (count & 7)) - 1) }
        return out
    }

    /// ORs the first `count` bits of `src` into `dst` at bit position `at` (`dst` zero there).
    static func insert(_ src: UnsafeRawBufferPointer, count: Int, into dst: inout [UInt8], at: Int) {
        let nbytes = min((count + 7) >> 3, src.count)
        let shift = at & 7
        let first = at >> 3
        dst.withUnsafeMutableBufferPointer { d in
            for k in 0..<nbytes {
                var b = src[k]
                if k == nbytes - 1, count & 7 != 0 { b &= UInt8((1 << (count & 7)) - 1) }
                if first + k < d.count { d[first + k] |= b << UInt8(shift) }
                if shift != 0, first + k + 1 < d.count { d[first + k + 1] |= b >> UInt8(8 - shift) }
            }
        }
    }

    /// Sets the bits `[at, at + count)` of `dst` to one.
    static func setOnes(_ dst: inout [UInt8], at: Int, count: Int) {
        var i = at
        let end = at + count
        dst.withUnsafeMutableBufferPointer { d in
            while i < end, i & 7 != 0 {
                if i >> 3 < d.count { d[i >> 3] |= 1 << UInt8(i & 7) }
                i += 1
            }
            while i + 8 <= end {
                if i >> 3 < d.count { d[i >> 3] = 0xFF }
                i += 8
            }
            while i < end {
                if i >> 3 < d.count { d[i >> 3] |= 1 << UInt8(i & 7) }
                i += 1
            }
        }
    }

    /// Whether bit `i` is set.
    @inline(__always)
    static func isSet(_ bits: UnsafeRawBufferPointer, _ i: Int) -> Bool {
        (bits[i >> 3] >> UInt8(i & 7)) & 1 != 0
    }
}

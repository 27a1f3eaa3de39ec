// Parquet's value encodings (Encodings.md), encoder and decoder side by side:
//   - bit packing, LSB first (the RLE/bit-packing hybrid's and DELTA_BINARY_PACKED's order);
//   - the RLE/bit-packing hybrid (RLE = 3): definition levels, dictionary indices, booleans;
//   - DELTA_BINARY_PACKED (5) for INT64, all arithmetic wrapping as the spec allows;
//   - ULEB128 varints and zigzag.
//
// Decoders read from a page buffer that has ``PageBuffer/padding`` zero bytes after its logical
// end, so bit unpacking loads whole 8-byte words; every run is checked against the logical end
// first, so those loads stay within the buffer. They throw corruption errors without a path or
// offset; the chunk decoder adds the file, column and page.

import LambdaStoreCore

/// A decompressed page: `count` bytes followed by ``padding`` zero bytes.
struct PageBuffer {
    static let padding = 16
    var storage: [UInt8]
    var count: Int { storage.count - Self.padding }

    /// A zeroed buffer of `count` logical bytes, filled by `fill`.
    init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws(LambdaStoreError) -> Void) throws(LambdaStoreError) {
        // `fill` writes every one of the `count` bytes (a decompression that produces fewer
        // fails); only the padding needs zeroing, and the bytes are never touched twice.
        var s = [UInt8](zeroSafeCapacity: count + Self.padding) { b, initialized in
            (b.baseAddress.unsafelyUnwrapped + count).initialize(repeating: 0, count: Self.padding)
            initialized = count + Self.padding
        }
        try typed {
            try s.withUnsafeMutableBytes { raw in
                try fill(UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]))
            }
        }
        storage = s
    }
}

@inline(__always)
func corrupt(_ message: String) -> LambdaStoreError { LambdaStoreError(.corruption, message) }

/// The number of bits needed for `v` (0 for 0).
@inline(__always)
func bitWidth(_ v: UInt64) -> Int { 64 - v.leadingZeroBitCount }

// MARK: Varints

extension Array where Element == UInt8 {
    mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(truncatingIfNeeded: v))
    }

    mutating func appendZigzag(_ v: Int64) { appendVarint(UInt64(bitPattern: (v &<< 1) ^ (v >> 63))) }

    mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
    }
}

/// A bounds-checked cursor over `[position, end)` of a padded page buffer.
struct PageCursor {
    let base: UnsafeRawPointer
    var position: Int
    let end: Int

    init(_ p: UnsafeRawBufferPointer, from: Int, to: Int) {
        base = p.baseAddress ?? UnsafeRawPointer(bitPattern: 16).unsafelyUnwrapped
        position = from
        end = to
    }

    var remaining: Int { end - position }

    mutating func byte(_ what: @autoclosure () -> String) throws(LambdaStoreError) -> UInt8 {
        guard position < end else { throw corrupt("\(what()): unexpected end of page") }
        let b = base.load(fromByteOffset: position, as: UInt8.self)
        position += 1
        return b
    }

    mutating func varint(_ what: @autoclosure () -> String) throws(LambdaStoreError) -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw corrupt("\(what()): varint runs past the end of the page") }
            let b = base.load(fromByteOffset: position, as: UInt8.self)
            position += 1
            if shift == 63 && b > 1 { throw corrupt("\(what()): varint overflows 64 bits") }
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
            if shift > 63 { throw corrupt("\(what()): varint longer than 10 bytes") }
        }
    }

    mutating func zigzag(_ what: @autoclosure () -> String) throws(LambdaStoreError) -> Int64 {
        let u = try varint(what())
        return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
    }

    mutating func u32(_ what: @autoclosure () -> String) throws(LambdaStoreError) -> UInt32 {
        guard remaining >= 4 else { throw corrupt("\(what()): needs 4 bytes, \(remaining) left") }
        let v = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        position += 4
        return v
    }
}

// MARK: Bit packing

/// Packs values LSB first into bytes; ``flush(_:)`` pads to a whole byte.
struct BitPacker {
    private var acc: UInt64 = 0
    private var bits = 0

    /// Appends the low `width` bits of `v` (`v < 2^width`).
    @inline(__always)
    mutating func put(_ v: UInt64, width: Int, into out: inout [UInt8]) {
        guard width > 0 else { return }
        acc |= v &<< UInt64(bits)
        let total = bits + width
        if total >= 64 {
            out.appendLE(acc)
            acc = bits == 0 ? 0 : v &>> UInt64(64 - bits)
            bits = total - 64
        } else {
            bits = total
        }
    }

    mutating func flush(_ out: inout [UInt8]) {
        var n = (bits + 7) / 8
        while n > 0 {
            out.append(UInt8(truncatingIfNeeded: acc))
            acc >>= 8
            n -= 1
        }
        acc = 0
        bits = 0
    }
}

/// Unpacks `count` values of `width` bits (0...64), LSB first, starting at byte `src`;
/// `store(i, v)` receives each. Reads whole 8-byte words: the caller guarantees 9 readable
/// bytes after the last byte holding a value.
@inline(__always)
func unpackBits(_ src: UnsafeRawPointer, count: Int, width: Int, _ store: (Int, UInt64) -> Void) {
    if width == 0 {
        for i in 0..<count { store(i, 0) }
        return
    }
    let mask: UInt64 = width == 64 ? ~0 : (1 &<< UInt64(width)) &- 1
    var bit = 0
    if width <= 56 {
        for i in 0..<count {
            let word = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: bit &>> 3, as: UInt64.self))
            store(i, (word &>> UInt64(bit & 7)) & mask)
            bit &+= width
        }
    } else {
        for i in 0..<count {
            let at = bit &>> 3, s = UInt64(bit & 7)
            let lo = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: at, as: UInt64.self)) &>> s
            let hi = s == 0 ? 0 : UInt64(src.load(fromByteOffset: at &+ 8, as: UInt8.self)) &<< (64 &- s)
            store(i, (lo | hi) & mask)
            bit &+= width
        }
    }
}

// MARK: RLE / bit-packing hybrid

enum RLEHybrid {
    /// Appends `values` (each `< 2^width`, width 0...32) in the hybrid encoding: runs of 8 or
    /// more equal values as RLE runs, the rest as bit-packed groups of 8 (the last group padded
    /// with zeros).
    static func encode(_ values: UnsafeBufferPointer<UInt32>, width: Int, into out: inout [UInt8]) {
        let n = values.count
        var literalStart = 0
        var i = 0
        while i < n {
            let x = values[i]
            var j = i + 1
            while j < n && values[j] == x { j += 1 }
            if j - i >= 8 {
                let pending = i - literalStart
                let runStart = i + (8 - pending % 8) % 8
                if j - runStart >= 8 {
                    if runStart > literalStart { literals(values, literalStart..<runStart, width, &out) }
                    out.appendVarint(UInt64(j - runStart) << 1)
                    var v = x
                    for _ in 0..<((width + 7) / 8) {
                        out.append(UInt8(truncatingIfNeeded: v))
                        v >>= 8
                    }
                    literalStart = j
                }
            }
            i = j
        }
        if literalStart < n { literals(values, literalStart..<n, width, &out) }
    }

    private static func literals(_ values: UnsafeBufferPointer<UInt32>, _ range: Range<Int>, _ width: Int, _ out: inout [UInt8]) {
        let groups = (range.count + 7) / 8
        out.appendVarint(UInt64(groups) << 1 | 1)
        var p = BitPacker()
        for k in range { p.put(UInt64(values[k]), width: width, into: &out) }
        for _ in range.count..<(groups * 8) { p.put(0, width: width, into: &out) }
        p.flush(&out)
    }

    /// Decodes `count` values of `width` bits (0...32) from the cursor into `out`, returning
    /// the largest value seen. Stops after `count` values (the rest of a bit-packed group is
    /// padding).
    static func decode(_ c: inout PageCursor, count: Int, width: Int, into out: UnsafeMutablePointer<UInt32>, _ what: String) throws(LambdaStoreError) -> UInt32 {
        guard width >= 0 && width <= 32 else { throw corrupt("\(what): bit width \(width) (0...32 allowed)") }
        var done = 0
        var top: UInt32 = 0
        let valueBytes = (width + 7) / 8
        while done < count {
            let header = try c.varint(what)
            if header & 1 == 1 {
                let groups = header >> 1
                let left = count - done
                // At most the groups that the values left need: the rest is padding.
                let useful = Int(Swift.min(groups, UInt64((left + 7) / 8)))
                if width > 0 {
                    guard groups <= UInt64(c.remaining / width) else {
                        throw corrupt("\(what): bit-packed run of \(groups) groups needs \(groups) × \(width) bytes, \(c.remaining) left")
                    }
                }
                let bytes = Int(groups) * width
                let n = Swift.min(useful * 8, left)
                var localTop: UInt32 = 0
                let dst = out + done
                unpackBits(c.base + c.position, count: n, width: width) { i, v in
                    let u = UInt32(truncatingIfNeeded: v)
                    dst[i] = u
                    localTop = Swift.max(localTop, u)
                }
                top = Swift.max(top, localTop)
                c.position += bytes
                done += n
            } else {
                let run = header >> 1
                guard valueBytes <= c.remaining else { throw corrupt("\(what): RLE run value past the end of the page") }
                var v: UInt32 = 0
                for k in 0..<valueBytes { v |= UInt32(c.base.load(fromByteOffset: c.position + k, as: UInt8.self)) << UInt32(8 * k) }
                c.position += valueBytes
                guard width == 32 || v >> UInt32(width) == 0 else { throw corrupt("\(what): RLE run value \(v) wider than \(width) bits") }
                let n = Int(Swift.min(run, UInt64(count - done)))
                (out + done).update(repeating: v, count: n)
                if n > 0 { top = Swift.max(top, v) }
                done += n
            }
        }
        return top
    }
}

// MARK: DELTA_BINARY_PACKED

enum DeltaBinaryPacked {
    /// Appends `values` encoded with blocks of ``ParquetLimits/deltaBlockValues`` values in
    /// ``ParquetLimits/deltaMiniblocks`` miniblocks; deltas and frame-of-reference subtraction
    /// wrap (two's complement), so any Int64 sequence round-trips; bit widths go up to 64.
    static func encode(_ values: UnsafeBufferPointer<Int64>, into out: inout [UInt8]) {
        let blockSize = ParquetLimits.deltaBlockValues, miniblocks = ParquetLimits.deltaMiniblocks
        let perMini = blockSize / miniblocks
        let n = values.count
        out.appendVarint(UInt64(blockSize))
        out.appendVarint(UInt64(miniblocks))
        out.appendVarint(UInt64(n))
        out.appendZigzag(n > 0 ? values[0] : 0)
        guard n > 1 else { return }
        var deltas = [UInt64](repeating: 0, count: blockSize)
        var start = 1
        var prev = UInt64(bitPattern: values[0])
        while start < n {
            let k = Swift.min(blockSize, n - start)
            var minDelta = Int64.max
            for i in 0..<k {
                let v = UInt64(bitPattern: values[start + i])
                let d = v &- prev
                prev = v
                deltas[i] = d
                minDelta = Swift.min(minDelta, Int64(bitPattern: d))
            }
            let m = UInt64(bitPattern: minDelta)
            for i in 0..<k { deltas[i] = deltas[i] &- m }
            for i in k..<blockSize { deltas[i] = 0 }
            out.appendZigzag(minDelta)
            var widths = [Int](repeating: 0, count: miniblocks)
            for mb in 0..<miniblocks where mb * perMini < k {
                var or: UInt64 = 0
                for i in (mb * perMini)..<((mb + 1) * perMini) { or |= deltas[i] }
                widths[mb] = bitWidth(or)
            }
            for w in widths { out.append(UInt8(w)) }
            var p = BitPacker()
            for mb in 0..<miniblocks where mb * perMini < k {
                for i in (mb * perMini)..<((mb + 1) * perMini) { p.put(deltas[i], width: widths[mb], into: &out) }
                p.flush(&out)
            }
            start += k
        }
    }

    /// Decodes exactly `count` values from the cursor into `out` (the header's total must equal
    /// `count`); the cursor ends after the last miniblock read.
    static func decode(_ c: inout PageCursor, count: Int, into out: UnsafeMutablePointer<Int64>, _ what: String) throws(LambdaStoreError) {
        let blockSize = try c.varint("\(what): block size")
        let miniblocks = try c.varint("\(what): miniblock count")
        let total = try c.varint("\(what): value count")
        let first = try c.zigzag("\(what): first value")
        guard blockSize > 0, blockSize % 128 == 0, blockSize <= UInt64(ParquetLimits.deltaBlockValuesMax) else {
            throw corrupt("\(what): block size \(blockSize) (a multiple of 128 up to \(ParquetLimits.deltaBlockValuesMax) allowed)")
        }
        guard miniblocks > 0, blockSize % miniblocks == 0, (blockSize / miniblocks) % 32 == 0 else {
            throw corrupt("\(what): \(miniblocks) miniblocks per block of \(blockSize) values")
        }
        guard total == UInt64(count) else { throw corrupt("\(what): holds \(total) values, the page needs \(count)") }
        guard count > 0 else { return }
        let perMini = Int(blockSize / miniblocks), mbs = Int(miniblocks)
        out[0] = first
        var last = UInt64(bitPattern: first)
        var done = 1
        while done < count {
            let minDelta = UInt64(bitPattern: try c.zigzag("\(what): min delta"))
            guard mbs <= c.remaining else { throw corrupt("\(what): miniblock bit widths past the end of the page") }
            let widthsAt = c.position
            c.position += mbs
            for mb in 0..<mbs where done < count {
                let w = Int(c.base.load(fromByteOffset: widthsAt + mb, as: UInt8.self))
                guard w <= 64 else { throw corrupt("\(what): miniblock bit width \(w) (at most 64)") }
                let n = Swift.min(perMini, count - done)
                let full = perMini * w / 8
                let need = (n * w + 7) / 8
                guard need <= c.remaining else { throw corrupt("\(what): miniblock needs \(need) bytes, \(c.remaining) left") }
                let dst = out + done
                if w == 0 {
                    for i in 0..<n {
                        last = last &+ minDelta
                        dst[i] = Int64(bitPattern: last)
                    }
                } else {
                    unpackBits(c.base + c.position, count: n, width: w) { i, v in
                        last = last &+ minDelta &+ v
                        dst[i] = Int64(bitPattern: last)
                    }
                }
                c.position += Swift.min(full, c.remaining)
                done += n
            }
        }
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws ``LambdaStoreError`` (the standard one
    /// rethrows untyped).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(LambdaStoreError) -> R) throws(LambdaStoreError) -> R {
        let result: Result<R, LambdaStoreError> = withUnsafeBytes { raw in
            do throws(LambdaStoreError) { return .success(try body(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

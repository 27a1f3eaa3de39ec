import LambdaStoreCore

/// Accumulates decoded chunks of one column into contiguous storage, then hands it out as a
/// ``Column``. Storage grows chunk by chunk (each chunk bounded by the format), so a footer
/// that claims many rows costs memory only as its chunks actually decode.
struct ColumnBuilder {
    let type: SnapshotType
    private(set) var count = 0
    private(set) var nullCount = 0
    var validity: [UInt8] = []
    var ints: [Int64] = []
    var doubles: [Double] = []
    var offsets: [UInt32] = [0]
    var utf8: [UInt8] = []

    /// A builder expecting about `expectedRows` rows (capacity is reserved up to 16 Mi rows).
    init(type: SnapshotType, expectedRows: Int) {
        self.type = type
        let reserve = min(expectedRows, 1 << 24)
        switch type.storage {
        case .float64: doubles.reserveCapacity(reserve)
        case .string: offsets.reserveCapacity(reserve + 1)
        default: ints.reserveCapacity(reserve)
        }
    }

    /// Adds `rows` zeroed slots after the rows decoded so far.
    mutating func prepare(_ rows: Int) {
        switch type.storage {
        case .float64: Self.extend(&doubles, by: rows, with: 0)
        case .string: Self.extend(&offsets, by: rows, with: offsets[count])
        default: Self.extend(&ints, by: rows, with: 0)
        }
    }

    /// Appends `n` copies of `v`. `append(contentsOf: repeatElement(…))` stores element by
    /// element through the sequence's iterator (a fifth of a row group's decode in a profile);
    /// an empty array is made whole by `init(repeating:count:)` instead, and a non-empty one
    /// grows by one block copy of such an array (geometric growth kept: no exact
    /// `reserveCapacity`, which is quadratic in a loop).
    static func extend<T: BitwiseCopyable>(_ a: inout [T], by n: Int, with v: T) {
        guard n > 0 else { return }
        if a.isEmpty {
            a = [T](repeating: v, count: n)
        } else {
            a.append(contentsOf: [T](repeating: v, count: n))
        }
    }

    /// Records the validity of the next `rows` rows (`bits` nil: all valid).
    mutating func appendValidity(_ bits: UnsafeRawBufferPointer?, rows: Int, nulls: Int) {
        let needed = (count + rows + 7) >> 3
        if let bits, nulls > 0 {
            if validity.isEmpty {
                validity = [UInt8](repeating: 0, count: needed)
                Bitmap.setOnes(&validity, at: 0, count: count)
            } else if validity.count < needed {
                validity.append(contentsOf: repeatElement(0, count: needed - validity.count))
            }
            Bitmap.insert(bits, count: rows, into: &validity, at: count)
            nullCount += nulls
        } else if !validity.isEmpty {
            if validity.count < needed { validity.append(contentsOf: repeatElement(0, count: needed - validity.count)) }
            Bitmap.setOnes(&validity, at: count, count: rows)
        }
    }

    /// Moves past `rows` decoded rows.
    mutating func advance(_ rows: Int) { count += rows }

    /// Drops slots prepared for a chunk that failed to decode.
    mutating func rollback() {
        switch type.storage {
        case .float64: doubles.removeLast(doubles.count - count)
        case .string:
            offsets.removeLast(offsets.count - count - 1)
            utf8.removeLast(utf8.count - Int(offsets[count]))
        default: ints.removeLast(ints.count - count)
        }
    }

    /// The column of everything appended.
    func build() -> Column {
        Column(type: type.storage, count: count, nullCount: nullCount, validity: nullCount > 0 ? validity : [],
               ints: ints, doubles: doubles, offsets: offsets, utf8: utf8)
    }
}

/// Decodes the encoded (decompressed) bytes of one column chunk (format-spec.md §4.5).
///
/// Every count, length and code is checked against the buffer and the row count before use;
/// any violation is a ``LambdaStoreError/Code/corruption`` whose offset is relative to the
/// start of the decoded chunk. Never traps on any input.
///
/// Thread safety: pure functions.
enum ChunkDecoder {
    static func fail(_ message: String, _ at: Int) -> LambdaStoreError {
        LambdaStoreError(.corruption, message, offset: Int64(at))
    }

    /// Decodes `rows` rows into `b` at its current position.
    static func decode(_ data: UnsafeRawBufferPointer, rows n: Int, encoding: SnapshotEncoding, hasValidity: Bool, nullCount: Int, into b: inout ColumnBuilder) throws(LambdaStoreError) {
        var r = ByteReader(data)
        var valid: UnsafeRawBufferPointer? = nil
        if hasValidity {
            let bits = try r.readSlice((n + 7) >> 3, "validity bitmap")
            guard Bitmap.zeroCount(bits, count: n) == nullCount else {
                throw fail("validity bitmap has \(Bitmap.zeroCount(bits, count: n)) nulls, footer says \(nullCount)", 0)
            }
            guard Bitmap.paddingIsZero(bits, count: n) else { throw fail("validity bitmap padding bits are not zero", bits.count - 1) }
            valid = bits
        }
        guard encodingApplies(encoding, b.type) else { throw fail("encoding \(encoding) does not apply to \(b.type)", 0) }
        let start = b.count
        b.prepare(n)
        do {
            try decodeValues(&r, rows: n, start: start, encoding: encoding, valid: valid, into: &b)
        } catch {
            b.rollback()
            throw error
        }
        b.appendValidity(valid, rows: n, nulls: nullCount)
        b.advance(n)
    }

    static func decodeValues(_ r: inout ByteReader, rows n: Int, start: Int, encoding: SnapshotEncoding, valid: UnsafeRawBufferPointer?, into b: inout ColumnBuilder) throws(LambdaStoreError) {
        switch b.type {
        case .int64, .timestamp, .bool:
            let isBool = b.type == .bool
            try typed {
                try b.ints.withUnsafeMutableBufferPointer { all in
                    let dst = UnsafeMutableBufferPointer(start: all.baseAddress.map { $0 + start }, count: n)
                    try decodeInts(&r, dst, encoding: encoding, isBool: isBool)
                    try checkNullSlots(valid, n) { dst[$0] == 0 }
                    if isBool, let bad = dst.firstIndex(where: { $0 != 0 && $0 != 1 }) {
                        throw fail("bool value \(dst[bad]) at row \(bad)", r.position)
                    }
                }
            }
        case .float64:
            try typed {
                try b.doubles.withUnsafeMutableBufferPointer { all in
                    let dst = UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(start: all.baseAddress.map { $0 + start }, count: n))
                    try decodeWords(&r, dst, count: n, encoding: encoding)
                    try checkNullSlots(valid, n) { dst.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self) == 0 }
                }
            }
        case .string, .bytes:
            try decodeStrings(&r, rows: n, start: start, encoding: encoding, valid: valid, into: &b)
        }
        guard r.isAtEnd else { throw fail("\(r.remaining) bytes after the values", r.position) }
    }

    static func encodingApplies(_ e: SnapshotEncoding, _ t: SnapshotType) -> Bool { t.encodings.contains(e) }

    @inline(__always)
    static func checkNullSlots(_ valid: UnsafeRawBufferPointer?, _ n: Int, isZero: (Int) -> Bool) throws(LambdaStoreError) {
        guard let valid else { return }
        for i in 0..<n where !Bitmap.isSet(valid, i) && !isZero(i) {
            throw fail("null row \(i) holds a value", 0)
        }
    }

    // MARK: Integers

    static func decodeInts(_ r: inout ByteReader, _ dst: UnsafeMutableBufferPointer<Int64>, encoding: SnapshotEncoding, isBool: Bool) throws(LambdaStoreError) {
        let n = dst.count
        switch encoding {
        case .plain:
            if isBool {
                let s = try r.readSlice(n, "bool values")
                for i in 0..<n { dst[i] = Int64(s[i]) }
            } else {
                try decodeWords(&r, UnsafeMutableRawBufferPointer(dst), count: n, encoding: .plain)
            }
        case .bitpack:
            try readForBlocks(&r, count: n) { i, v in dst[i] = v }
        case .delta:
            guard n > 0 else { return }
            var prev = try r.read(Int64.self, "delta first value")
            dst[0] = prev
            try readForBlocks(&r, count: n - 1) { i, d in
                prev = prev &+ d
                dst[i + 1] = prev
            }
        case .rle:
            try decodeWords(&r, UnsafeMutableRawBufferPointer(dst), count: n, encoding: .rle)
        case .dictionary:
            throw fail("dictionary encoding does not apply to integers", r.position)
        }
    }

    /// Reads `count` values in frame-of-reference blocks, calling `sink(i, reference + residual)`.
    @inline(__always)
    static func readForBlocks(_ r: inout ByteReader, count: Int, _ sink: (Int, Int64) -> Void) throws(LambdaStoreError) {
        var start = 0
        while start < count {
            let m = min(SnapshotFormat.blockValues, count - start)
            let ref = try r.read(Int64.self, "block reference")
            let at = r.position
            let width = Int(try r.read(UInt8.self, "block bit width"))
            guard width <= 64 else { throw fail("block bit width \(width) > 64", at) }
            let packed = try r.readSlice(BitPacking.packedBytes(count: m, width: width), "packed block")
            let s = start
            BitPacking.unpack(packed, count: m, width: width) { j, v in sink(s &+ j, ref &+ Int64(bitPattern: v)) }
            start += m
        }
    }

    /// 8-byte values (i64 or f64 bits): `plain` or `rle`.
    static func decodeWords(_ r: inout ByteReader, _ dst: UnsafeMutableRawBufferPointer, count n: Int, encoding: SnapshotEncoding) throws(LambdaStoreError) {
        switch encoding {
        case .plain:
            let s = try r.readSlice(8 * n, "values")
            if n > 0 { dst.copyMemory(from: s) }
        case .rle:
            let at = r.position
            let runs = Int(try r.read(UInt32.self, "run count"))
            guard runs <= n else { throw fail("\(runs) runs for \(n) rows", at) }
            let lengths = try r.readSlice(4 * runs, "run lengths")
            let values = try r.readSlice(8 * runs, "run values")
            var pos = 0
            for k in 0..<runs {
                let len = Int(lengths.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self).littleEndian)
                guard len >= 1, len <= n - pos else { throw fail("run \(k) of length \(len) does not fit \(n) rows", at + 4 + 4 * k) }
                let v = values.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)
                for i in pos..<(pos + len) { dst.storeBytes(of: v, toByteOffset: 8 * i, as: UInt64.self) }
                pos += len
            }
            guard pos == n else { throw fail("runs cover \(pos) of \(n) rows", at) }
        default:
            throw fail("encoding \(encoding) does not apply", r.position)
        }
    }

    // MARK: Strings and bytes

    /// Reads an integer stream (`u8 encoding` + body) of `count` values into a new array.
    static func readIntStream(_ r: inout ByteReader, count: Int, _ what: String) throws(LambdaStoreError) -> [Int64] {
        let at = r.position
        let code = try r.read(UInt8.self, "\(what) encoding")
        guard let e = SnapshotEncoding(rawValue: code), e != .dictionary else {
            throw fail("\(what): unknown integer stream encoding \(code)", at)
        }
        var values = [Int64](repeating: 0, count: count)
        try typed { try values.withUnsafeMutableBufferPointer { v in try decodeInts(&r, v, encoding: e, isBool: false) } }
        return values
    }

    /// Checks that `lengths` are non-negative and sums them, bounded by `limit`.
    static func sumLengths(_ lengths: [Int64], limit: Int, _ what: String, at: Int) throws(LambdaStoreError) -> Int {
        var total = 0
        for (i, len) in lengths.enumerated() {
            guard len >= 0, len <= Int64(limit - total) else {
                throw fail("\(what) \(i) of length \(len) overflows \(limit) bytes", at)
            }
            total += Int(len)
        }
        return total
    }

    static func decodeStrings(_ r: inout ByteReader, rows n: Int, start: Int, encoding: SnapshotEncoding, valid: UnsafeRawBufferPointer?, into b: inout ColumnBuilder) throws(LambdaStoreError) {
        let base = b.utf8.count
        @inline(__always) func isValid(_ i: Int) -> Bool { valid.map { Bitmap.isSet($0, i) } ?? true }
        func room(_ total: Int) throws(LambdaStoreError) {
            guard base + total <= Int(UInt32.max) else {
                throw LambdaStoreError(.limitExceeded, "more than 4 GiB of string bytes in one read; read fewer row groups")
            }
        }
        switch encoding {
        case .plain:
            let at = r.position
            let lengths = try readIntStream(&r, count: n, "string lengths")
            let total = try sumLengths(lengths, limit: min(r.remaining, Limits.chunkBytesMax), "string", at: at)
            if valid != nil, let i = lengths.indices.first(where: { !isValid($0) && lengths[$0] != 0 }) {
                throw fail("null row \(i) holds a value", at)
            }
            let bytes = try r.readSlice(total, "string bytes")
            try room(total)
            b.utf8.append(contentsOf: bytes)
            b.offsets.withUnsafeMutableBufferPointer { o in
                var end = UInt32(base)
                for i in 0..<n {
                    end += UInt32(lengths[i])
                    o[start + i + 1] = end
                }
            }
        case .dictionary:
            let at = r.position
            let entries = Int(try r.read(UInt32.self, "dictionary size"))
            guard entries <= n else { throw fail("dictionary of \(entries) entries for \(n) rows", at) }
            let lat = r.position
            let entryLengths = try readIntStream(&r, count: entries, "dictionary lengths")
            let dictBytes = try sumLengths(entryLengths, limit: min(r.remaining, Limits.chunkBytesMax), "dictionary entry", at: lat)
            let dict = try r.readSlice(dictBytes, "dictionary bytes")
            var entryStart = [Int](repeating: 0, count: entries + 1)
            for e in 0..<entries { entryStart[e + 1] = entryStart[e] + Int(entryLengths[e]) }
            let cat = r.position
            let codes = try readIntStream(&r, count: n, "dictionary codes")
            // Check every code and the decoded size before allocating.
            var total = 0
            for i in 0..<n where isValid(i) {
                let c = codes[i]
                guard c >= 0, c < Int64(entries) else { throw fail("code \(c) at row \(i) outside a dictionary of \(entries)", cat) }
                total += Int(entryLengths[Int(c)])
                guard total <= Limits.chunkBytesMax else { throw fail("decoded strings exceed \(Limits.chunkBytesMax) bytes", cat) }
            }
            try room(total)
            ColumnBuilder.extend(&b.utf8, by: total, with: 0)
            b.utf8.withUnsafeMutableBytes { out in
                b.offsets.withUnsafeMutableBufferPointer { o in
                    var at = base
                    for i in 0..<n {
                        if isValid(i) {
                            let c = Int(codes[i])
                            let lo = entryStart[c], len = entryStart[c + 1] - lo
                            if len > 0, let ob = out.baseAddress, let db = dict.baseAddress {
                                (ob + at).copyMemory(from: db + lo, byteCount: len)
                            }
                            at += len
                        }
                        o[start + i + 1] = UInt32(at)
                    }
                }
            }
        default:
            throw fail("encoding \(encoding) does not apply to strings", r.position)
        }
    }
}

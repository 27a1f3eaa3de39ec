// Dictionary-coded string columns of the record batch payload (format-spec.md §2.3.1).

/// How a payload decoder treats dictionary-coded string columns (flags bit 1, format-spec.md
/// §2.3.1).
public enum PayloadDictionaries: Sendable {
    /// Not allowed (segment format version 1): flags bit 1 is corruption.
    case rejected
    /// Decoded into plain string columns (offsets and bytes).
    case materialized
    /// Handed out as dictionary-encoded ``Column``s (``Column/dictionary``), for scans that
    /// work on codes.
    case kept
}

/// A string column as the payload's dictionary form: distinct non-null values in order of
/// first appearance, and one code per row (0 for null rows).
struct PayloadDictionary {
    var entryOffsets: [UInt32] = [0]
    var entryBytes: [UInt8] = []
    var codes: [UInt32] = []

    var count: Int { entryOffsets.count - 1 }

    /// Bytes per code for `entries` values: 1 up to 256, 2 up to 65,536, else 4.
    static func codeWidth(entries d: Int) -> Int { d <= 256 ? 1 : d <= 65_536 ? 2 : 4 }

    /// The dictionary form of plain string column `c`, when it is the smaller encoding
    /// (format-spec.md §2.3.1 writer rule): at least one non-null value, at most `count / 2`
    /// distinct values, and fewer bytes than offsets + bytes. Nil otherwise.
    /// - Complexity: O(rows + bytes); gives up as soon as the distinct values exceed `count / 2`.
    static func encode(_ c: Column) -> PayloadDictionary? {
        let n = c.count
        guard c.type == .string, c.dictionary == nil, n >= 2, c.nullCount < n else { return nil }
        let limit = n / 2
        var size = 16
        while size < 2 * limit + 2 { size <<= 1 }
        let mask = size - 1
        var slots = [Int32](repeating: -1, count: size)
        var tags = [UInt32](repeating: 0, count: limit + 1)
        var d = PayloadDictionary()
        var codeArray = [UInt32](repeating: 0, count: n)
        d.entryOffsets.reserveCapacity(limit + 1)
        let offs = c.offsets
        let ok: Bool = c.utf8.withUnsafeBytes { u in
            slots.withUnsafeMutableBufferPointer { sl in
                codeArray.withUnsafeMutableBufferPointer { codes in
                    for i in 0..<n {
                        if c.isNull(i) { continue }
                        let a = Int(offs[i]), b = Int(offs[i + 1])
                        let s = UnsafeRawBufferPointer(rebasing: u[a..<b])
                        let h = fastBytesHash(s)
                        let tag = UInt32(truncatingIfNeeded: h >> 32)
                        var j = Int(truncatingIfNeeded: h) & mask
                        var code: Int32 = -1
                        while true {
                            let e = sl[j]
                            if e < 0 { break }
                            if tags[Int(e)] == tag {
                                let ea = Int(d.entryOffsets[Int(e)]), eb = Int(d.entryOffsets[Int(e) + 1])
                                if eb - ea == s.count && d.entryBytes.withUnsafeBytes({ memcmpEqual($0.baseAddress! + ea, s.baseAddress, s.count) }) {
                                    code = e
                                    break
                                }
                            }
                            j = (j + 1) & mask
                        }
                        if code < 0 {
                            let k = d.count
                            if k == limit { return false }
                            code = Int32(k)
                            tags[k] = tag
                            d.entryBytes.append(contentsOf: s)
                            d.entryOffsets.append(UInt32(truncatingIfNeeded: d.entryBytes.count))
                            sl[j] = code
                        }
                        codes[i] = UInt32(code)
                    }
                    return true
                }
            }
        }
        guard ok, d.count >= 1 else { return nil }
        d.codes = codeArray
        let plain = 4 * (n + 1) + c.utf8.count
        let dict = 4 + 4 * (d.count + 1) + d.entryBytes.count + n * codeWidth(entries: d.count)
        return dict < plain ? d : nil
    }

    /// Appends the dictionary form's `values` bytes (after the column's type, flags and
    /// validity): `u32 count`, `(count + 1) × u32` offsets, the bytes, `rows × code`.
    func write(into w: inout ByteWriter) {
        w.write(UInt32(count))
        entryOffsets.withUnsafeBytes { w.write(raw: $0) }   // little-endian hosts only (checked in tests)
        w.write(bytes: entryBytes)
        switch Self.codeWidth(entries: count) {
        case 1: for c in codes { w.write(UInt8(truncatingIfNeeded: c)) }
        case 2: for c in codes { w.write(UInt16(truncatingIfNeeded: c)) }
        default: codes.withUnsafeBytes { w.write(raw: $0) }
        }
    }

    /// Reads the dictionary form of a column of `n` rows (format-spec.md §2.3.1), checking
    /// every count, offset and code before use, and returns it as a ``Column``: plain when
    /// `materialize`, else dictionary-encoded.
    static func read(_ r: inout ByteReader, rows n: Int, nullCount: Int, validity: [UInt8], name: String, materialize: Bool) throws(LambdaStoreError) -> Column {
        let at = r.position
        let d = Int(try r.read(UInt32.self, "dictionary size of '\(name)'"))
        guard d >= 1, d <= Swift.max(1, n) else {
            throw LambdaStoreError(.corruption, "dictionary of '\(name)' has \(d) entries for \(n) rows (1…rows allowed)", offset: Int64(at))
        }
        let os = try r.readSlice((d + 1) * 4, "dictionary offsets of '\(name)'")
        let offs = [UInt32](unsafeUninitializedCapacity: d + 1) { buf, k in
            UnsafeMutableRawBufferPointer(buf).copyMemory(from: os)
            k = d + 1
        }
        guard offs[0] == 0 else { throw LambdaStoreError(.corruption, "dictionary offsets of '\(name)' do not start at 0", offset: Int64(at + 4)) }
        for i in 0..<d where offs[i] > offs[i + 1] {
            throw LambdaStoreError(.corruption, "dictionary offsets of '\(name)' decrease at entry \(i)", offset: Int64(at + 4 + 4 * i))
        }
        let bytes = try r.readSlice(Int(offs[d]), "dictionary bytes of '\(name)'")
        let width = codeWidth(entries: d)
        let codeAt = r.position
        let raw = try r.readSlice(n * width, "codes of '\(name)'")
        var top: UInt32 = 0
        let codes = [UInt32](unsafeUninitializedCapacity: n) { buf, k in
            switch width {
            case 1: for i in 0..<n { let c = UInt32(raw[i]); buf[i] = c; top = Swift.max(top, c) }
            case 2:
                for i in 0..<n {
                    let c = UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    buf[i] = c
                    top = Swift.max(top, c)
                }
            default:
                for i in 0..<n {
                    let c = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                    buf[i] = c
                    top = Swift.max(top, c)
                }
            }
            k = n
        }
        guard Int(top) < d else {
            let bad = codes.firstIndex { Int($0) >= d } ?? 0
            throw LambdaStoreError(.corruption, "code \(codes[bad]) of '\(name)' at row \(bad) is outside its \(d)-entry dictionary", offset: Int64(codeAt + bad * width))
        }
        if !materialize {
            let entries = Column(type: .string, count: d, nullCount: 0, validity: [], offsets: offs, utf8: [UInt8](bytes))
            return Column(count: n, nullCount: nullCount, validity: validity, dictionary: ColumnDictionary(entries: entries, codes: codes))
        }
        var total = 0
        for i in 0..<n where nullCount == 0 || validity[i >> 3] & (1 << UInt8(i & 7)) != 0 {
            total += Int(offs[Int(codes[i]) + 1] - offs[Int(codes[i])])
        }
        guard total <= Int(UInt32.max) else {
            throw LambdaStoreError(.corruption, "strings of '\(name)' exceed 4 GiB", offset: Int64(at))
        }
        var rowOffsets = [UInt32](repeating: 0, count: n + 1)
        let out = [UInt8](unsafeUninitializedCapacity: total) { buf, k in
            var pos = 0
            for i in 0..<n {
                if nullCount == 0 || validity[i >> 3] & (1 << UInt8(i & 7)) != 0 {
                    let c = Int(codes[i])
                    let a = Int(offs[c]), len = Int(offs[c + 1]) - a
                    if len > 0 { (buf.baseAddress! + pos).update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + a, count: len) }
                    pos += len
                }
                rowOffsets[i + 1] = UInt32(truncatingIfNeeded: pos)
            }
            k = total
        }
        return Column(type: .string, count: n, nullCount: nullCount, validity: validity, offsets: rowOffsets, utf8: out)
    }
}

/// Whether `n` bytes at `a` and `b` are equal.
@inline(__always)
func memcmpEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer?, _ n: Int) -> Bool {
    guard n > 0, let b else { return true }
    var i = 0
    while i + 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}

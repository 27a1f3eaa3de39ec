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
        // Entries are referred to by the row of their first appearance until the end, so the
        // scan copies no bytes; a slot holds `tag << 32 | entry + 1` (0: empty).
        var slots = [UInt64](repeating: 0, count: size)
        var firstRow = [Int32](repeating: 0, count: limit)
        var codeArray = [UInt32](repeating: 0, count: n)
        var d = 0
        let offs = c.offsets
        let hasNulls = c.hasNulls
        let ok: Bool = c.utf8.withUnsafeBytes { u in
            offs.withUnsafeBufferPointer { o in
                slots.withUnsafeMutableBufferPointer { sl in
                    firstRow.withUnsafeMutableBufferPointer { first in
                        codeArray.withUnsafeMutableBufferPointer { codes in
                            for i in 0..<n {
                                if hasNulls && c.isNull(i) { continue }
                                let a = Int(o[i]), len = Int(o[i + 1]) - a
                                let s = UnsafeRawBufferPointer(rebasing: u[a..<(a + len)])
                                let h = fastBytesHash(s)
                                let tag = h >> 32
                                var j = Int(truncatingIfNeeded: h) & mask
                                var code = -1
                                while true {
                                    let slot = sl[j]
                                    if slot == 0 { break }
                                    if slot >> 32 == tag {
                                        let e = Int(slot & 0xFFFF_FFFF) - 1
                                        let r = Int(first[e])
                                        let ea = Int(o[r])
                                        if Int(o[r + 1]) - ea == len && (len == 0 || bytesEqual(u.baseAddress.unsafelyUnwrapped + ea, s.baseAddress.unsafelyUnwrapped, count: len)) {
                                            code = e
                                            break
                                        }
                                    }
                                    j = (j + 1) & mask
                                }
                                if code < 0 {
                                    if d == limit { return false }
                                    code = d
                                    first[d] = Int32(truncatingIfNeeded: i)
                                    sl[j] = tag << 32 | UInt64(d + 1)
                                    d += 1
                                }
                                codes[i] = UInt32(truncatingIfNeeded: code)
                            }
                            return true
                        }
                    }
                }
            }
        }
        guard ok, d >= 1 else { return nil }
        var out = PayloadDictionary()
        out.entryOffsets.reserveCapacity(d + 1)
        c.utf8.withUnsafeBytes { u in
            for e in 0..<d {
                let r = Int(firstRow[e])
                out.entryBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: u[Int(offs[r])..<Int(offs[r + 1])]))
                out.entryOffsets.append(UInt32(truncatingIfNeeded: out.entryBytes.count))
            }
        }
        let plain = 4 * (n + 1) + c.utf8.count
        let dict = 4 + 4 * (d + 1) + out.entryBytes.count + n * codeWidth(entries: d)
        guard dict < plain else { return nil }
        out.codes = codeArray
        return out
    }

    /// Appends the dictionary form's `values` bytes (after the column's type, flags and
    /// validity): `u32 count`, `(count + 1) × u32` offsets, the bytes, `rows × code`.
    func write(into w: inout ByteWriter) {
        w.write(UInt32(count))
        entryOffsets.withUnsafeBytes { w.write(raw: $0) }   // little-endian hosts only (checked in tests)
        w.write(bytes: entryBytes)
        switch Self.codeWidth(entries: count) {
        case 1: codes.lazy.map { UInt8(truncatingIfNeeded: $0) }.withContiguousBytes(into: &w)
        case 2: codes.lazy.map { UInt16(truncatingIfNeeded: $0) }.withContiguousBytes(into: &w)   // little-endian hosts only
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
        let offs = [UInt32](zeroSafeCapacity: d + 1) { buf, k in
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
        let codes = [UInt32](zeroSafeCapacity: n) { buf, k in
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
        let entries = Column(type: .string, count: d, nullCount: 0, validity: [], offsets: offs, utf8: [UInt8](bytes))
        let dictionary = ColumnDictionary(entries: entries, codes: codes)
        var column = Column(validatedCount: n, nullCount: nullCount, validity: validity, dictionary: dictionary)
        if materialize {
            let total = column.plainByteCount(dictionary)
            guard total <= Int(UInt32.max) else {
                throw LambdaStoreError(.corruption, "strings of '\(name)' exceed 4 GiB", offset: Int64(at))
            }
            column.materialize(dictionary, total: total)
        }
        return column
    }
}

extension LazyMapSequence where Base == [UInt32], Element: FixedWidthInteger {
    /// Writes the mapped values' bytes in one append (host byte order).
    fileprivate func withContiguousBytes(into w: inout ByteWriter) {
        let narrow = [Element](self)
        narrow.withUnsafeBytes { w.write(raw: $0) }
    }
}

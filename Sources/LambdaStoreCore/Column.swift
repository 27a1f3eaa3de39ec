/// One column of values of a single ``FieldType``, stored contiguously.
///
/// Storage by type: `int64`, `timestamp` and `bool` (0/1) in ``ints``; `float64` in
/// ``doubles``; `string` as ``offsets`` (count + 1 entries, `offsets[0] == 0`) into ``utf8``.
/// A null slot holds 0 / 0.0 / the empty string. ``validity`` is empty when the column has no
/// nulls, else a bitmap where bit `i & 7` of byte `i >> 3` is set when row `i` is non-null.
///
/// A string column can also be *dictionary-encoded* (``dictionary`` non-nil): its rows are
/// codes into a table of values instead of ``offsets``/``utf8``, as the log reader hands out
/// for scans that ask for it (`StreamLog.readBatch(_:scratch:keepDictionaries:)`). Such a
/// column has no ``offsets`` or ``utf8`` (reading them traps); ``string(at:)``,
/// ``value(at:)``, ``slice(_:)``, ``gathering(rows:)`` and the appends work on either form,
/// and ``materialize()`` turns it into the plain form.
///
/// Thread safety: a value type; share copies freely.
public struct Column: Sendable {
    /// The value type.
    public let type: FieldType
    /// The number of rows.
    @inlinable public var count: Int { _count }
    @usableFromInline var _count: Int
    /// The number of null rows.
    @inlinable public var nullCount: Int { _nullCount }
    @usableFromInline var _nullCount: Int
    /// Validity bitmap, or empty when there are no nulls.
    @inlinable public var validity: [UInt8] { _validity }
    @usableFromInline var _validity: [UInt8]
    /// Values of integer-backed types.
    @inlinable public var ints: [Int64] { _ints }
    @usableFromInline var _ints: [Int64]
    /// Values of `float64` columns.
    @inlinable public var doubles: [Double] { _doubles }
    @usableFromInline var _doubles: [Double]
    /// String offsets (count + 1 entries).
    /// - Precondition: the column is not dictionary-encoded.
    @inlinable public var offsets: [UInt32] {
        precondition(_dictionary == nil, "offsets of a dictionary-encoded column (materialize() it first)")
        return _offsets
    }
    @usableFromInline var _offsets: [UInt32]
    /// String bytes.
    /// - Precondition: the column is not dictionary-encoded.
    @inlinable public var utf8: [UInt8] {
        precondition(_dictionary == nil, "bytes of a dictionary-encoded column (materialize() it first)")
        return _utf8
    }
    @usableFromInline var _utf8: [UInt8]
    /// The values and per-row codes of a dictionary-encoded string column; nil for every
    /// other column.
    @inlinable public var dictionary: ColumnDictionary? { _dictionary }
    @usableFromInline var _dictionary: ColumnDictionary?
    /// The first typed append that did not fit the column's type (0: none; else a
    /// ``MisTypedAppend`` raw value). Such an append stores a zero value of the column's own
    /// type instead, so the storage stays consistent, and `ColumnBatch.validate(against:)`
    /// rejects the column.
    @usableFromInline var _misTypedAppend: UInt8

    /// An empty column.
    public init(type: FieldType, capacity: Int = 0) {
        self.type = type
        _count = 0
        _nullCount = 0
        _validity = []
        _ints = []
        _doubles = []
        _offsets = type == .string ? [0] : []
        _utf8 = []
        _dictionary = nil
        _misTypedAppend = 0
        if capacity > 0 {
            switch type {
            case .float64: _doubles.reserveCapacity(capacity)
            case .string: _offsets.reserveCapacity(capacity + 1)
            default: _ints.reserveCapacity(capacity)
            }
        }
    }

    /// A column from already-built storage; `validity` empty or `(count + 7) / 8` bytes.
    public init(type: FieldType, count: Int, nullCount: Int, validity: [UInt8], ints: [Int64] = [], doubles: [Double] = [], offsets: [UInt32] = [0], utf8: [UInt8] = []) {
        self.type = type
        self._count = count
        self._nullCount = nullCount
        self._validity = validity
        self._ints = ints
        self._doubles = doubles
        self._offsets = type == .string ? offsets : []
        self._utf8 = utf8
        self._dictionary = nil
        self._misTypedAppend = 0
    }

    /// A dictionary-encoded string column: row `i` is `dictionary.entries` row
    /// `dictionary.codes[i]` (a null row's code is not used). `validity` empty or
    /// `(count + 7) / 8` bytes.
    /// - Precondition: `dictionary.codes.count == count`, every code is a row of the entries
    ///   (checked, O(count)), and the entries have no nulls and are not dictionary-encoded.
    public init(count: Int, nullCount: Int, validity: [UInt8], dictionary: ColumnDictionary) {
        precondition(dictionary.codes.count == count, "one code per row")
        let d = dictionary.entries.count
        precondition(count == 0 || d > 0, "codes into an empty dictionary")
        var top: UInt32 = 0
        for c in dictionary.codes { top = Swift.max(top, c) }
        precondition(count == 0 || Int(top) < d, "dictionary code \(top) outside the \(d) entries")
        self.init(validatedCount: count, nullCount: nullCount, validity: validity, dictionary: dictionary)
    }

    /// ``init(count:nullCount:validity:dictionary:)`` for a caller that has already checked
    /// the codes against the entries (the payload decoder).
    init(validatedCount count: Int, nullCount: Int, validity: [UInt8], dictionary: ColumnDictionary) {
        self.type = .string
        self._count = count
        self._nullCount = nullCount
        self._validity = validity
        self._ints = []
        self._doubles = []
        self._offsets = []
        self._utf8 = []
        self._dictionary = dictionary
        self._misTypedAppend = 0
    }

    /// Turns a dictionary-encoded column into the plain form (offsets and bytes, null rows
    /// empty); no-op for any other column.
    /// - Complexity: O(rows + bytes).
    public mutating func materialize() {
        guard let d = _dictionary else { return }
        let total = plainByteCount(d)
        precondition(total <= Int(UInt32.max), "materialized strings exceed 4 GiB")
        materialize(d, total: total)
    }

    /// The bytes of the plain form of this column under dictionary `d` (null rows take none).
    func plainByteCount(_ d: ColumnDictionary) -> Int {
        let eo = d.entries._offsets
        var total = 0
        for i in 0..<count where !isNull(i) { total += Int(eo[Int(d.codes[i]) + 1] - eo[Int(d.codes[i])]) }
        return total
    }

    /// ``materialize()`` with the plain form's byte count known (`total` from
    /// ``plainByteCount(_:)``, at most 4 GiB). Entries are read from a copy padded with 16
    /// zero bytes and the output has 16 bytes of slack, so an entry of up to 16 bytes is
    /// copied as two 8-byte words.
    mutating func materialize(_ d: ColumnDictionary, total: Int) {
        let n = count
        let entryBytes = d.entries._utf8.count
        let padded = [UInt8](zeroSafeCapacity: entryBytes + 16) { buf, k in
            let raw = UnsafeMutableRawBufferPointer(buf)
            d.entries._utf8.withUnsafeBytes { if entryBytes > 0 { raw.copyMemory(from: $0) } }
            for j in entryBytes..<(entryBytes + 16) { buf[j] = 0 }
            k = entryBytes + 16
        }
        var offs = [UInt32](repeating: 0, count: n + 1)
        var bytes = [UInt8](zeroSafeCapacity: total + 16) { buf, k in
            padded.withUnsafeBytes { src in
                d.entries._offsets.withUnsafeBufferPointer { eo in
                    d.codes.withUnsafeBufferPointer { cs in
                        offs.withUnsafeMutableBufferPointer { ro in
                            let dst = UnsafeMutableRawPointer(buf.baseAddress.unsafelyUnwrapped)
                            var pos = 0
                            for i in 0..<n {
                                if !isNull(i) {
                                    let c = Int(cs[i])
                                    let a = Int(eo[c]), len = Int(eo[c + 1]) - a
                                    if len <= 16 {
                                        dst.storeBytes(of: src.loadUnaligned(fromByteOffset: a, as: UInt64.self), toByteOffset: pos, as: UInt64.self)
                                        dst.storeBytes(of: src.loadUnaligned(fromByteOffset: a + 8, as: UInt64.self), toByteOffset: pos + 8, as: UInt64.self)
                                    } else {
                                        (dst + pos).copyMemory(from: src.baseAddress.unsafelyUnwrapped + a, byteCount: len)
                                    }
                                    pos += len
                                }
                                ro[i + 1] = UInt32(truncatingIfNeeded: pos)
                            }
                            (dst + pos).initializeMemory(as: UInt8.self, repeating: 0, count: 16)   // the slack
                        }
                    }
                }
            }
            k = total + 16
        }
        bytes.removeLast(16)
        _offsets = offs
        _utf8 = bytes
        _dictionary = nil
    }

    /// This column in the plain form (see ``materialize()``).
    public func materialized() -> Column {
        var c = self
        c.materialize()
        return c
    }

    /// Calls `body` with the UTF-8 bytes of row `i` of a string column (either form).
    @inlinable
    public func withUTF8<R>(at i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let d = _dictionary { return try d.entries.withUTF8(at: Int(d.codes[i]), body) }
        let a = Int(_offsets[i]), b = Int(_offsets[i + 1])
        return try _utf8.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[a..<b])) }
    }

    /// Whether row `i` is null.
    @inlinable
    public func isNull(_ i: Int) -> Bool {
        nullCount != 0 && (validity[i >> 3] & (1 << UInt8(i & 7))) == 0
    }

    /// Whether the column has any null.
    @inlinable public var hasNulls: Bool { nullCount != 0 }

    @inlinable
    mutating func markValid() {
        if nullCount != 0 {
            let i = count
            if i >> 3 >= validity.count { _validity.append(0) }
            _validity[i >> 3] |= 1 << UInt8(i & 7)
        }
    }

    /// Replaces the (absent) bitmap of a column without nulls by one marking its `count` rows
    /// valid, with room for `rows` rows (the bits past `count` clear).
    mutating func materializeValidity(rows: Int) {
        let n = count
        _validity = [UInt8](repeating: 0, count: (Swift.max(rows, n) + 7) / 8)
        for b in 0..<(n >> 3) { _validity[b] = 0xFF }
        if n & 7 != 0 { _validity[n >> 3] = UInt8((1 << (n & 7)) - 1) }
    }

    /// Appends a null.
    public mutating func appendNull() {
        materialize()
        if nullCount == 0 {
            // First null: materialise the bitmap with every earlier row valid.
            materializeValidity(rows: count + 1)
        } else if count >> 3 >= validity.count {
            _validity.append(0)
        }
        _nullCount += 1
        switch type {
        case .float64: _doubles.append(0)
        case .string: _offsets.append(UInt32(utf8.count))
        default: _ints.append(0)
        }
        _count += 1
    }

    /// Appends an integer-backed value (`int64`, `timestamp`, or `bool` as 0/1).
    ///
    /// On a `float64` or `string` column this appends that type's zero value instead and marks
    /// the column mis-typed: `ColumnBatch.validate(against:)` (so every append to the log)
    /// then rejects it. The same holds for the other typed appends.
    /// - Complexity: O(1) amortized.
    @inlinable
    public mutating func append(int v: Int64) {
        guard type != .float64 && type != .string else { appendMisTyped(.int); return }
        markValid()
        _ints.append(v)
        _count += 1
    }

    /// Appends a `float64` (see ``append(int:)`` for a column of another type).
    @inlinable
    public mutating func append(double v: Double) {
        guard type == .float64 else { appendMisTyped(.double); return }
        markValid()
        _doubles.append(v)
        _count += 1
    }

    /// Appends a string from its UTF-8 bytes (see ``append(int:)`` for a column of another
    /// type).
    @inlinable
    public mutating func append(utf8 bytes: UnsafeRawBufferPointer) {
        guard type == .string else { appendMisTyped(.string); return }
        if _dictionary != nil { materialize() }
        markValid()
        _utf8.append(contentsOf: bytes)
        _offsets.append(UInt32(truncatingIfNeeded: _utf8.count))
        _count += 1
    }

    /// A typed append of `kind` that does not fit this column: records the first one and
    /// appends a non-null zero value of the column's own type, keeping the storage consistent.
    @usableFromInline
    mutating func appendMisTyped(_ kind: MisTypedAppend) {
        if _misTypedAppend == 0 { _misTypedAppend = kind.rawValue }
        materialize()
        markValid()
        switch type {
        case .float64: _doubles.append(0)
        case .string: _offsets.append(UInt32(truncatingIfNeeded: _utf8.count))
        default: _ints.append(0)
        }
        _count += 1
    }

    /// The first typed append that did not fit this column's type, as text
    /// (`append(int:) on a string column`), or nil when there was none.
    public var misTypedAppend: String? {
        guard let kind = MisTypedAppend(rawValue: _misTypedAppend) else { return nil }
        return "\(kind.call) on a \(type) column"
    }

    /// Appends a string.
    @inlinable
    public mutating func append(string s: String) {
        var s = s
        s.withUTF8 { append(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// Appends a value of this column's type, or null.
    /// - Throws: ``LambdaStoreError/Code/schema`` when the value has another type.
    public mutating func append(_ value: Value) throws(LambdaStoreError) {
        switch (type, value) {
        case (_, .null): appendNull()
        case (.int64, .int64(let v)), (.timestamp, .timestamp(let v)): append(int: v)
        case (.float64, .float64(let v)): append(double: v)
        case (.bool, .bool(let b)): append(int: b ? 1 : 0)
        case (.string, .string(let s)): append(string: s)
        default:
            throw LambdaStoreError(.schema, "value \(value) is not a \(type)")
        }
    }

    /// The value at row `i` (`i < count`).
    public func value(at i: Int) -> Value {
        if isNull(i) { return .null }
        switch type {
        case .int64: return .int64(ints[i])
        case .timestamp: return .timestamp(ints[i])
        case .bool: return .bool(ints[i] != 0)
        case .float64: return .float64(doubles[i])
        case .string: return .string(string(at: i))
        }
    }

    /// The string at row `i` of a string column.
    public func string(at i: Int) -> String {
        withUTF8(at: i) { String(decoding: $0, as: UTF8.self) }
    }

    /// A column of `count` copies of `value` (used to project old records onto a new schema).
    public static func constant(_ value: Value, type: FieldType, count: Int) -> Column {
        var c = Column(type: type, capacity: count)
        for _ in 0..<count { try? c.append(value) }
        return c
    }

    /// The rows `range` of this column, as a new column.
    public func slice(_ range: Range<Int>) -> Column {
        if let d = _dictionary { return sliceDictionary(d, range) }
        var c = Column(type: type, capacity: range.count)
        for i in range { c.append(copyOf: self, row: i) }
        return c
    }

    /// ``slice(_:)`` of a dictionary-encoded column: the codes of `range`, the same entries.
    func sliceDictionary(_ d: ColumnDictionary, _ range: Range<Int>) -> Column {
        var validity: [UInt8] = []
        var nulls = 0
        if hasNulls {
            validity = [UInt8](repeating: 0, count: (range.count + 7) / 8)
            for (j, r) in range.enumerated() {
                if isNull(r) { nulls += 1 } else { validity[j >> 3] |= 1 << UInt8(j & 7) }
            }
            if nulls == 0 { validity = [] }
        }
        return Column(count: range.count, nullCount: nulls, validity: validity,
                      dictionary: ColumnDictionary(entries: d.entries, codes: Array(d.codes[range])))
    }

    /// The rows `rows` of this column, in that order (repeats allowed), as a new column: one
    /// typed pass per storage array instead of a row-by-row append.
    /// - Precondition: every index in `rows` is in `0..<count`.
    /// - Complexity: O(rows + bytes gathered).
    public func gathering(rows: [Int]) -> Column {
        if _dictionary != nil { return materialized().gathering(rows: rows) }
        let n = rows.count
        var validity: [UInt8] = []
        var nulls = 0
        if hasNulls {
            validity = [UInt8](repeating: 0, count: (n + 7) / 8)
            for (j, r) in rows.enumerated() {
                if isNull(r) { nulls += 1 } else { validity[j >> 3] |= 1 << UInt8(j & 7) }
            }
            if nulls == 0 { validity = [] }
        }
        switch type {
        case .float64:
            let d = doubles
            return Column(type: type, count: n, nullCount: nulls, validity: validity, doubles: rows.map { d[$0] })
        case .string:
            let offs = offsets
            var total = 0
            let byteCount = utf8.count
            for r in rows {
                // Checked here once per row, so the copy below can be unchecked.
                precondition(offs[r] <= offs[r + 1] && Int(offs[r + 1]) <= byteCount, "string offsets of row \(r) outside the bytes")
                total += Int(offs[r + 1] - offs[r])
            }
            precondition(total <= Int(UInt32.max), "gathered strings exceed 4 GiB")
            var outOffsets = [UInt32](repeating: 0, count: n + 1)
            let bytes = [UInt8](zeroSafeCapacity: total) { out, k in
                utf8.withUnsafeBufferPointer { src in
                    var at = 0
                    for (j, r) in rows.enumerated() {
                        let a = Int(offs[r]), len = Int(offs[r + 1]) - a
                        if len > 0 { (out.baseAddress! + at).update(from: src.baseAddress! + a, count: len) }
                        at += len
                        outOffsets[j + 1] = UInt32(truncatingIfNeeded: at)
                    }
                }
                k = total
            }
            return Column(type: .string, count: n, nullCount: nulls, validity: validity, offsets: outOffsets, utf8: bytes)
        default:
            let v = ints
            return Column(type: type, count: n, nullCount: nulls, validity: validity, ints: rows.map { v[$0] })
        }
    }

    /// Appends row `i` of `other` (same type; another type is recorded as a mis-typed append,
    /// see ``append(int:)``).
    @inlinable
    public mutating func append(copyOf other: Column, row i: Int) {
        guard other.type == type else { appendMisTyped(.copy); return }
        if other.isNull(i) { appendNull(); return }
        switch type {
        case .float64: append(double: other.doubles[i])
        case .string: other.withUTF8(at: i) { append(utf8: $0) }
        default: append(int: other.ints[i])
        }
    }
}

/// A typed ``Column`` append that did not match the column's type.
@usableFromInline
enum MisTypedAppend: UInt8 {
    case int = 1, double, string, copy

    /// The API called.
    var call: String {
        switch self {
        case .int: "append(int:)"
        case .double: "append(double:)"
        case .string: "append(string:)"
        case .copy: "append(copyOf:row:) of a column of another type"
        }
    }
}

/// The table of a dictionary-encoded string ``Column``: its distinct values and one code per
/// row. Immutable; shared by the slices of a column.
public final class ColumnDictionary: Sendable {
    /// The values, as a plain string column without nulls.
    public let entries: Column
    /// Per row of the column: the row of ``entries`` holding its value (unused for null rows).
    public let codes: [UInt32]

    /// A dictionary; `entries` must be a plain string column without nulls.
    public init(entries: Column, codes: [UInt32]) {
        precondition(entries.type == .string && entries._dictionary == nil && !entries.hasNulls, "dictionary entries are plain non-null strings")
        self.entries = entries
        self.codes = codes
    }
}

extension Column {
    /// Appends every row of `other` (a column of the same type) after this column's rows, by
    /// storage array rather than row by row: the values, the string bytes with their offsets
    /// moved up, and the validity bitmap when either column has nulls. Dictionary-encoded
    /// columns are materialized first. A mis-typed append recorded in `other` carries over.
    /// - Throws: `.invalidArgument` for another type; `.limitExceeded` when the string bytes
    ///   would pass 4 GiB (the offsets are 32-bit). This column is unchanged on error.
    /// - Complexity: O(rows + bytes of `other`).
    package mutating func append(contentsOf other: Column) throws(LambdaStoreError) {
        guard other.type == type else {
            throw LambdaStoreError(.invalidArgument, "cannot append a \(other.type) column to a \(type) column")
        }
        guard other.count > 0 else { return }
        let o = other._dictionary == nil ? other : other.materialized()
        materialize()
        if type == .string {
            guard _utf8.count + o._utf8.count <= Int(UInt32.max) else {
                throw LambdaStoreError(.limitExceeded, "strings of the joined column exceed 4 GiB")
            }
        }
        let n0 = count
        if _nullCount != 0 || o._nullCount != 0 {
            let total = n0 + o.count
            if _nullCount == 0 {
                materializeValidity(rows: total)
            } else if _validity.count < (total + 7) / 8 {
                _validity.append(contentsOf: repeatElement(0, count: (total + 7) / 8 - _validity.count))
            }
            for r in 0..<o.count where o._nullCount == 0 || o._validity[r >> 3] & (1 << UInt8(r & 7)) != 0 {
                let i = n0 + r
                _validity[i >> 3] |= 1 << UInt8(i & 7)
            }
        }
        switch type {
        case .float64:
            _doubles.append(contentsOf: o._doubles)
        case .string:
            let base = UInt32(truncatingIfNeeded: _utf8.count)
            _offsets.reserveCapacity(_offsets.count + o.count)
            for k in 1...o.count { _offsets.append(base &+ o._offsets[k]) }
            _utf8.append(contentsOf: o._utf8)
        default:
            _ints.append(contentsOf: o._ints)
        }
        _count += o.count
        _nullCount += o._nullCount
        if _misTypedAppend == 0 { _misTypedAppend = o._misTypedAppend }
    }
}

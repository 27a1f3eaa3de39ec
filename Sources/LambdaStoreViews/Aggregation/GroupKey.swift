import LambdaStoreCore

/// The values of a view's group-by fields for one cell, as canonical bytes (format-spec.md §3b.5).
///
/// Per field, in group-by order: a tag byte — `0` null, else the field type code — then the
/// value: `i64` for int64/timestamp, the `f64` bits for float64 (−0.0 stored as +0.0 and every
/// NaN as `0x7FF8000000000000`, so values that compare equal group together), one byte 0/1 for
/// bool, `u32` length + UTF-8 bytes for string. Equal keys have equal bytes.
///
/// Order (``<``), the "group key" order rows are sorted by: field by field, null first, then
/// int64/timestamp numerically, float64 numerically with NaN last, false < true, strings by
/// unsigned bytes (a proper prefix first).
///
/// Thread safety: a value type.
public struct GroupKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The canonical bytes.
    public let bytes: [UInt8]

    /// The key of no group-by fields (one cell per window).
    public static let empty = GroupKey(unchecked: [])

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// The key of `values`, in group-by order.
    public init(values: [Value]) {
        var b: [UInt8] = []
        for v in values { GroupKey.append(v, to: &b) }
        bytes = b
    }

    /// A key from canonical bytes, validated.
    /// - Throws: ``LambdaStoreError/Code/corruption`` when the bytes are not a canonical key.
    public init(canonicalBytes: [UInt8]) throws(LambdaStoreError) {
        var i = 0
        while i < canonicalBytes.count {
            guard let (_, next) = GroupKey.field(canonicalBytes, at: i) else {
                throw LambdaStoreError(.corruption, "group key byte \(i): bad field")
            }
            i = next
        }
        bytes = canonicalBytes
    }

    /// Appends the canonical encoding of one group value.
    static func append(_ v: Value, to b: inout [UInt8]) {
        switch v {
        case .null: b.append(0)
        case .int64(let x): b.append(FieldType.int64.rawValue); appendLE(UInt64(bitPattern: x), &b)
        case .timestamp(let x): b.append(FieldType.timestamp.rawValue); appendLE(UInt64(bitPattern: x), &b)
        case .float64(let d): b.append(FieldType.float64.rawValue); appendLE(CanonicalFloat.canonical(d).bitPattern, &b)
        case .bool(let x): b.append(FieldType.bool.rawValue); b.append(x ? 1 : 0)
        case .string(let s):
            b.append(FieldType.string.rawValue)
            var s = s
            s.withUTF8 { u in
                appendLE(UInt32(truncatingIfNeeded: u.count), &b)
                b.append(contentsOf: u)
            }
        }
    }

    @inline(__always)
    static func appendLE<T: FixedWidthInteger>(_ v: T, _ b: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { b.append(contentsOf: $0) }
    }

    /// Decodes the field at `i`: its value and the index after it; nil when malformed or not
    /// canonical.
    static func field(_ b: [UInt8], at i: Int) -> (Value, Int)? {
        guard i < b.count else { return nil }
        func le64(_ at: Int) -> UInt64? {
            guard at + 8 <= b.count else { return nil }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(b[at + k]) << UInt64(8 * k) }
            return v
        }
        switch b[i] {
        case 0: return (.null, i + 1)
        case FieldType.int64.rawValue: return le64(i + 1).map { (.int64(Int64(bitPattern: $0)), i + 9) }
        case FieldType.timestamp.rawValue: return le64(i + 1).map { (.timestamp(Int64(bitPattern: $0)), i + 9) }
        case FieldType.float64.rawValue:
            guard let bits = le64(i + 1) else { return nil }
            let d = Double(bitPattern: bits)
            guard CanonicalFloat.canonical(d).bitPattern == bits else { return nil }
            return (.float64(d), i + 9)
        case FieldType.bool.rawValue:
            guard i + 1 < b.count, b[i + 1] <= 1 else { return nil }
            return (.bool(b[i + 1] == 1), i + 2)
        case FieldType.string.rawValue:
            guard i + 5 <= b.count else { return nil }
            let n = Int(b[i + 1]) | Int(b[i + 2]) << 8 | Int(b[i + 3]) << 16 | Int(b[i + 4]) << 24
            guard n <= Limits.stringBytesMax, i + 5 + n <= b.count else { return nil }
            return (.string(String(decoding: b[(i + 5)..<(i + 5 + n)], as: UTF8.self)), i + 5 + n)
        default: return nil
        }
    }

    /// Appends the canonical encoding of row `r` of `column` (what `append(column.value(at: r))`
    /// would append, for valid UTF-8, without building the value).
    public static func appendCanonical(_ column: Column, row r: Int, to b: inout [UInt8]) {
        if column.isNull(r) { b.append(0); return }
        b.append(column.type.rawValue)
        switch column.type {
        case .int64, .timestamp: appendLE(UInt64(bitPattern: column.ints[r]), &b)
        case .float64: appendLE(CanonicalFloat.canonical(column.doubles[r]).bitPattern, &b)
        case .bool: b.append(column.ints[r] != 0 ? 1 : 0)
        case .string:
            column.withUTF8(at: r) { u in
                appendLE(UInt32(truncatingIfNeeded: u.count), &b)
                b.append(contentsOf: u)
            }
        }
    }

    /// Three-way comparison (negative, 0, positive) of canonical key bytes `a` with this key,
    /// in the group key order.
    public func compare(canonical a: [UInt8]) -> Int { GroupKey.compare(a, bytes) }

    /// The group values, in group-by order.
    /// - Complexity: O(bytes).
    public var values: [Value] {
        var out: [Value] = []
        var i = 0
        while i < bytes.count, let (v, next) = GroupKey.field(bytes, at: i) {
            out.append(v)
            i = next
        }
        return out
    }

    /// The group values; `types` (the group-by field types) is only checked in debug builds,
    /// since the bytes are self-describing.
    public func values(types: [FieldType]) -> [Value] {
        let v = values
        assert(v.count == types.count && zip(v, types).allSatisfy { $0.type == nil || $0.type == $1 }, "group key does not match types")
        return v
    }

    public var description: String { "(" + values.map(\.description).joined(separator: ", ") + ")" }

    /// The group key order described on the type.
    /// - Complexity: O(bytes).
    public static func < (a: GroupKey, b: GroupKey) -> Bool { compare(a.bytes, b.bytes) < 0 }

    /// Three-way comparison of two canonical keys.
    static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var i = 0, j = 0
        while i < a.count && j < b.count {
            let ta = a[i], tb = b[j]
            if ta != tb {
                if ta == 0 { return -1 }
                if tb == 0 { return 1 }
                return ta < tb ? -1 : 1
            }
            switch ta {
            case 0:
                i += 1; j += 1
            case FieldType.int64.rawValue, FieldType.timestamp.rawValue, FieldType.float64.rawValue:
                guard i + 9 <= a.count, j + 9 <= b.count else { return a.count - i < b.count - j ? -1 : 1 }
                let x = load(a, i + 1), y = load(b, j + 1)
                if ta == FieldType.float64.rawValue {
                    let kx = CanonicalFloat.orderKey(Double(bitPattern: x)), ky = CanonicalFloat.orderKey(Double(bitPattern: y))
                    if kx != ky { return kx < ky ? -1 : 1 }
                } else {
                    let sx = Int64(bitPattern: x), sy = Int64(bitPattern: y)
                    if sx != sy { return sx < sy ? -1 : 1 }
                }
                i += 9; j += 9
            case FieldType.bool.rawValue:
                guard i + 2 <= a.count, j + 2 <= b.count else { return a.count - i < b.count - j ? -1 : 1 }
                if a[i + 1] != b[j + 1] { return a[i + 1] < b[j + 1] ? -1 : 1 }
                i += 2; j += 2
            default:   // string
                guard i + 5 <= a.count, j + 5 <= b.count else { return a.count - i < b.count - j ? -1 : 1 }
                let na = Int(truncatingIfNeeded: load32(a, i + 1)), nb = Int(truncatingIfNeeded: load32(b, j + 1))
                let ea = Swift.min(a.count, i + 5 + na), eb = Swift.min(b.count, j + 5 + nb)
                let c = a.withUnsafeBytes { pa in
                    b.withUnsafeBytes { pb in
                        compareBytes(UnsafeRawBufferPointer(rebasing: pa[(i + 5)..<ea]), UnsafeRawBufferPointer(rebasing: pb[(j + 5)..<eb]))
                    }
                }
                if c != 0 { return c }
                i = ea; j = eb
            }
        }
        return (a.count - i) == (b.count - j) ? 0 : (a.count - i < b.count - j ? -1 : 1)
    }

    /// A 64-bit prefix of canonical key bytes that is monotone in the group key order:
    /// `compare(a, b) < 0` implies `orderPrefix(a) <= orderPrefix(b)`, so a sort by prefix
    /// needs the full comparison only among equal prefixes. The first field's tag byte, then
    /// the top 56 bits of its value made order-preserving as unsigned: int64/timestamp with the
    /// sign bit flipped, float64 by ``CanonicalFloat/orderKey(_:)`` likewise, bool as its
    /// byte, a string's first 7 bytes (zero padded, so a proper prefix ties and the full
    /// comparison puts it first). No fields or a null first field: the tag alone.
    static func orderPrefix(_ a: [UInt8]) -> UInt64 {
        guard let tag = a.first else { return 0 }
        let head = UInt64(tag) << 56
        switch tag {
        case FieldType.int64.rawValue, FieldType.timestamp.rawValue, FieldType.float64.rawValue:
            guard a.count >= 9 else { return head }
            let x = load(a, 1)
            let ordered = tag == FieldType.float64.rawValue ? UInt64(bitPattern: CanonicalFloat.orderKey(Double(bitPattern: x))) : x
            return head | (ordered ^ (1 << 63)) >> 8
        case FieldType.bool.rawValue:
            guard a.count >= 2 else { return head }
            return head | UInt64(a[1]) << 48
        case FieldType.string.rawValue:
            guard a.count >= 5 else { return head }
            let n = Int(truncatingIfNeeded: load32(a, 1))
            let end = Swift.min(a.count, 5 + Swift.min(n, 7))
            var v = head
            var shift: UInt64 = 48
            for k in 5..<max(5, end) { v |= UInt64(a[k]) << shift; shift &-= 8 }
            return v
        default:
            return head
        }
    }

    @inline(__always)
    static func load(_ a: [UInt8], _ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(a[at + k]) << UInt64(8 * k) }
        return v
    }

    @inline(__always)
    static func load32(_ a: [UInt8], _ at: Int) -> UInt32 {
        UInt32(a[at]) | UInt32(a[at + 1]) << 8 | UInt32(a[at + 2]) << 16 | UInt32(a[at + 3]) << 24
    }
}

/// A cell of a view: a window (nil for a view without windows) and a group key.
///
/// Thread safety: a value type.
public struct CellKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The window start (epoch ms), nil when the view has no window.
    public var windowStart: Int64?
    /// The group key.
    public var key: GroupKey

    /// Creates a cell key.
    public init(windowStart: Int64?, key: GroupKey) {
        self.windowStart = windowStart
        self.key = key
    }

    /// Window start (nil first), then group key.
    public static func < (a: CellKey, b: CellKey) -> Bool {
        if a.windowStart != b.windowStart {
            guard let x = a.windowStart else { return true }
            guard let y = b.windowStart else { return false }
            return x < y
        }
        return a.key < b.key
    }

    public var description: String { "[\(windowStart.map(String.init) ?? "-")] \(key)" }
}

/// One output row of a view: a cell with its final aggregate values and states.
///
/// Thread safety: a value type.
public struct ViewRow: Sendable, Hashable {
    /// Window start (epoch ms), nil for a view without windows.
    public var windowStart: Int64?
    /// Window end (exclusive; clamped to `Int64.max`), nil for a view without windows.
    public var windowEnd: Int64?
    /// The group values, in group-by order.
    public var key: [Value]
    /// The final value of each aggregate, in definition order (``AggregateState/result``).
    public var values: [Value]
    /// The state of each aggregate, in definition order.
    public var states: [AggregateState]

    /// Creates a row.
    public init(windowStart: Int64?, windowEnd: Int64?, key: [Value], values: [Value], states: [AggregateState]) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.key = key
        self.values = values
        self.states = states
    }
}

import LambdaStoreCore

/// A HyperLogLog sketch with precision 14: the state of `count_distinct` (DESIGN.md "Views",
/// format-spec.md §3b.4).
///
/// Each value is hashed with XXH64 (seed 0) over its canonical encoding (``DistinctHash``). The
/// top 14 bits of the hash pick one of 16,384 registers; the register keeps the largest
/// `rho` = 1 + the number of leading zeros of the remaining 50 bits (at most 51).
///
/// Representation: *sparse* (a sorted list of the non-zero registers, 4 bytes each) while at
/// most ``sparseEntriesMax`` registers are non-zero, *dense* (one byte per register) beyond.
/// The representation is a function of the register values, so two sketches with the same
/// registers are equal and encode to the same bytes whatever the insertion or merge order.
/// ``estimate`` uses Ertl's improved raw estimator ("New cardinality estimation algorithms for
/// HyperLogLog sketches", 2017), computed from the register histogram only: its relative
/// standard error is about 1.04/√16384 ≈ 0.81 % at every cardinality, with no bias tables.
///
/// Thread safety: a value type.
public struct HyperLogLog: Sendable, Hashable {
    /// Index bits.
    public static let precision = 14
    /// Number of registers (2^14).
    public static let registerCount = 1 << 14
    /// Largest register value: 64 − 14 + 1.
    public static let registerValueMax: UInt8 = 51
    /// Most non-zero registers the sparse form holds; one more and the sketch turns dense.
    public static let sparseEntriesMax = 2048
    /// Documented relative standard error of ``estimate`` (1.04/√m).
    public static let relativeStandardError = 1.04 / 128.0

    enum Storage: Sendable, Hashable {
        /// `(register << 8) | value`, strictly increasing register, value in 1...51.
        case sparse([UInt32])
        /// `registerCount` bytes.
        case dense([UInt8])
    }

    var storage: Storage

    /// An empty sketch (every register 0).
    public init() { storage = .sparse([]) }

    init(storage: Storage) { self.storage = storage }

    /// Whether the sketch is held in the sparse form.
    public var isSparse: Bool { if case .sparse = storage { true } else { false } }

    /// Register `i` (0 ..< 16,384).
    public func register(_ i: Int) -> UInt8 {
        switch storage {
        case .dense(let r): return r[i]
        case .sparse(let e):
            let at = Self.search(e, UInt32(i))
            return at.found ? UInt8(truncatingIfNeeded: e[at.index]) : 0
        }
    }

    /// The number of non-zero registers.
    /// - Complexity: O(1) sparse, O(registers) dense.
    public var nonZeroRegisterCount: Int {
        switch storage {
        case .sparse(let e): e.count
        case .dense(let r): r.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        }
    }

    @inline(__always)
    static func search(_ e: [UInt32], _ reg: UInt32) -> (found: Bool, index: Int) {
        var lo = 0, hi = e.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let r = e[mid] >> 8
            if r == reg { return (true, mid) }
            if r < reg { lo = mid + 1 } else { hi = mid }
        }
        return (false, lo)
    }

    /// Adds a value by its 64-bit hash (see ``DistinctHash``).
    /// - Complexity: O(1) dense; O(non-zero registers) sparse (bounded by ``sparseEntriesMax``).
    @inline(__always)
    public mutating func insert(hash: UInt64) {
        let reg = Int(hash >> UInt64(64 - Self.precision))
        let w = hash << UInt64(Self.precision)
        let rho = UInt8(Swift.min(w.leadingZeroBitCount, 64 - Self.precision) + 1)
        raise(register: reg, to: rho)
    }

    /// Sets register `i` to `max(register i, value)`; `value` in 1...51.
    public mutating func raise(register i: Int, to value: UInt8) {
        switch storage {
        case .dense(var r):
            if r[i] < value {
                storage = .sparse([])   // release the reference so `r` is uniquely owned
                r[i] = value
                storage = .dense(r)
            }
        case .sparse(var e):
            let at = Self.search(e, UInt32(i))
            if at.found {
                if UInt8(truncatingIfNeeded: e[at.index]) < value {
                    storage = .sparse([])
                    e[at.index] = (UInt32(i) << 8) | UInt32(value)
                    storage = .sparse(e)
                }
            } else {
                storage = .sparse([])
                e.insert((UInt32(i) << 8) | UInt32(value), at: at.index)
                if e.count > Self.sparseEntriesMax {
                    storage = .dense(Self.densify(e))
                } else {
                    storage = .sparse(e)
                }
            }
        }
    }

    static func densify(_ e: [UInt32]) -> [UInt8] {
        var r = [UInt8](repeating: 0, count: registerCount)
        for x in e { r[Int(x >> 8)] = UInt8(truncatingIfNeeded: x) }
        return r
    }

    /// Merges `other` into this sketch: register-wise maximum (the monoid merge).
    /// - Complexity: O(non-zero registers) when both are sparse, O(registers) otherwise.
    public mutating func merge(_ other: HyperLogLog) {
        switch (storage, other.storage) {
        case (.sparse(let a), .sparse(let b)):
            if b.isEmpty { return }
            if a.isEmpty { storage = other.storage; return }
            var out: [UInt32] = []
            out.reserveCapacity(a.count + b.count)
            var i = 0, j = 0
            while i < a.count && j < b.count {
                let ra = a[i] >> 8, rb = b[j] >> 8
                if ra == rb {
                    out.append(Swift.max(a[i], b[j]))   // same register: larger value wins
                    i += 1; j += 1
                } else if ra < rb {
                    out.append(a[i]); i += 1
                } else {
                    out.append(b[j]); j += 1
                }
            }
            out.append(contentsOf: a[i...])
            out.append(contentsOf: b[j...])
            storage = out.count > Self.sparseEntriesMax ? .dense(Self.densify(out)) : .sparse(out)
        case (.dense(var r), .sparse(let b)):
            storage = .sparse([])
            for x in b {
                let k = Int(x >> 8), v = UInt8(truncatingIfNeeded: x)
                if r[k] < v { r[k] = v }
            }
            storage = .dense(r)
        case (.sparse(let a), .dense(var r)):
            for x in a {
                let k = Int(x >> 8), v = UInt8(truncatingIfNeeded: x)
                if r[k] < v { r[k] = v }
            }
            storage = .dense(r)
        case (.dense(var r), .dense(let b)):
            storage = .sparse([])
            r.withUnsafeMutableBufferPointer { rp in
                b.withUnsafeBufferPointer { bp in
                    for k in 0..<rp.count where rp[k] < bp[k] { rp[k] = bp[k] }
                }
            }
            storage = .dense(r)
        }
    }

    /// The register histogram: `h[k]` = number of registers equal to `k`, k = 0...51.
    public var histogram: [Int] {
        var h = [Int](repeating: 0, count: Int(Self.registerValueMax) + 1)
        switch storage {
        case .sparse(let e):
            h[0] = Self.registerCount - e.count
            for x in e { h[Int(x & 0xFF)] += 1 }
        case .dense(let r):
            for v in r { h[Int(v)] += 1 }
        }
        return h
    }

    /// The cardinality estimate (Ertl's improved raw estimator), from the register histogram only.
    /// - Complexity: O(registers) dense, O(non-zero registers) sparse.
    public var estimate: Double {
        let c = histogram
        let m = Double(Self.registerCount)
        let q = 64 - Self.precision
        var z = m * Self.tau(1 - Double(c[q + 1]) / m)
        for k in stride(from: q, through: 1, by: -1) { z = 0.5 * (z + Double(c[k])) }
        z += m * Self.sigma(Double(c[0]) / m)
        let alphaInf = 0.5 / 0.693_147_180_559_945_309_417_232_121_458   // 1 / (2 ln 2)
        return alphaInf * m * m / z
    }

    /// ``estimate`` rounded to the nearest integer; `Int64.max` when it is not finite or too large.
    public var cardinality: Int64 {
        let e = estimate
        guard e.isFinite, e < 9.2e18 else { return Int64.max }
        return Int64(e.rounded())
    }

    static func sigma(_ x0: Double) -> Double {
        if x0 == 1 { return .infinity }
        var x = x0, y = 1.0, z = x0
        while true {
            x *= x
            let zPrev = z
            z += x * y
            y += y
            if z == zPrev { return z }
        }
    }

    static func tau(_ x0: Double) -> Double {
        if x0 == 0 || x0 == 1 { return 0 }
        var x = x0, y = 1.0, z = 1 - x0
        while true {
            x = x.squareRoot()
            let zPrev = z
            y *= 0.5
            z -= (1 - x) * (1 - x) * y
            if z == zPrev { return z / 3 }
        }
    }
}

/// The canonical value encoding hashed for `count_distinct` (format-spec.md §3b.4): the field
/// type code (`1 int64, 2 float64, 3 string, 4 bool, 5 timestamp`) followed by the value —
/// `i64` for int64/timestamp, the `f64` bits for float64 after mapping −0.0 to +0.0 and every NaN
/// to `0x7FF8000000000000`, one byte 0/1 for bool, the UTF-8 bytes for string — then XXH64 seed 0.
///
/// Thread safety: stateless.
public enum DistinctHash {
    /// The hash of an integer-backed value (`int64`, `timestamp`, or `bool` as 0/1).
    @inline(__always)
    public static func hash(int v: Int64, type: FieldType) -> UInt64 {
        if type == .bool {
            let b: (UInt8, UInt8) = (type.rawValue, v != 0 ? 1 : 0)
            return withUnsafeBytes(of: b) { hllHash64(UnsafeRawBufferPointer(rebasing: $0[0..<2])) }
        }
        return withUnsafeTemporaryAllocation(byteCount: 9, alignment: 1) { p in
            p[0] = type.rawValue
            p.storeBytes(of: UInt64(bitPattern: v).littleEndian, toByteOffset: 1, as: UInt64.self)
            return hllHash64(UnsafeRawBufferPointer(p))
        }
    }

    /// The hash of a `float64`.
    @inline(__always)
    public static func hash(double d: Double) -> UInt64 {
        hash(int: Int64(bitPattern: CanonicalFloat.canonical(d).bitPattern), type: .float64)
    }

    /// The hash of a string given by its UTF-8 bytes; `scratch` is reused between calls.
    public static func hash(utf8 bytes: UnsafeRawBufferPointer, scratch: inout [UInt8]) -> UInt64 {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(FieldType.string.rawValue)
        scratch.append(contentsOf: bytes)
        return scratch.withUnsafeBytes { hllHash64($0) }
    }

    /// The hash of a non-null ``Value``; nil for null.
    public static func hash(_ value: Value) -> UInt64? {
        switch value {
        case .null: return nil
        case .int64(let v): return hash(int: v, type: .int64)
        case .timestamp(let v): return hash(int: v, type: .timestamp)
        case .bool(let b): return hash(int: b ? 1 : 0, type: .bool)
        case .float64(let d): return hash(double: d)
        case .string(let s):
            var s = s
            var scratch: [UInt8] = []
            return s.withUTF8 { hash(utf8: UnsafeRawBufferPointer($0), scratch: &scratch) }
        }
    }
}

/// Float conventions shared by group keys, `min`/`max` and `count_distinct` (format-spec.md §3b.1).
///
/// Thread safety: stateless.
public enum CanonicalFloat {
    /// The one NaN bit pattern LambdaStore stores.
    public static let nanBits: UInt64 = 0x7FF8_0000_0000_0000

    /// `d` with every NaN mapped to the canonical NaN and −0.0 to +0.0 (for equality: grouping
    /// and `count_distinct`).
    @inline(__always)
    public static func canonical(_ d: Double) -> Double {
        if d.isNaN { return Double(bitPattern: nanBits) }
        return d == 0 ? 0 : d
    }

    /// `d` with every NaN mapped to the canonical NaN (−0.0 kept: `min`/`max` order it below +0.0).
    @inline(__always)
    public static func canonicalNaN(_ d: Double) -> Double {
        d.isNaN ? Double(bitPattern: nanBits) : d
    }

    /// A signed key whose integer order is the float order of LambdaStore:
    /// −∞ < … < −0.0 < +0.0 < … < +∞ < NaN (all NaNs equal).
    @inline(__always)
    public static func orderKey(_ d: Double) -> Int64 {
        if d.isNaN { return Int64.max }
        let b = Int64(bitPattern: d.bitPattern)
        return b < 0 ? b ^ Int64.max : b
    }
}

/// The HyperLogLog hash of a canonical value encoding: XXH64 with seed 0 (format-spec.md §3b).
@inline(__always)
func hllHash64(_ bytes: UnsafeRawBufferPointer) -> UInt64 { XXH64.hash(bytes, seed: 0) }

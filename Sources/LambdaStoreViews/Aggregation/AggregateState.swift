import LambdaStoreCore

/// What an aggregate slot computes, resolved from its function and input type: the key to
/// its state's identity, merge and result (DESIGN.md "Views", "Details"; format-spec.md §3b).
///
/// Thread safety: a value type.
public enum AggregateKind: Sendable, Hashable {
    /// `count`: rows, or the non-null values of a field.
    case count
    /// `sum` over `int64`.
    case sumInt
    /// `sum` over `float64`.
    case sumFloat
    /// `avg` over `int64`.
    case avgInt
    /// `avg` over `float64`.
    case avgFloat
    /// `min` over `int64`, `float64`, `timestamp` or `string`.
    case min(FieldType)
    /// `max` over `int64`, `float64`, `timestamp` or `string`.
    case max(FieldType)
    /// `count_distinct` (HyperLogLog, precision 14) over any type.
    case countDistinct

    /// Resolves a slot.
    /// - Throws: ``LambdaStoreError/Code/view`` naming the aggregate when the function does not
    ///   take the input type (or needs a field and has none). The definition side reports these
    ///   at `view create`.
    public init(_ slot: AggregateSlot) throws(LambdaStoreError) {
        let t = slot.fieldType
        if slot.function != .count {
            guard slot.fieldIndex != nil, t != nil else {
                throw LambdaStoreError(.view, "aggregate '\(slot.name)': \(slot.function.rawValue) needs a field")
            }
        } else if (slot.fieldIndex == nil) != (t == nil) {
            throw LambdaStoreError(.view, "aggregate '\(slot.name)': field index and type must be given together")
        }
        func bad() -> LambdaStoreError {
            LambdaStoreError(.view, "aggregate '\(slot.name)': \(slot.function.rawValue) does not take a \(t.map { "\($0)" } ?? "row") field")
        }
        switch slot.function {
        case .count: self = .count
        case .countDistinct: self = .countDistinct
        case .sum:
            switch t {
            case .int64: self = .sumInt
            case .float64: self = .sumFloat
            default: throw bad()
            }
        case .avg:
            switch t {
            case .int64: self = .avgInt
            case .float64: self = .avgFloat
            default: throw bad()
            }
        case .min, .max:
            guard let t, t != .bool else { throw bad() }
            self = slot.function == .min ? .min(t) : .max(t)
        }
    }

    /// The type of the aggregate's result ``Value``.
    public var resultType: FieldType {
        switch self {
        case .count, .sumInt, .countDistinct: .int64
        case .sumFloat, .avgInt, .avgFloat: .float64
        case .min(let t), .max(let t): t
        }
    }

    /// The monoid identity: the state of no rows.
    public var identity: AggregateState {
        switch self {
        case .count: .count(0)
        case .sumInt: .sumInt(IntSum())
        case .sumFloat: .sumFloat(ExactFloatSum())
        case .avgInt: .avgInt(IntSum())
        case .avgFloat: .avgFloat(ExactFloatSum())
        case .min(let t): .min(Extreme(type: t))
        case .max(let t): .max(Extreme(type: t))
        case .countDistinct: .countDistinct(HyperLogLog())
        }
    }
}

/// The exact state of `sum`/`avg` over `int64`: the sum as an `Int128` and the number of values.
///
/// `Int128` cannot overflow for fewer than 2⁶³ values; arithmetic wraps rather than traps, so
/// states decoded from hostile bytes never crash a merge. The `int64` result of a total beyond
/// the `Int64` range is *clamped* to `Int64.min`/`Int64.max` (documented in format-spec.md §3b.2).
///
/// Thread safety: a value type.
public struct IntSum: Sendable, Hashable {
    /// The exact sum of the values.
    public var sum: Int128
    /// The number of (non-null) values.
    public var count: Int64
    /// A sum of no values.
    public init(sum: Int128 = 0, count: Int64 = 0) {
        self.sum = sum
        self.count = count
    }
    /// Adds one value.
    @inline(__always)
    public mutating func add(_ v: Int64) {
        sum &+= Int128(v)
        count &+= 1
    }
    /// Adds every value of `other`.
    @inline(__always)
    public mutating func merge(_ other: IntSum) {
        sum &+= other.sum
        count &+= other.count
    }
}

/// The state of `min` or `max`: the extreme value seen so far of one input type, or none.
///
/// Orders: `int64`/`timestamp` numerically; `float64` by ``CanonicalFloat/orderKey(_:)``
/// (−∞ < … < −0.0 < +0.0 < … < +∞ < NaN, every NaN stored as the canonical NaN); `string` by
/// unsigned bytewise comparison of the UTF-8 (a proper prefix first). Equality is bitwise.
///
/// Thread safety: a value type.
public enum Extreme: Sendable, Hashable {
    /// An `int64` extreme.
    case int64(Int64?)
    /// A `timestamp` extreme.
    case timestamp(Int64?)
    /// A `float64` extreme (NaN canonical).
    case float64(Double?)
    /// A `string` extreme, as its UTF-8 bytes.
    case string([UInt8]?)

    /// No value yet, for input type `type` (`bool` is not orderable and maps to `int64`).
    public init(type: FieldType) {
        switch type {
        case .int64, .bool: self = .int64(nil)
        case .timestamp: self = .timestamp(nil)
        case .float64: self = .float64(nil)
        case .string: self = .string(nil)
        }
    }

    /// The input type.
    public var type: FieldType {
        switch self {
        case .int64: .int64
        case .timestamp: .timestamp
        case .float64: .float64
        case .string: .string
        }
    }

    /// Whether a value was seen.
    public var hasValue: Bool {
        switch self {
        case .int64(let v), .timestamp(let v): v != nil
        case .float64(let v): v != nil
        case .string(let v): v != nil
        }
    }

    /// The extreme as a ``Value`` (null when none).
    public var value: Value {
        switch self {
        case .int64(let v): v.map { .int64($0) } ?? .null
        case .timestamp(let v): v.map { .timestamp($0) } ?? .null
        case .float64(let v): v.map { .float64($0) } ?? .null
        case .string(let v): v.map { .string(String(decoding: $0, as: UTF8.self)) } ?? .null
        }
    }

    /// Keeps the smaller (`isMin`) or larger of this and `other` (same type).
    public mutating func combine(_ other: Extreme, isMin: Bool) {
        switch (self, other) {
        case (_, .int64(nil)), (_, .timestamp(nil)), (_, .float64(nil)), (_, .string(nil)): return
        case (.int64(let a), .int64(let b?)):
            if let a, isMin ? a <= b : a >= b { return }
            self = .int64(b)
        case (.timestamp(let a), .timestamp(let b?)):
            if let a, isMin ? a <= b : a >= b { return }
            self = .timestamp(b)
        case (.float64(let a), .float64(let b?)):
            if let a {
                let ka = CanonicalFloat.orderKey(a), kb = CanonicalFloat.orderKey(b)
                if isMin ? ka <= kb : ka >= kb { return }
            }
            self = .float64(CanonicalFloat.canonicalNaN(b))
        case (.string(let a), .string(let b?)):
            if let a {
                let c = LambdaStoreCore.compareBytes(a, b)
                if isMin ? c <= 0 : c >= 0 { return }
            }
            self = .string(b)
        default:
            preconditionFailure("min/max states of different types: \(self.type) and \(other.type)")
        }
    }


    public static func == (l: Extreme, r: Extreme) -> Bool {
        switch (l, r) {
        case (.int64(let a), .int64(let b)), (.timestamp(let a), .timestamp(let b)): a == b
        case (.float64(let a), .float64(let b)): a?.bitPattern == b?.bitPattern
        case (.string(let a), .string(let b)): a == b
        default: false
        }
    }

    public func hash(into h: inout Hasher) {
        h.combine(type)
        switch self {
        case .int64(let v), .timestamp(let v): h.combine(v)
        case .float64(let v): h.combine(v?.bitPattern)
        case .string(let v): h.combine(v)
        }
    }
}

/// The state of one aggregate over some rows: a monoid element (identity from
/// ``AggregateKind/identity``, ``merge(_:)`` associative and commutative), its final value
/// (``result``) and its binary encoding (format-spec.md §3b, in `AggregateState+Codec.swift`).
///
/// States are self-describing: two states merge only when they have the same ``kind``
/// (merging different kinds is a programming error and traps; a reader of stored states checks
/// ``kind`` against the view first).
///
/// Thread safety: a value type.
public enum AggregateState: Sendable, Hashable {
    /// `count`: the number of rows (or non-null values).
    case count(Int64)
    /// `sum` over `int64`.
    case sumInt(IntSum)
    /// `sum` over `float64`.
    case sumFloat(ExactFloatSum)
    /// `avg` over `int64`.
    case avgInt(IntSum)
    /// `avg` over `float64`.
    case avgFloat(ExactFloatSum)
    /// `min`.
    case min(Extreme)
    /// `max`.
    case max(Extreme)
    /// `count_distinct`.
    case countDistinct(HyperLogLog)

    /// The kind this state belongs to.
    public var kind: AggregateKind {
        switch self {
        case .count: .count
        case .sumInt: .sumInt
        case .sumFloat: .sumFloat
        case .avgInt: .avgInt
        case .avgFloat: .avgFloat
        case .min(let e): .min(e.type)
        case .max(let e): .max(e.type)
        case .countDistinct: .countDistinct
        }
    }

    /// Merges `other` (same ``kind``) into this state.
    /// - Complexity: O(1), except float sums (O(limbs)) and sketches (O(registers)).
    public mutating func merge(_ other: AggregateState) {
        switch (self, other) {
        case (.count(let a), .count(let b)): self = .count(a &+ b)
        case (.sumInt(var a), .sumInt(let b)): a.merge(b); self = .sumInt(a)
        case (.avgInt(var a), .avgInt(let b)): a.merge(b); self = .avgInt(a)
        case (.sumFloat(var a), .sumFloat(let b)): self = .count(0); a.merge(b); self = .sumFloat(a)
        case (.avgFloat(var a), .avgFloat(let b)): self = .count(0); a.merge(b); self = .avgFloat(a)
        case (.min(var a), .min(let b)) where a.type == b.type: self = .count(0); a.combine(b, isMin: true); self = .min(a)
        case (.max(var a), .max(let b)) where a.type == b.type: self = .count(0); a.combine(b, isMin: false); self = .max(a)
        case (.countDistinct(var a), .countDistinct(let b)): self = .count(0); a.merge(b); self = .countDistinct(a)
        default: preconditionFailure("merging aggregate states of different kinds: \(kind) and \(other.kind)")
        }
    }

    /// The final value (DESIGN.md "Details"): `count` → int64; `sum` → int64 (clamped to the
    /// Int64 range) or float64 (correctly rounded exact sum); `avg` → float64; `min`/`max` → the
    /// input type; `count_distinct` → int64 (rounded estimate). `sum`, `avg`, `min`, `max` are null
    /// over no values; `count` and `count_distinct` are 0.
    public var result: Value {
        switch self {
        case .count(let n): return .int64(n)
        case .sumInt(let s): return s.count == 0 ? .null : .int64(Int64(clamping: s.sum))
        case .sumFloat(let s): return s.count == 0 ? .null : .float64(s.sum)
        case .avgInt(let s): return s.count == 0 ? .null : .float64(Double(s.sum) / Double(s.count))
        case .avgFloat(let s): return s.count == 0 ? .null : .float64(s.sum / Double(s.count))
        case .min(let e), .max(let e): return e.value
        case .countDistinct(let h): return .int64(h.cardinality)
        }
    }
}

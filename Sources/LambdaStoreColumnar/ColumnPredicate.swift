import LambdaStoreCore

/// A condition on one column, used to skip row groups whose statistics exclude it
/// (format-spec.md §4.4 statistics).
///
/// Row semantics (what a row group is kept for):
/// - `equals(column, .null)` holds for null rows; `equals(column, v)` for non-null rows equal to
///   `v` (NaN equals nothing).
/// - `range(column, lower:, upper:)` holds for non-null rows with `lower <= value < upper`; a nil
///   (or `.null`) bound is unbounded.
///
/// Values compare numerically for `int64`, `timestamp` and `bool` columns (which accept
/// `.int64`, `.timestamp` and `.bool` values, a bool being 0 or 1) and for `float64` columns
/// (which accept `.float64` and `.int64`), and bytewise on UTF-8 for `string` and `bytes`
/// columns (which accept `.string`). A list of predicates is their conjunction.
///
/// Thread safety: a value type.
public struct ColumnPredicate: Sendable, Hashable {
    /// The condition on the column's values.
    public enum Condition: Sendable, Hashable {
        /// Equal to the value (`.null`: is null).
        case equals(Value)
        /// `lower <= value < upper`; nil bounds are open.
        case range(lower: Value?, upper: Value?)
    }

    /// The column name.
    public var column: String
    /// The condition.
    public var condition: Condition

    /// Creates a predicate.
    public init(column: String, _ condition: Condition) {
        self.column = column
        self.condition = condition
    }

    /// `column = value` (or `column IS NULL` for `.null`).
    public static func equals(_ column: String, _ value: Value) -> ColumnPredicate {
        ColumnPredicate(column: column, .equals(value))
    }

    /// `lower <= column < upper`.
    public static func range(_ column: String, lower: Value?, upper: Value?) -> ColumnPredicate {
        ColumnPredicate(column: column, .range(lower: lower, upper: upper))
    }
}

/// A predicate value in the comparison domain of a column.
enum PredicateKey {
    case int(Int64)
    case double(Double)
    case bytes([UInt8])

    /// Converts `value` for a column of `type`; nil for `.null`.
    init?(_ value: Value, for type: SnapshotType, column: String) throws(LambdaStoreError) {
        switch (type, value) {
        case (_, .null): return nil
        case (.int64, .int64(let v)), (.int64, .timestamp(let v)), (.timestamp, .int64(let v)), (.timestamp, .timestamp(let v)),
             (.bool, .int64(let v)), (.bool, .timestamp(let v)):
            self = .int(v)
        case (.int64, .bool(let b)), (.timestamp, .bool(let b)), (.bool, .bool(let b)):
            self = .int(b ? 1 : 0)
        case (.float64, .float64(let d)):
            self = .double(d)
        case (.float64, .int64(let v)):
            self = .double(Double(v))
        case (.string, .string(let s)), (.bytes, .string(let s)):
            self = .bytes(Array(s.utf8))
        default:
            throw LambdaStoreError(.invalidArgument, "predicate value \(value) does not compare with \(type) column '\(column)'")
        }
    }

    /// -1, 0, 1 comparing `self` with a bound of matching kind; nil when unordered (NaN) or the
    /// kinds differ.
    func compare(to bounds: SnapshotStatistics.Bounds, lower: Bool) -> Int? {
        switch (self, bounds) {
        case (.int(let v), .ints(let lo, let hi)):
            let b = lower ? lo : hi
            return v < b ? -1 : (v == b ? 0 : 1)
        case (.double(let v), .doubles(let lo, let hi)):
            let b = lower ? lo : hi
            if v.isNaN { return nil }
            return v < b ? -1 : (v == b ? 0 : 1)
        case (.bytes(let v), .bytes(let lo, let hi, _, _)):
            return compareBytes(v, lower ? lo : hi)
        default:
            return nil
        }
    }

    var isNaN: Bool { if case .double(let d) = self { d.isNaN } else { false } }
}

extension SnapshotReader {
    /// The indexes of the row groups that may hold rows satisfying every predicate, in file
    /// order: a row group is skipped only when its statistics prove that no row matches (all
    /// rows null, or bounds outside the condition).
    /// - Throws: ``LambdaStoreError/Code/notFound`` for an unknown column,
    ///   ``LambdaStoreError/Code/invalidArgument`` for a value of the wrong type.
    /// - Complexity: O(row groups × predicates); no I/O.
    public func rowGroups(where predicates: [ColumnPredicate]) throws(LambdaStoreError) -> [Int] {
        var resolved: [(column: Int, condition: ResolvedCondition)] = []
        for p in predicates {
            guard let c = columnIndex(named: p.column) else {
                throw LambdaStoreError(.notFound, "snapshot has no column '\(p.column)'", path: path)
            }
            resolved.append((c, try ResolvedCondition(p.condition, type: columns[c].type, column: p.column)))
        }
        return rowGroups.indices.filter { g in
            resolved.allSatisfy { r in r.condition.mayMatch(rowGroups[g].chunks[r.column].statistics, rows: rowGroups[g].rowCount) }
        }
    }
}

/// A condition with its values converted to the column's comparison domain.
enum ResolvedCondition {
    case isNull
    case equals(PredicateKey)
    case range(lower: PredicateKey?, upper: PredicateKey?)

    init(_ condition: ColumnPredicate.Condition, type: SnapshotType, column: String) throws(LambdaStoreError) {
        switch condition {
        case .equals(let v):
            if let k = try PredicateKey(v, for: type, column: column) { self = .equals(k) } else { self = .isNull }
        case .range(let lo, let hi):
            self = .range(lower: try lo.flatMap { v throws(LambdaStoreError) in try PredicateKey(v, for: type, column: column) },
                          upper: try hi.flatMap { v throws(LambdaStoreError) in try PredicateKey(v, for: type, column: column) })
        }
    }

    /// Whether a chunk with these statistics may hold a matching row.
    func mayMatch(_ s: SnapshotStatistics, rows: Int) -> Bool {
        if case .isNull = self { return s.nullCount > 0 }
        guard s.nullCount < rows else { return false }  // no non-null value at all
        switch self {
        case .isNull:
            return s.nullCount > 0
        case .equals(let k):
            if k.isNaN { return false }
            guard let b = s.bounds else { return true }
            guard let lo = k.compare(to: b, lower: true), let hi = k.compare(to: b, lower: false) else { return true }
            return lo >= 0 && hi <= 0
        case .range(let lower, let upper):
            if lower?.isNaN == true || upper?.isNaN == true { return false }
            if let lower, let upper, let c = Self.order(lower, upper), c >= 0 { return false }  // empty range
            guard let b = s.bounds else { return true }
            if let upper, let c = upper.compare(to: b, lower: true), c <= 0 { return false }  // min >= upper
            if let lower, let c = lower.compare(to: b, lower: false), c > 0 { return false }  // max < lower
            return true
        }
    }

    static func order(_ a: PredicateKey, _ b: PredicateKey) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.double(let x), .double(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.bytes(let x), .bytes(let y)): return compareBytes(x, y)
        default: return nil
        }
    }
}

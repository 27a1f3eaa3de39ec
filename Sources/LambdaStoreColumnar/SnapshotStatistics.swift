import LambdaStoreCore

/// The statistics of one column chunk (format-spec.md §4.4): its null count and, when the chunk
/// has a non-null value to describe, bounds on its non-null values.
///
/// Bounds compare numerically for `int64`, `timestamp`, `bool` (0/1) and `float64` (NaN is
/// never a bound: NaN values are left out), and bytewise (unsigned, shorter prefix first) for
/// `string`. `bytes` columns carry no bounds. A string bound longer than
/// ``SnapshotFormat/statisticBytesMax`` is stored cut: the minimum as a prefix (still `<=` every
/// value), the maximum as a prefix with its last byte incremented (still `>=` every value); the
/// `…IsExact` flags say which.
///
/// Thread safety: a value type.
public struct SnapshotStatistics: Sendable, Hashable {
    /// Bounds on the non-null values of a chunk; inclusive.
    public enum Bounds: Sendable, Hashable {
        /// `int64`, `timestamp`, `bool`.
        case ints(min: Int64, max: Int64)
        /// `float64`, neither bound NaN.
        case doubles(min: Double, max: Double)
        /// `string`, compared bytewise.
        case bytes(min: [UInt8], max: [UInt8], minIsExact: Bool, maxIsExact: Bool)
    }

    /// The number of null rows.
    public var nullCount: Int
    /// Bounds on the non-null values, or nil when there are none (every row null, every value
    /// NaN, a `bytes` column, or a string maximum that cannot be bounded).
    public var bounds: Bounds?

    /// Creates statistics.
    public init(nullCount: Int, bounds: Bounds?) {
        self.nullCount = nullCount
        self.bounds = bounds
    }

    /// The lower bound as a value of `type` (strings decoded leniently), or nil.
    public func min(as type: SnapshotType) -> Value? { value(lower: true, type) }

    /// The upper bound as a value of `type` (strings decoded leniently), or nil.
    public func max(as type: SnapshotType) -> Value? { value(lower: false, type) }

    private func value(lower: Bool, _ type: SnapshotType) -> Value? {
        switch bounds {
        case .none: return nil
        case .ints(let lo, let hi)?:
            let v = lower ? lo : hi
            switch type {
            case .timestamp: return .timestamp(v)
            case .bool: return .bool(v != 0)
            default: return .int64(v)
            }
        case .doubles(let lo, let hi)?: return .float64(lower ? lo : hi)
        case .bytes(let lo, let hi, _, _)?: return .string(String(decoding: lower ? lo : hi, as: UTF8.self))
        }
    }
}

extension SnapshotStatistics.Bounds {
    /// Bounds for string values `min`/`max` (exact), cut to ``SnapshotFormat/statisticBytesMax``
    /// bytes; nil when the maximum cannot be bounded by a short string (all `0xFF`).
    static func strings(min: UnsafeRawBufferPointer, max: UnsafeRawBufferPointer) -> Self? {
        let limit = SnapshotFormat.statisticBytesMax
        var lo = [UInt8](min)
        var minExact = true
        if lo.count > limit {
            var cut = limit
            while cut > 0, lo[cut] & 0xC0 == 0x80 { cut -= 1 }  // keep whole UTF-8 characters
            lo.removeSubrange(cut...)
            minExact = false
        }
        var hi = [UInt8](max)
        var maxExact = true
        if hi.count > limit {
            hi.removeSubrange(limit...)
            while let last = hi.last, last == 0xFF { hi.removeLast() }
            guard let last = hi.last else { return nil }
            hi[hi.count - 1] = last + 1
            maxExact = false
        }
        return .bytes(min: lo, max: hi, minIsExact: minExact, maxIsExact: maxExact)
    }
}

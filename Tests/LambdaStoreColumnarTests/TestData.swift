import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

/// Builds columns row by row from `Value`s / raw bytes, and compares columns row by row: the
/// independent reference the snapshot round trips are checked against.
enum TestData {
    /// How values are shaped, to steer (or exercise) each encoding.
    enum Shape: String, CaseIterable, Sendable {
        case random, runs, sortedSteps, smallRange, fewDistinct, constant
    }

    /// A column of `rows` values of `type` shaped by `shape`, with about `nullPercent`% nulls.
    static func column(_ type: SnapshotType, rows: Int, shape: Shape, nullPercent: Int, rng: inout SplitMix64) -> Column {
        var c = Column(type: type.storage)
        var run = 0
        var current: UInt64 = rng.next()
        var step: Int64 = Int64(bitPattern: rng.next() >> 40)
        let pool = (0..<7).map { _ in rng.next() }
        for i in 0..<rows {
            // The underlying raw value for this row.
            let raw: UInt64
            switch shape {
            case .random: raw = rng.next()
            case .runs:
                if run == 0 { current = rng.next(); run = 1 + Int(rng.next() % 40) }
                run -= 1
                raw = current
            case .sortedSteps:
                step &+= Int64(rng.next() % 1000)
                raw = UInt64(bitPattern: step)
            case .smallRange: raw = 1_000_000 + rng.next() % 5000
            case .fewDistinct: raw = pool[Int(rng.next() % UInt64(pool.count))]
            case .constant: raw = pool[0]
            }
            if nullPercent > 0, Int(rng.next() % 100) < nullPercent {
                c.appendNull()
                continue
            }
            switch type {
            case .int64, .timestamp: c.append(int: Int64(bitPattern: raw))
            case .bool: c.append(int: Int64(raw & 1))
            case .float64:
                // Include awkward values: NaN, -0.0, infinities, subnormals.
                let special: [Double] = [.nan, -0.0, 0.0, .infinity, -.infinity, .leastNonzeroMagnitude, -1.5]
                c.append(double: shape == .random && i % 17 == 3 ? special[i % special.count] : Double(bitPattern: raw & 0x7FEF_FFFF_FFFF_FFFF) * (raw & 1 == 0 ? 1 : -1))
            case .string:
                let s = shape == .random ? "s\(raw)-\(i % 3 == 0 ? "héllo" : "")" : "m\(raw % 100_000)"
                c.append(string: s)
            case .bytes:
                var g = SplitMix64(seed: raw)
                let n = shape == .random ? Int(g.next() % 64) : 8 + Int(raw % 3)
                let b = (0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) }
                b.withUnsafeBytes { c.append(utf8: $0) }
            }
        }
        return c
    }

    /// The bytes of row `i` of a string column.
    static func bytes(_ c: Column, _ i: Int) -> [UInt8] { Array(c.utf8[Int(c.offsets[i])..<Int(c.offsets[i + 1])]) }

    /// A one-line difference between two columns, or nil when they hold the same rows (null
    /// flags; ints exactly; doubles by bit pattern; strings by bytes).
    static func difference(_ a: Column, _ b: Column) -> String? {
        guard a.type == b.type else { return "types \(a.type) vs \(b.type)" }
        guard a.count == b.count else { return "counts \(a.count) vs \(b.count)" }
        guard a.nullCount == b.nullCount else { return "null counts \(a.nullCount) vs \(b.nullCount)" }
        if b.nullCount == 0, !b.validity.isEmpty { return "validity present without nulls" }
        for i in 0..<a.count {
            guard a.isNull(i) == b.isNull(i) else { return "row \(i): null \(a.isNull(i)) vs \(b.isNull(i))" }
            if a.isNull(i) { continue }
            switch a.type {
            case .float64:
                if a.doubles[i].bitPattern != b.doubles[i].bitPattern { return "row \(i): \(a.doubles[i]) vs \(b.doubles[i])" }
            case .string:
                if bytes(a, i) != bytes(b, i) { return "row \(i): \(bytes(a, i).count) bytes vs \(bytes(b, i).count) bytes" }
            default:
                if a.ints[i] != b.ints[i] { return "row \(i): \(a.ints[i]) vs \(b.ints[i])" }
            }
        }
        return nil
    }

    /// Rows `range` of `c`, built row by row (independent of the library's slicing).
    static func slice(_ c: Column, _ range: Range<Int>) -> Column {
        var out = Column(type: c.type)
        for i in range { out.append(copyOf: c, row: i) }
        return out
    }

    /// Concatenation of columns, row by row.
    static func concat(_ parts: [Column], type: FieldType) -> Column {
        var out = Column(type: type)
        for p in parts { for i in 0..<p.count { out.append(copyOf: p, row: i) } }
        return out
    }

    /// The value of row `i` in a predicate's terms (`bytes` columns as lossless strings are not
    /// needed: predicates on them compare UTF-8, so use `.string` only on string columns).
    static func value(_ c: Column, _ i: Int, type: SnapshotType) -> Value {
        if c.isNull(i) { return .null }
        switch type {
        case .int64: return .int64(c.ints[i])
        case .timestamp: return .timestamp(c.ints[i])
        case .bool: return .bool(c.ints[i] != 0)
        case .float64: return .float64(c.doubles[i])
        case .string, .bytes: return .string(String(decoding: bytes(c, i), as: UTF8.self))
        }
    }
}

/// Byte surgery helpers.
extension Array where Element == UInt8 {
    /// A copy with byte `i` XORed with `mask`.
    func flipping(_ i: Int, _ mask: UInt8 = 0xFF) -> [UInt8] {
        var c = self
        c[i] ^= mask
        return c
    }
}

/// Whether `body` throws a ``LambdaStoreError``.
func throwsError(_ body: () throws(LambdaStoreError) -> Void) -> Bool {
    do { try body() } catch { return true }
    return false
}

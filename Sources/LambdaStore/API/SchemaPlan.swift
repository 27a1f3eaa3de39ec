#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import LambdaStoreCore

/// A stream schema prepared for writing by field name: the name → position map and each
/// field's type, nullability and default, built once per append or builder and reused for
/// every record.
final class SchemaPlan: Sendable {
    let schema: Schema
    let index: [String: Int]
    let types: [FieldType]
    let nullable: [Bool]
    let defaults: [Value?]
    /// The field names, in layout order.
    let names: [String]

    init(_ schema: Schema) {
        self.schema = schema
        var m: [String: Int] = [:]
        m.reserveCapacity(schema.fields.count)
        for (i, f) in schema.fields.enumerated() { m[f.name] = i }
        index = m
        types = schema.fields.map(\.type)
        nullable = schema.fields.map(\.nullable)
        defaults = schema.fields.map(\.defaultValue)
        names = schema.fields.map(\.name)
    }

    var fieldCount: Int { types.count }
    func name(_ i: Int) -> String { names[i] }

    /// The error for a key that is not a field of the schema.
    func unknownField(_ key: String) -> LambdaStoreError {
        LambdaStoreError(.schema, "field '\(key)': not a field of stream '\(schema.stream)' (fields: \(schema.fields.map(\.name).joined(separator: ", ")))")
    }

    /// The error for a value of the wrong Swift type for field `i`.
    func typeMismatch(_ i: Int, _ swiftType: String) -> LambdaStoreError {
        LambdaStoreError(.schema, "field '\(name(i))': a \(swiftType) cannot be stored in a \(types[i]) field")
    }

    /// The error for a null in a field that is not nullable.
    func notNullable(_ i: Int) -> LambdaStoreError {
        LambdaStoreError(.schema, "field '\(name(i))': null, but the field is not nullable")
    }

    /// The error for a record without a required field.
    func missing(_ i: Int) -> LambdaStoreError {
        LambdaStoreError(.schema, "missing field '\(name(i))' (not nullable and without a default)")
    }
}

/// Conversions shared by the typed writers and readers.
enum TypedValues {
    static let referenceOffsetMillis: Int64 = 978_307_200_000

    /// `date` as epoch milliseconds rounded toward −∞, or nil when outside
    /// `Timestamp.supportedRange` (or not finite).
    static func epochMillis(_ date: Date) -> Int64? {
        let ms = (date.timeIntervalSince1970 * 1000).rounded(.down)
        guard ms.isFinite, ms >= Double(Timestamp.supportedRange.lowerBound) - 1, ms <= Double(Timestamp.supportedRange.upperBound) + 1 else { return nil }
        var m = Int64(ms)
        // Floating-point rounding in the seconds → ms product may land one millisecond off:
        // settle on the largest m whose instant is not after `date`. The instant of m is
        // `Date(timeIntervalSince1970: Double(m) / 1000)`, which Foundation stores as that
        // minus the 1970→2001 interval; the comparison is written out on those doubles (the
        // same arithmetic, without two `Date` calls per value).
        let r = date.timeIntervalSinceReferenceDate
        func instant(_ m: Int64) -> Double { Double(m) / 1000 - Date.timeIntervalBetween1970AndReferenceDate }
        if instant(m + 1) <= r { m += 1 } else if instant(m) > r { m -= 1 }
        return Timestamp.supportedRange.contains(m) ? m : nil
    }

    /// The instant of `ms` epoch milliseconds.
    static func date(_ ms: Int64) -> Date {
        Date(timeIntervalSince1970: Double(ms) / 1000)
    }

    static func outOfRange(_ name: String, _ what: String) -> LambdaStoreError {
        LambdaStoreError(.schema, "field '\(name)': \(what) is outside the supported timestamp range" + Timestamp.outsideRangeReason)
    }
}

import LambdaStoreCore
import LambdaStoreViews

/// A length of time for view definitions (window sizes, slides, allowed lateness), held in
/// whole milliseconds as view files hold it (format-spec.md §3a.2).
///
/// ```swift
/// .hours(1)          // "1h"
/// .minutes(10)       // "10m"
/// .milliseconds(1500)
/// ```
///
/// A negative length is kept as is; `ViewDefinition/validate()` rejects it by key path, as
/// it rejects the same value in a view file. The factories trap when the length in
/// milliseconds overflows `Int64`, as integer arithmetic does.
///
/// Thread safety: a value type.
public struct ViewInterval: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The length in milliseconds.
    public var milliseconds: Int64

    /// A length of `milliseconds` ms.
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    static func scaled(_ n: Int64, _ unit: Int64, _ name: String) -> ViewInterval {
        let (v, o) = n.multipliedReportingOverflow(by: unit)
        precondition(!o, "\(n) \(name) overflows Int64 milliseconds")
        return ViewInterval(milliseconds: v)
    }

    /// `n` milliseconds.
    public static func milliseconds(_ n: Int64) -> ViewInterval { ViewInterval(milliseconds: n) }
    /// `n` seconds.
    public static func seconds(_ n: Int64) -> ViewInterval { scaled(n, 1_000, "seconds") }
    /// `n` minutes.
    public static func minutes(_ n: Int64) -> ViewInterval { scaled(n, 60_000, "minutes") }
    /// `n` hours.
    public static func hours(_ n: Int64) -> ViewInterval { scaled(n, 3_600_000, "hours") }
    /// `n` days (of 24 hours).
    public static func days(_ n: Int64) -> ViewInterval { scaled(n, 86_400_000, "days") }

    /// Orders by length.
    public static func < (a: ViewInterval, b: ViewInterval) -> Bool { a.milliseconds < b.milliseconds }

    /// The view-file form: the largest unit that divides it exactly (`"1h"`, `"1500ms"`).
    public var description: String {
        milliseconds < 0 ? "-" + ViewDuration.format(0 &- milliseconds) : ViewDuration.format(milliseconds)
    }
}

extension WindowSpec {
    /// Back-to-back windows of `size` over the timestamp field `field`:
    /// `.tumbling(field: "event_ts", size: .hours(1))`.
    public static func tumbling(field: String, size: ViewInterval) -> WindowSpec {
        .tumbling(field: field, size: size.milliseconds)
    }

    /// Windows of `size` starting every `slide` over the timestamp field `field`:
    /// `.hopping(field: "event_ts", size: .hours(1), slide: .minutes(15))`.
    public static func hopping(field: String, size: ViewInterval, slide: ViewInterval) -> WindowSpec {
        .hopping(field: field, size: size.milliseconds, slide: slide.milliseconds)
    }
}

extension AggregateSpec {
    /// The number of rows: `.count(as: "orders")`.
    public static func count(as name: String) -> AggregateSpec { AggregateSpec(name: name, function: .count) }
    /// The number of rows where `field` is not null: `.count("coupon", as: "with_coupon")`.
    public static func count(_ field: String, as name: String) -> AggregateSpec { AggregateSpec(name: name, function: .count, field: field) }
    /// The sum of `field`: `.sum("amount_cents", as: "revenue")`.
    public static func sum(_ field: String, as name: String) -> AggregateSpec { AggregateSpec(name: name, function: .sum, field: field) }
    /// The smallest value of `field`.
    public static func min(_ field: String, as name: String) -> AggregateSpec { AggregateSpec(name: name, function: .min, field: field) }
    /// The largest value of `field`.
    public static func max(_ field: String, as name: String) -> AggregateSpec { AggregateSpec(name: name, function: .max, field: field) }
    /// The mean of `field`.
    public static func avg(_ field: String, as name: String) -> AggregateSpec { AggregateSpec(name: name, function: .avg, field: field) }
    /// The approximate number of distinct values of `field`.
    public static func countDistinct(_ field: String, as name: String) -> AggregateSpec { AggregateSpec(name: name, function: .countDistinct, field: field) }
}

extension ViewDefinition {
    /// A definition built in Swift, validated as `parse(json:)` validates a view file; the
    /// result equals the parsed form of the same view and has the same `canonicalForm` and
    /// `fingerprint`.
    ///
    /// ```swift
    /// let view = try ViewDefinition(
    ///     name: "revenue_hourly", stream: "orders", filter: "status = 'completed'",
    ///     groupBy: ["merchant_id"], window: .tumbling(field: "event_ts", size: .hours(1)),
    ///     allowedLateness: .minutes(10),
    ///     aggregates: [.sum("amount_cents", as: "revenue"), .count(as: "orders")])
    /// ```
    /// - Throws: `LambdaStoreError/Code/view` naming the key path of the offending value,
    ///   exactly as `validate()` does (`window.slide: …`, `aggregates[1].name: …`).
    public init(name: String, stream: String, filter: String? = nil, groupBy: [String] = [], window: WindowSpec = .none,
                allowedLateness: ViewInterval, aggregates: [AggregateSpec], drift: DriftThresholds = DriftThresholds()) throws(LambdaStoreError) {
        self.init(name: name, stream: stream, filter: filter, groupBy: groupBy, window: window,
                  allowedLateness: allowedLateness.milliseconds, aggregates: aggregates, drift: drift)
        try validate()
    }

    /// This definition after `validate()`: for one made with the memberwise
    /// `init(name:stream:filter:groupBy:window:allowedLateness:aggregates:drift:)` that takes
    /// lateness in milliseconds and does not validate.
    /// - Throws: as `validate()`.
    public func validated() throws(LambdaStoreError) -> ViewDefinition {
        try validate()
        return self
    }

    /// The allowed lateness as a ``ViewInterval``.
    public var lateness: ViewInterval {
        get { ViewInterval(milliseconds: allowedLateness) }
        set { allowedLateness = newValue.milliseconds }
    }
}

import LambdaStoreCore

/// The event-time window of a view (DESIGN.md "Details"). Sizes and slides are milliseconds.
///
/// Windows are aligned to multiples of their size (tumbling) or slide (hopping) from epoch 0.
/// View-file form in format-spec.md §3a.1.
///
/// Thread safety: a value type.
public enum WindowSpec: Sendable, Hashable {
    /// No window: one cell per group key, never closed, never late.
    case none
    /// Back-to-back windows `[k·size, (k+1)·size)` over the timestamp field `field`.
    case tumbling(field: String, size: Int64)
    /// Overlapping windows `[k·slide, k·slide + size)` over the timestamp field `field`.
    case hopping(field: String, size: Int64, slide: Int64)

    /// The timestamp field, or nil for ``none``.
    public var field: String? {
        switch self {
        case .none: nil
        case .tumbling(let f, _), .hopping(let f, _, _): f
        }
    }

    /// The ``WindowKind`` of the ``ViewLayout`` (the same sizes, without the field name).
    public var kind: WindowKind {
        switch self {
        case .none: .none
        case .tumbling(_, let size): .tumbling(size: size)
        case .hopping(_, let size, let slide): .hopping(size: size, slide: slide)
        }
    }
}

/// One named aggregate of a view: `{"name": "revenue", "fn": "sum", "field": "amount_cents"}`
/// (format-spec.md §3a.1).
///
/// Thread safety: a value type.
public struct AggregateSpec: Sendable, Hashable {
    /// The output column name.
    public var name: String
    /// The function.
    public var function: AggregateFunction
    /// The input field; nil only for `count` (count rows).
    public var field: String?

    /// Creates an aggregate.
    public init(name: String, function: AggregateFunction, field: String? = nil) {
        self.name = name
        self.function = function
        self.field = field
    }
}

/// The divergence rates above which a drift report is `warn` or `critical` (strictly above).
///
/// They change how a drift report is labelled, never a view's result, so they are not part of
/// the fingerprint.
///
/// Thread safety: a value type.
public struct DriftThresholds: Sendable, Hashable {
    /// `warn` when the divergence rate is above this (default 0.005).
    public var warn: Double
    /// `critical` when the divergence rate is above this (default 0.02).
    public var critical: Double

    /// The thresholds; the defaults are DESIGN.md's 0.5 % and 2 %.
    public init(warn: Double = 0.005, critical: Double = 0.02) {
        self.warn = warn
        self.critical = critical
    }
}

/// A view: the one transformation both the speed and the batch layer execute (DESIGN.md
/// "Views"), as read from a view file (format-spec.md §3a).
///
/// A definition is plain data. ``parse(json:)`` and ``validate()`` check everything that does
/// not need the stream's schema (names, durations, the filter's syntax, unique aggregate
/// names); ``CompiledView`` checks the rest against the schema. ``canonicalForm`` and
/// ``fingerprint`` identify what the view computes.
///
/// ```swift
/// let view = try ViewDefinition.parse(json: Array(#"{"name":"n","stream":"orders","aggregates":[{"name":"c","fn":"count"}]}"#.utf8))
/// print(view.fingerprint)   // 16 hex digits
/// ```
///
/// Thread safety: a value type.
public struct ViewDefinition: Sendable, Hashable {
    /// The view name (a store-wide name: `[A-Za-z0-9_.-]`, 1–255 bytes, not starting with `.`).
    public var name: String
    /// The stream it reads.
    public var stream: String
    /// The filter source text (format-spec.md §3a "Filter grammar"), or nil: every row.
    public var filter: String?
    /// Group-by fields, in order.
    public var groupBy: [String]
    /// The event-time window.
    public var window: WindowSpec
    /// Allowed lateness in milliseconds (≥ 0).
    public var allowedLateness: Int64
    /// The aggregates, in output order.
    public var aggregates: [AggregateSpec]
    /// Drift alert thresholds.
    public var drift: DriftThresholds

    /// Most windows one event may fall in under a hopping window (`ceil(size / slide)`): bounds
    /// the per-event work of the aggregation side.
    public static let hoppingWindowsPerEventMax: Int64 = 1024

    /// Output column names a view already uses for itself (query rows, DESIGN.md command table).
    public static let reservedColumnNames: Set<String> = ["window_start", "window_end", "source"]

    /// Creates a definition; call ``validate()`` before trusting it.
    public init(name: String, stream: String, filter: String? = nil, groupBy: [String] = [], window: WindowSpec = .none,
                allowedLateness: Int64 = 0, aggregates: [AggregateSpec], drift: DriftThresholds = DriftThresholds()) {
        self.name = name
        self.stream = stream
        self.filter = filter
        self.groupBy = groupBy
        self.window = window
        self.allowedLateness = allowedLateness
        self.aggregates = aggregates
        self.drift = drift
    }

    /// Checks everything that does not need the schema (format-spec.md §3a.1): names, window sizes, lateness, at
    /// least one aggregate, unique output names, each function's field presence, drift
    /// thresholds, and the filter's syntax.
    ///
    /// - Throws: ``LambdaStoreError/Code/view`` whose message starts with the key path of
    ///   the offending value (`window.slide: …`, `aggregates[1].name: …`, `filter: position 7: …`).
    public func validate() throws(LambdaStoreError) {
        try Self.checkName(name, "name")
        try Self.checkName(stream, "stream")
        if let filter { _ = try FilterExpression.parse(filter) }
        guard groupBy.count <= Limits.fieldsMax else {
            throw Self.error("groupBy", "has \(groupBy.count) fields (max \(Limits.fieldsMax))")
        }
        var columns = Set<String>()
        for (k, g) in groupBy.enumerated() {
            try Self.checkName(g, "groupBy[\(k)]")
            guard !Self.reservedColumnNames.contains(g) else { throw Self.error("groupBy[\(k)]", "'\(g)' is a reserved output column name") }
            guard columns.insert(g).inserted else { throw Self.error("groupBy[\(k)]", "field '\(g)' is listed twice") }
        }
        switch window {
        case .none: break
        case .tumbling(let field, let size):
            try Self.checkName(field, "window.field")
            guard size > 0 else { throw Self.error("window.size", "must be greater than 0, got \(size)ms") }
        case .hopping(let field, let size, let slide):
            try Self.checkName(field, "window.field")
            guard size > 0 else { throw Self.error("window.size", "must be greater than 0, got \(size)ms") }
            guard slide > 0 else { throw Self.error("window.slide", "must be greater than 0, got \(slide)ms") }
            guard slide <= size else { throw Self.error("window.slide", "\(slide)ms is larger than the size \(size)ms") }
            let perEvent = size / slide + (size % slide == 0 ? 0 : 1)
            guard perEvent <= Self.hoppingWindowsPerEventMax else {
                throw Self.error("window.slide", "each event would fall in \(perEvent) windows (max \(Self.hoppingWindowsPerEventMax))")
            }
        }
        guard allowedLateness >= 0 else { throw Self.error("allowedLateness", "must not be negative, got \(allowedLateness)ms") }
        guard !aggregates.isEmpty else { throw Self.error("aggregates", "at least one aggregate is required") }
        guard aggregates.count <= Limits.fieldsMax else {
            throw Self.error("aggregates", "has \(aggregates.count) entries (max \(Limits.fieldsMax))")
        }
        for (k, a) in aggregates.enumerated() {
            let path = "aggregates[\(k)]"
            try Self.checkName(a.name, path + ".name")
            guard !Self.reservedColumnNames.contains(a.name) else {
                throw Self.error(path + ".name", "'\(a.name)' is a reserved output column name")
            }
            guard columns.insert(a.name).inserted else {
                throw Self.error(path + ".name", "duplicate output name '\(a.name)' (aggregate names must differ from each other and from the groupBy fields)")
            }
            if let f = a.field {
                try Self.checkName(f, path + ".field")
            } else if a.function != .count {
                throw Self.error(path + ".field", "aggregate '\(a.name)': \(a.function.rawValue) needs a field")
            }
        }
        guard drift.warn.isFinite, drift.warn >= 0 else { throw Self.error("drift.warn", "must be a finite number ≥ 0, got \(drift.warn)") }
        guard drift.critical.isFinite, drift.critical >= 0 else {
            throw Self.error("drift.critical", "must be a finite number ≥ 0, got \(drift.critical)")
        }
        guard drift.warn <= drift.critical else {
            throw Self.error("drift.warn", "\(drift.warn) is above drift.critical \(drift.critical)")
        }
    }

    static func error(_ path: String, _ message: String) -> LambdaStoreError {
        LambdaStoreError(.view, path + ": " + message)
    }

    static func checkName(_ name: String, _ path: String) throws(LambdaStoreError) {
        do {
            try Schema.validateName(name, what: "name")
        } catch {
            throw Self.error(path, error.message)
        }
    }
}

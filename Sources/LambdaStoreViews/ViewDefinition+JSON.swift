import LambdaStoreCore

/// View-file durations (format-spec.md §3a): a JSON integer of milliseconds, or a string of
/// decimal digits with an optional unit suffix `ms s m h d` (none = milliseconds).
///
/// Thread safety: stateless.
public enum ViewDuration {
    /// The units, longest suffix first so that `ms` is not read as `m`.
    static let units: [(suffix: String, millis: Int64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]

    /// Parses `"10m"`, `"1h"`, `"1500ms"` or `"250"` into milliseconds; nil when malformed or
    /// beyond `Int64`.
    /// - Complexity: O(length).
    public static func parse(_ text: String) -> Int64? {
        let u = Array(text.utf8)
        var end = u.count
        while end > 0, !(u[end - 1] >= 0x30 && u[end - 1] <= 0x39) { end -= 1 }
        guard end > 0, end <= 19 else { return nil }
        let suffix = String(decoding: u[end...], as: UTF8.self)
        let scale: Int64
        if suffix.isEmpty { scale = 1 } else if let unit = units.first(where: { $0.suffix == suffix }) { scale = unit.millis } else { return nil }
        var v: Int64 = 0
        for b in u[..<end] {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(b - 0x30))
            guard !o1, !o2 else { return nil }
            v = s
        }
        let (r, o) = v.multipliedReportingOverflow(by: scale)
        return o ? nil : r
    }

    /// The shortest exact rendering: the largest unit that divides `millis` (`3600000` →
    /// `"1h"`, `1500` → `"1500ms"`, `0` → `"0ms"`). ``parse(_:)`` reads it back exactly.
    public static func format(_ millis: Int64) -> String {
        for unit in units.reversed() where unit.millis > 1 && millis != 0 && millis % unit.millis == 0 {
            return String(millis / unit.millis) + unit.suffix
        }
        return String(millis) + "ms"
    }
}

extension ViewDefinition {
    /// Parses and validates a view file (format-spec.md §3a), e.g.
    /// `{"name":"revenue_hourly","stream":"orders","filter":"status = 'completed'","groupBy":["merchant_id"],
    /// "window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"10m",
    /// "aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"}]}`.
    ///
    /// Required keys: `name`, `stream`, `aggregates`. Optional: `filter` (string or null),
    /// `groupBy` (array of strings), `window` (object, or omitted / `{"type":"none"}`),
    /// `allowedLateness` (duration, default 0), `drift` (`{"warn", "critical"}`, defaults
    /// 0.005 and 0.02). Unknown keys are errors, so a misspelt key never silently changes a
    /// view.
    ///
    /// - Throws: ``LambdaStoreError/Code/view`` naming the key path and the offending value
    ///   (`allowedLateness: bad duration '10x'`, `aggregates[1].fn: unknown function 'summ'`,
    ///   `window: missing key 'size'`, `filter: position 8: …`); ``LambdaStoreError/Code/limitExceeded``
    ///   for a file beyond `Limits.metadataBytesMax`.
    /// - Complexity: O(bytes).
    public static func parse(json: [UInt8]) throws(LambdaStoreError) -> ViewDefinition {
        let root = try ViewJSON.parse(json)
        let top = try ViewObjectReader(root, path: "", allowed: ["name", "stream", "filter", "groupBy", "window", "allowedLateness", "aggregates", "drift"])
        let name = try top.requiredString("name")
        let stream = try top.requiredString("stream")
        var filter: String?
        switch top["filter"] {
        case nil, .null?: filter = nil
        case .string(let s)?: filter = s
        case let v?: throw error("filter", "expected a string, got \(v.kindName)")
        }
        var groupBy: [String] = []
        switch top["groupBy"] {
        case nil: break
        case .array(let items)?:
            for (k, item) in items.enumerated() {
                guard case .string(let s) = item else { throw error("groupBy[\(k)]", "expected a string, got \(item.kindName)") }
                groupBy.append(s)
            }
        case let v?: throw error("groupBy", "expected an array of field names, got \(v.kindName)")
        }
        let window = try parseWindow(top["window"])
        let lateness = try top["allowedLateness"].map { v throws(LambdaStoreError) in try duration(v, "allowedLateness") } ?? 0
        guard let aggValue = top["aggregates"] else { throw error("view file", "missing key 'aggregates'") }
        guard case .array(let aggItems) = aggValue else { throw error("aggregates", "expected an array, got \(aggValue.kindName)") }
        var aggregates: [AggregateSpec] = []
        for (k, item) in aggItems.enumerated() {
            let path = "aggregates[\(k)]"
            let o = try ViewObjectReader(item, path: path, allowed: ["name", "fn", "field"])
            let aName = try o.requiredString("name")
            let fnName = try o.requiredString("fn")
            guard let fn = AggregateFunction(rawValue: fnName) else {
                throw error(path + ".fn", "unknown function '\(fnName)' (expected one of \(AggregateFunction.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            aggregates.append(AggregateSpec(name: aName, function: fn, field: try o.optionalString("field")))
        }
        var drift = DriftThresholds()
        if let d = top["drift"] {
            let o = try ViewObjectReader(d, path: "drift", allowed: ["warn", "critical"])
            if let w = try o.optionalNumber("warn") { drift.warn = w }
            if let c = try o.optionalNumber("critical") { drift.critical = c }
        }
        let def = ViewDefinition(name: name, stream: stream, filter: filter, groupBy: groupBy, window: window,
                                 allowedLateness: lateness, aggregates: aggregates, drift: drift)
        try def.validate()
        return def
    }

    /// Parses a view file from a string; see ``parse(json:)``.
    /// - Throws: as ``parse(json:)``.
    public static func parse(json: String) throws(LambdaStoreError) -> ViewDefinition {
        try parse(json: Array(json.utf8))
    }

    static func parseWindow(_ value: ViewJSON?) throws(LambdaStoreError) -> WindowSpec {
        guard let value else { return .none }
        guard case .object = value else { throw error("window", "expected an object, got \(value.kindName)") }
        let probe = try ViewObjectReader(value, path: "window", allowed: ["type", "field", "size", "slide"])
        let type = try probe.requiredString("type")
        switch type {
        case "none":
            _ = try ViewObjectReader(value, path: "window", allowed: ["type"])
            return .none
        case "tumbling":
            let o = try ViewObjectReader(value, path: "window", allowed: ["type", "field", "size"])
            return .tumbling(field: try o.requiredString("field"), size: try duration(try o.required("size"), "window.size"))
        case "hopping":
            let o = try ViewObjectReader(value, path: "window", allowed: ["type", "field", "size", "slide"])
            return .hopping(field: try o.requiredString("field"), size: try duration(try o.required("size"), "window.size"),
                            slide: try duration(try o.required("slide"), "window.slide"))
        default:
            throw error("window.type", "unknown window type '\(type)' (expected none, tumbling or hopping)")
        }
    }

    static func duration(_ v: ViewJSON, _ path: String) throws(LambdaStoreError) -> Int64 {
        switch v {
        case .int(let ms):
            guard ms >= 0 else { throw error(path, "bad duration \(ms) (must not be negative)") }
            return ms
        case .string(let s):
            guard let ms = ViewDuration.parse(s) else {
                throw error(path, "bad duration '\(s)' (expected an integer with an optional suffix ms, s, m, h or d)")
            }
            return ms
        case .double(let d):
            throw error(path, "bad duration \(ViewJSON.formatDouble(d)) (expected an integer)")
        default:
            throw error(path, "expected a duration string or an integer of milliseconds, got \(v.kindName)")
        }
    }

    /// The view file for this definition: keys in the order `name, stream, filter, groupBy,
    /// window, allowedLateness, aggregates, drift`, durations in their shortest exact unit
    /// (`"1h"`), the filter as written. ``parse(json:)`` of the result returns an equal
    /// definition. Used by `view list` and to persist the definition.
    /// - Complexity: O(size of the definition).
    public func toJSON() -> String {
        var top: [(key: String, value: ViewJSON)] = [("name", .string(name)), ("stream", .string(stream))]
        if let filter { top.append(("filter", .string(filter))) }
        top.append(("groupBy", .array(groupBy.map { .string($0) })))
        switch window {
        case .none: top.append(("window", .object([("type", .string("none"))])))
        case .tumbling(let f, let size):
            top.append(("window", .object([("type", .string("tumbling")), ("field", .string(f)), ("size", .string(ViewDuration.format(size)))])))
        case .hopping(let f, let size, let slide):
            top.append(("window", .object([("type", .string("hopping")), ("field", .string(f)),
                                           ("size", .string(ViewDuration.format(size))), ("slide", .string(ViewDuration.format(slide)))])))
        }
        top.append(("allowedLateness", .string(ViewDuration.format(allowedLateness))))
        top.append(("aggregates", .array(aggregates.map { a in
            var m: [(key: String, value: ViewJSON)] = [("name", .string(a.name)), ("fn", .string(a.function.rawValue))]
            if let f = a.field { m.append(("field", .string(f))) }
            return .object(m)
        })))
        top.append(("drift", .object([("warn", .double(drift.warn)), ("critical", .double(drift.critical))])))
        return ViewJSON.object(top).serialized(sortedKeys: false)
    }
}

/// Reads the members of one JSON object, rejecting keys outside `allowed`.
struct ViewObjectReader {
    let members: [String: ViewJSON]
    let path: String

    init(_ value: ViewJSON, path: String, allowed: Set<String>) throws(LambdaStoreError) {
        let where_ = path.isEmpty ? "view file" : path
        guard case .object(let m) = value else { throw ViewDefinition.error(where_, "expected an object, got \(value.kindName)") }
        var d: [String: ViewJSON] = [:]
        for (k, v) in m {
            guard allowed.contains(k) else {
                throw ViewDefinition.error(where_, "unknown key '\(k)' (expected \(allowed.sorted().joined(separator: ", ")))")
            }
            d[k] = v
        }
        members = d
        self.path = path
    }

    subscript(_ key: String) -> ViewJSON? { members[key] }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func required(_ key: String) throws(LambdaStoreError) -> ViewJSON {
        guard let v = members[key] else { throw ViewDefinition.error(path.isEmpty ? "view file" : path, "missing key '\(key)'") }
        return v
    }

    func requiredString(_ key: String) throws(LambdaStoreError) -> String {
        let v = try required(key)
        guard case .string(let s) = v else { throw ViewDefinition.error(keyPath(key), "expected a string, got \(v.kindName)") }
        return s
    }

    func optionalString(_ key: String) throws(LambdaStoreError) -> String? {
        switch members[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let v?: throw ViewDefinition.error(keyPath(key), "expected a string, got \(v.kindName)")
        }
    }

    func optionalNumber(_ key: String) throws(LambdaStoreError) -> Double? {
        switch members[key] {
        case nil: return nil
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        case let v?: throw ViewDefinition.error(keyPath(key), "expected a number, got \(v.kindName)")
        }
    }
}

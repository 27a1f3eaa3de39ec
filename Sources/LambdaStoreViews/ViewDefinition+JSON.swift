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
    /// The JSON text is read by Core's strict parser (`JSONValue`: RFC 8259, UTF-8, no duplicate
    /// keys, nesting at most `JSONValue.nestingDepthMax`). Required keys: `name`, `stream`,
    /// `aggregates`. Optional: `filter` (string or null), `groupBy` (array of strings), `window`
    /// (object, or omitted / `{"type":"none"}`), `allowedLateness` (duration, default 0), `drift`
    /// (`{"warn", "critical"}`, defaults 0.005 and 0.02). Unknown keys are errors, so a misspelt
    /// key never silently changes a view.
    ///
    /// - Throws: ``LambdaStoreError/Code/view`` naming the key path and the offending value
    ///   (`allowedLateness: bad duration '10x'`, `aggregates[1].fn: unknown function 'summ'`,
    ///   `window: missing key 'size'`, `filter: position 8: …`), or for JSON syntax
    ///   `view file: line L, column C: reason`; ``LambdaStoreError/Code/limitExceeded`` for a
    ///   file beyond `Limits.metadataBytesMax`.
    /// - Complexity: O(bytes).
    public static func parse(json: [UInt8]) throws(LambdaStoreError) -> ViewDefinition {
        let root = try parseJSONText(json)
        let top = try ViewObjectReader(root, path: "", allowed: ["name", "stream", "filter", "groupBy", "window", "allowedLateness", "aggregates", "drift"])
        let name = try top.requiredString("name")
        let stream = try top.requiredString("stream")
        let filter = try top.optionalString("filter")
        var groupBy: [String] = []
        switch top["groupBy"] {
        case nil: break
        case .array(let items)?:
            for (k, item) in items.enumerated() {
                guard case .string(let s) = item else { throw error("groupBy[\(k)]", "expected a string, got \(item.viewKind)") }
                groupBy.append(s)
            }
        case let v?: throw error("groupBy", "expected an array of field names, got \(v.viewKind)")
        }
        let window = try parseWindow(top["window"])
        let lateness = try top["allowedLateness"].map { v throws(LambdaStoreError) in try duration(v, "allowedLateness") } ?? 0
        let aggValue = try top.required("aggregates")
        guard case .array(let aggItems) = aggValue else { throw error("aggregates", "expected an array, got \(aggValue.viewKind)") }
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

    /// The JSON value of a view file: the size limit, then Core's parser, its syntax errors
    /// reworded as `view file: line L, column C: reason` with code `view`.
    static func parseJSONText(_ json: [UInt8]) throws(LambdaStoreError) -> JSONValue {
        guard json.count <= Limits.metadataBytesMax else {
            throw LambdaStoreError(.limitExceeded, "view file is \(json.count) bytes (max \(Limits.metadataBytesMax))")
        }
        do {
            return try JSONValue.parse(json)
        } catch {
            guard let s = json.withUnsafeBytes({ JSONSyntaxError(error, in: $0) }) else {
                throw LambdaStoreError(.view, "view file: " + error.message)
            }
            throw Self.error("view file", "line \(s.line), column \(s.column): \(s.reason)")
        }
    }

    static func parseWindow(_ value: JSONValue?) throws(LambdaStoreError) -> WindowSpec {
        guard let value else { return .none }
        guard case .object = value else { throw error("window", "expected an object, got \(value.viewKind)") }
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

    /// A duration (format-spec.md §3a.2): a JSON integer of milliseconds or a duration string.
    /// A bad number is named by its text as written.
    static func duration(_ v: JSONValue, _ path: String) throws(LambdaStoreError) -> Int64 {
        switch v {
        case .number(let n):
            guard let ms = n.int64Value else {
                throw error(path, "bad duration \(n.text) (\(n.isInteger ? "beyond a signed 64-bit integer" : "expected an integer"))")
            }
            guard ms >= 0 else { throw error(path, "bad duration \(ms) (must not be negative)") }
            return ms
        case .string(let s):
            guard let ms = ViewDuration.parse(s) else {
                throw error(path, "bad duration '\(s)' (expected an integer with an optional suffix ms, s, m, h or d)")
            }
            return ms
        default:
            throw error(path, "expected a duration string or an integer of milliseconds, got \(v.viewKind)")
        }
    }

    /// The view file for this definition: keys in the order `name, stream, filter, groupBy,
    /// window, allowedLateness, aggregates, drift`, durations in their shortest exact unit
    /// (`"1h"`), the filter as written, drift thresholds in the ECMAScript number form
    /// (`0.005`, `1e-7`). ``parse(json:)`` of the result returns an equal definition. Used by
    /// `view list` and to persist the definition.
    /// - Complexity: O(size of the definition).
    public func toJSON() -> String {
        var top: [JSONMember] = [JSONMember("name", .string(name)), JSONMember("stream", .string(stream))]
        if let filter { top.append(JSONMember("filter", .string(filter))) }
        top.append(JSONMember("groupBy", .array(groupBy.map { .string($0) })))
        let windowValue: JSONValue
        switch window {
        case .none: windowValue = ["type": "none"]
        case .tumbling(let f, let size):
            windowValue = ["type": "tumbling", "field": .string(f), "size": .string(ViewDuration.format(size))]
        case .hopping(let f, let size, let slide):
            windowValue = ["type": "hopping", "field": .string(f), "size": .string(ViewDuration.format(size)),
                           "slide": .string(ViewDuration.format(slide))]
        }
        top.append(JSONMember("window", windowValue))
        top.append(JSONMember("allowedLateness", .string(ViewDuration.format(allowedLateness))))
        top.append(JSONMember("aggregates", .array(aggregates.map { a in
            var m: [JSONMember] = [JSONMember("name", .string(a.name)), JSONMember("fn", .string(a.function.rawValue))]
            if let f = a.field { m.append(JSONMember("field", .string(f))) }
            return .object(m)
        })))
        top.append(JSONMember("drift", ["warn": Self.threshold(drift.warn), "critical": Self.threshold(drift.critical)]))
        return JSONValue.object(top).serialized()
    }

    /// A drift threshold as written back: the ECMAScript form when finite (``validate()``
    /// guarantees that), else `null` (which ``parse(json:)`` rejects, as it should).
    static func threshold(_ d: Double) -> JSONValue {
        guard d.isFinite, let n = JSONNumber(ECMAScriptNumber.format(d)) else { return .null }
        return .number(n)
    }
}

extension JSONValue {
    /// What the value is, for view-file "expected X, got Y" messages: `null`, `a boolean`,
    /// `a number`, `a string`, `an array`, `an object`.
    var viewKind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Reads the members of one JSON object of a view file, rejecting keys outside `allowed`
/// (Core's parser has already rejected duplicate keys).
struct ViewObjectReader {
    let members: [JSONMember]
    let path: String

    init(_ value: JSONValue, path: String, allowed: Set<String>) throws(LambdaStoreError) {
        let where_ = path.isEmpty ? "view file" : path
        guard case .object(let m) = value else { throw ViewDefinition.error(where_, "expected an object, got \(value.viewKind)") }
        for member in m where !allowed.contains(member.key) {
            throw ViewDefinition.error(where_, "unknown key '\(member.key)' (expected \(allowed.sorted().joined(separator: ", ")))")
        }
        members = m
        self.path = path
    }

    /// The value of `key`, nil when absent. O(members), and a view-file object has at most 8.
    subscript(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func required(_ key: String) throws(LambdaStoreError) -> JSONValue {
        guard let v = self[key] else { throw ViewDefinition.error(path.isEmpty ? "view file" : path, "missing key '\(key)'") }
        return v
    }

    func requiredString(_ key: String) throws(LambdaStoreError) -> String {
        let v = try required(key)
        guard case .string(let s) = v else { throw ViewDefinition.error(keyPath(key), "expected a string, got \(v.viewKind)") }
        return s
    }

    func optionalString(_ key: String) throws(LambdaStoreError) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let v?: throw ViewDefinition.error(keyPath(key), "expected a string, got \(v.viewKind)")
        }
    }

    /// A number as the nearest `Double` (±infinity beyond its range, which ``ViewDefinition/validate()``
    /// rejects by key path).
    func optionalNumber(_ key: String) throws(LambdaStoreError) -> Double? {
        switch self[key] {
        case nil: return nil
        case .number(let n)?: return n.doubleValue
        case let v?: throw ViewDefinition.error(keyPath(key), "expected a number, got \(v.viewKind)")
        }
    }
}

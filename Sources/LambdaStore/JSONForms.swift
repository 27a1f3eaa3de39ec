import LambdaStoreCore
import LambdaStoreViews

extension JSONValue {
    /// An optional integer (nil → null).
    public static func int(_ v: Int64?) -> JSONValue { v.map { .int($0) } ?? .null }
}

extension DriftReport {
    /// The JSON form (DESIGN.md "Drift" names the keys).
    public var json: JSONValue {
        ([
            "view": .string(view),
            "cellsCompared": .int(cellsCompared),
            "cellsDiffering": .int(cellsDiffering),
            "divergenceRate": .double(divergenceRate),
            "relativeError": .object(relativeError.keys.sorted().map { JSONMember($0, .double(relativeError[$0] ?? 0)) }),
            "lateEvents": .int(lateEvents),
            "fingerprint": .string(fingerprint),
            "fromHorizon": .int(fromHorizon),
            "toHorizon": .int(toHorizon),
            "at": .int(at),
            "status": .string(status.rawValue),
            "differingWindows": .array(differingWindows.map { .int($0) }),
        ] as JSONValue)
    }

    /// Compact JSON text.
    public var jsonString: String { json.serialized() }

    /// Reads the JSON form back (as persisted in drift files and manifests).
    /// - Throws: `.corruption` naming the missing key.
    public init(json v: JSONValue, path: String?) throws(LambdaStoreError) {
        func need<T>(_ key: String, _ f: (JSONValue) -> T?) throws(LambdaStoreError) -> T {
            guard let x = v[key], let t = f(x) else { throw LambdaStoreError.corruption("drift report: missing or bad '\(key)'", path: path, offset: nil) }
            return t
        }
        view = try need("view") { $0.stringValue }
        cellsCompared = try need("cellsCompared") { $0.int64Value }
        cellsDiffering = try need("cellsDiffering") { $0.int64Value }
        divergenceRate = try need("divergenceRate") { $0.doubleValue }
        var re: [String: Double] = [:]
        for m in try need("relativeError", { $0.objectValue }) { re[m.key] = m.value.doubleValue ?? 0 }
        relativeError = re
        lateEvents = try need("lateEvents") { $0.int64Value }
        fingerprint = try need("fingerprint") { $0.stringValue }
        fromHorizon = try need("fromHorizon") { $0.int64Value }
        toHorizon = try need("toHorizon") { $0.int64Value }
        at = try need("at") { $0.int64Value }
        status = try need("status") { $0.stringValue.flatMap(DriftStatus.init(rawValue:)) }
        differingWindows = try need("differingWindows") { $0.arrayValue }.map { $0.int64Value }
    }
}

extension BatchSummary {
    /// The JSON form: `horizon`, `eventsScanned`, `seconds`, `eventsPerSecond`, `bytesWritten`,
    /// `drift` (DESIGN.md "Batch runs"), plus `view`, `windowsRecomputed`, `rows`, `fingerprint`.
    public var json: JSONValue {
        ([
            "view": .string(view),
            "horizon": .int(horizon),
            "eventsScanned": .int(eventsScanned),
            "seconds": .double(seconds),
            "eventsPerSecond": .double(eventsPerSecond),
            "bytesWritten": .int(bytesWritten),
            "windowsRecomputed": .int(windowsRecomputed),
            "rows": .int(rows),
            "fingerprint": .string(fingerprint),
            "drift": drift?.json ?? .null,
        ] as JSONValue)
    }
}

extension ViewInfo {
    /// The JSON form used by `view list` and `status`.
    public var json: JSONValue {
        ([
            "name": .string(definition.name),
            "stream": .string(definition.stream),
            "fingerprint": .string(fingerprint),
            "horizon": .int(horizon),
            "maxEventTime": .int(maxEventTime),
            "generation": .int(Int64(generation)),
            "publishedAt": .int(publishedAt),
            "definition": (try? JSONValue.parse(definition.toJSON())) ?? .null,
        ] as JSONValue)
    }
}

import LambdaStoreCore
import LambdaStoreViews

extension JSONValue {
    /// An optional integer (nil → null).
    package static func int(_ v: Int64?) -> JSONValue { v.map { .int($0) } ?? .null }
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

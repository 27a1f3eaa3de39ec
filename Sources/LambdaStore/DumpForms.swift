import LambdaStoreCore
import LambdaStoreLog

extension SegmentDump {
    /// `{"file", "formatVersion", "batches": [{"baseOffset", "count", "minEventTime",
    /// "maxEventTime", "schemaVersion", "codec", "bytes", "checksumOk"}]}` (DESIGN.md "Details"),
    /// plus the tail state and, with records, each batch's rows.
    public var json: JSONValue {
        .obj([
            "file": .string(file), "formatVersion": .int(Int64(formatVersion)), "baseOffset": .int(baseOffset),
            "fileBytes": .int(fileBytes), "validBytes": .int(validBytes), "tail": .string(tailDescription),
            "problem": problem.map { .string($0.description) } ?? .null,
            "batches": .array(batches.map { b in
                var m: [(String, JSONValue)] = [
                    ("baseOffset", .int(b.baseOffset)), ("count", .int(Int64(b.count))), ("minEventTime", .int(b.minEventTime)),
                    ("maxEventTime", .int(b.maxEventTime)), ("schemaVersion", .int(Int64(b.schemaVersion))),
                    ("codec", .string(b.codec.description)), ("bytes", .int(Int64(b.bytes))), ("position", .int(b.position)),
                    ("uncompressedBytes", .int(Int64(b.uncompressedBytes))), ("checksumOk", .bool(b.checksumOk)),
                ]
                if let rows = b.records { m.append(("records", .array(rows.map { .array($0.map { JSONValue($0) }) }))) }
                if let e = b.recordsError { m.append(("recordsError", .string(e))) }
                return .obj(m)
            }),
        ])
    }

    var tailDescription: String {
        switch tail {
        case .clean: "clean"
        case .trailingZeros(let n): "\(n) trailing zero bytes"
        case .incompleteHeader(let n): "incomplete batch header (\(n) bytes)"
        case .incompletePayload(let n): "incomplete batch payload (\(n) bytes)"
        }
    }

    /// A human-readable listing.
    public var text: String {
        var out = "segment \(file): format v\(formatVersion), base offset \(baseOffset), \(fileBytes) bytes (\(validBytes) valid), tail: \(tailDescription)\n"
        for b in batches {
            let t = b.minEventTime.map { "\(Timestamp.format($0)) … \(Timestamp.format(b.maxEventTime ?? $0))" } ?? "no event times"
            out += "  @\(b.position)  offsets \(b.baseOffset)…\(b.baseOffset + Int64(b.count) - 1)  \(b.count) records  \(t)  schema v\(b.schemaVersion)  \(b.codec)  \(b.bytes) bytes (\(b.uncompressedBytes) raw)  checksum \(b.checksumOk ? "ok" : "BAD")\n"
            for r in b.records ?? [] { out += "    " + r.map(\.description).joined(separator: ", ") + "\n" }
        }
        if let p = problem { out += "  problem: \(p)\n" }
        return out
    }
}

extension IndexDump {
    /// The JSON form of an index or time index dump.
    public var json: JSONValue {
        .obj([
            "file": .string(file), "kind": .string(kind), "formatVersion": .int(Int64(formatVersion)),
            "segmentBaseOffset": .int(segmentBaseOffset),
            "problem": problem.map { .string($0) } ?? .null, "problemOffset": .int(problemOffset),
            "entries": .array(entries.map { e in
                .obj([
                    "entryPosition": .int(e.entryPosition), "position": .int(e.position), "baseOffset": .int(e.baseOffset),
                    "count": .int(e.count.map(Int64.init)), "minEventTime": .int(e.minEventTime), "maxEventTime": .int(e.maxEventTime),
                    "schemaVersion": .int(e.schemaVersion.map(Int64.init)), "codec": e.codec.map { .string($0.description) } ?? .null,
                    "checksumOk": .bool(e.checksumOk),
                ])
            }),
        ])
    }

    /// A human-readable listing.
    public var text: String {
        var out = "\(kind) \(file): format v\(formatVersion), segment base offset \(segmentBaseOffset), \(entries.count) entries\n"
        for e in entries {
            out += "  @\(e.entryPosition)  → position \(e.position)  offset \(e.baseOffset.map(String.init) ?? "-")  count \(e.count.map(String.init) ?? "-")  time \(e.minEventTime.map(String.init) ?? "-")…\(e.maxEventTime.map(String.init) ?? "-")  checksum \(e.checksumOk ? "ok" : "BAD")\n"
        }
        if let p = problem { out += "  problem: \(p)" + (problemOffset.map { " @ \($0)" } ?? "") + "\n" }
        return out
    }
}

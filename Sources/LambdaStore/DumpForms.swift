import LambdaStoreCore
import LambdaStoreLog

extension SegmentDump {
    var tailDescription: String {
        switch tail {
        case .clean: "clean"
        case .trailingZeros(let n): "\(n) trailing zero bytes"
        case .incompleteHeader(let n): "incomplete batch header (\(n) bytes)"
        case .incompletePayload(let n): "incomplete batch payload (\(n) bytes)"
        }
    }

    /// A human-readable listing (the `lambdastore dump` text form).
    package var text: String {
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
    /// A human-readable listing (the `lambdastore dump` text form).
    package var text: String {
        var out = "\(kind) \(file): format v\(formatVersion), segment base offset \(segmentBaseOffset), \(entries.count) entries\n"
        for e in entries {
            out += "  @\(e.entryPosition)  → position \(e.position)  offset \(e.baseOffset.map(String.init) ?? "-")  count \(e.count.map(String.init) ?? "-")  time \(e.minEventTime.map(String.init) ?? "-")…\(e.maxEventTime.map(String.init) ?? "-")  checksum \(e.checksumOk ? "ok" : "BAD")\n"
        }
        if let p = problem { out += "  problem: \(p)" + (problemOffset.map { " @ \($0)" } ?? "") + "\n" }
        return out
    }
}

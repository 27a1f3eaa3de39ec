import LambdaStoreCore
import LambdaStoreLog

/// The result of ``Store/ingest(stream:format:durability:batchRows:read:onReject:)``: the
/// `--json` summary of `lambdastore ingest`.
public struct IngestSummary: Sendable, Equatable {
    /// Records appended.
    public var appended: Int64
    /// Lines rejected.
    public var rejected: Int64
    /// The offset of the first appended record, nil when nothing was appended.
    public var firstOffset: Int64?
    /// The offset of the last appended record (inclusive), nil when nothing was appended.
    public var lastOffset: Int64?

    /// `{"appended","rejected","firstOffset","lastOffset"}`.
    public var json: JSONValue {
        (["appended": .int(appended), "rejected": .int(rejected), "firstOffset": .int(firstOffset), "lastOffset": .int(lastOffset)] as JSONValue)
    }
}

extension Store {
    /// Reads JSON Lines or CSV text and appends every valid line to `stream` (DESIGN.md
    /// "Details": defaults, nulls, unknown fields, line numbers). A bad line is reported to
    /// `onReject` as `line N: reason` and skipped; it never appends a partial row. Lines are
    /// appended in batches of `batchRows`.
    ///
    /// - Parameter read: fills a buffer with the next bytes of input, returning 0 at the end.
    /// - Throws: `.notFound` for an unknown stream; I/O errors from `read` or the log (batches
    ///   appended before the error stay appended, each one whole).
    /// - Complexity: O(input bytes).
    public func ingest(stream: String, format: InputFormat, durability: Durability = .sync, batchRows: Int = 65_536,
                       read: (UnsafeMutableRawBufferPointer) throws(LambdaStoreError) -> Int,
                       onReject: (RejectedLine) -> Void) async throws(LambdaStoreError) -> IngestSummary {
        try requireWritable()
        let log = try streamLog(stream)
        var parser = try RecordParser(schema: log.latestSchema, format: format)
        var splitter = LineSplitter()
        var summary = IngestSummary(appended: 0, rejected: 0, firstOffset: nil, lastOffset: nil)
        var batch = parser.makeBatch(capacity: batchRows)
        var ready: [ColumnBatch] = []
        var chunk = [UInt8](repeating: 0, count: 4 << 20)
        func handle(_ event: LineSplitter.Event) {
            switch event {
            case .line(let bytes, let number):
                if let r = parser.parse(line: bytes, lineNumber: number, into: &batch) {
                    summary.rejected += 1
                    onReject(r)
                } else if batch.count >= batchRows {
                    ready.append(batch)
                    batch = parser.makeBatch(capacity: batchRows)
                }
            case .overlong(let r):
                summary.rejected += 1
                onReject(r)
            }
        }
        func flush() async throws(LambdaStoreError) {
            for b in ready where b.count > 0 {
                let r = try await append(b, to: stream, durability: durability)
                summary.appended += Int64(r.count)
                if summary.firstOffset == nil { summary.firstOffset = r.lowerBound }
                summary.lastOffset = r.upperBound - 1
            }
            ready.removeAll()
        }
        while true {
            let n = try typed { try chunk.withUnsafeMutableBytes { try read($0) } }
            if n == 0 { break }
            chunk.withUnsafeBytes { raw in splitter.feed(UnsafeRawBufferPointer(rebasing: raw[0..<n]), handle) }
            try await flush()
        }
        splitter.finish(handle)
        ready.append(batch)
        try await flush()
        return summary
    }
}

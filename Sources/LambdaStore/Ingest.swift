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
    /// The input line of the last appended record: a retry after a ``failure`` resumes after it.
    public var lastLine: Int?
    /// What stopped the ingest part-way (a full disk, a failed fdatasync, a read error), nil
    /// when every line was read. What was appended before it stays appended, batch by batch.
    public var failure: LambdaStoreError?

    /// Creates a summary.
    public init(appended: Int64, rejected: Int64, firstOffset: Int64?, lastOffset: Int64?, lastLine: Int? = nil, failure: LambdaStoreError? = nil) {
        self.appended = appended
        self.rejected = rejected
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
        self.lastLine = lastLine
        self.failure = failure
    }

    /// `{"appended","rejected","firstOffset","lastOffset"}`, plus `"lastLine"` and `"error"`
    /// when a failure stopped it part-way.
    public var json: JSONValue {
        guard let failure else {
            return (["appended": .int(appended), "rejected": .int(rejected), "firstOffset": .int(firstOffset), "lastOffset": .int(lastOffset)] as JSONValue)
        }
        return (["appended": .int(appended), "rejected": .int(rejected), "firstOffset": .int(firstOffset), "lastOffset": .int(lastOffset),
                 "lastLine": .int(lastLine.map { Int64($0) }), "error": .string(failure.description)] as JSONValue)
    }
}

extension Store {
    /// Reads JSON Lines or CSV text and appends every valid line to `stream` (DESIGN.md
    /// "Details": defaults, nulls, unknown fields, line numbers). A bad line is reported to
    /// `onReject` as `line N: reason` and skipped; it never appends a partial row. Lines are
    /// appended in batches of `batchRows`.
    ///
    /// - Parameters:
    ///   - stream: the stream to append to.
    ///   - format: JSON Lines or CSV.
    ///   - durability: the durability of every append.
    ///   - batchRows: the most lines appended in one batch.
    ///   - read: fills a buffer with the next bytes of input, returning 0 at the end.
    ///   - onReject: called with each rejected line.
    /// - Returns: the summary; when reading or appending failed part-way, with
    ///   ``IngestSummary/failure`` set and the counts, offsets and last input line of what was
    ///   stored before (batches appended before the error stay appended, each one whole), so a
    ///   retry can resume after ``IngestSummary/lastLine``.
    /// - Throws: `.notFound` for an unknown stream, `.precondition` for a read-only store.
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
        var batchLastLine: Int? = nil
        var ready: [(batch: ColumnBatch, lastLine: Int?)] = []
        var chunk = [UInt8](repeating: 0, count: 4 << 20)
        func handle(_ event: LineSplitter.Event) {
            switch event {
            case .line(let bytes, let number):
                if let r = parser.parse(line: bytes, lineNumber: number, into: &batch) {
                    summary.rejected += 1
                    onReject(r)
                } else {
                    batchLastLine = number
                    if batch.count >= batchRows {
                        ready.append((batch, batchLastLine))
                        batch = parser.makeBatch(capacity: batchRows)
                    }
                }
            case .overlong(let r):
                summary.rejected += 1
                onReject(r)
            }
        }
        func flush() async throws(LambdaStoreError) {
            for (b, line) in ready where b.count > 0 {
                let r = try await append(b, to: stream, durability: durability)
                summary.appended += Int64(r.count)
                if summary.firstOffset == nil { summary.firstOffset = r.lowerBound }
                summary.lastOffset = r.upperBound - 1
                summary.lastLine = line
            }
            ready.removeAll()
        }
        do throws(LambdaStoreError) {
            while true {
                let n = try typed { try chunk.withUnsafeMutableBytes { try read($0) } }
                if n == 0 { break }
                chunk.withUnsafeBytes { raw in splitter.feed(UnsafeRawBufferPointer(rebasing: raw[0..<n]), handle) }
                try await flush()
            }
            splitter.finish(handle)
            ready.append((batch, batchLastLine))
            try await flush()
        } catch {
            summary.failure = error
        }
        return summary
    }
}

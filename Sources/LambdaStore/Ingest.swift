import Dispatch
import LambdaStoreCore
import LambdaStoreLog

/// The result of ``Store/ingest(stream:format:durability:batchRows:parallelism:read:onReject:)``: the
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
    /// appended in batches of `batchRows`, in input order.
    ///
    /// Parsing runs on `parallelism` threads of its own (not the cooperative pool): the calling
    /// task splits the input into chunks of `batchRows` lines, worker threads parse chunks
    /// into batches, and the calling task appends the batches and reports rejections strictly
    /// in input order, so the log, the offsets and the reject messages are exactly those of a
    /// one-thread parse. A CSV header is read by the calling task before any chunk is handed
    /// out. At most `parallelism + 1` chunks (each at most 32 MiB or `batchRows` lines) are in
    /// memory at once.
    ///
    /// - Parameters:
    ///   - stream: the stream to append to.
    ///   - format: JSON Lines or CSV.
    ///   - durability: the durability of every append.
    ///   - batchRows: the most lines appended in one batch.
    ///   - parallelism: parse threads; default: the processor count. 1 parses on one worker
    ///     thread while the calling task reads and appends.
    ///   - read: fills a buffer with the next bytes of input, returning 0 at the end. Called on
    ///     the calling task only.
    ///   - onReject: called with each rejected line, on the calling task only, in line order.
    /// - Returns: the summary; when reading or appending failed part-way, with
    ///   ``IngestSummary/failure`` set and the counts, offsets and last input line of what was
    ///   stored before (batches appended before the error stay appended, each one whole), so a
    ///   retry can resume after ``IngestSummary/lastLine``.
    /// - Throws: `.notFound` for an unknown stream, `.precondition` for a read-only store.
    /// - Complexity: O(input bytes).
    public func ingest(stream: String, format: InputFormat, durability: Durability = .sync, batchRows: Int = 65_536,
                       parallelism: Int = Platform.processorCount,
                       read: (UnsafeMutableRawBufferPointer) throws(LambdaStoreError) -> Int,
                       onReject: (RejectedLine) -> Void) async throws(LambdaStoreError) -> IngestSummary {
        try requireWritable()
        let log = try streamLog(stream)
        var parser = try RecordParser(schema: log.latestSchema, format: format)
        let batchRows = max(1, batchRows)
        let workers = max(1, min(parallelism, 64))
        var splitter = LineSplitter()
        var summary = IngestSummary(appended: 0, rejected: 0, firstOffset: nil, lastOffset: nil)
        var chunk = IngestChunk()
        var spare: [IngestChunk] = []
        var inFlight: [Task<ParsedChunk, Never>] = []
        var input = [UInt8](repeating: 0, count: 4 << 20)

        /// Appends one parsed chunk (in order) and reports its rejections.
        func complete(_ parsed: ParsedChunk) async throws(LambdaStoreError) {
            for r in parsed.rejections {
                summary.rejected += 1
                onReject(r)
            }
            if parsed.batch.count > 0 {
                let r = try await append(parsed.batch, to: stream, durability: durability)
                summary.appended += Int64(r.count)
                if summary.firstOffset == nil { summary.firstOffset = r.lowerBound }
                summary.lastOffset = r.upperBound - 1
                summary.lastLine = parsed.lastLine
            }
        }
        /// Hands the current chunk to a worker (or, before a CSV header is settled, parses it
        /// here), then appends finished chunks while too many are in flight.
        func dispatch(final: Bool) async throws(LambdaStoreError) {
            if !chunk.lineNumbers.isEmpty || !chunk.overlong.isEmpty {
                var next = spare.popLast() ?? IngestChunk()
                next.reset()
                swap(&next, &chunk)
                if parser.headerIsSettled {
                    let proto = parser
                    let job = next
                    inFlight.append(Task {
                        await withCheckedContinuation { (c: CheckedContinuation<ParsedChunk, Never>) in
                            // Long CPU work on a thread of its own, never on the cooperative pool.
                            DispatchQueue.global(qos: .userInitiated).async {
                                var p = proto
                                c.resume(returning: ParsedChunk.parse(job, parser: &p))
                            }
                        }
                    })
                } else {
                    // The CSV header is not read yet: this chunk goes through `parser` itself,
                    // in order (nothing else is in flight before it).
                    let parsed = ParsedChunk.parse(next, parser: &parser)
                    spare.append(parsed.buffers)
                    try await complete(parsed)
                }
            }
            while inFlight.count > (final ? 0 : workers) {
                let parsed = await inFlight.removeFirst().value
                spare.append(parsed.buffers)
                try await complete(parsed)
            }
        }
        func handle(_ event: LineSplitter.Event) {
            switch event {
            case .line(let bytes, let number):
                chunk.add(line: bytes, number: number)
            case .overlong(let r):
                chunk.overlong.append(r)
            }
        }
        do throws(LambdaStoreError) {
            while true {
                let n = try typed { try input.withUnsafeMutableBytes { try read($0) } }
                if n == 0 { break }
                guard n > 0, n <= input.count else {
                    throw LambdaStoreError(.invalidArgument, "the read callback returned \(n) for a buffer of \(input.count) bytes")
                }
                var position = 0
                while position < n {
                    // Feed the splitter at most up to the line that completes this chunk.
                    let piece = input.withUnsafeBytes { raw -> Int in
                        let rest = UnsafeRawBufferPointer(rebasing: raw[position..<n])
                        let end = chunk.cutPoint(in: rest, batchRows: batchRows)
                        splitter.feed(UnsafeRawBufferPointer(rebasing: rest[0..<end]), handle)
                        return end
                    }
                    position += piece
                    if chunk.isFull(batchRows: batchRows) { try await dispatch(final: false) }
                }
            }
            splitter.finish(handle)
            try await dispatch(final: true)
        } catch {
            summary.failure = error
            // Let the workers finish before returning; their results are dropped.
            for t in inFlight { _ = await t.value }
        }
        return summary
    }
}

/// Complete lines for one parse job: each line's bytes followed by `\n` (a `\r` before the
/// newline already removed by the ``LineSplitter``), their input line numbers, and the
/// rejections of over-long lines among them (the splitter dropped their bytes).
struct IngestChunk: Sendable {
    static let bytesMax = 32 << 20
    var bytes: [UInt8] = []
    var lineNumbers: [Int] = []
    var overlong: [RejectedLine] = []

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        lineNumbers.removeAll(keepingCapacity: true)
        overlong.removeAll(keepingCapacity: true)
    }

    mutating func add(line: UnsafeRawBufferPointer, number: Int) {
        bytes.append(contentsOf: line)
        bytes.append(0x0A)
        lineNumbers.append(number)
    }

    func isFull(batchRows: Int) -> Bool {
        lineNumbers.count + overlong.count >= batchRows || bytes.count >= Self.bytesMax
    }

    /// How many bytes of `input` to feed so that the chunk gets at most the lines it still
    /// has room for: up to and including the newline that completes its last line, or all
    /// of `input` when fewer newlines follow.
    func cutPoint(in input: UnsafeRawBufferPointer, batchRows: Int) -> Int {
        guard input.count > 0 else { return 0 }
        var room = batchRows - lineNumbers.count - overlong.count
        var at = 0
        let n = input.count
        while room > 0, at < n {
            guard let nl = Platform.firstIndex(of: 0x0A, in: input, from: at) else { return n }
            at = nl + 1
            room -= 1
        }
        return room > 0 ? n : at
    }
}

/// A chunk parsed into one batch, its rejections in line order, and its buffers for reuse.
struct ParsedChunk: Sendable {
    var batch: ColumnBatch
    var rejections: [RejectedLine]
    /// The last line that appended a row or was blank (``IngestSummary/lastLine``).
    var lastLine: Int?
    var buffers: IngestChunk

    static func parse(_ chunk: IngestChunk, parser: inout RecordParser) -> ParsedChunk {
        var batch = parser.makeBatch(capacity: chunk.lineNumbers.count)
        var rejections: [RejectedLine] = []
        var lastLine: Int? = nil
        var k = 0   // next over-long rejection to merge in
        chunk.bytes.withUnsafeBytes { raw in
            guard raw.count > 0 else { return }
            let n = raw.count
            var start = 0
            for number in chunk.lineNumbers {
                let end = Platform.firstIndex(of: 0x0A, in: UnsafeRawBufferPointer(raw), from: start) ?? n
                while k < chunk.overlong.count, chunk.overlong[k].line < number {
                    rejections.append(chunk.overlong[k])
                    k += 1
                }
                if let r = parser.parse(line: UnsafeRawBufferPointer(rebasing: raw[start..<end]), lineNumber: number, into: &batch) {
                    rejections.append(r)
                } else {
                    lastLine = number
                }
                start = Swift.min(end + 1, n)
            }
        }
        rejections.append(contentsOf: chunk.overlong[k...])
        return ParsedChunk(batch: batch, rejections: rejections, lastLine: lastLine, buffers: chunk)
    }
}

extension Store {
    /// Parses `bytes` (JSON Lines or CSV with a header line, the rules of
    /// ``ingest(stream:format:durability:batchRows:parallelism:read:onReject:)`` and
    /// `lambdastore ingest`) into one batch of `stream`'s latest schema, without appending it:
    /// for a caller that appends all or nothing (an HTTP request body, a message), or
    /// inspects the records first.
    ///
    /// ```swift
    /// let (batch, rejected) = try store.parse(body, format: .jsonl, stream: "orders")
    /// if let first = rejected.first { throw first }          // "line 3: field 'amount_cents': …"
    /// try await store.append(batch, to: "orders")
    /// ```
    ///
    /// In memory and bounded by `bytes`: sync.
    /// - Returns: the records of the good lines, in order, and every bad line (numbered from
    ///   1, the reason naming the field); a line over `Limits.lineBytesMax` bytes is one of
    ///   them. A CSV header that does not match the schema is rejected with `isFatal` set,
    ///   and every line after it is rejected as unreadable, as `ingest` reports them.
    /// - Throws: `.notFound` for an unknown stream; `.precondition` after ``close()``.
    public func parse(_ bytes: UnsafeRawBufferPointer, format: InputFormat, stream: String) throws(LambdaStoreError) -> (batch: ColumnBatch, rejected: [RejectedLine]) {
        try requireOpen()
        var parser = try RecordParser(schema: try schema(of: stream), format: format)
        var batch = parser.makeBatch()
        var rejected: [RejectedLine] = []
        var splitter = LineSplitter()
        func handle(_ event: LineSplitter.Event) {
            switch event {
            case .line(let line, let number):
                if let r = parser.parse(line: line, lineNumber: number, into: &batch) { rejected.append(r) }
            case .overlong(let r):
                rejected.append(r)
            }
        }
        splitter.feed(bytes, handle)
        splitter.finish(handle)
        return (batch, rejected)
    }

    /// ``parse(_:format:stream:)`` of the bytes of an array, `Data` or any contiguous collection.
    public func parse(_ bytes: some Collection<UInt8>, format: InputFormat, stream: String) throws(LambdaStoreError) -> (batch: ColumnBatch, rejected: [RejectedLine]) {
        if let r = bytes.withContiguousStorageIfAvailable({ buf in
            Result { () throws(LambdaStoreError) in try parse(UnsafeRawBufferPointer(buf), format: format, stream: stream) }
        }) { return try r.get() }
        let copy = Array(bytes)
        let r = copy.withUnsafeBytes { b in
            Result { () throws(LambdaStoreError) in try parse(b, format: format, stream: stream) }
        }
        return try r.get()
    }
}

import Foundation
import Testing
@_spi(Internals) @testable import LambdaStore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreLog
import LambdaStoreTestSupport

/// `Store.ingest` parses on several threads and appends in order. Whatever the thread count,
/// batch size and read sizes, the log, the reject messages and the summary must be exactly
/// those of one `RecordParser` fed the whole input line by line (the reference below, written
/// without chunks, tasks or batches).
@Suite struct ParallelIngestTests {
    static let schema = Schema(stream: "orders", eventTime: "event_ts", fields: [
        Field(name: "event_ts", type: .timestamp),
        Field(name: "merchant_id", type: .string),
        Field(name: "amount_cents", type: .int64),
        Field(name: "channel", type: .string, nullable: true, defaultValue: .string("web")),
    ])

    /// The reference: split on `\n` (dropping one trailing `\r`, no line after a final
    /// newline), one parser, every line in order.
    static func reference(_ input: [UInt8], format: InputFormat) throws -> (rows: [[Value]], rejected: [String], lastAccepted: Int?) {
        var parser = try RecordParser(schema: schema, format: format)
        var batch = parser.makeBatch()
        var rejected: [String] = []
        var lastAccepted: Int? = nil
        var lines = input.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if input.last == 0x0A || input.isEmpty { lines.removeLast() }
        for (i, var line) in lines.enumerated() {
            if line.last == 0x0D { line.removeLast() }
            let before = batch.count
            if let r = line.withUnsafeBytes({ parser.parse(line: $0, lineNumber: i + 1, into: &batch) }) {
                rejected.append(r.description)
            } else if batch.count > before {
                lastAccepted = i + 1
            }
        }
        return ((0..<batch.count).map { r in batch.columns.map { $0.value(at: r) } }, rejected, lastAccepted)
    }

    /// A random input: good rows, bad rows, blank lines, CRLF, and for CSV a header (sometimes
    /// after blank lines, sometimes refused).
    static func randomInput(_ rng: inout SplitMix64, format: InputFormat, lines: Int) -> [UInt8] {
        var out: [String] = []
        if format == .csv {
            for _ in 0..<Int(rng.next() % 3) { out.append("") }
            out.append(rng.next() % 20 == 0 ? "event_ts,merchant_id,bogus" : "event_ts,merchant_id,amount_cents,channel")
        }
        for i in 0..<lines {
            let kind = rng.next() % 20
            let ts = 1_704_067_200_000 + Int64(i) * 1000
            let m = "m\(rng.next() % 7)"
            switch (format, kind) {
            case (_, 0): out.append("")
            case (_, 1): out.append("   ")
            case (.jsonl, 2): out.append(#"{"event_ts":\#(ts),"merchant_id":"\#(m)"}"#)           // missing amount
            case (.jsonl, 3): out.append(#"{"event_ts":"#)                                        // syntax
            case (.jsonl, 4): out.append(#"{"event_ts":\#(ts),"merchant_id":"\#(m)","amount_cents":\#(i),"channel":null}"# + "\r")
            case (.jsonl, _): out.append(#"{"event_ts":\#(ts),"merchant_id":"\#(m)","amount_cents":\#(i)}"#)
            case (.csv, 2): out.append("\(ts),\(m)")                                                 // too few cells
            case (.csv, 3): out.append("\(ts),\"\(m),1,x")                                            // unterminated quote
            case (.csv, 4): out.append("\(ts),\(m),\(i),app\r")
            case (.csv, _): out.append("\(ts),\"\(m)\",\(i),")
            }
        }
        var text = out.joined(separator: "\n")
        if rng.next() % 2 == 0 { text += "\n" }
        return Array(text.utf8)
    }

    @Test(arguments: [InputFormat.jsonl, .csv])
    func anyThreadCountBatchSizeAndReadSizeGivesTheOneParserResult(format: InputFormat) async throws {
        var rng = SplitMix64(seed: format == .csv ? 11 : 7)
        for round in 0..<24 {
            let input = Self.randomInput(&rng, format: format, lines: Int(rng.next() % 400))
            let expected = try Self.reference(input, format: format)
            let batchRows = [1, 2, 7, 64, 65_536][Int(rng.next() % 5)]
            let parallelism = 1 + Int(rng.next() % 4)
            let readMax = [1, 3, 50, 4096, 1 << 20][Int(rng.next() % 5)]
            let dir = makeTempDirectory()
            defer { removeTree(dir) }
            let store = try await Store.open(at: dir)
            defer { store.close() }
            try await store.applySchema(Self.schema)
            var at = 0
            var rejected: [String] = []
            let summary = try await store.ingest(stream: "orders", format: format, durability: .none, batchRows: batchRows, parallelism: parallelism, read: { buf in
                let n = min(buf.count, input.count - at, 1 + Int(UInt(bitPattern: at * 2_654_435_761) % UInt(readMax)))
                input.withUnsafeBytes { buf.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[at..<(at + n)])) }
                at += n
                return n
            }, onReject: { rejected.append($0.description) })
            let context = "round \(round), \(format), batchRows \(batchRows), parallelism \(parallelism), reads ≤ \(readMax)"
            #expect(summary.failure == nil, "\(context)")
            #expect(rejected == expected.rejected, "\(context)")
            #expect(summary.rejected == Int64(expected.rejected.count), "\(context)")
            #expect(summary.appended == Int64(expected.rows.count), "\(context)")
            #expect(summary.firstOffset == (expected.rows.isEmpty ? nil : 0), "\(context)")
            #expect(summary.lastOffset == (expected.rows.isEmpty ? nil : Int64(expected.rows.count - 1)), "\(context)")
            #expect(summary.lastLine.map { $0 >= (expected.lastAccepted ?? 0) } ?? expected.rows.isEmpty, "\(context)")
            var rows: [[Value]] = []
            var batches = 0
            let log = try store.streamLog("orders")
            try log.forEachBatch(in: 0..<log.endOffset) { _, b in
                batches += 1
                #expect(b.count <= batchRows, "\(context)")
                for r in 0..<b.count { rows.append(b.columns.map { $0.value(at: r) }) }
            }
            #expect(rows == expected.rows, "\(context)")
        }
    }

    /// `Store.parse` (all or nothing, no append) gives the one-parser reference too, and its
    /// batch appended then read back with `Store.batches(of:in:)` holds the same rows.
    @Test(arguments: [InputFormat.jsonl, .csv])
    func parseGivesTheOneParserResult(format: InputFormat) async throws {
        var rng = SplitMix64(seed: format == .csv ? 5 : 3)
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir)
        defer { store.close() }
        try await store.applySchema(Self.schema)
        for round in 0..<12 {
            let input = Self.randomInput(&rng, format: format, lines: Int(rng.next() % 300))
            let expected = try Self.reference(input, format: format)
            let (batch, rejected) = try store.parse(input, format: format, stream: "orders")
            #expect(rejected.map(\.description) == expected.rejected, "round \(round)")
            #expect((0..<batch.count).map { r in batch.columns.map { $0.value(at: r) } } == expected.rows, "round \(round)")
            let start = try store.endOffset(of: "orders")
            let range = try await store.append(batch, to: "orders", durability: .none)
            #expect(range == start..<(start + Int64(batch.count)))
            var back: [[Value]] = []
            for b in try await store.batches(of: "orders", in: range.lowerBound..<(range.upperBound + 5)) {
                for r in 0..<b.count { back.append(b.columns.map { $0.value(at: r) }) }
            }
            #expect(back == expected.rows, "round \(round)")
        }
        #expect(throws: LambdaStoreError.self) { _ = try store.parse([UInt8](), format: format, stream: "nope") }
        // Ranges past the end, empty or below 0 read nothing (and never trap).
        let end = try store.endOffset(of: "orders")
        for r in [(end + 5)..<(end + 9), end..<end, (-3)..<0] {
            #expect(try await store.batches(of: "orders", in: r).isEmpty, "\(r)")
        }
    }

    /// A line past `Limits.lineBytesMax` between good lines: rejected in its place, the lines
    /// around it kept, numbers unchanged, with several threads.
    @Test func anOverlongLineIsRejectedInPlaceWithSeveralThreads() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir)
        defer { store.close() }
        try await store.applySchema(Self.schema)
        var text = ""
        for i in 0..<5 { text += #"{"event_ts":\#(1_704_067_200_000 + i),"merchant_id":"m","amount_cents":\#(i)}"# + "\n" }
        var input = Array(text.utf8)
        input += Array(#"{"event_ts":1,"merchant_id":""#.utf8) + [UInt8](repeating: 0x61, count: Limits.lineBytesMax) + Array("\"}\n".utf8)
        input += Array(text.utf8)
        var at = 0
        var rejected: [String] = []
        let summary = try await store.ingest(stream: "orders", format: .jsonl, durability: .none, batchRows: 3, parallelism: 3, read: { buf in
            let n = min(buf.count, input.count - at)
            input.withUnsafeBytes { buf.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[at..<(at + n)])) }
            at += n
            return n
        }, onReject: { rejected.append($0.description) })
        #expect(rejected == ["line 6: line longer than \(Limits.lineBytesMax) bytes (Limits.lineBytesMax)"])
        #expect(summary.appended == 10 && summary.rejected == 1 && summary.lastLine == 11, "\(summary)")
    }

    /// A read callback that claims more bytes than the buffer it was given (a caller's bug) stops
    /// the ingest with an error naming both numbers; nothing is read out of bounds.
    @Test func aReadCallbackOverclaimingItsBufferIsAnErrorNotATrap() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir)
        defer { store.close() }
        try await store.applySchema(Self.schema)
        let summary = try await store.ingest(stream: "orders", format: .jsonl, read: { buf in buf.count + 1 }, onReject: { _ in })
        let failure = try #require(summary.failure)
        #expect(failure.code == .invalidArgument && failure.message.contains("returned \(4 << 20 + 1)"), "\(failure)")
        #expect(summary.appended == 0)
    }
}

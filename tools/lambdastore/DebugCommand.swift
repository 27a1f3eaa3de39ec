import ArgumentParser
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog

/// `lambdastore debug …` (hidden): the two halves of the kill -9 durability drill
/// (`tools/crashloop.sh`, `Tests/LambdaStoreToolTests/CrashLoopTests.swift`).
///
/// `append-loop` appends deterministic records until it is killed and acknowledges each append
/// on stdout; `tear-tail` cuts the last batch when no acknowledged record is in it (what a kill
/// landing inside the batch's write would leave: a real kill -9 rarely does, the copy into the
/// page cache takes microseconds); `check-loop` reopens the store (running recovery) and proves
/// that every acknowledged record, and every record kept past it, is exactly what was appended.
struct DebugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Durability drill helpers (not a stable interface).", shouldDisplay: false,
        subcommands: [AppendLoop.self, TearTail.self, CheckLoop.self])

    /// Appends generated batches forever (or `--max-appends` times), printing `acked <last>`
    /// after each append returns.
    struct AppendLoop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "append-loop", abstract: "Append deterministic batches until killed; print 'acked <lastOffset>' after each.",
            shouldDisplay: false)
        @OptionGroup var common: StoreOptionsGroup
        @Option(help: "The stream (created with the drill's fixed schema when absent).") var stream: String
        @Option(help: "Records per append.") var batch: Int = 200
        @Option(help: "Seed of the record generator.") var seed: UInt64
        @Option(help: "sync, interval or none.") var durability: String = "sync"
        @Option(help: "Codec of the appended batches: none, lz4 or zstd.") var codec: String = "lz4"
        @Option(name: .customLong("segment-bytes"), help: "Roll segments at this size (small values exercise rolls).")
        var segmentBytes: Int64 = Limits.segmentBytesDefault
        @Option(name: .customLong("max-appends"), help: "Stop after this many appends (0: never).") var maxAppends: Int = 0

        func validate() throws {
            guard (1...Limits.batchRecordsMax).contains(batch) else { throw ValidationError("--batch must be in 1...\(Limits.batchRecordsMax)") }
            guard ["sync", "interval", "none"].contains(durability) else { throw ValidationError("--durability must be sync, interval or none") }
            guard Codec(name: codec) != nil else { throw ValidationError("--codec must be none, lz4 or zstd") }
            guard segmentBytes >= 4096 else { throw ValidationError("--segment-bytes must be at least 4096") }
            guard maxAppends >= 0 else { throw ValidationError("--max-appends must not be negative") }
        }

        func run() async throws {
            try await reportingErrors {
                let dur: Durability = durability == "sync" ? .sync : (durability == "none" ? .none : .interval(milliseconds: 100))
                var options = StoreOptions()
                options.log.segmentBytesMax = segmentBytes
                options.log.codec = Codec(name: codec) ?? .lz4
                let store = try await Store.open(at: common.store, options: options)
                defer { store.close() }
                let records = CrashLoopRecords(seed: seed, stream: stream)
                if store.streams.contains(stream) {
                    let existing = try store.schema(of: stream)
                    guard existing.isSameDefinition(as: records.schema) else {
                        throw LambdaStoreError(.schema, "stream '\(stream)' exists with a schema other than the drill's")
                    }
                } else {
                    try await store.applySchema(records.schema)
                }
                var next = try store.streamLog(stream).endOffset
                try writeStdout("resume \(next)\n")
                var appends = 0
                while maxAppends == 0 || appends < maxAppends {
                    let range = try await store.append(records.batch(from: next, count: batch), to: stream, durability: dur)
                    guard range.lowerBound == next, range.count == batch else {
                        throw LambdaStoreError(.precondition, "append landed at \(range), expected \(next)..<\(next + Int64(batch)): another writer?")
                    }
                    try writeStdout("acked \(range.upperBound - 1)\n")
                    next = range.upperBound
                    appends += 1
                }
                return 0
            }
        }
    }

    /// Simulates a crash inside the last write: cuts the stream's last batch at a seeded point
    /// (or removes it, leaving zero bytes in its place), but only when every record in it is
    /// past `--acked`. Recovery must then cut exactly `expect_truncated` bytes.
    /// Prints `tore <file> keep=<bytes kept of the batch> zeros=<bytes added> expect_truncated=<n>`
    /// or `untouched: <why>`.
    struct TearTail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tear-tail", abstract: "Cut the last, unacknowledged batch of a stream as a torn write would.",
            shouldDisplay: false)
        @OptionGroup var common: StoreOptionsGroup
        @Option(help: "The stream.") var stream: String
        @Option(parsing: .unconditional, help: "The last acknowledged offset (-1: none was).") var acked: Int64 = -1
        @Option(help: "Seed of the cut point.") var seed: UInt64

        func run() async throws {
            try await reportingErrors {
                let fs = PosixFileSystem()
                guard fs.isDirectory(common.store) else {   // killed before the store was created
                    try writeStdout("untouched: no store\n")
                    return 0
                }
                let lock = try fs.lock(Path.join(common.store, "LOCK"))   // no writer may run meanwhile
                defer { lock.unlock() }
                let dir = Path.join(common.store, "streams/" + stream)
                guard fs.isDirectory(dir), let last = try fs.list(dir).filter({ $0.hasSuffix(LogFormat.segmentSuffix) }).max() else {
                    try writeStdout("untouched: no segment\n")
                    return 0
                }
                let path = Path.join(dir, last)
                let dump = try LogInspector.dumpSegment(path: path, fs: fs)
                guard dump.problem == nil, dump.tail == .clean, let b = dump.batches.last, b.checksumOk else {
                    try writeStdout("untouched: \(last) does not end in an intact batch\n")
                    return 0
                }
                guard b.baseOffset > acked, b.bytes > 1 else {
                    try writeStdout("untouched: the last batch (offsets \(b.baseOffset)…) holds acknowledged records\n")
                    return 0
                }
                // Three times in four a torn write (1 ... bytes-1 bytes of the batch stay); else the
                // batch is gone and 1 ... 4096 zero bytes follow (never-written blocks).
                let gen = CrashLoopRecords(seed: seed, stream: stream)
                let pick = gen.r(b.baseOffset, 6)
                let torn = pick % 4 != 0
                let keep = torn ? Int64(1 + (pick >> 8) % UInt64(b.bytes - 1)) : 0
                let zeros = torn ? 0 : Int(1 + (pick >> 8) % 4096)
                let h = try fs.open(path, mode: .readWrite)
                defer { try? h.close() }
                try h.truncate(to: b.position + keep)
                if zeros > 0 { try h.write([UInt8](repeating: 0, count: zeros), at: b.position) }
                try h.sync()
                // A torn write means the batch never became durable: evidence written after it
                // (a clean close records the stream's CHECKPOINT) goes back to before it, or
                // recovery would rightly refuse the store.
                if let c = try LogCheckpoint.load(fs: fs, directory: dir, relDir: "streams/" + stream), c.durableEnd > b.baseOffset {
                    try fs.writeFileAtomically(Path.join(dir, LogCheckpoint.fileName), LogCheckpoint(durableEnd: b.baseOffset, writtenAtMillis: c.writtenAtMillis).encoded())
                }
                try writeStdout("tore \(last) keep=\(keep) zeros=\(zeros) expect_truncated=\(keep + Int64(zeros))\n")
                return 0
            }
        }
    }

    /// Opens the store (running recovery) and checks the stream against the generator.
    struct CheckLoop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-loop", abstract: "Recover the store and check every record of an append-loop stream.",
            shouldDisplay: false)
        @OptionGroup var common: StoreOptionsGroup
        @Option(help: "The stream.") var stream: String
        @Option(help: "Seed the stream was generated with.") var seed: UInt64
        @Option(parsing: .unconditional, help: "The last acknowledged offset (-1: none was).") var acked: Int64 = -1
        @Option(name: .customLong("check-from"),
                help: "Compare record values from this offset on; earlier batches are only checked for density (0: all).")
        var checkFrom: Int64 = 0

        func validate() throws {
            guard acked >= -1 else { throw ValidationError("--acked must be -1 or an offset") }
            guard checkFrom >= 0 else { throw ValidationError("--check-from must not be negative") }
        }

        func run() async throws {
            try await reportingErrors {
                let store = try await Store.open(at: common.store)
                defer { store.close() }
                let truncated = store.recoveryReports.reduce(Int64(0)) { $0 + $1.bytesTruncated }
                if !common.json { for r in store.recoveryReports { print("recovery: \(r)") } }
                let outcome = try check(store)
                let summary = ([
                    "stream": .string(stream), "records": .int(outcome.records), "acked": .int(acked),
                    "unacked": .int(outcome.records - 1 - acked), "checkedFrom": .int(min(checkFrom, outcome.records)),
                    "bytesTruncated": .int(truncated), "recovery": .array(store.recoveryReports.map { .string($0.description) }),
                    "ok": .bool(outcome.failure == nil),
                ] as JSONValue)
                if common.json {
                    print(summary.serialized())
                } else if outcome.failure == nil {
                    print("check-loop ok: records=\(outcome.records) acked=\(acked) unacked=\(outcome.records - 1 - acked) " +
                          "checked_from=\(min(checkFrom, outcome.records)) bytes_truncated=\(truncated)")
                }
                if let failure = outcome.failure {
                    printError("lambdastore: check-loop failed: \(failure)")
                    return 3
                }
                return 0
            }
        }

        /// Record count and the first violation, if any.
        func check(_ store: Store) throws(LambdaStoreError) -> (records: Int64, failure: String?) {
            guard store.streams.contains(stream) else {
                return (0, acked >= 0 ? "stream '\(stream)' is missing but offset \(acked) was acknowledged" : nil)
            }
            let records = CrashLoopRecords(seed: seed, stream: stream)
            let log = try store.streamLog(stream)
            guard log.schemaHistory.latest.isSameDefinition(as: records.schema), log.schemaHistory.latest.version == 1 else {
                return (0, "stream '\(stream)' does not have the drill's schema")
            }
            let end = log.endOffset
            guard log.startOffset == 0 else { return (end, "the stream starts at offset \(log.startOffset), not 0") }
            guard end > acked else {
                return (end, "offset \(acked) was acknowledged but the stream holds only \(end) records (offsets 0..<\(end))")
            }
            // Density from the index: batches must tile 0..<end with no gap or overlap.
            var cursor: Int64 = 0
            for info in try log.batchInfos(in: 0..<end) {
                guard info.baseOffset == cursor else {
                    return (end, "offsets are not dense: a batch starts at \(info.baseOffset), expected \(cursor) (\(info.segment))")
                }
                cursor = info.offsets.upperBound
            }
            guard cursor == end else { return (end, "the batches end at offset \(cursor), the stream at \(end)") }
            // Values: read back (CRCs checked on decode) and compare with the generator.
            let from = min(checkFrom, end)
            var failure: String?
            cursor = from
            do throws(LambdaStoreError) {
                try log.forEachBatch(in: from..<end) { info, batch throws(LambdaStoreError) in
                    guard failure == nil else { return }
                    guard info.baseOffset == cursor else {
                        failure = "read batch starts at \(info.baseOffset), expected \(cursor)"
                        return
                    }
                    failure = records.mismatch(batch, at: info.baseOffset).map { "\($0) (\(info.segment) @ \(info.position))" }
                    cursor += Int64(info.count)
                }
            } catch {
                return (end, "reading offsets \(cursor)… failed: \(error)")
            }
            if failure == nil, cursor != end { failure = "reading stopped at offset \(cursor), the stream ends at \(end)" }
            return (end, failure)
        }
    }
}

/// The drill's records: record `i` of a stream is a pure function of `(seed, i)`, so a checker
/// can recompute any record from its offset alone, whatever the batch boundaries were.
///
/// With `r(i, lane) = SplitMix64 output at state seed &+ 0x9E3779B97F4A7C15 &* (8 i + lane + 1)`:
/// `ts` = 1_767_225_600_000 + 1000 i − (r(i,0) mod 60 000) (timestamp, epoch ms);
/// `key` = "k<i>-" then (r(i,1) mod 13) letters, letter j = 'a' + ((r(i,1) >> (8 + 4 j)) & 15);
/// `amount` = r(i,2) as Int64; `score` = (r(i,3) as Int64 >> 11) / 1024 (exact in binary);
/// `ok` = r(i,4) odd; `note` = null when r(i,5) mod 4 = 0, else "note-<r(i,5) mod 10 000>",
/// followed by " ✓" when r(i,5) mod 7 = 0 (multi-byte UTF-8).
struct CrashLoopRecords: Sendable {
    let seed: UInt64
    let schema: Schema

    init(seed: UInt64, stream: String) {
        self.seed = seed
        schema = Schema(stream: stream, eventTime: "ts", fields: [
            Field(name: "ts", type: .timestamp),
            Field(name: "key", type: .string),
            Field(name: "amount", type: .int64),
            Field(name: "score", type: .float64),
            Field(name: "ok", type: .bool),
            Field(name: "note", type: .string, nullable: true),
        ])
    }

    /// SplitMix64's output for state `seed + golden · (8 i + lane + 1)`.
    func r(_ i: Int64, _ lane: UInt64) -> UInt64 {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (UInt64(bitPattern: i) &* 8 &+ lane &+ 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Records `offset ..< offset + count`, under schema version 1.
    func batch(from offset: Int64, count: Int) -> ColumnBatch {
        var cols = schema.fields.map { Column(type: $0.type, capacity: count) }
        var key: [UInt8] = []
        for i in offset..<(offset + Int64(count)) {
            cols[0].append(int: 1_767_225_600_000 + 1000 * i - Int64(r(i, 0) % 60_000))
            let k = r(i, 1)
            key.removeAll(keepingCapacity: true)
            key.append(UInt8(ascii: "k"))
            key.append(contentsOf: String(i).utf8)
            key.append(UInt8(ascii: "-"))
            for j in 0..<Int(k % 13) { key.append(UInt8(ascii: "a") + UInt8((k >> UInt64(8 + 4 * j)) & 15)) }
            key.withUnsafeBytes { cols[1].append(utf8: $0) }
            cols[2].append(int: Int64(bitPattern: r(i, 2)))
            cols[3].append(double: Double(Int64(bitPattern: r(i, 3)) >> 11) / 1024)
            cols[4].append(int: Int64(r(i, 4) & 1))
            let n = r(i, 5)
            if n % 4 == 0 {
                cols[5].appendNull()
            } else {
                cols[5].append(string: "note-\(n % 10_000)" + (n % 7 == 0 ? " ✓" : ""))
            }
        }
        return ColumnBatch(schemaVersion: schema.version, columns: cols)
    }

    /// The first difference between `batch`, read at `offset`, and the generated records, as
    /// one line naming the offset and field; nil when they are equal.
    /// - Complexity: O(batch bytes).
    func mismatch(_ batch: ColumnBatch, at offset: Int64) -> String? {
        guard batch.columns.count == schema.fields.count else {
            return "batch at offset \(offset) has \(batch.columns.count) columns, expected \(schema.fields.count)"
        }
        let want = self.batch(from: offset, count: batch.count)
        for (c, (got, exp)) in zip(batch.columns, want.columns).enumerated() {
            guard got.type == exp.type, got.count == exp.count else {
                return "batch at offset \(offset): column '\(schema.fields[c].name)' is \(got.type) × \(got.count), expected \(exp.type) × \(exp.count)"
            }
            for row in 0..<got.count where !Self.sameCell(got, exp, row) {
                return "offset \(offset + Int64(row)) field '\(schema.fields[c].name)': stored \(got.value(at: row)), expected \(exp.value(at: row))"
            }
        }
        return nil
    }

    /// Exact equality of one cell (floats by bit pattern; the payload of a null row is ignored).
    static func sameCell(_ a: Column, _ b: Column, _ row: Int) -> Bool {
        let an = a.isNull(row), bn = b.isNull(row)
        if an || bn { return an == bn }
        switch a.type {
        case .float64: return a.doubles[row].bitPattern == b.doubles[row].bitPattern
        case .string:
            let a0 = Int(a.offsets[row]), a1 = Int(a.offsets[row + 1]), b0 = Int(b.offsets[row]), b1 = Int(b.offsets[row + 1])
            return a1 - a0 == b1 - b0 && a.utf8[a0..<a1].elementsEqual(b.utf8[b0..<b1])
        case .int64, .timestamp, .bool: return a.ints[row] == b.ints[row]
        }
    }
}

/// Writes all of `text` to stdout with `write(2)`: unbuffered, so a line is in the file or pipe
/// as soon as this returns, even if the process is killed right after.
func writeStdout(_ text: String) throws(LambdaStoreError) {
    var s = text
    let err: Int32? = s.withUTF8 { u in Platform.writeAll(1, UnsafeRawBufferPointer(u)) }
    if let err { throw LambdaStoreError(.io, "writing to standard output failed", errno: err) }
}

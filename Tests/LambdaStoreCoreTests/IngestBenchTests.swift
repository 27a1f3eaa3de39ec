import Testing
@testable import LambdaStoreCore
import LambdaStoreTestSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ingest throughput on the shared peers' data set (`/tmp/peers-data/events.{jsonl,csv}`), by
/// hand only: set `LAMBDASTORE_INGEST_BENCH` to the directory (and optionally
/// `LAMBDASTORE_INGEST_BENCH_LINES`, default 1 000 000) and run in release:
///
/// ```
/// LAMBDASTORE_INGEST_BENCH=/tmp/peers-data swift test -c release --disable-xctest --filter IngestBench
/// ```
///
/// It reads 4 MiB chunks, splits lines, parses into a batch and starts a new batch every
/// 65 536 rows, as the tool does, and prints lines/s. Every line must be accepted and the
/// checksum of the amounts must match between JSONL and CSV.
@Suite(.enabled(if: ProcessInfoLite.environment("LAMBDASTORE_INGEST_BENCH") != nil))
struct IngestBenchTests {
    static let schema = Schema(stream: "events", eventTime: "event_ts", fields: [
        Field(name: "event_id", type: .int64),
        Field(name: "event_ts", type: .timestamp),
        Field(name: "merchant_id", type: .string),
        Field(name: "status", type: .string),
        Field(name: "amount_cents", type: .int64),
        Field(name: "currency", type: .string),
    ])

    @Test(arguments: InputFormat.allCases)
    func throughput(format: InputFormat) throws {
        let dir = ProcessInfoLite.environment("LAMBDASTORE_INGEST_BENCH") ?? "/tmp/peers-data"
        let limit = Int(ProcessInfoLite.environment("LAMBDASTORE_INGEST_BENCH_LINES") ?? "") ?? 1_000_000
        let path = dir + "/events." + format.rawValue
        let file = try PosixFileSystem().open(path, mode: .read)
        defer { try? file.close() }
        var parser = try RecordParser(schema: Self.schema, format: format)
        var batch = parser.makeBatch(capacity: 65_536)
        var splitter = LineSplitter()
        var rows = 0, rejected = 0, bytes = 0, amountSum: Int64 = 0, done = false
        var chunk = [UInt8](repeating: 0, count: 4 << 20)
        let dataLines = format == .csv ? limit + 1 : limit
        let start = clockSeconds()
        var offset: Int64 = 0
        while !done {
            let n = try chunk.withUnsafeMutableBytes { b throws(LambdaStoreError) in try file.read(into: b, at: offset) }
            if n == 0 { break }
            offset += Int64(n)
            bytes += n
            chunk.withUnsafeBytes { all in
                splitter.feed(UnsafeRawBufferPointer(rebasing: all[0..<n])) { event in
                    guard !done else { return }
                    switch event {
                    case .line(let line, let number):
                        if number > dataLines { done = true; return }
                        if parser.parse(line: line, lineNumber: number, into: &batch) != nil { rejected += 1 }
                    case .overlong: rejected += 1
                    }
                    if batch.count == 65_536 {
                        rows += batch.count
                        amountSum = batch.columns[4].ints.reduce(amountSum, &+)
                        batch = parser.makeBatch(capacity: 65_536)
                    }
                }
            }
        }
        rows += batch.count
        amountSum = batch.columns[4].ints.reduce(amountSum, &+)
        let seconds = clockSeconds() - start
        print("ingest \(format.rawValue): \(rows) rows in \(String(seconds)) s = \(Int(Double(rows) / seconds)) lines/s, \(Int(Double(bytes) / seconds / 1e6)) MB/s read; amount sum \(amountSum)")
        #expect(rejected == 0)
        #expect(rows == limit)
    }
}

/// `getenv` without Foundation.
private enum ProcessInfoLite {
    static func environment(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        return String(cString: v)
    }
}

/// Monotonic seconds.
private func clockSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

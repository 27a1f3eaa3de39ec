import Foundation
import LambdaStoreCore
import LambdaStoreTestSupport
import Testing

@testable import LambdaStoreParquet

/// Bytes per event and decode speed on a synthetic orders stream (the project's size target:
/// at most 10 bytes per event for the whole file, `_offset` included, and smaller than
/// pyarrow's zstd Parquet of the same events). Rows: LAMBDASTORE_PARQUET_BENCH_ROWS (default
/// 200 000; use 1 048 576 with `swift test -c release` for the numbers in the report).
@Suite(.serialized) struct ParquetSizeTests {
    static func orders(rows n: Int, seed: UInt64 = 1) -> RefTable {
        var rng = SplitMix64(seed: seed)
        let schema = Schema(stream: "orders", eventTime: "event_ts", fields: [
            Field(name: "event_ts", type: .timestamp), Field(name: "merchant_id", type: .string), Field(name: "status", type: .string),
            Field(name: "amount_cents", type: .int64), Field(name: "channel", type: .string, nullable: true),
        ])
        var cols = [[Value]](repeating: [], count: 5)
        var ts: Int64 = 1_735_689_600_000
        let statuses = ["created", "paid", "shipped", "refunded"], channels = ["web", "ios", "android"]
        for c in cols.indices { cols[c].reserveCapacity(n) }
        for _ in 0..<n {
            ts += Int64(rng.next() % 20)   // ~100 events per second, jittered
            cols[0].append(.timestamp(ts))
            cols[1].append(.string("m-\(10_000 + rng.next() % 10_000)"))
            cols[2].append(.string(statuses[Int(rng.next() % 4)]))
            cols[3].append(.int64(Int64(100 + rng.next() % 99_901)))
            cols[4].append(rng.next() % 5 == 0 ? .null : .string(channels[Int(rng.next() % 3)]))
        }
        return RefTable(schema: schema, columns: cols, offsets: (0..<n).map { Int64(1_000_000 + $0) })
    }

    @Test func bytesPerEventAndDecodeSpeed() throws {
        let n = ProcessInfo.processInfo.environment["LAMBDASTORE_PARQUET_BENCH_ROWS"].flatMap(Int.init) ?? 200_000
        let ref = Self.orders(rows: n)
        let batches = stride(from: 0, to: n, by: 65_536).map { ref.batch($0..<min(n, $0 + 65_536)) }
        var results: [String] = []
        var best: [UInt8] = []
        for level: Int32 in [3, 9] {
            var o = ParquetWriterOptions()
            o.zstdLevel = level
            let clock = ContinuousClock()
            var bytes: [UInt8] = []
            let writeTime = try clock.measure {
                var w = try ParquetFileWriter(schema: ref.schema, keyValueMetadata: [], options: o)
                for (k, b) in batches.enumerated() { try w.append(b, offsets: Array(ref.offsets[(k * 65_536)..<min(n, (k + 1) * 65_536)])) }
                bytes = try w.finish()
            }
            if level == 3 { best = bytes }
            results.append(String(format: "zstd %d: %.2f bytes/event (%d bytes), write %@", level, Double(bytes.count) / Double(n), bytes.count, "\(writeTime)"))
        }
        let r = try ParquetFileReader(bytes: best, path: "orders.parquet")
        let clock = ContinuousClock()
        var decoded = 0
        let readTime = try clock.measure {
            for g in r.rowGroups.indices { decoded += try r.readRowGroup(g, schema: ref.schema).batch.count }
        }
        #expect(decoded == n)
        results.append("decode \(n) rows × 6 columns: \(readTime)")
        try checkFile(best, equals: ref)
        for c in r.describe().rowGroups[0].columns {
            results.append("  \(c.column): \(c.encodings.joined(separator: ",")) \(String(format: "%.2f", Double(c.compressedBytes) / Double(n))) bytes/event")
        }
        if ParquetInteropTests.available() {
            let dir = try ParquetInteropTests.tempDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let ours = dir.appendingPathComponent("ours.parquet"), theirs = dir.appendingPathComponent("pyarrow.parquet")
            try Data(best).write(to: ours)
            let code = "import sys, pyarrow.parquet as pq; t = pq.read_table(sys.argv[1]); pq.write_table(t, sys.argv[2], compression='zstd'); import os; print(os.path.getsize(sys.argv[2]))"
            let (status, output) = try ParquetInteropTests.python(["-c", code, ours.path, theirs.path])
            #expect(status == 0, "\(output)")
            if let size = Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) {
                results.append(String(format: "pyarrow (zstd, defaults): %.2f bytes/event (%d bytes)", Double(size) / Double(n), size))
                #expect(best.count < size, "ours \(best.count) bytes, pyarrow's \(size)")
            }
        }
        print("orders-like dataset, \(n) events:\n" + results.joined(separator: "\n"))
        #expect(Double(best.count) / Double(n) <= 10)
    }
}

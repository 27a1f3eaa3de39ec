import Foundation
import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

/// The hourly revenue view's snapshot at batch-benchmark scale (2.1 M rows). Opt-in:
/// `LAMBDASTORE_BENCH=1 swift test -c release -Xswiftc -enable-testing --disable-xctest --filter ColumnarBenchmark`
/// (set `LAMBDASTORE_BENCH_CSV=/path.csv` to also dump the rows for a Parquet comparison).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["LAMBDASTORE_BENCH"] != nil))
struct ColumnarBenchmark {
    /// ~2.1 M rows: 300 hourly windows × 10,000 merchants, each present with probability 0.7,
    /// sorted by (window_start, merchant_id).
    static func revenueHourly() -> [Column] {
        var rng = SplitMix64(seed: 2026)
        var w = Column(type: .timestamp, capacity: 2_200_000), m = Column(type: .string, capacity: 2_200_000)
        var rev = Column(type: .int64, capacity: 2_200_000), ord = Column(type: .int64, capacity: 2_200_000)
        let names = (0..<10_000).map { i in "m" + String(repeating: "0", count: 5 - String(i).count) + String(i) }
        let start: Int64 = 1_767_225_600_000
        for h in 0..<300 {
            for name in names where rng.next() % 10 < 7 {
                w.append(int: start + Int64(h) * 3_600_000)
                m.append(string: name)
                let orders = 1 + Int64(rng.next() % 12)
                ord.append(int: orders)
                rev.append(int: orders * Int64(500 + rng.next() % 20_000))
            }
        }
        return [w, m, rev, ord]
    }

    @Test func revenueHourlyWriteAndRead() throws {
        let data = Self.revenueHourly()
        let rows = data[0].count
        let rawBytes = rows * 8 * 3 + data[1].utf8.count + data[1].offsets.count * 4
        let columns = [SnapshotColumn(name: "window_start", type: .timestamp, nullable: true), SnapshotColumn(name: "merchant_id", type: .string),
                       SnapshotColumn(name: "revenue", type: .int64), SnapshotColumn(name: "orders", type: .int64)]
        print("rows \(rows), raw column bytes \(rawBytes)")
        if let csv = ProcessInfo.processInfo.environment["LAMBDASTORE_BENCH_CSV"] {
            var out = "window_start,merchant_id,revenue,orders\n"
            for i in 0..<rows { out += "\(data[0].ints[i]),\(data[1].string(at: i)),\(data[2].ints[i]),\(data[3].ints[i])\n" }
            try out.write(toFile: csv, atomically: false, encoding: .utf8)
        }
        let clock = ContinuousClock()
        for (codec, level) in [(Codec.zstd, Int32(3)), (.zstd, 1), (.lz4, 1), (.none, 1)] {
            let options = SnapshotOptions(codec: codec, zstdLevel: level)
            var bytes: [UInt8] = []
            var best = Duration.seconds(1000)
            for _ in 0..<3 {
                let t = clock.measure { bytes = (try? SnapshotWriter.encode(columns: columns, data: data, options: options)) ?? [] }
                best = min(best, t)
            }
            let write = Double(best.components.attoseconds) / 1e18 + Double(best.components.seconds)
            let r = try SnapshotReader(bytes: bytes)
            var back: [Column] = []
            var bestRead = Duration.seconds(1000)
            for _ in 0..<3 {
                let t = try clock.measure { back = try r.readColumns(columns.map(\.name)) }
                bestRead = min(bestRead, t)
            }
            let read = Double(bestRead.components.attoseconds) / 1e18 + Double(bestRead.components.seconds)
            for c in 0..<4 { #expect(back[c].count == rows) }
            #expect(back[2].ints == data[2].ints && back[1].utf8 == data[1].utf8)
            let perColumn = (0..<4).map { c in r.rowGroups.reduce(0) { $0 + $1.chunks[c].storedBytes } }
            let encodings = (0..<4).map { c in Set(r.rowGroups.map { $0.chunks[c].encoding.description }).sorted().joined(separator: "+") }
            print("""
                \(codec)\(codec == .zstd ? "(\(level))" : ""): file \(bytes.count) bytes (\(String(format: "%.2f", Double(bytes.count) / 1e6)) MB), \
                columns \(perColumn) \(encodings); \
                write \(String(format: "%.1f", write * 1000)) ms = \(String(format: "%.0f", Double(rawBytes) / write / 1e6)) MB/s raw, \
                \(String(format: "%.1f", Double(rows) / write / 1e6)) M rows/s; \
                read \(String(format: "%.1f", read * 1000)) ms = \(String(format: "%.0f", Double(rawBytes) / read / 1e6)) MB/s raw, \
                \(String(format: "%.1f", Double(rows) / read / 1e6)) M rows/s
                """)
        }
        // The file path: durable publish through the real file system.
        let dir = NSTemporaryDirectory() + "lambdastore-bench-\(getpid())"
        let fs = PosixFileSystem()
        try fs.createDirectory(dir)
        let t = try clock.measure {
            let w = try SnapshotWriter(fs: fs, path: dir + "/s.snapshot", columns: columns)
            try w.append(columns: data)
            _ = try w.finish()
        }
        let t2 = try clock.measure {
            let r = try SnapshotReader.open(fs: fs, path: dir + "/s.snapshot")
            _ = try r.readColumns(columns.map(\.name))
        }
        print("posix publish (zstd 3, fsync + rename): \(t); open + read all: \(t2)")
        try fs.remove(dir + "/s.snapshot")
        try fs.remove(dir)
    }
}

import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

/// Shared fixtures for the log tests.
enum Fixture {
    static let root = "/store"

    /// Every field type, nullable where it can be.
    static let allTypes = Schema(stream: "all", eventTime: "ts", fields: [
        Field(name: "ts", type: .timestamp, nullable: true),
        Field(name: "i", type: .int64, nullable: true),
        Field(name: "f", type: .float64, nullable: true),
        Field(name: "s", type: .string, nullable: true),
        Field(name: "b", type: .bool, nullable: true),
        Field(name: "k", type: .int64),
    ])

    /// The orders stream of the performance targets.
    static let orders = Schema(stream: "orders", eventTime: "event_ts", fields: [
        Field(name: "event_id", type: .int64),
        Field(name: "event_ts", type: .timestamp),
        Field(name: "merchant_id", type: .string),
        Field(name: "status", type: .string),
        Field(name: "amount_cents", type: .int64),
        Field(name: "currency", type: .string),
    ])

    /// A batch of `rows` (values in field order) under `schema`.
    static func batch(_ schema: Schema, _ rows: [[Value]]) throws(LambdaStoreError) -> ColumnBatch {
        var b = ColumnBatch(schema: schema, capacity: rows.count)
        for r in rows {
            for (i, v) in r.enumerated() { try b.columns[i].append(v) }
        }
        return b
    }

    /// The rows of a batch.
    static func rows(_ b: ColumnBatch) -> [[Value]] {
        (0..<b.count).map { r in b.columns.map { $0.value(at: r) } }
    }

    /// Random rows for `allTypes`: nulls, empty strings, extremes; `k` holds the row's serial.
    static func randomAllTypes(_ rng: inout SplitMix64, count: Int, serial: Int) -> [[Value]] {
        (0..<count).map { j in
            func maybeNull(_ v: Value) -> Value { rng.next() % 5 == 0 ? .null : v }
            let strings = ["", "a", "héllo wörld", "m00042", String(repeating: "x", count: 300), "\u{1F600}"]
            let ints: [Int64] = [0, -1, .min, .max, 42]
            return [
                maybeNull(.timestamp(1_767_225_600_000 + Int64(rng.next() % 100_000))),
                maybeNull(.int64(rng.next() % 3 == 0 ? ints[Int(rng.next() % 5)] : Int64(bitPattern: rng.next()))),
                maybeNull(.float64([0.0, -0.0, 1.5, .infinity, -1e300, Double(Int64(bitPattern: rng.next() >> 12)) / 3][Int(rng.next() % 6)])),
                maybeNull(.string(strings[Int(rng.next() % UInt64(strings.count))])),
                maybeNull(.bool(rng.next() % 2 == 0)),
                .int64(Int64(serial + j)),
            ]
        }
    }

    /// `n` orders starting at event id `first` (the benchmark shape).
    static func ordersBatch(first: Int, count n: Int) -> ColumnBatch {
        var b = ColumnBatch(schema: orders, capacity: n)
        let statuses = ["completed", "pending", "refunded", "cancelled"]
        let currencies = ["USD", "EUR", "GBP"]
        for i in first..<(first + n) {
            b.columns[0].append(int: Int64(i))
            b.columns[1].append(int: 1_767_225_600_000 + Int64(i) * 37)
            let m = i % 10_000
            b.columns[2].append(string: "m" + String(repeating: "0", count: 5 - String(m).count) + String(m))
            b.columns[3].append(string: statuses[i % 4])
            b.columns[4].append(int: Int64((i * 7919) % 100_000))
            b.columns[5].append(string: currencies[i % 3])
        }
        return b
    }

    /// Every record of a stream as rows, in offset order.
    static func allRows(_ s: StreamLog) throws(LambdaStoreError) -> [[Value]] {
        var out: [[Value]] = []
        try s.forEachBatch(in: 0..<s.endOffset) { _, b in out += rows(b) }
        return out
    }
}

extension LambdaStoreError {
    /// Whether this is `code` and the description contains every needle.
    func matches(_ code: Code, _ needles: String...) -> Bool {
        self.code == code && needles.allSatisfy { description.contains($0) }
    }
}

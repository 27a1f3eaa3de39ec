import Benchmark
import LambdaStore

/// Orders-shaped batches (the peers' workload shape) for the micro benchmarks.
func ordersBatch(rows: Int, seed: UInt64) -> (Schema, ColumnBatch) {
    let schema = Schema(stream: "orders", eventTime: "event_ts", fields: [
        Field(name: "event_id", type: .int64),
        Field(name: "event_ts", type: .timestamp),
        Field(name: "merchant_id", type: .string),
        Field(name: "status", type: .string),
        Field(name: "amount_cents", type: .int64),
        Field(name: "currency", type: .string),
    ])
    var b = ColumnBatch(schema: schema, capacity: rows)
    var s = seed
    func next() -> UInt64 { s &+= 0x9E37_79B9_7F4A_7C15; var z = s; z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; return z ^ (z >> 31) }
    let statuses = ["completed", "completed", "completed", "completed", "cancelled", "refunded"]
    for i in 0..<rows {
        b.columns[0].append(int: Int64(bitPattern: next() >> 1))
        b.columns[1].append(int: 1_704_067_200_000 + Int64(i) * 260)
        b.columns[2].append(string: "m" + String(10000 + Int(next() % 10000)).dropFirst())
        b.columns[3].append(string: statuses[Int(next() % 6)])
        b.columns[4].append(int: 100 + Int64(next() % 49_901))
        b.columns[5].append(string: ["USD", "EUR", "GBP"][Int(next() % 3)])
    }
    return (schema, b)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(2))

    let block = [UInt8](repeating: 0xA5, count: 1 << 20)
    Benchmark("CRC32C 1 MiB", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(CRC32C.checksum(block)) }
    }

    let (schema, batch) = ordersBatch(rows: 10_000, seed: 1)
    var payload: [UInt8] = []
    batch.encodePayload(into: &payload)
    Benchmark("Payload encode, 10k orders", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var out: [UInt8] = []
        out.reserveCapacity(payload.count)
        for _ in benchmark.scaledIterations {
            out.removeAll(keepingCapacity: true)
            batch.encodePayload(into: &out)
            blackHole(out.count)
        }
    }
    Benchmark("Payload decode, 10k orders", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            let b = try payload.withUnsafeBytes { try ColumnBatch(decodingPayload: $0, schema: schema) }
            blackHole(b.count)
        }
    }
}

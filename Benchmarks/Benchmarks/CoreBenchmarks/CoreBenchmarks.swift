import Benchmark
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog

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

    // MARK: View hot paths (the speed and batch layers' inner loops)

    let view = try! ViewDefinition.parse(json: hourlyRevenueView)
    let compiled = try! CompiledView(view, schema: schema)
    let filter = compiled.filter!
    var selection: [UInt8] = []
    filter.evaluate(batch, into: &selection)

    Benchmark("Filter evaluate status = 'completed', 10k orders", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var sel: [UInt8] = []
        for _ in benchmark.scaledIterations {
            filter.evaluate(batch, into: &sel)
            blackHole(sel.count)
        }
    }

    Benchmark("ViewTable.apply dropLate, 10k orders into a fresh table", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            var table = ViewTable(layout: compiled.layout)
            table.apply(batch, selection: selection, policy: .dropLate)
            blackHole(table.cellCount)
        }
    }

    Benchmark("ViewTable.apply includeAll, 10k orders into a warm table", configuration: .init(scalingFactor: .one)) { benchmark in
        var table = ViewTable(layout: compiled.layout)
        table.apply(batch, selection: selection, policy: .includeAll)
        for _ in benchmark.scaledIterations {
            table.apply(batch, selection: selection, policy: .includeAll)
        }
        blackHole(table.cellCount)
    }

    // A table of the macro benchmark's shape: 10k merchants × 24 windows (240k cells).
    let big = bigTable(layout: compiled.layout, schema: schema)
    let cells = big.cellKeys
    Benchmark("ViewTable.state(of:) random live cell, 240k cells", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var i = 0
        for _ in benchmark.scaledIterations {
            i = (i &+ 7919) % cells.count
            blackHole(big.state(of: cells[i]))
        }
    }

    // Snapshot chunks of the view's layout: window_start, key.merchant_id, two state columns.
    let (snapColumns, snapData) = snapshotColumns(big)
    let snapBytes = try! SnapshotWriter.encode(columns: snapColumns, data: snapData)
    Benchmark("Snapshot encode, 240k view rows (zstd 3)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try SnapshotWriter.encode(columns: snapColumns, data: snapData).count)
        }
    }
    Benchmark("Snapshot decode, 240k view rows (zstd 3)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            let r = try SnapshotReader(bytes: snapBytes)
            blackHole(try r.readColumns(snapColumns.map(\.name)).count)
        }
    }
    Benchmark("Aggregate state decode, 240k × 2 states", configuration: .init(scalingFactor: .one)) { benchmark in
        let states = snapData[2]
        for _ in benchmark.scaledIterations {
            var total: Int64 = 0
            for r in 0..<states.count {
                let a = Int(states.offsets[r]), b = Int(states.offsets[r + 1])
                let s = try AggregateState(decoding: Array(states.utf8[a..<b]))
                if case .int64(let v) = s.result { total &+= v }
            }
            blackHole(total)
        }
    }
}

/// The hourly revenue view of DESIGN.md.
let hourlyRevenueView = """
    {"name":"revenue_hourly","stream":"orders","filter":"status = 'completed'",
    "groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},
    "allowedLateness":"10m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},
    {"name":"orders","fn":"count"}]}
    """

/// 10,000 merchants × 24 hourly windows, every cell applied once.
func bigTable(layout: ViewLayout, schema: Schema) -> ViewTable {
    var table = ViewTable(layout: layout)
    for w in 0..<24 {
        var b = ColumnBatch(schema: schema, capacity: 10_000)
        for m in 0..<10_000 {
            b.columns[0].append(int: Int64(w * 10_000 + m))
            b.columns[1].append(int: 1_704_067_200_000 + Int64(w) * 3_600_000 + Int64(m))
            let d = String(m)
            b.columns[2].append(string: "m" + String(repeating: "0", count: 5 - d.count) + d)
            b.columns[3].append(string: "completed")
            b.columns[4].append(int: 100 + Int64(m))
            b.columns[5].append(string: "USD")
        }
        table.apply(b, selection: nil, policy: .includeAll)
    }
    return table
}

/// The snapshot columns of a view table (the layout of format-spec.md §6.2), rows sorted.
func snapshotColumns(_ table: ViewTable) -> ([SnapshotColumn], [Column]) {
    let rows = table.rows()
    var window = Column(type: .int64, capacity: rows.count)
    var key = Column(type: .string, capacity: rows.count)
    var states = [Column(type: .string, capacity: rows.count), Column(type: .string, capacity: rows.count)]
    for row in rows {
        window.append(int: row.windowStart ?? 0)
        try? key.append(row.key[0])
        for (i, s) in row.states.enumerated() { s.encoded.withUnsafeBytes { states[i].append(utf8: $0) } }
    }
    let cols = [
        SnapshotColumn(name: "window_start", type: .int64, nullable: true),
        SnapshotColumn(name: "key.merchant_id", type: .string, nullable: true),
        SnapshotColumn(name: "state.revenue", type: .bytes),
        SnapshotColumn(name: "state.orders", type: .bytes),
    ]
    return (cols, [window, key] + states)
}


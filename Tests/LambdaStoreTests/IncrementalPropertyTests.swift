@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Property (issue 11): for random schemas and views — every window kind, on the event time or
/// on another (nullable) timestamp field, filters, lateness — random event sequences with late
/// and out-of-order events, and random sequences of full, incremental and targeted runs, the
/// snapshot of the last run is byte-identical to a full run's over the same log.
@Suite struct IncrementalPropertyTests {
    static let seeds: [UInt64] = {
        let n = getenv("LAMBDASTORE_PROPERTY_SEEDS").flatMap { Int(String(cString: $0)) } ?? 12
        return (0..<UInt64(n)).map { 0x1D_C0DE + $0 }
    }()

    struct Case {
        var schema: Schema
        var viewJSON: String
        var describe: String
    }

    static func randomCase(_ rng: inout SplitMix64) -> Case {
        var fields = [Field(name: "ts", type: .timestamp, nullable: rng.next() % 3 == 0),
                      Field(name: "k", type: .string),
                      Field(name: "amount", type: .int64, nullable: true),
                      Field(name: "score", type: .float64, nullable: true),
                      Field(name: "flag", type: .bool, nullable: true)]
        let second = rng.next() % 2 == 0
        if second { fields.append(Field(name: "ship", type: .timestamp, nullable: true)) }
        let schema = Schema(stream: "s", eventTime: "ts", fields: fields)
        let field = second && rng.next() % 2 == 0 ? "ship" : "ts"
        let windows = [
            "{\"type\":\"tumbling\",\"field\":\"\(field)\",\"size\":\"\([1, 5, 60][Int(rng.next() % 3)])m\"}",
            "{\"type\":\"hopping\",\"field\":\"\(field)\",\"size\":\"\([10, 30][Int(rng.next() % 2)])m\",\"slide\":\"\([5, 10][Int(rng.next() % 2)])m\"}",
        ]
        let window = windows[Int(rng.next() % 2)]
        let filters = [nil, "amount > 10", "k IN ('a', 'b') OR flag", "NOT (score < 0.5) AND amount IS NOT NULL", "ts IS NOT NULL"]
        let filter = filters[Int(rng.next() % UInt64(filters.count))]
        let lateness = ["0m", "1m", "10m"][Int(rng.next() % 3)]
        let groupBy = rng.next() % 4 == 0 ? "[]" : "[\"k\"]"
        let view = """
        {"name":"v","stream":"s",\(filter.map { "\"filter\":\"\($0)\"," } ?? "")"groupBy":\(groupBy),"window":\(window),"allowedLateness":"\(lateness)",
         "aggregates":[{"name":"n","fn":"count"},{"name":"total","fn":"sum","field":"amount"},{"name":"lo","fn":"min","field":"score"},
                       {"name":"hi","fn":"max","field":"k"},{"name":"mean","fn":"avg","field":"score"},{"name":"u","fn":"count_distinct","field":"k"}]}
        """
        return Case(schema: schema, viewJSON: view, describe: "window \(window), filter \(filter ?? "none"), lateness \(lateness), groupBy \(groupBy)")
    }

    static func randomBatch(_ rng: inout SplitMix64, schema: Schema, count: Int, clock: inout Int64) throws -> ColumnBatch {
        var b = ColumnBatch(schema: schema)
        for _ in 0..<count {
            clock += Int64(rng.next() % 30_000)
            var ts: Int64 = clock
            if rng.next() % 6 == 0 { ts -= Int64(rng.next() % 3_600_000) }   // late or out of order
            for (c, f) in schema.fields.enumerated() {
                let null = f.nullable && rng.next() % 12 == 0
                switch f.name {
                case "ts": try b.columns[c].append(null ? .null : .timestamp(ts))
                case "ship": try b.columns[c].append(null ? .null : .timestamp(ts + Int64(rng.next() % 7_200_000)))
                case "k": b.columns[c].append(string: ["a", "b", "c", "d"][Int(rng.next() % 4)])
                case "amount": try b.columns[c].append(null ? .null : .int64(Int64(rng.next() % 40)))
                case "score": try b.columns[c].append(null ? .null : .float64(Double(rng.next() % 1000) / 1000))
                default: try b.columns[c].append(null ? .null : .bool(rng.next() % 2 == 0))
                }
            }
        }
        return b
    }

    static func snapshot(_ store: Store) throws -> [UInt8] {
        try store.liveSnapshotBytes()
    }

    @Test(arguments: seeds)
    func lastRunIsByteIdenticalToAFullRun(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let c = Self.randomCase(&rng)
        let a = makeTempDirectory(), b = makeTempDirectory()
        defer { removeTree(a); removeTree(b) }
        // Half the seeds use row groups of a few rows, so that parts hold many of them and
        // incremental runs copy the leading ones raw.
        var o = StoreOptions()
        if rng.next() % 2 == 0 { o.snapshotRowGroupRows = Int(2 + rng.next() % 40) }
        let sa = try await Store.open(at: a, options: o), sb = try await Store.open(at: b, options: o)
        defer { sa.close(); sb.close() }
        for s in [sa, sb] {
            try await s.applySchema(c.schema)
            try await s.createView(ViewDefinition.parse(json: Array(c.viewJSON.utf8)))
        }
        var clock: Int64 = 1_767_225_600_000
        var modes: [String] = []
        for _ in 0..<Int(3 + rng.next() % 5) {
            let batch = try Self.randomBatch(&rng, schema: c.schema, count: Int(1 + rng.next() % 300), clock: &clock)
            try await sa.append(batch, to: "s", durability: .none)
            try await sb.append(batch, to: "s", durability: .none)
            let mode: BatchMode
            switch rng.next() % 4 {
            case 0: mode = .full
            case 1, 2: mode = .incremental
            default:
                let from = clock - Int64(rng.next() % 14_400_000)
                mode = .targeted(from: from, to: from + Int64(rng.next() % 7_200_000))
            }
            modes.append("\(mode)")
            if rng.next() % 3 != 0 { _ = try await sa.runBatch(view: "v", mode: mode) }
        }
        _ = try await sa.runBatch(view: "v", mode: rng.next() % 2 == 0 ? .incremental : .targeted(from: clock - 3_600_000, to: clock))
        _ = try await sb.runBatch(view: "v", mode: .full)
        #expect(try Self.snapshot(sa) == Self.snapshot(sb), "seed \(seed): \(c.describe); row groups \(o.snapshotRowGroupRows); runs \(modes)")
    }
}

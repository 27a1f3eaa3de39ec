@_spi(Internals) import LambdaStore
import LambdaStoreViews
import LambdaStoreCore

/// Generates marketplace order events like `shared/peers/gen_events.py` (in miniature): a
/// Poisson-ish arrival stream, Zipf-popular merchants, 80 % completed orders, and a fraction of
/// late arrivals whose event time lies up to `maxLateMillis` before their arrival.
///
/// Deterministic for a seed. Thread safety: a value type.
struct MarketplaceGenerator: Sendable {
    /// The orders schema of DESIGN.md.
    static let schema = Schema(stream: "orders", eventTime: "event_ts", fields: [
        Field(name: "event_ts", type: .timestamp),
        Field(name: "merchant_id", type: .string),
        Field(name: "status", type: .string),
        Field(name: "amount_cents", type: .int64),
        Field(name: "channel", type: .string, nullable: true, defaultValue: .string("web")),
    ])

    /// The hourly revenue view of DESIGN.md.
    static let revenueHourlyJSON = """
    {"name":"revenue_hourly","stream":"orders","filter":"status = 'completed'","groupBy":["merchant_id"],\
    "window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"10m",\
    "aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"}]}
    """

    private var state: UInt64
    /// The first arrival time; late event times are never earlier.
    let start: Int64
    /// Arrival clock, epoch ms.
    private(set) var clock: Int64
    /// Merchants.
    let merchants: Int
    /// Fraction of late events.
    var lateFraction: Double
    /// Largest lateness, ms.
    var maxLateMillis: Int64
    /// Mean gap between arrivals, ms.
    var meanGapMillis: Int64
    /// Late events generated so far.
    private(set) var lateGenerated: Int = 0

    /// A generator starting at `start` (epoch ms).
    init(seed: UInt64, start: Int64 = 1_704_067_200_000, merchants: Int = 50, lateFraction: Double = 0.02,
                maxLateMillis: Int64 = 2 * 3_600_000, meanGapMillis: Int64 = 200) {
        state = seed
        clock = start
        self.start = start
        self.merchants = max(1, merchants)
        self.lateFraction = lateFraction
        self.maxLateMillis = maxLateMillis
        self.meanGapMillis = max(1, meanGapMillis)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// The merchant id of popularity rank `r` (Zipf-ish: rank 0 is the most popular).
    static func merchantID(_ r: Int) -> String {
        let s = String(r)
        return "m" + String(repeating: "0", count: max(0, 5 - s.count)) + s
    }

    /// The next `count` events as a batch under ``schema``.
    mutating func batch(_ count: Int) -> ColumnBatch {
        var b = ColumnBatch(schema: Self.schema, capacity: count)
        // Zipf(1) over ranks by inverse CDF on the harmonic numbers.
        let h = (1...merchants).reduce(0.0) { $0 + 1.0 / Double($1) }
        for _ in 0..<count {
            clock += Int64(-Platform.naturalLog(max(1e-12, unit())) * Double(meanGapMillis))
            var ts = clock
            if unit() < lateFraction {
                ts = max(start, ts - 1 - Int64(next() % UInt64(maxLateMillis)))
                lateGenerated += 1
            }
            var u = unit() * h, r = 0
            while r < merchants - 1 { u -= 1.0 / Double(r + 1); if u <= 0 { break }; r += 1 }
            let s = unit()
            b.columns[0].append(int: ts)
            b.columns[1].append(string: Self.merchantID(r))
            b.columns[2].append(string: s < 0.8 ? "completed" : (s < 0.95 ? "cancelled" : "refunded"))
            b.columns[3].append(int: 100 + Int64(next() % 49_901))
            if next() % 3 == 0 { b.columns[4].append(string: "app") } else { b.columns[4].append(string: "web") }
        }
        return b
    }
}


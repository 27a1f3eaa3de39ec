#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LambdaStoreCore
import LambdaStoreTestSupport
import Testing
@testable import LambdaStoreViews

/// Throughput of the filter kernels. Meaningful only in release:
/// `LAMBDASTORE_BENCH=1 swift test -c release --disable-xctest --filter FilterBenchmarkTests`.
/// Skipped otherwise, so the debug suite stays fast.
@Suite(.enabled(if: getenv("LAMBDASTORE_BENCH") != nil))
struct FilterBenchmarkTests {
    /// 10,000 `orders` rows, statuses drawn from four values of similar length.
    static func batch(rows: Int, seed: UInt64) -> ColumnBatch {
        var rng = SplitMix64(seed: seed)
        let statuses = ["completed", "pending", "cancelled", "refunded"]
        var cols = DefinitionFixtures.orders.fields.map { Column(type: $0.type, capacity: rows) }
        for k in 0..<rows {
            cols[0].append(int: 1_767_225_600_000 + Int64(k))
            cols[1].append(string: "m\(rng.next() % 1000)")
            cols[2].append(string: statuses[Int(rng.next() % 4)])
            cols[3].append(int: Int64(rng.next() % 10_000))
            if rng.next() % 5 == 0 { cols[4].appendNull() } else { cols[4].append(string: "web") }
        }
        return ColumnBatch(schemaVersion: 1, columns: cols)
    }

    static func measure(_ text: String, _ batch: ColumnBatch, iterations: Int) throws -> (rowsPerSecond: Double, passing: Int) {
        let f = try CompiledFilter(text, schema: DefinitionFixtures.orders)
        var selection: [UInt8] = []
        f.evaluate(batch, into: &selection)   // warm up
        // The machine is shared: report the best of several rounds.
        let clock = ContinuousClock()
        var seconds = Double.infinity
        for _ in 0..<10 {
            let elapsed = clock.measure {
                for _ in 0..<iterations { f.evaluate(batch, into: &selection) }
            }
            seconds = min(seconds, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return (Double(batch.count * iterations) / seconds, selection.reduce(0) { $0 + Int($1) })
    }

    @Test func statusEqualsCompleted() throws {
        let batch = Self.batch(rows: 10_000, seed: 42)
        for text in ["status = 'completed'", "amount_cents >= 5000", "status = 'completed' AND amount_cents >= 5000",
                     "status IN ('completed', 'refunded') OR channel IS NULL", "NOT (channel = 'web')"] {
            let (rate, passing) = try Self.measure(text, batch, iterations: 300)
            print("filter bench: \(text): \(Int(rate / 1e6)) M rows/s (\(passing) of \(batch.count) pass)")
            if text == "status = 'completed'" {
                #expect(passing > 2_000 && passing < 3_000)
                #expect(rate > 100e6, "status = 'completed' ran at \(rate) rows/s")
            }
        }
    }
}

/// XXH64 throughput (release only, same switch as ``FilterBenchmarkTests``): bulk bytes, and
/// the one-`u64` form HyperLogLog uses per value.
@Suite(.enabled(if: getenv("LAMBDASTORE_BENCH") != nil))
struct DefinitionXXH64BenchmarkTests {
    @Test func throughput() {
        var rng = SplitMix64(seed: 64)
        let bytes = (0..<(16 << 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let clock = ContinuousClock()
        var h: UInt64 = 0
        var best = Duration.seconds(1000)
        for _ in 0..<5 {
            best = min(best, clock.measure { h ^= XXH64.hash(bytes) })
        }
        let seconds = Double(best.components.attoseconds) / 1e18 + Double(best.components.seconds)
        print("xxh64 bench: \(Double(bytes.count) / seconds / 1e9) GB/s")
        let values = (0..<1_000_000).map { _ in rng.next() }
        best = Duration.seconds(1000)
        for _ in 0..<5 {
            best = min(best, clock.measure { for v in values { h ^= XXH64.hash(v) } })
        }
        let perValue = (Double(best.components.attoseconds) / 1e18 + Double(best.components.seconds)) / Double(values.count)
        print("xxh64 bench: \(perValue * 1e9) ns per u64 (\(h & 1))")
        #expect(seconds > 0)
    }
}

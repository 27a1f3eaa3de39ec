import Testing
@testable import LambdaStoreViews
import LambdaStoreCore
import LambdaStoreTestSupport

@Suite struct AggregationHyperLogLogTests {
    /// Estimates stay within the documented error: 3 relative standard errors (3 × 0.81 %),
    /// or ±2 for tiny cardinalities, at every checkpoint from 0 to 10^6 and over several value
    /// families (ints, shifted ints, strings).
    @Test func estimatesWithinDocumentedError() {
        let checkpoints: Set<Int> = [0, 1, 2, 3, 10, 50, 100, 500, 1000, 2048, 2049, 5000, 10_000, 30_000, 100_000, 300_000, 1_000_000]
        let tolerance = 3 * HyperLogLog.relativeStandardError
        var worst = 0.0
        for family in 0..<3 {
            let limit = family == 0 ? 1_000_000 : 100_000
            var h = HyperLogLog()
            for n in 0...limit {
                if checkpoints.contains(n) {
                    let est = Double(h.cardinality)
                    let err = abs(est - Double(n))
                    #expect(err <= Swift.max(2, tolerance * Double(n)), "family \(family), n \(n): estimate \(est)")
                    if n >= 1000 { worst = Swift.max(worst, err / Double(n)) }
                }
                if n == limit { break }
                switch family {
                case 0: h.insert(hash: DistinctHash.hash(int: Int64(n), type: .int64))
                case 1: h.insert(hash: DistinctHash.hash(int: Int64(n) * 7_919 - 1_000_000_007, type: .timestamp))
                default: h.insert(hash: DistinctHash.hash(.string("merchant-\(n)"))!)
                }
            }
        }
        print("HyperLogLog worst relative error for n >= 1000: \(worst)")
    }

    @Test func duplicatesDoNotCount() {
        var h = HyperLogLog()
        for _ in 0..<5 { for i in 0..<300 { h.insert(hash: DistinctHash.hash(int: Int64(i), type: .int64)) } }
        #expect(abs(h.cardinality - 300) <= 3)
    }

    /// Any split and merge order gives the same registers, representation and bytes.
    @Test(arguments: [10, 1500, 2100, 40_000])
    func mergeOrderDoesNotMatter(n: Int) {
        var rng = SplitMix64(seed: UInt64(n))
        var whole = HyperLogLog()
        let hashes = (0..<n).map { DistinctHash.hash(int: Int64($0), type: .int64) }
        for h in hashes { whole.insert(hash: h) }
        for trial in 0..<4 {
            var parts = [HyperLogLog](repeating: HyperLogLog(), count: 1 + Int(rng.next() % 7))
            for h in hashes.shuffled(using: &rng) { parts[Int(rng.next() % UInt64(parts.count))].insert(hash: h) }
            while parts.count > 1 {
                let a = parts.remove(at: Int(rng.next() % UInt64(parts.count)))
                parts[Int(rng.next() % UInt64(parts.count))].merge(a)
            }
            #expect(parts[0] == whole, "n \(n) trial \(trial)")
            #expect(AggregateState.countDistinct(parts[0]).encoded == AggregateState.countDistinct(whole).encoded)
            #expect(parts[0].estimate == whole.estimate)
        }
    }

    /// The sketch turns dense exactly past `sparseEntriesMax` non-zero registers, and the
    /// estimate depends on the registers only, not on the representation.
    @Test func sparseToDenseKeepsTheEstimate() {
        var h = HyperLogLog()
        var i: Int64 = 0
        var transitions = 0
        while h.isSparse {
            let before = h
            h.insert(hash: DistinctHash.hash(int: i, type: .int64))
            i += 1
            // The same registers held densely estimate the same.
            let dense = HyperLogLog(storage: .dense(HyperLogLog.densify({ if case .sparse(let e) = h.storage { return e } else { return [] } }())))
            if h.isSparse {
                #expect(h.nonZeroRegisterCount <= HyperLogLog.sparseEntriesMax)
                if i % 97 == 0 { #expect(dense.estimate == h.estimate) }
            } else {
                transitions += 1
                #expect(h.nonZeroRegisterCount == HyperLogLog.sparseEntriesMax + 1)
                #expect(before.nonZeroRegisterCount == HyperLogLog.sparseEntriesMax)
                var rebuilt = HyperLogLog(storage: .dense([UInt8](repeating: 0, count: HyperLogLog.registerCount)))
                for r in 0..<HyperLogLog.registerCount where h.register(r) != 0 { rebuilt.raise(register: r, to: h.register(r)) }
                #expect(rebuilt == h)
                #expect(rebuilt.estimate == h.estimate)
            }
        }
        #expect(transitions == 1)
        // Merging two sparse sketches whose union passes the threshold gives the dense form too.
        var a = HyperLogLog(), b = HyperLogLog()
        for k in 0..<1800 { a.insert(hash: DistinctHash.hash(int: Int64(k), type: .int64)) }
        for k in 1800..<3600 { b.insert(hash: DistinctHash.hash(int: Int64(k), type: .int64)) }
        #expect(a.isSparse && b.isSparse)
        a.merge(b)
        var c = HyperLogLog()
        for k in 0..<3600 { c.insert(hash: DistinctHash.hash(int: Int64(k), type: .int64)) }
        #expect(!a.isSparse && a == c)
    }

    @Test func allRegistersFullIsClamped() {
        var h = HyperLogLog()
        for r in 0..<HyperLogLog.registerCount { h.raise(register: r, to: HyperLogLog.registerValueMax) }
        #expect(h.cardinality == Int64.max)
        #expect(HyperLogLog().cardinality == 0)
    }
}

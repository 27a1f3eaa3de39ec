@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreTestSupport
import Testing

/// The drift comparison's in-place path for cells whose integer states are equal on both sides
/// (no states or values built) must add exactly what comparing their results adds.
@Suite struct DriftSameStatesTests {
    static let layout = ViewLayout(groupBy: [GroupField(name: "m", index: 1, type: .string)], window: .tumbling(size: 3_600_000),
                                   windowFieldIndex: 2, allowedLateness: 0,
                                   aggregates: [AggregateSlot(name: "n", function: .count, fieldIndex: nil, fieldType: nil),
                                                AggregateSlot(name: "s", function: .sum, fieldIndex: 0, fieldType: .int64),
                                                AggregateSlot(name: "a", function: .avg, fieldIndex: 0, fieldType: .int64)])

    static func sum(_ rng: inout SplitMix64) -> IntSum {
        let extremes: [Int128] = [0, -1, 1, Int128(Int64.max), Int128(Int64.min), Int128(Int64.max) * 3, Int128(Int64.min) * 5]
        let count = Int64(rng.next() % 4)   // 0: a sum of no value, a null result
        let s = rng.next() % 4 == 0 ? extremes[Int(rng.next() % UInt64(extremes.count))] : Int128(Int64(bitPattern: rng.next()) >> 20)
        return IntSum(sum: count == 0 ? 0 : s, count: count)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func sameStatesAddWhatTheirResultsAdd(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var truth = ViewTable(layout: Self.layout), served = ViewTable(layout: Self.layout)
        for i in 0..<3_000 {
            let cell = CellKey(windowStart: Int64(i / 300) * 3_600_000, key: GroupKey(values: [.string("m\(i % 300)")]))
            let t: [AggregateState] = [.count(Int64(rng.next() % 6)), .sumInt(Self.sum(&rng)), .avgInt(Self.sum(&rng))]
            var s = t
            switch rng.next() % 5 {
            case 0: s[0] = .count(Int64(rng.next() % 6))
            case 1: s[1] = .sumInt(Self.sum(&rng))
            case 2: s[2] = .avgInt(Self.sum(&rng))
            default: break   // the same states
            }
            truth.merge(states: t, into: cell)
            served.merge(states: s, into: cell)
        }
        #expect(truth.hasOnlyIntegerStates && truth.cellCount == served.cellCount)
        var slow = DriftAccumulator(names: ["n", "s", "a"], numeric: [true, true, true])
        var fast = slow
        var same = 0
        for c in 0..<truth.cellCount {
            let w = truth.cellWindowStartValue(c)
            let sr = served.results(ofCell: c), tr = truth.results(ofCell: c)
            slow.compare(window: w, served: sr, truth: tr)
            // Independent of the fast path: the states themselves, compared as states.
            let equalStates = (0..<3).allSatisfy { served.state(ofCell: c, aggregate: $0) == truth.state(ofCell: c, aggregate: $0) }
            #expect(served.sameIntegerStates(cell: c, as: truth, cell: c) == equalStates, "cell \(c)")
            for i in 0..<3 {
                let n = truth.integerResultNumber(ofCell: c, aggregate: i)
                #expect(n.bitPattern == DriftAccumulator.number(tr[i])?.bitPattern, "cell \(c) aggregate \(i): \(n) for \(tr[i])")
            }
            if served.sameIntegerStates(cell: c, as: truth, cell: c) {
                same += 1
                fast.compareSame { truth.integerResultNumber(ofCell: c, aggregate: $0) }
            } else {
                fast.compare(window: w, served: sr, truth: tr)
            }
        }
        #expect(same > 1_000 && same < 2_500, "\(same) cells with the same states")
        #expect(fast.compared == slow.compared && fast.differing == slow.differing && fast.differingWindows == slow.differingWindows)
        #expect(fast.relativeError.mapValues(\.bitPattern) == slow.relativeError.mapValues(\.bitPattern), "\(fast.relativeError) / \(slow.relativeError)")
    }
}

import Testing
@testable import LambdaStoreViews
import LambdaStoreCore
import LambdaStoreTestSupport

/// The 64-bit order prefix that sorts group keys (snapshot writes rank every key) against the
/// full comparison it stands in for, over adversarial values: extreme and neighbouring
/// integers, every float class (±0, ±inf, NaN, subnormals, values equal in their top 56 bits),
/// strings sharing long prefixes, with zero bytes, proper prefixes of each other, nulls, and
/// several fields.
@Suite struct GroupKeyOrderPrefixTests {
    static func randomValue(_ type: FieldType, _ rng: inout SplitMix64) -> Value {
        if rng.next() % 6 == 0 { return .null }
        switch type {
        case .int64, .timestamp:
            let picks: [Int64] = [.min, .min + 1, -256, -255, -1, 0, 1, 255, 256, 257, .max - 1, .max]
            let x: Int64 = rng.next() % 2 == 0 ? picks[Int(rng.next() % UInt64(picks.count))] : Int64(bitPattern: rng.next()) >> Int64(rng.next() % 64)
            return type == .int64 ? .int64(x) : .timestamp(x)
        case .float64:
            let picks: [Double] = [0, -0.0, 1, -1, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                                   .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1.0000000000000002, 1.0000000000000004]
            return .float64(rng.next() % 2 == 0 ? picks[Int(rng.next() % UInt64(picks.count))] : Double(bitPattern: rng.next()))
        case .bool:
            return .bool(rng.next() % 2 == 0)
        case .string:
            let alphabet: [UInt8] = [0, 1, 0x61, 0x62, 0x7F, 0xC3, 0xA9]
            let shared = [UInt8]("merchant".utf8)
            var b: [UInt8] = rng.next() % 2 == 0 ? Array(shared.prefix(Int(rng.next() % 9))) : []
            for _ in 0..<Int(rng.next() % 6) { b.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            return .string(String(decoding: b, as: UTF8.self))
        }
    }

    @Test(arguments: 0..<20)
    func prefixIsMonotoneAndRanksEqualAComparisonSort(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 3)
        let all: [FieldType] = [.int64, .timestamp, .float64, .bool, .string]
        let types = (0..<(1 + Int(rng.next() % 3))).map { _ in all[Int(rng.next() % UInt64(all.count))] }
        var keys = Set<GroupKey>()
        for _ in 0..<400 { keys.insert(GroupKey(values: types.map { Self.randomValue($0, &rng) })) }
        let list = Array(keys)
        // Monotone: a < b implies prefix(a) <= prefix(b), for every pair.
        for a in list {
            for b in list where GroupKey.compare(a.bytes, b.bytes) < 0 {
                #expect(GroupKey.orderPrefix(a.bytes) <= GroupKey.orderPrefix(b.bytes), "seed \(seed): \(a) < \(b) but prefixes decrease")
            }
        }
        // keyRanks, which sorts by prefix, ranks keys as a plain comparison sort does.
        let layout = ViewLayout(groupBy: types.enumerated().map { GroupField(name: "g\($0.offset)", index: $0.offset, type: $0.element) },
                                window: .none, windowFieldIndex: nil, allowedLateness: 0,
                                aggregates: [AggregateSlot(name: "n", function: .count, fieldIndex: nil, fieldType: nil)])
        var table = ViewTable(layout: layout)
        for k in list { table.merge(states: [.count(1)], into: CellKey(windowStart: nil, key: k)) }
        let ranks = table.keyRanks()
        let naive = table.keys.indices.sorted { table.keys[$0] < table.keys[$1] }
        #expect(naive.map { Int(ranks[$0]) } == Array(0..<naive.count), "seed \(seed): ranks")
    }
}

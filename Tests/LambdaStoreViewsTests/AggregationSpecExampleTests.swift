import Testing
import Foundation
@testable import LambdaStoreViews
import LambdaStoreCore

/// The worked examples of format-spec.md §3b: each hex string must appear verbatim in the spec,
/// decode to the stated state, and be what the encoder writes — so the spec cannot drift.
@Suite struct AggregationSpecExampleTests {
    static func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined(separator: " ") }

    static func examples() -> [(String, AggregateState, Value)] {
        var sumInt = IntSum(); sumInt.add(5); sumInt.add(-2)
        var sumFloat = ExactFloatSum(); sumFloat.add(0.5); sumFloat.add(0.25)
        var negFloat = ExactFloatSum(); negFloat.add(-1.0)
        var hll = HyperLogLog(); hll.insert(hash: DistinctHash.hash(.int64(1))!)
        return [
            ("count", .count(3), .int64(3)),
            ("sum int64", .sumInt(sumInt), .int64(3)),
            ("sum float64", .sumFloat(sumFloat), .float64(0.75)),
            ("avg float64", .avgFloat(negFloat), .float64(-1)),
            ("max string", .max(.string(Array("ab".utf8))), .string("ab")),
            ("min timestamp, no value", .min(.timestamp(nil)), .null),
            ("count_distinct", .countDistinct(hll), .int64(1)),
        ]
    }

    static let spec: String = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("format-spec.md")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }()

    @Test func statesInTheSpec() throws {
        #expect(!Self.spec.isEmpty, "format-spec.md not found")
        for (name, state, value) in Self.examples() {
            let h = Self.hex(state.encoded)
            #expect(Self.spec.contains(h), "§3b lacks the \(name) example: \(h)")
            let bytes = h.split(separator: " ").compactMap { UInt8($0, radix: 16) }
            #expect(try AggregateState(decoding: bytes) == state, "\(name)")
            #expect(sameValue(state.result, value), "\(name): \(state.result)")
        }
    }

    @Test func groupKeyInTheSpec() {
        let k = GroupKey(values: [.string("m1"), .null, .int64(7)])
        let h = Self.hex(k.bytes)
        #expect(Self.spec.contains(h), "§3b lacks the group key example: \(h)")
        #expect(k.values == [.string("m1"), .null, .int64(7)])
    }
}

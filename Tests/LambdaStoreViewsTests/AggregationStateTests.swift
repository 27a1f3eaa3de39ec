import Testing
@testable import LambdaStoreViews
import LambdaStoreCore
import LambdaStoreTestSupport

/// CPython's `math.fsum` (Shewchuk partials + the final half-even correction), written plainly:
/// the independent reference for ``ExactFloatSum/sum`` on finite inputs that do not overflow.
func referenceFsum(_ values: [Double]) -> Double {
    var partials: [Double] = []
    for var x in values {
        var i = 0
        for var y in partials {
            if abs(x) < abs(y) { swap(&x, &y) }
            let hi = x + y
            let lo = y - (hi - x)
            if lo != 0 { partials[i] = lo; i += 1 }
            x = hi
        }
        partials.removeSubrange(i...)
        partials.append(x)
    }
    var n = partials.count
    var hi = 0.0
    if n > 0 {
        n -= 1
        hi = partials[n]
        var lo = 0.0
        while n > 0 {
            let x = hi
            n -= 1
            let y = partials[n]
            hi = x + y
            let yr = hi - x
            lo = y - yr
            if lo != 0 { break }
        }
        if n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0)) {
            let y = lo * 2
            let x = hi + y
            let yr = x - hi
            if y == yr { hi = x }
        }
    }
    return hi == 0 ? 0 : hi   // LambdaStore: an exact zero is +0.0
}

/// A random double of widely varying magnitude (finite, |x| < 2^900), often with cancellation.
func randomWideDouble(_ rng: inout SplitMix64) -> Double {
    switch rng.next() % 8 {
    case 0: return Double(bitPattern: rng.next() & 0x000F_FFFF_FFFF_FFFF)            // subnormal
    case 1: return Double(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: Int(rng.next() % 1800) - 900, significand: 1 + Double(rng.next() % 1_000_000) / 1_000_000)
    case 2: return Double(Int64(bitPattern: rng.next()) >> 20) / 100
    case 3: return [0.1, 0.2, 0.3, -0.1, 1e16, -1e16, 1, -1, 0, -0.0][Int(rng.next() % 10)]
    default: return Double(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: Int(rng.next() % 120) - 60, significand: 1 + Double(rng.next() % 1_000_000) / 1_000_000)
    }
}

@Suite struct AggregationExactSumTests {
    @Test(arguments: 0..<40)
    func matchesFsumAndIsOrderIndependent(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &* 0x51_7CC1)
        let n = Int(rng.next() % 200)
        var values = (0..<n).map { _ in randomWideDouble(&rng) }
        if seed % 3 == 0 { values += values.map { -$0 }.shuffled(using: &rng) }   // exact cancellation
        var s = ExactFloatSum()
        for v in values { s.add(v) }
        let expected = referenceFsum(values)
        #expect(s.sum.bitPattern == expected.bitPattern, "seed \(seed): \(s.sum) vs fsum \(expected)")
        #expect(s.count == Int64(values.count))
        // Any split and merge order gives the same state (canonical) and so the same bytes.
        let shuffled = values.shuffled(using: &rng)
        var parts: [ExactFloatSum] = []
        var i = 0
        while i < shuffled.count {
            let k = 1 + Int(rng.next() % 20)
            var p = ExactFloatSum()
            for v in shuffled[i..<Swift.min(shuffled.count, i + k)] { p.add(v) }
            parts.append(p)
            i += k
        }
        while parts.count > 1 {
            let a = parts.remove(at: Int(rng.next() % UInt64(parts.count)))
            let b = Int(rng.next() % UInt64(parts.count))
            parts[b].merge(a)
        }
        let merged = parts.first ?? ExactFloatSum()
        #expect(merged == s, "seed \(seed): merged state differs")
        #expect(AggregateState.sumFloat(merged).encoded == AggregateState.sumFloat(s).encoded)
    }

    @Test func specialValues() {
        func sum(_ v: [Double]) -> Double { var s = ExactFloatSum(); for x in v { s.add(x) }; return s.sum }
        #expect(sum([]) == 0)
        #expect(sum([1, .infinity, 5]) == .infinity)
        #expect(sum([1, -.infinity]) == -.infinity)
        #expect(sum([.infinity, -.infinity]).isNaN)
        #expect(sum([1, .nan, 2]).isNaN)
        #expect(sum([-0.0]).bitPattern == (0.0).bitPattern)   // exact zero is +0.0
        #expect(sum([0.1, 0.2, 0.3]) == 0.6)                  // correctly rounded, not 0.6000000000000001
        #expect(sum([1e308, 1e308]) == .infinity)             // overflow of the exact total rounds to +inf
        #expect(sum([1e308, 1e308, -1e308]) == 1e308)         // no intermediate overflow
        #expect(sum([-Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude]) == -.infinity)
        #expect(sum([Double.leastNonzeroMagnitude, Double.leastNonzeroMagnitude]) == 2 * Double.leastNonzeroMagnitude)
        #expect(sum([1, 0x1p-53]) == 1)                       // tie rounds to even
        #expect(sum([1, 0x1p-53, 0x1p-1074]) == 1 + 0x1p-52)  // sticky bit breaks the tie
        #expect(sum([Double.greatestFiniteMagnitude, 0x1p970]) == .infinity)        // exactly half an ulp above max: to even → inf
        #expect(sum([Double.greatestFiniteMagnitude, 0x1p969]) == .greatestFiniteMagnitude)
    }
}

@Suite struct AggregationStateSemanticsTests {
    func slot(_ f: AggregateFunction, _ t: FieldType?) -> AggregateSlot {
        AggregateSlot(name: "a", function: f, fieldIndex: t == nil ? nil : 0, fieldType: t)
    }

    @Test func kindsResolveAndRejectBadTypes() throws {
        #expect(try AggregateKind(slot(.sum, .int64)) == .sumInt)
        #expect(try AggregateKind(slot(.sum, .float64)) == .sumFloat)
        #expect(try AggregateKind(slot(.avg, .int64)) == .avgInt)
        #expect(try AggregateKind(slot(.min, .string)) == .min(.string))
        #expect(try AggregateKind(slot(.count, nil)) == .count)
        #expect(try AggregateKind(slot(.countDistinct, .bool)) == .countDistinct)
        for (f, t) in [(AggregateFunction.sum, FieldType.string), (.sum, .timestamp), (.avg, .bool), (.min, .bool), (.max, nil), (.countDistinct, nil), (.sum, nil)] {
            #expect(throws: LambdaStoreError.self) { try AggregateKind(slot(f, t)) }
        }
    }

    @Test func resultsOverNoValues() {
        #expect(AggregateKind.count.identity.result == .int64(0))
        #expect(AggregateKind.countDistinct.identity.result == .int64(0))
        for k in [AggregateKind.sumInt, .sumFloat, .avgInt, .avgFloat, .min(.int64), .max(.string), .min(.float64), .max(.timestamp)] {
            #expect(k.identity.result == .null, "\(k)")
        }
    }

    @Test func integerSumIsExactAndClampsItsResult() {
        var s = IntSum()
        s.add(.max); s.add(.max); s.add(-5)
        #expect(s.sum == Int128(Int64.max) * 2 - 5)
        #expect(AggregateState.sumInt(s).result == .int64(.max))          // clamped, documented
        s.add(.min); s.add(.min)
        #expect(AggregateState.sumInt(s).result == .int64(-7))            // back in range: exact
        var n = IntSum()
        n.add(.min); n.add(-1)
        #expect(AggregateState.sumInt(n).result == .int64(.min))
        #expect(AggregateState.avgInt(IntSum(sum: 7, count: 2)).result == .float64(3.5))
    }

    @Test func minMaxOrders() {
        func fold(_ vals: [Double], min: Bool) -> Double? {
            var e = Extreme.float64(nil)
            for v in vals { e.combine(.float64(v), isMin: min) }
            if case .float64(let d) = e { return d }
            return nil
        }
        let vals: [Double] = [3, .nan, -0.0, 0.0, -.infinity, .infinity]
        #expect(fold(vals, min: false)?.isNaN == true)                         // NaN is the largest
        #expect(fold(vals, min: true) == -.infinity)
        #expect(fold([0.0, -0.0], min: true)?.bitPattern == (-0.0).bitPattern)  // -0.0 < +0.0, any order
        #expect(fold([-0.0, 0.0], min: true)?.bitPattern == (-0.0).bitPattern)
        #expect(fold([Double(bitPattern: 0x7FF8_0000_0000_0042)], min: true)?.bitPattern == CanonicalFloat.nanBits)
        var s = Extreme.string(nil)
        for v in ["b", "ab", "a", "é", "z"] { s.combine(.string(Array(v.utf8)), isMin: false) }
        #expect(s.value == .string("é"))                                        // 0xC3 > 'z'
        var m = Extreme.string(nil)
        for v in ["b", "ab", "a", "", "z"] { m.combine(.string(Array(v.utf8)), isMin: true) }
        #expect(m.value == .string(""))
        var t = Extreme.timestamp(nil)
        t.combine(.timestamp(5), isMin: true); t.combine(.timestamp(-5), isMin: true)
        #expect(t.value == .timestamp(-5))
    }
}

/// Random states of every kind, for codec tests.
func randomStates(_ rng: inout SplitMix64) -> [AggregateState] {
    var out: [AggregateState] = [.count(0), .count(Int64(rng.next() >> 2))]
    for k in [AggregateKind.sumInt, .avgInt] {
        out.append(k.identity)
        var s = IntSum()
        for _ in 0..<(1 + rng.next() % 5) { s.add(Int64(bitPattern: rng.next())) }
        out.append(k == .sumInt ? .sumInt(s) : .avgInt(s))
    }
    for k in [AggregateKind.sumFloat, .avgFloat] {
        out.append(k.identity)
        var s = ExactFloatSum()
        for _ in 0..<(1 + rng.next() % 6) { s.add(randomWideDouble(&rng)) }
        if rng.next() % 3 == 0 { s.add([.infinity, -.infinity, .nan][Int(rng.next() % 3)]) }
        out.append(k == .sumFloat ? .sumFloat(s) : .avgFloat(s))
    }
    for isMin in [true, false] {
        let es: [Extreme] = [.int64(nil), .int64(Int64(bitPattern: rng.next())), .timestamp(nil), .timestamp(-5),
                             .float64(nil), .float64(-0.0), .float64(Double(bitPattern: CanonicalFloat.nanBits)), .float64(randomWideDouble(&rng)),
                             .string(nil), .string([]), .string(Array("merchant-é".utf8))]
        for e in es { out.append(isMin ? .min(e) : .max(e)) }
    }
    var h = HyperLogLog()
    out.append(.countDistinct(h))
    for i in 0..<50 { h.insert(hash: DistinctHash.hash(int: Int64(i), type: .int64)) }
    out.append(.countDistinct(h))
    for i in 0..<5000 { h.insert(hash: DistinctHash.hash(int: Int64(i) + 1000, type: .int64)) }
    #expect(!h.isSparse)
    out.append(.countDistinct(h))
    return out
}

@Suite struct AggregationStateCodecTests {
    @Test func roundTripAndEveryTruncationIsRejected() throws {
        var rng = SplitMix64(seed: 0xC0DEC)
        for state in randomStates(&rng) {
            let bytes = state.encoded
            let back = try AggregateState(decoding: bytes)
            #expect(back == state, "\(state.kind)")
            #expect(back.encoded == bytes)
            // Every proper prefix is rejected, and so is a trailing byte.
            for cut in 0..<bytes.count {
                #expect(throws: LambdaStoreError.self, "\(state.kind) cut at \(cut)") { _ = try AggregateState(decoding: Array(bytes[..<cut])) }
            }
            #expect(throws: LambdaStoreError.self) { _ = try AggregateState(decoding: bytes + [0]) }
        }
    }

    @Test func decodingChecksAStreamOfStates() throws {
        var rng = SplitMix64(seed: 77)
        let states = randomStates(&rng)
        var w = ByteWriter()
        for s in states { s.encode(into: &w) }
        let decoded = try w.bytes.withUnsafeBytes { b throws(LambdaStoreError) -> [AggregateState] in
            var r = ByteReader(b)
            var out: [AggregateState] = []
            while !r.isAtEnd { out.append(try AggregateState(decoding: &r)) }
            return out
        }
        #expect(decoded == states)
    }

    /// Byte surgery: each non-canonical or out-of-range encoding is corruption.
    @Test(arguments: [
        ("unknown tag", [9, 0, 0, 0, 0, 0, 0, 0, 0]),
        ("negative count", [1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        ("int sum of no values not zero", [2, 0, 0, 0, 0, 0, 0, 0, 0] + [1] + [UInt8](repeating: 0, count: 15)),
        ("float sum lowest limb zero", [3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 8)),
        ("float sum redundant top limb", [3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 8)),
        ("float sum unknown flag", [3, 1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0]),
        ("float sum beyond limb bound", [3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 40, 1, 1, 0, 0, 0, 0, 0, 0, 0]),
        ("float sum of no values with flags", [3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]),
        ("min over bool", [6, 4, 0]),
        ("presence 2", [6, 1, 2]),
        ("non-canonical NaN", [7, 2, 1, 1, 0, 0, 0, 0, 0, 0xF8, 0x7F]),
        ("string beyond limit", [6, 3, 1, 0xFF, 0xFF, 0xFF, 0x7F]),
        ("sketch precision", [8, 12, 0, 0, 0]),
        ("sketch representation", [8, 14, 2, 0, 0]),
        ("sparse value 0", [8, 14, 0, 1, 0, 0, 0, 0, 0]),
        ("sparse value 52", [8, 14, 0, 1, 0, 52, 0, 0, 0]),
        ("sparse out of order", [8, 14, 0, 2, 0, 1, 5, 0, 0, 1, 5, 0, 0]),
        ("sparse register beyond 16383", [8, 14, 0, 1, 0, 1, 0, 0x40, 0]),
        ("sparse too many entries", [8, 14, 0, 0x01, 0x08]),
    ] as [(String, [UInt8])])
    func corruptEncodings(name: String, bytes: [UInt8]) {
        #expect(throws: LambdaStoreError.self, "\(name)") { _ = try AggregateState(decoding: bytes) }
    }

    @Test func denseSketchMustBeCanonical() throws {
        var few = [8, 14, 1] + [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        for i in 0..<HyperLogLog.sparseEntriesMax { few[3 + i] = 1 }
        #expect(throws: LambdaStoreError.self) { _ = try AggregateState(decoding: few) }   // must be sparse
        var enough = few
        enough[3 + HyperLogLog.sparseEntriesMax] = 7
        let s = try AggregateState(decoding: enough)
        #expect(s.encoded == enough)
        var tooBig = enough
        tooBig[10] = 52
        #expect(throws: LambdaStoreError.self) { _ = try AggregateState(decoding: tooBig) }
    }
}

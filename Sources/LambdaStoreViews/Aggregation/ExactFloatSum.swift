import LambdaStoreCore

/// The exact sum of a multiset of `float64` values: the state of `sum` and `avg` over a
/// `float64` field (format-spec.md §3b.3).
///
/// Every finite double is an integer multiple of 2⁻¹⁰⁷⁴, so the sum of finite values is kept
/// exactly as a two's-complement integer `N` in those units (a fixed-point "superaccumulator"),
/// stored as a few 64-bit limbs starting at limb ``lowLimb``. Integer addition is associative and
/// commutative, so the state — not only the result — is identical however the values were split
/// or merged, and its encoding is canonical: parallel batch runs and incremental runs write the
/// same bytes. ``sum`` is the correctly rounded (round-half-to-even) value of the exact sum, the
/// same number `math.fsum` returns; a Shewchuk partials list gives the same result but not a
/// canonical state, which is why this form was chosen.
///
/// Non-finite values are tracked apart: any NaN, or both +∞ and −∞, makes the sum NaN; otherwise
/// an infinity makes it that infinity. An exact zero sum is `+0.0`. A finite exact sum beyond the
/// double range rounds to ±∞ as IEEE-754 prescribes.
///
/// Thread safety: a value type.
public struct ExactFloatSum: Sendable, Hashable {
    /// The number of values added (finite or not).
    public private(set) var count: Int64
    /// Bit 0: +∞ seen, bit 1: −∞ seen, bit 2: NaN seen.
    public private(set) var specials: UInt8
    /// The limb index of `limbs[0]`: limb `i` holds bits `64·(lowLimb+i) ..< 64·(lowLimb+i+1)` of `N`.
    public private(set) var lowLimb: Int
    /// `N` in two's complement, least significant limb first, canonical: empty when `N == 0`,
    /// otherwise `limbs[0] != 0` and the top limb is not a redundant sign extension.
    public private(set) var limbs: [UInt64]

    static let positiveInfinityBit: UInt8 = 1
    static let negativeInfinityBit: UInt8 = 2
    static let nanBit: UInt8 = 4
    /// Limb positions a state may use: `N` is below 2²¹⁶² in magnitude for up to 2⁶³ values, so 34
    /// limbs suffice; decoding accepts up to this bound.
    public static let limbPositionsMax = 40

    /// The empty sum (no values).
    public init() {
        count = 0
        specials = 0
        lowLimb = 0
        limbs = []
    }

    /// A state from its parts, validated as in format-spec.md §3b.3.
    /// - Throws: ``LambdaStoreError/Code/corruption`` when the parts are not canonical.
    public init(count: Int64, specials: UInt8, lowLimb: Int, limbs: [UInt64]) throws(LambdaStoreError) {
        guard count >= 0 else { throw LambdaStoreError(.corruption, "float sum count \(count) is negative") }
        guard specials & ~7 == 0 else { throw LambdaStoreError(.corruption, "float sum flags \(specials) has unknown bits") }
        guard lowLimb >= 0, limbs.count <= Self.limbPositionsMax, lowLimb + limbs.count <= Self.limbPositionsMax else {
            throw LambdaStoreError(.corruption, "float sum limbs \(lowLimb)+\(limbs.count) beyond \(Self.limbPositionsMax)")
        }
        if limbs.isEmpty {
            guard lowLimb == 0 else { throw LambdaStoreError(.corruption, "float sum of zero has low limb \(lowLimb)") }
        } else {
            guard limbs[0] != 0 else { throw LambdaStoreError(.corruption, "float sum lowest limb is zero") }
            guard !Self.topIsRedundant(limbs) else { throw LambdaStoreError(.corruption, "float sum top limb is a redundant sign extension") }
        }
        guard count > 0 || (specials == 0 && limbs.isEmpty) else {
            throw LambdaStoreError(.corruption, "float sum of no values is not empty")
        }
        self.count = count
        self.specials = specials
        self.lowLimb = lowLimb
        self.limbs = limbs
    }

    @inline(__always)
    static func topIsRedundant(_ l: [UInt64]) -> Bool {
        let n = l.count
        if n == 1 { return l[0] == 0 }
        guard n >= 2 else { return false }
        let top = l[n - 1], below = l[n - 2] >> 63
        return (top == 0 && below == 0) || (top == ~0 && below == 1)
    }

    /// Adds one value.
    /// - Complexity: O(limbs), a handful of limbs for real data.
    public mutating func add(_ x: Double) {
        count &+= 1
        let bits = x.bitPattern
        let e = Int((bits >> 52) & 0x7FF)
        let frac = bits & 0x000F_FFFF_FFFF_FFFF
        if e == 0x7FF {
            if frac != 0 { specials |= Self.nanBit } else { specials |= (bits >> 63 == 0) ? Self.positiveInfinityBit : Self.negativeInfinityBit }
            return
        }
        if e == 0 && frac == 0 { return }
        let m = e == 0 ? frac : frac | (1 << 52)   // value = m · 2^(s - 1074)
        let s = e == 0 ? 0 : e - 1
        addShifted(mantissa: m, shift: s, negative: bits >> 63 != 0)
    }

    mutating func addShifted(mantissa m: UInt64, shift s: Int, negative: Bool) {
        let k = s >> 6, o = UInt64(s & 63)
        var l0 = m << o
        var l1 = o == 0 ? 0 : m >> (64 - o)
        var l2: UInt64 = 0
        if negative {
            // Two's complement negation of the 3-limb value.
            l0 = ~l0; l1 = ~l1; l2 = ~l2
            var c: Bool
            (l0, c) = l0.addingReportingOverflow(1)
            if c { (l1, c) = l1.addingReportingOverflow(1); if c { l2 &+= 1 } }
        }
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 3) { b in
            b[0] = l0; b[1] = l1; b[2] = l2
            addLimbs(UnsafeBufferPointer(b), at: k)
        }
    }

    /// Adds every value of `other` (the monoid merge).
    /// - Complexity: O(limbs).
    public mutating func merge(_ other: ExactFloatSum) {
        count &+= other.count
        specials |= other.specials
        other.limbs.withUnsafeBufferPointer { addLimbs($0, at: other.lowLimb) }
    }

    /// Adds a two's-complement number `b` (sign-extended beyond its top limb) whose limb 0 sits
    /// at limb position `bLow`, then restores the canonical form.
    mutating func addLimbs(_ b: UnsafeBufferPointer<UInt64>, at bLow: Int) {
        if b.isEmpty { return }
        if limbs.isEmpty {
            limbs = Array(b)
            lowLimb = bLow
            normalize()
            return
        }
        let bExt: UInt64 = b[b.count - 1] >> 63 == 0 ? 0 : ~0
        let aExt: UInt64 = limbs[limbs.count - 1] >> 63 == 0 ? 0 : ~0
        let top = Swift.max(lowLimb + limbs.count, bLow + b.count)   // exclusive
        if bLow < lowLimb {
            limbs.insert(contentsOf: repeatElement(0, count: lowLimb - bLow), at: 0)
            lowLimb = bLow
        }
        if lowLimb + limbs.count < top {
            limbs.append(contentsOf: repeatElement(aExt, count: top - lowLimb - limbs.count))
        }
        var carry: UInt64 = 0
        let base = lowLimb
        limbs.withUnsafeMutableBufferPointer { a in
            for i in 0..<a.count {
                let j = base + i - bLow
                let bv: UInt64 = j < 0 ? 0 : (j < b.count ? b[j] : bExt)
                let (s1, c1) = a[i].addingReportingOverflow(bv)
                let (s2, c2) = s1.addingReportingOverflow(carry)
                a[i] = s2
                carry = (c1 ? 1 : 0) + (c2 ? 1 : 0)
            }
        }
        let extra = aExt &+ bExt &+ carry
        let resultExt: UInt64 = limbs[limbs.count - 1] >> 63 == 0 ? 0 : ~0
        if extra != resultExt { limbs.append(extra) }
        normalize()
    }

    mutating func normalize() {
        while Self.topIsRedundant(limbs) { limbs.removeLast() }
        if limbs.isEmpty { lowLimb = 0; return }
        var z = 0
        while z < limbs.count && limbs[z] == 0 { z += 1 }
        if z > 0 {
            limbs.removeFirst(z)
            lowLimb += z
        }
    }

    /// Whether the exact sum of the finite values is negative.
    var isNegative: Bool { limbs.last.map { $0 >> 63 != 0 } ?? false }

    /// The correctly rounded sum of the values (see the type's discussion), `0.0` when empty.
    public var sum: Double {
        if specials & Self.nanBit != 0 { return .nan }
        if specials & (Self.positiveInfinityBit | Self.negativeInfinityBit) == (Self.positiveInfinityBit | Self.negativeInfinityBit) { return .nan }
        if specials & Self.positiveInfinityBit != 0 { return .infinity }
        if specials & Self.negativeInfinityBit != 0 { return -.infinity }
        if limbs.isEmpty { return 0 }
        let negative = isNegative
        var mag = limbs
        if negative {
            var carry: UInt64 = 1
            for i in 0..<mag.count {
                let (v, c) = (~mag[i]).addingReportingOverflow(carry)
                mag[i] = v
                carry = c ? 1 : 0
            }
        }
        // Highest set bit of the magnitude (absolute bit index in units of 2^-1074).
        var t = mag.count - 1
        while t > 0 && mag[t] == 0 { t -= 1 }
        let h = 64 * (lowLimb + t) + (63 - mag[t].leadingZeroBitCount)
        func bit(_ i: Int) -> UInt64 {
            let li = (i >> 6) - lowLimb
            guard li >= 0, li < mag.count else { return 0 }
            return (mag[li] >> UInt64(i & 63)) & 1
        }
        var bits: UInt64
        if h <= 52 {
            bits = mag[0]   // lowLimb is 0 here: the value is exact (subnormal or smallest normals)
        } else {
            var mant: UInt64 = 0
            for i in stride(from: h, through: h - 52, by: -1) { mant = (mant << 1) | bit(i) }
            let roundBit = bit(h - 53)
            var sticky = false
            if roundBit == 1 {
                let below = h - 53   // any set bit strictly below `below`?
                for li in 0..<mag.count {
                    let lo = 64 * (lowLimb + li)
                    if lo >= below { break }
                    let width = below - lo
                    let m: UInt64 = width >= 64 ? ~0 : (1 << UInt64(width)) - 1
                    if mag[li] & m != 0 { sticky = true; break }
                }
                if sticky || mant & 1 == 1 { mant += 1 }
            }
            if h - 51 >= 2047 { return negative ? -.infinity : .infinity }
            bits = (UInt64(h - 52) << 52) &+ mant
            if bits >= 0x7FF0_0000_0000_0000 { return negative ? -.infinity : .infinity }
        }
        if negative { bits |= 1 << 63 }
        return Double(bitPattern: bits)
    }
}

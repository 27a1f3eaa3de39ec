import LambdaStoreCore

/// Tags of encoded aggregate states (format-spec.md §3b.2).
enum AggregateStateTag: UInt8 {
    case count = 1, sumInt = 2, sumFloat = 3, avgInt = 4, avgFloat = 5, min = 6, max = 7, countDistinct = 8
}

extension AggregateState {
    /// Appends the binary encoding of this state (format-spec.md §3b.2): a tag byte, then the
    /// body of the state's kind. The encoding is canonical: equal states encode to equal bytes.
    /// - Complexity: O(encoded size).
    public func encode(into w: inout ByteWriter) {
        switch self {
        case .count(let n):
            w.write(AggregateStateTag.count.rawValue)
            w.write(n)
        case .sumInt(let s), .avgInt(let s):
            w.write((self.kind == .sumInt ? AggregateStateTag.sumInt : .avgInt).rawValue)
            w.write(s.count)
            w.write(UInt64(truncatingIfNeeded: s.sum))
            w.write(Int64(truncatingIfNeeded: s.sum >> 64))
        case .sumFloat(let s), .avgFloat(let s):
            w.write((self.kind == .sumFloat ? AggregateStateTag.sumFloat : .avgFloat).rawValue)
            w.write(s.count)
            w.write(s.specials)
            w.write(UInt8(truncatingIfNeeded: s.lowLimb))
            w.write(UInt8(truncatingIfNeeded: s.limbs.count))
            for l in s.limbs { w.write(l) }
        case .min(let e), .max(let e):
            w.write((self.kind == .min(e.type) ? AggregateStateTag.min : .max).rawValue)
            w.write(e.type.rawValue)
            switch e {
            case .int64(let v), .timestamp(let v):
                w.write(UInt8(v == nil ? 0 : 1))
                if let v { w.write(v) }
            case .float64(let v):
                w.write(UInt8(v == nil ? 0 : 1))
                if let v { w.write(v.bitPattern) }
            case .string(let v):
                w.write(UInt8(v == nil ? 0 : 1))
                if let v {
                    w.write(UInt32(truncatingIfNeeded: v.count))
                    w.write(bytes: v)
                }
            }
        case .countDistinct(let h):
            w.write(AggregateStateTag.countDistinct.rawValue)
            w.write(UInt8(HyperLogLog.precision))
            switch h.storage {
            case .sparse(let e):
                w.write(UInt8(0))
                w.write(UInt16(truncatingIfNeeded: e.count))
                for x in e { w.write(x) }
            case .dense(let r):
                w.write(UInt8(1))
                w.write(bytes: r)
            }
        }
    }

    /// The encoding as a new array.
    public var encoded: [UInt8] {
        var w = ByteWriter()
        encode(into: &w)
        return w.bytes
    }

    /// Decodes one state from `r`, consuming exactly its bytes, and checks that it is canonical
    /// (format-spec.md §3b.2 validation rules). Every length is bounded before allocation.
    /// - Throws: ``LambdaStoreError/Code/corruption`` with the offset in `r`'s file on any
    ///   truncation, unknown tag or type, out-of-range or non-canonical value.
    public init(decoding r: inout ByteReader) throws(LambdaStoreError) {
        let at = r.base + Int64(r.position)
        let rawTag = try r.read(UInt8.self, "aggregate state tag")
        guard let tag = AggregateStateTag(rawValue: rawTag) else {
            throw LambdaStoreError(.corruption, "unknown aggregate state tag \(rawTag)", offset: at)
        }
        func fail(_ m: String) -> LambdaStoreError {
            LambdaStoreError(.corruption, m, offset: r.base + Int64(r.position))
        }
        switch tag {
        case .count:
            let n = try r.read(Int64.self, "count state")
            guard n >= 0 else { throw fail("count state \(n) is negative") }
            self = .count(n)
        case .sumInt, .avgInt:
            let n = try r.read(Int64.self, "integer sum count")
            let lo = try r.read(UInt64.self, "integer sum low bits")
            let hi = try r.read(Int64.self, "integer sum high bits")
            let sum = (Int128(hi) << 64) | Int128(lo)
            guard n >= 0 else { throw fail("integer sum count \(n) is negative") }
            guard n > 0 || sum == 0 else { throw fail("integer sum of no values is \(sum)") }
            let s = IntSum(sum: sum, count: n)
            self = tag == .sumInt ? .sumInt(s) : .avgInt(s)
        case .sumFloat, .avgFloat:
            let n = try r.read(Int64.self, "float sum count")
            let flags = try r.read(UInt8.self, "float sum flags")
            let low = Int(try r.read(UInt8.self, "float sum low limb"))
            let k = Int(try r.read(UInt8.self, "float sum limb count"))
            try r.bound(low + k, max: ExactFloatSum.limbPositionsMax, "float sum limb positions")
            let raw = try r.readSlice(8 * k, "float sum limbs")
            var limbs: [UInt64] = []
            limbs.reserveCapacity(k)
            for i in 0..<k { limbs.append(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
            let s: ExactFloatSum
            do throws(LambdaStoreError) {
                s = try ExactFloatSum(count: n, specials: flags, lowLimb: low, limbs: limbs)
            } catch {
                throw fail(error.message)
            }
            self = tag == .sumFloat ? .sumFloat(s) : .avgFloat(s)
        case .min, .max:
            let rawType = try r.read(UInt8.self, "min/max type")
            guard let t = FieldType(rawValue: rawType), t != .bool else { throw fail("min/max type code \(rawType) is not orderable") }
            let present = try r.read(UInt8.self, "min/max presence")
            guard present <= 1 else { throw fail("min/max presence byte \(present) is not 0 or 1") }
            var e = Extreme(type: t)
            if present == 1 {
                switch t {
                case .int64: e = .int64(try r.read(Int64.self, "min/max value"))
                case .timestamp: e = .timestamp(try r.read(Int64.self, "min/max value"))
                case .float64:
                    let bits = try r.read(UInt64.self, "min/max value")
                    let d = Double(bitPattern: bits)
                    guard !d.isNaN || bits == CanonicalFloat.nanBits else { throw fail("min/max NaN is not canonical") }
                    e = .float64(d)
                case .string:
                    let n = Int(try r.read(UInt32.self, "min/max string length"))
                    try r.bound(n, max: Limits.stringBytesMax, "min/max string length")
                    e = .string(try r.readBytes(n, "min/max string"))
                case .bool: throw fail("min/max over bool")
                }
            }
            self = tag == .min ? .min(e) : .max(e)
        case .countDistinct:
            let p = try r.read(UInt8.self, "sketch precision")
            guard Int(p) == HyperLogLog.precision else { throw fail("sketch precision \(p), expected \(HyperLogLog.precision)") }
            let rep = try r.read(UInt8.self, "sketch representation")
            var h = HyperLogLog()
            switch rep {
            case 0:
                let n = Int(try r.read(UInt16.self, "sparse sketch entry count"))
                try r.bound(n, max: HyperLogLog.sparseEntriesMax, "sparse sketch entry count")
                let raw = try r.readSlice(4 * n, "sparse sketch entries")
                var e: [UInt32] = []
                e.reserveCapacity(n)
                var prev = -1
                for i in 0..<n {
                    let x = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                    let reg = Int(x >> 8), v = UInt8(truncatingIfNeeded: x)
                    guard reg < HyperLogLog.registerCount, reg > prev else { throw fail("sparse sketch entry \(i) register \(reg) out of order or range") }
                    guard v >= 1, v <= HyperLogLog.registerValueMax else { throw fail("sparse sketch entry \(i) value \(v) out of range") }
                    prev = reg
                    e.append(x)
                }
                h.storage = .sparse(e)
            case 1:
                let raw = try r.readSlice(HyperLogLog.registerCount, "dense sketch registers")
                var nonZero = 0
                for v in raw {
                    guard v <= HyperLogLog.registerValueMax else { throw fail("dense sketch register value \(v) out of range") }
                    if v != 0 { nonZero += 1 }
                }
                guard nonZero > HyperLogLog.sparseEntriesMax else {
                    throw fail("dense sketch with \(nonZero) non-zero registers must be sparse")
                }
                h.storage = .dense([UInt8](raw))
            default:
                throw fail("unknown sketch representation \(rep)")
            }
            self = .countDistinct(h)
        }
    }

    /// Decodes a buffer holding exactly one encoded state.
    /// - Throws: ``LambdaStoreError/Code/corruption`` as ``init(decoding:)-(ByteReader)``, or when
    ///   bytes follow the state.
    public init(decoding bytes: [UInt8]) throws(LambdaStoreError) {
        let s: AggregateState = try typed {
            try bytes.withUnsafeBytes { b in
                var r = ByteReader(b)
                let s = try AggregateState(decoding: &r)
                guard r.isAtEnd else {
                    throw LambdaStoreError(.corruption, "\(r.remaining) bytes after the aggregate state", offset: Int64(r.position))
                }
                return s
            }
        }
        self = s
    }
}

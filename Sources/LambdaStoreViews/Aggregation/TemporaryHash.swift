// TEMPORARY: a private XXH64 so the aggregation side is not blocked on the Core one
// (Sources/LambdaStoreCore/XXH64.swift, written in parallel). At merge time `hllHash64` becomes a
// one-line call to the Core XXH64 with seed 0 and this file's private implementation goes away.
// Checked against xxhsum 0.8.1 vectors in AggregationHashTests.

/// XXH64 (seed 0) of `bytes`: the hash HyperLogLog sketches use (format-spec.md §3b.4).
@inline(__always)
func hllHash64(_ bytes: UnsafeRawBufferPointer) -> UInt64 { TemporaryXXH64.hash(bytes, seed: 0) }

/// The XXH64 algorithm (xxHash specification, version 0.1.1), scalar.
enum TemporaryXXH64 {
    static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always)
    static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always)
    static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* p2, 31) &* p1
    }

    @inline(__always)
    static func mergeRound(_ acc: UInt64, _ val: UInt64) -> UInt64 {
        (acc ^ round(0, val)) &* p1 &+ p4
    }

    @inline(__always)
    static func load64(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }

    @inline(__always)
    static func load32(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
    }

    static func hash(_ b: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let n = b.count
        var i = 0
        var h: UInt64
        if n >= 32 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while i + 32 <= n {
                v1 = round(v1, load64(b, i))
                v2 = round(v2, load64(b, i + 8))
                v3 = round(v3, load64(b, i + 16))
                v4 = round(v4, load64(b, i + 24))
                i += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = mergeRound(h, v1)
            h = mergeRound(h, v2)
            h = mergeRound(h, v3)
            h = mergeRound(h, v4)
        } else {
            h = seed &+ p5
        }
        h = h &+ UInt64(n)
        while i + 8 <= n {
            h ^= round(0, load64(b, i))
            h = rotl(h, 27) &* p1 &+ p4
            i += 8
        }
        if i + 4 <= n {
            h ^= load32(b, i) &* p1
            h = rotl(h, 23) &* p2 &+ p3
            i += 4
        }
        while i < n {
            h ^= UInt64(b[i]) &* p5
            h = rotl(h, 11) &* p1
            i += 1
        }
        h ^= h >> 33
        h = h &* p2
        h ^= h >> 29
        h = h &* p3
        h ^= h >> 32
        return h
    }
}

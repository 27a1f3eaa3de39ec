/// XXH64, the 64-bit xxHash of Yann Collet (reference: `xxhash.h` 0.8, `XXH64()`), byte for
/// byte identical to the reference for every input length and seed.
///
/// LambdaStore uses it where a stable, well-specified, fast non-cryptographic hash is part of a
/// format: the view fingerprint (format-spec.md §3a) and the HyperLogLog hash of
/// `count_distinct` (§3b). Check values: `XXH64("") = 0xEF46DB3751D8E999`,
/// `XXH64("a") = 0xD24EC4F1A98C6E5B`, `XXH64("abc") = 0x44BC2CF5AD770999` (seed 0).
///
/// Thread safety: stateless; call from any thread.
public enum XXH64 {
    @usableFromInline static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    @usableFromInline static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    @usableFromInline static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    @usableFromInline static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    @usableFromInline static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 &- r)) }

    @inlinable @inline(__always)
    static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* prime2, 31) &* prime1
    }

    @inlinable @inline(__always)
    static func mergeRound(_ acc: UInt64, _ val: UInt64) -> UInt64 {
        (acc ^ round(0, val)) &* prime1 &+ prime4
    }

    @inlinable @inline(__always)
    static func load64(_ p: UnsafeRawPointer, _ at: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }

    @inlinable @inline(__always)
    static func load32(_ p: UnsafeRawPointer, _ at: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
    }

    /// The XXH64 of `bytes` with `seed`.
    ///
    /// - Complexity: O(n), about one cycle per byte (four independent 64-bit lanes).
    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let n = bytes.count
        guard n > 0, let p = bytes.baseAddress else { return finalize(seed &+ prime5, length: 0) }
        var i = 0
        var h: UInt64
        if n >= 32 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            let limit = n - 32
            while i <= limit {
                v1 = round(v1, load64(p, i))
                v2 = round(v2, load64(p, i + 8))
                v3 = round(v3, load64(p, i + 16))
                v4 = round(v4, load64(p, i + 24))
                i += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = mergeRound(h, v1)
            h = mergeRound(h, v2)
            h = mergeRound(h, v3)
            h = mergeRound(h, v4)
        } else {
            h = seed &+ prime5
        }
        h &+= UInt64(n)
        while i + 8 <= n {
            h ^= round(0, load64(p, i))
            h = rotl(h, 27) &* prime1 &+ prime4
            i += 8
        }
        if i + 4 <= n {
            h ^= load32(p, i) &* prime1
            h = rotl(h, 23) &* prime2 &+ prime3
            i += 4
        }
        while i < n {
            h ^= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) &* prime5
            h = rotl(h, 11) &* prime1
            i += 1
        }
        return avalanche(h)
    }

    @inlinable @inline(__always)
    static func finalize(_ h: UInt64, length: Int) -> UInt64 { avalanche(h &+ UInt64(length)) }

    @inlinable @inline(__always)
    static func avalanche(_ h0: UInt64) -> UInt64 {
        var h = h0
        h ^= h >> 33
        h &*= prime2
        h ^= h >> 29
        h &*= prime3
        h ^= h >> 32
        return h
    }

    /// The XXH64 of `bytes` with `seed`.
    /// - Complexity: O(n).
    @inlinable
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    /// The XXH64 of the UTF-8 bytes of `string` with `seed`.
    /// - Complexity: O(n).
    @inlinable
    public static func hash(utf8 string: String, seed: UInt64 = 0) -> UInt64 {
        var s = string
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// The XXH64 of the 8 little-endian bytes of `value` (the hash of one `i64`/`f64` cell).
    /// - Complexity: O(1).
    @inlinable
    public static func hash(_ value: UInt64, seed: UInt64 = 0) -> UInt64 {
        var h = seed &+ prime5 &+ 8
        h ^= round(0, value)
        h = rotl(h, 27) &* prime1 &+ prime4
        return avalanche(h)
    }
}

// Hashing for in-memory tables (never stored): the aggregation's key interner and the log
// writer's string dictionaries.

import CCRC32C

/// Hints the CPU to start loading the cache line at `p` (for lookups whose addresses are
/// known ahead of their use); no effect on results.
@inlinable @inline(__always)
public func prefetchForRead(_ p: UnsafeRawPointer) {
    ls_prefetch(p)
}

/// A fast, non-persistent hash of a short byte string (in-memory tables only).
@inlinable @inline(__always)
public func fastBytesHash(_ b: UnsafeRawBufferPointer) -> UInt64 {
    let n = b.count
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(n) &* 0xFF51_AFD7_ED55_8CCD)
    if n >= 8 {
        var i = 0
        while i + 8 < n {
            h = (h ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        // The last 8 bytes, overlapping the previous word when n is not a multiple of 8.
        h = (h ^ b.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) &* 0x94D0_49BB_1331_11EB
    } else if n >= 4 {
        let lo = UInt64(b.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let hi = UInt64(b.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
        h = (h ^ (lo | hi << 32)) &* 0x94D0_49BB_1331_11EB
    } else if n > 0 {
        let t = UInt64(b[0]) | UInt64(b[n >> 1]) << 8 | UInt64(b[n - 1]) << 16
        h = (h ^ t) &* 0x94D0_49BB_1331_11EB
    }
    h ^= h >> 29
    h = h &* 0xBF58_476D_1CE4_E5B9
    h ^= h >> 32
    return h
}

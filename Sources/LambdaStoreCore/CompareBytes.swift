/// Unsigned bytewise lexicographic order of two byte strings, a proper prefix first:
/// negative, zero or positive. The one string order of LambdaStore: filter comparisons
/// (format-spec.md §3a.4), snapshot chunk statistics and pushdown (§4), and it equals the
/// order of the UTF-8 strings' Unicode scalars.
///
/// Eight bytes at a time (big-endian words compare like the bytes they hold), then bytewise.
/// Inlinable, so per-row callers in other modules pay no call.
/// - Complexity: O(length of the common prefix).
///
/// Thread safety: a pure function.
@inlinable @inline(__always)
public func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = Swift.min(a.count, b.count)
    var i = 0
    if let pa = a.baseAddress, let pb = b.baseAddress {
        while i + 8 <= n {
            let x = UInt64(bigEndian: pa.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let y = UInt64(bigEndian: pb.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            if x != y { return x < y ? -1 : 1 }
            i += 8
        }
    }
    while i < n {
        let x = a[i], y = b[i]
        if x != y { return x < y ? -1 : 1 }
        i += 1
    }
    return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
}

/// ``compareBytes(_:_:)-(UnsafeRawBufferPointer,UnsafeRawBufferPointer)`` of two arrays.
/// - Complexity: O(length of the common prefix).
@inlinable
public func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in compareBytes(x, y) } }
}

/// Whether the `n` bytes at `a` and `b` are equal (filter equality, hash-table probes): 8 bytes
/// at a time, the tail as one overlapping 8-byte load when `n >= 8`. Inlinable, like
/// ``compareBytes(_:_:)``.
@inlinable @inline(__always)
public func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count n: Int) -> Bool {
    if n >= 8 {
        var k = 0
        while k + 8 <= n {
            if a.loadUnaligned(fromByteOffset: k, as: UInt64.self) != b.loadUnaligned(fromByteOffset: k, as: UInt64.self) { return false }
            k += 8
        }
        return k == n || a.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
    }
    var k = 0
    if n >= 4 {
        if a.loadUnaligned(as: UInt32.self) != b.loadUnaligned(as: UInt32.self) { return false }
        return a.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == b.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
    }
    while k < n {
        if a.load(fromByteOffset: k, as: UInt8.self) != b.load(fromByteOffset: k, as: UInt8.self) { return false }
        k += 1
    }
    return true
}

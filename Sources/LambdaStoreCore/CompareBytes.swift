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

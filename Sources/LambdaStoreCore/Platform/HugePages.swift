#if canImport(Glibc)
import Glibc
#endif

/// Transparent huge pages for large in-memory arrays (Linux; a no-op elsewhere).
///
/// An aggregation table touches hundreds of megabytes of fresh memory in one run; at 4 KiB a
/// page fault each, faulting it in costs more than the merge that writes it. Advising the
/// kernel that a large array's reserved storage may use 2 MiB pages (`MADV_HUGEPAGE`, which
/// matters when transparent huge pages are in `madvise` mode, the common default) cuts the
/// faults by 512×. Purely advisory: nothing changes if the kernel declines.
public enum HugePages {
    /// Arrays smaller than this are left alone.
    public static let minimumBytes = 4 << 20
    static let pageBytes = 2 << 20

    /// Advises huge pages for the reserved storage of `array` (its whole capacity) when it
    /// spans at least ``minimumBytes``.
    public static func advise<T>(_ array: inout [T]) {
        let bytes = array.capacity * MemoryLayout<T>.stride
        guard bytes >= minimumBytes else { return }
        array.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            advise(UnsafeMutableRawPointer(base), bytes: bytes)
        }
    }

    /// Advises huge pages for the whole 2 MiB pages inside `[start, start + bytes)`.
    public static func advise(_ start: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        let a = UInt(bitPattern: start), p = UInt(pageBytes)
        let lo = (a + p - 1) & ~(p - 1), hi = (a + UInt(bytes)) & ~(p - 1)
        guard hi > lo, let at = UnsafeMutableRawPointer(bitPattern: lo) else { return }
        _ = madvise(at, Int(hi - lo), 14)   // MADV_HUGEPAGE
        #endif
    }
}

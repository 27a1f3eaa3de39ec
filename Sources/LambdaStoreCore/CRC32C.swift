import CCRC32C

/// CRC32C (Castagnoli, reflected polynomial `0x82F63B78`, init and final XOR `0xFFFFFFFF`).
///
/// Every checksum in every LambdaStore file is this function (format-spec.md §1). The check
/// value is `CRC32C("123456789") == 0xE3069283`. SSE4.2 is used when the CPU has it.
///
/// Thread safety: pure functions, safe from any thread.
public enum CRC32C {
    /// The checksum of `bytes`, continuing from `crc` (0 to start).
    /// - Complexity: O(n).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, extending crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return ls_crc32c_extend(crc, base, bytes.count)
    }

    /// The checksum of `bytes[range]`.
    @inlinable
    public static func checksum(_ bytes: [UInt8], _ range: Range<Int>? = nil, extending crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { raw in
            let r = range ?? 0..<raw.count
            return checksum(UnsafeRawBufferPointer(rebasing: raw[r]), extending: crc)
        }
    }

    /// The portable (table-driven) path; exposed for tests.
    public static func checksumPortable(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return 0 }
            return ls_crc32c_extend_portable(0, base, raw.count)
        }
    }

    /// Whether the SSE4.2 path is in use.
    public static var isHardwareAccelerated: Bool { ls_crc32c_is_hardware() != 0 }
}

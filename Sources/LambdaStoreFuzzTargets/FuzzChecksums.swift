@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog

/// Recomputes the CRC32C fields of a (mutated) file so the fuzz targets reach the decoders
/// behind the checksum checks. Each function follows the byte layout of its format-spec.md
/// section, touches nothing but checksum fields, and stops where the layout no longer fits
/// the bytes (what is left stays as it was).
public enum FuzzChecksums {
    static func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
    static func u32(_ b: [UInt8], _ at: Int) -> Int { u16(b, at) | u16(b, at + 2) << 16 }
    static func put(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    }
    /// Stores at `at` the CRC32C of `range`.
    static func seal(_ b: inout [UInt8], _ at: Int, over range: Range<Int>) {
        put(&b, at, CRC32C.checksum(b, range))
    }

    /// Segment (§2.2): file header CRC, then each batch's payload CRC and header CRC.
    public static func segment(_ data: [UInt8]) -> [UInt8] {
        var b = data
        guard b.count >= 32 else { return b }
        seal(&b, 28, over: 0..<28)
        var p = 32
        while p + 56 <= b.count {
            let stored = u32(b, p + 44)
            guard stored <= b.count - p - 56 else {
                seal(&b, p + 52, over: p..<(p + 52))
                break
            }
            seal(&b, p + 48, over: (p + 56)..<(p + 56 + stored))
            seal(&b, p + 52, over: p..<(p + 52))
            p += 56 + stored
        }
        return b
    }

    /// Offset or time index (§2.4, §2.5): header CRC and every entry's CRC.
    public static func index(_ data: [UInt8]) -> [UInt8] {
        var b = data
        guard b.count >= 24 else { return b }
        seal(&b, 20, over: 0..<20)
        let size = data.starts(with: Array("LSTI".utf8)) ? 32 : 40
        var p = 24
        while p + size <= b.count {
            seal(&b, p + size - 4, over: p..<(p + size - 4))
            p += size
        }
        return b
    }

    /// Files whose last 4 bytes are the CRC32C of all before them: the schema history (§2.1)
    /// and the MANIFEST (§5.1).
    public static func trailingCRC(_ data: [UInt8]) -> [UInt8] {
        var b = data
        guard b.count >= 4 else { return b }
        seal(&b, b.count - 4, over: 0..<(b.count - 4))
        return b
    }

    /// CHECKPOINT (§2.9): CRC of bytes 0–23 at 24.
    public static func checkpoint(_ data: [UInt8]) -> [UInt8] {
        var b = data
        guard b.count >= 28 else { return b }
        seal(&b, 24, over: 0..<24)
        return b
    }

    /// Metadata container (§6.1): CRC after the payload of the stored length.
    public static func metadata(_ data: [UInt8]) -> [UInt8] {
        var b = data
        guard b.count >= 28 else { return b }
        let n = u32(b, 20)
        guard n <= b.count - 28 else { return b }
        seal(&b, 24 + n, over: 0..<(24 + n))
        return b
    }

    /// Snapshot (§4.1, §4.4): header CRC, footer CRC, then every chunk CRC the footer records
    /// (found through ``SnapshotReader``), then the footer CRC again.
    public static func snapshot(_ data: [UInt8]) -> [UInt8] {
        var b = data
        guard b.count >= 32 else { return b }
        seal(&b, 12, over: 0..<12)
        let t = b.count - 16
        let footerLength = u32(b, t)
        guard footerLength <= t - 16 else { return b }
        let f = t - footerLength
        func sealFooter(_ b: inout [UInt8]) {
            var crc = CRC32C.checksum(b, f..<t)
            crc = CRC32C.checksum(b, t..<(t + 4), extending: crc)
            crc = CRC32C.checksum(b, (t + 8)..<(t + 16), extending: crc)
            put(&b, t + 4, crc)
        }
        sealFooter(&b)
        guard let r = try? SnapshotReader(bytes: b) else { return b }
        // chunk := u64 offset, u32 storedLength, u32 encodedLength, u8 ×3, u32 nullCount, u32 crc
        var changed = false
        for chunk in SnapshotInspector.describe(r).rowGroups.flatMap(\.chunks) where !chunk.checksumOk {
            let start = Int(chunk.offset), stored = chunk.storedBytes
            guard start >= 16, stored <= f - start else { continue }
            var key = [UInt8](repeating: 0, count: 12)
            for i in 0..<8 { key[i] = UInt8(truncatingIfNeeded: chunk.offset >> (8 * Int64(i))) }
            for i in 0..<4 { key[8 + i] = UInt8(truncatingIfNeeded: stored >> (8 * i)) }
            var p = f
            while p + 27 <= t {
                if b[p] == key[0], Array(b[p..<(p + 12)]) == key {
                    seal(&b, p + 23, over: start..<(start + stored))
                    changed = true
                    break
                }
                p += 1
            }
        }
        if changed { sealFooter(&b) }
        return b
    }
}


/// The checksummed container for LambdaStore's small JSON metadata files: drift reports and
/// reconciliation incidents, policies and archive manifests (format-spec.md §6.1).
///
/// ```
/// magic      8 bytes  "LSMETA01"
/// kind       8 bytes  ASCII, NUL-padded ("DRIFT", "INCIDENT")
/// version    u32      1
/// length     u32      payload length (≤ Limits.metadataBytesMax)
/// payload    length   UTF-8 JSON
/// crc        u32      CRC32C of every preceding byte
/// ```
public enum MetadataFile {
    /// `LSMETA01`.
    public static let magic = Array("LSMETA01".utf8)
    /// The container version.
    public static let version: UInt32 = 1

    /// The container around `payload`.
    public static func encode(kind: String, payload: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: payload.count + 32)
        w.write(bytes: magic)
        var k = Array(kind.utf8.prefix(8))
        k += repeatElement(0, count: 8 - k.count)
        w.write(bytes: k)
        w.write(version)
        w.write(UInt32(payload.count))
        w.write(bytes: payload)
        w.write(w.crc32c(0..<w.count))
        return w.bytes
    }

    /// The payload, after checking magic, kind, version, length bound and CRC.
    /// - Throws: `.corruption` naming `path` and the offset; `.unsupported` for another version.
    public static func decode(_ bytes: [UInt8], kind: String, path: String) throws(LambdaStoreError) -> [UInt8] {
        try typed {
            try bytes.withUnsafeBytes { raw throws(LambdaStoreError) -> [UInt8] in
                var r = ByteReader(raw)
                let m = try r.readBytes(8, "magic")
                guard m == magic else { throw LambdaStoreError.corruption("bad magic", path: path, offset: 0) }
                let k = try r.readBytes(8, "kind")
                let name = String(decoding: k.prefix { $0 != 0 }, as: UTF8.self)
                guard name == kind else { throw LambdaStoreError.corruption("file kind is '\(name)', expected '\(kind)'", path: path, offset: 8) }
                let v = try r.read(UInt32.self, "version")
                guard v == version else { throw LambdaStoreError(.unsupported, "format version \(v)", path: path, offset: 16) }
                let n = Int(try r.read(UInt32.self, "length"))
                try r.bound(n, max: Limits.metadataBytesMax, "payload length")
                let payloadAt = r.position
                _ = try r.skip(n, "payload")
                let crcAt = r.position
                let stored = try r.read(UInt32.self, "checksum")
                let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<crcAt]))
                guard stored == computed else {
                    throw LambdaStoreError.checksumMismatch(stored: stored, computed: computed, what: "file", path: path, offset: Int64(crcAt))
                }
                guard r.isAtEnd else { throw LambdaStoreError.corruption("\(r.remaining) trailing bytes", path: path, offset: Int64(r.position)) }
                return Array(raw[payloadAt..<(payloadAt + n)])
            }
        }
    }
}

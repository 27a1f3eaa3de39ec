import LambdaStoreCore

/// The checksummed container for LambdaStore's small JSON metadata files: drift reports and
/// reconciliation incidents (format-spec.md §6.1).
///
/// ```
/// magic      8 bytes  "LSMETA01"
/// kind       8 bytes  ASCII, NUL-padded ("DRIFT", "INCIDENT")
/// version    u32      1
/// length     u32      payload length (≤ Limits.metadataBytesMax)
/// payload    length   UTF-8 JSON
/// crc        u32      CRC32C of every preceding byte
/// ```
enum MetadataFile {
    static let magic = Array("LSMETA01".utf8)
    static let version: UInt32 = 1

    static func encode(kind: String, payload: [UInt8]) -> [UInt8] {
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

    static func decode(_ bytes: [UInt8], kind: String, path: String) throws(LambdaStoreError) -> [UInt8] {
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

/// Reads a view's `DRIFT` or `INCIDENTS` file the way `verify` does: the container
/// (format-spec.md §6.1), the JSON array in it, and for `DRIFT` every drift report (§6.4).
///
/// Public so that `verify`, the fuzz targets (`Fuzz/README.md`) and other tools share one
/// decoder path; it never touches the file system.
/// Thread safety: stateless.
public enum MetadataInspector {
    /// Checks the bytes of a metadata file named `fileName` (`DRIFT` or `INCIDENTS`).
    /// - Returns: how many items the file's JSON array holds.
    /// - Throws: `.corruption` / `.unsupported` for the container, a JSON syntax error, a
    ///   payload that is not an array, or (`DRIFT`) a report missing or mistyping a key.
    /// - Complexity: O(bytes).
    public static func check(_ bytes: [UInt8], fileName: String, path: String) throws(LambdaStoreError) -> Int {
        let isDrift = fileName == "DRIFT"
        let payload = try MetadataFile.decode(bytes, kind: isDrift ? "DRIFT" : "INCIDENT", path: path)
        guard case .array(let items) = try JSONValue.parse(payload) else {
            throw LambdaStoreError.corruption("payload is not a JSON array", path: path, offset: nil)
        }
        if isDrift { for item in items { _ = try DriftReport(json: item, path: path) } }
        return items.count
    }
}

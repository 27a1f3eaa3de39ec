import LambdaStoreCore

/// One live snapshot file named by a ``Manifest`` (format-spec.md §5.1).
///
/// Thread safety: a value type.
public struct ManifestFile: Sendable, Hashable {
    /// The file name inside the view directory (1…255 bytes of `[A-Za-z0-9_.-]`, not starting
    /// with `.`).
    public var name: String
    /// The file size in bytes.
    public var bytes: Int64
    /// The number of rows.
    public var rows: Int64
    /// CRC32C of the whole file.
    public var crc32c: UInt32

    /// Creates an entry.
    public init(name: String, bytes: Int64, rows: Int64, crc32c: UInt32) {
        self.name = name
        self.bytes = bytes
        self.rows = rows
        self.crc32c = crc32c
    }

    /// The entry for a snapshot just written: its base name, size, rows and CRC.
    public init(_ info: SnapshotFileInfo) {
        self.init(name: Path.base(of: info.path), bytes: info.bytes, rows: info.rows, crc32c: info.crc32c)
    }
}

/// The small file that names the live snapshot(s) of a view, `views/<view>/MANIFEST`
/// (format-spec.md §5).
///
/// Publishing a new batch result is: write the snapshot file(s) (each published atomically by
/// ``SnapshotWriter/finish()``), then ``publish(fs:directory:)`` a manifest with the next
/// ``generation`` naming them. The manifest is replaced atomically (temporary file, fsync,
/// rename, fsync of the directory), so a crash at any instant leaves either the previous
/// manifest or the new one live, each naming complete files.
///
/// Thread safety: a value type.
public struct Manifest: Sendable, Hashable {
    /// The file name inside a view directory.
    public static let fileName = "MANIFEST"
    /// The eight bytes at the start of every manifest: ASCII `LAMBMANI`.
    public static let magic: [UInt8] = Array("LAMBMANI".utf8)
    /// The format version this build writes and reads.
    public static let version: UInt32 = 1
    /// Size of the fixed header: magic (8), version (4), total length (4).
    static let headerBytes = 16

    /// Incremented by each publish of the view.
    public var generation: UInt64
    /// The view name.
    public var view: String
    /// The fingerprint of the view definition the snapshots were computed with (1…255 bytes).
    public var fingerprint: String
    /// The batch horizon `H`: the snapshots cover log offsets `[0, H)` (≥ 0).
    public var horizon: Int64
    /// The largest event time among the events before `H`, or nil when there were none.
    public var maxEventTime: EpochMillis?
    /// The live snapshot files, in the order the batch layer wrote them.
    public var files: [ManifestFile]
    /// Other key-values (keys 1…255 bytes), written sorted by key.
    public var extra: [String: String]

    /// Creates a manifest.
    public init(generation: UInt64, view: String, fingerprint: String, horizon: Int64, maxEventTime: EpochMillis?, files: [ManifestFile], extra: [String: String] = [:]) {
        self.generation = generation
        self.view = view
        self.fingerprint = fingerprint
        self.horizon = horizon
        self.maxEventTime = maxEventTime
        self.files = files
        self.extra = extra
    }

    /// Checks names, lengths and counts against the format's limits.
    /// - Throws: ``LambdaStoreError/Code/invalidArgument`` naming the field.
    public func validate() throws(LambdaStoreError) {
        do throws(LambdaStoreError) {
            try Schema.validateName(view, what: "view name")
            var seen = Set<String>()
            for f in files {
                try Schema.validateName(f.name, what: "snapshot file name")
                guard seen.insert(f.name).inserted else { throw LambdaStoreError(.invalidArgument, "snapshot file '\(f.name)' listed twice") }
                guard f.bytes >= 0, f.rows >= 0 else { throw LambdaStoreError(.invalidArgument, "snapshot file '\(f.name)' has a negative size or row count") }
            }
        } catch {
            throw LambdaStoreError(.invalidArgument, error.message)
        }
        guard !fingerprint.isEmpty, fingerprint.utf8.count <= Limits.nameBytesMax else {
            throw LambdaStoreError(.invalidArgument, "fingerprint must be 1…\(Limits.nameBytesMax) bytes")
        }
        guard horizon >= 0 else { throw LambdaStoreError(.invalidArgument, "horizon \(horizon) is negative") }
        for key in extra.keys where key.isEmpty || key.utf8.count > Limits.nameBytesMax {
            throw LambdaStoreError(.invalidArgument, "manifest key '\(key)' must be 1…\(Limits.nameBytesMax) bytes")
        }
        let size = encode().count
        guard size <= Limits.metadataBytesMax else {
            throw LambdaStoreError(.limitExceeded, "manifest of \(size) bytes exceeds \(Limits.metadataBytesMax)")
        }
    }

    /// The manifest's bytes (format-spec.md §5). Deterministic: extra keys are sorted.
    /// Call ``validate()`` first: out-of-range fields are not representable.
    /// - Complexity: O(files + extra).
    public func encode() -> [UInt8] {
        var w = ByteWriter()
        w.write(bytes: Self.magic)
        w.write(Self.version)
        w.write(UInt32(0))  // total length, set below
        w.write(generation)
        w.writeString16(view)
        w.writeString16(fingerprint)
        w.write(horizon)
        w.write(UInt8(maxEventTime == nil ? 0 : 1))
        w.write(maxEventTime ?? 0)
        w.write(UInt32(files.count))
        for f in files {
            w.writeString16(f.name)
            w.write(f.bytes)
            w.write(f.rows)
            w.write(f.crc32c)
        }
        let sorted = SnapshotFooter.sortedMetadata(extra)
        w.write(UInt32(sorted.count))
        for (k, v) in sorted {
            w.writeString16(k)
            w.writeString32(v)
        }
        w.set(UInt32(truncatingIfNeeded: w.count + 4), at: 12)
        w.write(w.crc32c(0..<w.count))
        return w.bytes
    }

    /// Decodes and validates manifest bytes read from `path`.
    /// - Throws: ``LambdaStoreError/Code/corruption`` (with the offset) for a damaged or cut
    ///   manifest, ``LambdaStoreError/Code/unsupported`` for another format version.
    /// - Complexity: O(bytes).
    public static func decode(_ bytes: [UInt8], path: String) throws(LambdaStoreError) -> Manifest {
        do {
            return try typed { try bytes.withUnsafeBytes { raw in try decode(raw) } }
        } catch {
            throw error.at(path: path)
        }
    }

    static func decode(_ raw: UnsafeRawBufferPointer) throws(LambdaStoreError) -> Manifest {
        func fail(_ message: String, _ at: Int) -> LambdaStoreError { .corruption(message, path: nil, offset: Int64(at)) }
        let minimum = headerBytes + 8 + 2 + 2 + 8 + 1 + 8 + 4 + 4 + 4
        guard raw.count >= minimum else { throw fail("manifest of \(raw.count) bytes is shorter than the minimum \(minimum)", 0) }
        guard raw.count <= Limits.metadataBytesMax else { throw fail("manifest of \(raw.count) bytes exceeds \(Limits.metadataBytesMax)", 0) }
        guard Array(raw[0..<8]) == magic else { throw fail("bad manifest magic", 0) }
        var r = ByteReader(raw)
        try r.skip(12)
        let total = Int(try r.read(UInt32.self, "total length"))
        guard total == raw.count else {
            throw fail(total > raw.count ? "manifest cut short: \(raw.count) of \(total) bytes" : "manifest has \(raw.count - total) bytes after its end", 12)
        }
        let stored = raw.loadUnaligned(fromByteOffset: total - 4, as: UInt32.self).littleEndian
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<(total - 4)]))
        guard stored == computed else {
            throw .checksumMismatch(stored: stored, computed: computed, what: "manifest", path: nil, offset: Int64(total - 4))
        }
        let version = raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard version == Self.version else {
            throw LambdaStoreError(.unsupported, "manifest format version \(version) (this build reads \(Self.version))", offset: 8)
        }
        let body = ByteReader(UnsafeRawBufferPointer(rebasing: raw[0..<(total - 4)]))
        r = body
        try r.skip(headerBytes)
        let generation = try r.read(UInt64.self, "generation")
        var at = r.position
        let view = try r.readString16("view name")
        do { try Schema.validateName(view, what: "view name") } catch { throw fail(error.message, at) }
        at = r.position
        let fingerprint = try r.readString16("fingerprint")
        guard !fingerprint.isEmpty, fingerprint.utf8.count <= Limits.nameBytesMax else { throw fail("fingerprint of \(fingerprint.utf8.count) bytes", at) }
        at = r.position
        let horizon = try r.read(Int64.self, "horizon")
        guard horizon >= 0 else { throw fail("negative horizon \(horizon)", at) }
        at = r.position
        let flags = try r.read(UInt8.self, "flags")
        guard flags & ~1 == 0 else { throw fail("unknown flags \(flags)", at) }
        at = r.position
        let met = try r.read(Int64.self, "maxEventTime")
        guard flags & 1 != 0 || met == 0 else { throw fail("maxEventTime \(met) present but flagged absent", at) }
        at = r.position
        let fileCount = Int(try r.read(UInt32.self, "file count"))
        guard fileCount <= r.remaining / 22 else { throw fail("file count \(fileCount) exceeds the manifest", at) }
        var files: [ManifestFile] = []
        var names = Set<String>()
        for _ in 0..<fileCount {
            at = r.position
            let name = try r.readString16("file name")
            do { try Schema.validateName(name, what: "snapshot file name") } catch { throw fail(error.message, at) }
            guard names.insert(name).inserted else { throw fail("snapshot file '\(name)' listed twice", at) }
            at = r.position
            let bytes = try r.read(Int64.self, "file bytes")
            let rows = try r.read(Int64.self, "file rows")
            guard bytes >= 0, rows >= 0 else { throw fail("file '\(name)' has negative bytes or rows", at) }
            let crc = try r.read(UInt32.self, "file crc")
            files.append(ManifestFile(name: name, bytes: bytes, rows: rows, crc32c: crc))
        }
        at = r.position
        let extraCount = Int(try r.read(UInt32.self, "extra count"))
        guard extraCount <= r.remaining / 6 else { throw fail("extra count \(extraCount) exceeds the manifest", at) }
        var extra: [String: String] = [:]
        var previous: [UInt8]? = nil
        for _ in 0..<extraCount {
            at = r.position
            let key = try r.readString16("extra key")
            let k = Array(key.utf8)
            guard !k.isEmpty else { throw fail("empty extra key", at) }
            if let previous, !previous.lexicographicallyPrecedes(k) { throw fail("extra key '\(key)' is not after the previous key", at) }
            previous = k
            extra[key] = try r.readString32(max: Limits.metadataBytesMax, "extra value of '\(key)'")
        }
        guard r.isAtEnd else { throw fail("\(r.remaining) unparsed bytes before the checksum", r.position) }
        return Manifest(generation: generation, view: view, fingerprint: fingerprint, horizon: horizon,
                        maxEventTime: flags & 1 != 0 ? met : nil, files: files, extra: extra)
    }

    /// Publishes this manifest as `directory/MANIFEST`, atomically and durably (write
    /// `MANIFEST.tmp`, fsync, rename, fsync `directory`).
    /// - Throws: ``LambdaStoreError/Code/invalidArgument`` from ``validate()``,
    ///   ``LambdaStoreError/Code/io`` from the file system.
    public func publish(fs: any FileSystem, directory: String) throws(LambdaStoreError) {
        try validate()
        try fs.writeFileAtomically(Path.join(directory, Self.fileName), encode())
    }

    /// Loads `directory/MANIFEST`, or returns nil when there is none (a view never published).
    /// A leftover `MANIFEST.tmp` from an interrupted publish is ignored.
    /// - Throws: ``LambdaStoreError/Code/corruption`` for a damaged manifest,
    ///   ``LambdaStoreError/Code/io`` from the file system.
    public static func load(fs: any FileSystem, directory: String) throws(LambdaStoreError) -> Manifest? {
        let path = Path.join(directory, fileName)
        let bytes: [UInt8]
        do {
            bytes = try fs.readFile(path, limit: Limits.metadataBytesMax)
        } catch where error.code == .notFound {
            return nil
        } catch where error.code == .limitExceeded {
            throw LambdaStoreError(.corruption, error.message, path: path)
        }
        return try decode(bytes, path: path)
    }
}

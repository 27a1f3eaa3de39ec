import LambdaStoreCore

/// The content of a manifest file, for `lambdastore dump manifest` (format-spec.md §5).
///
/// Encodes to JSON as `{"file", "formatVersion", "bytes", "generation", "view", "fingerprint",
/// "horizon", "maxEventTime", "files": [{"name", "bytes", "rows", "crc32c"}], "extra",
/// "checksumOk"}`.
///
/// Thread safety: a value type.
public struct ManifestDescription: Sendable, Hashable, Encodable {
    /// One live snapshot file.
    public struct FileInfo: Sendable, Hashable, Encodable {
        /// The file name in the view directory.
        public var name: String
        /// The file size.
        public var bytes: Int64
        /// The number of rows.
        public var rows: Int64
        /// `0x` and eight hex digits.
        public var crc32c: String
    }

    /// The manifest path.
    public var file: String
    /// The format version.
    public var formatVersion: UInt32
    /// The manifest's size.
    public var bytes: Int64
    /// The publish generation.
    public var generation: UInt64
    /// The view name.
    public var view: String
    /// The view definition's fingerprint.
    public var fingerprint: String
    /// The batch horizon `H`.
    public var horizon: Int64
    /// The max event time at `H`, or nil.
    public var maxEventTime: Int64?
    /// The live snapshot files.
    public var files: [FileInfo]
    /// Other key-values.
    public var extra: [String: String]
    /// Always true: a manifest whose checksum fails cannot be described (``ManifestInspector/describe(fs:path:)`` throws).
    public var checksumOk: Bool

    enum CodingKeys: String, CodingKey {
        case file, formatVersion, bytes, generation, view, fingerprint, horizon, maxEventTime, files, extra, checksumOk
    }

    /// Encodes every field, `maxEventTime` as null when absent.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(file, forKey: .file)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(generation, forKey: .generation)
        try c.encode(view, forKey: .view)
        try c.encode(fingerprint, forKey: .fingerprint)
        try c.encode(horizon, forKey: .horizon)
        if let maxEventTime { try c.encode(maxEventTime, forKey: .maxEventTime) } else { try c.encodeNil(forKey: .maxEventTime) }
        try c.encode(files, forKey: .files)
        try c.encode(extra, forKey: .extra)
        try c.encode(checksumOk, forKey: .checksumOk)
    }

    /// A human-readable rendering.
    public var text: String {
        var s = "manifest \(file): format \(formatVersion), \(bytes) bytes, generation \(generation)\n"
        s += "  view \(view) fingerprint \(fingerprint) horizon \(horizon) maxEventTime \(maxEventTime.map(String.init) ?? "null")\n"
        for f in files { s += "  file \(f.name): \(f.bytes) bytes, \(f.rows) rows, crc \(f.crc32c)\n" }
        for (k, v) in extra.sorted(by: { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }) { s += "  \(k) = \(v)\n" }
        return s
    }
}

/// Describes and verifies manifest files (format-spec.md §5).
///
/// Thread safety: stateless; safe from any thread.
public enum ManifestInspector {
    /// The content of the manifest file at `path`.
    /// - Throws: ``LambdaStoreError/Code/corruption`` for a damaged manifest,
    ///   ``LambdaStoreError/Code/notFound`` / ``LambdaStoreError/Code/io`` from the file system.
    /// - Complexity: O(manifest bytes).
    public static func describe(fs: any FileSystem, path: String) throws(LambdaStoreError) -> ManifestDescription {
        let bytes = try fs.readFile(path, limit: Limits.metadataBytesMax)
        let m = try Manifest.decode(bytes, path: path)
        return ManifestDescription(
            file: path, formatVersion: Manifest.version, bytes: Int64(bytes.count), generation: m.generation, view: m.view,
            fingerprint: m.fingerprint, horizon: m.horizon, maxEventTime: m.maxEventTime,
            files: m.files.map { .init(name: $0.name, bytes: $0.bytes, rows: $0.rows, crc32c: hex32($0.crc32c)) },
            extra: m.extra, checksumOk: true)
    }

    /// Checks the manifest at `path` (magic, length, CRC, every field) and, with `checkFiles`,
    /// that each live snapshot beside it exists with the listed size, whole-file CRC32C and row
    /// count. Never throws; an empty list means everything is sound.
    /// - Complexity: O(manifest bytes), plus O(size of the live files) with `checkFiles`.
    public static func verify(fs: any FileSystem, path: String, checkFiles: Bool = false) -> [VerificationProblem] {
        let m: Manifest
        do {
            m = try Manifest.decode(try fs.readFile(path, limit: Limits.metadataBytesMax), path: path)
        } catch {
            return [VerificationProblem(error, path: path)]
        }
        guard checkFiles else { return [] }
        var problems: [VerificationProblem] = []
        let directory = Path.parent(of: path)
        for f in m.files {
            let file = Path.join(directory, f.name)
            do {
                let (bytes, crc) = try SnapshotInspector.wholeFileChecksum(fs: fs, path: file)
                if bytes != f.bytes {
                    problems.append(VerificationProblem(path: file, offset: nil, message: "live snapshot is \(bytes) bytes, the manifest says \(f.bytes)"))
                } else if crc != f.crc32c {
                    problems.append(VerificationProblem(path: file, offset: nil, message: "whole-file checksum mismatch (manifest \(hex32(f.crc32c)), computed \(hex32(crc)))"))
                } else {
                    let r = try SnapshotReader.open(fs: fs, path: file)
                    if r.rowCount != f.rows {
                        problems.append(VerificationProblem(path: file, offset: nil, message: "live snapshot has \(r.rowCount) rows, the manifest says \(f.rows)"))
                    }
                    try? r.close()
                }
            } catch {
                problems.append(VerificationProblem(error, path: file))
            }
        }
        return problems
    }
}

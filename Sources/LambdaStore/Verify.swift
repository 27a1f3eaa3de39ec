import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreLog

/// The answer of ``Store/verify(at:fileSystem:)``.
public struct VerifyReport: Sendable {
    /// One damaged place.
    public struct Problem: Sendable, CustomStringConvertible {
        /// The file.
        public var file: String
        /// The byte offset in it, when known.
        public var offset: Int64?
        /// What is wrong.
        public var message: String
        /// `file @ offset: message`.
        public var description: String { file + (offset.map { " @ \($0)" } ?? "") + ": " + message }
    }

    /// Files checked.
    public var filesChecked = 0
    /// Corruption found (any entry makes `verify` exit non-zero).
    public var problems: [Problem] = []
    /// Incomplete last batches (a writer died mid-append): reported, not an error.
    public var incompleteTails: [String] = []

    /// Whether no corruption was found.
    public var isClean: Bool { problems.isEmpty }

    /// The JSON form.
    public var json: JSONValue {
        ([
            "ok": .bool(isClean), "filesChecked": .int(Int64(filesChecked)),
            "problems": .array(problems.map { (["file": .string($0.file), "offset": .int($0.offset), "message": .string($0.message)] as JSONValue) }),
            "incompleteTails": .array(incompleteTails.map { .string($0) }),
        ] as JSONValue)
    }
}

extension Store {
    /// Checks every checksum of every file in the store at `path` — segments, indexes, schema
    /// histories, manifests, snapshots, drift and incident files — without taking the writer
    /// lock and without repairing or truncating anything.
    /// - Complexity: O(bytes in the store).
    public static func verify(at path: String, fileSystem fs: any FileSystem = PosixFileSystem()) -> VerifyReport {
        var report = VerifyReport()
        let log = EventLog.verify(root: path, fs: fs)
        report.filesChecked += log.filesChecked
        for p in log.problems { report.problems.append(.init(file: p.file, offset: p.offset, message: p.message)) }
        for t in log.incompleteTails { report.incompleteTails.append("\(t.file): incomplete last batch, \(t.tail.bytes) bytes after the last complete one (\(t.validBytes) valid bytes)") }
        let views = Path.join(path, "views")
        for view in (try? fs.list(views)) ?? [] where fs.isDirectory(Path.join(views, view)) {
            let dir = Path.join(views, view)
            for name in (try? fs.list(dir)) ?? [] {
                let file = Path.join(dir, name)
                if name == "MANIFEST" {
                    report.filesChecked += 1
                    for p in ManifestInspector.verify(fs: fs, path: file, checkFiles: true) {
                        report.problems.append(.init(file: p.path, offset: p.offset, message: p.message))
                    }
                } else if name.hasSuffix(".snapshot") {
                    report.filesChecked += 1
                    for p in SnapshotInspector.verify(fs: fs, path: file) {
                        report.problems.append(.init(file: p.path, offset: p.offset, message: p.message))
                    }
                } else if name == "DRIFT" || name == "INCIDENTS" {
                    report.filesChecked += 1
                    do {
                        _ = try MetadataFile.decode(try fs.readFile(file, limit: Limits.metadataBytesMax + 64), kind: name == "DRIFT" ? "DRIFT" : "INCIDENT", path: file)
                    } catch {
                        report.problems.append(.init(file: file, offset: error.offset, message: error.message))
                    }
                }
            }
        }
        return report
    }
}

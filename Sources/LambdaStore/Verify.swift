import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreLog
import LambdaStoreViews

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
    ///
    /// Reads every file: off the cooperative pool.
    public static func verify(at path: String, fileSystem fs: any FileSystem = PosixFileSystem()) async -> VerifyReport {
        await Blocking.run { () -> VerifyReport in verifyBlocking(at: path, fileSystem: fs) }
    }

    /// ``verify(at:fileSystem:)`` on the calling thread.
    static func verifyBlocking(at path: String, fileSystem fs: any FileSystem) -> VerifyReport {
        var report = VerifyReport()
        let log = EventLog.verify(root: path, fs: fs)
        report.filesChecked += log.filesChecked
        for p in log.problems { report.problems.append(.init(file: p.file, offset: p.offset, message: p.message)) }
        for t in log.incompleteTails { report.incompleteTails.append("\(t.file): incomplete last batch, \(t.tail.bytes) bytes after the last complete one (\(t.validBytes) valid bytes)") }
        let views = Path.join(path, "views")
        let viewNames: [String]
        do { viewNames = fs.isDirectory(views) ? try fs.list(views) : [] } catch {
            report.problems.append(.init(file: views, offset: nil, message: error.message))
            viewNames = []
        }
        for view in viewNames where fs.isDirectory(Path.join(views, view)) {
            let dir = Path.join(views, view)
            let names: [String]
            do { names = try fs.list(dir) } catch {
                report.problems.append(.init(file: dir, offset: nil, message: error.message))
                continue
            }
            if !names.contains(Manifest.fileName), names.contains(where: { $0.hasSuffix(".snapshot") }) {
                report.problems.append(.init(file: Path.join(dir, Manifest.fileName), offset: nil, message: "view directory has snapshots but no MANIFEST"))
            }
            for name in names {
                let file = Path.join(dir, name)
                if name == "MANIFEST" {
                    report.filesChecked += 1
                    let problems = ManifestInspector.verify(fs: fs, path: file, checkFiles: true)
                    for p in problems {
                        report.problems.append(.init(file: p.path, offset: p.offset, message: p.message))
                    }
                    if problems.isEmpty { verifyViewAgainstLog(fs: fs, directory: dir, streamEnds: log.endOffsets, into: &report) }
                } else if name.hasSuffix(".snapshot") {
                    report.filesChecked += 1
                    for p in SnapshotInspector.verify(fs: fs, path: file) {
                        report.problems.append(.init(file: p.path, offset: p.offset, message: p.message))
                    }
                } else if name.hasSuffix(".base") {
                    report.filesChecked += 1
                    for p in SnapshotInspector.verify(fs: fs, path: file) {
                        report.problems.append(.init(file: p.path, offset: p.offset, message: p.message))
                    }
                } else if name.hasPrefix("BASE."), !name.hasSuffix(".tmp") {
                    report.filesChecked += 1
                    do throws(LambdaStoreError) {
                        let b = try BaseCheckpoint(decoding: try fs.readFile(file, limit: Limits.metadataBytesMax), path: file)
                        if let f = b.file {
                            let bytes = try fs.readFile(Path.join(dir, f), limit: Int(clamping: b.bytes) + 1)
                            let crc = bytes.withUnsafeBytes { CRC32C.checksum($0) }
                            if bytes.count != b.bytes || crc != b.crc32c {
                                report.problems.append(.init(file: Path.join(dir, f), offset: nil,
                                    message: "base file is \(bytes.count) bytes with CRC32C 0x\(String(crc, radix: 16)); its checkpoint says \(b.bytes) bytes, 0x\(String(b.crc32c, radix: 16))"))
                            }
                        }
                    } catch {
                        report.problems.append(.init(file: error.path ?? file, offset: error.offset, message: error.message))
                    }
                } else if name == PolicyFile.name {
                    report.filesChecked += 1
                    do throws(LambdaStoreError) {
                        _ = try ViewPolicy(stored: try PolicyFile.json(fs: fs, path: file, rel: file), path: file)
                    } catch {
                        report.problems.append(.init(file: file, offset: error.offset, message: error.message))
                    }
                } else if name == "DRIFT" || name == "INCIDENTS" {
                    report.filesChecked += 1
                    do throws(LambdaStoreError) {
                        _ = try MetadataInspector.check(try fs.readFile(file, limit: Limits.metadataBytesMax + 64), fileName: name, path: file)
                    } catch {
                        report.problems.append(.init(file: file, offset: error.offset, message: error.message))
                    }
                }
            }
        }
        verifyLifecycle(fs: fs, root: path, log: log, into: &report)
        return report
    }

    /// Stream policies and the archive of every stream: the manifest, every listed file's size,
    /// CRC32C and footer, every row group decoded and checked (dense `_offset`, event-time
    /// range), and the archive's place in the stream's history.
    static func verifyLifecycle(fs: any FileSystem, root: String, log: LogVerifyReport, into report: inout VerifyReport) {
        let streamsDir = Path.join(root, "streams")
        let streams = fs.isDirectory(streamsDir) ? ((try? fs.list(streamsDir)) ?? []) : []
        for stream in streams.sorted() where fs.isDirectory(Path.join(streamsDir, stream)) {
            let policy = Path.join(streamsDir, stream, PolicyFile.name)
            if fs.exists(policy) {
                report.filesChecked += 1
                do throws(LambdaStoreError) {
                    let p = try StreamPolicy(stored: try PolicyFile.json(fs: fs, path: policy, rel: policy), path: policy)
                    if p.dropHistoryAfterMillis != nil && !p.allowHistoryLoss {
                        report.problems.append(.init(file: policy, offset: nil, message: "a history drop without allowHistoryLoss"))
                    }
                } catch {
                    report.problems.append(.init(file: policy, offset: error.offset, message: error.message))
                }
            }
        }
        let archiveRoot = Path.join(root, "archive")
        guard fs.isDirectory(archiveRoot) else { return }
        let archived: [String]
        do { archived = try fs.list(archiveRoot) } catch {
            report.problems.append(.init(file: archiveRoot, offset: nil, message: error.message))
            return
        }
        for stream in archived.sorted() where fs.isDirectory(Path.join(archiveRoot, stream)) {
            let dir = Path.join(archiveRoot, stream)
            let manifestPath = Path.join(dir, ArchiveManifest.fileName)
            guard fs.exists(manifestPath) else {
                // Files of a first archiving run cut short before its manifest was published are
                // leftovers (the next `compact` removes them) while the raw history still starts
                // at offset 0; only without that are they a lost manifest.
                let files = (try? fs.list(dir)) ?? []
                let rawFromZero = fs.exists(Path.join(streamsDir, stream, LogFormat.fileStem(baseOffset: 0) + LogFormat.segmentSuffix))
                if files.contains(where: { $0.hasSuffix(".parquet") }), !rawFromZero {
                    report.problems.append(.init(file: manifestPath, offset: nil, message: "archive directory has Parquet files but no MANIFEST"))
                }
                continue
            }
            report.filesChecked += 1
            let m: ArchiveManifest
            let history: SchemaHistory
            do throws(LambdaStoreError) {
                guard let loaded = try ArchiveManifest.load(fs: fs, root: root, stream: stream) else { continue }
                m = loaded
                let schemaPath = Path.join(streamsDir, stream, LogFormat.schemaFileName)
                history = try SchemaHistory(decoding: try fs.readFile(schemaPath, limit: Limits.metadataBytesMax))
            } catch {
                report.problems.append(.init(file: error.path ?? manifestPath, offset: error.offset, message: error.message))
                continue
            }
            if let end = log.endOffsets[stream], m.endOffset > end {
                report.problems.append(.init(file: manifestPath, offset: nil, message: "the archive ends at offset \(m.endOffset), past the end of the stream's log (\(end))"))
            }
            for f in m.files {
                report.filesChecked += 1
                let rel = Path.join(dir, f.name)
                do throws(LambdaStoreError) {
                    guard let schema = history.schema(version: f.schemaVersion) else {
                        throw LambdaStoreError.corruption("names schema version \(f.schemaVersion), the history has \(history.latest.version)", path: rel, offset: nil)
                    }
                    let reader = try ArchiveFileReader(fs: fs, root: root, stream: stream, file: f, schema: schema)
                    for g in f.rowGroups.indices { _ = try reader.readRowGroup(g, keepDictionaries: false) }
                } catch {
                    report.problems.append(.init(file: rel, offset: error.offset, message: error.message))
                }
            }
        }
    }

    /// A view's MANIFEST against its snapshot files and its stream: each file must agree with
    /// the manifest (``SnapshotSet/open(fs:directory:manifest:reusing:)``), and the horizon must
    /// not exceed what the stream holds.
    static func verifyViewAgainstLog(fs: any FileSystem, directory dir: String, streamEnds: [String: Int64], into report: inout VerifyReport) {
        let manifestPath = Path.join(dir, Manifest.fileName)
        guard let m = try? Manifest.load(fs: fs, directory: dir) else { return }
        if let json = m.extra["definition"], let def = try? ViewDefinition.parse(json: Array(json.utf8)), let end = streamEnds[def.stream], m.horizon > end {
            report.problems.append(.init(file: manifestPath, offset: nil,
                                         message: "horizon \(m.horizon) is past the end of stream '\(def.stream)' (offset \(end)): the log lost history this view was published from"))
        }
        // Every file against the manifest (sizes, rows, fingerprint; one file's horizon and
        // maxEventTime; parts' span, order and window ranges): the checks a store's open makes.
        // A file that does not open is reported by the per-file check already.
        guard m.files.allSatisfy({ f in (try? SnapshotReader.open(fs: fs, path: Path.join(dir, f.name))) != nil }) else { return }
        do throws(LambdaStoreError) {
            _ = try SnapshotSet.open(fs: fs, directory: dir, manifest: m)
        } catch {
            report.problems.append(.init(file: error.path ?? manifestPath, offset: error.offset, message: "disagrees with the MANIFEST: \(error.message)"))
        }
    }
}

/// What ``Store/repair(at:fileSystem:)`` did.
public struct StoreRepairReport: Sendable {
    /// What the log repair did, per stream.
    public var log: [LogRepairAction]
    /// Views reset to unpublished because their horizon was past what their stream keeps:
    /// `(view, old horizon, where the old MANIFEST was moved)`.
    public var viewsReset: [(view: String, horizon: Int64, movedTo: String)]
}

extension Store {
    /// Repairs the store at `path` explicitly (never done by an open): cuts each stream's log
    /// back to its last intact batch, moving damaged bytes aside and accepting history its
    /// checkpoint proves was lost (`EventLog/repair(root:fs:options:)`); then resets every
    /// view whose published horizon is past what its stream keeps to an unpublished view
    /// (its MANIFEST moved aside as `MANIFEST.damaged`), so the next batch rebuilds it from
    /// the history that is left. Takes the writer lock: the store must not be open.
    /// - Throws: `.locked`; `.corruption` for damage repair cannot move aside; `.io`.
    ///
    /// Reads and rewrites files: off the cooperative pool.
    public static func repair(at path: String, fileSystem fs: any FileSystem = PosixFileSystem()) async throws(LambdaStoreError) -> StoreRepairReport {
        try await Blocking.run { () throws(LambdaStoreError) -> StoreRepairReport in try repairBlocking(at: path, fileSystem: fs) }
    }

    /// ``repair(at:fileSystem:)`` on the calling thread.
    static func repairBlocking(at path: String, fileSystem fs: any FileSystem) throws(LambdaStoreError) -> StoreRepairReport {
        let actions = try EventLog.repair(root: path, fs: fs)
        var reset: [(view: String, horizon: Int64, movedTo: String)] = []
        let ends = EventLog.verify(root: path, fs: fs).endOffsets
        let views = Path.join(path, "views")
        let lock = try fs.lock(Path.join(path, "LOCK"))
        defer { lock.unlock() }
        for view in fs.isDirectory(views) ? try fs.list(views) : [] where fs.isDirectory(Path.join(views, view)) {
            let dir = Path.join(views, view)
            guard let m = try? Manifest.load(fs: fs, directory: dir), let json = m.extra["definition"],
                  let def = try? ViewDefinition.parse(json: Array(json.utf8)), let end = ends[def.stream], m.horizon > end,
                  m.generation < UInt64(Int64.max) else { continue }
            var aside = Manifest.fileName + LogFormat.damagedSuffix
            var n = 1
            while fs.exists(Path.join(dir, aside)) { aside = Manifest.fileName + LogFormat.damagedSuffix + ".\(n)"; n += 1 }
            try fs.rename(Path.join(dir, Manifest.fileName), to: Path.join(dir, aside))
            let fresh = Manifest(generation: m.generation + 1, view: m.view, fingerprint: m.fingerprint, horizon: 0, maxEventTime: nil,
                                 files: [], extra: ["definition": json])
            try fresh.publish(fs: fs, directory: dir)
            reset.append((view, m.horizon, "views/\(view)/\(aside)"))
        }
        return StoreRepairReport(log: actions, viewsReset: reset)
    }
}

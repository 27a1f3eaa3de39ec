import LambdaStoreCore

/// The `streams/` directory of one store: every stream's schema history and segments, the
/// single source of truth of LambdaStore (format-spec.md §2).
///
/// ```swift
/// let log = try EventLog.open(root: "/data/store")
/// _ = try log.applySchema(ordersSchema)
/// let orders = try log.stream("orders")
/// let offsets = try await orders.append(batch, durability: .sync)
/// try orders.forEachBatch(in: 0..<orders.endOffset) { info, batch in ... }
/// log.close()
/// ```
///
/// Opening takes the store's `LOCK` file (one writer per store; a second writer gets
/// `.locked`) unless ``LogOptions/readOnly``, then recovers every stream
/// (``recoveryReports``).
///
/// Thread safety: all methods may be called from any thread.
public final class EventLog: Sendable {
    /// The store root directory.
    public let root: String
    /// The options it was opened with.
    public let options: LogOptions
    /// What recovery cut or rebuilt while opening, one report per stream that needed anything.
    public let recoveryReports: [RecoveryReport]
    let fs: any FileSystem
    let lock: (any FileLock)?
    let state: Locked<State>
    /// The sealed segment files' descriptors, shared by every stream.
    let pool: SegmentFilePool

    struct State: Sendable {
        var streams: [String: StreamLog]
        var isClosed = false
    }

    private init(root: String, fs: any FileSystem, options: LogOptions, lock: (any FileLock)?, streams: [String: StreamLog], reports: [RecoveryReport], pool: SegmentFilePool) {
        self.pool = pool
        self.root = root
        self.fs = fs
        self.options = options
        self.lock = lock
        self.recoveryReports = reports
        state = Locked(State(streams: streams))
    }

    deinit { lock?.unlock() }

    /// Opens (creating when absent, unless read-only) the log of the store at `root` and
    /// recovers every stream (format-spec.md §2.6).
    ///
    /// - Throws: `.locked` when another writer holds `root/LOCK`; `.corruption` naming the
    ///   file and byte offset of damage that recovery must not cut (a complete batch whose
    ///   checksum fails, wherever it sits); `.notFound` for a read-only open of a missing
    ///   store; `.io`.
    /// - Complexity: O(active segment bytes + index bytes) per stream; O(all bytes) with
    ///   ``LogOptions/verifyOnOpen``.
    public static func open(root: String, fs: any FileSystem = PosixFileSystem(), options: LogOptions = .init()) throws(LambdaStoreError) -> EventLog {
        let streamsDir = Path.join(root, "streams")
        var lock: (any FileLock)?
        if options.readOnly {
            guard fs.isDirectory(root) else { throw LambdaStoreError(.notFound, "no store directory", path: root) }
            // A directory that cannot be read is not an empty store (EACCES would otherwise
            // make `streams/` look absent).
            do { _ = try fs.list(root) } catch {
                throw LambdaStoreError(.io, "cannot read the store directory: \(error.message)", path: root, errno: error.errno)
            }
        } else {
            try fs.createDirectory(root)
            lock = try fs.lock(Path.join(root, "LOCK"))
        }
        do throws(LambdaStoreError) {
            if !options.readOnly, !fs.isDirectory(streamsDir) {
                try fs.createDirectory(streamsDir)
                try fs.syncDirectory(root)
            }
            var streams: [String: StreamLog] = [:]
            var reports: [RecoveryReport] = []
            let pool = SegmentFilePool(fs: fs, capacity: options.openSegmentFilesMax)
            if fs.isDirectory(streamsDir) {
                for name in try fs.list(streamsDir) {
                    let dir = Path.join(streamsDir, name)
                    guard fs.isDirectory(dir), (try? Schema.validateName(name, what: "stream")) != nil else { continue }
                    if !fs.exists(Path.join(dir, LogFormat.schemaFileName)) {
                        if let r = try discardIncompleteStream(name: name, dir: dir, fs: fs, options: options) { reports.append(r) }
                        continue
                    }
                    let (log, report) = try StreamLog.open(root: root, name: name, fs: fs, options: options, pool: pool)
                    streams[name] = log
                    if let report { reports.append(report) }
                }
            }
            return EventLog(root: root, fs: fs, options: options, lock: lock, streams: streams, reports: reports, pool: pool)
        } catch {
            lock?.unlock()
            throw error
        }
    }

    /// A stream directory without a schema history is a creation that crashed before its
    /// schema was published: no record can be in it. Anything that looks like data is corruption.
    private static func discardIncompleteStream(name: String, dir: String, fs: any FileSystem, options: LogOptions) throws(LambdaStoreError) -> RecoveryReport? {
        let files = try fs.list(dir)
        if files.contains(where: { $0.hasSuffix(LogFormat.segmentSuffix) }) {
            throw .corruption("stream directory has segments but no schema history", path: "streams/\(name)/\(LogFormat.schemaFileName)", offset: nil)
        }
        guard !options.readOnly else { return nil }
        for f in files { try fs.remove(Path.join(dir, f)) }
        try fs.remove(dir)
        try fs.syncDirectory(Path.parent(of: dir))
        return RecoveryReport(stream: name, file: "streams/\(name)", reason: "removed the directory of an interrupted stream creation")
    }

    /// The stream names, sorted.
    public func streamNames() -> [String] { state.withLock { $0.streams.keys.sorted() } }

    /// The stream named `name`.
    /// - Throws: `.notFound` naming the stream.
    public func stream(_ name: String) throws(LambdaStoreError) -> StreamLog {
        guard let s = state.withLock({ $0.streams[name] }) else {
            throw LambdaStoreError(.notFound, "no stream named '\(name)'")
        }
        return s
    }

    /// Creates a stream, or adds a compatible schema version (format-spec.md §2.1,
    /// DESIGN.md "Schemas"): applying the same definition again (fields in any order) is a
    /// no-op; adding a nullable or defaulted field is a new version; anything else is refused
    /// with an error naming the field. The history is rewritten atomically.
    /// - Throws: `.schema` naming the offending field; `.precondition` when read-only or
    ///   closed; `.io`.
    public func applySchema(_ schema: Schema) throws(LambdaStoreError) -> SchemaApplyResult {
        try schema.validate()
        return try state.withLock { s throws(LambdaStoreError) -> SchemaApplyResult in
            guard !s.isClosed else { throw LambdaStoreError(.precondition, "the log is closed") }
            if let log = s.streams[schema.stream] { return try log.evolve(to: schema) }
            guard !options.readOnly else { throw LambdaStoreError(.precondition, "the log is open read-only") }
            s.streams[schema.stream] = try StreamLog.create(root: root, schema: schema, fs: fs, options: options, pool: pool)
            return .created(version: 1)
        }
    }

    /// Syncs and closes every stream and releases the writer lock. Later calls on the log and
    /// its streams fail with `.precondition`. Readers must have finished.
    public func close() {
        let streams: [StreamLog]? = state.withLock { s in
            if s.isClosed { return nil }
            s.isClosed = true
            return Array(s.streams.values)
        }
        guard let streams else { return }   // closed before: the lock is released once
        for s in streams { s.close() }
        lock?.unlock()
    }
}

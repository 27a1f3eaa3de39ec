import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreLog
import LambdaStoreViews
import Logging
import Dispatch


/// Options for opening a ``Store``.
public struct StoreOptions: Sendable {
    /// The file layer (a simulated one in tests).
    public var fileSystem: any FileSystem = PosixFileSystem()
    /// Segment log options (codec, segment size, …).
    public var log: LogOptions = LogOptions()
    /// Open without the writer lock; appends, schema and view changes and batches fail.
    public var readOnly: Bool = false
    /// Codec of snapshot column chunks.
    public var snapshotCodec: Codec = .zstd
    /// zstd level of snapshot chunks.
    public var snapshotZstdLevel: Int32 = 3
    /// Rows per snapshot row group (tests make it small so that parts hold several groups).
    package var snapshotRowGroupRows: Int = SnapshotFormat.rowGroupRowsDefault
    /// Most cells a batch run may hold for one view (per parallel part and after merging): a
    /// run that would exceed it fails with `.limitExceeded` naming the view and the limit,
    /// instead of the process running out of memory. Default 50 M cells (about 4 GiB).
    public var viewCellsMax: Int = 50_000_000
    /// Threads used by batch recomputes (default: the number of cores).
    public var batchParallelism: Int = Platform.processorCount
    /// The logger.
    public var logger: Logger = Logger(label: "lambdastore")
    /// The clock, epoch ms (injectable for tests).
    public var clock: @Sendable () -> Int64 = { Store.nowMillis() }
    /// Run ``Store/compact(dryRun:progress:)`` in the background every this many ms (nil: only
    /// when called). The run takes each view's turn like a batch run does; appends and queries
    /// never wait for it. Failures are logged and retried at the next tick.
    public var lifecycleIntervalMillis: Int64? = nil

    /// Default options.
    public init() {}
}

/// An embedded LambdaStore: streams, views, and the layers between them.
///
/// ```swift
/// let store = try await Store.open(at: path)
/// try await store.applySchema(schema)
/// try await store.createView(ViewDefinition.parse(json: viewJSON))
/// _ = try await store.append(batch, to: "orders", durability: .sync)
/// let rows = try await store.query(QueryRequest(view: "revenue_hourly"))
/// let summary = try await store.runBatch(view: "revenue_hourly")
/// ```
///
/// ## Concurrency
///
/// Every method may be called from any thread or task, and these may overlap freely:
/// any number of appending tasks (appends to one stream are ordered by its log), any number of
/// querying tasks, schema changes, and runs on different views. On one view, batch runs,
/// ``reconcile(view:)``, version builds (``createView(_:)`` with a changed definition) and
/// ``compact(dryRun:progress:)`` take turns: a later one waits, without blocking a thread, until the earlier
/// one finished. Garbage collection never removes a file a query or a run is reading (readers
/// pin their snapshot). No lock held across long work (replay, recompute, file I/O) is shared
/// by two views, or by a view's runs and the appends and queries: those wait at most for one
/// batch to be applied to a speed layer, or one query's cells to be read.
///
/// Answers are linearizable: a query returns the view over a log prefix `[0, X)` (minus the
/// events the speed layer judged late), with `X` between the visible end when it was called
/// and when it returned; a publish never makes an event disappear from answers. Under
/// `Durability/sync` an append becomes visible only once its fdatasync succeeded (and not
/// at all if it failed); under `interval` and `none` at once. ``append(_:to:durability:)-(ColumnBatch,_,_)``
/// returns once the batch is visible.
public final class Store: Sendable {
    /// The store directory.
    public let root: String
    let options: StoreOptions
    let fs: any FileSystem
    let log: EventLog
    let state: Locked<StoreState>
    /// One turn at a time for creating views (short: a directory and a first manifest).
    let creations = RunLock()
    /// Snapshot files in use by readers: garbage collection leaves them.
    let pins = FilePins()
    /// Compactions (manual and scheduled) take turns.
    let lifecycle = RunLock()
    /// The background lifecycle task (``StoreOptions/lifecycleIntervalMillis``).
    let scheduler = Locked<Task<Void, Never>?>(nil)
    /// Set by ``close()``: every later call fails with `.precondition`.
    let closed = Locked(false)

    struct StoreState: Sendable {
        var views: [String: ViewHandle] = [:]
        /// Views whose files could not be loaded at open, with the reason.
        var unavailable: [String: LambdaStoreError] = [:]
        var observed: Set<String> = []
    }

    /// Current time in epoch ms.
    public static func nowMillis() -> Int64 { Platform.wallClockMillis() }

    private init(root: String, options: StoreOptions, log: EventLog) {
        self.root = root
        self.options = options
        self.fs = options.fileSystem
        self.log = log
        self.state = Locked(StoreState())
    }

    /// Opens (creating if needed) the store at `path`: recovers the log (truncating a torn tail,
    /// see ``recoveryReports``), loads every view's live manifest, and rebuilds each speed layer
    /// lazily from its batch horizon.
    /// - Throws: `LambdaStoreError` — `.locked` when another writer has it open, `.corruption`
    ///   naming the file and offset of damaged data.
    ///
    /// Recovery reads files: it runs off the cooperative pool (see <doc:ConcurrencyModel>).
    public static func open(at path: String, options: StoreOptions = StoreOptions()) async throws(LambdaStoreError) -> Store {
        try await Blocking.run { () throws(LambdaStoreError) -> Store in try openBlocking(at: path, options: options) }
    }

    /// ``open(at:options:)`` on the calling thread.
    static func openBlocking(at path: String, options: StoreOptions) throws(LambdaStoreError) -> Store {
        let fs = options.fileSystem
        if options.readOnly {
            guard fs.isDirectory(path) else { throw LambdaStoreError(.notFound, "no store here", path: path) }
        } else {
            try fs.createDirectory(path)
            try fs.createDirectory(Path.join(path, "views"))
        }
        var logOptions = options.log
        logOptions.readOnly = options.readOnly
        let log = try EventLog.open(root: path, fs: fs, options: logOptions)
        let store = Store(root: path, options: options, log: log)
        for r in log.recoveryReports where r.bytesTruncated > 0 || !r.rebuiltIndexes.isEmpty {
            options.logger.warning("recovery: \(r)", metadata: ["store": .string(path)])
        }
        try store.loadViews()
        if !options.readOnly { try store.checkViewHorizons() }
        if !options.readOnly {
            for name in log.streamNames() {
                guard let s = try? log.stream(name) else { continue }
                let limits = store.rollLimits(try store.streamPolicyBlocking(name))
                s.setRollLimits(bytes: limits.bytes, ageMillis: limits.ageMillis)
            }
            store.startLifecycleSchedule()
        }
        options.logger.debug("opened store", metadata: ["store": .string(path), "readOnly": .stringConvertible(options.readOnly)])
        return store
    }

    /// Refuses a writable open when a view's published horizon proves more history than its
    /// stream holds: appending would reuse the offsets of lost events.
    func checkViewHorizons() throws(LambdaStoreError) {
        for h in state.withLock({ Array($0.views.values) }) {
            let v = h.current
            guard let stream = try? log.stream(v.definition.stream) else { continue }
            if v.manifest.horizon > stream.endOffset {
                log.close()
                throw LambdaStoreError(.corruption,
                    "view '\(h.name)' was published at horizon \(v.manifest.horizon) but stream '\(stream.name)' ends at offset \(stream.endOffset): acknowledged history is missing; refusing to open for writing (`lambdastore repair` accepts the loss)",
                    path: Path.join(viewDirectory(h.name), Manifest.fileName), offset: nil)
            }
        }
    }

    /// What recovery cut from torn tails when the store was opened.
    public var recoveryReports: [RecoveryReport] { log.recoveryReports }

    /// Flushes and closes the store and releases the writer lock.
    ///
    /// Lifetime: `close()` may be called any number of times, from any thread, also while
    /// other calls run (those finish or fail; it never waits for queries or runs). After it,
    /// every call that reads or writes the store fails with `.precondition` ("the store is
    /// closed"). A store that is released without `close()` releases its writer lock and files
    /// then, but without the final fsync of the active segment and the checkpoint that
    /// `close()` writes — call it.
    public func close() {
        let first = closed.withLock { c in defer { c = true }; return !c }
        guard first else { return }
        scheduler.withLock { t in t?.cancel(); t = nil }
        log.close()
    }

    /// Throws `.precondition` once ``close()`` was called.
    func requireOpen() throws(LambdaStoreError) {
        if closed.withLock({ $0 }) { throw LambdaStoreError(.precondition, "the store is closed", path: root) }
    }

    /// Starts the background compaction loop when ``StoreOptions/lifecycleIntervalMillis`` is set.
    func startLifecycleSchedule() {
        guard let period = options.lifecycleIntervalMillis, period > 0 else { return }
        let task = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(period) * 1_000_000)
                guard !Task.isCancelled, let store = self else { return }
                do throws(LambdaStoreError) {
                    let r = try await store.compact()
                    store.options.logger.debug("scheduled compaction", metadata: ["rolled": .stringConvertible(r.rolled), "removed": .stringConvertible(r.filesRemoved.count)])
                } catch {
                    store.options.logger.warning("scheduled compaction failed: \(error)")
                }
            }
        }
        scheduler.withLock { $0 = task }
    }

    // MARK: Streams

    /// The stream names, sorted.
    public var streams: [String] { log.streamNames() }

    /// Creates a stream or adds a compatible schema version (DESIGN.md "Schemas").
    /// - Throws: `.schema` naming the field for an incompatible change.
    ///
    /// Writes the stream's schema history durably (temp file, fsync, rename): off the
    /// cooperative pool.
    @discardableResult
    public func applySchema(_ schema: Schema) async throws(LambdaStoreError) -> SchemaApplyResult {
        try await Blocking.run { () throws(LambdaStoreError) -> SchemaApplyResult in try self.applySchemaBlocking(schema) }
    }

    /// ``applySchema(_:)`` on the calling thread.
    func applySchemaBlocking(_ schema: Schema) throws(LambdaStoreError) -> SchemaApplyResult {
        try requireWritable()
        let r = try log.applySchema(schema)
        if case .evolved = r {
            // Views keep their column indexes (added fields go last) but see the new schema.
            // Runs and scans already under way keep the compiled plan they started with.
            let latest = try log.stream(schema.stream).latestSchema
            for h in state.withLock({ Array($0.views.values) }) {
                try h.state.withLock { (v: inout ViewRuntime) throws(LambdaStoreError) in
                    guard v.definition.stream == schema.stream else { return }
                    v.compiled = try CompiledView(v.definition, schema: latest)
                }
            }
        }
        return r
    }

    /// The latest schema of `stream`.
    public func schema(of stream: String) throws(LambdaStoreError) -> Schema {
        try log.stream(stream).latestSchema
    }

    /// The log of `stream`, with its segments, indexes and archive: read access for the
    /// `lambdastore` tool, the tests and the benchmarks (`@_spi(Internals) import
    /// LambdaStore`), not part of the user's API; ``endOffset(of:)`` and
    /// ``batches(of:in:)`` are.
    @_spi(Internals) public func streamLog(_ stream: String) throws(LambdaStoreError) -> StreamLog {
        try requireOpen()
        return try log.stream(stream)
    }

    /// The offset the next event appended to `stream` gets: the stream holds offsets
    /// `0..<endOffset(of:)` (dense), including events appended but not yet durable under
    /// `none` or `interval`.
    ///
    /// In memory: sync.
    /// - Throws: `.notFound` for an unknown stream; `.precondition` after ``close()``.
    public func endOffset(of stream: String) throws(LambdaStoreError) -> Int64 {
        try requireOpen()
        return try log.stream(stream).endOffset
    }

    /// The events of `stream` at `offsets` (clamped to the stream's end), read from the raw
    /// segments and the archive as one history, checked against their checksums, and laid
    /// out under the stream's latest schema (fields a later version added hold their default,
    /// else null). Batches come in offset order and hold every offset once; their boundaries
    /// are the stored batches' (sliced to `offsets`).
    ///
    /// Reads the whole range into memory: meant for ranges that fit there (a scan of a long
    /// history belongs in a view).
    ///
    /// Reads files on a thread of its own: off the cooperative pool.
    /// - Throws: `.notFound` for an unknown stream or history dropped by retention;
    ///   `.corruption` naming the file and offset; `.io`.
    public func batches(of stream: String, in offsets: Range<Int64>) async throws(LambdaStoreError) -> [ColumnBatch] {
        try requireOpen()
        let log = try self.log.stream(stream)
        return try await Blocking.run { () throws(LambdaStoreError) -> [ColumnBatch] in
            let lower = Swift.max(0, offsets.lowerBound)
            let range = lower..<Swift.max(lower, Swift.min(offsets.upperBound, log.endOffset))
            var out: [ColumnBatch] = []
            guard !range.isEmpty else { return out }
            try log.forEachBatch(in: range) { _, b in out.append(b) }
            return out
        }
    }

    /// Appends a batch of records (laid out under the stream's latest schema) and applies it to
    /// every view's speed layer before returning, so a query right after sees it. Under `sync`
    /// the batch becomes visible only after its fdatasync succeeded: if it fails, the append
    /// throws and no query ever sees the batch.
    /// - Returns: the offsets assigned, dense and increasing.
    /// - Throws: `.schema` for a batch that does not match the schema, `.io` on write failure.
    @discardableResult
    public func append(_ batch: ColumnBatch, to stream: String, durability: Durability = .sync) async throws(LambdaStoreError) -> Range<Int64> {
        try await append(batch, to: stream, durability: durability, valuesChecked: false)
    }

    /// The append behind every form; `valuesChecked` for batches the typed forms built, whose
    /// values were checked one by one (see `ColumnBatch.validate(against:valuesChecked:)`).
    func append(_ batch: ColumnBatch, to stream: String, durability: Durability, valuesChecked: Bool) async throws(LambdaStoreError) -> Range<Int64> {
        try requireWritable()
        let s = try log.stream(stream)
        try ensureObserver(s)
        let start = DispatchTime.now().uptimeNanoseconds
        let r = try await s.append(batch, durability: durability, valuesChecked: valuesChecked)
        // End-to-end freshness of the speed path: from the call to the events being served.
        Metrics.appended(stream: stream, events: r.count, visibleAfterNanos: DispatchTime.now().uptimeNanoseconds - start)
        return r
    }

    func requireWritable() throws(LambdaStoreError) {
        try requireOpen()
        if options.readOnly { throw LambdaStoreError(.precondition, "the store is open read-only", path: root) }
    }

    /// Registers, once per stream, the observer that feeds appended batches to speed layers.
    func ensureObserver(_ s: StreamLog) throws(LambdaStoreError) {
        let name = s.name
        let fresh = state.withLock { st in st.observed.insert(name).inserted }
        guard fresh else { return }
        s.addAppendObserver { [weak self] base, batch in
            self?.applyToSpeed(stream: name, baseOffset: base, batch: batch)
        }
    }

    /// The append observer: applies a visible batch to every built speed layer of the stream's
    /// views, each under its own view's lock. A view without a speed layer is skipped (its build
    /// catches up from the log); one that would meet a gap is dropped and rebuilt on next use.
    func applyToSpeed(stream: String, baseOffset: Int64, batch: ColumnBatch) {
        // A batch appended under an older schema version than a view was compiled for (a schema
        // change raced the append) is projected onto the view's version, as log reads are.
        let log = try? self.log.stream(stream)
        for h in state.withLock({ Array($0.views.values) }) {
            let gap: Bool = h.state.withLock { v in
                guard v.definition.stream == stream, v.speed != nil else { return false }
                var input = batch
                if batch.schemaVersion < v.compiled.schema.version, let from = log?.schema(version: batch.schemaVersion) {
                    input = batch.projected(from: from, to: v.compiled.schema)
                }
                // Applied in place: the table stays uniquely referenced (no copy-on-write).
                if v.speed?.apply(input, baseOffset: baseOffset, view: v.compiled) == false {
                    v.speed = nil
                    return true
                }
                return false
            }
            if gap {
                options.logger.error("speed layer missed a batch before offset \(baseOffset); rebuilding it from the log",
                                     metadata: ["view": .string(h.name)])
            }
        }
    }
}

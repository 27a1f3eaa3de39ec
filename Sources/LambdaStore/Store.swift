import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreLog
import LambdaStoreViews
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
    /// Threads used by batch recomputes (default: the number of cores).
    public var batchParallelism: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    /// The logger.
    public var logger: Logger = Logger(label: "lambdastore")
    /// The clock, epoch ms (injectable for tests).
    public var clock: @Sendable () -> Int64 = { Store.nowMillis() }

    /// Default options.
    public init() {}
}

/// An embedded LambdaStore: streams, views, and the layers between them.
///
/// ```swift
/// let store = try Store.open(at: "./data")
/// try store.applySchema(schema)
/// try store.createView(ViewDefinition.parse(json: viewJSON))
/// _ = try await store.append(batch, to: "orders", durability: .sync)
/// let rows = try store.query(QueryRequest(view: "revenue_hourly"))
/// let summary = try await store.runBatch(view: "revenue_hourly")
/// ```
///
/// Thread safety: every method may be called from any thread or task; appends to one stream
/// are ordered by the log, view state is guarded by one lock.
public final class Store: Sendable {
    /// The store directory.
    public let root: String
    let options: StoreOptions
    let fs: any FileSystem
    let log: EventLog
    let state: Mutex<StoreState>

    struct StoreState: Sendable {
        var views: [String: ViewRuntime] = [:]
        var observed: Set<String> = []
    }

    /// Current time in epoch ms.
    public static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    private init(root: String, options: StoreOptions, log: EventLog) {
        self.root = root
        self.options = options
        self.fs = options.fileSystem
        self.log = log
        self.state = Mutex(StoreState())
    }

    /// Opens (creating if needed) the store at `path`: recovers the log (truncating a torn tail,
    /// see ``recoveryReports``), loads every view's live manifest, and rebuilds each speed layer
    /// lazily from its batch horizon.
    /// - Throws: ``LambdaStoreError`` — `.locked` when another writer has it open, `.corruption`
    ///   naming the file and offset of damaged data.
    public static func open(at path: String, options: StoreOptions = StoreOptions()) throws(LambdaStoreError) -> Store {
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
        options.logger.debug("opened store", metadata: ["store": .string(path), "readOnly": .stringConvertible(options.readOnly)])
        return store
    }

    /// What recovery cut from torn tails when the store was opened.
    public var recoveryReports: [RecoveryReport] { log.recoveryReports }

    /// Releases the writer lock and files.
    public func close() { log.close() }

    // MARK: Streams

    /// The stream names, sorted.
    public var streams: [String] { log.streamNames() }

    /// Creates a stream or adds a compatible schema version (DESIGN.md "Schemas").
    /// - Throws: `.schema` naming the field for an incompatible change.
    @discardableResult
    public func applySchema(_ schema: Schema) throws(LambdaStoreError) -> SchemaApplyResult {
        try requireWritable()
        let r = try log.applySchema(schema)
        if case .evolved = r {
            // Views keep their column indexes (added fields go last) but see the new schema.
            let latest = try log.stream(schema.stream).latestSchema
            try state.withLock { (s: inout StoreState) throws(LambdaStoreError) in
                for (name, v) in s.views where v.definition.stream == schema.stream {
                    s.views[name]?.compiled = try CompiledView(v.definition, schema: latest)
                }
            }
        }
        return r
    }

    /// The latest schema of `stream`.
    public func schema(of stream: String) throws(LambdaStoreError) -> Schema {
        try log.stream(stream).latestSchema
    }

    /// The log of `stream` (read access for tools and tests).
    public func streamLog(_ stream: String) throws(LambdaStoreError) -> StreamLog {
        try log.stream(stream)
    }

    /// Appends a batch of records (laid out under the stream's latest schema) and applies it to
    /// every view's speed layer before returning, so a query right after sees it.
    /// - Returns: the offsets assigned, dense and increasing.
    /// - Throws: `.schema` for a batch that does not match the schema, `.io` on write failure.
    @discardableResult
    public func append(_ batch: ColumnBatch, to stream: String, durability: Durability = .sync) async throws(LambdaStoreError) -> Range<Int64> {
        try requireWritable()
        let s = try log.stream(stream)
        try ensureObserver(s)
        return try await s.append(batch, durability: durability)
    }

    func requireWritable() throws(LambdaStoreError) {
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

    func applyToSpeed(stream: String, baseOffset: Int64, batch: ColumnBatch) {
        state.withLock { st in
            for (name, v) in st.views where v.definition.stream == stream {
                guard var speed = st.views[name]?.speed else { continue }
                st.views[name]?.speed = nil   // keep the table uniquely referenced while mutating
                speed.apply(batch, baseOffset: baseOffset, view: v.compiled)
                st.views[name]?.speed = speed
            }
        }
    }
}

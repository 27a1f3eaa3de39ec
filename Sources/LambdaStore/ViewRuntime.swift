import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreLog
import LambdaStoreViews

/// The live state of one view inside a ``Store``: its definition (as published in its
/// manifest), the compiled plan, the live snapshot, and the speed layer.
///
/// Thread safety: a value type, guarded by its ``ViewHandle``'s lock.
struct ViewRuntime: Sendable {
    var definition: ViewDefinition
    var compiled: CompiledView {
        didSet { codec = try? SnapshotLayout(layout: compiled.layout) }
    }
    /// The live manifest.
    var manifest: Manifest
    /// The live snapshot's files, when a batch has published one.
    var snapshot: SnapshotSet?
    /// Built lazily from the manifest's horizon.
    var speed: SpeedLayer?
    /// The snapshot layout of `compiled` (nil when its aggregates have no snapshot form),
    /// built once per compiled view instead of once per query.
    private(set) var codec: SnapshotLayout?

    init(definition: ViewDefinition, compiled: CompiledView, manifest: Manifest, snapshot: SnapshotSet?, speed: SpeedLayer?) {
        self.definition = definition
        self.compiled = compiled
        self.manifest = manifest
        self.snapshot = snapshot
        self.speed = speed
        self.codec = try? SnapshotLayout(layout: compiled.layout)
    }

    var horizon: Int64 { manifest.horizon }

    /// The snapshot layout of `compiled`, or the error building it gives.
    func snapshotLayout() throws(LambdaStoreError) -> SnapshotLayout {
        if let codec { return codec }
        return try SnapshotLayout(layout: compiled.layout)
    }

    /// This runtime without its speed layer: a copy that keeps no reference to the speed
    /// tables, so the next append does not have to copy them (copy-on-write).
    var withoutSpeed: ViewRuntime {
        var copy = self
        copy.speed = nil
        return copy
    }
}

/// One view of a ``Store`` and its locks (the concurrency model of DESIGN.md and the README):
///
/// - `state` guards the live runtime. It is held only for short, in-memory work: applying one
///   appended batch to the speed layer, reading a query's speed cells, swapping in a publish.
///   Never across file I/O of a run or a replay longer than a catch-up.
/// - `runs` serialises the long operations on the view — batch runs, reconcile, version builds
///   and garbage collection of its directory — in arrival order, without blocking threads.
/// - `build` serialises speed-layer builds (replays), so concurrent queries replay once.
///
/// Lock order: a stream's observer lock, then `state`, then the stream's state lock; `build`
/// before `state`. Never `state` while waiting for `runs`.
final class ViewHandle: Sendable {
    let name: String
    let state: Locked<ViewRuntime>
    let runs = RunLock()
    /// Speed-layer builds so far (a counter, so the lock guards a value TSan can place).
    let build = Locked(0)

    init(name: String, runtime: ViewRuntime) {
        self.name = name
        state = Locked(runtime)
    }

    /// The live runtime without its speed layer (see ``ViewRuntime/withoutSpeed``).
    var current: ViewRuntime { state.withLock { $0.withoutSpeed } }
}

/// What ``Store/createView(_:)`` did.
public enum ViewCreateResult: Sendable, Equatable {
    /// A new view; its fingerprint.
    case created(fingerprint: String)
    /// The identical definition was already registered.
    case unchanged(fingerprint: String)
    /// A changed definition replaced the old version after being built from history.
    case replaced(oldFingerprint: String, newFingerprint: String)
}

/// A view as listed by ``Store/views()``.
public struct ViewInfo: Sendable {
    /// The definition.
    public var definition: ViewDefinition
    /// Its fingerprint.
    public var fingerprint: String
    /// The batch horizon of the live snapshot (0 before the first batch).
    public var horizon: Int64
    /// `maxEventTime` at the horizon.
    public var maxEventTime: Int64?
    /// The manifest generation.
    public var generation: UInt64
    /// When the live snapshot was published (epoch ms), nil before the first batch.
    public var publishedAt: Int64?
    /// The live snapshot's first file name in the view directory, nil before the first batch.
    /// A windowed view's snapshot is split into parts by window range: ``snapshotFiles`` lists
    /// them all.
    public var snapshotFile: String?
    /// Every file of the live snapshot, in the manifest's order (by window range for a
    /// windowed view; empty before the first batch).
    public var snapshotFiles: [String]
}

extension Store {
    func viewDirectory(_ name: String) -> String { Path.join(root, "views", name) }

    /// Loads every view's manifest (at open). A view whose files are damaged or missing does
    /// not keep the store from opening: it is listed as unavailable, with the reason, and every
    /// other stream and view works (``unavailableViews``).
    func loadViews() throws(LambdaStoreError) {
        let dir = Path.join(root, "views")
        guard fs.isDirectory(dir) else { return }
        var loaded: [String: ViewHandle] = [:]
        var unavailable: [String: LambdaStoreError] = [:]
        for name in try fs.list(dir) where fs.isDirectory(Path.join(dir, name)) {
            do throws(LambdaStoreError) {
                guard let rt = try loadView(name) else { continue }
                loaded[name] = ViewHandle(name: name, runtime: rt)
            } catch {
                unavailable[name] = error
                options.logger.error("view '\(name)' is unavailable: \(error)", metadata: ["store": .string(root)])
            }
        }
        state.withLock { st in
            st.views = loaded
            st.unavailable = unavailable
        }
    }

    func loadView(_ name: String) throws(LambdaStoreError) -> ViewRuntime? {
        let vdir = viewDirectory(name)
        guard let manifest = try Manifest.load(fs: fs, directory: vdir) else {
            // A directory without a MANIFEST is a view creation that crashed before its first
            // publish, unless it holds snapshots: then the MANIFEST was lost.
            if try fs.list(vdir).contains(where: { $0.hasSuffix(".snapshot") }) {
                throw LambdaStoreError.corruption("view directory has snapshots but no MANIFEST", path: Path.join(vdir, Manifest.fileName), offset: nil)
            }
            return nil
        }
        guard let json = manifest.extra["definition"] else {
            throw LambdaStoreError.corruption("manifest has no view definition", path: Path.join(vdir, "MANIFEST"), offset: nil)
        }
        let def = try ViewDefinition.parse(json: Array(json.utf8))
        let schema = try log.stream(def.stream).latestSchema
        let compiled = try CompiledView(def, schema: schema)
        // Every file the manifest names, checked against it (sizes, rows, fingerprint, horizon
        // or part ranges).
        let reader = try SnapshotSet.open(fs: fs, directory: vdir, manifest: manifest)
        return ViewRuntime(definition: def, compiled: compiled, manifest: manifest, snapshot: reader, speed: nil)
    }

    /// The registered views that can serve, sorted by name.
    public func views() -> [ViewInfo] {
        let handles = state.withLock { st in st.views.sorted { $0.key < $1.key }.map(\.value) }
        return handles.map { h in
            let v = h.current
            return ViewInfo(definition: v.definition, fingerprint: v.compiled.fingerprint, horizon: v.manifest.horizon,
                            maxEventTime: v.manifest.maxEventTime, generation: v.manifest.generation,
                            publishedAt: v.manifest.extra["publishedAt"].flatMap { Int64($0) },
                            snapshotFile: v.manifest.files.first?.name, snapshotFiles: v.manifest.files.map(\.name))
        }
    }

    /// The views whose files were damaged or missing when the store was opened, with the
    /// reason, sorted by name. Their queries and runs fail with that reason; nothing else is
    /// affected.
    public var unavailableViews: [(view: String, reason: LambdaStoreError)] {
        state.withLock { st in st.unavailable.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    /// The handle of view `name`.
    /// - Throws: `.notFound`, or the reason the view is unavailable.
    func handle(_ name: String) throws(LambdaStoreError) -> ViewHandle {
        try requireOpen()
        let (h, bad) = state.withLock { ($0.views[name], $0.unavailable[name]) }
        if let h { return h }
        if let bad { throw LambdaStoreError(bad.code, "view '\(name)' is unavailable: \(bad.message)", path: bad.path, offset: bad.offset) }
        throw LambdaStoreError(.notFound, "no view named '\(name)'")
    }

    /// The live runtime of view `name`, without its speed layer.
    func runtime(_ name: String) throws(LambdaStoreError) -> ViewRuntime {
        try handle(name).current
    }

    /// Registers a view (DESIGN.md "Views"). An identical definition is a no-op; a changed
    /// definition under the same name is a new version: it is built by a full replay from the
    /// log while the old version keeps serving, then swapped in atomically with its manifest.
    /// Version builds wait for the view's other runs (batch, reconcile) to finish.
    /// - Throws: `.view` naming the offending field or token, `.notFound` for an unknown stream.
    @discardableResult
    public func createView(_ definition: ViewDefinition) async throws(LambdaStoreError) -> ViewCreateResult {
        try await createView(definition, fromEarliestReplayable: false)
    }

    /// ``createView(_:)`` for a stream whose history before its earliest replayable offset
    /// `E` was dropped (`StreamLog/earliestReplayableOffset`): without
    /// `fromEarliestReplayable`, a new view or view version that would need that history is
    /// refused with an error naming `E` and when it was dropped; with it, the view is built
    /// from `E` (its answers cover the events from `E` on).
    public func createView(_ definition: ViewDefinition, fromEarliestReplayable: Bool) async throws(LambdaStoreError) -> ViewCreateResult {
        try requireWritable()
        let stream = try log.stream(definition.stream)
        try ensureObserver(stream)
        let compiled = try CompiledView(definition, schema: stream.latestSchema)
        // A version with a base checkpoint of its own (the same fingerprint) needs nothing dropped.
        @Sendable func needsDroppedHistory(_ e: Int64) throws(LambdaStoreError) -> Bool {
            guard e > 0 else { return false }
            return try baseCheckpoint(view: definition.name, fingerprint: compiled.fingerprint).map { $0.offset < e } ?? true
        }
        /// The offset the view starts from (0, or `E` when built from the earliest replayable offset).
        @Sendable @discardableResult func refuseOrKeepEmptyBase() throws(LambdaStoreError) -> Int64 {
            // `E` as of now: this runs in the creation turn (a new view) or the view's run turn (a
            // new version), and a history drop holds both, so `E` cannot move before the view exists.
            let e = stream.earliestReplayableOffset
            guard try needsDroppedHistory(e) else { return 0 }
            guard fromEarliestReplayable else {
                throw LambdaStoreError(.precondition,
                    "view '\(definition.name)' would need the history of stream '\(stream.name)' before offset \(e), which was dropped\(droppedNote(stream)) by its retention policy; create it with --from-earliest to build it from offset \(e)")
            }
            try fs.createDirectory(viewDirectory(definition.name))
            try keepEmptyBase(view: definition.name, fingerprint: compiled.fingerprint, at: e)
            return e
        }
        // View creation is rare and short: one store-wide turn keeps two creations of the same
        // name from both writing a first manifest.
        // Its directory and first manifest are written durably: off the cooperative pool.
        let existing: ViewHandle? = try await creations.withLock { () async throws(LambdaStoreError) -> ViewHandle? in
            try await Blocking.run { [self] () throws(LambdaStoreError) -> ViewHandle? in
                if let h = state.withLock({ $0.views[definition.name] }) { return h }
                if let bad = state.withLock({ $0.unavailable[definition.name] }) {
                    throw LambdaStoreError(.precondition, "view '\(definition.name)' exists but is unavailable (\(bad.message)); repair or remove \(viewDirectory(definition.name)) first")
                }
                // A view built from `E` starts there: its speed layer replays from its horizon.
                let start = try refuseOrKeepEmptyBase()
                let vdir = viewDirectory(definition.name)
                try fs.createDirectory(vdir)
                try fs.syncDirectory(Path.join(root, "views"))
                let manifest = Manifest(generation: 1, view: definition.name, fingerprint: compiled.fingerprint, horizon: start,
                                        maxEventTime: nil, files: [], extra: ["definition": definition.toJSON()])
                try manifest.publish(fs: fs, directory: vdir)
                let h = ViewHandle(name: definition.name, runtime: ViewRuntime(definition: definition, compiled: compiled, manifest: manifest, snapshot: nil, speed: nil))
                state.withLock { $0.views[definition.name] = h }
                return nil
            }
        }
        guard let existing else { return .created(fingerprint: compiled.fingerprint) }
        return try await existing.runs.withLock { () async throws(LambdaStoreError) -> ViewCreateResult in
            let old = existing.current
            if old.compiled.fingerprint == compiled.fingerprint && old.definition == definition {
                return .unchanged(fingerprint: compiled.fingerprint)
            }
            // New version: build it from history, then swap in.
            if old.compiled.fingerprint != compiled.fingerprint {
                try await Blocking.run { () throws(LambdaStoreError) -> Void in _ = try refuseOrKeepEmptyBase() }
            }
            _ = try await runBatchLocked(existing, mode: .full, replacing: (definition, compiled), progress: nil)
            return old.compiled.fingerprint == compiled.fingerprint
                ? .unchanged(fingerprint: compiled.fingerprint)
                : .replaced(oldFingerprint: old.compiled.fingerprint, newFingerprint: compiled.fingerprint)
        }
    }

    /// Builds the speed layer of `handle` if it has none, by replaying its stream from the
    /// horizon with `maxEventTime` seeded from the snapshot (DESIGN.md "Speed recovery").
    ///
    /// The replay runs without the view's lock (appends and queries of other views never wait
    /// for it; appends skip a view while it has no speed layer); only the last catch-up to the
    /// visible end, and the install, hold it (see ``install(_:in:stream:view:)``).
    func ensureSpeed(_ handle: ViewHandle) throws(LambdaStoreError) {
        if handle.state.withLock({ $0.speed != nil }) { return }
        try handle.build.withLock { (builds: inout Int) throws(LambdaStoreError) in
            while true {
                let start: ViewRuntime? = handle.state.withLock { $0.speed == nil ? $0.withoutSpeed : nil }
                guard let v = start else { return }
                let stream = try log.stream(v.definition.stream)
                var speed = SpeedLayer(layout: v.compiled.layout, horizon: v.manifest.horizon, maxEventTime: v.manifest.maxEventTime)
                let installed = try install(&speed, in: handle, stream: stream, view: v.compiled) { rt in
                    // A publish or version swap in between: start again from its horizon.
                    guard rt.speed == nil, rt.manifest.generation == v.manifest.generation,
                          rt.compiled.fingerprint == v.compiled.fingerprint else { return false }
                    return true
                }
                if installed { builds += 1 }
                if installed || handle.state.withLock({ $0.speed != nil }) { return }
            }
        }
    }

    /// Catches `speed` up with the visible end of `stream` and installs it in `handle`.
    ///
    /// Replays without locks until little is left, then, with the stream's observers paused
    /// (`StreamLog/withVisibleEndStable(_:)`) and the view locked, replays the rest and runs
    /// `commit`; when that returns true, `speed` is installed (and replaced by an empty layer
    /// in the caller). Observers
    /// skip a view without a speed layer, and every batch they handed out is below the stable
    /// end, so the installed layer misses none and the next observer call continues it.
    /// - Returns: what `commit` returned.
    @discardableResult
    func install(_ speed: inout SpeedLayer, in handle: ViewHandle, stream: StreamLog, view: CompiledView,
                 commit: (inout ViewRuntime) throws(LambdaStoreError) -> Bool) throws(LambdaStoreError) -> Bool {
        // Left for the locked step: at most this many events (appends wait for it).
        let lockedCatchUpMax: Int64 = 65_536
        repeat {
            try catchUp(&speed, stream: stream, view: view, to: stream.visibleEndOffset)
        } while stream.visibleEndOffset - speed.appliedEnd > lockedCatchUpMax
        return try stream.withVisibleEndStable { (end: Int64) throws(LambdaStoreError) -> Bool in
            try handle.state.withLock { (rt: inout ViewRuntime) throws(LambdaStoreError) -> Bool in
                try catchUp(&speed, stream: stream, view: view, to: end)
                guard try commit(&rt) else { return false }
                rt.speed = speed
                // Let go of the caller's reference, so the installed tables stay uniquely
                // referenced and the next apply does not copy them.
                speed = SpeedLayer(layout: view.layout, horizon: end, maxEventTime: nil)
                return true
            }
        }
    }

    /// Replays `[speed.appliedEnd, end)` of `stream` into `speed`.
    func catchUp(_ speed: inout SpeedLayer, stream: StreamLog, view: CompiledView, to end: Int64) throws(LambdaStoreError) {
        guard end > speed.appliedEnd else { return }
        var failed: LambdaStoreError?
        try stream.forEachBatch(in: speed.appliedEnd..<end, keepDictionaries: true) { info, batch throws(LambdaStoreError) in
            if failed == nil, !speed.apply(batch, baseOffset: info.baseOffset, view: view) {
                failed = LambdaStoreError(.corruption, "the log has a gap before offset \(info.baseOffset) while replaying into the speed layer (applied up to \(speed.appliedEnd))", path: "streams/\(stream.name)")
            }
        }
        if let failed { throw failed }
    }
}

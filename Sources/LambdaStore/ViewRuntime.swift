import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreLog
import LambdaStoreViews

/// The live state of one view inside a ``Store``: its definition (as published in its
/// manifest), the compiled plan, the live snapshot, and the speed layer.
///
/// Thread safety: a value type, guarded by the store's lock.
struct ViewRuntime: Sendable {
    var definition: ViewDefinition
    var compiled: CompiledView
    /// The live manifest.
    var manifest: Manifest
    /// The live snapshot file, when a batch has published one.
    var snapshot: SnapshotReader?
    /// Built lazily from the manifest's horizon.
    var speed: SpeedLayer?

    var horizon: Int64 { manifest.horizon }
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
    /// The live snapshot's file name in the view directory, nil before the first batch.
    public var snapshotFile: String?
}

extension Store {
    func viewDirectory(_ name: String) -> String { Path.join(root, "views", name) }

    /// Loads every view's manifest (at open).
    func loadViews() throws(LambdaStoreError) {
        let dir = Path.join(root, "views")
        guard fs.isDirectory(dir) else { return }
        var loaded: [String: ViewRuntime] = [:]
        for name in try fs.list(dir) where fs.isDirectory(Path.join(dir, name)) {
            guard let rt = try loadView(name) else { continue }
            loaded[name] = rt
        }
        state.withLock { $0.views = loaded }
    }

    func loadView(_ name: String) throws(LambdaStoreError) -> ViewRuntime? {
        let vdir = viewDirectory(name)
        guard let manifest = try Manifest.load(fs: fs, directory: vdir) else { return nil }
        guard let json = manifest.extra["definition"] else {
            throw LambdaStoreError.corruption("manifest has no view definition", path: Path.join(vdir, "MANIFEST"), offset: nil)
        }
        let def = try ViewDefinition.parse(json: Array(json.utf8))
        let schema = try log.stream(def.stream).latestSchema
        let compiled = try CompiledView(def, schema: schema)
        var reader: SnapshotReader? = nil
        if let file = manifest.files.first {
            reader = try SnapshotReader.open(fs: fs, path: Path.join(vdir, file.name))
        }
        return ViewRuntime(definition: def, compiled: compiled, manifest: manifest, snapshot: reader, speed: nil)
    }

    /// The registered views, sorted by name.
    public func views() -> [ViewInfo] {
        state.withLock { st in
            st.views.keys.sorted().compactMap { name in
                guard let v = st.views[name] else { return nil }
                return ViewInfo(definition: v.definition, fingerprint: v.compiled.fingerprint, horizon: v.manifest.horizon,
                                maxEventTime: v.manifest.maxEventTime, generation: v.manifest.generation,
                                publishedAt: v.manifest.extra["publishedAt"].flatMap { Int64($0) },
                                snapshotFile: v.manifest.files.first?.name)
            }
        }
    }

    func runtime(_ name: String) throws(LambdaStoreError) -> ViewRuntime {
        guard let v = state.withLock({ $0.views[name] }) else {
            throw LambdaStoreError(.notFound, "no view named '\(name)'")
        }
        return v
    }

    /// Registers a view (DESIGN.md "Views"). An identical definition is a no-op; a changed
    /// definition under the same name is a new version: it is built by a full replay from the
    /// log while the old version keeps serving, then swapped in atomically with its manifest.
    /// - Throws: `.view` naming the offending field or token, `.notFound` for an unknown stream.
    @discardableResult
    public func createView(_ definition: ViewDefinition) async throws(LambdaStoreError) -> ViewCreateResult {
        try requireWritable()
        let stream = try log.stream(definition.stream)
        try ensureObserver(stream)
        let compiled = try CompiledView(definition, schema: stream.latestSchema)
        let existing = state.withLock { $0.views[definition.name] }
        if let existing {
            if existing.compiled.fingerprint == compiled.fingerprint && existing.definition == definition {
                return .unchanged(fingerprint: compiled.fingerprint)
            }
            // New version: build it from history, then swap in.
            _ = try await runBatch(view: definition.name, mode: .full, replacing: (definition, compiled))
            return existing.compiled.fingerprint == compiled.fingerprint
                ? .unchanged(fingerprint: compiled.fingerprint)
                : .replaced(oldFingerprint: existing.compiled.fingerprint, newFingerprint: compiled.fingerprint)
        }
        let vdir = viewDirectory(definition.name)
        try fs.createDirectory(vdir)
        try fs.syncDirectory(Path.join(root, "views"))
        let manifest = Manifest(generation: 1, view: definition.name, fingerprint: compiled.fingerprint, horizon: 0,
                                maxEventTime: nil, files: [], extra: ["definition": definition.toJSON()])
        try manifest.publish(fs: fs, directory: vdir)
        state.withLock { st in
            st.views[definition.name] = ViewRuntime(definition: definition, compiled: compiled, manifest: manifest, snapshot: nil, speed: nil)
        }
        return .created(fingerprint: compiled.fingerprint)
    }

    /// Builds the speed layer of `name` if needed by replaying its stream from the horizon,
    /// with `maxEventTime` seeded from the snapshot (DESIGN.md "Speed recovery").
    func ensureSpeed(_ name: String) throws(LambdaStoreError) {
        try state.withLock { (st: inout StoreState) throws(LambdaStoreError) in
            guard let v = st.views[name], v.speed == nil else { return }
            var speed = SpeedLayer(layout: v.compiled.layout, horizon: v.manifest.horizon, maxEventTime: v.manifest.maxEventTime)
            let stream = try log.stream(v.definition.stream)
            let end = stream.endOffset
            if end > v.manifest.horizon {
                try stream.forEachBatch(in: v.manifest.horizon..<end, keepDictionaries: true) { info, batch throws(LambdaStoreError) in
                    speed.apply(batch, baseOffset: info.baseOffset, view: v.compiled)
                }
            }
            st.views[name]?.speed = speed
        }
    }
}

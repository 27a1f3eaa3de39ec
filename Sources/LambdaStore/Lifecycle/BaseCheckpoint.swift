import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreLog
import LambdaStoreViews

/// A view version's batch state over the history `[0, offset)`, kept so that history below
/// `offset` may be dropped (DESIGN.md "Lifecycle", format-spec.md §8.3): every later run
/// computes `base ⊕ recompute([offset, H))`, exact because every aggregate state is a monoid.
///
/// Stored as `views/<v>/BASE.<fingerprint>` (the JSON below in the metadata container, kind
/// `BASE`) naming a snapshot-format file `<fingerprint>-<20-digit offset>.base` with the
/// cells; a base with no file is the empty state (a view created from the earliest replayable
/// offset).
struct BaseCheckpoint: Sendable, Equatable {
    static let kind = "BASE"
    var offset: Int64
    var fingerprint: String
    var file: String?
    var bytes: Int64
    var crc32c: UInt32
    var maxEventTime: Int64?
    var createdAtMillis: Int64

    static func pointerName(fingerprint: String) -> String { "BASE." + fingerprint }
    static func fileName(fingerprint: String, offset: Int64) -> String { fingerprint + "-" + LogFormat.fileStem(baseOffset: offset) + ".base" }

    func encoded() -> [UInt8] {
        let j: JSONValue = .object([
            JSONMember("offset", .int(offset)),
            JSONMember("fingerprint", .string(fingerprint)),
            JSONMember("file", file.map { .string($0) } ?? .null),
            JSONMember("bytes", .int(bytes)),
            JSONMember("crc32c", .int(Int64(crc32c))),
            JSONMember("maxEventTime", maxEventTime.map { .int($0) } ?? .null),
            JSONMember("createdAt", .int(createdAtMillis)),
        ])
        return MetadataFile.encode(kind: Self.kind, payload: Array(j.serialized().utf8))
    }

    init(offset: Int64, fingerprint: String, file: String?, bytes: Int64, crc32c: UInt32, maxEventTime: Int64?, createdAtMillis: Int64) {
        self.offset = offset
        self.fingerprint = fingerprint
        self.file = file
        self.bytes = bytes
        self.crc32c = crc32c
        self.maxEventTime = maxEventTime
        self.createdAtMillis = createdAtMillis
    }

    init(decoding bytes: [UInt8], path: String) throws(LambdaStoreError) {
        let j = try JSONValue.parse(try MetadataFile.decode(bytes, kind: Self.kind, path: path))
        func bad(_ why: String) -> LambdaStoreError { .corruption("base checkpoint: " + why, path: path, offset: nil) }
        guard let o = j["offset"]?.int64Value, o >= 0 else { throw bad("bad offset") }
        guard let fp = j["fingerprint"]?.stringValue, !fp.isEmpty, fp.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw bad("bad fingerprint")
        }
        var file: String? = nil
        if let f = j["file"], !f.isNull {
            guard let s = f.stringValue, s == Self.fileName(fingerprint: fp, offset: o) else { throw bad("bad file name") }
            file = s
        }
        guard let b = j["bytes"]?.int64Value, b >= 0, let c = j["crc32c"]?.int64Value, c >= 0, c <= Int64(UInt32.max) else { throw bad("bad size or checksum") }
        var m: Int64? = nil
        if let v = j["maxEventTime"], !v.isNull {
            guard let x = v.int64Value else { throw bad("bad maxEventTime") }
            m = x
        }
        self.init(offset: o, fingerprint: fp, file: file, bytes: b, crc32c: UInt32(c), maxEventTime: m,
                  createdAtMillis: j["createdAt"]?.int64Value ?? 0)
    }
}

/// A loaded base: where it stands and its cells.
struct BaseState: Sendable {
    var offset: Int64
    var cells: [(CellKey, [AggregateState])]
    var maxEventTime: Int64?
}

extension Store {
    /// The base checkpoint of the view version `compiled`, if one was kept.
    /// - Throws: `.corruption` for a damaged pointer or base file (checksum, size, fingerprint).
    func baseCheckpoint(view name: String, fingerprint: String) throws(LambdaStoreError) -> BaseCheckpoint? {
        let rel = "views/\(name)/\(BaseCheckpoint.pointerName(fingerprint: fingerprint))"
        let path = Path.join(root, rel)
        guard fs.exists(path) else { return nil }
        let b = try BaseCheckpoint(decoding: try fs.readFile(path, limit: Limits.metadataBytesMax), path: rel)
        guard b.fingerprint == fingerprint else { throw LambdaStoreError.corruption("base checkpoint is for fingerprint \(b.fingerprint)", path: rel, offset: nil) }
        return b
    }

    /// The base state of `view` (nil when it has none): its cells read from the base file.
    func baseState(_ view: CompiledView) throws(LambdaStoreError) -> BaseState? {
        let name = view.definition.name
        guard let b = try baseCheckpoint(view: name, fingerprint: view.fingerprint) else { return nil }
        guard let file = b.file else { return BaseState(offset: b.offset, cells: [], maxEventTime: b.maxEventTime) }
        let path = Path.join(viewDirectory(name), file)
        let reader = try SnapshotReader.open(fs: fs, path: path)
        guard reader.fileSize == b.bytes else {
            throw LambdaStoreError.corruption("base file is \(reader.fileSize) bytes, its checkpoint says \(b.bytes)", path: "views/\(name)/\(file)", offset: nil)
        }
        let cells = try SnapshotLayout(layout: view.layout).read(reader, windowStartRange: nil, keys: [])
        return BaseState(offset: b.offset, cells: cells, maxEventTime: b.maxEventTime)
    }

    /// The history a run of `view` reads, `[from, horizon)`, and the base below `from`.
    /// - Throws: `.precondition` when history the view needs was dropped (no base covers it).
    func historyStart(_ stream: StreamLog, _ view: CompiledView) throws(LambdaStoreError) -> (from: Int64, base: BaseState?) {
        let base = try baseState(view)
        let from = base?.offset ?? 0
        let e = stream.earliestReplayableOffset
        guard from >= e else {
            throw LambdaStoreError(.precondition,
                "view '\(view.definition.name)' needs the history of stream '\(stream.name)' from offset \(from), but history before offset \(e) was dropped\(droppedNote(stream)) and the view has no base checkpoint there")
        }
        return (from, base)
    }

    func droppedNote(_ stream: StreamLog) -> String {
        guard let at = stream.archiveManifest.droppedAtMillis else { return "" }
        return " on " + Timestamp.format(at)
    }

    /// Merges a base into a recomputed table (only the cells `keep` selects, when given).
    func mergeBase(_ base: BaseState?, into table: inout ViewTable, keep: WindowSelection?) {
        guard let base else { return }
        for (cell, states) in base.cells where keep?.contains(cell.windowStart) ?? true {
            table.merge(states: states, into: cell)
        }
        if let m = base.maxEventTime { table.maxEventTime = Swift.max(table.maxEventTime ?? m, m) }
    }

    /// Keeps the base checkpoint of `handle`'s live version at `offset`: its state over
    /// `[0, offset)`, from the previous base (if any) plus the history between them. Written
    /// durably (file, then pointer) before any history below `offset` may be dropped. The
    /// caller holds the view's runs lock.
    func keepBase(_ handle: ViewHandle, stream: StreamLog, at offset: Int64) throws(LambdaStoreError) -> Bool {
        let v = handle.current
        let (from, old) = try historyStart(stream, v.compiled)
        guard offset > from else { return false }
        let infos = try stream.batchInfos(in: from..<offset)
        var (table, _) = try aggregate(stream: stream, view: v.compiled, batches: infos, horizon: offset, keep: nil, progress: nil)
        mergeBase(old, into: &table, keep: nil)
        let fp = v.compiled.fingerprint
        let vdir = viewDirectory(handle.name)
        let file = BaseCheckpoint.fileName(fingerprint: fp, offset: offset)
        let (info, _) = try writeSnapshot(table, path: Path.join(vdir, file), view: handle.name, definition: v.definition, compiled: v.compiled, horizon: offset)
        let pointer = BaseCheckpoint(offset: offset, fingerprint: fp, file: file, bytes: info.bytes, crc32c: info.crc32c,
                                     maxEventTime: table.maxEventTime, createdAtMillis: options.clock())
        try fs.writeFileAtomically(Path.join(vdir, BaseCheckpoint.pointerName(fingerprint: fp)), pointer.encoded())
        return true
    }

    /// Writes the empty base of a view version created from the stream's earliest replayable
    /// offset (its answers then cover `[offset, …)` only).
    func keepEmptyBase(view name: String, fingerprint: String, at offset: Int64) throws(LambdaStoreError) {
        let pointer = BaseCheckpoint(offset: offset, fingerprint: fingerprint, file: nil, bytes: 0, crc32c: 0, maxEventTime: nil, createdAtMillis: options.clock())
        try fs.writeFileAtomically(Path.join(viewDirectory(name), BaseCheckpoint.pointerName(fingerprint: fingerprint)), pointer.encoded())
    }

    /// Base files and pointers in a view directory that no longer matter: pointers of other
    /// fingerprints than the live one, base files the live pointer does not name (among
    /// `names`, the directory's listing).
    func staleBaseFiles(view name: String, liveFingerprint: String, in names: [String]) -> [String] {
        let live = try? baseCheckpoint(view: name, fingerprint: liveFingerprint)
        var out: [String] = []
        for n in names {
            if n.hasPrefix("BASE."), n != BaseCheckpoint.pointerName(fingerprint: liveFingerprint), !n.hasSuffix(".tmp") { out.append(n) }
            if n.hasSuffix(".base"), n != live?.file { out.append(n) }
        }
        return out
    }
}

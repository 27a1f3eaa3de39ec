import LambdaStoreCore
import Dispatch

/// One open segment file. Immutable; its handle serves positional reads from any thread and
/// writes from the stream's single writer.
final class Segment: Sendable {
    let baseOffset: Int64
    /// File name, e.g. `00000000000000000000.segment`.
    let name: String
    /// Full path.
    let path: String
    /// Path relative to the store root, used in errors and reports.
    let relPath: String
    let handle: any FileHandle
    let createdAt: Int64
    /// The segment format version from its header: payloads may use dictionary-coded string
    /// columns from version 2 on.
    let formatVersion: UInt16

    init(baseOffset: Int64, name: String, path: String, relPath: String, handle: any FileHandle, createdAt: Int64, formatVersion: UInt16) {
        self.baseOffset = baseOffset
        self.name = name
        self.path = path
        self.relPath = relPath
        self.handle = handle
        self.createdAt = createdAt
        self.formatVersion = formatVersion
    }

    /// How payloads of this segment may treat dictionary-coded strings when decoded.
    func dictionaries(keep: Bool) -> PayloadDictionaries {
        formatVersion < 2 ? .rejected : keep ? .kept : .materialized
    }
}

/// A segment and the batches published in it (only complete, fully written batches).
struct SegmentState: Sendable {
    private(set) var segment: Segment
    var entries: [IndexEntry]
    /// Valid bytes: one past the last published batch.
    var size: Int64
    var endOffset: Int64
    var eventTimeMin: Int64?
    var eventTimeMax: Int64?

    init(segment: Segment, entries: [IndexEntry], size: Int64) {
        self.segment = segment
        self.entries = []
        self.size = size
        endOffset = segment.baseOffset
        self.entries.reserveCapacity(entries.count)
        for e in entries { add(e) }
        self.size = size
    }

    /// The same file through another handle (a sealed segment's pooled one).
    mutating func replaceSegment(_ s: Segment) { segment = s }

    mutating func add(_ e: IndexEntry) {
        entries.append(e)
        size = e.endPosition
        endOffset = e.endOffset
        if let r = e.eventTimeRange {
            eventTimeMin = Swift.min(eventTimeMin ?? r.lowerBound, r.lowerBound)
            eventTimeMax = Swift.max(eventTimeMax ?? r.upperBound, r.upperBound)
        }
    }

    /// The index of the last entry whose base offset is <= `offset` (0 when none is).
    func entryIndex(containing offset: Int64) -> Int {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].baseOffset <= offset { lo = mid + 1 } else { hi = mid }
        }
        return Swift.max(0, lo - 1)
    }
}

/// The state readers see, and the group-commit bookkeeping. Guarded by `StreamLog.shared`.
struct StreamShared: Sendable {
    var history: SchemaHistory
    var segments: [SegmentState]
    /// The Parquet history archive (archive/<stream>/, format-spec.md §8) and the earliest
    /// replayable offset: reads below the first raw segment come from it. Changed together
    /// with `segments` (retention removes a segment only once the archive lists its records).
    var archive: ArchiveManifest
    /// Archive files whose footer disagreed with the manifest at open (or could not be read),
    /// by name: never skipped by their ranges, every read fails with the error.
    var archiveProblems: [String: LambdaStoreError] = [:]
    var endOffset: Int64
    /// Every offset below this is on stable storage.
    var durableEnd: Int64
    /// Every offset below this has been handed to the append observers (the speed layers):
    /// a prefix of the log, never past a `sync` batch whose fdatasync has not succeeded.
    var visibleEnd: Int64
    /// Written batches not yet visible, in offset order.
    var pending: [PendingBatch] = []
    /// Tasks waiting for `visibleEnd` to reach their target.
    var visibilityWaiters: [(target: Int64, resume: CheckedContinuation<LambdaStoreError?, Never>)] = []
    var syncInFlight = false
    var waiters: [(target: Int64, resume: CheckedContinuation<SyncStep, Never>)] = []
    /// Set when an fdatasync failed: the page cache state is unknown, so no more appends.
    var failure: LambdaStoreError?
    var isClosed = false

    /// The index of the last segment whose base offset is <= `offset` (0 when none is).
    func segmentIndex(containing offset: Int64) -> Int {
        var lo = 0, hi = segments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if segments[mid].segment.baseOffset <= offset { lo = mid + 1 } else { hi = mid }
        }
        return Swift.max(0, lo - 1)
    }
}

/// A batch written to its segment but not yet handed to the observers.
struct PendingBatch: Sendable {
    let baseOffset: Int64
    let endOffset: Int64
    let batch: ColumnBatch
    /// Appended with ``Durability/sync``: visible only once an fdatasync covers it.
    let needsSync: Bool
}

/// Reused encode buffers: the uncompressed payload, and header + stored payload.
struct EncodeScratch: Sendable {
    var payload: [UInt8] = []
    var out: [UInt8] = []
}

/// The writer's handles and observers. Guarded by `StreamLog.writer`.
struct StreamWriter: Sendable {
    var index: IndexAppender?
    var flusher: Task<Void, Never>?
    var flusherPeriodMillis = Int.max
}

/// One stream of the log: its schema history and its segments (format-spec.md §2).
///
/// Appends go to the last (*active*) segment; a segment rolls at ``LogOptions/segmentBytesMax``
/// or ``LogOptions/segmentAgeMaxMillis``. Every record gets a dense offset, `0, 1, 2, …` in
/// arrival order. Reads project every batch onto the latest schema.
///
/// Thread safety: all methods may be called from any thread. Appends are serialised by a
/// writer lock (one writer per store is enforced by the store's `LOCK` file); readers run
/// concurrently with the writer and see a consistent prefix: a batch becomes visible only
/// after all its bytes were written. Locks: the writer lock is taken before the state lock,
/// never the reverse; observers run under the writer lock and must not append.
public final class StreamLog: Sendable {
    /// The stream name.
    public let name: String
    let dir: String
    let relDir: String
    let fs: any FileSystem
    let options: LogOptions
    let writer: Locked<StreamWriter>
    let shared: Locked<StreamShared>
    /// The append observers. Calls to them are serialised by this lock, so every observer
    /// sees the batches exactly once and in offset order (see ``publishVisible()``).
    let observers: Locked<[@Sendable (Int64, ColumnBatch) -> Void]>
    /// Where group-commit fdatasyncs run (one at a time per stream).
    let syncQueue: DispatchQueue
    /// Encode buffers, reused across appends (a few, for concurrent appenders).
    let scratchPool = Locked<[EncodeScratch]>([])
    /// The durable end last recorded in the stream's ``LogCheckpoint`` (writes serialised).
    let checkpointLock: Locked<Int64>
    /// Descriptors of sealed segments (shared by the store's streams).
    let pool: SegmentFilePool
    /// When the active segment rolls: bytes, and age in ms (nil: never by age). From
    /// ``LogOptions`` until a lifecycle policy sets them (``setRollLimits(bytes:ageMillis:)``).
    let rollLimits: Locked<(bytes: Int64, ageMillis: Int64?)>
    /// Archive files decoded recently (whole files; a scan reads one row group after another).
    let archiveCache = Locked<[(name: String, reader: ArchiveFileReader)]>([])
    /// Archive manifest changes take turns under this lock.
    let archiveWrites = Locked<Int>(0)
    /// Raw-segment reads in flight: retention unlinks a removed segment's file only at zero.
    let rawReaders = Locked<Int>(0)
    /// Segments retention or a history drop took out of the log (readers no longer see them)
    /// whose files could not be unlinked yet: raw reads were still in flight past the wait, or
    /// an unlink failed. Every later removal retries them first.
    let pendingUnlinks = Locked<[SegmentState]>([])
    /// How long a removal waits for raw reads in flight before leaving segments pending, in
    /// milliseconds (tests shorten it).
    package let unlinkWaitMillis = Locked<Int>(10_000)

    init(name: String, dir: String, relDir: String, fs: any FileSystem, options: LogOptions, history: SchemaHistory,
         segments: [SegmentState], index: IndexAppender?, pool: SegmentFilePool, checkpoint: Int64 = 0,
         archive: ArchiveManifest? = nil, archiveProblems: [String: LambdaStoreError] = [:]) {
        checkpointLock = Locked(checkpoint)
        rollLimits = Locked((options.segmentBytesMax, options.segmentAgeMaxMillis))
        self.pool = pool
        self.name = name
        self.dir = dir
        self.relDir = relDir
        self.fs = fs
        self.options = options
        let end = Swift.max(segments.last?.endOffset ?? 0, archive?.endOffset ?? 0)
        shared = Locked(StreamShared(history: history, segments: segments, archive: archive ?? ArchiveManifest(stream: name),
                                     archiveProblems: archiveProblems, endOffset: end, durableEnd: end, visibleEnd: end))
        observers = Locked([])
        var w = StreamWriter()
        w.index = index
        writer = Locked(w)
        syncQueue = DispatchQueue(label: "lambdastore.sync.\(name)")
    }

    deinit {
        writer.withLock { w in w.flusher?.cancel() }
    }

    /// The newest schema version; reads project every batch onto it.
    public var latestSchema: Schema { shared.withLock { $0.history.latest } }

    /// The schema with version number `version`, if the stream has it.
    public func schema(version: UInt32) -> Schema? { shared.withLock { $0.history.schema(version: version) } }

    /// Every schema version, oldest first.
    public var schemaHistory: SchemaHistory { shared.withLock { $0.history } }

    /// The next offset to assign: the number of records appended since offset 0.
    public var endOffset: Int64 { shared.withLock { $0.endOffset } }

    /// The first offset still stored in a raw segment (history below it lives in the archive,
    /// or was dropped below ``earliestReplayableOffset``).
    public var startOffset: Int64 { shared.withLock { $0.segments.first?.segment.baseOffset ?? $0.endOffset } }

    /// The first offset of the history still kept, raw or archived: 0 until history is dropped
    /// behind a base checkpoint.
    public var earliestReplayableOffset: Int64 { shared.withLock { $0.archive.earliestReplayableOffset } }

    /// Now, by the log's clock (``LogOptions/clock``), the clock of segment creation times.
    public var clockMillis: Int64 { options.clock() }

    /// The archive manifest in effect.
    public var archiveManifest: ArchiveManifest { shared.withLock { $0.archive } }

    /// The store root (the stream directory is `<root>/streams/<name>`).
    var root: String { Path.parent(of: Path.parent(of: dir)) }

    /// Sets when the active segment rolls (a lifecycle policy), from the next append on.
    public func setRollLimits(bytes: Int64, ageMillis: Int64?) {
        rollLimits.withLock { $0 = (bytes, ageMillis) }
    }

    /// Whether a non-empty active segment of `bytes` created at `createdAt` is due to roll at
    /// `now` under `limits` (what ``rollIfDue()`` applies, and what a dry run predicts).
    public static func rollIsDue(bytes: Int64, createdAt: Int64, now: Int64, limits: (bytes: Int64, ageMillis: Int64?)) -> Bool {
        bytes >= limits.bytes || (limits.ageMillis.map { now - createdAt >= $0 } ?? false)
    }

    /// Seals the active segment now when it holds at least one batch and the roll limits say
    /// it is due (`compact` rolls an idle stream's segment this way).
    /// - Returns: whether it rolled.
    /// - Throws: `.io` from the fsyncs; `.precondition` when read-only, closed or failed.
    public func rollIfDue() throws(LambdaStoreError) -> Bool {
        guard !options.readOnly else { throw LambdaStoreError(.precondition, "the log is open read-only") }
        return try writer.withLock { w throws(LambdaStoreError) -> Bool in
            let (end, active, failure, closed) = shared.withLock { s in
                (s.endOffset, s.segments.last.map { ($0.segment, $0.size, $0.entries.count) }, s.failure, s.isClosed)
            }
            guard !closed else { throw LambdaStoreError(.precondition, "stream '\(name)' is closed") }
            if let failure { throw LambdaStoreError(.precondition, "stream '\(name)' failed earlier and must be reopened: \(failure)") }
            guard case let (seg, size, count)? = active, count > 0,
                  Self.rollIsDue(bytes: size, createdAt: seg.createdAt, now: options.clock(), limits: rollLimits.withLock { $0 }) else { return false }
            _ = try roll(&w, base: end)
            return true
        }
    }

    /// Every offset below this is on stable storage.
    public var durableEndOffset: Int64 { shared.withLock { $0.durableEnd } }

    /// Every offset below this is visible: handed, in order, to the append observers (the
    /// speed layers). It trails ``endOffset`` while a `sync` append waits for its fdatasync
    /// (and every batch written after it waits with it, so what is visible is always a prefix
    /// of the log). Batch runs take their horizon at or below it.
    public var visibleEndOffset: Int64 { shared.withLock { $0.visibleEnd } }

    /// The segments, oldest first.
    /// - Complexity: O(segments).
    public func segments() -> [SegmentInfo] {
        shared.withLock { s in
            s.segments.enumerated().map { i, st in
                SegmentInfo(name: st.segment.name, baseOffset: st.segment.baseOffset, endOffset: st.endOffset, bytes: st.size,
                            batchCount: st.entries.count, createdAtMillis: st.segment.createdAt, minEventTime: st.eventTimeMin,
                            maxEventTime: st.eventTimeMax, isActive: i == s.segments.count - 1)
            }
        }
    }

    /// Registers `body` to run once for every appended batch when it becomes visible (see
    /// ``visibleEndOffset``): in offset order, one call at a time, after the batch's bytes are
    /// written — and, for a ``Durability/sync`` append, after an fdatasync covering it
    /// succeeded — and before `append` returns. `body` gets the first offset and the batch.
    /// A batch whose fdatasync failed is never observed.
    ///
    /// `body` must be quick and must not append to this stream (calls are serialised).
    public func addAppendObserver(_ body: @escaping @Sendable (_ baseOffset: Int64, _ batch: ColumnBatch) -> Void) {
        observers.withLock { $0.append(body) }
    }

    /// Hands every written batch that may become visible to the observers, in offset order,
    /// and advances ``visibleEndOffset`` after each. A batch may become visible when every
    /// batch before it is visible and, if it was appended under `sync`, when it is durable.
    /// Safe to call from any thread at any time; calls are serialised by the observer lock.
    func publishVisible() {
        observers.withLock { observers in
            while true {
                let next: PendingBatch? = shared.withLock { s in
                    guard let head = s.pending.first, s.failure == nil, !head.needsSync || head.endOffset <= s.durableEnd else { return nil }
                    s.pending.removeFirst()
                    return head
                }
                guard let next else { break }
                for observe in observers { observe(next.baseOffset, next.batch) }
                // One batch at a time, so `visibleEnd` never claims a batch some observer has
                // not seen (a speed layer rebuilt from the log up to it must meet no gap).
                let wake: [CheckedContinuation<LambdaStoreError?, Never>] = shared.withLock { s in
                    s.visibleEnd = next.endOffset
                    var woken: [CheckedContinuation<LambdaStoreError?, Never>] = []
                    s.visibilityWaiters.removeAll { w in
                        guard w.target <= s.visibleEnd else { return false }
                        woken.append(w.resume)
                        return true
                    }
                    return woken
                }
                for c in wake { c.resume(returning: nil) }
            }
        }
        failVisibilityWaitersIfStuck()
    }

    /// Runs `body` with the visible end, while no batch is being handed to the observers: the
    /// end cannot move, and every observer call for the batches below it has returned. A
    /// consumer that rebuilds its state from the log up to that end and installs it inside
    /// `body` misses no batch and gets none twice. `body` must be short (appends wait to
    /// become visible meanwhile) and must not append.
    public func withVisibleEndStable<R, E: Error>(_ body: (Int64) throws(E) -> R) throws(E) -> R {
        try observers.withLock { (_: inout [@Sendable (Int64, ColumnBatch) -> Void]) throws(E) -> R in
            try body(shared.withLock { $0.visibleEnd })
        }
    }

    /// After an fdatasync failure (or a close) nothing pending will ever become visible: the
    /// tasks waiting for it get the error, and the pending batches are dropped.
    func failVisibilityWaitersIfStuck() {
        let wake: [(CheckedContinuation<LambdaStoreError?, Never>, LambdaStoreError)] = shared.withLock { s in
            let reason: LambdaStoreError? = s.failure ?? (s.isClosed ? LambdaStoreError(.precondition, "stream '\(name)' was closed before the batch became visible") : nil)
            guard let reason, !s.visibilityWaiters.isEmpty || !s.pending.isEmpty else { return [] }
            s.pending = []
            defer { s.visibilityWaiters = [] }
            return s.visibilityWaiters.map { ($0.resume, reason) }
        }
        for (c, e) in wake { c.resume(returning: e) }
    }

    /// Returns once every offset below `end` is visible.
    /// - Throws: the fdatasync failure that keeps it from ever becoming visible, or
    ///   `.precondition` when the stream was closed first.
    func waitVisible(_ end: Int64) async throws(LambdaStoreError) {
        let error: LambdaStoreError? = await withCheckedContinuation { (c: CheckedContinuation<LambdaStoreError?, Never>) in
            let now: LambdaStoreError?? = shared.withLock { s in
                if s.visibleEnd >= end { return .some(nil) }
                if let f = s.failure { return .some(f) }
                if s.isClosed { return .some(LambdaStoreError(.precondition, "stream '\(name)' was closed before the batch became visible")) }
                s.visibilityWaiters.append((end, c))
                return nil
            }
            if let now { c.resume(returning: now) }
        }
        if let error { throw error }
    }

    // MARK: Schema

    /// Stores `proposed` as the next version when it is a compatible change of the latest.
    func evolve(to proposed: Schema) throws(LambdaStoreError) -> SchemaApplyResult {
        try writer.withLock { _ throws(LambdaStoreError) -> SchemaApplyResult in
            let history = shared.withLock { $0.history }
            guard let next = try history.latest.evolved(to: proposed) else { return .unchanged(version: history.latest.version) }
            guard !options.readOnly else { throw LambdaStoreError(.precondition, "the log is open read-only") }
            var h = history
            h.append(next)
            try fs.writeFileAtomically(Path.join(dir, LogFormat.schemaFileName), h.encoded())
            shared.withLock { $0.history = h }
            return .evolved(version: next.version)
        }
    }

    // MARK: Append

    /// Appends `batch` and returns the offsets assigned to its records, once they are visible
    /// to the append observers (``visibleEndOffset``).
    ///
    /// The batch must be under ``latestSchema`` (its `schemaVersion` equal to the latest
    /// version, columns matching the fields). The payload (format-spec.md §2.3) is compressed
    /// with ``LogOptions/codec`` and written with its header in one positional write
    /// (format-spec.md §2.2). Observers see it, in offset order, before this returns.
    /// With ``Durability/sync`` it returns once an fdatasync covers the batch (concurrent
    /// appenders share one fdatasync: group commit), and observers see it only after that
    /// fdatasync succeeded: when it fails, nothing of the batch is ever observed. Under
    /// `interval` and `none` the batch is observed at once — unless an earlier `sync` batch
    /// still waits for its fdatasync, then together with it, after it (visibility is a prefix).
    ///
    /// An empty batch writes nothing and returns an empty range at ``endOffset``.
    /// - Throws: `.schema` when the batch does not match the latest schema; `.limitExceeded`
    ///   beyond ``Limits/batchRecordsMax`` / ``Limits/batchBytesMax``; `.precondition` when the
    ///   log is read-only, closed, or failed after an fdatasync error; `.io`.
    /// - Complexity: O(batch bytes).
    public func append(_ batch: ColumnBatch, durability: Durability) async throws(LambdaStoreError) -> Range<Int64> {
        try await append(batch, durability: durability, valuesChecked: false)
    }

    /// ``append(_:durability:)`` of a batch whose values were checked as they were added
    /// (see `ColumnBatch.validate(against:valuesChecked:)`): the per-value scans are skipped.
    package func append(_ batch: ColumnBatch, durability: Durability, valuesChecked: Bool) async throws(LambdaStoreError) -> Range<Int64> {
        let range = try write(batch, durability: durability, valuesChecked: valuesChecked)
        guard !range.isEmpty else { return range }
        if durability == .sync {
            try await waitDurable(range.upperBound)
        }
        publishVisible()
        if visibleEndOffset < range.upperBound { try await waitVisible(range.upperBound) }
        return range
    }

    /// The synchronous part of an append: encode and compress (outside the writer lock, so
    /// concurrent appenders compress in parallel), then, under the writer lock, assign the
    /// offsets, finish the header, write, publish and notify.
    func write(_ batch: ColumnBatch, durability: Durability, valuesChecked: Bool = false) throws(LambdaStoreError) -> Range<Int64> {
        guard !options.readOnly else { throw LambdaStoreError(.precondition, "the log is open read-only") }
        // Dictionary-coded strings only into format-2 segments: a format-1 segment can only be
        // the active one found on open, and every roll creates a format-2 one.
        let (schema, activeVersion) = shared.withLock { ($0.history.latest, $0.segments.last?.segment.formatVersion ?? LogFormat.segmentFormatVersion) }
        let dictionaries = options.dictionaryStrings && activeVersion >= 2
        guard batch.schemaVersion == schema.version else {
            throw LambdaStoreError(.schema, "batch is under schema version \(batch.schemaVersion), stream '\(name)' is at version \(schema.version)")
        }
        try batch.validate(against: schema, valuesChecked: valuesChecked)
        let n = batch.count
        guard n <= Limits.batchRecordsMax else {
            throw LambdaStoreError(.limitExceeded, "batch of \(n) records exceeds \(Limits.batchRecordsMax)")
        }
        var scratch = scratchPool.withLock { $0.popLast() } ?? EncodeScratch()
        defer { scratchPool.withLock { if $0.count < 4 { $0.append(scratch) } } }
        var header = BatchHeader(codec: .none, baseOffset: 0, recordCount: n, schemaVersion: schema.version, eventTimeRange: nil,
                                 uncompressedLength: 0, storedLength: 0, payloadCRC: 0)
        if n > 0 { try encode(batch, schema: schema, dictionaries: dictionaries, into: &scratch, header: &header) }
        var out: [UInt8] = []
        swap(&out, &scratch.out)   // uniquely referenced: the header is finished in place
        defer { swap(&out, &scratch.out) }
        return try writer.withLock { w throws(LambdaStoreError) -> Range<Int64> in
            let (latest, end, active, failure, closed) = shared.withLock { s in
                (s.history.latest.version, s.endOffset, s.segments.last.map { ($0.segment, $0.size, $0.entries.count) }, s.failure, s.isClosed)
            }
            guard !closed else { throw LambdaStoreError(.precondition, "stream '\(name)' is closed") }
            if let failure { throw LambdaStoreError(.precondition, "stream '\(name)' failed earlier and must be reopened: \(failure)") }
            guard latest == schema.version else {
                throw LambdaStoreError(.schema, "stream '\(name)' moved to schema version \(latest) during the append")
            }
            if n == 0 { return end..<end }

            // Roll when the batch would overflow a non-empty segment, or the segment is too old.
            var target = active
            if case let (seg, size, count)? = active, count > 0 {
                let limits = rollLimits.withLock { $0 }
                let tooBig = size + Int64(header.totalLength) > limits.bytes
                let tooOld = limits.ageMillis.map { options.clock() - seg.createdAt >= $0 } ?? false
                if tooBig || tooOld { target = nil }
            }
            if target == nil {
                target = (try roll(&w, base: end), Int64(LogFormat.segmentHeaderSize), 0)
            }
            guard case let (seg, size, _)? = target else { preconditionFailure("no active segment") }

            // The offsets are known now: finish the header in place, then one positional write
            // of header + payload. The batch is published only after it.
            header.baseOffset = end
            do throws(LambdaStoreError) {
                try typed { try out.withUnsafeMutableBytes { b in
                    header.encode(into: b, at: 0)
                    try seg.handle.write(UnsafeRawBufferPointer(b), at: size)
                } }
            } catch {
                // Remove whatever part reached the file; if even that fails, stop appending.
                do throws(LambdaStoreError) { try seg.handle.truncate(to: size) } catch {
                    shared.withLock { $0.failure = error }
                }
                throw error.at(path: seg.relPath, offset: size)
            }
            let entry = IndexEntry(header: header, position: size)
            w.index?.append(entry)
            let pending = PendingBatch(baseOffset: end, endOffset: entry.endOffset, batch: batch, needsSync: durability == .sync)
            shared.withLock { s in
                s.segments[s.segments.count - 1].add(entry)
                s.endOffset = entry.endOffset
                s.pending.append(pending)
            }
            if case .interval(let ms) = durability { startFlusher(&w, periodMillis: ms) }
            return end..<entry.endOffset
        }
    }

    /// Encodes the payload (format-spec.md §2.3), compresses it, and fills every header field
    /// but the base offset. `scratch.out` ends up as 56 header bytes (to be finished) followed
    /// by the stored payload.
    private func encode(_ batch: ColumnBatch, schema: Schema, dictionaries: Bool, into scratch: inout EncodeScratch, header: inout BatchHeader) throws(LambdaStoreError) {
        let hs = LogFormat.batchHeaderSize
        scratch.out.removeAll(keepingCapacity: true)
        scratch.out.append(contentsOf: repeatElement(0, count: hs))
        var codec = options.codec
        let uncompressed: Int
        if codec == .none {
            batch.encodePayload(into: &scratch.out, dictionaryStrings: dictionaries)
            uncompressed = scratch.out.count - hs
        } else {
            scratch.payload.removeAll(keepingCapacity: true)
            batch.encodePayload(into: &scratch.payload, dictionaryStrings: dictionaries)
            uncompressed = scratch.payload.count
            if uncompressed <= Limits.batchBytesMax {
                let level = options.zstdLevel
                let stored = try typed { try scratch.payload.withUnsafeBytes { p throws(LambdaStoreError) -> Int in
                    try codec.compress(p, appendingTo: &scratch.out, level: level)
                } }
                if stored >= uncompressed {   // not worth it: store as is
                    codec = .none
                    scratch.out.removeLast(stored)
                    scratch.out.append(contentsOf: scratch.payload)
                }
            }
        }
        guard uncompressed <= Limits.batchBytesMax else {
            throw LambdaStoreError(.limitExceeded, "batch payload of \(uncompressed) bytes exceeds \(Limits.batchBytesMax)")
        }
        header.codec = codec
        header.uncompressedLength = uncompressed
        header.storedLength = scratch.out.count - hs
        header.eventTimeRange = batch.range(ofColumn: schema.eventTimeIndex).map { $0.min...$0.max }
        header.payloadCRC = scratch.out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[hs...])) }
    }

    /// Seals the active segment (fdatasync, index files synced) and creates the next one at
    /// `base`: header written and synced, directory entry synced, so acknowledged data in it
    /// can never lose its file.
    private func roll(_ w: inout StreamWriter, base: Int64) throws(LambdaStoreError) -> Segment {
        if let old = shared.withLock({ $0.segments.last }) {
            try old.segment.handle.sync()
            w.index?.syncAndClose()
            w.index = nil
            // Sealed now: reads go through the pool. The old descriptor closes when the last
            // reader that still holds it lets go.
            let o = old.segment
            let sealed = Segment(baseOffset: o.baseOffset, name: o.name, path: o.path, relPath: o.relPath,
                                 handle: PooledSegmentFile(path: o.path, pool: pool), createdAt: o.createdAt, formatVersion: o.formatVersion)
            shared.withLock { s in
                s.segments[s.segments.count - 1].replaceSegment(sealed)
                s.durableEnd = Swift.max(s.durableEnd, old.endOffset)
            }
            try recordCheckpoint(durableEnd: old.endOffset)
        }
        let name = LogFormat.fileStem(baseOffset: base) + LogFormat.segmentSuffix
        let path = Path.join(dir, name)
        let created = options.clock()
        let h = try fs.open(path, mode: .truncate)
        var hw = ByteWriter(capacity: LogFormat.segmentHeaderSize)
        SegmentFileHeader(baseOffset: base, createdAtMillis: created).encode(into: &hw)
        try h.write(hw.bytes, at: 0)
        try h.sync()
        w.index = try IndexAppender.create(fs: fs, segmentPath: path, segmentBase: base)
        try fs.syncDirectory(dir)
        let seg = Segment(baseOffset: base, name: name, path: path, relPath: relDir + "/" + name, handle: h, createdAt: created, formatVersion: LogFormat.segmentFormatVersion)
        shared.withLock { s in s.segments.append(SegmentState(segment: seg, entries: [], size: Int64(LogFormat.segmentHeaderSize))) }
        return seg
    }

    // MARK: Close

    /// Flushes and closes the stream: later calls fail with `.precondition`.
    func close() {
        writer.withLock { w in
            w.flusher?.cancel()
            w.flusher = nil
            let (segs, wasClosed, failed) = shared.withLock { s -> ([Segment], Bool, Bool) in
                let c = s.isClosed
                s.isClosed = true
                return (s.segments.map(\.segment), c, s.failure != nil)
            }
            if wasClosed { return }
            // After a failed fdatasync a later one may "succeed" without the lost pages: never
            // let it look like a clean close.
            if !options.readOnly, !failed, let last = segs.last, (try? last.handle.sync()) != nil {
                let end = shared.withLock { $0.endOffset }
                try? recordCheckpoint(durableEnd: end)
            }
            w.index?.close()
            w.index = nil
            for s in segs { try? s.handle.close() }
        }
        failVisibilityWaitersIfStuck()
    }
}

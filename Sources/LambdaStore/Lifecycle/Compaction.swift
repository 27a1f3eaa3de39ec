import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreLog
import LambdaStoreViews

/// Bytes on disk per tier.
public struct TierBytes: Sendable, Equatable {
    /// Raw segment files.
    public var raw: Int64 = 0
    /// Parquet archive files.
    public var archive: Int64 = 0
    /// Snapshot and base files of the views.
    public var snapshots: Int64 = 0

    /// `{"raw", "archive", "snapshots"}`.
    public var json: JSONValue {
        .object([JSONMember("raw", .int(raw)), JSONMember("archive", .int(archive)), JSONMember("snapshots", .int(snapshots))])
    }
}

/// What one stream's lifecycle step did (or, on a dry run, would do).
public struct StreamCompaction: Sendable {
    /// The stream.
    public var stream: String
    /// Whether its active segment rolled.
    public var rolled: Bool = false
    /// Segments copied into the archive, their events, and the archive bytes written.
    public var archivedSegments = 0, archivedEvents: Int64 = 0, archivedBytes: Int64 = 0
    /// Raw segments removed (archived copies stay).
    public var removedSegments = 0, removedSegmentBytes: Int64 = 0
    /// Events whose history was dropped behind base checkpoints.
    public var droppedEvents: Int64 = 0
    /// The earliest replayable offset afterwards.
    public var earliestReplayableOffset: Int64 = 0
    /// Why something the policy asks for was not done (yet).
    public var notes: [String] = []
}

/// What ``Store/compact(dryRun:progress:)`` did: the `compact --json` summary of DESIGN.md.
public struct CompactReport: Sendable {
    /// Whether this was a dry run (nothing changed).
    public var dryRun: Bool
    /// Per stream.
    public var streams: [StreamCompaction]
    /// Snapshots removed: one per generation whose `<generation>.snapshot` (the whole snapshot
    /// or a windowed view's head) was removed, plus base checkpoint files. Every removed file,
    /// parts included, is in ``filesRemoved``.
    public var snapshotsRemoved: Int
    /// Every file removed (paths relative to the store).
    public var filesRemoved: [String]
    /// Bytes reclaimed (every removed file).
    public var bytesReclaimed: Int64
    /// Bytes per tier before and after.
    public var before: TierBytes, after: TierBytes

    /// Active segments rolled.
    public var rolled: Int { streams.filter(\.rolled).count }
    /// The smallest earliest replayable offset over the streams (0 when none dropped history).
    public var earliestReplayableOffset: Int64 { streams.map(\.earliestReplayableOffset).min() ?? 0 }

    /// `{"rolled", "archived": {"segments", "events", "bytes"}, "removed": {"segments",
    /// "snapshots", "bytes"}, "bytes": {"before": {...}, "after": {...}},
    /// "earliestReplayableOffset"}`, plus `dryRun`, per-stream details and the removed files.
    public var json: JSONValue {
        let archived: JSONValue = .object([
            JSONMember("segments", .int(Int64(streams.reduce(0) { $0 + $1.archivedSegments }))),
            JSONMember("events", .int(streams.reduce(0) { $0 + $1.archivedEvents })),
            JSONMember("bytes", .int(streams.reduce(0) { $0 + $1.archivedBytes })),
        ])
        let removed: JSONValue = .object([
            JSONMember("segments", .int(Int64(streams.reduce(0) { $0 + $1.removedSegments }))),
            JSONMember("snapshots", .int(Int64(snapshotsRemoved))),
            JSONMember("bytes", .int(bytesReclaimed)),
        ])
        return .object([
            JSONMember("rolled", .int(Int64(rolled))),
            JSONMember("archived", archived),
            JSONMember("removed", removed),
            JSONMember("bytes", .object([JSONMember("before", before.json), JSONMember("after", after.json)])),
            JSONMember("earliestReplayableOffset", .int(earliestReplayableOffset)),
            JSONMember("dryRun", .bool(dryRun)),
            JSONMember("streams", .object(streams.map { s in
                JSONMember(s.stream, .object([
                    JSONMember("rolled", .bool(s.rolled)),
                    JSONMember("archivedSegments", .int(Int64(s.archivedSegments))),
                    JSONMember("archivedEvents", .int(s.archivedEvents)),
                    JSONMember("removedSegments", .int(Int64(s.removedSegments))),
                    JSONMember("droppedEvents", .int(s.droppedEvents)),
                    JSONMember("earliestReplayableOffset", .int(s.earliestReplayableOffset)),
                    JSONMember("notes", .array(s.notes.map { .string($0) })),
                ]))
            })),
            JSONMember("filesRemoved", .array(filesRemoved.map { .string($0) })),
        ])
    }
}

extension Store {
    /// Bytes per tier now: raw segments, archive files, view snapshot and base files.
    ///
    /// Lists and opens the snapshot files: off the cooperative pool.
    public func tierBytes() async -> TierBytes {
        await Blocking.run { () -> TierBytes in self.tierBytesBlocking() }
    }

    /// ``tierBytes()`` on the calling thread.
    func tierBytesBlocking() -> TierBytes {
        var t = TierBytes()
        for name in log.streamNames() {
            guard let s = try? log.stream(name) else { continue }
            t.raw += s.rawBytes
            t.archive += s.archiveBytes
        }
        let names = state.withLock { Set($0.views.keys).union($0.unavailable.keys) }
        for v in names {
            let dir = viewDirectory(v)
            for f in (try? fs.list(dir)) ?? [] where f.hasSuffix(".snapshot") || f.hasSuffix(".base") {
                if let h = try? fs.open(Path.join(dir, f), mode: .read) { t.snapshots += (try? h.size()) ?? 0; try? h.close() }
            }
        }
        return t
    }

    /// Applies every lifecycle policy now (DESIGN.md "Lifecycle"), stream by stream: rolls an
    /// active segment the size or age policy says is due, copies sealed segments older than
    /// `archiveAfter` into the Parquet archive, deletes archived raw segments beyond
    /// `keepRaw`/`keepRawBytes`, drops history older than `dropHistoryAfter` behind base
    /// checkpoints of every view (only with `allowHistoryLoss`, and never above a view's
    /// horizon), then collects snapshot generations beyond each view's `keepGenerations` and
    /// unreferenced files.
    ///
    /// Every step is manifest-driven: archive files are durable and listed by the archive
    /// manifest before any raw segment goes; base checkpoints are durable before history is
    /// dropped; a crash at any point leaves the old or the new state. Runs beside appends,
    /// queries and batch runs (each view's part in that view's turn; history drops hold the
    /// turns of every view of the stream); two compactions take turns.
    /// - Parameters:
    ///   - dryRun: report what would be done, change nothing.
    ///   - progress: called with the events archived so far and the events to archive.
    /// - Throws: `.precondition` when read-only; `.corruption`/`.io` from the files involved.
    public func compact(dryRun: Bool = false, progress: ProgressHandler? = nil) async throws(LambdaStoreError) -> CompactReport {
        try requireWritable()
        return try await lifecycle.withLock { () async throws(LambdaStoreError) -> CompactReport in
            let before = await tierBytes()
            var streams: [StreamCompaction] = []
            var removedFiles: [String] = []
            var reclaimed: Int64 = 0
            let now = options.clock()
            let names = log.streamNames()
            let plannedEvents = names.reduce(Int64(0)) { acc, n in
                acc + ((try? log.stream(n))?.sealedSegments().filter { !$0.isArchived }.reduce(Int64(0)) { $0 + $1.endOffset - $1.baseOffset } ?? 0)
            }
            let prog = Progress(total: max(1, plannedEvents), handler: progress)
            for name in names {
                let s = try log.stream(name)
                let policy = try await streamPolicy(name)
                var r = StreamCompaction(stream: name)
                try await compactStream(s, policy: policy, now: now, dryRun: dryRun, report: &r, removed: &removedFiles, bytes: &reclaimed, progress: prog)
                r.earliestReplayableOffset = s.earliestReplayableOffset
                streams.append(r)
            }
            let (snapshots, files, bytes) = try await collectSnapshots(dryRun: dryRun)
            removedFiles += files
            reclaimed += bytes
            let after = dryRun ? before : await tierBytes()
            Metrics.tierBytes(after)
            return CompactReport(dryRun: dryRun, streams: streams, snapshotsRemoved: snapshots, filesRemoved: removedFiles,
                                 bytesReclaimed: reclaimed, before: before, after: after)
        }
    }

    /// A sealed segment as the archive and retention steps of one compaction see it.
    struct SegmentCandidate {
        var baseOffset: Int64
        var endOffset: Int64
        var bytes: Int64
        var newestAppendMillis: Int64
        var isArchived: Bool

        init(_ s: SealedSegment) {
            self.init(baseOffset: s.baseOffset, endOffset: s.endOffset, bytes: s.bytes, newestAppendMillis: s.newestAppendMillis, isArchived: s.isArchived)
        }

        init(baseOffset: Int64, endOffset: Int64, bytes: Int64, newestAppendMillis: Int64, isArchived: Bool) {
            self.baseOffset = baseOffset
            self.endOffset = endOffset
            self.bytes = bytes
            self.newestAppendMillis = newestAppendMillis
            self.isArchived = isArchived
        }
    }

    func compactStream(_ s: StreamLog, policy: StreamPolicy, now: Int64, dryRun: Bool, report r: inout StreamCompaction,
                       removed: inout [String], bytes: inout Int64, progress: Progress) async throws(LambdaStoreError) {
        // 1. Roll.
        let limits = rollLimits(policy)
        s.setRollLimits(bytes: limits.bytes, ageMillis: limits.ageMillis)
        // Ages compare with segment creation times, which come from the log's clock: measure
        // them with that clock (`StoreOptions.clock` and `LogOptions.clock` may differ).
        var now = Swift.max(now, s.clockMillis)
        // In a dry run, the active segment the roll would seal counts as sealed below, its
        // newest append being now.
        var wouldSeal: SegmentCandidate? = nil
        if dryRun {
            if let seg = s.segments().last, seg.batchCount > 0,
               StreamLog.rollIsDue(bytes: seg.bytes, createdAt: seg.createdAtMillis, now: now, limits: (limits.bytes, limits.ageMillis)) {
                r.rolled = true
                wouldSeal = SegmentCandidate(baseOffset: seg.baseOffset, endOffset: seg.endOffset, bytes: seg.bytes, newestAppendMillis: now, isArchived: false)
            }
        } else {
            r.rolled = try await Blocking.run { () throws(LambdaStoreError) -> Bool in try s.rollIfDue() }
            // The segment just sealed was appended to until the roll, after `now` was read:
            // read the clock again, so that `--archive-after 0s` and `--keep-raw 0s` (at once)
            // take it in this same run, as they take every other sealed segment.
            if r.rolled { now = Swift.max(now, s.clockMillis) }
        }
        func sealed() -> [SegmentCandidate] { s.sealedSegments().map(SegmentCandidate.init) + (wouldSeal.map { [$0] } ?? []) }
        // Leftovers of a crashed archive run or drop (files the manifest does not list).
        if !dryRun {
            let (o, b) = try await Blocking.run { () throws(LambdaStoreError) -> ([String], Int64) in try s.removeArchiveOrphans() }
            removed += o
            bytes += b
        }
        // 2. Archive, oldest first, each segment published on its own (progress is durable).
        if let after = policy.archiveAfterMillis {
            for seg in sealed() where !seg.isArchived {
                guard now - seg.newestAppendMillis >= after else { break }   // younger ones follow
                r.archivedSegments += 1
                r.archivedEvents += seg.endOffset - seg.baseOffset
                if dryRun { continue }
                // Encoding a segment as Parquet and publishing it: off the cooperative pool.
                let base = seg.baseOffset, at = now
                let files = try await Blocking.run { () throws(LambdaStoreError) -> [ArchivedFile] in
                    let files = try s.writeArchiveFiles(segmentBase: base, now: at)
                    try s.publishArchive(adding: files)
                    return files
                }
                r.archivedBytes += files.reduce(0) { $0 + $1.bytes }
                progress.add(Int(seg.endOffset - seg.baseOffset))
            }
        }
        // 3. Raw retention: only archived segments, oldest first.
        var doomed: [SegmentCandidate] = []
        if policy.keepRawMillis != nil || policy.keepRawBytes != nil {
            var total = s.rawBytes
            for seg in sealed() {
                // Dry run: the segments archived above count as archived.
                let archived = seg.isArchived || (dryRun && policy.archiveAfterMillis.map { now - seg.newestAppendMillis >= $0 } == true)
                guard archived else { break }
                let old = policy.keepRawMillis.map { now - seg.newestAppendMillis >= $0 } ?? false
                let over = policy.keepRawBytes.map { total > $0 } ?? false
                guard old || over else { break }
                doomed.append(seg)
                total -= seg.bytes
            }
        }
        if dryRun {
            r.removedSegments += doomed.count
            r.removedSegmentBytes += doomed.reduce(0) { $0 + $1.bytes }
        } else if !doomed.isEmpty || !s.pendingSegmentRemovals.isEmpty {
            // Also removes the segments an earlier run left pending (reads in flight then),
            // whatever the policy is now.
            let (files, b) = try await s.removeArchivedSegments(Set(doomed.map(\.baseOffset)))
            r.removedSegments += files.count
            r.removedSegmentBytes += b
            removed += files
            bytes += b
            let pending = s.pendingSegmentRemovals.count
            if pending > 0 { r.notes.append("\(pending) raw segments were still being read; the next compact removes them") }
        }
        // 4. History drop behind base checkpoints.
        if let drop = policy.dropHistoryAfterMillis, policy.allowHistoryLoss {
            try await dropHistory(s, olderThan: drop, now: now, dryRun: dryRun, report: &r, removed: &removed, bytes: &bytes)
        }
    }

    /// Drops the archived history whose newest append is older than `age`, up to the lowest
    /// horizon of the stream's views, after keeping every view's base checkpoint there.
    func dropHistory(_ s: StreamLog, olderThan age: Int64, now: Int64, dryRun: Bool, report r: inout StreamCompaction,
                     removed: inout [String], bytes: inout Int64) async throws(LambdaStoreError) {
        let m = s.archiveManifest
        // Candidate: the end of the oldest run of archive files old enough, at a segment
        // boundary (every file of a segment goes together).
        var e = m.earliestReplayableOffset
        var bySegment: [(segment: Int64, end: Int64, newest: Int64)] = []
        for f in m.files {
            if let last = bySegment.last, last.segment == f.segment {
                bySegment[bySegment.count - 1].end = f.endOffset
                bySegment[bySegment.count - 1].newest = max(last.newest, f.newestAppendMillis)
            } else {
                bySegment.append((f.segment, f.endOffset, f.newestAppendMillis))
            }
        }
        for g in bySegment {
            guard now - g.newest >= age else { break }
            e = g.end
        }
        // A segment only partly archived cannot be cut (its raw file straddles the offset).
        if let raw = s.segments().first(where: { $0.baseOffset < e && $0.endOffset > e }) {
            e = raw.baseOffset
        }
        guard e > m.earliestReplayableOffset else { return }
        // In the creation turn: no view of the stream appears between choosing the views (and
        // the offset below their horizons) and the commit; a creation after it sees the new
        // earliest replayable offset.
        try await creations.withLock { () async throws(LambdaStoreError) in
            let (handles, bad) = state.withLock { st in
                (st.views.values.filter { $0.current.definition.stream == s.name }.sorted { $0.name < $1.name },
                 st.unavailable.sorted { $0.key < $1.key }.map { "'\($0.key)' (\($0.value.message))" })
            }
            if !bad.isEmpty {
                // A view that could not be loaded keeps no base checkpoint (its definition, even
                // its stream, may be what is damaged): dropping history now could make it
                // unreplayable for good. The note says how to get past it.
                r.notes.append("history not dropped: view(s) \(bad.joined(separator: "; ")) are unavailable, so no base checkpoint can be kept for them; `lambdastore verify` names the damaged files: restore or repair them (or remove the view's directory to give the view up), then run `compact` again")
                return
            }
            // Never above a view's horizon: its speed layer replays from there.
            let lowest = handles.map { $0.current.manifest.horizon }.min() ?? e
            if lowest < e {
                // Clamp to a segment boundary at or below the lowest horizon.
                let boundary = bySegment.map(\.segment).filter { $0 <= lowest }.max() ?? m.earliestReplayableOffset
                r.notes.append("history kept from offset \(boundary) instead of \(e): a view's horizon is at \(lowest) (run `batch` first)")
                e = max(boundary, m.earliestReplayableOffset)
                guard e > m.earliestReplayableOffset else { return }
            }
            r.droppedEvents = e - m.earliestReplayableOffset
            if dryRun { return }
            let target = e
            let result = try await withRunTurns(handles[...]) { () async throws(LambdaStoreError) -> (removed: [String], bytes: Int64, events: Int64) in
                for h in handles {
                    guard h.current.manifest.horizon >= target else {
                        throw LambdaStoreError(.precondition, "view '\(h.name)' moved below offset \(target) meanwhile")
                    }
                    try await Blocking.run { () throws(LambdaStoreError) in _ = try self.keepBase(h, stream: s, at: target) }
                }
                return try await s.dropHistory(below: target, now: now)
            }
            removed += result.removed
            bytes += result.bytes
            let rawGone = result.removed.filter { $0.hasPrefix("streams/") }
            r.removedSegments += rawGone.count
        }
    }

    /// Runs `body` holding the run turn of every view in `handles` (taken in name order).
    func withRunTurns<R: Sendable>(_ handles: ArraySlice<ViewHandle>, _ body: () async throws(LambdaStoreError) -> R) async throws(LambdaStoreError) -> R {
        guard let first = handles.first else { return try await body() }
        return try await first.runs.withLock { () async throws(LambdaStoreError) -> R in
            try await withRunTurns(handles.dropFirst(), body)
        }
    }

    /// Snapshot GC: per view, in its turn, generations beyond its `keepGenerations`, stale base
    /// files, and temp files, unless a reader pins them.
    func collectSnapshots(dryRun: Bool) async throws(LambdaStoreError) -> (count: Int, files: [String], bytes: Int64) {
        var removed: [String] = []
        var bytes: Int64 = 0
        var count = 0
        let handles = state.withLock { st in st.views.sorted { $0.key < $1.key }.map(\.value) }
        for h in handles {
            let keep = (try? await viewPolicy(h.name))?.effectiveKeepGenerations ?? 1
            let (c, files, b) = try await h.runs.withLock { () async throws(LambdaStoreError) -> (Int, [String], Int64) in
                try await Blocking.run { () throws(LambdaStoreError) -> (Int, [String], Int64) in
                    try self.collectSnapshotsBlocking(h, keep: keep, dryRun: dryRun)
                }
            }
            count += c
            removed += files
            bytes += b
        }
        return (count, removed, bytes)
    }

    /// One view's share of ``collectSnapshots(dryRun:)``, in its turn, on the calling thread.
    func collectSnapshotsBlocking(_ h: ViewHandle, keep: Int, dryRun: Bool) throws(LambdaStoreError) -> (Int, [String], Int64) {
        var removed: [String] = []
        var bytes: Int64 = 0
        var count = 0
        let cur = h.current
        let live = Set(cur.manifest.files.map(\.name))
        let dir = viewDirectory(h.name)
        let names = try fs.list(dir)
        // The newest `keep` generations stay whole (the live one always). A file is in the
        // generations from the one that wrote it (its name) up to the one before the generation
        // that stopped naming it (the manifest's retired list; for a file not listed, the one
        // after its own: a generation that names no file of an earlier one). It stays while
        // that range reaches generation `current - keep + 1`. A name from a generation past the
        // live one is a crashed run's leftover: garbage (runs of the view are serialised with
        // this one, so none is being written now).
        let current = cur.manifest.generation
        let retired = cur.manifest.retiredFiles
        let oldestKept = current >= UInt64(keep) ? current - UInt64(keep) + 1 : 0
        func kept(_ n: String) -> Bool {
            guard let written = SnapshotPartition.generation(ofFileName: n), written <= current else { return false }
            let until = retired[n] ?? (written + 1)   // the first generation without it
            return until > oldestKept
        }
        let stale = Set(staleBaseFiles(view: h.name, liveFingerprint: cur.compiled.fingerprint, in: names))
        var changed = false
        for name in names {
            let isOldSnapshot = name.hasSuffix(".snapshot") && !live.contains(name) && !kept(name)
            let isTemp = name.hasSuffix(".tmp")
            let path = Path.join(dir, name)
            guard isOldSnapshot || isTemp || stale.contains(name), !pins.isPinned(path) else { continue }
            if let hd = try? fs.open(path, mode: .read) {
                bytes += (try? hd.size()) ?? 0
                try? hd.close()
            }
            // A snapshot counts once, by its `<generation>.snapshot` (the whole snapshot or the
            // head); parts removed with it or later are files, not snapshots.
            if (name.hasSuffix(".snapshot") && !name.contains("-")) || name.hasSuffix(".base") { count += 1 }
            removed.append("views/\(h.name)/\(name)")
            if dryRun { continue }
            try fs.remove(path)
            changed = true
        }
        if changed { try fs.syncDirectory(dir) }
        return (count, removed, bytes)
    }
}

import Dispatch
import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreLog
import LambdaStoreViews
import Logging
import Synchronization

/// Which windows a batch run recomputes (DESIGN.md "Batch runs").
public enum BatchMode: Sendable, Equatable {
    /// Every window over `[0, H)`.
    case full
    /// Only the windows that received events in `[H0, H)`; every other window carried over.
    case incremental
    /// As ``incremental``, plus every window that starts in `[from, to)`.
    case targeted(from: Int64, to: Int64)
    /// As ``incremental``, plus the windows with these starts (reconciliation).
    case windows([Int64])
}

/// The summary of one batch run (the `--json` object of `lambdastore batch`).
public struct BatchSummary: Sendable {
    /// The view.
    public var view: String
    /// The new horizon H.
    public var horizon: Int64
    /// Events read from the log.
    public var eventsScanned: Int64
    /// Wall-clock seconds.
    public var seconds: Double
    /// `eventsScanned / seconds`.
    public var eventsPerSecond: Double
    /// Bytes of snapshot written.
    public var bytesWritten: Int64
    /// Windows recomputed (all of them for a full run).
    public var windowsRecomputed: Int64
    /// Rows in the new snapshot.
    public var rows: Int64
    /// The drift report of this publish (nil when a new view version was swapped in).
    public var drift: DriftReport?
    /// The view fingerprint of the published snapshot.
    public var fingerprint: String
}

/// Reports progress of long work: `(done, total)` in events.
public typealias ProgressHandler = @Sendable (_ done: Int64, _ total: Int64) -> Void

final class Progress: Sendable {
    let total: Int64
    let handler: ProgressHandler?
    let done = Atomic<Int64>(0)
    init(total: Int64, handler: ProgressHandler?) {
        self.total = total
        self.handler = handler
    }
    func add(_ n: Int) {
        let d = done.add(Int64(n), ordering: .relaxed).newValue
        handler?(d, total)
    }
}

extension Store {
    /// Recomputes a view from the log and publishes it atomically (DESIGN.md "Batch horizon",
    /// "Batch runs", "Drift").
    ///
    /// Takes the horizon `H` (the end of what the speed layer has seen), recomputes over
    /// `[0, H)` in parallel on ``StoreOptions/batchParallelism`` threads (or only the windows
    /// ``BatchMode`` selects, reading their history through the time index), writes a snapshot
    /// sorted by (window, key) — byte-identical for the same log whatever the mode — publishes
    /// it with a new manifest (write temp, fsync, rename, fsync directory), measures drift
    /// against what was served just before, persists the report, and drops the speed
    /// contribution below `H`.
    /// - Throws: `.notFound` for an unknown view; I/O and corruption errors from the log.
    /// - Complexity: O(events in `[0, H)`) for a full run.
    public func runBatch(view name: String, mode: BatchMode = .full, progress: ProgressHandler? = nil) async throws(LambdaStoreError) -> BatchSummary {
        try requireWritable()
        let h = try handle(name)
        return try await h.runs.withLock { () async throws(LambdaStoreError) -> BatchSummary in
            try await runBatchLocked(h, mode: mode, replacing: nil, progress: progress)
        }
    }

    /// A batch run of `handle`, whose ``ViewHandle/runs`` turn the caller holds.
    /// The run itself (replay, recompute, snapshot write, publish) blocks a thread for as long
    /// as it takes: it runs off the cooperative pool.
    func runBatchLocked(_ handle: ViewHandle, mode: BatchMode, replacing: (ViewDefinition, CompiledView)?, progress: ProgressHandler?) async throws(LambdaStoreError) -> BatchSummary {
        try await Blocking.run { () throws(LambdaStoreError) -> BatchSummary in
            try self.runBatchBlocking(handle, mode: mode, replacing: replacing, progress: progress)
        }
    }

    /// Runs `body` on the calling thread while `ensureSpeed(handle)` builds the speed layer on
    /// another; returns when both are done, with `body`'s result or the first failure.
    func whileSpeedCatchesUp<T>(_ handle: ViewHandle, _ body: () throws(LambdaStoreError) -> T) throws(LambdaStoreError) -> T {
        let speedFailure = Locked<LambdaStoreError?>(nil)
        let done = DispatchGroup()
        done.enter()
        DispatchQueue.global(qos: .userInitiated).async {
            defer { done.leave() }
            do throws(LambdaStoreError) { try self.ensureSpeed(handle) } catch { speedFailure.withLock { $0 = error } }
        }
        let result: Result<T, LambdaStoreError>
        do throws(LambdaStoreError) { result = .success(try body()) } catch { result = .failure(error) }
        done.wait()
        if let f = speedFailure.withLock({ $0 }) { throw f }
        return try result.get()
    }

    /// ``runBatchLocked(_:mode:replacing:progress:)`` on the calling thread.
    func runBatchBlocking(_ handle: ViewHandle, mode: BatchMode, replacing: (ViewDefinition, CompiledView)?, progress: ProgressHandler?) throws(LambdaStoreError) -> BatchSummary {
        try requireWritable()
        let name = handle.name
        let started = options.clock()
        let clockStart = DispatchTime.now().uptimeNanoseconds
        // Seconds per phase, logged at debug level (where a slow batch spends its time).
        var phases: [(String, Double)] = []
        var lapStart = clockStart
        func lap(_ phase: String) {
            let now = DispatchTime.now().uptimeNanoseconds
            phases.append((phase, Double(now - lapStart) / 1e9))
            lapStart = now
        }
        let old = handle.current
        let stream = try log.stream(old.definition.stream)
        let definition = replacing?.0 ?? old.definition
        let compiled = replacing?.1 ?? old.compiled
        let layout = compiled.layout
        let isNewVersion = replacing != nil
        let h0 = isNewVersion ? 0 : old.manifest.horizon
        let maxET0 = isNewVersion ? nil : old.manifest.maxEventTime
        // Snapshot file names carry the generation as a 20-digit offset-style number.
        guard old.manifest.generation < UInt64(Int64.max) else {
            throw LambdaStoreError(.corruption, "manifest generation \(old.manifest.generation) cannot be advanced", path: Path.join(viewDirectory(name), Manifest.fileName))
        }
        let generation = old.manifest.generation + 1

        // 1. The horizon H1 and what was served for [H0, H1): the speed layer (built now by a
        // replay if this process has not built it yet) is rotated, so H1 is exactly what it has
        // applied and its frozen generations are the served speed part. A new version takes the
        // visible end (it serves nothing yet).
        var frozen: [SpeedGeneration] = []
        let h1: Int64
        // A full run in a process that has not built the speed layer yet (the first publish
        // of a view, or the first run after open): the replay that builds it and the
        // recompute are independent, so they overlap: the recompute covers [0, E) with E the
        // visible end now, the speed layer catches up to at least E, and [E, H1) is added
        // afterwards (states are monoids: the same table as one recompute over [0, H1)).
        // The recompute's cells sorted for the snapshot write, and its window starts, come with
        // it: working them out on the recompute's thread overlaps the rest of the replay (the
        // long pole of a first publish).
        var early: (table: ViewTable, scanned: Int64, horizon: Int64, order: [Int]?, windows: Set<Int64?>)? = nil
        // Likewise an incremental run in such a process: the scan of the cells touched since H0
        // (step 2) reads the same new events as the speed layer's catch-up, so its part below
        // E is read while the speed layer catches up, and [E, H1) afterwards.
        var selection: [UInt8] = []
        func scanTouched(_ range: Range<Int64>, into t: inout ViewTable, selection: inout [UInt8]) throws(LambdaStoreError) -> Int64 {
            var n: Int64 = 0
            guard !range.isEmpty else { return 0 }
            try stream.forEachBatch(in: range, keepDictionaries: true) { _, batch throws(LambdaStoreError) in
                let sel: [UInt8]?
                if let f = compiled.filter { f.evaluate(batch, into: &selection); sel = selection } else { sel = nil }
                _ = t.apply(batch, rows: nil, selection: sel, policy: .includeAll)
                n += Int64(batch.count)
            }
            return n
        }
        let needsTouched = !isNewVersion && !(mode == .full && h0 == 0)
        var touchedEarly: (table: ViewTable, scanned: Int64, end: Int64)? = nil
        if !isNewVersion, mode == .full || needsTouched, handle.state.withLock({ $0.speed == nil }) {
            let e = max(h0, stream.visibleEndOffset)
            if mode == .full {
                let (t, n, order, windows) = try whileSpeedCatchesUp(handle) { () throws(LambdaStoreError) in
                    let (t, n) = try recomputeAll(stream: stream, view: compiled, horizon: e, progress: progress)
                    return (t, n, layout.window == .none ? nil : t.sortedCellIndices(), t.distinctWindowStarts)
                }
                early = (t, n, e, order, windows)
            } else {
                var t = ViewTable(layout: layout)
                t.maxEventTime = maxET0
                let n = try whileSpeedCatchesUp(handle) { () throws(LambdaStoreError) in
                    try scanTouched(h0..<e, into: &t, selection: &selection)
                }
                touchedEarly = (t, n, e)
            }
        }
        if isNewVersion {
            h1 = stream.visibleEndOffset
        } else {
            var taken: (Int64, [SpeedGeneration])? = nil
            while taken == nil {
                try ensureSpeed(handle)
                taken = handle.state.withLock { rt in
                    guard var speed = rt.speed else { return nil }
                    rt.speed = nil   // mutated uniquely, then put back
                    speed.rotate()
                    let r = (speed.appliedEnd, speed.frozen(below: speed.appliedEnd))
                    rt.speed = speed
                    return r
                }
            }
            guard let taken else { throw LambdaStoreError(.precondition, "speed layer of '\(name)' vanished") }
            (h1, frozen) = taken
        }
        let lateEvents = frozen.reduce(Int64(0)) { $0 + $1.lateEvents }
        let maxETAtH1 = frozen.last?.table.maxEventTime ?? maxET0

        // 2. The cells touched since H0 (every filter-passing event in [H0, H1), late or not),
        // from the batch job's own scan: a scan of [H0, H1) — except for a first full run,
        // where every cell of the recompute over [0, H1) was touched.
        var touchedTable: ViewTable? = nil
        var scanned: Int64 = 0
        if needsTouched {
            // [H0, E) was read above; the scan goes on over [E, H1) (E <= H1: the speed layer
            // caught up to at least E).
            var t: ViewTable
            var from = h0
            if let touchedEarly, touchedEarly.end <= h1 {
                (t, scanned, from) = touchedEarly
            } else {
                t = ViewTable(layout: layout)
                t.maxEventTime = maxET0
            }
            scanned += try scanTouched(from..<max(from, h1), into: &t, selection: &selection)
            touchedTable = t
        }
        var touchedWindows = Set<Int64?>()
        for w in touchedTable?.distinctWindowStarts ?? [] { touchedWindows.insert(w) }

        // 3. The truth over [0, H1).
        // The previous snapshot's cells of some windows: those of the parts an incremental run
        // rewrites (to carry), or only those the drift comparison needs (the windows touched
        // since H0).
        func oldCells(windows: Set<Int64?>) throws(LambdaStoreError) -> [(CellKey, [AggregateState])] {
            guard let snap = old.snapshot, !isNewVersion else { return [] }
            let reader = try SnapshotLayout(layout: old.compiled.layout)
            let starts = windows.compactMap { $0 }
            if windows.contains(nil) { return try reader.read(snap, windowStartRange: nil, keys: []) }
            guard let lo = starts.min(), let hi = starts.max() else { return [] }
            return try reader.read(snap, windowStartRange: lo..<(hi + 1), keys: [])
        }
        var truth: ViewTable
        var windowsRecomputed: Int64
        // How the new snapshot is split (nil: one unpartitioned file, a view without a window)
        // and the previous parts it names again unchanged (an incremental run).
        var span: Int64? = nil
        var keptParts: [(index: Int64, file: ManifestFile)] = []
        // The previous parts an incremental run rewrites, and its recomputed windows (whose
        // cells in those parts are replaced).
        var carryParts: [Int64: SnapshotReader] = [:]
        var recomputedSelection = WindowSelection(explicit: [], range: nil)
        // `truth.sortedCellIndices()` and `truth.distinctWindowStarts` (2 M cells at 10 M
        // events: tens of ms each), when computed already (and `truth` not changed since).
        var presorted: [Int]? = nil
        var truthWindows: Set<Int64?>? = nil
        lap("scan")
        let incrementalPossible = !isNewVersion && layout.windowSize > 0 && (old.snapshot != nil || h0 == 0)
        switch mode {
        case .full:
            if let early, early.horizon <= h1 {
                truth = early.table
                scanned = early.scanned
                presorted = h1 == early.horizon ? early.order : nil
                truthWindows = h1 == early.horizon ? early.windows : nil
                if h1 > early.horizon {
                    let infos = try stream.batchInfos(in: early.horizon..<h1)
                    let (rest, n) = try aggregate(stream: stream, view: compiled, batches: infos, horizon: h1, keep: nil, progress: nil)
                    truth.merge(rest)
                    scanned += n
                }
            } else {
                (truth, scanned) = try recomputeAll(stream: stream, view: compiled, horizon: h1, progress: progress)
            }
            if truthWindows == nil { truthWindows = truth.distinctWindowStarts }
            windowsRecomputed = Int64(truthWindows?.count ?? 0)
        case .incremental, .targeted, .windows:
            var targetRange: Range<Int64>? = nil
            var explicit = touchedWindows.compactMap { $0 }
            if case .targeted(let from, let to) = mode { targetRange = from..<max(from, to) }
            if case .windows(let starts) = mode { explicit += starts }
            let selected = WindowSelection(explicit: explicit, range: targetRange)
            // The plan: recompute the selected windows, rewrite only the parts that hold one of
            // them (carrying their other cells), name every other part again. It is run in full
            // instead when the split changes (the windows outgrew the span), when the previous
            // snapshot is not split, or when carrying would cost more than reading the history:
            // per carried cell about `partCarryCostInEvents` events (against ~25-60 ns per event
            // of a full run on 2 threads). The files are byte-identical either way (the property
            // tests), only the time differs.
            var plan: (recomputed: ViewTable, read: Int64, span: Int64, rewrite: Set<Int64>)? = nil
            var why = ""
            if incrementalPossible, let slide = SnapshotPartition.slide(layout.window) {
                let (recomputed, readCount) = try recomputeWindows(stream: stream, view: compiled, horizon: h1, windows: selected, progress: progress,
                                                                   reusing: touchedTable.map { ($0, h0..<h1) })
                let starts = recomputed.distinctWindowStarts.compactMap { $0 }
                let lo = [old.snapshot?.windowBounds?.lowerBound, starts.min()].compactMap { $0 }.min()
                let hi = [old.snapshot?.windowBounds?.upperBound, starts.max()].compactMap { $0 }.max()
                // (No cell at all: the span of window 0, as a full run of no cells has.)
                let s = SnapshotPartition.span(minWindow: lo ?? 0, maxWindow: hi ?? 0, slide: slide)
                if let snap = old.snapshot, snap.span != s {
                    why = snap.span == nil ? "the previous snapshot is not split by window range" : "the windows outgrew the part span"
                } else {
                    var rewrite = Set(starts.map { SnapshotPartition.index($0, span: s) })
                    for p in old.snapshot?.parts ?? [] {
                        guard let w = p.windows, let i = p.index else { continue }
                        let hit = (targetRange.map { !$0.isEmpty && $0.lowerBound <= w.upperBound && $0.upperBound > w.lowerBound } ?? false)
                            || selected.explicit.contains { w.contains($0) }
                        if hit { rewrite.insert(i) }
                    }
                    let carriedRows = (old.snapshot?.parts ?? []).reduce(Int64(0)) { $0 + ($1.index.map { rewrite.contains($0) } == true ? $1.reader.rowCount : 0) }
                    let (cost, overflow) = carriedRows.multipliedReportingOverflow(by: Self.partCarryCostInEvents)
                    if case .incremental = mode, carriedRows >= 65_536, overflow || cost > h1 {
                        why = "carrying \(carriedRows) cells of the previous snapshot costs more than reading the history"
                    } else {
                        plan = (recomputed, readCount, s, rewrite)
                    }
                }
            }
            guard let plan else {
                if incrementalPossible {
                    options.logger.notice("\(mode == .incremental ? "incremental" : "targeted") run recomputed in full: \(why)", metadata: [
                        "view": .string(name), "events": .stringConvertible(h1)])
                }
                (truth, scanned) = try recomputeAll(stream: stream, view: compiled, horizon: h1, progress: progress)
                windowsRecomputed = Int64(truth.distinctWindowStarts.count)
                break
            }
            scanned += plan.read
            truth = plan.recomputed   // the recomputed windows only
            span = plan.span
            // The rewritten parts carry their other windows over from the previous snapshot
            // (merged by columns when the parts are written); the others are named again.
            if let snap = old.snapshot {
                for p in snap.parts {
                    guard let i = p.index else { continue }
                    if plan.rewrite.contains(i) {
                        carryParts[i] = p.reader
                    } else {
                        keptParts.append((i, p.file))
                    }
                }
            }
            recomputedSelection = selected
            // maxEventTime at H1 over the whole stream.
            truth.maxEventTime = [maxET0, touchedTable?.maxEventTime, maxETAtH1].compactMap { $0 }.max()
            windowsRecomputed = Int64(plan.recomputed.distinctWindowStarts.count)
        }
        let maxET1 = truth.maxEventTime
        // A first full run: every cell of the recompute received an event in [0, H1).
        if touchedTable == nil { for w in truthWindows ?? truth.distinctWindowStarts { touchedWindows.insert(w) } }
        lap("recompute")

        // 4. Write the snapshot: for a windowed view its parts by window range (every part in a
        // full run, only the rewritten ones in an incremental run), else one file.
        let vdir = viewDirectory(name)
        // Written on a thread of its own while the drift comparison below runs: both only read
        // the truth (the comparison's indexing mutates its own copy).
        let toWrite = truth
        let partSpan = span, carry = carryParts, recomputedWindows = recomputedSelection, order = presorted
        // The file that names the horizon (a windowed view's head, else the whole snapshot) and
        // the parts written.
        typealias Written = (head: ManifestFile, parts: [(index: Int64, file: ManifestFile)])
        let written = Locked<Result<Written, LambdaStoreError>?>(nil)
        let writing = DispatchGroup()
        writing.enter()
        DispatchQueue.global(qos: .userInitiated).async {
            defer { writing.leave() }
            let r: Result<Written, LambdaStoreError>
            do throws(LambdaStoreError) {
                if layout.window != .none {
                    r = .success(try self.writeSnapshotParts(toWrite, span: partSpan, generation: generation, directory: vdir, view: name,
                                                             definition: definition, compiled: compiled, horizon: h1,
                                                             carry: carry, recomputed: recomputedWindows, order: order))
                } else {
                    let fileName = Store.snapshotFileName(generation: generation)
                    let (info, _) = try self.writeSnapshot(toWrite, path: Path.join(vdir, fileName), view: name, definition: definition,
                                                           compiled: compiled, horizon: h1)
                    r = .success((ManifestFile(info), []))
                }
            } catch {
                r = .failure(error)
            }
            written.withLock { $0 = r }
        }
        var driftFailure: LambdaStoreError? = nil

        // 5. Drift: what was served just before (old batch ⊕ the frozen speed generations over
        // [H0, H1), read from the live speed layer) vs the new truth.
        var report: DriftReport? = nil
        do throws(LambdaStoreError) { if !isNewVersion {
            var acc = DriftAccumulator(names: layout.aggregates.map(\.name), numeric: layout.aggregates.map { $0.hasNumericResult })
            // A table merge, no per-cell dictionary; then one cell lookup per touched cell on
            // each side, O(1) once both tables are indexed (lookups of old windows would walk
            // long key chains).
            let previous = try oldCells(windows: touchedWindows).filter { touchedWindows.contains($0.0.windowStart) }
            var served: ViewTable
            if frozen.count == 1, previous.isEmpty {
                // The usual first publish: what was served is exactly the one frozen generation.
                // Shared, not copied: it is only read below (the speed layer indexed every cell,
                // so indexing it again writes nothing).
                served = frozen[0].table
            } else {
                served = ViewTable(layout: layout)
                for g in frozen { served.merge(g.table) }
                for (c, s) in previous { served.merge(states: s, into: c) }
            }
            // When the touched cells are the truth's own (a first full run), a touched cell is
            // its truth cell: no index and no lookup on that side.
            let touchedIsTruth = touchedTable == nil
            if (touchedTable?.cellCount ?? truth.cellCount) > 4096 {
                served.indexAllCells()
                if !touchedIsTruth { truth.indexAllCells() }
            }
            let touched = touchedTable ?? truth   // after the indexing: shares truth's storage
            let servedKey = served.keyIDs(matching: touched), truthKey = truth.keyIDs(matching: touched)
            // The comparison's counts and sums do not depend on the order of the cells (the
            // differing windows are sorted below), so cells go in table order, and two result
            // buffers are reused instead of two arrays per cell.
            // Large comparisons run on `batchParallelism` threads over contiguous cell ranges,
            // each with its own accumulator, combined in range order (a fixed split, so the
            // report is the same on every machine).
            let cells = touched.cellCount
            let parts = cells > 65_536 ? max(1, min(options.batchParallelism, 8)) : 1
            let partial = Locked([DriftAccumulator?](repeating: nil, count: parts))
            let names = acc.names, numeric = layout.aggregates.map { $0.hasNumericResult }
            let (servedRef, truthRef) = (served, truth)
            let integerStates = truth.hasOnlyIntegerStates
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                var a = DriftAccumulator(names: names, numeric: numeric)
                var servedValues: [Value] = [], truthValues: [Value] = []
                // The closed touched cells go in runs of up to 64, each side's lookups of a run
                // issued together (ViewTable.cellIndices overlaps their cache misses).
                var run: [Int] = [], servedCells: [Int32] = [], truthCells: [Int32] = []
                run.reserveCapacity(64)
                func compareRun() {
                    let cellsOfRun = run   // not the captured variable: no exclusivity check per access
                    servedRef.cellIndices(count: cellsOfRun.count, windowStart: { touched.windowStart(ofCell: cellsOfRun[$0]) },
                                          keyID: { servedKey[touched.keyID(ofCell: cellsOfRun[$0])] }, into: &servedCells)
                    if !touchedIsTruth {
                        truthRef.cellIndices(count: cellsOfRun.count, windowStart: { touched.windowStart(ofCell: cellsOfRun[$0]) },
                                             keyID: { truthKey[touched.keyID(ofCell: cellsOfRun[$0])] }, into: &truthCells)
                    }
                    for (i, c) in cellsOfRun.enumerated() {
                        let sc = Int(servedCells[i]), tc = touchedIsTruth ? c : Int(truthCells[i])
                        // The common cell, the same integer states on both sides: no states or
                        // values built (a first publish compares millions of cells).
                        if integerStates, sc >= 0, tc >= 0, servedRef.sameIntegerStates(cell: sc, as: truthRef, cell: tc) {
                            a.compareSame { truthRef.integerResultNumber(ofCell: tc, aggregate: $0) }
                            continue
                        }
                        if sc >= 0 { servedRef.results(ofCell: sc, into: &servedValues) }
                        if tc >= 0 { truthRef.results(ofCell: tc, into: &truthValues) }
                        a.compare(window: touched.windowStart(ofCell: c), served: sc < 0 ? nil : servedValues, truth: tc < 0 ? nil : truthValues)
                    }
                    run.removeAll(keepingCapacity: true)
                }
                for c in (cells * part / parts)..<(cells * (part + 1) / parts) {
                    guard let w = touched.windowStart(ofCell: c),
                          layout.window.isClosed(windowStart: w, maxEventTime: maxET1, allowedLateness: layout.allowedLateness) else { continue }
                    run.append(c)
                    if run.count == 64 { compareRun() }
                }
                compareRun()
                partial.withLock { $0[part] = a }
            }
            for a in partial.withLock({ $0 }) { if let a { acc.merge(a) } }
            report = DriftReport(view: name, cellsCompared: acc.compared, cellsDiffering: acc.differing, relativeError: acc.relativeError,
                                 lateEvents: lateEvents, fingerprint: compiled.fingerprint, fromHorizon: h0, toHorizon: h1,
                                 at: started, thresholds: (definition.drift.warn, definition.drift.critical),
                                 differingWindows: acc.differingWindows.sorted { ($0 ?? .min) < ($1 ?? .min) })
        } } catch {
            driftFailure = error
        }
        writing.wait()
        if let driftFailure { throw driftFailure }
        guard let writeResult = written.withLock({ $0 }) else { throw LambdaStoreError(.precondition, "snapshot write of '\(name)' did not finish") }
        let (head, newParts) = try writeResult.get()
        lap("write+drift")
        // The head first, then the new parts and the previous ones named again, by part index.
        let files = [head] + (keptParts + newParts).sorted { $0.index < $1.index }.map(\.file)
        let bytesWritten = newParts.reduce(head.bytes) { $0 + $1.file.bytes }
        let rowCount = files.reduce(Int64(0)) { $0 + $1.rows }
        var extra: [String: String] = ["definition": definition.toJSON(), "publishedAt": String(started)]
        if let report { extra["drift"] = report.summaryJSONString }
        if let retired = retiredFiles(previous: old.manifest, live: Set(files.map(\.name)), generation: generation, directory: vdir) {
            extra[Manifest.retiredKey] = retired
        }
        let manifest = Manifest(generation: generation, view: name, fingerprint: compiled.fingerprint, horizon: h1,
                                maxEventTime: maxET1, files: files, extra: extra)
        // The history the new horizon stands on is durable and recorded in the stream's
        // checkpoint before any file claims it (recovery never goes below it silently).
        try stream.checkpointVisible()
        try manifest.publish(fs: fs, directory: vdir)
        if let report { try appendDriftReport(report, view: name) }
        let reader = try SnapshotSet.open(fs: fs, directory: vdir, manifest: manifest, reusing: old.snapshot)

        // 6. Swap in: new batch part, drop the speed contribution below H1. A new version gets
        // a speed layer of its own from H1, caught up to the visible end under the lock, so no
        // event is missing from answers at any moment.
        if isNewVersion {
            var speed = SpeedLayer(layout: layout, horizon: h1, maxEventTime: maxET1)
            try install(&speed, in: handle, stream: stream, view: compiled) { v in
                v.manifest = manifest
                v.snapshot = reader
                v.definition = definition
                v.compiled = compiled
                return true
            }
        } else {
            handle.state.withLock { v in
                v.manifest = manifest
                v.snapshot = reader
                v.speed?.drop(below: h1)
            }
        }
        lap("publish")
        options.logger.debug("batch phases", metadata: Logger.Metadata(uniqueKeysWithValues: phases.map {
            ($0.0 + "Ms", .stringConvertible(Int(($0.1 * 1000).rounded())))
        }))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - clockStart) / 1e9
        Metrics.batchPublished(view: name, seconds: seconds, events: scanned, bytes: bytesWritten, drift: report, publishedAtMillis: started)
        var meta: Logger.Metadata = ["view": .string(name), "horizon": .stringConvertible(h1), "events": .stringConvertible(scanned),
                                     "seconds": .stringConvertible(seconds), "fingerprint": .string(compiled.fingerprint)]
        if let report {
            meta["drift"] = .string(report.status.rawValue)
            meta["cellsDiffering"] = .stringConvertible(report.cellsDiffering)
            meta["cellsCompared"] = .stringConvertible(report.cellsCompared)
        }
        if let report, report.status != .ok {
            options.logger.warning("batch published with drift \(report.status.rawValue)", metadata: meta)
        } else {
            options.logger.info(isNewVersion ? "new view version built and swapped in" : "batch published", metadata: meta)
        }
        return BatchSummary(view: name, horizon: h1, eventsScanned: scanned, seconds: seconds,
                            eventsPerSecond: seconds > 0 ? Double(scanned) / seconds : 0, bytesWritten: bytesWritten,
                            windowsRecomputed: windowsRecomputed, rows: rowCount, drift: report, fingerprint: compiled.fingerprint)
    }

    /// Recomputes a view over the whole log as it is now, in memory, without writing or
    /// publishing anything: the aggregation step of a full ``runBatch(view:mode:progress:)``
    /// (same parallel split and merge on ``StoreOptions/batchParallelism`` threads, late events
    /// included), for what-if checks and for measuring the aggregation alone.
    /// - Returns: the table over `[0, visible end)` and the number of events read.
    /// - Throws: `.notFound` for an unknown view; I/O and corruption errors from the log.
    ///
    /// Reads the whole log and aggregates on its own threads: off the cooperative pool.
    ///
    /// System programming interface (`@_spi(Internals) import LambdaStore`): it hands back the
    /// engine's aggregation table, which is not part of the user's API; the benchmarks and
    /// the tests use it to time and check the aggregation alone.
    @_spi(Internals) public func recompute(view name: String, progress: ProgressHandler? = nil) async throws(LambdaStoreError) -> (table: ViewTable, events: Int64) {
        try await Blocking.run { () throws(LambdaStoreError) -> (table: ViewTable, events: Int64) in try self.recomputeBlocking(view: name, progress: progress) }
    }

    /// ``recompute(view:progress:)`` on the calling thread.
    func recomputeBlocking(view name: String, progress: ProgressHandler?) throws(LambdaStoreError) -> (table: ViewTable, events: Int64) {
        let rt = try runtime(name)
        let stream = try log.stream(rt.definition.stream)
        let (table, events) = try recomputeAll(stream: stream, view: rt.compiled, horizon: stream.visibleEndOffset, progress: progress)
        return (table, events)
    }

    /// Writes `table` as a snapshot file at `path` (durably, atomically); the bytes depend only on
    /// the cells, the definition and the horizon, so every mode yields the same file.
    func writeSnapshot(_ table: ViewTable, path: String, view name: String, definition: ViewDefinition, compiled: CompiledView, horizon: Int64, partSpan: Int64? = nil) throws(LambdaStoreError) -> (SnapshotFileInfo, Int64) {
        let (writer, rows) = try snapshotWriter(table, path: path, view: name, definition: definition, compiled: compiled, horizon: horizon, partSpan: partSpan)
        return (try writer.finish(), rows)
    }

    /// The bytes ``writeSnapshot(_:path:view:definition:compiled:horizon:)`` would write, built in
    /// memory (the replay drill compares them with the published file without writing anything).
    func snapshotBytes(_ table: ViewTable, view name: String, definition: ViewDefinition, compiled: CompiledView, horizon: Int64, partSpan: Int64? = nil) throws(LambdaStoreError) -> [UInt8] {
        try snapshotWriter(table, path: nil, view: name, definition: definition, compiled: compiled, horizon: horizon, partSpan: partSpan).0.finishToBytes()
    }

    /// One snapshot writer for both: the same layout, options and metadata, to a file at `path`
    /// or (nil) to memory, with every cell of `table` appended.
    /// `partSpan` makes it the head of a snapshot split into parts (no rows; format-spec.md §6.2.1).
    private func snapshotWriter(_ table: ViewTable, path: String?, view name: String, definition: ViewDefinition, compiled: CompiledView, horizon: Int64, partSpan: Int64?) throws(LambdaStoreError) -> (SnapshotWriter, Int64) {
        let slayout = try SnapshotLayout(layout: compiled.layout)
        var metadata: [String: String] = [
            "view": name, "fingerprint": compiled.fingerprint, "horizon": String(horizon),
            "definition": definition.canonicalForm,
        ]
        if let partSpan { metadata[SnapshotPartition.spanKey] = String(partSpan) }
        if let m = table.maxEventTime { metadata["maxEventTime"] = String(m) }
        let options = snapshotOptions(threads: options.batchParallelism)
        let writer = if let path {
            try SnapshotWriter(fs: fs, path: path, columns: slayout.columns, options: options, metadata: metadata)
        } else {
            try SnapshotWriter(columns: slayout.columns, options: options, metadata: metadata)
        }
        let (columns, rows) = slayout.encode(table)
        try writer.append(columns: columns)
        return (writer, Int64(rows))
    }

    /// What carrying one cell of a rewritten snapshot part costs, in events read by a full run:
    /// the part is decoded and merged by columns (measured: ~0.1 µs per carried cell).
    static let partCarryCostInEvents: Int64 = 4

    /// Recomputes every cell over `[0, horizon)` on `batchParallelism` threads: the log is split
    /// into contiguous parts, each aggregated into its own table, and the tables merged (every
    /// state is a commutative monoid with an order-independent result).
    ///
    /// Where history was dropped, the view's base checkpoint stands for `[0, E)`: the result is
    /// `base ⊕ recompute([E, horizon))`.
    func recomputeAll(stream: StreamLog, view: CompiledView, horizon: Int64, progress: ProgressHandler?) throws(LambdaStoreError) -> (ViewTable, Int64) {
        let (from, base) = try historyStart(stream, view)
        let infos = horizon > from ? try stream.batchInfos(in: from..<horizon) : []
        var (table, n) = try aggregate(stream: stream, view: view, batches: infos, horizon: horizon, keep: nil, progress: progress)
        mergeBase(base, into: &table, keep: nil)
        return (table, n)
    }

    /// Recomputes the cells of the selected windows: reads, through the time index, every batch
    /// whose event-time range can hold an event of one of them. The time index knows only the
    /// stream's event time: a view windowed on another timestamp field reads every batch (and
    /// still keeps only the selected windows), so its runs stay byte-identical to a full run.
    ///
    /// `reusing` is a table aggregated the same way (the view's filter, every event kept) over
    /// exactly the events at `offsets`, every window of which is selected (an incremental run's
    /// scan of `[H0, H1)`): the batches inside `offsets` are not read again, that table is merged
    /// instead (monoid states: the same cells). When a batch straddles `offsets`, everything is
    /// read.
    func recomputeWindows(stream: StreamLog, view: CompiledView, horizon: Int64, windows: WindowSelection, progress: ProgressHandler?,
                          reusing: (table: ViewTable, offsets: Range<Int64>)? = nil) throws(LambdaStoreError) -> (ViewTable, Int64) {
        guard !windows.isEmpty, horizon > 0 else { return (ViewTable(layout: view.layout), 0) }
        let (from, base) = try historyStart(stream, view)
        let size = view.layout.windowSize
        let onEventTime = view.layout.windowFieldIndex == view.schema.eventTimeIndex
        let infos: [BatchInfo]
        if onEventTime {
            let bounds = windows.timeBounds(windowSize: size)
            infos = horizon > from ? try stream.batchInfos(overlappingEventTime: bounds, in: from..<horizon).filter { info in
                guard let lo = info.minEventTime, let hi = info.maxEventTime else { return false }
                return windows.overlaps(lo...hi, windowSize: size, layout: view.layout)
            } : []
        } else {
            infos = horizon > from ? try stream.batchInfos(in: from..<horizon) : []
        }
        var read = infos
        var reused: ViewTable? = nil
        if let reusing, reusing.table.distinctWindowStarts.allSatisfy({ windows.contains($0) }) {
            let r = reusing.offsets
            func end(_ b: BatchInfo) -> Int64 { b.baseOffset + Int64(b.count) }
            if infos.allSatisfy({ end($0) <= r.lowerBound || $0.baseOffset >= r.upperBound || ($0.baseOffset >= r.lowerBound && end($0) <= r.upperBound) }) {
                read = infos.filter { !($0.baseOffset >= r.lowerBound && end($0) <= r.upperBound) }
                reused = reusing.table
            }
        }
        var table: ViewTable, n: Int64
        if let reused, read.isEmpty {
            // Every selected window's events are in the reused table: it is the result as is (a
            // table merge re-interns every cell's key, and costs more than reading the events).
            (table, n) = (reused, 0)
        } else {
            (table, n) = try aggregate(stream: stream, view: view, batches: read, horizon: horizon, keep: windows, progress: progress)
            if let reused { table.merge(reused) }
        }
        mergeBase(base, into: &table, keep: windows)
        return (table, n)
    }

    func aggregate(stream: StreamLog, view: CompiledView, batches: [BatchInfo], horizon: Int64, keep: WindowSelection?, progress: ProgressHandler?) throws(LambdaStoreError) -> (ViewTable, Int64) {
        let total = batches.reduce(Int64(0)) { $0 + Int64($1.count) }
        let prog = Progress(total: total, handler: progress)
        // One contiguous part per thread: the parts' tables then overlap only in the windows
        // at their borders (and late events), and merging the later parts into the first one
        // touches only their cells.
        let parts = Self.split(batches, into: max(1, min(options.batchParallelism, batches.count)))
        // Archive row groups decode only what the view reads (raw batches hold every field).
        let fieldsRead = Set(view.layout.columnsRead.map { view.schema.fields[$0.index].name }
                             + (view.filter?.columnsRead.keys.map { view.schema.fields[$0].name } ?? []) + [view.schema.eventTime])
        let results = Locked<[Result<ViewTable, LambdaStoreError>?]>(Array(repeating: nil, count: parts.count))
        let start = DispatchTime.now().uptimeNanoseconds
        let partMillis = Locked<[Double]>(Array(repeating: 0, count: parts.count))
        DispatchQueue.concurrentPerform(iterations: parts.count) { p in
            defer {
                let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                partMillis.withLock { $0[p] = ms }
            }
            var table = ViewTable(layout: view.layout)
            // At most one cell per (event, window); capped so a view with few cells over a long
            // log does not reserve address space it never uses. The first part also takes the
            // others' cells in the merge.
            let events = parts[p].reduce(0) { $0 + $1.count } * (p == 0 ? parts.count : 1)
            table.reserveCapacity(cells: Swift.min(events * Swift.max(1, view.layout.window.windowsPerEvent), 1 << 22))
            var selection: [UInt8] = []
            var scratch = ReadScratch()
            let r: Result<ViewTable, LambdaStoreError>
            do throws(LambdaStoreError) {
                for info in parts[p] {
                    // String columns stay dictionary-coded where the log stored them so: the
                    // filter compares each distinct value once, the keyer interns it once.
                    var batch = try stream.readBatch(info, scratch: &scratch, keepDictionaries: true, fields: fieldsRead)
                    if info.baseOffset + Int64(info.count) > horizon {
                        batch = batch.slice(0..<Int(horizon - info.baseOffset))
                    }
                    let sel: [UInt8]?
                    if let f = view.filter { f.evaluate(batch, into: &selection); sel = selection } else { sel = nil }
                    _ = table.apply(batch, rows: nil, selection: sel, policy: .includeAll)
                    prog.add(batch.count)
                    if table.cellCount > options.viewCellsMax { throw cellLimitError(view) }
                }
                if let keep { table.removeCells { !keep.contains($0.windowStart) } }
                r = .success(table)
            } catch {
                r = .failure(error)
            }
            results.withLock { $0[p] = r }
        }
        var tables: [ViewTable] = []
        // Taken out of the mutex (not copied), so the first table is uniquely referenced and
        // merging into it does not copy its storage.
        for r in results.withLock({ (r: inout [Result<ViewTable, LambdaStoreError>?]) in defer { r = [] }; return r }) {
            switch r {
            case .success(let t)?: tables.append(t)
            case .failure(let e)?: throw e
            case nil: throw LambdaStoreError(.precondition, "batch worker did not finish")
            }
        }
        guard !tables.isEmpty else { return (ViewTable(layout: view.layout), total) }
        let mergeStart = DispatchTime.now().uptimeNanoseconds
        var merged = tables.removeFirst()
        for t in tables {
            if tables.count == 1 { merged.mergeUsingTwoThreads(t) } else { merged.merge(t) }
            if merged.cellCount > options.viewCellsMax { throw cellLimitError(view) }
        }
        let mergeMs: Double = Double(DispatchTime.now().uptimeNanoseconds - mergeStart) / 1e6
        let doneMs: [Double] = partMillis.withLock { $0 }
        var meta = Logger.Metadata()
        meta["partsDoneMs"] = .string(doneMs.map { String(Int($0.rounded())) }.joined(separator: ","))
        meta["mergeMs"] = .stringConvertible(Int(mergeMs.rounded()))
        meta["cells"] = .stringConvertible(merged.cellCount)
        meta["events"] = .stringConvertible(total)
        options.logger.debug("recompute parts", metadata: meta)
        return (merged, total)
    }

    func cellLimitError(_ view: CompiledView) -> LambdaStoreError {
        LambdaStoreError(.limitExceeded, "view '\(view.definition.name)' would hold more than \(options.viewCellsMax) cells (StoreOptions.viewCellsMax); the run was stopped before it could exhaust memory")
    }

    /// Splits batches into `k` contiguous parts of about equal event counts.
    static func split(_ batches: [BatchInfo], into k: Int) -> [[BatchInfo]] {
        guard k > 1 else { return [batches] }
        let total = batches.reduce(0) { $0 + $1.count }
        let per = max(1, (total + k - 1) / k)
        var parts: [[BatchInfo]] = [[]]
        var acc = 0
        for b in batches {
            if acc >= per && parts.count < k { parts.append([]); acc = 0 }
            parts[parts.count - 1].append(b)
            acc += b.count
        }
        return parts
    }
}

extension ViewLayout {
    /// The window size in ms (0 for no window): how far after its start a window reaches.
    var windowSize: Int64 {
        switch window {
        case .none: 0
        case .tumbling(let size), .hopping(let size, _): size
        }
    }
}

/// A set of windows (by start): explicit starts plus, optionally, every start in a range.
struct WindowSelection: Sendable {
    let explicit: Set<Int64>
    let sorted: [Int64]
    let range: Range<Int64>?

    init(explicit: [Int64], range: Range<Int64>?) {
        self.explicit = Set(explicit)
        self.sorted = self.explicit.sorted()
        self.range = range
    }

    var isEmpty: Bool { explicit.isEmpty && (range?.isEmpty ?? true) }

    func contains(_ start: Int64?) -> Bool {
        guard let start else { return false }
        return explicit.contains(start) || (range?.contains(start) ?? false)
    }

    /// Whether a selected window starts in `starts`.
    func intersects(_ starts: ClosedRange<Int64>) -> Bool {
        if let r = range, !r.isEmpty, r.lowerBound <= starts.upperBound, r.upperBound > starts.lowerBound { return true }
        var a = 0, b = sorted.count
        while a < b { let m = (a + b) / 2; if sorted[m] < starts.lowerBound { a = m + 1 } else { b = m } }
        return a < sorted.count && sorted[a] <= starts.upperBound
    }

    /// The event times any selected window can hold (saturating at the ends of `Int64`).
    func timeBounds(windowSize: Int64) -> ClosedRange<Int64> {
        var lo = Int64.max, hi = Int64.min
        if let f = sorted.first, let l = sorted.last { lo = f; hi = Self.lastInstant(start: l, size: windowSize) }
        if let r = range, !r.isEmpty { lo = min(lo, r.lowerBound); hi = max(hi, Self.lastInstant(start: r.upperBound, size: windowSize)) }
        return lo...max(lo, hi)
    }

    /// `start + size - 1`, the last instant of the window starting at `start`, clamped to Int64.
    static func lastInstant(start: Int64, size: Int64) -> Int64 {
        Int64(clamping: Int128(start) + Int128(size) - 1)
    }

    /// Whether an event time in `times` can fall in a selected window.
    func overlaps(_ times: ClosedRange<Int64>, windowSize: Int64, layout: ViewLayout) -> Bool {
        // Window [s, s + size) overlaps [lo, hi] iff s <= hi && s + size > lo, i.e. s in (lo - size, hi].
        let lo = Int64(clamping: Int128(times.lowerBound) - Int128(windowSize) + 1), hi = times.upperBound
        if let r = range, r.lowerBound <= hi && r.upperBound > lo { return true }
        var a = 0, b = sorted.count
        while a < b { let m = (a + b) / 2; if sorted[m] < lo { a = m + 1 } else { b = m } }
        return a < sorted.count && sorted[a] <= hi
    }
}

extension Store {
    /// The snapshot file name of a manifest generation: 20 zero-padded digits, like segment
    /// names, so `ls` sorts them numerically.
    static func snapshotFileName(generation: UInt64) -> String {
        LogFormat.fileStem(baseOffset: Int64(clamping: generation)) + ".snapshot"
    }
}

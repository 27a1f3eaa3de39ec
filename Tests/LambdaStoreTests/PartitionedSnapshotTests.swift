@_spi(Internals) @testable import LambdaStore
import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreTestSupport
import Testing

/// A windowed view's snapshot split into parts by window range (format-spec.md §6.2.1): the
/// split rule, incremental runs that rewrite only the parts whose windows received events (and
/// stay byte-identical to full runs and equal to the reference), snapshot GC that keeps whole
/// generations when generations share parts, and crafted manifests and parts refused.
@Suite struct PartitionedSnapshotTests {
    static let t0: Int64 = 1_704_067_200_000

    /// Events about 20 minutes apart (a week per 500), a tenth of them up to two days late.
    static func spreadEvents(_ rng: inout SplitMix64, count: Int, clock: inout Int64) -> [ReferenceModel.Event] {
        (0..<count).map { _ in
            clock += Int64(rng.next() % 2_400_000)
            var ts: Int64? = clock
            if rng.next() % 10 == 0 { ts = clock - Int64(rng.next() % 172_800_000) }
            let statuses = ["completed", "completed", "cancelled"]
            return ReferenceModel.Event(ts: ts, merchant: "m\(rng.next() % 5)", status: statuses[Int(rng.next() % 3)],
                                        amount: rng.next() % 20 == 0 ? nil : Int64(rng.next() % 1000))
        }
    }

    /// A store at `dir` with the orders stream, the hourly view `v` (no lateness), `count`
    /// spread events from `seed` and one published batch; the clock after the events.
    static func publishedStore(_ dir: String, seed: UInt64, count: Int, rowGroupRows: Int? = nil) async throws -> (Store, SplitMix64, Int64) {
        let store = try await Store.open(at: dir, options: options(rowGroupRows: rowGroupRows))
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "0m")))
        var rng = SplitMix64(seed: seed)
        var clock = t0
        try await store.append(try batchOf(spreadEvents(&rng, count: count, clock: &clock)), to: "orders")
        _ = try await store.runBatch(view: "v")
        return (store, rng, clock)
    }

    static func options(rowGroupRows: Int? = nil) -> StoreOptions {
        var o = StoreOptions()
        if let rowGroupRows { o.snapshotRowGroupRows = rowGroupRows }
        o.batchParallelism = 2
        o.logger.logLevel = .error
        return o
    }

    /// The split rule against its definition, for random window ranges and slides: the span is a
    /// multiple of the slide, at least a day, leaves at most 64 parts, and is the smallest such;
    /// every window start lies in the part its index names.
    @Test func theSpanIsTheSmallestThatFits() {
        var rng = SplitMix64(seed: 0x5EA1)
        let slides: [Int64] = [1, 1000, 60_000, 300_000, 1_200_000, 3_600_000, 86_400_000, 604_800_000]
        for _ in 0..<2000 {
            let slide = slides[Int(rng.next() % UInt64(slides.count))]
            let scale = [Int64(1) << 20, Int64(1) << 36, Int64(1) << 44, Int64(1) << 62][Int(rng.next() % 4)]
            let a = Int64(bitPattern: rng.next()) % scale, b = Int64(bitPattern: rng.next()) % scale
            let lo = min(a, b), hi = max(a, b)
            let s = SnapshotPartition.span(minWindow: lo, maxWindow: hi, slide: slide)
            func parts(_ s: Int64) -> Int64 { SnapshotPartition.index(hi, span: s) - SnapshotPartition.index(lo, span: s) + 1 }
            #expect(s % slide == 0 && s >= SnapshotPartition.spanMin && parts(s) <= SnapshotPartition.partsMax, "lo \(lo) hi \(hi) slide \(slide) span \(s)")
            if s > slide { #expect(s / 2 < SnapshotPartition.spanMin || parts(s / 2) > SnapshotPartition.partsMax, "span \(s) is not the smallest") }
            for w in [lo, hi, lo / 2 + hi / 2] {
                let i = SnapshotPartition.index(w, span: s)
                #expect(SnapshotPartition.windows(index: i, span: s).contains(w), "window \(w) not in part \(i) of span \(s)")
                // Independent check of the floor division.
                #expect(Int128(i) * Int128(s) <= Int128(w) && Int128(w) < (Int128(i) + 1) * Int128(s))
            }
        }
        #expect(SnapshotPartition.generation(ofFileName: "00000000000000000007-0003.snapshot") == 7)
        #expect(SnapshotPartition.generation(ofFileName: "00000000000000000007.snapshot") == 7)
        #expect(SnapshotPartition.generation(ofFileName: "x7.snapshot") == nil && SnapshotPartition.generation(ofFileName: "7.snapshot.tmp") == nil)
    }

    /// A query pins the parts it reads by their readers' paths, and compaction skips a file
    /// whose path is pinned: both strings must be the same for every part, whether the part was
    /// opened at store open, written by a publish, or reused from the previous generation.
    @Test func queryPinsNameTheFilesCompactionChecks() async throws {
        let dir = makeTempDirectory("pins")
        defer { removeTree(dir) }
        var (store, rng, clock) = try await Self.publishedStore(dir, seed: 5, count: 2_000)
        func check(_ what: String) throws {
            let snap = try #require(try store.handle("v").state.withLock { $0.snapshot }, "\(what): a snapshot")
            #expect(snap.parts.count > 1, "\(what): parts")
            for p in snap.parts {
                #expect(p.reader.path == Path.join(store.viewDirectory("v"), p.name), "\(what): \(p.reader.path)")
            }
        }
        try check("published")
        try await store.append(try batchOf(Self.spreadEvents(&rng, count: 200, clock: &clock)), to: "orders")
        _ = try await store.runBatch(view: "v", mode: .incremental)
        try check("incremental, parts reused")
        store.close()
        store = try await Store.open(at: dir, options: Self.options())
        try check("reopened")
        store.close()
    }

    /// Point and range queries over a snapshot of many parts, each of several row groups, with
    /// speed cells past the horizon, equal a plain filter of the reference answer, in three
    /// passes: row groups are read from the file (off the calling task) on their first touch,
    /// served decoded without an index (in place) on their second, and with their index after.
    /// Ranges start and end on part boundaries and one millisecond either side, so the binary
    /// search for a range's parts is checked against a linear filter of the parts as well.
    @Test func keyedQueriesOverManyPartsEqualTheReference() async throws {
        let dir = makeTempDirectory("parts-queries")
        defer { removeTree(dir) }
        let count = 1_500
        let (store, rngAfter, clockAfter) = try await Self.publishedStore(dir, seed: 13, count: count, rowGroupRows: 5)
        defer { store.close() }
        // The same events again, for the reference; then more, served by the speed layer.
        var rng = SplitMix64(seed: 13), clock = Self.t0
        var ref = ReferenceModel(view: .init(statusFilter: "completed", size: 3_600_000, slide: nil, lateness: 0))
        ref.events = Self.spreadEvents(&rng, count: count, clock: &clock)
        var rng2 = rngAfter, clock2 = clockAfter
        let more = Self.spreadEvents(&rng2, count: 150, clock: &clock2)
        try await store.append(try batchOf(more), to: "orders")
        ref.events += more
        let want = expected(ref, horizon: count)
        let cells = want.keys.sorted()
        let snap = try #require(try store.handle("v").state.withLock { $0.snapshot })
        let span = try #require(snap.span)
        #expect(snap.parts.count > 10 && snap.parts.allSatisfy { $0.reader.rowGroups.count > 1 }, "parts \(snap.parts.count)")
        let day = Int64(86_400_000)
        let first = try #require(cells.first?.window), last = try #require(cells.last?.window)
        var probe = SplitMix64(seed: 0x9A27)
        func ranges(around cell: ReferenceModel.Cell) -> [(Int64?, Int64?)] {
            let boundary = SnapshotPartition.index(cell.window, span: span) * span
            let far = Int64(probe.next() % UInt64(8 * day))
            return [(cell.window, cell.window + 3_600_000), (boundary, boundary + span), (boundary - 1, boundary + 1),
                    (boundary + 1, boundary + span - 1), (cell.window - far, cell.window + far), (nil, cell.window + 1),
                    (cell.window, nil), (probe.next() % 2 == 0 ? (first - span, last + span) : (Int64.min, Int64.max)), (cell.window + 1, cell.window)]
        }
        for pass in ["first touch", "decoded", "indexed"] {
            for (i, cell) in cells.enumerated() where i % 23 == 0 {
                for (from, to) in ranges(around: cell) {
                    let got = try await store.query(QueryRequest(view: "v", keys: [(nil, cell.merchant)], from: from, to: to)).rows
                    let lo = from ?? Int64.min, hi = to ?? Int64.max
                    let wanted = cells.filter { $0.merchant == cell.merchant && $0.window >= lo && $0.window < hi }
                    #expect(got.map { $0.windowStart ?? -1 } == wanted.map(\.window) && got.map(\.values) == wanted.map { want[$0] ?? [] },
                            "\(pass): \(cell.merchant) [\(lo), \(hi)): \(got.count) rows, want \(wanted.count)")
                    // The parts a range selects: those a linear filter keeps.
                    if lo < hi {
                        let linear = snap.parts.filter { p in p.windows.map { $0.lowerBound < hi && $0.upperBound >= lo } ?? true }
                        #expect(snap.parts(overlapping: lo..<hi).map(\.name) == linear.map(\.name), "parts of [\(lo), \(hi))")
                    }
                }
            }
        }
    }

    /// An incremental run in a freshly opened process scans the new events while its speed layer
    /// catches up on them on another thread (`whileSpeedCatchesUp`). The snapshot and the drift
    /// report it publishes equal those of the same run in a process whose speed layer was
    /// live, for the same log: two stores built alike, one reopened before the run.
    @Test(arguments: [UInt64(3), 11, 29])
    func anIncrementalRunRightAfterOpenEqualsOneWithALiveSpeedLayer(seed: UInt64) async throws {
        var outcomes: [(bytes: [UInt8], drift: String)] = []
        for reopen in [false, true] {
            let dir = makeTempDirectory("inc-open")
            defer { removeTree(dir) }
            var (store, rng, clock) = try await Self.publishedStore(dir, seed: seed, count: 3_000)
            try await store.append(try batchOf(Self.spreadEvents(&rng, count: 400, clock: &clock)), to: "orders")
            try await store.append(try batchOf(Self.spreadEvents(&rng, count: 300, clock: &clock)), to: "orders")
            if reopen {
                store.close()
                store = try await Store.open(at: dir, options: Self.options())
            }
            let summary = try await store.runBatch(view: "v", mode: .incremental)
            let d = try #require(summary.drift)
            outcomes.append((try store.liveSnapshotBytes(),
                             "\(d.cellsCompared) \(d.cellsDiffering) \(d.relativeError.sorted { $0.key < $1.key }) \(d.lateEvents) \(d.fromHorizon) \(d.toHorizon) \(d.differingWindows) \(summary.eventsScanned) \(summary.windowsRecomputed)"))
            store.close()
        }
        #expect(outcomes[0].bytes == outcomes[1].bytes, "seed \(seed): snapshot files")
        #expect(outcomes[0].drift == outcomes[1].drift, "seed \(seed): drift report")
        #expect(outcomes[0].drift.hasPrefix("0 ") == false, "seed \(seed): the run compared cells")
    }

    /// Incremental runs after events in the newest days (and some up to two days late) write
    /// only the parts those windows fall in and name every other part again; the files equal a
    /// full run's over the same log, byte for byte, and the answers equal the reference model's,
    /// for unconstrained and keyed range queries, before and after a reopen.
    @Test(arguments: [(0, nil), (1, nil), (0, 16), (1, 7)] as [(Int, Int?)])
    func incrementalRunsRewriteOnlyTheTouchedParts(windowIndex: Int, rowGroupRows: Int?) async throws {
        let a = makeTempDirectory(), b = makeTempDirectory()
        defer { removeTree(a); removeTree(b) }
        let (wjson, size, slide) = ServingTests.windows[windowIndex]
        var ref = ReferenceModel(view: .init(statusFilter: "completed", size: size, slide: slide, lateness: 600_000))
        var sa = try await Store.open(at: a, options: Self.options(rowGroupRows: rowGroupRows))
        let sb = try await Store.open(at: b, options: Self.options(rowGroupRows: rowGroupRows))
        defer { sb.close() }
        for s in [sa, sb] {
            try await s.applySchema(testSchema)
            try await s.createView(ViewDefinition.parse(json: viewJSON(window: wjson, lateness: "10m")))
        }
        var rng = SplitMix64(seed: 0x9A27 + UInt64(windowIndex))
        var clock = Self.t0
        let first = Self.spreadEvents(&rng, count: 700, clock: &clock)
        ref.events += first
        for s in [sa, sb] {
            try await s.append(try batchOf(first), to: "orders")
            _ = try await s.runBatch(view: "v")
        }
        var previous = try #require(sa.views().first?.snapshotFiles)
        #expect(previous.count >= 5, "about ten days of windows make several parts: \(previous)")
        for step in 0..<4 {
            let events = Self.spreadEvents(&rng, count: 30, clock: &clock)
            ref.events += events
            for s in [sa, sb] { try await s.append(try batchOf(events), to: "orders") }
            let ra = try await sa.runBatch(view: "v", mode: .incremental)
            let rb = try await sb.runBatch(view: "v")
            let files = try #require(sa.views().first?.snapshotFiles)
            let carried = files.filter { previous.contains($0) }
            #expect(!carried.isEmpty, "step \(step): no part named again: \(previous) -> \(files)")
            #expect(ra.bytesWritten < rb.bytesWritten, "step \(step): incremental wrote \(ra.bytesWritten) bytes, full \(rb.bytesWritten)")
            #expect(ra.rows == rb.rows && ra.horizon == rb.horizon)
            #expect(try sa.liveSnapshotBytes() == sb.liveSnapshotBytes(), "step \(step): the incremental run's files differ from the full run's")
            await #expect(try served(sa) == expected(ref, horizon: ref.events.count), "step \(step)")
            try await expectKeyedQueriesMatchFullQuery(sa, rng: &rng, "step \(step)")
            previous = files
        }
        sa.close()
        sa = try await Store.open(at: a, options: Self.options(rowGroupRows: rowGroupRows))
        defer { sa.close() }
        #expect(sa.unavailableViews.isEmpty)
        await #expect(try served(sa) == expected(ref, horizon: ref.events.count))
        let drill = try await sa.replayDrill(view: "v")
        #expect(drill.comparedWithPublished && drill.matchesPublished)
        #expect(await Store.verify(at: a).problems.isEmpty)
    }

    /// The plan of a rewritten part: with row groups of 8 rows, the previous part's leading
    /// groups before the first recomputed window are copied raw (not decoded), the rest merged;
    /// written out, the part equals the full encoding of the same cells byte for byte.
    @Test func leadingRowGroupsOfARewrittenPartAreCopiedRaw() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let (store, _, _) = try await Self.publishedStore(dir, seed: 0xC0, count: 300, rowGroupRows: 8)
        defer { store.close() }
        let h = try store.handle("v")
        let rt = h.current
        let snap = try #require(rt.snapshot)
        let part = try #require(snap.parts.first { $0.reader.rowGroups.count >= 4 }, "a part with several row groups")
        let index = try #require(part.index)
        let windows = try #require(part.windows)
        // Recompute the part's last window: every earlier full group is copied.
        let all = try SnapshotLayout(layout: rt.compiled.layout).read(part.reader, windowStartRange: nil, keys: [])
        let lastWindow = try #require(all.last?.0.windowStart)
        var table = ViewTable(layout: rt.compiled.layout)
        for (cell, states) in all where cell.windowStart == lastWindow { table.merge(states: states, into: cell) }
        let selection = WindowSelection(explicit: [lastWindow], range: nil)
        let (_, planned) = try store.snapshotParts(table, span: snap.span, compiled: rt.compiled, carry: [index: part.reader], recomputed: selection)
        let plan = try #require(planned.first { $0.index == index })
        let copied = try #require(plan.copied?.groups)
        #expect(copied >= 1 && copied < part.reader.rowGroups.count && windows.contains(lastWindow))
        // Written out, equal to the previous part (the recomputed window has the same cells).
        let w = try SnapshotWriter(columns: part.reader.columns, options: store.snapshotOptions(threads: 1), metadata: part.reader.metadata)
        for g in 0..<copied { try w.append(rowGroup: g, copiedFrom: part.reader) }
        try w.append(columns: plan.columns)
        let bytes = try w.finishToBytes()
        #expect(bytes == (try PosixFileSystem().readFile(dir + "/views/v/" + part.name, limit: 1 << 30)))
    }

    /// A store published before snapshots were split: its windowed view's snapshot is one file
    /// naming the horizon (what earlier builds wrote). It loads and answers as the split one
    /// does; the next incremental run rewrites it as a head and parts, byte-identical to a full
    /// run, and a later incremental run names parts again.
    @Test func aSnapshotWrittenBeforeTheSplitLoadsAndIsSplitByTheNextRun() async throws {
        let a = makeTempDirectory(), b = makeTempDirectory()
        defer { removeTree(a); removeTree(b) }
        var (sa, rng, clock) = try await Self.publishedStore(a, seed: 0x01D, count: 700)
        let (sb, _, _) = try await Self.publishedStore(b, seed: 0x01D, count: 700)
        defer { sb.close() }
        let answer = try await served(sa)
        // Rewrite view v of store a in the old form: one unpartitioned file, horizon in it.
        let rt = try sa.handle("v").current
        let (table, _) = try await sa.recompute(view: "v")
        let vdir = a + "/views/v"
        let legacy = Store.snapshotFileName(generation: rt.manifest.generation + 1)
        let (info, _) = try sa.writeSnapshot(table, path: vdir + "/" + legacy, view: "v", definition: rt.definition, compiled: rt.compiled, horizon: rt.manifest.horizon)
        var m = rt.manifest
        m.generation += 1
        m.files = [ManifestFile(info)]
        m.extra[Manifest.retiredKey] = nil
        try m.publish(fs: PosixFileSystem(), directory: vdir)
        sa.close()
        sa = try await Store.open(at: a, options: Self.options())
        defer { sa.close() }
        #expect(sa.unavailableViews.isEmpty && sa.views().first?.snapshotFiles == [legacy])
        #expect(try await served(sa) == answer, "the unpartitioned snapshot answers as the split one")
        for step in 0..<2 {
            let events = Self.spreadEvents(&rng, count: 30, clock: &clock)
            for s in [sa, sb] { try await s.append(try batchOf(events), to: "orders") }
            let before = try #require(sa.views().first?.snapshotFiles)
            _ = try await sa.runBatch(view: "v", mode: .incremental)
            _ = try await sb.runBatch(view: "v")
            let after = try #require(sa.views().first?.snapshotFiles)
            #expect(try sa.liveSnapshotBytes() == sb.liveSnapshotBytes(), "step \(step)")
            if step == 0 { #expect(after.count > 2 && !after.contains(legacy), "split into a head and parts: \(after)") }
            if step == 1 { #expect(after.contains { before.contains($0) }, "parts named again: \(before) -> \(after)") }
        }
        #expect(await Store.verify(at: a).isClean)
    }

    /// With `keepGenerations: 2`, compaction keeps every file the live generation and the one
    /// before it name, including parts written generations earlier and since replaced, and
    /// removes every other; with 1, exactly the live files stay.
    @Test func gcKeepsWholeGenerationsThatShareParts() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        var (store, rng, clock) = try await Self.publishedStore(dir, seed: 0x6C, count: 700)
        defer { store.close() }
        try await store.setViewPolicy(ViewPolicy(keepGenerations: 2), for: "v")
        var lists: [[String]] = [try #require(store.views().first?.snapshotFiles)]
        for step in 0..<4 {
            var events = Self.spreadEvents(&rng, count: 30, clock: &clock)
            // Last step: late events five days back, in a part the first run wrote.
            if step == 3 { events += (0..<3).map { .init(ts: clock - 5 * 86_400_000 + Int64($0), merchant: "m1", status: "completed", amount: 5) } }
            try await store.append(try batchOf(events), to: "orders")
            _ = try await store.runBatch(view: "v", mode: .incremental)
            lists.append(try #require(store.views().first?.snapshotFiles))
            _ = try await store.compact()
            let onDisk = Set(try PosixFileSystem().list(dir + "/views/v").filter { $0.hasSuffix(".snapshot") })
            let wanted = Set(lists.suffix(2).flatMap { $0 })
            #expect(onDisk == wanted, "kept \(onDisk.sorted()), the last two generations name \(wanted.sorted())")
        }
        // The case the retired list exists for happened: a part written generations before the
        // previous one, named by it, and replaced by the live one (kept above only through it).
        #expect(zip(lists, lists.dropFirst()).contains { previous, live in
            previous.contains { f in !live.contains(f) && f.prefix(20) < previous[0].prefix(20) }
        }, "\(lists)")
        try await store.setViewPolicy(ViewPolicy(keepGenerations: 1), for: "v")
        _ = try await store.compact()
        #expect(Set(try PosixFileSystem().list(dir + "/views/v").filter { $0.hasSuffix(".snapshot") }) == Set(lists.last ?? []))
        await #expect(try !store.query(QueryRequest(view: "v")).rows.isEmpty)
    }

    /// Crafted MANIFESTs and parts with valid checksums: parts out of order, a part whose rows
    /// lie outside the window range its index names, a manifest without its head, a head that
    /// holds rows. Each makes the view unavailable at open with a reason naming the file, and
    /// `verify` reports it; nothing is served wrong.
    @Test func craftedPartsAndManifestsAreRefused() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        try await Self.publishedStore(dir, seed: 0xBAD, count: 700).0.close()
        let fs = PosixFileSystem()
        let vdir = dir + "/views/v"
        let original = try #require(try Manifest.load(fs: fs, directory: vdir))
        #expect(original.files.count >= 4 && original.files[0].rows == 0, "a head, then parts")

        func expectRefused(_ m: Manifest, _ what: String, _ message: String) async throws {
            try m.publish(fs: fs, directory: vdir)
            let store = try await Store.open(at: dir, options: Self.options())
            defer { store.close() }
            #expect(store.unavailableViews.map(\.view) == ["v"], "\(what)")
            let reason = store.unavailableViews.first?.reason
            #expect(reason?.message.contains(message) == true && reason?.path?.hasSuffix(".snapshot") == true, "\(what): \(String(describing: reason))")
            await #expect(throws: LambdaStoreError.self, "\(what)") { try await store.query(QueryRequest(view: "v")) }
            #expect(await !Store.verify(at: dir).problems.isEmpty, "\(what): verify must report it")
        }

        var swapped = original
        swapped.files.swapAt(1, 2)
        try await expectRefused(swapped, "parts out of order", "does not follow")

        var headless = original
        headless.files.removeFirst()
        try await expectRefused(headless, "no head", "disagrees with the MANIFEST")

        // Part 1 rewritten to claim part 2's index (valid checksums, manifest updated).
        let p1 = original.files[1], p2 = original.files[2]
        let r1 = try SnapshotReader.open(fs: fs, path: vdir + "/" + p1.name)
        let r2 = try SnapshotReader.open(fs: fs, path: vdir + "/" + p2.name)
        var meta = r1.metadata
        meta[SnapshotPartition.indexKey] = r2.metadata[SnapshotPartition.indexKey]
        let w = try SnapshotWriter(fs: fs, path: vdir + "/" + p1.name, columns: r1.columns, metadata: meta)
        try w.append(columns: try r1.readColumns(r1.columns.map(\.name)))
        let info = try w.finish()
        var moved = original
        moved.files[1] = ManifestFile(name: p1.name, bytes: info.bytes, rows: info.rows, crc32c: info.crc32c)
        moved.files.remove(at: 2)
        try await expectRefused(moved, "rows outside the part's windows", "outside the part's")
    }
}

@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport
import Testing

/// Issue 11's cases that reach the library: arguments and files that used to trap or to give
/// a wrong answer without an error.
@Suite struct HostileInputTests {
    static let t0: Int64 = 1_704_067_200_000

    /// Two timestamps: the stream's event time `ts` and an independent `ship`.
    static let twoTimes = Schema(stream: "orders", eventTime: "ts", fields: [
        Field(name: "ts", type: .timestamp),
        Field(name: "ship", type: .timestamp, nullable: true),
        Field(name: "merchant", type: .string),
        Field(name: "amount", type: .int64),
    ])

    static func twoTimesBatch(_ rng: inout SplitMix64, count: Int, clock: inout Int64) throws -> ColumnBatch {
        var b = ColumnBatch(schema: twoTimes)
        for _ in 0..<count {
            clock += Int64(rng.next() % 60_000)
            try b.columns[0].append(.timestamp(clock))
            // Shipping time a month after the event time (so the time index, which knows only
            // the event time, has no batch near it), give or take 3 h; sometimes null.
            let ship: Value = rng.next() % 10 == 0 ? .null : .timestamp(clock + 30 * 86_400_000 + Int64(rng.next() % 21_600_000) - 10_800_000)
            try b.columns[1].append(ship)
            b.columns[2].append(string: "m\(rng.next() % 4)")
            b.columns[3].append(int: Int64(rng.next() % 100))
        }
        return b
    }

    /// The orders stream, view `v` (hourly, no lateness) and `events` appended.
    static func setUpHourly(_ store: Store, _ events: [ReferenceModel.Event]) async throws {
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "0m")))
        try await store.append(try batchOf(events), to: "orders")
    }

    static func snapshotBytes(_ store: Store, view: String) throws -> [UInt8] {
        try #require(store.views().first { $0.definition.name == view }?.snapshotFile != nil)
        return try store.liveSnapshotBytes(view)
    }

    /// A window on a timestamp field other than the event time: incremental and targeted runs
    /// stay byte-identical to full runs (the time index only knows the event time).
    @Test(arguments: ["{\"type\":\"tumbling\",\"field\":\"ship\",\"size\":\"1h\"}",
                      "{\"type\":\"hopping\",\"field\":\"ship\",\"size\":\"2h\",\"slide\":\"30m\"}"])
    func windowsOnAnotherTimestampStayByteIdentical(window: String) async throws {
        let a = makeTempDirectory(), b = makeTempDirectory()
        defer { removeTree(a); removeTree(b) }
        let sa = try await Store.open(at: a), sb = try await Store.open(at: b)
        defer { sa.close(); sb.close() }
        let json = Array("""
        {"name":"v","stream":"orders","groupBy":["merchant"],"window":\(window),"allowedLateness":"10m",
         "aggregates":[{"name":"n","fn":"count"},{"name":"total","fn":"sum","field":"amount"}]}
        """.utf8)
        for s in [sa, sb] {
            try await s.applySchema(Self.twoTimes)
            try await s.createView(ViewDefinition.parse(json: json))
        }
        var rng = SplitMix64(seed: 5)
        var clock = Self.t0
        for step in 0..<6 {
            let batch = try Self.twoTimesBatch(&rng, count: 300, clock: &clock)
            try await sa.append(batch, to: "orders", durability: .none)
            try await sb.append(batch, to: "orders", durability: .none)
            let mode: BatchMode = step % 2 == 0 ? .incremental : .targeted(from: clock - 7_200_000, to: clock)
            _ = try await sa.runBatch(view: "v", mode: mode)
            _ = try await sb.runBatch(view: "v", mode: .full)
            #expect(try Self.snapshotBytes(sa, view: "v") == Self.snapshotBytes(sb, view: "v"), "step \(step), \(mode)")
        }
    }

    /// Targeted ranges reaching the ends of Int64 select windows, they do not wrap around.
    @Test func targetedRangesAtTheEndsOfTimeDoNotWrap() async throws {
        let a = makeTempDirectory(), b = makeTempDirectory()
        defer { removeTree(a); removeTree(b) }
        let sa = try await Store.open(at: a), sb = try await Store.open(at: b)
        defer { sa.close(); sb.close() }
        for s in [sa, sb] {
            try await s.applySchema(testSchema)
            try await s.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[1].0, lateness: "0m")))
        }
        var rng = SplitMix64(seed: 8)
        var clock = Self.t0
        let events = randomEvents(&rng, count: 500, clock: &clock)
        for s in [sa, sb] { try await s.append(try batchOf(events), to: "orders", durability: .none) }
        _ = try await sa.runBatch(view: "v", mode: .full)
        _ = try await sb.runBatch(view: "v", mode: .full)
        let more = randomEvents(&rng, count: 10, clock: &clock)
        for s in [sa, sb] { try await s.append(try batchOf(more), to: "orders", durability: .none) }
        _ = try await sa.runBatch(view: "v", mode: .targeted(from: 0, to: Int64.max - 1))
        _ = try await sb.runBatch(view: "v", mode: .full)
        #expect(try Self.snapshotBytes(sa, view: "v") == Self.snapshotBytes(sb, view: "v"))
        await #expect(try !sa.query(QueryRequest(view: "v")).rows.isEmpty)
        _ = try await sa.runBatch(view: "v", mode: .targeted(from: Int64.min, to: Int64.max))
        #expect(try Self.snapshotBytes(sa, view: "v") == Self.snapshotBytes(sb, view: "v"))
    }

    /// `from >= to` selects nothing; it never traps.
    @Test func anEmptyOrInvertedRangeSelectsNothing() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir)
        defer { store.close() }
        try await Self.setUpHourly(store, [.init(ts: Self.t0, merchant: "a", status: "completed", amount: 1)])
        for (from, to): (Int64?, Int64?) in [(2, 1), (Self.t0, Self.t0), (Int64.max, Int64.min), (Int64.max, nil), (nil, Int64.min)] {
            #expect(try await store.query(QueryRequest(view: "v", from: from, to: to)).rows.isEmpty, "from \(String(describing: from)) to \(String(describing: to))")
        }
        #expect(try await store.query(QueryRequest(view: "v", from: Self.t0, to: Self.t0 + 1)).rows.count == 1)
    }

    /// A MANIFEST whose horizon disagrees with its snapshot (each with a valid checksum) would
    /// count the events between the two horizons twice: the view is unavailable instead.
    @Test func aManifestThatDisagreesWithItsSnapshotMakesTheViewUnavailable() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        do {
            let store = try await Store.open(at: dir)
            try await Self.setUpHourly(store, (0..<20).map { .init(ts: Self.t0 + Int64($0), merchant: "a", status: "completed", amount: 1) })
            _ = try await store.runBatch(view: "v")
            store.close()
        }
        let fs = PosixFileSystem()
        var m = try #require(try Manifest.load(fs: fs, directory: dir + "/views/v"))
        m.horizon = 10
        try m.publish(fs: fs, directory: dir + "/views/v")
        let store = try await Store.open(at: dir)
        defer { store.close() }
        #expect(store.unavailableViews.map(\.view) == ["v"])
        #expect(store.unavailableViews.first?.reason.message.contains("disagrees with the MANIFEST") == true)
        await #expect(throws: LambdaStoreError.self) { try await store.query(QueryRequest(view: "v")) }
    }

    /// A full disk part-way through an ingest: the summary still says what was stored (count,
    /// last offset, last input line) so a retry can resume, and nothing after it was stored.
    @Test func aFailureMidIngestStillReportsWhatWasStored() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let fs = HookedFileSystem(PosixFileSystem())
        var options = StoreOptions()
        options.fileSystem = fs
        let store = try await Store.open(at: dir, options: options)
        defer { store.close() }
        try await store.applySchema(testSchema)
        let writes = Locked(0)
        fs.setHook { op throws(LambdaStoreError) in
            // The first segment write is its file header; then one write per batch.
            guard case .write(let p, _) = op, p.hasSuffix(".segment") else { return }
            let n = writes.withLock { w in w += 1; return w }
            if n > 4 { throw LambdaStoreError(.io, "No space left on device", path: p) }
        }
        let lines = (0..<100).map { i in #"{"ts":\#(Self.t0 + Int64(i)),"merchant":"m","status":"completed","amount":1}"# }
        var input = Array((lines.joined(separator: "\n") + "\n").utf8)
        let summary = try await store.ingest(stream: "orders", format: .jsonl, durability: .sync, batchRows: 10, read: { buf in
            let n = min(buf.count, input.count, 7)   // small reads: several flushes
            input.withUnsafeBytes { buf.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            input.removeFirst(n)
            return n
        }, onReject: { _ in })
        let failure = try #require(summary.failure)
        #expect(failure.message.contains("No space left"))
        #expect(summary.appended == 30 && summary.firstOffset == 0 && summary.lastOffset == 29 && summary.lastLine == 30, "\(summary)")
        #expect(try store.streamLog("orders").endOffset == 30)
        #expect(summary.json.serialized().contains("\"lastLine\":30"))
    }

    /// A snapshot whose footer declares a state column with another type, under valid checksums
    /// and a MANIFEST that names it: queries fail with corruption naming the file, never trap.
    @Test func aSnapshotWithMistypedColumnsIsCorruptionNotATrap() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        do {
            let store = try await Store.open(at: dir)
            try await Self.setUpHourly(store, (0..<50).map { .init(ts: Self.t0 + Int64($0) * 1000, merchant: "m\($0 % 3)", status: "completed", amount: Int64($0)) })
            _ = try await store.runBatch(view: "v")
            store.close()
        }
        let fs = PosixFileSystem()
        let vdir = dir + "/views/v"
        var m = try #require(try Manifest.load(fs: fs, directory: vdir))
        // The first file with rows (a windowed view's first part, after the head).
        let position = try #require(m.files.firstIndex { $0.rows > 0 })
        let file = m.files[position]
        let reader = try SnapshotReader.open(fs: fs, path: vdir + "/" + file.name)
        var columns = reader.columns
        var data = try reader.readColumns(columns.map(\.name))
        let i = try #require(columns.firstIndex { $0.name == "state.n" })
        columns[i].type = .float64
        var d = Column(type: .float64)
        for r in 0..<data[i].count { d.append(double: Double(r)) }
        data[i] = d
        let writer = try SnapshotWriter(fs: fs, path: vdir + "/" + file.name, columns: columns, metadata: reader.metadata)
        try writer.append(columns: data)
        let info = try writer.finish()
        m.files[position] = ManifestFile(name: file.name, bytes: info.bytes, rows: info.rows, crc32c: info.crc32c)
        try m.publish(fs: fs, directory: vdir)
        let store = try await Store.open(at: dir)
        defer { store.close() }
        for request in [QueryRequest(view: "v"), QueryRequest(view: "v", keys: [(nil, "m1")], from: Self.t0, to: Self.t0 + 1)] {
            do {
                _ = try await store.query(request)
                Issue.record("a mistyped snapshot column must not serve")
            } catch {
                #expect(error.code == .corruption && error.message.contains("state.n:float64"), "\(error)")
            }
        }
    }

    /// A view whose cells would exceed the configured limit fails its run with an error naming
    /// the view and the limit; the published state and the store stay usable.
    @Test func aRunOverTheCellLimitFailsNamingTheViewAndTheLimit() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        var options = StoreOptions()
        options.viewCellsMax = 100
        let store = try await Store.open(at: dir, options: options)
        defer { store.close() }
        try await Self.setUpHourly(store, (0..<50).map { .init(ts: Self.t0 + Int64($0) * 3_600_000, merchant: "m", status: "completed", amount: 1) })
        _ = try await store.runBatch(view: "v")
        try await store.append(try batchOf((50..<200).map { .init(ts: Self.t0 + Int64($0) * 3_600_000, merchant: "m", status: "completed", amount: 1) }), to: "orders")
        do {
            _ = try await store.runBatch(view: "v")
            Issue.record("the run must stop at the cell limit")
        } catch {
            #expect(error.code == .limitExceeded && error.message.contains("'v'") && error.message.contains("100"), "\(error)")
        }
        #expect(store.views().first?.horizon == 50)
        #expect(try await store.query(QueryRequest(view: "v")).rows.count == 200, "the speed layer still serves everything")
    }

    /// `view create` refuses a view `batch` could never publish (its snapshot would need more
    /// than `fieldsMax` columns); the largest one it accepts publishes.
    @Test func aViewThatCannotBePublishedIsRefusedAtCreate() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir)
        defer { store.close() }
        try await store.applySchema(testSchema)
        func view(_ name: String, sums: Int, counts: Int) -> [UInt8] {
            let aggs = (0..<sums).map { "{\"name\":\"s\($0)\",\"fn\":\"sum\",\"field\":\"amount\"}" }
                + (0..<counts).map { "{\"name\":\"c\($0)\",\"fn\":\"count\"}" }
            return Array("""
            {"name":"\(name)","stream":"orders","groupBy":["merchant"],"window":{"type":"tumbling","field":"ts","size":"1h"},
             "aggregates":[\(aggs.joined(separator: ","))]}
            """.utf8)
        }
        // 1,023 sums over int64 take 3,069 state columns.
        await #expect(throws: LambdaStoreError.self) { try await store.createView(ViewDefinition.parse(json: view("big", sums: 1023, counts: 0))) }
        do {
            _ = try await store.createView(ViewDefinition.parse(json: view("big", sums: 1023, counts: 0)))
        } catch {
            #expect(error.code == .view && error.message.contains("columns"), "\(error)")
        }
        // 1 window + 1 key + 300 × 3 + 122 = 1,024 columns: the most a snapshot holds.
        try await store.createView(ViewDefinition.parse(json: view("edge", sums: 300, counts: 122)))
        try await store.append(try batchOf([.init(ts: Self.t0, merchant: "a", status: "completed", amount: 5)]), to: "orders")
        let summary = try await store.runBatch(view: "edge")
        #expect(summary.rows == 1)
        await #expect(throws: LambdaStoreError.self) { try await store.createView(ViewDefinition.parse(json: view("over", sums: 300, counts: 123))) }
    }

    /// A MANIFEST whose generation cannot advance (2^64 − 1, valid checksum) makes the next run
    /// fail with corruption naming it, not trap on the overflow.
    @Test func aManifestGenerationAtTheMaximumIsAnErrorNotATrap() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        do {
            let store = try await Store.open(at: dir)
            try await Self.setUpHourly(store, [.init(ts: Self.t0, merchant: "a", status: "completed", amount: 1)])
            store.close()
        }
        let fs = PosixFileSystem()
        var m = try #require(try Manifest.load(fs: fs, directory: dir + "/views/v"))
        m.generation = UInt64.max
        try m.publish(fs: fs, directory: dir + "/views/v")
        let store = try await Store.open(at: dir)
        defer { store.close() }
        do {
            _ = try await store.runBatch(view: "v")
            Issue.record("a run past the last generation must fail")
        } catch {
            #expect(error.code == .corruption && error.message.contains("cannot be advanced"), "\(error)")
        }
        #expect(try await store.query(QueryRequest(view: "v")).rows.count == 1, "the view still serves")
    }

    /// A DRIFT file (valid container and checksum, written here from format-spec.md §6.1 alone)
    /// whose newest report flags the window starting at Int64.max: reconcile handles it — no
    /// overflow trap — and publishes.
    @Test func reconcileOfAWindowAtInt64MaxDoesNotTrap() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir)
        defer { store.close() }
        try await Self.setUpHourly(store, [.init(ts: Self.t0, merchant: "a", status: "completed", amount: 1)])
        _ = try await store.runBatch(view: "v")
        let path = dir + "/views/v/DRIFT"
        let fs = PosixFileSystem()
        let old = try fs.readFile(path, limit: 1 << 24)
        var json = String(decoding: old[24..<(old.count - 4)], as: UTF8.self)
        #expect(json.contains(#""differingWindows":[]"#), "\(json)")
        json = json.replacing(#""differingWindows":[]"#, with: #""differingWindows":[9223372036854775807]"#)
            .replacing(#""differingWindowsTotal":0"#, with: #""differingWindowsTotal":1"#)
        var bytes = Array("LSMETA01".utf8) + Array("DRIFT".utf8) + [0, 0, 0]
        withUnsafeBytes(of: UInt32(1).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(json.utf8.count).littleEndian) { bytes += $0 }
        bytes += Array(json.utf8)
        withUnsafeBytes(of: CRC32C.checksum(bytes).littleEndian) { bytes += $0 }
        try fs.writeFileAtomically(path, bytes)
        #expect(try await store.driftReports(view: "v").first?.differingWindows == [Int64.max])
        let incident = try await store.reconcile(view: "v")
        #expect(incident.windows == [Int64.max])
        #expect(try await store.query(QueryRequest(view: "v")).rows.count == 1)
    }
}

/// A file layer on which one directory cannot be read (as `chmod 000` does for anyone but
/// root, which these tests may run as): listing it fails with EACCES, and nothing below it can
/// be looked up.
final class UnreadableDirectoryFileSystem: FileSystem, Sendable {
    let base: any FileSystem
    let denied: String
    init(_ base: any FileSystem, denied: String) {
        self.base = base
        self.denied = denied
    }
    func below(_ path: String) -> Bool { path.hasPrefix(denied + "/") }
    func refuse(_ path: String) -> LambdaStoreError { LambdaStoreError(.io, "permission denied", path: path, errno: 13) }
    func open(_ path: String, mode: OpenMode) throws(LambdaStoreError) -> any FileHandle {
        if below(path) { throw refuse(path) }
        return try base.open(path, mode: mode)
    }
    func exists(_ path: String) -> Bool { below(path) ? false : base.exists(path) }
    func isDirectory(_ path: String) -> Bool { below(path) ? false : base.isDirectory(path) }
    func list(_ directory: String) throws(LambdaStoreError) -> [String] {
        if directory == denied || below(directory) { throw refuse(directory) }
        return try base.list(directory)
    }
    func createDirectory(_ path: String) throws(LambdaStoreError) { if below(path) { throw refuse(path) }; try base.createDirectory(path) }
    func remove(_ path: String) throws(LambdaStoreError) { if below(path) { throw refuse(path) }; try base.remove(path) }
    func rename(_ from: String, to: String) throws(LambdaStoreError) { if below(from) || below(to) { throw refuse(from) }; try base.rename(from, to: to) }
    func syncDirectory(_ path: String) throws(LambdaStoreError) { if path == denied || below(path) { throw refuse(path) }; try base.syncDirectory(path) }
    func lock(_ path: String) throws(LambdaStoreError) -> any FileLock { if below(path) { throw refuse(path) }; return try base.lock(path) }
}

@Suite struct UnreadableStoreTests {
    /// Issue 11: an unreadable store directory gave `verify: ok, 0 files` and exit 0. Root
    /// ignores `chmod 000`, so the denial is simulated by the file layer: verify must report the
    /// directory, never call it a clean empty store; opening fails naming it.
    @Test func anUnreadableStoreDirectoryIsAProblemNotACleanEmptyStore() async throws {
        let fs = SimulatedFileSystem()
        var o = StoreOptions()
        o.fileSystem = fs
        let store = try await Store.open(at: "/store", options: o)
        try await store.applySchema(testSchema)
        store.close()
        #expect(await Store.verify(at: "/store", fileSystem: fs).isClean)

        let denied = UnreadableDirectoryFileSystem(fs, denied: "/store")
        let report = await Store.verify(at: "/store", fileSystem: denied)
        #expect(!report.isClean)
        #expect(report.problems.contains { $0.file == "/store" && $0.message.contains("cannot read the store directory") }, "\(report.problems)")
        var ro = StoreOptions()
        ro.fileSystem = denied
        ro.readOnly = true
        await #expect(throws: LambdaStoreError.self) { _ = try await Store.open(at: "/store", options: ro) }
    }
}

@Suite struct VersionSwapStatusTests {
    /// `status` after a view version swap shows the new version's drift (none yet), never the
    /// old version's report as if it were the new one's.
    @Test func statusShowsOnlyTheLiveVersionsDrift() async throws {
        let fs = SimulatedFileSystem()
        var o = StoreOptions()
        o.fileSystem = fs
        o.clock = { 1_767_225_600_000 }
        let store = try await Store.open(at: "/store", options: o)
        defer { store.close() }
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "10m")))
        var rng = SplitMix64(seed: 3)
        var clock: Int64 = 1_704_067_200_000
        try await store.append(try batchOf(randomEvents(&rng, count: 300, clock: &clock)), to: "orders", durability: .none)
        _ = try await store.runBatch(view: "v")
        try await store.append(try batchOf(randomEvents(&rng, count: 300, clock: &clock)), to: "orders", durability: .none)
        _ = try await store.runBatch(view: "v")
        let old = try #require(try await store.status().views.first)
        #expect(old.lastDrift?.fingerprint == old.info.fingerprint)
        // A changed definition: a new version is built from history and swapped in.
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[1].0, lateness: "10m")))
        let new = try #require(try await store.status().views.first)
        #expect(new.info.fingerprint != old.info.fingerprint)
        #expect(new.lastDrift == nil || new.lastDrift?.fingerprint == new.info.fingerprint, "status shows drift of fingerprint \(new.lastDrift?.fingerprint ?? "-")")
        try await store.append(try batchOf(randomEvents(&rng, count: 300, clock: &clock)), to: "orders", durability: .none)
        _ = try await store.runBatch(view: "v")
        #expect(try await store.status().views.first?.lastDrift?.fingerprint == new.info.fingerprint)
    }
}

@Suite struct StoreLifetimeTests {
    /// Closing twice (also from many tasks at once), using after close, and releasing without
    /// close behave as `Store.close()` documents: idempotent, `.precondition` after, and the
    /// writer lock released so the next open succeeds.
    @Test func closeIsIdempotentUseAfterCloseFailsAndReleaseWithoutCloseFreesTheLock() async throws {
        let dir = makeTempDirectory("life")
        defer { removeTree(dir) }
        var rng = SplitMix64(seed: 4)
        var clock: Int64 = 1_704_067_200_000
        do {
            let store = try await Store.open(at: dir)
            try await store.applySchema(testSchema)
            try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "10m")))
            try await store.append(try batchOf(randomEvents(&rng, count: 50, clock: &clock)), to: "orders", durability: .sync)
            await withTaskGroup(of: Void.self) { g in
                for _ in 0..<16 { g.addTask { store.close() } }
            }
            store.close()
            let one = try batchOf(randomEvents(&rng, count: 1, clock: &clock))
            for (what, call) in [("append", { () async throws(LambdaStoreError) in _ = try await store.append(one, to: "orders") }),
                                 ("query", { () async throws(LambdaStoreError) in _ = try await store.query(QueryRequest(view: "v")) }),
                                 ("batch", { () async throws(LambdaStoreError) in _ = try await store.runBatch(view: "v") }),
                                 ("status", { () async throws(LambdaStoreError) in _ = try await store.status() }),
                                 ("compact", { () async throws(LambdaStoreError) in _ = try await store.compact() })] as [(String, () async throws(LambdaStoreError) -> Void)] {
                do {
                    try await call()
                    Issue.record("\(what) after close succeeded")
                } catch {
                    #expect(error.code == .precondition, "\(what): \(error)")
                }
            }
        }
        // Released without close: the writer lock goes with it.
        do {
            let store = try await Store.open(at: dir)
            #expect(try await store.query(QueryRequest(view: "v")).rows.count > 0)
        }
        let again = try await Store.open(at: dir)
        defer { again.close() }
        #expect(try again.streamLog("orders").endOffset == 50)
    }
}

@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport
import Testing

/// One test per concurrency defect of issue 10, each pinned to an exact interleaving: a hooked
/// file system pauses one operation at a named file operation while the test acts.
@Suite(.serialized) struct ConcurrencyRegressionTests {
    static let t0: Int64 = 1_704_067_200_000
    static let tumbling = ServingTests.windows[0].0

    /// `count` completed orders of merchant `m`, one a minute from `start` (never late).
    static func orders(_ count: Int, from start: Int, merchant m: String = "a") -> [ReferenceModel.Event] {
        (0..<count).map { i in .init(ts: t0 + Int64(start + i) * 60_000, merchant: m, status: "completed", amount: 1) }
    }

    /// The total `count` aggregate served by view `v` over every row.
    static func servedCount(_ store: Store, view: String = "v") async throws -> Int64 {
        try await store.query(QueryRequest(view: view)).rows.reduce(Int64(0)) { acc, row in
            if case .int64(let n) = row.values[0] { return acc + n }
            return acc
        }
    }

    static func openHooked(_ dir: String) async throws -> (Store, HookedFileSystem) {
        let fs = HookedFileSystem(PosixFileSystem())
        var options = StoreOptions()
        options.fileSystem = fs
        return (try await Store.open(at: dir, options: options), fs)
    }

    static func setUp(_ store: Store, views: [String] = ["v"]) async throws {
        try await store.applySchema(testSchema)
        for v in views { try await store.createView(ViewDefinition.parse(json: viewJSON(name: v, window: tumbling, lateness: "1d"))) }
    }

    /// A publish must never drop events a query made the speed layer apply past the batch's
    /// horizon (on 233a012 the query built the speed layer up to the log end while the batch
    /// took an older end as H1, and the swap dropped that whole generation).
    @Test func aPublishNeverDropsEventsServedPastItsHorizon() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let (store, fs) = try await Self.openHooked(dir)
        defer { store.close() }
        try await Self.setUp(store)
        try await store.append(try batchOf(Self.orders(100, from: 0)), to: "orders", durability: .none)
        // No query yet: the speed layer is not built when the batch starts.
        let gate = fs.pauseFirst { op in
            if case .open(let p, _) = op { return p.hasSuffix(".snapshot.tmp") }
            return false
        }
        let run = Task.detached { try await store.runBatch(view: "v") }
        #expect(await gate.waitUntilReached())
        try await store.append(try batchOf(Self.orders(50, from: 100)), to: "orders", durability: .none)
        await #expect(try Self.servedCount(store) == 150, "while the batch runs")
        gate.open()
        let summary = try await run.value
        #expect(summary.horizon <= 150)
        await #expect(try Self.servedCount(store) == 150, "after the publish: no acknowledged event may vanish")
    }

    /// Two runs on one view take turns: both publish, one generation each.
    @Test func runsOnOneViewAreSerialized() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let (store, fs) = try await Self.openHooked(dir)
        defer { store.close() }
        try await Self.setUp(store)
        try await store.append(try batchOf(Self.orders(100, from: 0)), to: "orders", durability: .none)
        let g0 = try #require(store.views().first?.generation)
        let gate = fs.pauseFirst { op in
            if case .open(let p, _) = op { return p.hasSuffix(".snapshot.tmp") }
            return false
        }
        let first = Task.detached { try await store.runBatch(view: "v") }
        #expect(await gate.waitUntilReached())
        try await store.append(try batchOf(Self.orders(10, from: 100)), to: "orders", durability: .none)
        let second = Task.detached { try await store.runBatch(view: "v", mode: .incremental) }
        try await Task.sleep(for: .milliseconds(300))   // room for an unserialized run to overtake
        gate.open()
        _ = try await first.value
        let s2 = try await second.value
        #expect(s2.horizon == 110)
        #expect(store.views().first?.generation == g0 + 2, "each run publishes its own generation")
        #expect(try await store.driftReports(view: "v").count == 2)
        await #expect(try Self.servedCount(store) == 110)
        store.close()
        let reopened = try await Store.open(at: dir)
        defer { reopened.close() }
        await #expect(try Self.servedCount(reopened) == 110)
    }

    /// Compaction waits for a run on the view: it never removes its temp file or the snapshot it
    /// just published.
    @Test func compactionNeverRemovesARunsFiles() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let (store, fs) = try await Self.openHooked(dir)
        defer { store.close() }
        try await Self.setUp(store)
        try await store.append(try batchOf(Self.orders(100, from: 0)), to: "orders", durability: .none)
        _ = try await store.runBatch(view: "v")
        try await store.append(try batchOf(Self.orders(20, from: 100)), to: "orders", durability: .none)
        let gate = fs.pauseFirst { op in
            if case .write(let p, _) = op { return p.hasSuffix(".snapshot.tmp") }
            return false
        }
        let run = Task.detached { try await store.runBatch(view: "v") }
        #expect(await gate.waitUntilReached())
        let compaction = Task.detached { try await store.compact() }
        try await Task.sleep(for: .milliseconds(300))
        gate.open()
        _ = try await run.value
        _ = try await compaction.value
        let files = try #require(store.views().first?.snapshotFiles)
        #expect(!files.isEmpty && files.allSatisfy { PosixFileSystem().exists(dir + "/views/v/" + $0) }, "the published snapshot must exist")
        await #expect(try Self.servedCount(store) == 120)
        store.close()
        let reopened = try await Store.open(at: dir)
        defer { reopened.close() }
        #expect(reopened.unavailableViews.isEmpty)
        await #expect(try Self.servedCount(reopened) == 120)
    }

    /// Under `sync`, an append whose fdatasync fails is never visible.
    @Test func aFailedSyncLeavesNothingOfTheAppendVisible() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let (store, fs) = try await Self.openHooked(dir)
        defer { store.close() }
        try await Self.setUp(store)
        try await store.append(try batchOf(Self.orders(10, from: 0)), to: "orders", durability: .sync)
        await #expect(try Self.servedCount(store) == 10)
        let fail = Locked(true)
        fs.setHook { op throws(LambdaStoreError) in
            if case .sync(let p) = op, p.hasSuffix(".segment"), fail.withLock({ $0 }) {
                throw LambdaStoreError(.io, "injected fdatasync failure", path: p)
            }
        }
        await #expect(throws: LambdaStoreError.self) {
            try await store.append(try batchOf(Self.orders(5, from: 10)), to: "orders", durability: .sync)
        }
        await #expect(try Self.servedCount(store) == 10, "the failed append must not be served")
        // Later appends fail too (the stream must be reopened), and still nothing shows.
        await #expect(throws: LambdaStoreError.self) {
            try await store.append(try batchOf(Self.orders(5, from: 15)), to: "orders", durability: .none)
        }
        await #expect(try Self.servedCount(store) == 10)
        // A batch run takes its horizon at the visible end, not past the failed batch.
        fail.withLock { $0 = false }
        #expect(store.views().first.map { $0.horizon } == 0)
    }

    /// Building one view's speed layer (a replay) stalls neither appends nor other views.
    @Test func aSpeedLayerBuildStallsNoAppendOrOtherView() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        do {
            let store = try await Store.open(at: dir)
            try await Self.setUp(store, views: ["a", "b"])
            for i in 0..<20 { try await store.append(try batchOf(Self.orders(10, from: i * 10)), to: "orders", durability: .none) }
            store.close()
        }
        let (store, fs) = try await Self.openHooked(dir)
        defer { store.close() }
        _ = try await store.query(QueryRequest(view: "b"))   // b's speed layer is built, a's is not
        let gate = fs.pauseFirst { op in
            if case .read(let p, _) = op { return p.hasSuffix(".segment") }
            return false
        }
        let slow = Task.detached { try await Self.servedCount(store, view: "a") }
        #expect(await gate.waitUntilReached())
        // While a's replay is paused inside a read: append and query b, with a deadline.
        let others = Task.detached { () async throws -> Int64 in
            try await store.append(try batchOf(Self.orders(5, from: 200)), to: "orders", durability: .none)
            return try await Self.servedCount(store, view: "b")
        }
        let done = Locked<Int64?>(nil)
        let watcher = Task.detached { if let n = try? await others.value { done.withLock { $0 = n } } }
        let deadline = ContinuousClock.now + .seconds(60)
        while done.withLock({ $0 }) == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(done.withLock { $0 } == 205, "append and query of another view must not wait for a's replay")
        gate.open()
        _ = await watcher.value
        let slowCount = try await slow.value
        let servedNow = try await Self.servedCount(store, view: "a")
        #expect(slowCount == 205 || servedNow == 205)
        await #expect(try Self.servedCount(store, view: "a") == 205)
    }

    /// A view whose files are damaged opens as unavailable; every other view and the stream work.
    @Test(arguments: ["flip", "remove"])
    func aDamagedViewDoesNotBlockTheStore(damage: String) async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        do {
            let store = try await Store.open(at: dir)
            try await Self.setUp(store, views: ["a", "b"])
            try await store.append(try batchOf(Self.orders(10, from: 0)), to: "orders", durability: .none)
            _ = try await store.runBatch(view: "a")
            _ = try await store.runBatch(view: "b")
            store.close()
        }
        let manifest = dir + "/views/a/MANIFEST"
        let fs = PosixFileSystem()
        if damage == "flip" {
            var bytes = try fs.readFile(manifest, limit: 1 << 20)
            bytes[bytes.count / 2] ^= 0x20
            try fs.writeFileAtomically(manifest, bytes)
        } else {
            try fs.remove(manifest)
        }
        let store = try await Store.open(at: dir)
        defer { store.close() }
        #expect(store.unavailableViews.map(\.view) == ["a"])
        #expect(store.views().map(\.definition.name) == ["b"])
        do {
            _ = try await store.query(QueryRequest(view: "a"))
            Issue.record("a query of a damaged view must fail")
        } catch {
            #expect(error.message.contains("unavailable"), "\(error)")
        }
        try await store.append(try batchOf(Self.orders(5, from: 10)), to: "orders", durability: .none)
        await #expect(try Self.servedCount(store, view: "b") == 15)
        _ = try await store.runBatch(view: "b")
        let status = try await store.status()
        #expect(status.json.serialized().contains("\"unavailable\""), "status names the unavailable view")
    }

    /// A crash at any write point of a batch run and a compaction running at once leaves a
    /// store that opens with every view available, serving every durable event.
    @Test func aCrashDuringConcurrentBatchAndCompactionLeavesAStoreThatOpens() async throws {
        let sim = SimulatedFileSystem()
        var options = StoreOptions()
        options.fileSystem = sim
        let store = try await Store.open(at: "/s", options: options)
        try await Self.setUp(store)
        try await store.append(try batchOf(Self.orders(100, from: 0)), to: "orders", durability: .sync)
        _ = try await store.runBatch(view: "v")
        try await store.append(try batchOf(Self.orders(30, from: 100)), to: "orders", durability: .sync)
        _ = try await store.runBatch(view: "v")   // an old generation for compaction to collect
        try await store.append(try batchOf(Self.orders(30, from: 130)), to: "orders", durability: .sync)
        let images = Locked<[SimulatedFileSystem]>([])
        sim.setObserver { _, _ in
            let image = sim.crashImage()
            images.withLock { $0.append(image) }
        }
        async let run = store.runBatch(view: "v")
        async let compaction = store.compact()
        _ = try await (run, compaction)
        sim.setObserver(nil)
        store.close()
        let all = images.withLock { $0 }
        #expect(all.count > 10)
        for (k, image) in all.enumerated() {
            var o = StoreOptions()
            o.fileSystem = image
            let reopened = try await Store.open(at: "/s", options: o)
            #expect(reopened.unavailableViews.isEmpty, "crash after operation \(k + 1): \(reopened.unavailableViews)")
            await #expect(try Self.servedCount(reopened) == 160, "crash after operation \(k + 1)")
            reopened.close()
        }
    }

    /// Schema evolution while tasks append, query and run batches: nothing traps, no batch is
    /// skipped, and every appended event is served (appends that raced a new version retry
    /// under it, as the error tells them to).
    @Test func schemaEvolutionDuringAppendsQueriesAndRunsLosesNothing() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir)
        defer { store.close() }
        try await Self.setUp(store)
        let appended = Locked(0)
        let done = Locked(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for i in 0..<60 {
                    while true {
                        let schema = try store.schema(of: "orders")
                        var b = ColumnBatch(schema: schema)
                        for k in 0..<10 {
                            for (c, f) in schema.fields.enumerated() {
                                switch f.name {
                                case "ts": try b.columns[c].append(.timestamp(Self.t0 + Int64(i * 10 + k) * 60_000))
                                case "merchant": b.columns[c].append(string: "m\(k % 3)")
                                case "status": b.columns[c].append(string: "completed")
                                case "amount": try b.columns[c].append(.int64(1))
                                default: b.columns[c].appendNull()
                                }
                            }
                        }
                        do {
                            try await store.append(b, to: "orders", durability: i % 2 == 0 ? .none : .sync)
                            appended.withLock { $0 += 10 }
                            break
                        } catch let e as LambdaStoreError where e.code == .schema {
                            continue   // a new version landed between reading the schema and the append
                        }
                    }
                }
                done.withLock { $0 = true }
            }
            group.addTask {
                for v in 2...4 {
                    try await Task.sleep(for: .milliseconds(15))
                    var fields = testSchema.fields
                    for extra in 2...v { fields.append(Field(name: "note\(extra)", type: .string, nullable: true)) }
                    try await store.applySchema(Schema(stream: "orders", eventTime: "ts", fields: fields))
                }
            }
            group.addTask {
                while !done.withLock({ $0 }) {
                    _ = try await store.query(QueryRequest(view: "v"))
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
            group.addTask {
                var k = 0
                while !done.withLock({ $0 }) {
                    _ = try await store.runBatch(view: "v", mode: k % 2 == 0 ? .full : .incremental)
                    k += 1
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.schema(of: "orders").version == 4)
        await #expect(try Self.servedCount(store) == Int64(appended.withLock { $0 }))
        _ = try await store.runBatch(view: "v")
        await #expect(try Self.servedCount(store) == 600)
    }
}

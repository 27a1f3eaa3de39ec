@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport
import Testing

@Suite struct LifecycleTests {
    @Test func aChangedDefinitionIsANewVersionBuiltFromHistoryAndSwappedIn() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir)
        defer { store.close() }
        try await store.applySchema(testSchema)
        let w = ServingTests.windows[0].0
        let v1 = try ViewDefinition.parse(json: viewJSON(window: w, lateness: "10m"))
        guard case .created(let fp1) = try await store.createView(v1) else { Issue.record("expected created"); return }
        #expect(try await store.createView(v1) == .unchanged(fingerprint: fp1))
        var rng = SplitMix64(seed: 11)
        var clock: Int64 = 1_704_067_200_000
        let events = randomEvents(&rng, count: 500, clock: &clock)
        try await store.append(try batchOf(events), to: "orders")
        _ = try await store.runBatch(view: "v")
        let oldFile = try #require(store.views().first?.snapshotFile)

        // Same name, different filter: a new fingerprint, built from the whole history.
        let v2 = try ViewDefinition.parse(json: viewJSON(window: w, lateness: "10m", filter: "status = 'cancelled'"))
        let r = try await store.createView(v2)
        guard case .replaced(let old, let new) = r else { Issue.record("expected replaced, got \(r)"); return }
        #expect(old == fp1 && new != fp1)
        #expect(store.views().first?.fingerprint == new)
        var ref = ReferenceModel(view: .init(statusFilter: "cancelled", size: 3_600_000, slide: nil, lateness: 600_000))
        ref.events = events
        await #expect(try served(store) == expected(ref, horizon: events.count))
        // The old version's file stays until compaction collects it.
        #expect(PosixFileSystem().exists(dir + "/views/v/" + oldFile))
        let c = try await store.compact()
        #expect(c.filesRemoved.contains("views/v/" + oldFile))
        #expect(!PosixFileSystem().exists(dir + "/views/v/" + oldFile))
        await #expect(try served(store) == expected(ref, horizon: events.count))
    }

    @Test func rerunningABatchOnTheSameLogWritesTheSameBytes() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir)
        defer { store.close() }
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[1].0, lateness: "5m")))
        var rng = SplitMix64(seed: 12)
        var clock: Int64 = 1_704_067_200_000
        try await store.append(try batchOf(randomEvents(&rng, count: 2000, clock: &clock)), to: "orders")
        _ = try await store.runBatch(view: "v")
        let a = try store.liveSnapshotBytes()
        _ = try await store.runBatch(view: "v")
        let b = try store.liveSnapshotBytes()
        #expect(a == b)
        let drill = try await store.replayDrill(view: "v")
        #expect(drill.matchesPublished && drill.comparedWithPublished && drill.events == 2000)
    }

    /// The log's encoding (dictionary-coded or plain strings, any codec) changes nothing the
    /// views produce: the same events give byte-identical snapshots and the same served rows,
    /// and the dictionary form is really what the default store wrote.
    @Test func logEncodingDoesNotChangeTheSnapshotBytes() async throws {
        var rng = SplitMix64(seed: 77)
        var clock: Int64 = 1_704_067_200_000
        let batches = try (0..<4).map { _ in try batchOf(randomEvents(&rng, count: 700, clock: &clock)) }
        var snapshots: [[UInt8]] = []
        var answers: [String] = []
        var logBytes: [Int64] = []
        for (codec, dictionaries) in [(Codec.none, true), (.none, false), (.lz4, true), (.zstd, false)] {
            let dir = makeTempDirectory()
            defer { removeTree(dir) }
            var options = StoreOptions()
            options.log.codec = codec
            options.log.dictionaryStrings = dictionaries
            let store = try await Store.open(at: dir, options: options)
            defer { store.close() }
            try await store.applySchema(testSchema)
            try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[1].0, lateness: "5m")))
            for b in batches.prefix(3) { try await store.append(b, to: "orders") }
            _ = try await store.runBatch(view: "v")
            try await store.append(batches[3], to: "orders")
            snapshots.append(try store.liveSnapshotBytes())
            answers.append(String(describing: try await store.query(QueryRequest(view: "v")).rows))
            logBytes.append(try store.streamLog("orders").batchInfos(in: 0..<2800).reduce(Int64(0)) { $0 + Int64($1.uncompressedBytes) })
        }
        #expect(snapshots.allSatisfy { $0 == snapshots[0] } && !snapshots[0].isEmpty)
        #expect(answers.allSatisfy { $0 == answers[0] })
        // Dictionary-coded payloads are smaller before any codec.
        #expect(logBytes[0] < logBytes[1] && logBytes[2] == logBytes[0] && logBytes[3] == logBytes[1])
    }

    @Test func recoveryRebuildsTheSameSpeedStateAndLateCounts() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        var store = try await Store.open(at: dir)
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[1].0, lateness: "10m")))
        var rng = SplitMix64(seed: 13)
        var clock: Int64 = 1_704_067_200_000
        try await store.append(try batchOf(randomEvents(&rng, count: 700, clock: &clock)), to: "orders")
        _ = try await store.runBatch(view: "v")
        for _ in 0..<5 { try await store.append(try batchOf(randomEvents(&rng, count: 150, clock: &clock)), to: "orders") }
        let live = try await store.status().views[0]
        let liveRows = try await store.query(QueryRequest(view: "v")).rows
        #expect(live.pendingLateEvents > 0, "the data must contain late events after the horizon")
        store.close()
        store = try await Store.open(at: dir)
        defer { store.close() }
        let recovered = try await store.status().views[0]
        #expect(recovered.pendingLateEvents == live.pendingLateEvents)
        #expect(recovered.speedCells == live.speedCells)
        #expect(try await store.query(QueryRequest(view: "v")).rows == liveRows)
    }

    @Test func parityCheckReportsOnlyDifferencesExplainedByLateEvents() async throws {
        var rng = SplitMix64(seed: 14)
        var clock: Int64 = 1_704_067_200_000
        let batches = try (0..<6).map { _ in try batchOf(randomEvents(&rng, count: 200, clock: &clock)) }
        let tight = try ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[1].0, lateness: "0m"))
        let diffs = try await ParityCheck.run(definition: tight, schema: testSchema, batches: batches)
        #expect(!diffs.isEmpty, "late events must make the paths differ with zero allowed lateness")
        #expect(diffs.allSatisfy { $0.explainedByLateEvents })
        let loose = try ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[1].0, lateness: "1000d"))
        #expect(try await ParityCheck.run(definition: loose, schema: testSchema, batches: batches).isEmpty)
    }
}

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
        #expect(drill.matchesPublished && drill.identicalBytes && drill.comparedWithPublished && drill.events == 2000)
    }

    /// A snapshot published by another writer configuration (lz4 chunks of 7 rows; another
    /// build or zstd library writes other bytes the same way) holds the same rows as the
    /// drill's rebuild: the drill matches it, saying the bytes differ, for a tumbling, a
    /// hopping and an unwindowed view.
    @Test(arguments: [0, 1, 2])
    func aDrillMatchesTheSameRowsWrittenByAnotherWriter(window: Int) async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        var options = StoreOptions()
        options.snapshotCodec = .lz4
        options.snapshotRowGroupRows = 7
        do {
            let store = try await Store.open(at: dir, options: options)
            defer { store.close() }
            try await store.applySchema(testSchema)
            // Window 2: no window (the view file without its "window" key).
            let json = window == 2
                ? Array(String(decoding: viewJSON(window: "null", lateness: "5m"), as: UTF8.self).replacing("\"window\":null,", with: "").utf8)
                : viewJSON(window: ServingTests.windows[window].0, lateness: "5m")
            try await store.createView(ViewDefinition.parse(json: json))
            var rng = SplitMix64(seed: 31 + UInt64(window))
            var clock: Int64 = 1_704_067_200_000
            try await store.append(try batchOf(randomEvents(&rng, count: 1500, clock: &clock)), to: "orders")
            _ = try await store.runBatch(view: "v")
            let same = try await store.replayDrill(view: "v")
            #expect(same.matchesPublished && same.identicalBytes, "the publishing configuration rebuilds the same bytes")
        }
        let store = try await Store.open(at: dir)   // zstd, 64 Ki-row groups
        defer { store.close() }
        let drill = try await store.replayDrill(view: "v")
        #expect(drill.comparedWithPublished && drill.matchesPublished && !drill.identicalBytes, "\(drill.json.serialized())")
        #expect(drill.json.serialized().contains("\"identicalBytes\":false"))
    }

    /// The drill's row-for-row comparison against an independent change of each kind: a value,
    /// a float's sign bit or NaN payload, a null, the metadata, a column's name, a damaged or
    /// missing file. Each must make it fail; re-encoding alone (codec, row groups) must not.
    @Test func snapshotContentComparisonCatchesEveryDifference() throws {
        let fs = SimulatedFileSystem()
        let columns = [SnapshotColumn(name: "w", type: .timestamp, nullable: true), SnapshotColumn(name: "k", type: .string, nullable: true),
                       SnapshotColumn(name: "x", type: .float64, nullable: true), SnapshotColumn(name: "n", type: .int64)]
        func data(_ edit: (inout [[Value]]) -> Void = { _ in }) throws -> [Column] {
            var rows: [[Value]] = []
            for i in 0..<50 {
                let w: Value = i % 9 == 0 ? .null : .timestamp(Int64(i / 5) * 3_600_000)
                let k: Value = i % 7 == 0 ? .null : .string("m\(i % 4)")
                let x: Value = i % 11 == 0 ? .null : .float64(Double(i) / 3)
                rows.append([w, k, x, .int64(Int64(i * i))])
            }
            edit(&rows)
            var cols = columns.map { Column(type: $0.type.storage) }
            for r in rows { for (c, v) in r.enumerated() { try cols[c].append(v) } }
            return cols
        }
        let meta = ["view": "v", "horizon": "50"]
        let published = try SnapshotWriter.encode(columns: columns, data: data(), options: SnapshotOptions(codec: .zstd, rowGroupRows: 16), metadata: meta)
        try fs.writeFileAtomically("/p.snapshot", published)
        func same(_ d: [Column], _ m: [String: String] = meta, _ o: SnapshotOptions = SnapshotOptions(codec: .lz4, rowGroupRows: 7), cols: [SnapshotColumn] = columns) throws -> Bool {
            Store.sameSnapshotContent(fs: fs, path: "/p.snapshot", rebuilt: try SnapshotWriter.encode(columns: cols, data: d, options: o, metadata: m))
        }
        #expect(try same(data()), "re-encoded with another codec and row groups")
        #expect(try same(data(), meta, SnapshotOptions(codec: .none)), "one row group, no codec")
        #expect(try !same(data { $0[17][3] = .int64(-1) }), "a value")
        #expect(try !same(data { $0[3][2] = .float64(-1.0) }), "a float")
        #expect(try !same(data { $0[12][1] = .null }), "a null")
        #expect(try !same(data { $0[12][1] = .string("m0\u{0}") }), "a string")
        #expect(try !same(data(), ["view": "v", "horizon": "51"]), "metadata")
        var renamed = columns
        renamed[3] = SnapshotColumn(name: "n2", type: .int64)
        #expect(try !same(data(), cols: renamed), "a column name")
        // Floats compare by bit pattern: +0.0 and -0.0, and two NaN payloads, differ.
        let zeros = try SnapshotWriter.encode(columns: columns, data: data { $0[1][2] = .float64(0.0) }, metadata: meta)
        try fs.writeFileAtomically("/z.snapshot", zeros)
        let negZero = try SnapshotWriter.encode(columns: columns, data: data { $0[1][2] = .float64(-0.0) }, metadata: meta)
        #expect(!Store.sameSnapshotContent(fs: fs, path: "/z.snapshot", rebuilt: negZero), "+0.0 against -0.0")
        #expect(Store.sameSnapshotContent(fs: fs, path: "/z.snapshot", rebuilt: zeros))
        // A damaged or missing published file never matches.
        var damaged = published
        damaged[20] ^= 0x10
        try fs.writeFileAtomically("/d.snapshot", damaged)
        #expect(!Store.sameSnapshotContent(fs: fs, path: "/d.snapshot", rebuilt: published))
        #expect(!Store.sameSnapshotContent(fs: fs, path: "/missing.snapshot", rebuilt: published))
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

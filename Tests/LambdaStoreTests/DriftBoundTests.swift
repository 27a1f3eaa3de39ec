import Testing
@_spi(Internals) @testable import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport

/// Issue 10 ("Unbounded manifest"): drift details live in the `DRIFT` file, bounded by
/// `Limits.driftFileBytesMax`; the manifest carries a window-free summary (format-spec.md §6.3–6.5).
@Suite struct DriftBoundTests {
    static let secondWindow = "{\"type\":\"tumbling\",\"field\":\"ts\",\"size\":\"1s\"}"
    static let base: Int64 = 1_704_067_200_000

    /// The JSON payload of a view's `DRIFT` or `INCIDENTS` file.
    func payload(_ store: Store, _ file: String) throws -> [UInt8] {
        let path = Path.join(store.viewDirectory("v"), file)
        return try MetadataFile.decode(try store.fs.readFile(path, limit: Limits.metadataBytesMax + 64),
                                       kind: file == "DRIFT" ? "DRIFT" : "INCIDENT", path: path)
    }

    func manifestBytes(_ store: Store) throws -> Int {
        try store.fs.readFile(Path.join(store.viewDirectory("v"), "MANIFEST"), limit: Limits.metadataBytesMax).count
    }

    /// A synthetic report numbered `k` with `windows` differing windows (one hour apart).
    func report(_ k: Int64, windows: Int) -> DriftReport {
        DriftReport(view: "v", cellsCompared: Int64(windows) * 2 + 1, cellsDiffering: Int64(windows), relativeError: ["n": 0.5],
                    lateEvents: k, fingerprint: "fp", fromHorizon: k * 10, toHorizon: (k + 1) * 10, at: 1_000 + k,
                    thresholds: (0.005, 0.02), differingWindows: (0..<windows).map { Int64($0) * 3_600_000 })
    }

    func openStoreWithView(_ dir: String) async throws -> Store {
        let store = try await Store.open(at: dir)
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: Self.secondWindow, lateness: "0s")))
        return store
    }

    /// Events one per 1-second window `0..<n`, in order.
    func inOrder(_ n: Int) -> [ReferenceModel.Event] {
        (0..<n).map { ReferenceModel.Event(ts: Self.base + Int64($0) * 1000, merchant: "m0", status: "completed", amount: 1) }
    }

    /// One late event in each closed window `0..<n-1` (after `inOrder(n)`): the speed layer
    /// drops them, the batch counts them, so each of those windows differs at the next publish.
    func late(_ n: Int, amount: Int64) -> [ReferenceModel.Event] {
        (0..<(n - 1)).map { ReferenceModel.Event(ts: Self.base + Int64($0) * 1000 + 500, merchant: "m0", status: "completed", amount: amount) }
    }

    /// The whole-log recompute of view `v`, cell by cell, as `served` returns it.
    func recomputed(_ store: Store) async throws -> [ReferenceModel.Cell: [Value]] {
        var out: [ReferenceModel.Cell: [Value]] = [:]
        for row in try await store.recompute(view: "v").table.rows() {
            guard case .string(let m) = row.key[0], let w = row.windowStart else { continue }
            out[ReferenceModel.Cell(window: w, merchant: m)] = row.states.map(\.result)
        }
        return out
    }

    /// Reports whose windows together far exceed the bound: the file stays under it, every
    /// report keeps its counts, the newest keeps its windows, the oldest lose theirs first, and a
    /// report too big on its own keeps a prefix and says so.
    @Test func driftFileIsBoundedOldestDetailsFirstCountsKept() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await openStoreWithView(dir)
        defer { store.close() }
        let sizes = [100, 1_000, 2_000_000, 10]
        for (k, n) in sizes.enumerated() {
            try store.appendDriftReport(report(Int64(k), windows: n), view: "v")
            #expect(try payload(store, "DRIFT").count <= Limits.driftFileBytesMax, "after report \(k)")
            if k == 2 {
                let newest = try #require(try await store.driftReports(view: "v").first)
                #expect(!newest.differingWindowsComplete && newest.differingWindowsTotal == 2_000_000)
                #expect(newest.differingWindows.count > 100_000, "the newest keeps as many windows as fit")
                #expect(newest.differingWindows == (0..<newest.differingWindows.count).map { Int64($0) * 3_600_000 }, "a prefix")
                let older = try await store.driftReports(view: "v").dropFirst()
                #expect(older.allSatisfy { $0.differingWindows.isEmpty && !$0.differingWindowsComplete })
            }
        }
        let r = Array(try await store.driftReports(view: "v").reversed())
        #expect(r.map(\.cellsDiffering) == sizes.map(Int64.init))
        #expect(r.map(\.cellsCompared) == sizes.map { Int64($0) * 2 + 1 })
        #expect(r.map(\.differingWindowsTotal) == sizes.map(Int64.init))
        #expect(r[3].differingWindowsComplete && r[3].differingWindows.count == 10)
        #expect(!r[2].differingWindowsComplete && r[2].differingWindows.count > 100_000)
        #expect(r[2].differingWindows == (0..<r[2].differingWindows.count).map { Int64($0) * 3_600_000 })
        #expect(r[0].differingWindows.isEmpty && r[1].differingWindows.isEmpty)
        // The JSON keys of DESIGN.md "Drift" are all there, and the truncation is visible.
        let json = r[2].json
        for key in ["cellsCompared", "cellsDiffering", "divergenceRate", "relativeError", "lateEvents", "fingerprint",
                    "fromHorizon", "toHorizon", "at", "status", "differingWindows", "differingWindowsTotal"] {
            #expect(json[key] != nil, "key \(key)")
        }
        #expect(r[2].summaryJSON["differingWindows"] == nil)
    }

    /// When the reports' counts alone exceed the bound, the oldest reports go; the newest stays.
    @Test func countsAloneOverTheBoundDropTheOldestReports() throws {
        let items = (0..<10).map { report(Int64($0), windows: 5).json }
        let head = report(9, windows: 0).json.serialized().utf8.count
        let bound = head * 3 + 40
        let out = DetailBound.fit(items, listKey: "differingWindows", maxBytes: bound)
        #expect(out.count <= bound)
        let kept = try #require(try JSONValue.parse(out).arrayValue)
        #expect(kept.count >= 2 && kept.count < 10)
        #expect(kept.map { $0["toHorizon"]?.int64Value } == (10 - kept.count..<10).map { Int64($0 + 1) * 10 }, "the newest are kept")
        // Under the bound, nothing changes.
        #expect(DetailBound.fit(items, listKey: "differingWindows", maxBytes: 1 << 20) == Array(JSONValue.array(items).serialized().utf8))
        // The newest record is kept even when its counts alone exceed the bound.
        #expect(try JSONValue.parse(DetailBound.fit(items, listKey: "differingWindows", maxBytes: 10)).arrayValue?.count == 1)
    }

    /// A view whose speed and batch parts disagree in many windows keeps publishing: the
    /// manifest stays small, the drift file under its bound, every report's counts kept; and
    /// reconcile after a truncated report recomputes everything and converges.
    @Test func manyDifferingWindowsKeepTheManifestSmallAndReconcileConverges() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await openStoreWithView(dir)
        defer { store.close() }
        let n = 20_000
        try await store.append(try batchOf(inOrder(n) + late(n, amount: 2)), to: "orders", durability: .none)
        let s1 = try await store.runBatch(view: "v", mode: .full)
        #expect(try #require(s1.drift).cellsDiffering == Int64(n - 1))
        #expect(try manifestBytes(store) < 64 << 10, "the manifest carries no windows")
        try await store.append(try batchOf(late(n, amount: 3)), to: "orders", durability: .none)
        let s2 = try await store.runBatch(view: "v", mode: .incremental)
        #expect(try #require(s2.drift).cellsDiffering == Int64(n - 1))
        #expect(try manifestBytes(store) < 64 << 10)
        #expect(try payload(store, "DRIFT").count <= Limits.driftFileBytesMax)
        let reports = try await store.driftReports(view: "v")
        #expect(reports.map(\.cellsDiffering) == [Int64(n - 1), Int64(n - 1)])
        #expect(reports.allSatisfy { $0.differingWindowsComplete && $0.differingWindows.count == n - 1 })

        // The newest report's windows truncated to 10 (as the bound does to a report too big on its own).
        var truncated = try #require(reports.first)
        truncated.differingWindows = Array(truncated.differingWindows.prefix(10))
        try store.fs.remove(store.driftPath("v"))
        try store.appendDriftReport(truncated, view: "v")
        #expect(try await store.driftReports(view: "v").first?.differingWindowsComplete == false)
        try await store.append(try batchOf(late(n, amount: 4)), to: "orders", durability: .none)
        let incident = try await store.reconcile(view: "v")
        #expect(incident.fullRecompute)
        #expect(incident.windowsTotal == Int64(n - 1) && incident.windows.count == 10)
        await #expect(try served(store) == recomputed(store), "served equals a full recompute after reconcile")
        #expect(try manifestBytes(store) < 64 << 10)
    }

    /// A crash after the manifest publish but before the `DRIFT` write: the manifest summary
    /// stands in for the report (counts, no windows), reconcile recomputes everything, and the
    /// next publish writes the lost report's counts into the file.
    @Test func lostDriftWriteIsRecoveredFromTheManifestSummary() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await openStoreWithView(dir)
        defer { store.close() }
        let n = 500
        try await store.append(try batchOf(inOrder(n) + late(n, amount: 2)), to: "orders", durability: .none)
        let s1 = try #require(try await store.runBatch(view: "v", mode: .full).drift)
        try store.fs.remove(store.driftPath("v"))   // the lost DRIFT write
        let seen = try #require(try await store.driftReports(view: "v").first)
        #expect(seen.cellsDiffering == s1.cellsDiffering && seen.cellsCompared == s1.cellsCompared && seen.toHorizon == s1.toHorizon)
        #expect(seen.differingWindowsTotal == Int64(n - 1) && seen.differingWindows.isEmpty && !seen.differingWindowsComplete)

        try await store.append(try batchOf(late(n, amount: 3)), to: "orders", durability: .none)
        let incident = try await store.reconcile(view: "v")
        #expect(incident.fullRecompute && incident.windowsTotal == Int64(n - 1))
        await #expect(try served(store) == recomputed(store))
        // Reconcile published: the file now holds the lost report's counts and the new report.
        let r = try await store.driftReports(view: "v")
        #expect(r.count == 2)
        #expect(r.last?.toHorizon == s1.toHorizon && r.last?.cellsDiffering == s1.cellsDiffering)
        let inFile = try #require(try JSONValue.parse(payload(store, "DRIFT")).arrayValue)
        #expect(inFile.count == 2)
        store.close()
        let reopened = try await Store.open(at: dir)
        defer { reopened.close() }
        #expect(try await reopened.driftReports(view: "v").map(\.cellsDiffering) == r.map(\.cellsDiffering))
    }

    /// The incidents file is bounded by bytes the same way: the oldest incidents' windows go
    /// first, `windowsTotal` stays.
    @Test func incidentsFileIsBounded() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let store = try await openStoreWithView(dir)
        defer { store.close() }
        let sizes = [50, 1_000_000, 20]
        for (k, n) in sizes.enumerated() {
            try store.appendIncident(ReconcileIncident(view: "v", fingerprint: "fp", windows: (0..<n).map { Int64($0) * 3_600_000 },
                                                       windowsTotal: Int64(n), fullRecompute: false, cellsCorrected: Int64(n),
                                                       horizon: Int64(k + 1), reportHorizon: Int64(k), seconds: 0.1, at: 1_000 + Int64(k)))
            #expect(try payload(store, "INCIDENTS").count <= Limits.incidentsFileBytesMax, "after incident \(k)")
        }
        let items = try #require(try JSONValue.parse(payload(store, "INCIDENTS")).arrayValue)
        #expect(items.map { $0["windowsTotal"]?.int64Value } == sizes.map { Int64($0) })
        #expect(items.map { $0["cellsCorrected"]?.int64Value } == sizes.map { Int64($0) })
        let counts = items.map { $0["windows"]?.arrayValue?.count ?? -1 }
        #expect(counts[0] == 0 && counts[1] > 100_000 && counts[1] < 1_000_000 && counts[2] == 20)
    }
}

/// An incremental run over a large previous snapshot is recomputed in full (carrying 70 k cells
/// costs more than reading 70 k events): it must still compare the new truth with what was
/// served, the previous batch part ⊕ the speed layer, and publish the snapshot a full run
/// publishes. The second append adds events to 100 old windows while they are still open (the
/// speed layer takes them), then moves time on so those windows close: what was served for
/// them was exact only with the old batch part counted, so no cell may differ.
@Suite struct IncrementalRunDriftTests {
    @Test func anIncrementalRunRecomputedInFullComparesAgainstWhatWasServed() async throws {
        let t0: Int64 = 1_704_067_200_000
        func events(_ seconds: Range<Int>) -> [ReferenceModel.Event] {
            seconds.map { ReferenceModel.Event(ts: t0 + Int64($0) * 1000, merchant: "m\($0 % 3)", status: "completed", amount: Int64($0)) }
        }
        var snapshots: [[UInt8]] = []
        for mode in [BatchMode.full, .incremental] {
            let dir = makeTempDirectory()
            defer { removeTree(dir) }
            let store = try await Store.open(at: dir)
            defer { store.close() }
            try await store.applySchema(testSchema)
            try await store.createView(ViewDefinition.parse(json: viewJSON(window: DriftBoundTests.secondWindow, lateness: "10m")))
            _ = try await store.append(try batchOf(events(0..<70_000)), to: "orders")
            _ = try await store.runBatch(view: "v")
            _ = try await store.append(try batchOf(events(69_500..<69_600) + events(70_000..<71_000)), to: "orders")
            let s = try await store.runBatch(view: "v", mode: mode)
            let drift = try #require(s.drift)
            #expect(drift.cellsCompared > 100 && drift.cellsDiffering == 0, "\(mode): \(drift.json.serialized())")
            let file = try #require(try Manifest.load(fs: store.fs, directory: store.viewDirectory("v"))?.files.first)
            snapshots.append(try store.fs.readFile(Path.join(store.viewDirectory("v"), file.name), limit: 1 << 30))
        }
        #expect(snapshots[0] == snapshots[1], "the incremental run published another snapshot than the full run")
    }
}

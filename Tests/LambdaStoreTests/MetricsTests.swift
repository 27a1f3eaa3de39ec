import CoreMetrics
import Foundation
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport
import MetricsTestKit
import Testing

/// The one metrics backend of this test process (swift-metrics is bootstrapped once).
let testMetrics: TestMetrics = {
    let m = TestMetrics()
    MetricsSystem.bootstrap(m)
    return m
}()

@Suite struct MetricsTests {
    /// The metrics the design card names — divergence rate, end-to-end freshness, replay
    /// duration, reconciliation correction volume, late events, bytes per layer — each changes
    /// when its event happens (a stream and a view of their own: other suites run alongside).
    @Test func everyNamedMetricChangesWhenItShould() async throws {
        let m = testMetrics
        let dir = makeTempDirectory("metrics")
        defer { removeTree(dir) }
        var o = StoreOptions()
        o.log.segmentBytesMax = 8192
        o.logger.logLevel = .error
        let store = try await Store.open(at: dir, options: o)
        defer { store.close() }
        var schema = testSchema
        schema.stream = "mx_orders"
        try await store.applySchema(schema)
        let json = String(decoding: viewJSON(name: "mx_v", window: ServingTests.windows[0].0, lateness: "1m"), as: UTF8.self)
            .replacingOccurrences(of: "\"stream\":\"orders\"", with: "\"stream\":\"mx_orders\"")
        try await store.createView(ViewDefinition.parse(json: Array(json.utf8)))
        let stream = [("stream", "mx_orders")], view = [("view", "mx_v")]

        func batch(_ events: [ReferenceModel.Event]) throws -> ColumnBatch {
            var b = try batchOf(events)
            b.schemaVersion = schema.version
            return b
        }
        var rng = SplitMix64(seed: 9)
        var clock: Int64 = 1_704_067_200_000
        // Appends: the event counter and the end-to-end freshness timer.
        try await store.append(try batch(randomEvents(&rng, count: 300, clock: &clock)), to: "mx_orders", durability: .none)
        #expect(m.counterTotal(label: "lambdastore_append_events", dimensions: stream) == 300)
        #expect(try m.expectTimer("lambdastore_visibility_seconds", stream).values.count == 1)

        // A publish: batch duration, snapshot bytes, publish time, divergence rate.
        let first = try await store.runBatch(view: "mx_v")
        #expect(try m.expectTimer("lambdastore_batch_seconds", view).values.count == 1)
        #expect(try m.expectGauge("lambdastore_snapshot_bytes", view).lastValue == Double(first.bytesWritten))
        let published1 = try #require(try m.expectGauge("lambdastore_batch_published_seconds", view).lastValue)
        #expect(try m.expectGauge("lambdastore_drift_divergence_rate", view).lastValue == first.drift?.divergenceRate)

        // Late events (older than the lateness) reach the next drift report and its counter.
        var late = randomEvents(&rng, count: 200, clock: &clock)
        for i in late.indices where i % 4 == 0 { late[i].ts = late[i].ts.map { $0 - 6 * 3_600_000 } }
        try await store.append(try batch(late), to: "mx_orders", durability: .none)
        _ = try await store.query(QueryRequest(view: "mx_v"))
        let second = try await store.runBatch(view: "mx_v")
        let lateTotal = (first.drift?.lateEvents ?? 0) + (second.drift?.lateEvents ?? 0)
        #expect(lateTotal > 0, "the test must produce late events")
        #expect(m.counterTotal(label: "lambdastore_drift_late_events", dimensions: view) == lateTotal)
        #expect(try m.expectGauge("lambdastore_drift_divergence_rate", view).values.count == 2)
        #expect(try #require(try m.expectGauge("lambdastore_batch_published_seconds", view).lastValue) >= published1)

        // Reconciliation: the correction volume.
        let incident = try await store.reconcile(view: "mx_v")
        #expect(m.counterTotal(label: "lambdastore_reconcile_cells_corrected", dimensions: view) == incident.cellsCorrected)
        #expect(try m.expectCounter("lambdastore_reconcile_cells_corrected", view).values.count == 1)

        // A full replay drill: its duration.
        _ = try await store.replayDrill(view: "mx_v")
        #expect(try m.expectTimer("lambdastore_replay_seconds", view).values.count == 1)

        // Bytes per layer: speed layer and freshness at status, tiers at status and compact.
        try await store.append(try batch(randomEvents(&rng, count: 100, clock: &clock)), to: "mx_orders", durability: .none)
        let status = try await store.status()
        let speed = try #require(status.views.first { $0.info.definition.name == "mx_v" })
        #expect(try m.expectGauge("lambdastore_speed_bytes", view).lastValue == Double(speed.speedBytes))
        #expect(try m.expectGauge("lambdastore_freshness_ms", view).lastValue != nil)
        // (The tier gauges are store-wide and other suites' stores record them too: only that they moved.)
        let rawBefore = try m.expectGauge("lambdastore_bytes", [("tier", "raw")]).values.count
        try await store.setStreamPolicy(StreamPolicy(archiveAfterMillis: 0), for: "mx_orders")
        _ = try await store.compact()
        #expect(try m.expectGauge("lambdastore_bytes", [("tier", "raw")]).values.count > rawBefore)
        #expect(try m.expectGauge("lambdastore_bytes", [("tier", "archive")]).values.contains { $0 > 0 })
        #expect(m.counterTotal(label: "lambdastore_append_events", dimensions: stream) == 600)
    }
}

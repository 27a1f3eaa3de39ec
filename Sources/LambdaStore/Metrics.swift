import CoreMetrics
import LambdaStoreCore

/// The metrics LambdaStore reports through swift-metrics, so any backend (e.g. Prometheus via
/// swift-prometheus) can collect them. Names are stable; each carries a `view` or `stream`
/// dimension.
///
/// | name | kind | meaning |
/// | --- | --- | --- |
/// | `lambdastore_drift_divergence_rate` | gauge | cells differing / compared at the last publish |
/// | `lambdastore_drift_late_events` | counter | late events behind drift reports |
/// | `lambdastore_batch_seconds` | timer | duration of a batch publish |
/// | `lambdastore_batch_events` | counter | events scanned by batch runs |
/// | `lambdastore_snapshot_bytes` | gauge | bytes of the live snapshot |
/// | `lambdastore_freshness_ms` | gauge | now − publish time of the live snapshot (batch staleness), when `status` runs |
/// | `lambdastore_batch_published_seconds` | gauge | publish time of the live snapshot, epoch seconds (staleness = `time() -` it) |
/// | `lambdastore_visibility_seconds` | timer | end-to-end freshness: an append's call until its events are served |
/// | `lambdastore_bytes` | gauge | bytes per tier (`tier`: raw, archive, snapshots), at `status` and `compact` |
/// | `lambdastore_replay_seconds` | timer | duration of a full replay drill |
/// | `lambdastore_reconcile_cells_corrected` | counter | cells corrected by reconciliation |
/// | `lambdastore_speed_bytes` | gauge | approximate bytes held by a speed layer |
/// | `lambdastore_append_events` | counter | events appended per stream |
enum Metrics {
    static func batchPublished(view: String, seconds: Double, events: Int64, bytes: Int64, drift: DriftReport?, publishedAtMillis: Int64) {
        let dims = [("view", view)]
        Timer(label: "lambdastore_batch_seconds", dimensions: dims).recordNanoseconds(Int64(seconds * 1e9))
        Counter(label: "lambdastore_batch_events", dimensions: dims).increment(by: Int(clamping: events))
        Gauge(label: "lambdastore_snapshot_bytes", dimensions: dims).record(Double(bytes))
        Gauge(label: "lambdastore_batch_published_seconds", dimensions: dims).record(Double(publishedAtMillis) / 1000)
        if let drift {
            Gauge(label: "lambdastore_drift_divergence_rate", dimensions: dims).record(drift.divergenceRate)
            Counter(label: "lambdastore_drift_late_events", dimensions: dims).increment(by: Int(clamping: drift.lateEvents))
        }
    }

    static func replayed(view: String, seconds: Double) {
        Timer(label: "lambdastore_replay_seconds", dimensions: [("view", view)]).recordNanoseconds(Int64(seconds * 1e9))
    }

    static func reconciled(view: String, cells: Int64) {
        Counter(label: "lambdastore_reconcile_cells_corrected", dimensions: [("view", view)]).increment(by: Int(clamping: cells))
    }

    static func speedBytes(view: String, bytes: Int) {
        Gauge(label: "lambdastore_speed_bytes", dimensions: [("view", view)]).record(Double(bytes))
    }

    static func freshness(view: String, millis: Int64) {
        Gauge(label: "lambdastore_freshness_ms", dimensions: [("view", view)]).record(Double(millis))
    }

    static func appended(stream: String, events: Int, visibleAfterNanos: UInt64) {
        let dims = [("stream", stream)]
        Counter(label: "lambdastore_append_events", dimensions: dims).increment(by: events)
        Timer(label: "lambdastore_visibility_seconds", dimensions: dims).recordNanoseconds(Int64(clamping: visibleAfterNanos))
    }

    static func tierBytes(_ t: TierBytes) {
        Gauge(label: "lambdastore_bytes", dimensions: [("tier", "raw")]).record(Double(t.raw))
        Gauge(label: "lambdastore_bytes", dimensions: [("tier", "archive")]).record(Double(t.archive))
        Gauge(label: "lambdastore_bytes", dimensions: [("tier", "snapshots")]).record(Double(t.snapshots))
    }
}

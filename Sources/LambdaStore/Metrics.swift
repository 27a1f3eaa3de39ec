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
/// | `lambdastore_freshness_ms` | gauge | now − publish time of the live snapshot (batch staleness) |
/// | `lambdastore_replay_seconds` | timer | duration of a full replay drill |
/// | `lambdastore_reconcile_cells_corrected` | counter | cells corrected by reconciliation |
/// | `lambdastore_speed_bytes` | gauge | approximate bytes held by a speed layer |
/// | `lambdastore_append_events` | counter | events appended per stream |
enum Metrics {
    static func batchPublished(view: String, seconds: Double, events: Int64, bytes: Int64, drift: DriftReport?) {
        let dims = [("view", view)]
        Timer(label: "lambdastore_batch_seconds", dimensions: dims).recordNanoseconds(Int64(seconds * 1e9))
        Counter(label: "lambdastore_batch_events", dimensions: dims).increment(by: Int(clamping: events))
        Gauge(label: "lambdastore_snapshot_bytes", dimensions: dims).record(Double(bytes))
        Gauge(label: "lambdastore_freshness_ms", dimensions: dims).record(0)
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

    static func appended(stream: String, events: Int) {
        Counter(label: "lambdastore_append_events", dimensions: [("stream", stream)]).increment(by: events)
    }
}

import Metrics
import Prometheus

/// The process-wide Prometheus registry behind `GET /metrics`.
///
/// `MetricsSystem.bootstrap` may be called once per process; ``registry`` does it the first
/// time it is read (a `static let`, initialized exactly once even when several tasks read it
/// at the same time), so any number of services in one process (the tests start several)
/// share one registry. A program that bootstraps swift-metrics itself before reading it gets
/// swift-metrics' own precondition failure: let this type do the bootstrap.
public enum PrometheusExport {
    /// The registry every swift-metrics metric of the process lands in, LambdaStore's
    /// `lambdastore_*` metrics included.
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// The content type of the Prometheus text exposition format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every metric of ``registry`` in the Prometheus text format.
    public static func scrape() -> String { registry.emitToString() }
}

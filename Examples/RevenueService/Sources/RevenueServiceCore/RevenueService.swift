import Hummingbird
import LambdaStore
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals

/// What a ``RevenueService`` serves and how.
public struct RevenueServiceConfiguration: Sendable {
    /// The store directory (created when missing).
    public var storePath: String
    /// The address to listen on.
    public var host: String
    /// The port to listen on; 0 picks a free one (the bound port is passed to
    /// `onServerRunning`).
    public var port: Int
    /// How often every view runs an incremental batch; nil: only on `POST /admin/batch`.
    public var batchInterval: Duration?
    /// The durability of appends (`POST /streams/{stream}` returns once its events are
    /// durable under `sync`, and visible to queries in every mode).
    public var durability: Durability
    /// The largest request body accepted, in bytes (a larger one is answered 413).
    public var maxBodyBytes: Int

    /// A configuration; by default 127.0.0.1:8080, a batch every minute, `sync` appends and
    /// bodies of up to 64 MiB.
    public init(storePath: String, host: String = "127.0.0.1", port: Int = 8080, batchInterval: Duration? = .seconds(60),
                durability: Durability = .sync, maxBodyBytes: Int = 64 << 20) {
        self.storePath = storePath
        self.host = host
        self.port = port
        self.batchInterval = batchInterval
        self.durability = durability
        self.maxBodyBytes = maxBodyBytes
    }
}

/// The revenue service: a LambdaStore store with the `orders` stream and the
/// `revenue_hourly` view (``OrdersModel``), served over HTTP by Hummingbird.
///
/// Routes (JSON unless noted):
/// - `POST /streams/{stream}`: a JSON Lines body, one record per line, fields matched by name
///   (DESIGN.md ingest rules). All or nothing: one bad line and the answer is 400 naming each
///   bad line and its field, with nothing appended. On success
///   `{"stream","appended","firstOffset","lastOffset","endOffset"}` (`lastOffset` inclusive).
/// - `GET /views/{view}?key=…&from=…&to=…`: the served rows, `batch ⊕ speed`, each with its
///   `source`, plus the view's `fingerprint` and batch `horizon`. `key` is the group value
///   (or `FIELD=VALUE`, repeatable, for a view grouped by several fields); `from`/`to` select
///   window starts in `[from, to)`, as epoch ms or ISO-8601.
/// - `GET /drift[?view=…]`: the persisted drift reports, newest first, per view.
/// - `POST /admin/batch[?view=…&mode=incremental|full]`: run a batch now.
/// - `GET /metrics`: every swift-metrics metric of the process in the Prometheus text format.
/// - `GET /health`: `{"status":"ok"}`.
///
/// Thread safety: `Sendable`; the store serializes what needs it.
public final class RevenueService: Sendable {
    /// The configuration it was opened with.
    public let configuration: RevenueServiceConfiguration
    /// The store it serves.
    public let store: Store
    /// The Prometheus registry `GET /metrics` renders.
    public let registry: PrometheusCollectorRegistry
    let logger: Logger

    /// Bootstraps the metrics system (once per process, see ``PrometheusExport``), opens the
    /// store and sets up the stream and view.
    /// - Throws: the store's error when it cannot be opened or holds an incompatible schema
    ///   or view.
    public init(configuration: RevenueServiceConfiguration, logger: Logger = Logger(label: "revenue-service")) async throws {
        // Before the store exists, so that every metric it creates lands in Prometheus.
        registry = PrometheusExport.registry
        self.configuration = configuration
        self.logger = logger
        var options = StoreOptions()
        options.logger = logger
        let store = try await Store.open(at: configuration.storePath, options: options)
        do {
            try await OrdersModel.prepare(store)
        } catch {
            store.close()
            throw error
        }
        self.store = store
    }

    /// Closes the store (idempotent). Call it after the service group has finished.
    public func close() { store.close() }

    /// The names of the views the store serves.
    public var viewNames: [String] { store.views().map(\.definition.name) }

    /// Runs one batch on `view`, or on every view when nil, one after the other.
    /// - Returns: each run's summary.
    /// - Throws: the first run's error (the runs before it stay published).
    public func runBatches(view: String? = nil, mode: BatchMode = .incremental) async throws(LambdaStoreError) -> [BatchSummary] {
        var summaries: [BatchSummary] = []
        for name in view.map({ [$0] }) ?? viewNames {
            summaries.append(try await store.runBatch(view: name, mode: mode))
        }
        return summaries
    }

    /// The HTTP application: the router of ``RevenueService`` on the configured address.
    /// - Parameter onServerRunning: called with the bound port once the server listens.
    public func makeApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: makeRouter(),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                    serverName: "RevenueService"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// The whole service: the batch scheduler and the HTTP server in one service group.
    /// A graceful shutdown (one of `gracefulShutdownSignals`, or
    /// `ServiceGroup.triggerGracefulShutdown()`) stops the server first, then the scheduler;
    /// then ``close()`` the store.
    public func makeServiceGroup(gracefulShutdownSignals: [UnixSignal] = [],
                                 onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> ServiceGroup {
        ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [BatchScheduler(service: self, interval: configuration.batchInterval), makeApplication(onServerRunning: onServerRunning)],
            gracefulShutdownSignals: gracefulShutdownSignals,
            logger: logger))
    }
}

/// Runs an incremental batch of every view every `interval` until a graceful shutdown.
/// A failed run is logged and the next one is tried at the next tick.
struct BatchScheduler: Service {
    let service: RevenueService
    let interval: Duration?

    func run() async throws {
        guard let interval else {
            try? await gracefulShutdown()
            return
        }
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await Task.sleep(for: interval)
                    do {
                        for s in try await service.runBatches() {
                            service.logger.info("scheduled batch", metadata: [
                                "view": "\(s.view)", "horizon": "\(s.horizon)", "seconds": "\(s.seconds)"])
                        }
                    } catch {
                        service.logger.error("scheduled batch failed: \(error)")
                    }
                }
            }
        } catch is CancellationError {
            // Graceful shutdown (or cancellation): stop scheduling.
        }
    }
}

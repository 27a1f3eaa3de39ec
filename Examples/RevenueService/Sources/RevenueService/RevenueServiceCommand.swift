import ArgumentParser
import Logging
import RevenueServiceCore

/// `RevenueService --store PATH [--host H] [--port P] [--batch-interval SECONDS]`: serves a
/// LambdaStore store over HTTP until SIGINT or SIGTERM, then shuts down gracefully.
@main
struct RevenueServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "RevenueService",
        abstract: "Hourly revenue per merchant over HTTP, on a LambdaStore store.")

    @Option(help: "The store directory (created when missing).")
    var store: String = "./revenue-data"

    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "The port to listen on (0: any free port).")
    var port: Int = 8080

    @Option(help: "Seconds between scheduled incremental batches (0: only on POST /admin/batch).")
    var batchInterval: Double = 60

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard batchInterval >= 0, batchInterval.isFinite else { throw ValidationError("--batch-interval must be a number of seconds >= 0") }
    }

    func run() async throws {
        let logger = {
            var logger = Logger(label: "revenue-service")
            logger.logLevel = .info
            return logger
        }()
        let config = RevenueServiceConfiguration(
            storePath: store, host: host, port: port,
            batchInterval: batchInterval > 0 ? .milliseconds(Int64(batchInterval * 1000)) : nil)
        let service = try await RevenueService(configuration: config, logger: logger)
        defer { service.close() }
        let group = service.makeServiceGroup(gracefulShutdownSignals: [.sigterm, .sigint]) { port in
            logger.info("listening on http://\(config.host):\(port) (store \(config.storePath))")
        }
        try await group.run()
    }
}

import ArgumentParser
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Streams, offsets, schema versions, views, horizons, freshness, pending late events, last drift.")
    @OptionGroup var common: StoreOptionsGroup

    func run() async throws {
        try await reportingErrors {
            let store = try await openStore(common.store, readOnly: true)
            defer { store.close() }
            let s = try await store.status()
            if common.json {
                print(s.json.serialized())
                return 0
            }
            print("store \(s.root)")
            if s.streams.isEmpty { print("no streams yet (lambdastore schema apply FILE)") }
            for st in s.streams {
                print("stream \(st.name): \(st.endOffset) events (offsets 0..<\(st.endOffset)), schema v\(st.schemaVersion), \(st.segments) segment(s), \(st.bytes) raw bytes, \(st.archiveFiles) archive file(s) \(st.archiveBytes) bytes, earliest replayable offset \(st.earliestReplayableOffset)")
            }
            for v in s.views {
                let i = v.info
                var line = "view \(i.definition.name) on \(i.definition.stream): fingerprint \(i.fingerprint), batch horizon \(i.horizon), \(v.eventsSinceHorizon) events in the speed layer"
                if let age = v.batchAgeMillis { line += ", batch published \(age / 1000) s ago" } else { line += ", no batch yet" }
                print(line)
                print("  speed layer: \(v.speedCells) cells, ~\(v.speedBytes) bytes, \(v.pendingLateEvents) late events pending for the next batch")
                if let d = v.lastDrift {
                    print("  last drift: \(d.status.rawValue), \(d.cellsDiffering)/\(d.cellsCompared) cells differ, \(d.lateEvents) late events (H \(d.fromHorizon)→\(d.toHorizon))")
                }
            }
            for u in s.unavailable { print("view \(u.view): UNAVAILABLE: \(u.reason)") }
            let speed = s.views.reduce(0) { $0 + $1.speedBytes }
            print("bytes: raw \(s.tiers.raw), archive \(s.tiers.archive), snapshots \(s.tiers.snapshots), speed ~\(speed)")
            return 0
        }
    }
}

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "Run the whole flow on generated marketplace orders in a fresh store and say what each layer served.")
    @Option(help: "Where to create the demo store (default: a new directory under /tmp).") var store: String?
    @Option(help: "How many orders to generate.") var events: Int = 120_000
    @Flag(help: "Print the tour on stderr and a JSON summary on stdout.") var json = false

    func run() async throws {
        try await reportingErrors {
            let path = store ?? "/tmp/lambdastore-demo-\(Store.nowMillis())"
            var options = StoreOptions()
            options.logger.logLevel = logLevel
            let asJSON = json
            let summary = try await Demo.run(at: path, events: events, options: options) { line in
                if asJSON { printError(line) } else { print(line) }
            }
            if json { print(summary.json.serialized()) }
            return 0
        }
    }
}

import ArgumentParser
import LambdaStore

struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "drift", abstract: "Print a view's persisted drift reports, newest first.")
    @OptionGroup var common: StoreOptionsGroup
    @Option(help: "The view.") var view: String

    func run() async throws {
        try await reportingErrors {
            let store = try openStore(common.store, readOnly: true)
            defer { store.close() }
            let reports = try store.driftReports(view: view)
            if common.json {
                print((["reports": .array(reports.map(\.json))] as JSONValue).serialized())
            } else if reports.isEmpty {
                print("no drift reports for \(view) yet (one is made at every batch publish)")
            } else {
                for d in reports {
                    print("\(Timestamp.format(d.at))  H \(d.fromHorizon)→\(d.toHorizon)  \(d.status.rawValue)  \(d.cellsDiffering)/\(d.cellsCompared) cells differ (rate \(d.divergenceRate))  late events \(d.lateEvents)  fingerprint \(d.fingerprint)")
                }
            }
            return 0
        }
    }
}

struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reconcile", abstract: "Recompute the windows the latest drift report flagged and publish the corrected view.")
    @OptionGroup var common: StoreOptionsGroup
    @Option(help: "The view.") var view: String

    func run() async throws {
        try await reportingErrors {
            let store = try openStore(common.store)
            defer { store.close() }
            let incident = try await store.reconcile(view: view)
            if common.json {
                print(incident.json.serialized())
            } else {
                print("view \(view): \(incident.windows.count) windows recomputed, \(incident.cellsCorrected) cells corrected in \(String(format3: incident.seconds)) s (horizon \(incident.horizon), fingerprint \(incident.fingerprint))")
            }
            return 0
        }
    }
}

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay", abstract: "Replay drill: rebuild a view from the whole history into a fresh location and check it equals the published one.")
    @OptionGroup var common: StoreOptionsGroup
    @Option(help: "The view.") var view: String
    @Option(help: "Recovery target in seconds (the drill reports whether it was met).") var target: Double = 60

    func run() async throws {
        try await reportingErrors {
            let store = try openStore(common.store, readOnly: true)
            defer { store.close() }
            let bar = stderrIsTerminal ? ProgressBar(label: "replay \(view)") : nil
            let r = try await store.replayDrill(view: view, recoveryTargetSeconds: target, progress: bar?.handler)
            if common.json {
                print(r.json.serialized())
            } else {
                print("view \(view): replayed \(r.events) events in \(String(format3: r.seconds)) s (\(Int(r.eventsPerSecond)) events/s); \(r.matchesPublished ? "identical to" : "DIFFERS from") the published snapshot at horizon \(r.horizon); recovery target \(r.recoveryTargetSeconds) s \(r.meetsTarget ? "met" : "MISSED")")
            }
            return r.matchesPublished ? 0 : 1
        }
    }
}

struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compact", abstract: "Apply retention and collect unreferenced snapshots.")
    @OptionGroup var common: StoreOptionsGroup

    func run() async throws {
        try await reportingErrors {
            let store = try openStore(common.store)
            defer { store.close() }
            let r = try await store.compact()
            if common.json {
                print(r.json.serialized())
            } else {
                print("removed \(r.filesRemoved.count) unreferenced files (\(r.bytesReclaimed) bytes)")
            }
            return 0
        }
    }
}

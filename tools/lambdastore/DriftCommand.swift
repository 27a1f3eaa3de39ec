import ArgumentParser
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews

struct DriftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "drift", abstract: "Print a view's persisted drift reports, newest first.")
    @OptionGroup var common: StoreOptionsGroup
    @Option(help: "The view.") var view: String

    func run() async throws {
        try await reportingErrors {
            let store = try await openStore(common.store, readOnly: true)
            defer { store.close() }
            let reports = try await store.driftReports(view: view)
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
            let store = try await openStore(common.store)
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
            let store = try await openStore(common.store, readOnly: true)
            defer { store.close() }
            let bar = stderrIsTerminal ? ProgressBar(label: "replay \(view)") : nil
            let r = try await store.replayDrill(view: view, recoveryTargetSeconds: target, progress: bar?.handler)
            if common.json {
                print(r.json.serialized())
            } else {
                print("view \(view): replayed \(r.events) events in \(String(format3: r.seconds)) s (\(Int(r.eventsPerSecond)) events/s); \(r.identicalBytes ? "identical to" : r.matchesPublished ? "the same rows as (other bytes: written by another writer build or other snapshot options)" : "DIFFERS from") the published snapshot at horizon \(r.horizon); recovery target \(r.recoveryTargetSeconds) s \(r.meetsTarget ? "met" : "MISSED")")
            }
            return r.matchesPublished ? 0 : 1
        }
    }
}

struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compact",
        abstract: "Apply every lifecycle policy now: roll, archive, raw retention, history drop, snapshot GC.")
    @OptionGroup var common: StoreOptionsGroup
    @Flag(name: .long, help: "Report what would be done; change nothing.") var dryRun = false

    func run() async throws {
        try await reportingErrors {
            let store = try await openStore(common.store)
            defer { store.close() }
            let bar = stderrIsTerminal && !dryRun ? ProgressBar(label: "compact") : nil
            let r = try await store.compact(dryRun: dryRun, progress: bar?.handler)
            if common.json {
                print(r.json.serialized())
            } else {
                let archived = r.streams.reduce(0) { $0 + $1.archivedSegments }
                let events = r.streams.reduce(Int64(0)) { $0 + $1.archivedEvents }
                let segs = r.streams.reduce(0) { $0 + $1.removedSegments }
                let verb = dryRun ? "would " : ""
                print("\(verb)roll \(r.rolled) segments, \(verb)archive \(archived) segments (\(events) events), \(verb)remove \(segs) raw segments and \(r.snapshotsRemoved) snapshots (\(r.bytesReclaimed) bytes)")
                print("bytes raw \(r.before.raw) -> \(r.after.raw), archive \(r.before.archive) -> \(r.after.archive), snapshots \(r.before.snapshots) -> \(r.after.snapshots)")
                for s in r.streams {
                    if s.droppedEvents > 0 { print("stream \(s.stream): \(verb)drop \(s.droppedEvents) events of history; earliest replayable offset \(s.earliestReplayableOffset)") }
                    for n in s.notes { print("stream \(s.stream): \(n)") }
                }
            }
            return 0
        }
    }
}

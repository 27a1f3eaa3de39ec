import ArgumentParser
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews

struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "batch", abstract: "Recompute views from the log and publish them atomically.")
    @OptionGroup var common: StoreOptionsGroup
    @Option(help: "The view (default: every view).") var view: String?
    @Flag(help: "Recompute only the windows that received events since the previous horizon.") var incremental = false
    @Option(help: "Also recompute every window starting at or after this time (with --to).") var from: String?
    @Option(help: "…and before this time.") var to: String?

    func validate() throws {
        if (from == nil) != (to == nil) { throw ValidationError("--from and --to go together") }
    }

    func run() async throws {
        try await reportingErrors {
            let mode: BatchMode
            if let from, let to {
                mode = .targeted(from: try parseTime(from, option: "--from"), to: try parseTime(to, option: "--to"))
            } else {
                mode = incremental ? .incremental : .full
            }
            let store = try await openStore(common.store)
            defer { store.close() }
            // Every view gets its run and its line, whichever fails: one broken view does not
            // hide the others' results. Unavailable views are reported as failed.
            let names = view.map { [$0] } ?? (store.views().map(\.definition.name) + store.unavailableViews.map(\.view)).sorted()
            var results: [(name: String, result: Result<BatchSummary, LambdaStoreError>)] = []
            for name in names {
                let bar = stderrIsTerminal ? ProgressBar(label: "batch \(name)") : nil
                do throws(LambdaStoreError) {
                    let s = try await store.runBatch(view: name, mode: mode, progress: bar?.handler)
                    results.append((name, .success(s)))
                    if !common.json {
                        print("view \(name): horizon \(s.horizon), \(s.eventsScanned) events in \(String(format3: s.seconds)) s (\(Int(s.eventsPerSecond)) events/s), \(s.windowsRecomputed) windows recomputed, \(s.rows) rows, \(s.bytesWritten) bytes written")
                        if let d = s.drift {
                            print("  drift: \(d.status.rawValue): \(d.cellsDiffering)/\(d.cellsCompared) cells differ (rate \(d.divergenceRate)), \(d.lateEvents) late events")
                        }
                    }
                } catch {
                    results.append((name, .failure(error)))
                    if view != nil { throw error }
                    printError("lambdastore: view \(name): \(error)")
                }
            }
            if common.json {
                if view != nil, case .success(let s)? = results.first?.result {
                    print(s.json.serialized())
                } else {
                    print((["views": .array(results.map { r in
                        switch r.result {
                        case .success(let s): return s.json
                        case .failure(let e): return (["view": .string(r.name), "error": .string(e.description)] as JSONValue)
                        }
                    })] as JSONValue).serialized())
                }
            }
            if results.contains(where: { if case .failure = $0.result { true } else { false } }) { return 1 }
            return 0
        }
    }
}

extension String {
    /// `x` with three decimals.
    init(format3 x: Double) {
        let ms = Int64((x * 1000).rounded())
        let frac = String(ms % 1000)
        self = "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}

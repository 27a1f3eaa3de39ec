import Dispatch
import LambdaStoreCore
import LambdaStoreViews
#if canImport(Glibc)
import Glibc
#endif

/// The result of a replay drill (`lambdastore replay`).
public struct ReplayReport: Sendable {
    /// The view.
    public var view: String
    /// The horizon replayed to (the published one, so the files can be compared).
    public var horizon: Int64
    /// Events replayed.
    public var events: Int64
    /// Seconds for the full rebuild (read, aggregate, write).
    public var seconds: Double
    /// Events per second.
    public var eventsPerSecond: Double
    /// Whether the rebuilt snapshot is byte-identical to the published one (true when nothing
    /// was published yet and there is nothing to compare).
    public var matchesPublished: Bool
    /// Whether a snapshot was published to compare against.
    public var comparedWithPublished: Bool
    /// The recovery target, seconds.
    public var recoveryTargetSeconds: Double
    /// `seconds <= recoveryTargetSeconds`.
    public var meetsTarget: Bool

    /// The JSON form.
    public var json: JSONValue {
        ([
            "view": .string(view), "horizon": .int(horizon), "events": .int(events), "seconds": .double(seconds),
            "eventsPerSecond": .double(eventsPerSecond), "matchesPublished": .bool(matchesPublished),
            "comparedWithPublished": .bool(comparedWithPublished), "recoveryTargetSeconds": .double(recoveryTargetSeconds),
            "meetsTarget": .bool(meetsTarget),
        ] as JSONValue)
    }
}

extension Store {
    /// Rebuilds `view` from the whole history into a fresh location, checks it equals the
    /// published snapshot byte for byte, and reports the duration against a recovery target.
    /// Works on a read-only store: the rebuilt file goes to a private directory that is removed.
    /// - Complexity: O(events below the published horizon).
    public func replayDrill(view name: String, recoveryTargetSeconds: Double = 60, progress: ProgressHandler? = nil) async throws(LambdaStoreError) -> ReplayReport {
        let v = try runtime(name)
        let stream = try log.stream(v.definition.stream)
        let published = v.manifest.files.first
        let horizon = published != nil ? v.manifest.horizon : stream.visibleEndOffset
        let dir = Path.join(root, ".replay-\(getpid())-\(options.clock())")
        try fs.createDirectory(dir)
        defer {
            if let names = try? fs.list(dir) { for n in names { try? fs.remove(Path.join(dir, n)) } }
            try? fs.remove(dir)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let (table, events) = try recomputeAll(stream: stream, view: v.compiled, horizon: horizon, progress: progress)
        let path = Path.join(dir, "replay.snapshot")
        _ = try writeSnapshot(table, path: path, view: name, definition: v.definition, compiled: v.compiled, horizon: horizon)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var matches = true
        if let published {
            let a = try fs.readFile(path, limit: Int(Int32.max))
            let b = try fs.readFile(Path.join(viewDirectory(name), published.name), limit: Int(Int32.max))
            matches = a == b
        }
        Metrics.replayed(view: name, seconds: seconds)
        return ReplayReport(view: name, horizon: horizon, events: events, seconds: seconds,
                            eventsPerSecond: seconds > 0 ? Double(events) / seconds : 0, matchesPublished: matches,
                            comparedWithPublished: published != nil, recoveryTargetSeconds: recoveryTargetSeconds,
                            meetsTarget: seconds <= recoveryTargetSeconds)
    }
}

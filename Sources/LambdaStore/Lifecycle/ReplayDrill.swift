import Dispatch
import LambdaStoreColumnar
import LambdaStoreCore
import LambdaStoreViews

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
    /// Whether the rebuilt snapshot holds exactly what the published one holds: the same files
    /// (a windowed view's head and parts), each with the same columns, metadata and rows, value
    /// for value (true when nothing was published yet and there is nothing to compare).
    /// Chunk encodings, codecs and row-group boundaries may differ: another build of the
    /// writer, or another zstd library, may write other bytes for the same snapshot.
    public var matchesPublished: Bool
    /// Whether the rebuilt files are also byte-identical to the published ones (what a run of
    /// this build writes; false with ``matchesPublished`` true when the published files came
    /// from another writer build or other snapshot options).
    public var identicalBytes: Bool
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
            "eventsPerSecond": .double(eventsPerSecond), "matchesPublished": .bool(matchesPublished), "identicalBytes": .bool(identicalBytes),
            "comparedWithPublished": .bool(comparedWithPublished), "recoveryTargetSeconds": .double(recoveryTargetSeconds),
            "meetsTarget": .bool(meetsTarget),
        ] as JSONValue)
    }
}

extension Store {
    /// Rebuilds `view` from the whole history, checks it equals the published snapshot (byte
    /// for byte, else row for row), and reports the duration against a recovery target.
    ///
    /// Writes nothing anywhere: the rebuilt snapshot is encoded in memory (the bytes a batch
    /// publish would write), so the drill runs on a read-only store and leaves the store
    /// directory exactly as it was.
    /// - Complexity: O(events below the published horizon); memory for the rebuilt snapshot
    ///   and, when one is published, the published file.
    ///
    /// The replay blocks a thread for as long as it takes: it runs off the cooperative pool.
    public func replayDrill(view name: String, recoveryTargetSeconds: Double = 60, progress: ProgressHandler? = nil) async throws(LambdaStoreError) -> ReplayReport {
        try await Blocking.run { () throws(LambdaStoreError) -> ReplayReport in
            try self.replayDrillBlocking(view: name, recoveryTargetSeconds: recoveryTargetSeconds, progress: progress)
        }
    }

    /// ``replayDrill(view:recoveryTargetSeconds:progress:)`` on the calling thread.
    func replayDrillBlocking(view name: String, recoveryTargetSeconds: Double, progress: ProgressHandler?) throws(LambdaStoreError) -> ReplayReport {
        let v = try runtime(name)
        let stream = try log.stream(v.definition.stream)
        let published = v.manifest.files
        let horizon = !published.isEmpty ? v.manifest.horizon : stream.visibleEndOffset
        let start = DispatchTime.now().uptimeNanoseconds
        let (table, events) = try recomputeAll(stream: stream, view: v.compiled, horizon: horizon, progress: progress)
        // A windowed view's snapshot is its parts by window range, in manifest order.
        let rebuilt = v.compiled.layout.window == .none
            ? [try snapshotBytes(table, view: name, definition: v.definition, compiled: v.compiled, horizon: horizon)]
            : try snapshotPartBytes(table, view: name, definition: v.definition, compiled: v.compiled, horizon: horizon)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var matches = true, identical = true
        if !published.isEmpty {
            let paths = published.map { Path.join(viewDirectory(name), $0.name) }
            for p in paths { pins.pin(p) }   // compaction leaves them while they are compared
            defer { for p in paths { pins.unpin(p) } }
            matches = rebuilt.count == paths.count
            identical = matches
            for (p, bytes) in zip(paths, rebuilt) where matches {
                if try fs.readFile(p, limit: Int(Int32.max)) == bytes { continue }
                identical = false
                matches = Self.sameSnapshotContent(fs: fs, path: p, rebuilt: bytes)
            }
        }
        Metrics.replayed(view: name, seconds: seconds)
        return ReplayReport(view: name, horizon: horizon, events: events, seconds: seconds,
                            eventsPerSecond: seconds > 0 ? Double(events) / seconds : 0, matchesPublished: matches, identicalBytes: identical,
                            comparedWithPublished: !published.isEmpty, recoveryTargetSeconds: recoveryTargetSeconds,
                            meetsTarget: seconds <= recoveryTargetSeconds)
    }

    /// Whether the snapshot file at `path` holds what the snapshot `rebuilt` holds: the same
    /// columns (names, types, nullability), metadata, row count and rows, value for value
    /// (floats by bit pattern, nulls by position), whatever their encodings, codecs and row
    /// groups. A file that cannot be read (damaged, missing) does not match; `verify` names
    /// the damage.
    /// - Complexity: O(rows); one decoded column of each file in memory at a time.
    package static func sameSnapshotContent(fs: any FileSystem, path: String, rebuilt: [UInt8]) -> Bool {
        do throws(LambdaStoreError) {
            let a = try SnapshotReader.open(fs: fs, path: path, keepOpen: false)
            let b = try SnapshotReader(bytes: rebuilt, path: "<rebuilt>")
            guard a.columns == b.columns, a.metadata == b.metadata, a.rowCount == b.rowCount else { return false }
            for c in a.columns.indices {
                guard let x = try a.readColumns(at: [c]).first, let y = try b.readColumns(at: [c]).first else { return false }
                guard x.type == y.type, x.count == y.count, x.nullCount == y.nullCount, x.validity == y.validity,
                      x.ints == y.ints, x.offsets == y.offsets, x.utf8 == y.utf8,
                      x.doubles.elementsEqual(y.doubles, by: { $0.bitPattern == $1.bitPattern }) else { return false }
            }
            return true
        } catch {
            return false
        }
    }
}

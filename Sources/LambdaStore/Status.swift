import LambdaStoreCore
import LambdaStoreLog

/// One stream in ``StoreStatus``.
public struct StreamStatus: Sendable {
    /// The stream name.
    public var name: String
    /// Events appended (the next offset).
    public var endOffset: Int64
    /// The latest schema version.
    public var schemaVersion: UInt32
    /// Segment files.
    public var segments: Int
    /// Bytes in segment files.
    public var bytes: Int64
    /// Bytes in archive files (the manifest's list).
    public var archiveBytes: Int64 = 0
    /// Archive files.
    public var archiveFiles: Int = 0
    /// The first offset of the history still kept (raw or archived).
    public var earliestReplayableOffset: Int64 = 0
}

/// One view in ``StoreStatus``.
public struct ViewStatus: Sendable {
    /// Definition, fingerprint, horizon.
    public var info: ViewInfo
    /// Events appended since the horizon (what the speed layer covers).
    public var eventsSinceHorizon: Int64
    /// Milliseconds since the live snapshot was published (nil before the first batch).
    public var batchAgeMillis: Int64?
    /// Late events the speed layer has not applied since the horizon (a batch will include them).
    public var pendingLateEvents: Int64
    /// Cells held by the speed layer.
    public var speedCells: Int
    /// Approximate bytes held by the speed layer.
    public var speedBytes: Int
    /// The newest drift report.
    public var lastDrift: DriftReport?
}

/// The answer of ``Store/status()``.
public struct StoreStatus: Sendable {
    /// The store directory.
    public var root: String
    /// Streams, sorted by name.
    public var streams: [StreamStatus]
    /// Views, sorted by name.
    public var views: [ViewStatus]
    /// Views that could not be loaded (damaged or missing files), with the reason, by name.
    public var unavailable: [(view: String, reason: String)] = []
    /// Bytes per tier: raw, archive, snapshots; and the speed layers' approximate memory.
    public var tiers = TierBytes()

    /// The JSON form printed by `lambdastore status --json`.
    public var json: JSONValue {
        ([
            "store": .string(root),
            "streams": .array(streams.map { s in
                (["name": .string(s.name), "endOffset": .int(s.endOffset), "events": .int(s.endOffset),
                      "schemaVersion": .int(Int64(s.schemaVersion)), "segments": .int(Int64(s.segments)),
                      "archiveFiles": .int(Int64(s.archiveFiles)),
                      "bytes": ["raw": .int(s.bytes), "archive": .int(s.archiveBytes)],
                      "earliestReplayableOffset": .int(s.earliestReplayableOffset)] as JSONValue)
            }),
            "views": .array(views.map { v in
                (["name": .string(v.info.definition.name), "stream": .string(v.info.definition.stream),
                      "fingerprint": .string(v.info.fingerprint), "horizon": .int(v.info.horizon),
                      "maxEventTime": .int(v.info.maxEventTime), "eventsSinceHorizon": .int(v.eventsSinceHorizon),
                      "batchAgeMillis": .int(v.batchAgeMillis), "pendingLateEvents": .int(v.pendingLateEvents),
                      "speedCells": .int(Int64(v.speedCells)), "speedBytes": .int(Int64(v.speedBytes)),
                      "lastDrift": v.lastDrift?.json ?? .null] as JSONValue)
            }),
            "unavailable": .array(unavailable.map { (["name": .string($0.view), "reason": .string($0.reason)] as JSONValue) }),
            "bytes": ["raw": .int(tiers.raw), "archive": .int(tiers.archive), "snapshots": .int(tiers.snapshots),
                      "speed": .int(Int64(views.reduce(0) { $0 + $1.speedBytes }))],
        ] as JSONValue)
    }
}

extension Store {
    /// Streams, offsets, schema versions, views, horizons, freshness, pending late events and the
    /// last drift report (builds each view's speed layer if it is not built yet).
    ///
    /// Lists directories, reads drift files and may replay a stream: off the cooperative pool.
    public func status() async throws(LambdaStoreError) -> StoreStatus {
        try await Blocking.run { () throws(LambdaStoreError) -> StoreStatus in try self.statusBlocking() }
    }

    /// ``status()`` on the calling thread.
    func statusBlocking() throws(LambdaStoreError) -> StoreStatus {
        try requireOpen()
        var streams: [StreamStatus] = []
        for name in log.streamNames() {
            let s = try log.stream(name)
            let dir = Path.join(root, "streams", name)
            var segments = 0
            var bytes: Int64 = 0
            for f in (try? fs.list(dir)) ?? [] where f.hasSuffix(".segment") {
                segments += 1
                if let h = try? fs.open(Path.join(dir, f), mode: .read) { bytes += (try? h.size()) ?? 0; try? h.close() }
            }
            let archive = s.archiveManifest
            streams.append(StreamStatus(name: name, endOffset: s.endOffset, schemaVersion: s.latestSchema.version, segments: segments, bytes: bytes,
                                        archiveBytes: archive.files.reduce(0) { $0 + $1.bytes }, archiveFiles: archive.files.count,
                                        earliestReplayableOffset: archive.earliestReplayableOffset))
        }
        var views: [ViewStatus] = []
        let now = options.clock()
        for info in self.views() {
            let name = info.definition.name
            let h = try handle(name)
            try ensureSpeed(h)
            let end = try log.stream(info.definition.stream).endOffset
            let speed: (lateEvents: Int64, cellCount: Int, approximateBytes: Int)? = h.state.withLock { rt in
                rt.speed.map { ($0.lateEvents, $0.cellCount, $0.approximateBytes) }
            }
            if let b = speed?.approximateBytes { Metrics.speedBytes(view: name, bytes: b) }
            if let p = info.publishedAt { Metrics.freshness(view: name, millis: now - p) }
            views.append(ViewStatus(info: info, eventsSinceHorizon: end - info.horizon, batchAgeMillis: info.publishedAt.map { now - $0 },
                                    pendingLateEvents: speed?.lateEvents ?? 0, speedCells: speed?.cellCount ?? 0,
                                    speedBytes: speed?.approximateBytes ?? 0, lastDrift: try driftReportsBlocking(view: name).first { $0.fingerprint == info.fingerprint }))
        }
        let tiers = tierBytesBlocking()
        Metrics.tierBytes(tiers)
        return StoreStatus(root: root, streams: streams, views: views,
                           unavailable: unavailableViews.map { ($0.view, $0.reason.description) }, tiers: tiers)
    }
}

extension Store {
    /// The listing of one view.
    /// - Throws: `.notFound` for an unknown view.
    public func viewInfo(_ name: String) throws(LambdaStoreError) -> ViewInfo {
        guard let v = views().first(where: { $0.definition.name == name }) else {
            throw LambdaStoreError(.notFound, "no view named '\(name)'")
        }
        return v
    }
}

import Dispatch
import LambdaStoreCore
import LambdaStoreViews
import Logging

/// A reconciliation incident (persisted per view, format-spec.md §6.1).
public struct ReconcileIncident: Sendable {
    /// The view.
    public var view: String
    /// The fingerprint of the corrected view.
    public var fingerprint: String
    /// The window starts recomputed because a drift report flagged them.
    public var windows: [Int64?]
    /// Cells whose served value changed.
    public var cellsCorrected: Int64
    /// The new horizon.
    public var horizon: Int64
    /// The horizon of the drift report acted on.
    public var reportHorizon: Int64?
    /// Seconds taken.
    public var seconds: Double
    /// When, epoch ms.
    public var at: Int64

    /// The JSON form.
    public var json: JSONValue {
        ([
            "view": .string(view), "fingerprint": .string(fingerprint),
            "windows": .array(windows.map { .int($0) }), "cellsCorrected": .int(cellsCorrected),
            "horizon": .int(horizon), "reportHorizon": .int(reportHorizon), "seconds": .double(seconds), "at": .int(at),
        ] as JSONValue)
    }
}

extension Store {
    /// Targeted replay of the windows the newest drift report flagged: recomputes them (and any
    /// window that received events since the horizon) from the whole log, publishes the
    /// corrected view, and records the incident.
    /// - Throws: `.notFound` for an unknown view.
    public func reconcile(view name: String) async throws(LambdaStoreError) -> ReconcileIncident {
        try requireWritable()
        let h = try handle(name)
        return try await h.runs.withLock { () async throws(LambdaStoreError) -> ReconcileIncident in
            try await reconcileLocked(h)
        }
    }

    /// A reconciliation of `handle`, whose ``ViewHandle/runs`` turn the caller holds.
    func reconcileLocked(_ h: ViewHandle) async throws(LambdaStoreError) -> ReconcileIncident {
        let name = h.name
        let start = DispatchTime.now().uptimeNanoseconds
        let report = try driftReports(view: name).first
        let windows = report?.differingWindows ?? []
        let starts = windows.compactMap { $0 }
        // What is served now for the flagged windows.
        func servedCells() throws(LambdaStoreError) -> [String: [Value]] {
            var out: [String: [Value]] = [:]
            for w in starts {
                for row in try query(QueryRequest(view: name, from: w, to: w + 1)).rows {
                    out["\(w)|\(row.key)"] = row.values
                }
            }
            if windows.contains(where: { $0 == nil }) {
                for row in try query(QueryRequest(view: name)).rows where row.windowStart == nil { out["nil|\(row.key)"] = row.values }
            }
            return out
        }
        let before = try servedCells()
        let summary = try await runBatchLocked(h, mode: windows.contains(where: { $0 == nil }) ? .full : .windows(starts), replacing: nil, progress: nil)
        let after = try servedCells()
        var corrected: Int64 = 0
        for k in Set(before.keys).union(after.keys) where before[k] != after[k] { corrected += 1 }
        let incident = ReconcileIncident(view: name, fingerprint: summary.fingerprint, windows: windows, cellsCorrected: corrected,
                                         horizon: summary.horizon, reportHorizon: report?.toHorizon,
                                         seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, at: options.clock())
        try appendIncident(incident)
        options.logger.notice("reconciled \(windows.count) flagged windows, \(corrected) cells corrected",
                              metadata: ["view": .string(name), "horizon": .stringConvertible(summary.horizon)])
        Metrics.reconciled(view: name, cells: corrected)
        return incident
    }

    func appendIncident(_ incident: ReconcileIncident) throws(LambdaStoreError) {
        let path = Path.join(viewDirectory(incident.view), "INCIDENTS")
        var items: [JSONValue] = []
        if fs.exists(path) {
            let payload = try MetadataFile.decode(try fs.readFile(path, limit: Limits.metadataBytesMax + 64), kind: "INCIDENT", path: path)
            if case .array(let a) = try JSONValue.parse(payload) { items = a }
        }
        items.append(incident.json)
        if items.count > 10_000 { items.removeFirst(items.count - 10_000) }
        try fs.writeFileAtomically(path, MetadataFile.encode(kind: "INCIDENT", payload: Array(JSONValue.array(items).serialized().utf8)))
    }
}

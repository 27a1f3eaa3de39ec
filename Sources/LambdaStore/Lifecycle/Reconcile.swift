import Dispatch
import LambdaStoreCore
import LambdaStoreViews
import Logging

/// A reconciliation incident (persisted per view, format-spec.md §6.5).
public struct ReconcileIncident: Sendable {
    /// The view.
    public var view: String
    /// The fingerprint of the corrected view.
    public var fingerprint: String
    /// The window starts the drift report flagged, as far as it listed them (a prefix of
    /// ``windowsTotal`` windows when its details were bounded).
    public var windows: [Int64?]
    /// How many windows the drift report flagged (JSON key `windowsTotal`).
    public var windowsTotal: Int64
    /// Whether the whole view was recomputed because the report did not list every flagged
    /// window (or flagged a view without windows) (JSON key `fullRecompute`).
    public var fullRecompute: Bool
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
            "windows": .array(windows.map { .int($0) }), "windowsTotal": .int(windowsTotal), "fullRecompute": .bool(fullRecompute),
            "cellsCorrected": .int(cellsCorrected),
            "horizon": .int(horizon), "reportHorizon": .int(reportHorizon), "seconds": .double(seconds), "at": .int(at),
        ] as JSONValue)
    }
}

extension Store {
    /// Targeted replay of the windows the newest drift report flagged: recomputes them (and any
    /// window that received events since the horizon) from the whole log, publishes the
    /// corrected view, and records the incident. When the report does not list every flagged
    /// window (its details were truncated or dropped to bound the drift file, or only the
    /// manifest's summary survived), the whole view is recomputed instead, so every differing
    /// cell is still corrected.
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
        let report = try await driftReports(view: name).first
        let windows = report?.differingWindows ?? []
        let starts = windows.compactMap { $0 }
        let full = !(report?.differingWindowsComplete ?? true) || windows.contains(where: { $0 == nil })
        // What is served now for the flagged windows (every window for a full recompute).
        func servedCells() async throws(LambdaStoreError) -> [String: [Value]] {
            var out: [String: [Value]] = [:]
            if full {
                for row in try await query(QueryRequest(view: name)).rows {
                    out["\(row.windowStart.map { String($0) } ?? "nil")|\(row.key)"] = row.values
                }
                return out
            }
            for w in starts {
                for row in try await query(QueryRequest(view: name, from: w, to: w == .max ? nil : w + 1)).rows {
                    out["\(w)|\(row.key)"] = row.values
                }
            }
            return out
        }
        let before = try await servedCells()
        let summary = try await runBatchLocked(h, mode: full ? .full : .windows(starts), replacing: nil, progress: nil)
        let after = try await servedCells()
        var corrected: Int64 = 0
        for k in Set(before.keys).union(after.keys) where before[k] != after[k] { corrected += 1 }
        let total = report?.differingWindowsTotal ?? 0
        let incident = ReconcileIncident(view: name, fingerprint: summary.fingerprint, windows: windows, windowsTotal: total,
                                         fullRecompute: full, cellsCorrected: corrected,
                                         horizon: summary.horizon, reportHorizon: report?.toHorizon,
                                         seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, at: options.clock())
        try await Blocking.run { () throws(LambdaStoreError) in try self.appendIncident(incident) }
        options.logger.notice("reconciled \(total) flagged windows\(full ? " by a full recompute" : ""), \(corrected) cells corrected",
                              metadata: ["view": .string(name), "horizon": .stringConvertible(summary.horizon)])
        Metrics.reconciled(view: name, cells: corrected)
        return incident
    }

    /// Appends an incident: at most `Limits/incidentsCountMax` incidents and
    /// `Limits/incidentsFileBytesMax` bytes of JSON, the oldest incidents' `windows` dropped
    /// first (format-spec.md §6.5).
    func appendIncident(_ incident: ReconcileIncident) throws(LambdaStoreError) {
        let path = Path.join(viewDirectory(incident.view), "INCIDENTS")
        var items: [JSONValue] = []
        if fs.exists(path) {
            let payload = try MetadataFile.decode(try fs.readFile(path, limit: Limits.metadataBytesMax + 64), kind: "INCIDENT", path: path)
            if case .array(let a) = try JSONValue.parse(payload) { items = a }
        }
        items.append(incident.json)
        if items.count > Limits.incidentsCountMax { items.removeFirst(items.count - Limits.incidentsCountMax) }
        let payload = DetailBound.fit(items, listKey: "windows", maxBytes: Limits.incidentsFileBytesMax)
        try fs.writeFileAtomically(path, MetadataFile.encode(kind: "INCIDENT", payload: payload))
    }
}

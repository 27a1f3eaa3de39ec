import LambdaStoreCore

extension Store {
    func driftPath(_ view: String) -> String { Path.join(viewDirectory(view), "DRIFT") }

    /// Reads a view's persisted drift reports, oldest first (format-spec.md §6.1).
    func loadDriftReports(view: String) throws(LambdaStoreError) -> [DriftReport] {
        let path = driftPath(view)
        guard fs.exists(path) else { return [] }
        let payload = try MetadataFile.decode(try fs.readFile(path, limit: Limits.metadataBytesMax + 64), kind: "DRIFT", path: path)
        guard case .array(let items) = try JSONValue.parse(payload) else {
            throw LambdaStoreError.corruption("drift file payload is not a JSON array", path: path, offset: nil)
        }
        var out: [DriftReport] = []
        for item in items { out.append(try DriftReport(json: item, path: path)) }
        return out
    }

    /// Appends a report: the file is rewritten atomically (temp, fsync, rename, fsync dir).
    /// The newest report is also carried in the manifest, so a crash between the manifest
    /// publish and this write loses nothing: ``driftReports(view:)`` adds it back.
    func appendDriftReport(_ report: DriftReport, view: String) throws(LambdaStoreError) {
        var all = try loadDriftReports(view: view)
        if all.last?.toHorizon == report.toHorizon && all.last?.at == report.at { return }
        all.append(report)
        // Bound the file: keep the newest reports that fit in the metadata limit.
        var payload = Array(JSONValue.array(all.map(\.json)).serialized().utf8)
        while payload.count > Limits.metadataBytesMax / 2 && all.count > 1 {
            all.removeFirst(max(1, all.count / 10))
            payload = Array(JSONValue.array(all.map(\.json)).serialized().utf8)
        }
        try fs.writeFileAtomically(driftPath(view), MetadataFile.encode(kind: "DRIFT", payload: payload))
    }

    /// The persisted drift reports of `view`, newest first.
    /// - Throws: `.notFound` for an unknown view, `.corruption` for a damaged drift file.
    public func driftReports(view: String) throws(LambdaStoreError) -> [DriftReport] {
        let v = try runtime(view)
        var all = try loadDriftReports(view: view)
        if let text = v.manifest.extra["drift"] {
            let latest = try DriftReport(json: try JSONValue.parse(text), path: Path.join(viewDirectory(view), "MANIFEST"))
            if !all.contains(where: { $0.toHorizon == latest.toHorizon && $0.at == latest.at }) { all.append(latest) }
        }
        return all.reversed()
    }
}

import LambdaStoreCore

/// Keeps a JSON array of records under a byte bound by shortening their detail lists: the
/// rule format-spec.md §6.4 (`DRIFT`, list `differingWindows`) and §6.5 (`INCIDENTS`, list
/// `windows`) fix.
///
/// Lists are kept newest record first: each record keeps its whole list while it fits, the
/// first one that does not fit keeps the longest prefix that fits, and every older record keeps
/// an empty list. Every other member (the counts, and the list's full length the caller stored
/// beside it) is kept. Only when the records with empty lists still exceed the bound are the
/// oldest records dropped; the newest is always kept.
enum DetailBound {
    /// The compact JSON text of the array of `items` (oldest first) bounded to `maxBytes`.
    /// - Parameters:
    ///   - items: the records, oldest first; an object whose `listKey` member is an array has
    ///     that array shortened, any other item is kept whole or dropped whole.
    ///   - listKey: the key of the detail list.
    ///   - maxBytes: the bound on the returned text (exceeded only by a newest record whose
    ///     members other than the list exceed it on their own).
    /// - Complexity: O(size of the serialized items).
    static func fit(_ items: [JSONValue], listKey: String, maxBytes: Int) -> [UInt8] {
        var out: [UInt8] = []
        JSONValue.array(items).serialize(into: &out)
        if out.count <= maxBytes || items.isEmpty { return out }

        // Each record's size with an empty list, and its list.
        var scratch: [UInt8] = []
        var heads: [Int] = [], lists: [[JSONValue]] = [], listIndex: [Int?] = []
        heads.reserveCapacity(items.count)
        for item in items {
            var head = item, list: [JSONValue] = [], at: Int? = nil
            if case .object(var members) = item, let i = members.firstIndex(where: { $0.key == listKey }),
               case .array(let a) = members[i].value {
                list = a
                at = i
                members[i].value = .array([])
                head = .object(members)
            }
            scratch.removeAll(keepingCapacity: true)
            head.serialize(into: &scratch)
            heads.append(scratch.count)
            lists.append(list)
            listIndex.append(at)
        }
        // `[` + records joined by `,` + `]`: drop the oldest records while even empty lists do not fit.
        let n = items.count
        var first = 0
        var total = 2 + heads.reduce(0, +) + (n - 1)
        while total > maxBytes && first < n - 1 {
            total -= heads[first] + 1
            first += 1
        }
        // Spend what is left on the lists, newest record first.
        var budget = maxBytes - total
        var keep = Array(repeating: 0, count: n)
        var i = n - 1
        while i >= first && budget > 0 {
            var used = 0, k = 0
            for e in lists[i] {
                scratch.removeAll(keepingCapacity: true)
                e.serialize(into: &scratch)
                let cost = scratch.count + (k > 0 ? 1 : 0)
                if used + cost > budget { break }
                used += cost
                k += 1
            }
            keep[i] = k
            budget -= used
            if k < lists[i].count { break }
            i -= 1
        }
        var kept: [JSONValue] = []
        kept.reserveCapacity(n - first)
        for j in first..<n {
            guard let at = listIndex[j], keep[j] < lists[j].count, case .object(var members) = items[j] else {
                kept.append(items[j])
                continue
            }
            members[at].value = .array(Array(lists[j].prefix(keep[j])))
            kept.append(.object(members))
        }
        out.removeAll(keepingCapacity: true)
        JSONValue.array(kept).serialize(into: &out)
        return out
    }
}

extension Store {
    func driftPath(_ view: String) -> String { Path.join(viewDirectory(view), "DRIFT") }

    /// Reads a view's persisted drift reports, oldest first (format-spec.md §6.1, §6.4). Files
    /// written before `Limits/driftFileBytesMax` existed may be up to `Limits/metadataBytesMax`.
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

    /// Appends a report: the file is rewritten atomically (temp, fsync, rename, fsync dir),
    /// bounded to `Limits/driftFileBytesMax` by `DetailBound` (the oldest reports'
    /// `differingWindows` go first, their counts stay).
    ///
    /// The newest report's summary is also carried in the manifest, so a crash between the
    /// manifest publish and this write loses no counts: ``driftReports(view:)`` adds it back, and
    /// the next append writes it into the file from the manifest still live in memory (the one
    /// this publish replaces) when the file lacks it.
    func appendDriftReport(_ report: DriftReport, view: String) throws(LambdaStoreError) {
        var all = try loadDriftReports(view: view)
        func known(_ r: DriftReport) -> Bool { all.contains { $0.toHorizon == r.toHorizon && $0.at == r.at } }
        if known(report) { return }
        // Best effort: an unreadable carried summary must not fail a publish already committed.
        if let text = (try? runtime(view))?.manifest.extra["drift"],
           let json = try? JSONValue.parse(text),
           let carried = try? DriftReport(json: json, path: nil),
           !known(carried), carried.toHorizon != report.toHorizon || carried.at != report.at {
            all.append(carried)
        }
        all.append(report)
        let payload = DetailBound.fit(all.map(\.json), listKey: "differingWindows", maxBytes: Limits.driftFileBytesMax)
        try fs.writeFileAtomically(driftPath(view), MetadataFile.encode(kind: "DRIFT", payload: payload))
    }

    /// The persisted drift reports of `view`, newest first. A report read back from the
    /// manifest's summary (its `DRIFT` write was lost) has no `differingWindows`.
    /// - Throws: `.notFound` for an unknown view, `.corruption` for a damaged drift file.
    ///
    /// Reads the view's `DRIFT` file: off the cooperative pool.
    public func driftReports(view: String) async throws(LambdaStoreError) -> [DriftReport] {
        try await Blocking.run { () throws(LambdaStoreError) -> [DriftReport] in try self.driftReportsBlocking(view: view) }
    }

    /// ``driftReports(view:)`` on the calling thread.
    func driftReportsBlocking(view: String) throws(LambdaStoreError) -> [DriftReport] {
        let v = try runtime(view)
        var all = try loadDriftReports(view: view)
        if let text = v.manifest.extra["drift"] {
            let latest = try DriftReport(json: try JSONValue.parse(text), path: Path.join(viewDirectory(view), "MANIFEST"))
            if !all.contains(where: { $0.toHorizon == latest.toHorizon && $0.at == latest.at }) { all.append(latest) }
        }
        return all.reversed()
    }
}

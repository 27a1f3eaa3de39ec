import LambdaStoreColumnar
import LambdaStoreCore

/// What ``Store/compact()`` did.
public struct CompactReport: Sendable {
    /// Files removed (paths relative to the store).
    public var filesRemoved: [String]
    /// Bytes reclaimed.
    public var bytesReclaimed: Int64

    /// The JSON form.
    public var json: JSONValue {
        (["filesRemoved": .array(filesRemoved.map { .string($0) }), "bytesReclaimed": .int(bytesReclaimed)] as JSONValue)
    }
}

extension Store {
    /// Collects garbage: snapshot files that no manifest references any more (older
    /// generations) and leftover `*.tmp` files from interrupted publishes.
    ///
    /// Each view's directory is collected in that view's turn of runs (``runBatch(view:mode:progress:)``,
    /// ``reconcile(view:)``, version builds), so no run's temp file or just-published snapshot
    /// is taken; a snapshot a query is still reading (pinned) stays until a later compaction.
    /// - Complexity: O(files in the view directories).
    public func compact() async throws(LambdaStoreError) -> CompactReport {
        try requireWritable()
        var removed: [String] = []
        var bytes: Int64 = 0
        let handles = state.withLock { st in st.views.sorted { $0.key < $1.key }.map(\.value) }
        for h in handles {
            try await h.runs.withLock { () async throws(LambdaStoreError) in
                let live = Set(h.current.manifest.files.map(\.name))
                let dir = viewDirectory(h.name)
                var changed = false
                for name in try fs.list(dir) {
                    let isOldSnapshot = name.hasSuffix(".snapshot") && !live.contains(name)
                    let isTemp = name.hasSuffix(".tmp")
                    let path = Path.join(dir, name)
                    guard isOldSnapshot || isTemp, !pins.isPinned(path) else { continue }
                    if let hd = try? fs.open(path, mode: .read) {
                        bytes += (try? hd.size()) ?? 0
                        try? hd.close()
                    }
                    try fs.remove(path)
                    removed.append("views/\(h.name)/\(name)")
                    changed = true
                }
                if changed { try fs.syncDirectory(dir) }
            }
        }
        return CompactReport(filesRemoved: removed, bytesReclaimed: bytes)
    }
}

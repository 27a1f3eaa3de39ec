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
    /// generations) and leftover `*.tmp` files from interrupted publishes. A process that still
    /// has an old snapshot open keeps reading it (POSIX unlink semantics).
    /// - Complexity: O(files in the view directories).
    public func compact() throws(LambdaStoreError) -> CompactReport {
        try requireWritable()
        var removed: [String] = []
        var bytes: Int64 = 0
        let live = state.withLock { st in st.views.mapValues { Set($0.manifest.files.map(\.name)) } }
        for (view, files) in live.sorted(by: { $0.key < $1.key }) {
            let dir = viewDirectory(view)
            for name in try fs.list(dir) {
                let isOldSnapshot = name.hasSuffix(".snapshot") && !files.contains(name)
                let isTemp = name.hasSuffix(".tmp")
                guard isOldSnapshot || isTemp else { continue }
                let path = Path.join(dir, name)
                if let h = try? fs.open(path, mode: .read) {
                    bytes += (try? h.size()) ?? 0
                    try? h.close()
                }
                try fs.remove(path)
                removed.append("views/\(view)/\(name)")
            }
            try fs.syncDirectory(dir)
        }
        return CompactReport(filesRemoved: removed, bytesReclaimed: bytes)
    }
}

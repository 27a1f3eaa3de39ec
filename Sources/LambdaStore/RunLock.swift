import LambdaStoreCore

/// An asynchronous mutual-exclusion lock: tasks wait their turn without blocking a thread,
/// in arrival order. Guards a view's runs (batch, reconcile, version build, garbage
/// collection), which are long and do I/O, so a blocking lock would hold a thread for seconds.
///
/// Not reentrant. Thread safety: `withLock` may be called from any task.
final class RunLock: Sendable {
    private struct State: Sendable {
        var isHeld = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Locked(State())

    /// Runs `body` once every earlier holder has finished.
    func withLock<R: Sendable, E: Error>(_ body: () async throws(E) -> R) async throws(E) -> R {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let granted: Bool = state.withLock { s in
                if s.isHeld { s.waiters.append(c); return false }
                s.isHeld = true
                return true
            }
            if granted { c.resume() }
        }
    }

    /// Hands the lock to the oldest waiter (it stays held), or frees it.
    private func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { s in
            if s.waiters.isEmpty { s.isHeld = false; return nil }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// Reference counts of the files readers are using: garbage collection removes no file with
/// a pin (DESIGN.md "Lifecycle": never a file that a reader or a run still uses).
///
/// Thread safety: all methods may be called from any thread.
final class FilePins: Sendable {
    /// A pinned path with its hash worked out once: a query pins and unpins the same parts
    /// again and again, and hashing a path of some 60 bytes twice per part was a measurable
    /// share of a point query.
    struct Key: Hashable, Sendable {
        let path: String
        private let hash: Int

        init(_ path: String) {
            self.path = path
            hash = path.hashValue
        }

        static func == (a: Key, b: Key) -> Bool { a.hash == b.hash && a.path == b.path }
        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    }

    private let counts = Locked([Key: Int]())

    /// Pins `path` until the matching ``unpin(_:)``.
    func pin(_ path: String) { pin(Key(path)) }

    /// Releases one pin of `path`.
    func unpin(_ path: String) { unpin(Key(path)) }

    /// Pins `key`'s path until the matching ``unpin(_:)-(Key)``.
    func pin(_ key: Key) { counts.withLock { $0[key, default: 0] += 1 } }

    /// Releases one pin of `key`'s path.
    func unpin(_ key: Key) {
        counts.withLock { c in
            guard let n = c[key] else { return }
            c[key] = n > 1 ? n - 1 : nil
        }
    }

    /// Whether a reader holds `path`.
    func isPinned(_ path: String) -> Bool { counts.withLock { $0[Key(path)] != nil } }
}

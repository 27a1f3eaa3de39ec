import LambdaStoreCore

/// Keeps at most ``capacity`` sealed segment files open at once, so a store with many segments
/// works under a small descriptor limit (`ulimit -n`): a read opens the file when it is not
/// open and, when the pool is full, closes the least recently used idle one first.
///
/// A descriptor is never closed while a read uses it (each use holds a count). The active
/// segment of each stream keeps a descriptor of its own, outside the pool.
///
/// Thread safety: all methods may be called from any thread; one lock guards the table.
final class SegmentFilePool: Sendable {
    struct Entry: Sendable {
        var handle: any FileHandle
        var users: Int
        var lastUse: UInt64
    }
    struct State: Sendable {
        var open: [ObjectIdentifier: Entry] = [:]
        var tick: UInt64 = 0
    }

    /// Most descriptors open at once (more only while every open one is in use).
    let capacity: Int
    let fs: any FileSystem
    private let state = Locked(State())

    init(fs: any FileSystem, capacity: Int) {
        self.fs = fs
        self.capacity = Swift.max(1, capacity)
    }

    /// Descriptors open now.
    var openCount: Int { state.withLock { $0.open.count } }

    /// Runs `body` with an open handle of `file`.
    func with<R>(_ file: PooledSegmentFile, _ body: (any FileHandle) throws(LambdaStoreError) -> R) throws(LambdaStoreError) -> R {
        let h = try acquire(file)
        defer { release(file) }
        return try body(h)
    }

    private func acquire(_ file: PooledSegmentFile) throws(LambdaStoreError) -> any FileHandle {
        let id = ObjectIdentifier(file)
        var evicted: [any FileHandle] = []
        defer { for h in evicted { try? h.close() } }
        return try state.withLock { (s: inout State) throws(LambdaStoreError) -> any FileHandle in
            s.tick += 1
            if var e = s.open[id] {
                e.users += 1
                e.lastUse = s.tick
                s.open[id] = e
                return e.handle
            }
            while s.open.count >= capacity {
                guard let victim = s.open.filter({ $0.value.users == 0 }).min(by: { $0.value.lastUse < $1.value.lastUse }) else { break }
                evicted.append(victim.value.handle)
                s.open[victim.key] = nil
            }
            let h = try fs.open(file.path, mode: .read)
            s.open[id] = Entry(handle: h, users: 1, lastUse: s.tick)
            return h
        }
    }

    private func release(_ file: PooledSegmentFile) {
        state.withLock { s in
            let id = ObjectIdentifier(file)
            if var e = s.open[id] {
                e.users -= 1
                s.open[id] = e
            }
        }
    }

    /// Closes `file`'s descriptor if it is open and idle (a close or the file's end of life).
    func forget(_ id: ObjectIdentifier) {
        let h: (any FileHandle)? = state.withLock { s in
            guard let e = s.open[id], e.users == 0 else { return nil }
            s.open[id] = nil
            return e.handle
        }
        try? h?.close()
    }
}

/// A sealed segment file read through a ``SegmentFilePool``: positional reads only (a sealed
/// segment never changes); writes, truncation and sync are refused.
final class PooledSegmentFile: FileHandle, Sendable {
    let path: String
    let pool: SegmentFilePool

    init(path: String, pool: SegmentFilePool) {
        self.path = path
        self.pool = pool
    }

    deinit { pool.forget(ObjectIdentifier(self)) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(LambdaStoreError) -> Int {
        try pool.with(self) { h throws(LambdaStoreError) in try h.read(into: buffer, at: offset) }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(LambdaStoreError) {
        throw LambdaStoreError(.precondition, "sealed segment is read-only", path: path)
    }

    func sync() throws(LambdaStoreError) {}   // sealed segments were synced when sealed

    func truncate(to size: Int64) throws(LambdaStoreError) {
        throw LambdaStoreError(.precondition, "sealed segment is read-only", path: path)
    }

    func size() throws(LambdaStoreError) -> Int64 {
        try pool.with(self) { h throws(LambdaStoreError) in try h.size() }
    }

    func close() throws(LambdaStoreError) { pool.forget(ObjectIdentifier(self)) }
}

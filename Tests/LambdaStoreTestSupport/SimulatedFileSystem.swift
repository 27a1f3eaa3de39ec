import LambdaStoreCore

/// An in-memory ``FileSystem`` that knows what a crash would keep.
///
/// Per file (inode) it tracks the bytes made durable by `sync()` and the live bytes; per
/// directory entry (create, rename, remove, mkdir) whether it was made durable by
/// `syncDirectory` of its parent. From any state it produces a *crash image*: a new simulated
/// file system holding what survives a power cut (see ``CrashPersistence``), optionally with
/// the last unsynced write torn after a chosen number of bytes.
///
/// For fault injection it numbers every mutating operation (write, sync, truncate, create,
/// rename, remove, mkdir, syncDirectory), reports each to an observer (so a test can take a
/// crash image after operation k of a single run), fails operations on demand, and flips
/// bytes on read.
///
/// Thread safety: every method may be called from any thread; one lock guards the state.
public final class SimulatedFileSystem: FileSystem, Sendable {
    /// A mutating operation, as reported to the observer and to failure rules.
    public enum Operation: Sendable, Equatable, CustomStringConvertible {
        case write(path: String, offset: Int64, count: Int)
        case sync(path: String)
        case truncate(path: String, size: Int64)
        case create(path: String)
        case rename(from: String, to: String)
        case remove(path: String)
        case createDirectory(path: String)
        case syncDirectory(path: String)

        public var description: String {
            switch self {
            case .write(let p, let o, let n): "write \(p) @\(o) +\(n)"
            case .sync(let p): "sync \(p)"
            case .truncate(let p, let s): "truncate \(p) to \(s)"
            case .create(let p): "create \(p)"
            case .rename(let a, let b): "rename \(a) -> \(b)"
            case .remove(let p): "remove \(p)"
            case .createDirectory(let p): "mkdir \(p)"
            case .syncDirectory(let p): "syncdir \(p)"
            }
        }

        /// Whether it is a data write.
        public var isWrite: Bool { if case .write = self { true } else { false } }
    }

    /// What a crash keeps.
    public enum CrashPersistence: Sendable, Equatable {
        /// Only synced file data and synced directory entries (the worst case).
        case durableOnly
        /// Synced directory entries, but every file's data as written (the page cache was
        /// flushed in order); the last write, if still unsynced, cut after `tornLastWriteAt` bytes.
        case unsyncedData(tornLastWriteAt: Int?)
        /// Every write and every directory entry, the last unsynced write cut after
        /// `tornLastWriteAt` bytes.
        case everything(tornLastWriteAt: Int?)
    }

    struct Inode: Sendable {
        var live: [UInt8] = []
        var durable: [UInt8] = []
    }

    struct LastWrite: Sendable {
        var inode: Int
        var offset: Int
        var count: Int
        var previousSize: Int
        var previousBytes: [UInt8]   // the live bytes the write overwrote (within previousSize)
    }

    struct State: Sendable {
        var inodes: [Int: Inode] = [:]
        var nextInode = 1
        var live: [String: Int] = [:]
        var durable: [String: Int] = [:]
        var liveDirs: Set<String> = []
        var durableDirs: Set<String> = []
        var opCount = 0
        var syncCount = 0
        var lastWrite: LastWrite?
        var failureRule: (@Sendable (Int, Operation) -> Bool)?
        var observer: (@Sendable (Int, Operation) -> Void)?
        var readFlips: [String: [Int64: UInt8]] = [:]
        var locks: Set<String> = []
    }

    let state: Locked<State>

    /// An empty file system.
    public init() { state = Locked(State()) }

    init(state: State) { self.state = Locked(state) }

    static func isRoot(_ p: String) -> Bool { p == "/" || p == "." || p.isEmpty }

    // MARK: Test controls

    /// The number of mutating operations performed so far.
    public var operationCount: Int { state.withLock { $0.opCount } }

    /// The number of file `sync()` calls (fdatasync) performed so far.
    public var syncCount: Int { state.withLock { $0.syncCount } }

    /// Calls `body(k, op)` after each mutating operation `k` (1-based), outside the lock.
    public func setObserver(_ body: (@Sendable (Int, Operation) -> Void)?) { state.withLock { $0.observer = body } }

    /// Fails (with `.io`, errno 5, no effect) every operation for which `rule(k, op)` is true.
    public func setFailureRule(_ rule: (@Sendable (Int, Operation) -> Bool)?) { state.withLock { $0.failureRule = rule } }

    /// Flips the bits of `mask` in the byte at `offset` of `path` whenever it is read (the
    /// stored byte is unchanged).
    public func flipByteOnRead(_ path: String, at offset: Int64, mask: UInt8 = 0x01) {
        state.withLock { $0.readFlips[path, default: [:]][offset] = mask }
    }

    /// Removes every read flip.
    public func clearReadFlips() { state.withLock { $0.readFlips = [:] } }

    /// A crash image: a new file system holding what survives a crash now.
    ///
    /// With `directoryEntriesNeedSync`, a directory whose own entry was never made durable
    /// (`syncDirectory` of its parent after the `mkdir`) is lost with everything beneath it,
    /// as on a file system that does not order metadata: files whose own entries were synced
    /// do not survive a crash when the directory holding them does not. (Off by default: many
    /// older tests never sync the store's parent directory.) Applies to ``CrashPersistence/durableOnly``
    /// and ``CrashPersistence/unsyncedData``; ``CrashPersistence/everything`` keeps every entry.
    /// - Complexity: O(files); file contents are shared copy-on-write.
    public func crashImage(_ persistence: CrashPersistence = .durableOnly, directoryEntriesNeedSync: Bool = false) -> SimulatedFileSystem {
        state.withLock { s in
            var out = State()
            var names: [String: Int]
            switch persistence {
            case .durableOnly, .unsyncedData: names = s.durable; out.liveDirs = s.durableDirs
            case .everything: names = s.live; out.liveDirs = s.liveDirs
            }
            var strict = directoryEntriesNeedSync
            if case .everything = persistence { strict = false }
            if strict {
                // Every ancestor (below the root) must itself have survived.
                func reachable(_ p: String, _ dirs: Set<String>) -> Bool {
                    var d = Path.parent(of: p)
                    while !Self.isRoot(d) {
                        guard dirs.contains(d) else { return false }
                        d = Path.parent(of: d)
                    }
                    return true
                }
                let dirs = out.liveDirs
                out.liveDirs = dirs.filter { reachable($0, dirs) }
                names = names.filter { reachable($0.key, out.liveDirs) }
            }
            out.durableDirs = out.liveDirs
            var tear: (LastWrite, Int)?
            switch persistence {
            case .unsyncedData(let t?), .everything(let t?): if let lw = s.lastWrite { tear = (lw, t) }
            default: break
            }
            for (path, ino) in names {
                guard let node = s.inodes[ino] else { continue }
                var bytes: [UInt8]
                if case .durableOnly = persistence { bytes = node.durable } else { bytes = node.live }
                if let (lw, t) = tear, lw.inode == ino, t < lw.count {
                    // Undo the bytes of the last write after its first t.
                    let cut = lw.offset + max(0, t)
                    for i in cut..<(lw.offset + lw.count) where i - lw.offset < lw.previousBytes.count && i < bytes.count {
                        bytes[i] = lw.previousBytes[i - lw.offset]
                    }
                    let newSize = max(lw.previousSize, cut)
                    if bytes.count > newSize { bytes.removeLast(bytes.count - newSize) }
                }
                let id = out.nextInode
                out.nextInode += 1
                out.inodes[id] = Inode(live: bytes, durable: bytes)
                out.live[path] = id
                out.durable[path] = id
            }
            return SimulatedFileSystem(state: out)
        }
    }

    // MARK: Byte surgery (acts on live and durable bytes alike; not counted as operations)

    /// The live contents of `path`, or nil.
    public func contents(_ path: String) -> [UInt8]? {
        state.withLock { s in s.live[path].flatMap { s.inodes[$0]?.live } }
    }

    /// Replaces the contents of an existing file, durably.
    public func setContents(_ path: String, _ bytes: [UInt8]) {
        state.withLock { s in
            guard let ino = s.live[path] else { return }
            s.inodes[ino] = Inode(live: bytes, durable: bytes)
        }
    }

    /// Flips bit `bit` of the byte at `offset` of `path` (on "disk").
    public func flipBit(_ path: String, at offset: Int, bit: Int = 0) {
        guard var b = contents(path), offset >= 0, offset < b.count else { return }
        b.flipBit(at: offset, bit: bit)
        setContents(path, b)
    }

    /// Cuts `count` bytes off the end of `path` (on "disk").
    public func truncate(_ path: String, by count: Int) {
        guard var b = contents(path) else { return }
        b.truncate(by: count)
        setContents(path, b)
    }

    /// Appends bytes to `path` (on "disk").
    public func appendBytes(_ path: String, _ extra: [UInt8]) {
        guard let b = contents(path) else { return }
        setContents(path, b + extra)
    }

    /// Every file path, sorted.
    public func allFiles() -> [String] { state.withLock { $0.live.keys.sorted() } }

    // MARK: Operation plumbing

    /// Counts the operation, applies the failure rule, runs `body` and notifies the observer.
    func mutate<R>(_ op: Operation, _ body: (inout State) throws(LambdaStoreError) -> R) throws(LambdaStoreError) -> R {
        let (result, k, observer): (R, Int, (@Sendable (Int, Operation) -> Void)?) = try state.withLock { s throws(LambdaStoreError) in
            s.opCount += 1
            if let rule = s.failureRule, rule(s.opCount, op) {
                throw LambdaStoreError(.io, "injected failure of operation \(s.opCount) (\(op))", path: nil, errno: 5)
            }
            return (try body(&s), s.opCount, s.observer)
        }
        observer?(k, op)
        return result
    }

    func parentExists(_ s: State, _ path: String) -> Bool {
        let p = Path.parent(of: path)
        return Self.isRoot(p) || s.liveDirs.contains(p)
    }

    // MARK: FileSystem

    public func open(_ path: String, mode: OpenMode) throws(LambdaStoreError) -> any FileHandle {
        let existing = state.withLock { $0.live[path] }
        switch mode {
        case .read, .readWrite:
            guard let ino = existing else { throw LambdaStoreError(.notFound, "no such file", path: path) }
            return SimulatedFileHandle(fs: self, inode: ino, path: path, writable: mode == .readWrite)
        case .create, .truncate:
            if let ino = existing {
                if mode == .truncate, (state.withLock { $0.inodes[ino]?.live.isEmpty }) == false {
                    try mutate(.truncate(path: path, size: 0)) { s throws(LambdaStoreError) in
                        s.inodes[ino]?.live = []
                        if s.lastWrite?.inode == ino { s.lastWrite = nil }
                    }
                }
                return SimulatedFileHandle(fs: self, inode: ino, path: path, writable: true)
            }
            let ino: Int = try mutate(.create(path: path)) { s throws(LambdaStoreError) in
                guard parentExists(s, path) else { throw LambdaStoreError(.notFound, "no such directory", path: Path.parent(of: path)) }
                let id = s.nextInode
                s.nextInode += 1
                s.inodes[id] = Inode()
                s.live[path] = id
                return id
            }
            return SimulatedFileHandle(fs: self, inode: ino, path: path, writable: true)
        }
    }

    public func exists(_ path: String) -> Bool {
        state.withLock { s in Self.isRoot(path) || s.live[path] != nil || s.liveDirs.contains(path) }
    }

    public func isDirectory(_ path: String) -> Bool {
        state.withLock { s in Self.isRoot(path) || s.liveDirs.contains(path) }
    }

    public func list(_ directory: String) throws(LambdaStoreError) -> [String] {
        try state.withLock { s throws(LambdaStoreError) -> [String] in
            guard Self.isRoot(directory) || s.liveDirs.contains(directory) else {
                throw LambdaStoreError(.notFound, "no such directory", path: directory)
            }
            var names: [String] = []
            for p in s.live.keys where Path.parent(of: p) == directory { names.append(Path.base(of: p)) }
            for p in s.liveDirs where Path.parent(of: p) == directory { names.append(Path.base(of: p)) }
            return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        }
    }

    public func createDirectory(_ path: String) throws(LambdaStoreError) {
        if isDirectory(path) { return }
        let parent = Path.parent(of: path)
        if !Self.isRoot(parent) && !isDirectory(parent) { try createDirectory(parent) }
        try mutate(.createDirectory(path: path)) { s throws(LambdaStoreError) in
            guard s.live[path] == nil else { throw LambdaStoreError(.alreadyExists, "a file has this name", path: path) }
            s.liveDirs.insert(path)
        }
    }

    public func remove(_ path: String) throws(LambdaStoreError) {
        try mutate(.remove(path: path)) { s throws(LambdaStoreError) in
            if s.live.removeValue(forKey: path) != nil { return }
            if s.liveDirs.contains(path) {
                guard !s.live.keys.contains(where: { Path.parent(of: $0) == path }),
                      !s.liveDirs.contains(where: { Path.parent(of: $0) == path }) else {
                    throw LambdaStoreError(.io, "directory not empty", path: path, errno: 39)
                }
                s.liveDirs.remove(path)
                return
            }
            throw LambdaStoreError(.notFound, "no such file", path: path)
        }
    }

    public func rename(_ from: String, to: String) throws(LambdaStoreError) {
        try mutate(.rename(from: from, to: to)) { s throws(LambdaStoreError) in
            guard let ino = s.live.removeValue(forKey: from) else { throw LambdaStoreError(.notFound, "no such file", path: from) }
            s.live[to] = ino
        }
    }

    public func syncDirectory(_ path: String) throws(LambdaStoreError) {
        try mutate(.syncDirectory(path: path)) { s throws(LambdaStoreError) in
            guard Self.isRoot(path) || s.liveDirs.contains(path) else { throw LambdaStoreError(.notFound, "no such directory", path: path) }
            for p in s.durable.keys where Path.parent(of: p) == path && s.live[p] == nil { s.durable.removeValue(forKey: p) }
            for (p, ino) in s.live where Path.parent(of: p) == path { s.durable[p] = ino }
            for p in s.durableDirs where Path.parent(of: p) == path && !s.liveDirs.contains(p) { s.durableDirs.remove(p) }
            for p in s.liveDirs where Path.parent(of: p) == path { s.durableDirs.insert(p) }
        }
    }

    public func lock(_ path: String) throws(LambdaStoreError) -> any FileLock {
        if !exists(path) { try? open(path, mode: .create).close() }
        try state.withLock { s throws(LambdaStoreError) in
            guard s.locks.insert(path).inserted else {
                throw LambdaStoreError(.locked, "another process has the store open for writing", path: path)
            }
        }
        return SimulatedLock(fs: self, path: path)
    }

    // MARK: Handle plumbing

    func read(inode: Int, path: String, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int {
        state.withLock { s in
            guard let node = s.inodes[inode], offset >= 0, offset < Int64(node.live.count) else { return 0 }
            let start = Int(offset)
            let n = min(buffer.count, node.live.count - start)
            node.live.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n)
            }
            if let flips = s.readFlips[path] {
                for (at, mask) in flips where at >= offset && at < offset + Int64(n) {
                    buffer[Int(at - offset)] ^= mask
                }
            }
            return n
        }
    }

    func write(inode: Int, path: String, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(LambdaStoreError) {
        try mutate(.write(path: path, offset: offset, count: bytes.count)) { s throws(LambdaStoreError) in
            guard var node = s.inodes[inode] else { throw LambdaStoreError(.io, "stale handle", path: path) }
            s.inodes[inode] = nil   // keep the array uniquely referenced while editing
            let o = Int(offset)
            let prevSize = node.live.count
            let overlap = max(0, min(prevSize, o + bytes.count) - o)
            let previous = overlap > 0 ? Array(node.live[o..<(o + overlap)]) : []
            if o > node.live.count { node.live.append(contentsOf: repeatElement(0, count: o - node.live.count)) }
            if o == node.live.count {
                node.live.append(contentsOf: bytes)
            } else {
                let end = min(node.live.count, o + bytes.count)
                node.live.replaceSubrange(o..<end, with: bytes)
            }
            s.inodes[inode] = node
            s.lastWrite = LastWrite(inode: inode, offset: o, count: bytes.count, previousSize: prevSize, previousBytes: previous)
        }
    }

    func sync(inode: Int, path: String) throws(LambdaStoreError) {
        try mutate(.sync(path: path)) { s throws(LambdaStoreError) in
            guard let live = s.inodes[inode]?.live else { throw LambdaStoreError(.io, "stale handle", path: path) }
            s.inodes[inode]?.durable = live
            s.syncCount += 1
            if s.lastWrite?.inode == inode { s.lastWrite = nil }
        }
    }

    func truncate(inode: Int, path: String, to size: Int64) throws(LambdaStoreError) {
        try mutate(.truncate(path: path, size: size)) { s throws(LambdaStoreError) in
            guard var node = s.inodes[inode] else { throw LambdaStoreError(.io, "stale handle", path: path) }
            let n = Int(size)
            if node.live.count > n { node.live.removeLast(node.live.count - n) } else { node.live.append(contentsOf: repeatElement(0, count: n - node.live.count)) }
            s.inodes[inode] = node
            if s.lastWrite?.inode == inode { s.lastWrite = nil }
        }
    }

    func size(inode: Int) -> Int64 { state.withLock { Int64($0.inodes[inode]?.live.count ?? 0) } }

    func unlock(_ path: String) { _ = state.withLock { $0.locks.remove(path) } }
}

/// A handle on a ``SimulatedFileSystem`` inode (it follows renames, like a descriptor).
final class SimulatedFileHandle: FileHandle, Sendable {
    let fs: SimulatedFileSystem
    let inode: Int
    let path: String
    let writable: Bool
    let closed = Locked(false)

    init(fs: SimulatedFileSystem, inode: Int, path: String, writable: Bool) {
        self.fs = fs
        self.inode = inode
        self.path = path
        self.writable = writable
    }

    func check(write: Bool = false) throws(LambdaStoreError) {
        if closed.withLock({ $0 }) { throw LambdaStoreError(.io, "file is closed", path: path, errno: 9) }
        if write && !writable { throw LambdaStoreError(.io, "file is open read-only", path: path, errno: 9) }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(LambdaStoreError) -> Int {
        try check()
        return fs.read(inode: inode, path: path, into: buffer, at: offset)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(LambdaStoreError) {
        try check(write: true)
        try fs.write(inode: inode, path: path, bytes, at: offset)
    }

    func sync() throws(LambdaStoreError) {
        try check()
        try fs.sync(inode: inode, path: path)
    }

    func truncate(to size: Int64) throws(LambdaStoreError) {
        try check(write: true)
        try fs.truncate(inode: inode, path: path, to: size)
    }

    func size() throws(LambdaStoreError) -> Int64 {
        try check()
        return fs.size(inode: inode)
    }

    func close() throws(LambdaStoreError) { closed.withLock { $0 = true } }
}

final class SimulatedLock: FileLock, Sendable {
    let fs: SimulatedFileSystem
    let path: String
    let held = Locked(true)

    init(fs: SimulatedFileSystem, path: String) {
        self.fs = fs
        self.path = path
    }

    func unlock() {
        let was = held.withLock { h in
            let w = h
            h = false
            return w
        }
        if was { fs.unlock(path) }
    }

    deinit { unlock() }
}

// MARK: - Byte surgery

extension Array where Element == UInt8 {
    /// Flips bit `bit` (0–7) of the byte at `offset`.
    public mutating func flipBit(at offset: Int, bit: Int = 0) {
        self[offset] ^= UInt8(1) << UInt8(bit & 7)
    }

    /// Removes the last `count` bytes (all of them when fewer).
    public mutating func truncate(by count: Int) {
        removeLast(Swift.min(count, self.count))
    }
}

extension FileSystem {
    /// Flips bit `bit` of the byte at `offset` of the file at `path`, durably (works on any
    /// file system, the real one included).
    public func flipBit(in path: String, at offset: Int64, bit: Int = 0) throws(LambdaStoreError) {
        let h = try open(path, mode: .readWrite)
        defer { try? h.close() }
        var b = try h.read(count: 1, at: offset)
        guard b.count == 1 else { throw LambdaStoreError(.invalidArgument, "offset \(offset) is past the end", path: path) }
        b.flipBit(at: 0, bit: bit)
        try h.write(b, at: offset)
        try h.sync()
    }

    /// Cuts `count` bytes off the end of the file at `path`, durably.
    public func truncate(_ path: String, by count: Int64) throws(LambdaStoreError) {
        let h = try open(path, mode: .readWrite)
        defer { try? h.close() }
        try h.truncate(to: Swift.max(0, try h.size() - count))
        try h.sync()
    }
}

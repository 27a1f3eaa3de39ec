import LambdaStoreCore
import Synchronization

/// A small in-memory ``FileSystem`` for this test target: it counts reads, and it can crash at
/// the N-th mutating operation and then show what a power loss would leave.
///
/// Durability model (the contract in FileSystem.swift): file data is durable after `sync()` of
/// a handle on it; a created, renamed or removed name is durable after `syncDirectory` of its
/// parent. After a crash, ``survivor(keepUnsyncedNames:)`` builds the file system a reboot
/// would see: every file holds only its synced bytes, and names are either the durable ones
/// (`keepUnsyncedNames: false`) or every name as last set (`true`) — the two extremes of what
/// the kernel may have written back.
final class SimulatedFS: FileSystem, Sendable {
    final class Inode: @unchecked Sendable {
        var data: [UInt8] = []
        var durable: [UInt8] = []
        init(data: [UInt8] = [], durable: [UInt8] = []) {
            self.data = data
            self.durable = durable
        }
    }

    struct State: @unchecked Sendable {
        var names: [String: Inode] = [:]
        var durableNames: [String: Inode] = [:]
        var directories: Set<String> = ["", ".", "/"]
        var operations = 0
        var crashAt: Int? = nil
        var crashed = false
        var reads = 0
        var bytesRead = 0
    }

    let state = Mutex(State())

    init() {}

    /// Mutating operations performed so far.
    var operations: Int { state.withLock { $0.operations } }
    /// `FileHandle.read` calls so far.
    var reads: Int { state.withLock { $0.reads } }
    /// Bytes returned by reads so far.
    var bytesRead: Int { state.withLock { $0.bytesRead } }
    /// Whether the simulated crash happened.
    var crashed: Bool { state.withLock { $0.crashed } }

    func resetReadCounters() { state.withLock { $0.reads = 0; $0.bytesRead = 0 } }

    /// The process dies just before mutating operation number `n` (0-based, counted from now).
    func crash(afterOperations n: Int) { state.withLock { $0.crashAt = $0.operations + n } }

    /// Counts one mutating operation; throws once the crash point is reached.
    func step(_ s: inout State) throws(LambdaStoreError) {
        if s.crashed { throw LambdaStoreError(.io, "simulated crash (process is dead)") }
        if let c = s.crashAt, s.operations >= c {
            s.crashed = true
            throw LambdaStoreError(.io, "simulated crash")
        }
        s.operations += 1
    }

    /// The file system after a power loss at this instant.
    func survivor(keepUnsyncedNames: Bool) -> SimulatedFS {
        let next = SimulatedFS()
        state.withLock { s in
            let names = keepUnsyncedNames ? s.names : s.durableNames
            var copies: [ObjectIdentifier: Inode] = [:]
            var out: [String: Inode] = [:]
            for (name, inode) in names {
                let c = copies[ObjectIdentifier(inode)] ?? Inode(data: inode.durable, durable: inode.durable)
                copies[ObjectIdentifier(inode)] = c
                out[name] = c
            }
            let dirs = s.directories
            next.state.withLock { n in
                n.names = out
                n.durableNames = out
                n.directories = dirs
            }
        }
        return next
    }

    /// The current bytes of `path` (test inspection).
    func contents(_ path: String) -> [UInt8]? { state.withLock { $0.names[path]?.data } }

    /// Replaces the bytes of `path` (test surgery), durably.
    func setContents(_ path: String, _ bytes: [UInt8]) {
        state.withLock { s in
            let i = Inode(data: bytes, durable: bytes)
            s.names[path] = i
            s.durableNames[path] = i
        }
    }

    // MARK: FileSystem

    func open(_ path: String, mode: OpenMode) throws(LambdaStoreError) -> any FileHandle {
        try state.withLock { s throws(LambdaStoreError) in
            if let inode = s.names[path] {
                if mode == .truncate {
                    try step(&s)
                    inode.data = []
                }
                return Handle(fs: self, inode: inode, path: path)
            }
            guard mode == .create || mode == .truncate else { throw LambdaStoreError(.notFound, "no such file", path: path) }
            guard s.directories.contains(Path.parent(of: path)) else { throw LambdaStoreError(.notFound, "no such directory", path: path) }
            try step(&s)
            let inode = Inode()
            s.names[path] = inode
            return Handle(fs: self, inode: inode, path: path)
        }
    }

    func exists(_ path: String) -> Bool { state.withLock { $0.names[path] != nil || $0.directories.contains(path) } }

    func isDirectory(_ path: String) -> Bool { state.withLock { $0.directories.contains(path) } }

    func list(_ directory: String) throws(LambdaStoreError) -> [String] {
        state.withLock { s in
            s.names.keys.filter { Path.parent(of: $0) == directory }.map { Path.base(of: $0) }
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        }
    }

    func createDirectory(_ path: String) throws(LambdaStoreError) {
        try state.withLock { s throws(LambdaStoreError) in
            try step(&s)
            var p = path
            while !p.isEmpty, p != ".", p != "/", !s.directories.contains(p) {
                s.directories.insert(p)
                p = Path.parent(of: p)
            }
        }
    }

    func remove(_ path: String) throws(LambdaStoreError) {
        try state.withLock { s throws(LambdaStoreError) in
            guard s.names[path] != nil else { throw LambdaStoreError(.notFound, "no such file", path: path) }
            try step(&s)
            s.names[path] = nil
        }
    }

    func rename(_ from: String, to: String) throws(LambdaStoreError) {
        try state.withLock { s throws(LambdaStoreError) in
            guard let inode = s.names[from] else { throw LambdaStoreError(.notFound, "no such file", path: from) }
            try step(&s)
            s.names[from] = nil
            s.names[to] = inode
        }
    }

    func syncDirectory(_ path: String) throws(LambdaStoreError) {
        try state.withLock { s throws(LambdaStoreError) in
            try step(&s)
            for name in Set(s.names.keys).union(s.durableNames.keys) where Path.parent(of: name) == path {
                s.durableNames[name] = s.names[name]
            }
        }
    }

    func lock(_ path: String) throws(LambdaStoreError) -> any FileLock { NoLock() }

    final class NoLock: FileLock {
        func unlock() {}
    }

    final class Handle: FileHandle {
        let fs: SimulatedFS
        let inode: Inode
        let path: String

        init(fs: SimulatedFS, inode: Inode, path: String) {
            self.fs = fs
            self.inode = inode
            self.path = path
        }

        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(LambdaStoreError) -> Int {
            fs.state.withLock { s in
                s.reads += 1
                let data = inode.data
                guard offset >= 0, offset < Int64(data.count) else { return 0 }
                let n = min(buffer.count, data.count - Int(offset))
                data.withUnsafeBytes { src in
                    buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[Int(offset)..<(Int(offset) + n)]))
                }
                s.bytesRead += n
                return n
            }
        }

        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(LambdaStoreError) {
            try fs.state.withLock { s throws(LambdaStoreError) in
                try fs.step(&s)
                let end = Int(offset) + bytes.count
                if inode.data.count < end { inode.data.append(contentsOf: repeatElement(0, count: end - inode.data.count)) }
                inode.data.replaceSubrange(Int(offset)..<end, with: bytes)
            }
        }

        func sync() throws(LambdaStoreError) {
            try fs.state.withLock { s throws(LambdaStoreError) in
                try fs.step(&s)
                inode.durable = inode.data
            }
        }

        func truncate(to size: Int64) throws(LambdaStoreError) {
            try fs.state.withLock { s throws(LambdaStoreError) in
                try fs.step(&s)
                if inode.data.count > Int(size) { inode.data.removeLast(inode.data.count - Int(size)) }
            }
        }

        func size() throws(LambdaStoreError) -> Int64 { fs.state.withLock { _ in Int64(inode.data.count) } }

        func close() throws(LambdaStoreError) {}
    }
}

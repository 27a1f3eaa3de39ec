import LambdaStoreCore

/// A ``FileSystem`` that calls a hook before every operation of another one, so a test can
/// pause a run at an exact point (a read of a segment, the create of a temp file) while other
/// tasks act, or fail an operation (an fdatasync) on demand.
///
/// Thread safety: every method may be called from any thread; the hook runs on the calling
/// thread, outside any lock of this type.
public final class HookedFileSystem: FileSystem, Sendable {
    /// An operation about to run.
    public enum Operation: Sendable, Equatable, CustomStringConvertible {
        case open(path: String, mode: String)
        case read(path: String, offset: Int64)
        case write(path: String, offset: Int64)
        case sync(path: String)
        case truncate(path: String)
        case remove(path: String)
        case rename(from: String, to: String)
        case syncDirectory(path: String)
        case createDirectory(path: String)

        /// The path operated on (the source of a rename).
        public var path: String {
            switch self {
            case .open(let p, _), .read(let p, _), .write(let p, _), .sync(let p), .truncate(let p), .remove(let p),
                 .syncDirectory(let p), .createDirectory(let p): p
            case .rename(let a, _): a
            }
        }

        public var description: String {
            switch self {
            case .open(let p, let m): "open(\(m)) \(p)"
            case .read(let p, let o): "read \(p) @\(o)"
            case .write(let p, let o): "write \(p) @\(o)"
            case .sync(let p): "sync \(p)"
            case .truncate(let p): "truncate \(p)"
            case .remove(let p): "remove \(p)"
            case .rename(let a, let b): "rename \(a) -> \(b)"
            case .syncDirectory(let p): "syncdir \(p)"
            case .createDirectory(let p): "mkdir \(p)"
            }
        }
    }

    /// Called before each operation; throwing fails the operation (it then has no effect).
    public typealias Hook = @Sendable (Operation) throws(LambdaStoreError) -> Void

    let base: any FileSystem
    let hook: Locked<Hook?>

    /// Wraps `base` with no hook.
    public init(_ base: any FileSystem) {
        self.base = base
        hook = Locked(nil)
    }

    /// Sets (or clears) the hook.
    public func setHook(_ body: Hook?) { hook.withLock { $0 = body } }

    /// Pauses the first operation `matches` accepts at a gate (the thread waits there until the
    /// test opens it); later operations pass. Replaces any hook.
    /// - Returns: the gate.
    public func pauseFirst(where matches: @escaping @Sendable (Operation) -> Bool) -> TestGate {
        let gate = TestGate()
        let armed = Locked(true)
        setHook { op in
            guard matches(op), armed.withLock({ a in defer { a = false }; return a }) else { return }
            gate.wait()
        }
        return gate
    }

    func fire(_ op: Operation) throws(LambdaStoreError) {
        if let h = hook.withLock({ $0 }) { try h(op) }
    }

    public func open(_ path: String, mode: OpenMode) throws(LambdaStoreError) -> any FileHandle {
        try fire(.open(path: path, mode: "\(mode)"))
        return HookedFileHandle(fs: self, base: try base.open(path, mode: mode))
    }
    public func exists(_ path: String) -> Bool { base.exists(path) }
    public func isDirectory(_ path: String) -> Bool { base.isDirectory(path) }
    public func list(_ directory: String) throws(LambdaStoreError) -> [String] { try base.list(directory) }
    public func createDirectory(_ path: String) throws(LambdaStoreError) {
        try fire(.createDirectory(path: path))
        try base.createDirectory(path)
    }
    public func remove(_ path: String) throws(LambdaStoreError) {
        try fire(.remove(path: path))
        try base.remove(path)
    }
    public func rename(_ from: String, to: String) throws(LambdaStoreError) {
        try fire(.rename(from: from, to: to))
        try base.rename(from, to: to)
    }
    public func syncDirectory(_ path: String) throws(LambdaStoreError) {
        try fire(.syncDirectory(path: path))
        try base.syncDirectory(path)
    }
    public func lock(_ path: String) throws(LambdaStoreError) -> any FileLock { try base.lock(path) }
}

final class HookedFileHandle: FileHandle, Sendable {
    let fs: HookedFileSystem
    let base: any FileHandle
    var path: String { base.path }

    init(fs: HookedFileSystem, base: any FileHandle) {
        self.fs = fs
        self.base = base
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(LambdaStoreError) -> Int {
        try fs.fire(.read(path: path, offset: offset))
        return try base.read(into: buffer, at: offset)
    }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(LambdaStoreError) {
        try fs.fire(.write(path: path, offset: offset))
        try base.write(bytes, at: offset)
    }
    func sync() throws(LambdaStoreError) {
        try fs.fire(.sync(path: path))
        try base.sync()
    }
    func truncate(to size: Int64) throws(LambdaStoreError) {
        try fs.fire(.truncate(path: path))
        try base.truncate(to: size)
    }
    func size() throws(LambdaStoreError) -> Int64 { try base.size() }
    func close() throws(LambdaStoreError) { try base.close() }
}

/// A one-shot gate a hook can wait at while the test acts, with a timeout so a test that
/// would deadlock fails instead (the timeout is reported by ``wait(seconds:)``).
public final class TestGate: Sendable {
    struct State: Sendable {
        var isOpen = false
        var reached = false
    }
    let state = Locked(State())

    /// A closed gate.
    public init() {}

    /// Whether a waiter reached the gate.
    public var wasReached: Bool { state.withLock { $0.reached } }

    /// Opens the gate: every waiter proceeds.
    public func open() { state.withLock { $0.isOpen = true } }

    /// Blocks the calling thread until the gate opens or `seconds` pass.
    /// - Returns: false on timeout.
    @discardableResult
    public func wait(seconds: Double = 120) -> Bool {
        state.withLock { $0.reached = true }
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.isOpen }) { return true }
            usleepCompat(1000)
        }
        return false
    }

    /// Polls until a waiter reached the gate or `seconds` pass (from async code).
    /// - Returns: false on timeout.
    public func waitUntilReached(seconds: Double = 120) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if wasReached { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return false
    }
}

#if canImport(Glibc)
import Glibc
func usleepCompat(_ us: UInt32) { usleep(us) }
#elseif canImport(Darwin)
import Darwin
func usleepCompat(_ us: UInt32) { usleep(us) }
#endif

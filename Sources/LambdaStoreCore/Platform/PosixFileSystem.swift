import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The real file system, through POSIX calls (`pread`, `pwrite`, `fdatasync`, `rename`,
/// `fsync` on directories, `flock`).
///
/// Files and directories it creates are owner-only by default (`0600` / `0700`): a store
/// holds its users' events. The modes are set exactly (with `fchmod` / `chmod` after
/// creation, so the process umask cannot change them); existing files and directories keep
/// their modes. Pass other modes to share a store with a group, e.g.
/// `StoreOptions.fileSystem = PosixFileSystem(fileMode: 0o640, directoryMode: 0o750)`.
///
/// Thread safety: immutable; safe from any thread.
public struct PosixFileSystem: FileSystem {
    /// The permission bits of the files it creates (default `0o600`).
    public let fileMode: mode_t
    /// The permission bits of the directories it creates (default `0o700`).
    public let directoryMode: mode_t

    /// The file system, creating owner-only files (`0o600`) and directories (`0o700`).
    public init() {
        self.init(fileMode: 0o600, directoryMode: 0o700)
    }

    /// The file system, creating files with `fileMode` and directories with `directoryMode`
    /// (permission bits only: `0o7777` at most).
    public init(fileMode: mode_t, directoryMode: mode_t) {
        self.fileMode = fileMode & 0o7777
        self.directoryMode = directoryMode & 0o7777
    }

    static func ioError(_ what: String, _ path: String) -> LambdaStoreError {
        let e = errno
        return LambdaStoreError(.io, "\(what) failed: \(String(cString: strerror(e)))", path: path, errno: e)
    }

    public func open(_ path: String, mode: OpenMode) throws(LambdaStoreError) -> any FileHandle {
        let flags: Int32
        switch mode {
        case .read: flags = O_RDONLY
        case .readWrite: flags = O_RDWR
        case .create: flags = O_RDWR
        case .truncate: flags = O_RDWR | O_TRUNC
        }
        let creates = mode == .create || mode == .truncate
        return PosixFileHandle(fd: try createOrOpen(path, flags: flags | O_CLOEXEC, creates: creates, what: "open"), path: path)
    }

    /// Opens `path` with `flags`; when `creates`, creates it first if absent (`O_EXCL`, so it
    /// is known to be new) and gives the new file exactly ``fileMode``.
    func createOrOpen(_ path: String, flags: Int32, creates: Bool, what: String) throws(LambdaStoreError) -> Int32 {
        while true {
            if creates {
                let fd = Glibc.open(path, flags | O_CREAT | O_EXCL, fileMode)
                if fd >= 0 {
                    if fchmod(fd, fileMode) != 0 {
                        let error = Self.ioError("fchmod", path)
                        Glibc.close(fd)
                        throw error
                    }
                    return fd
                }
                if errno == EINTR { continue }
                if errno != EEXIST { throw Self.ioError(what, path) }
            }
            // An existing file is opened as it is, except that a creating open never follows a
            // symbolic link in the last component (ELOOP): a link planted at a temp or data
            // file's name must not redirect a write outside the store.
            let fd = Glibc.open(path, creates ? flags | O_NOFOLLOW : flags, 0)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            if errno == ELOOP { throw LambdaStoreError(.io, "refusing to write through a symbolic link", path: path, errno: ELOOP) }
            if errno == ENOENT {
                if creates { continue }   // removed between the two opens: create it after all
                throw LambdaStoreError(.notFound, "no such file", path: path)
            }
            throw Self.ioError(what, path)
        }
    }

    public func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func isSymbolicLink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    public func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public func list(_ directory: String) throws(LambdaStoreError) -> [String] {
        guard let d = opendir(directory) else {
            if errno == ENOENT { throw LambdaStoreError(.notFound, "no such directory", path: directory) }
            throw Self.ioError("opendir", directory)
        }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    public func createDirectory(_ path: String) throws(LambdaStoreError) {
        if isDirectory(path) { return }
        let parent = Path.parent(of: path)
        if parent != path && parent != "." && parent != "/" && !exists(parent) { try createDirectory(parent) }
        if mkdir(path, directoryMode) != 0 {
            if errno == EEXIST { return }
            throw Self.ioError("mkdir", path)
        }
        if chmod(path, directoryMode) != 0 { throw Self.ioError("chmod", path) }
    }

    public func remove(_ path: String) throws(LambdaStoreError) {
        if unlink(path) != 0 {
            if errno == EISDIR || errno == EPERM, rmdir(path) == 0 { return }
            if errno == ENOENT { throw LambdaStoreError(.notFound, "no such file", path: path) }
            throw Self.ioError("unlink", path)
        }
    }

    public func rename(_ from: String, to: String) throws(LambdaStoreError) {
        if Glibc.rename(from, to) != 0 { throw Self.ioError("rename to \(to)", from) }
    }

    public func syncDirectory(_ path: String) throws(LambdaStoreError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.ioError("open directory", path) }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 { throw Self.ioError("fsync directory", path) }
    }

    public func lock(_ path: String) throws(LambdaStoreError) -> any FileLock {
        let fd = try createOrOpen(path, flags: O_RDWR | O_CLOEXEC, creates: true, what: "open lock file")
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            Glibc.close(fd)
            if e == EWOULDBLOCK {
                throw LambdaStoreError(.locked, "another process has the store open for writing", path: path)
            }
            throw LambdaStoreError(.io, "flock failed: \(String(cString: strerror(e)))", path: path, errno: e)
        }
        return PosixFileLock(fd: fd)
    }
}

final class PosixFileLock: FileLock, Sendable {
    /// The descriptor, -1 once released: unlock is idempotent and safe from several threads
    /// at once (the descriptor is closed exactly once).
    private let fd: Locked<Int32>
    init(fd: Int32) { self.fd = Locked(fd) }
    func unlock() {
        let d = fd.withLock { f in defer { f = -1 }; return f }
        if d >= 0 { flock(d, LOCK_UN); Glibc.close(d) }
    }
    deinit { unlock() }
}

/// A POSIX file descriptor.
///
/// Closing is safe against concurrent use: every operation holds a use count on the
/// descriptor while it runs, ``close()`` marks the handle closed and the descriptor is closed
/// exactly once, by `close` or by the last operation in flight when it finishes. So a
/// positional read running during a close finishes on this file, and an operation after the
/// close fails with ``LambdaStoreError/Code/precondition``; neither can reach a descriptor
/// number the kernel has since handed to another file.
///
/// Thread safety: reads from any thread, concurrently with each other and with `close`;
/// writes, `sync` and `truncate` serialised by the caller (the single writer).
final class PosixFileHandle: FileHandle, Sendable {
    let fd: Int32
    let path: String
    /// Bit 0: closed; the rest: twice the number of operations using `fd`.
    private let state = Atomic<Int>(0)
    /// Whether `fd` has been closed (by whichever of `close` and the last user got there).
    private let released = Atomic<Bool>(false)

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { if !released.load(ordering: .acquiring) { Glibc.close(fd) } }

    /// Runs `body` with `fd` held open.
    /// - Throws: ``LambdaStoreError/Code/precondition`` when the handle is closed.
    @inline(__always)
    private func using<R>(_ body: (Int32) throws(LambdaStoreError) -> R) throws(LambdaStoreError) -> R {
        let s = state.wrappingAdd(2, ordering: .acquiring).newValue
        defer { done() }
        guard s & 1 == 0 else { throw LambdaStoreError(.precondition, "file handle is closed", path: path) }
        return try body(fd)
    }

    /// Ends one use; the last use after a close closes `fd`.
    @inline(__always)
    private func done() {
        if state.wrappingSubtract(2, ordering: .acquiringAndReleasing).newValue == 1 { _ = release() }
    }

    /// Closes `fd` unless that was done already; the `close(2)` result, or 0.
    private func release() -> Int32 {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return 0 }
        return Glibc.close(fd)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(LambdaStoreError) -> Int {
        guard buffer.count > 0 else { return 0 }
        return try using { fd throws(LambdaStoreError) in
            while true {
                let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
                if n >= 0 { return n }
                if errno == EINTR { continue }
                throw PosixFileSystem.ioError("pread", path)
            }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(LambdaStoreError) {
        try using { fd throws(LambdaStoreError) in
            var done = 0
            while done < bytes.count {
                let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + Int64(done)))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PosixFileSystem.ioError("pwrite", path)
                }
                done += n
            }
        }
    }

    func sync() throws(LambdaStoreError) {
        try using { fd throws(LambdaStoreError) in
            if fdatasync(fd) != 0 { throw PosixFileSystem.ioError("fdatasync", path) }
        }
    }

    func truncate(to size: Int64) throws(LambdaStoreError) {
        try using { fd throws(LambdaStoreError) in
            if ftruncate(fd, off_t(size)) != 0 { throw PosixFileSystem.ioError("ftruncate", path) }
        }
    }

    func size() throws(LambdaStoreError) -> Int64 {
        try using { fd throws(LambdaStoreError) in
            var st = stat()
            if fstat(fd, &st) != 0 { throw PosixFileSystem.ioError("fstat", path) }
            return Int64(st.st_size)
        }
    }

    /// Closes the handle: at once when no operation is running, else when the last one ends.
    /// Closing again does nothing.
    /// - Throws: ``LambdaStoreError/Code/io`` when `close(2)` fails here (a close deferred to
    ///   a running operation cannot report its result).
    func close() throws(LambdaStoreError) {
        let old = state.bitwiseOr(1, ordering: .acquiringAndReleasing).oldValue
        guard old == 0 else { return }   // closed already, or the last operation running closes it
        if release() != 0 { throw PosixFileSystem.ioError("close", path) }
    }
}

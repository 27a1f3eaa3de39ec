/// How ``FileSystem/open(_:mode:)`` opens a file.
public enum OpenMode: Sendable {
    /// Read only; the file must exist.
    case read
    /// Read and write; the file must exist.
    case readWrite
    /// Read and write; created empty when absent, kept as is when present.
    case create
    /// Read and write; created empty, truncated when present.
    case truncate
}

/// An open file. Positional I/O only, so one handle can serve concurrent readers.
///
/// Thread safety: `read(into:at:)` may be called from any thread concurrently with `write`;
/// writes, `sync` and `truncate` must be serialised by the caller (the single writer).
public protocol FileHandle: AnyObject, Sendable {
    /// The path it was opened with.
    var path: String { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (0 at end).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(LambdaStoreError) -> Int
    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(LambdaStoreError)
    /// Flushes written data to stable storage (fdatasync).
    func sync() throws(LambdaStoreError)
    /// Sets the size to `size` bytes.
    func truncate(to size: Int64) throws(LambdaStoreError)
    /// The current size in bytes.
    func size() throws(LambdaStoreError) -> Int64
    /// Closes the handle; further calls fail.
    func close() throws(LambdaStoreError)
}

extension FileHandle {
    /// Reads exactly `count` bytes at `offset` (fewer only at end of file).
    public func read(count: Int, at offset: Int64) throws(LambdaStoreError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = try typed { try out.withUnsafeMutableBytes { b in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: b[done...]), at: offset + Int64(done))
            } }
            if n == 0 { break }
            done += n
        }
        if done < count { out.removeLast(count - done) }
        return out
    }

    /// Writes `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: Int64) throws(LambdaStoreError) {
        try typed { try bytes.withUnsafeBytes { b in try write(b, at: offset) } }
    }

    /// Reads the whole file, refusing files larger than `limit` bytes.
    public func readAll(limit: Int) throws(LambdaStoreError) -> [UInt8] {
        let n = try size()
        guard n <= Int64(limit) else {
            throw LambdaStoreError(.limitExceeded, "file is \(n) bytes, limit \(limit)", path: path)
        }
        return try read(count: Int(n), at: 0)
    }
}

/// An advisory exclusive lock on a file, held until ``unlock()`` or process exit.
public protocol FileLock: AnyObject, Sendable {
    /// Releases the lock.
    func unlock()
}

/// The one layer through which LambdaStore touches files (STYLE.md: only the file layer
/// touches the OS). ``PosixFileSystem`` is the real one; tests substitute a simulated one that
/// can lose unsynced data, tear writes and flip bytes.
///
/// Durability contract: data written to a file is durable after that handle's `sync()`; a
/// created, renamed or removed directory entry is durable after `syncDirectory` of its parent.
public protocol FileSystem: Sendable {
    /// Opens (or creates) a file.
    func open(_ path: String, mode: OpenMode) throws(LambdaStoreError) -> any FileHandle
    /// Whether a file or directory exists at `path`.
    func exists(_ path: String) -> Bool
    /// Whether `path` is a directory.
    func isDirectory(_ path: String) -> Bool
    /// The names (not paths) in a directory, sorted bytewise.
    func list(_ directory: String) throws(LambdaStoreError) -> [String]
    /// Creates a directory and any missing parents.
    func createDirectory(_ path: String) throws(LambdaStoreError)
    /// Removes a file (or an empty directory).
    func remove(_ path: String) throws(LambdaStoreError)
    /// Atomically renames `from` to `to`, replacing `to`.
    func rename(_ from: String, to: String) throws(LambdaStoreError)
    /// Makes the entries of a directory durable (fsync on the directory).
    func syncDirectory(_ path: String) throws(LambdaStoreError)
    /// Whether `path` is a symbolic link (not followed). Defaults to false for file systems
    /// without links.
    func isSymbolicLink(_ path: String) -> Bool
    /// Takes an exclusive advisory lock on `path` (created if absent); throws
    /// ``LambdaStoreError/Code/locked`` at once when another holder has it.
    func lock(_ path: String) throws(LambdaStoreError) -> any FileLock
}

extension FileSystem {
    /// File systems without symbolic links have none.
    public func isSymbolicLink(_ path: String) -> Bool { false }

    /// Reads a whole file of at most `limit` bytes.
    public func readFile(_ path: String, limit: Int) throws(LambdaStoreError) -> [UInt8] {
        let h = try open(path, mode: .read)
        defer { try? h.close() }
        return try h.readAll(limit: limit)
    }

    /// Publishes `bytes` at `path` atomically and durably: write `path.tmp`, fsync, rename over
    /// `path`, fsync the directory. A crash at any instant leaves either the old file or the new
    /// one, never a mix.
    public func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws(LambdaStoreError) {
        let tmp = path + ".tmp"
        // A leftover temp file (or anything planted under its name, a symbolic link included:
        // unlink does not follow it) goes first, so the temp file is created new.
        if exists(tmp) || isSymbolicLink(tmp) { try remove(tmp) }
        let h = try open(tmp, mode: .truncate)
        do throws(LambdaStoreError) {
            try h.write(bytes, at: 0)
            try h.sync()
            try h.close()
        } catch {
            try? h.close()
            try? remove(tmp)
            throw error
        }
        try rename(tmp, to: path)
        try syncDirectory(Path.parent(of: path))
    }
}

/// Small path helpers (paths are `/`-separated strings).
public enum Path {
    /// `a` + `/` + `b`, without doubling slashes.
    @inlinable
    public static func join(_ a: String, _ b: String) -> String {
        if a.isEmpty { return b }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    /// Joins several components.
    public static func join(_ parts: String...) -> String { parts.dropFirst().reduce(parts.first ?? "") { join($0, $1) } }

    /// The parent directory of `path` (`.` when none).
    public static func parent(of path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "." }
        return i == path.startIndex ? "/" : String(path[..<i])
    }

    /// The last component of `path`.
    public static func base(of path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: i)...])
    }
}

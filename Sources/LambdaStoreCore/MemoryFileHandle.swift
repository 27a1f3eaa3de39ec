/// A read-only ``FileHandle`` over bytes in memory, so that code written against
/// ``FileHandle`` (the snapshot reader and verifier, the segment dump) also reads a buffer.
///
/// Reads past the end return 0 bytes, as a file does; a negative offset is
/// ``LambdaStoreError/Code/invalidArgument``; `write` and `truncate` are
/// ``LambdaStoreError/Code/precondition`` errors; `sync` and `close` do nothing.
///
/// Thread safety: immutable; read from any number of threads at once.
public final class MemoryFileHandle: FileHandle, Sendable {
    /// The bytes.
    public let bytes: [UInt8]
    /// The name errors carry (a file the bytes came from, or a label).
    public let path: String

    /// A handle over `bytes`, named `path` in errors.
    public init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    /// Copies up to `buffer.count` bytes at `offset`; 0 at or past the end.
    /// - Throws: ``LambdaStoreError/Code/invalidArgument`` for a negative offset.
    /// - Complexity: O(bytes copied).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(LambdaStoreError) -> Int {
        guard offset >= 0 else { throw LambdaStoreError(.invalidArgument, "negative offset \(offset)", path: path) }
        guard offset < Int64(bytes.count) else { return 0 }
        let start = Int(offset)
        let n = Swift.min(buffer.count, bytes.count - start)
        bytes.withUnsafeBytes { src in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[start..<(start + n)]))
        }
        return n
    }

    /// Always fails: the handle is read-only.
    /// - Throws: ``LambdaStoreError/Code/precondition``.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(LambdaStoreError) {
        throw LambdaStoreError(.precondition, "in-memory file is read-only", path: path)
    }

    /// Does nothing: there is nothing to flush.
    public func sync() throws(LambdaStoreError) {}

    /// Always fails: the handle is read-only.
    /// - Throws: ``LambdaStoreError/Code/precondition``.
    public func truncate(to size: Int64) throws(LambdaStoreError) {
        throw LambdaStoreError(.precondition, "in-memory file is read-only", path: path)
    }

    /// The number of bytes.
    public func size() throws(LambdaStoreError) -> Int64 { Int64(bytes.count) }

    /// Does nothing.
    public func close() throws(LambdaStoreError) {}
}

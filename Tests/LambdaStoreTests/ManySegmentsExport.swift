@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Builds a store whose stream has one segment per batch (`LAMBDASTORE_MANY_SEGMENTS` of them,
/// default 100,000) in `LAMBDASTORE_MANY_SEGMENTS_DIR`, without fsyncs (a build aid, not a
/// durable store until the tool's first open syncs what it recovers), for the by-hand
/// check that the tool works on that many segments under `ulimit -n 1024`
/// (`tools/many-segments.sh`; RELIABILITY.md). Skipped unless the directory is given.
@Suite struct ManySegmentsExport {
    static let target = getenv("LAMBDASTORE_MANY_SEGMENTS_DIR").map { String(cString: $0) }

    @Test(.enabled(if: target != nil)) func exportAStoreWithManySegments() async throws {
        let dir = try #require(Self.target)
        let count = getenv("LAMBDASTORE_MANY_SEGMENTS").flatMap { Int(String(cString: $0)) } ?? 100_000
        var options = StoreOptions()
        options.fileSystem = NoSyncFileSystem()
        options.log.segmentBytesMax = 64   // every batch rolls to a segment of its own
        options.logger.logLevel = .error
        let store = try await Store.open(at: dir, options: options)
        try await store.applySchema(testSchema)
        for i in 0..<count {
            let e = ReferenceModel.Event(ts: 1_767_225_600_000 + Int64(i) * 1000, merchant: "m\(i % 7)", status: "completed", amount: Int64(i % 100))
            try await store.append(try batchOf([e]), to: "orders", durability: .none)
        }
        store.close()
        print("exported \(count) segments to \(dir)")
    }
}

/// The real file system without fsyncs (building a large test store quickly).
struct NoSyncFileSystem: FileSystem {
    let base = PosixFileSystem()
    func open(_ path: String, mode: OpenMode) throws(LambdaStoreError) -> any FileHandle { NoSyncHandle(base: try base.open(path, mode: mode)) }
    func exists(_ path: String) -> Bool { base.exists(path) }
    func isDirectory(_ path: String) -> Bool { base.isDirectory(path) }
    func list(_ directory: String) throws(LambdaStoreError) -> [String] { try base.list(directory) }
    func createDirectory(_ path: String) throws(LambdaStoreError) { try base.createDirectory(path) }
    func remove(_ path: String) throws(LambdaStoreError) { try base.remove(path) }
    func rename(_ from: String, to: String) throws(LambdaStoreError) { try base.rename(from, to: to) }
    func syncDirectory(_ path: String) throws(LambdaStoreError) {}
    func lock(_ path: String) throws(LambdaStoreError) -> any FileLock { try base.lock(path) }
}

final class NoSyncHandle: FileHandle, Sendable {
    let base: any FileHandle
    var path: String { base.path }
    init(base: any FileHandle) { self.base = base }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(LambdaStoreError) -> Int { try base.read(into: buffer, at: offset) }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(LambdaStoreError) { try base.write(bytes, at: offset) }
    func sync() throws(LambdaStoreError) {}
    func truncate(to size: Int64) throws(LambdaStoreError) { try base.truncate(to: size) }
    func size() throws(LambdaStoreError) -> Int64 { try base.size() }
    func close() throws(LambdaStoreError) { try base.close() }
}

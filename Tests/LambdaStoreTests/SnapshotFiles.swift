@_spi(Internals) import LambdaStore
import LambdaStoreCore

extension Store {
    /// Every file of `view`'s live snapshot (a windowed view's parts, in manifest order), each
    /// as its 8-byte little-endian length then its bytes: two stores' values are equal exactly
    /// when they publish the same files with the same contents. Empty before the first batch.
    func liveSnapshotBytes(_ view: String = "v") throws -> [UInt8] {
        guard let info = views().first(where: { $0.definition.name == view }) else { return [] }
        var out: [UInt8] = []
        for name in info.snapshotFiles {
            let b = try PosixFileSystem().readFile(root + "/views/\(view)/" + name, limit: 1 << 30)
            withUnsafeBytes(of: UInt64(b.count).littleEndian) { out += $0 }
            out += b
        }
        return out
    }
}

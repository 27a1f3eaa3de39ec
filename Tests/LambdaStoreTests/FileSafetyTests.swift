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

/// Every entry under `root` (relative path, file type and permission bits, size, mtime in ns).
func treeListing(_ root: String) -> [String: (isDirectory: Bool, mode: UInt32, size: Int64, mtime: Int64)] {
    var out: [String: (isDirectory: Bool, mode: UInt32, size: Int64, mtime: Int64)] = [:]
    func walk(_ rel: String) {
        let path = rel.isEmpty ? root : root + "/" + rel
        var st = stat()
        guard lstat(path, &st) == 0 else { Issue.record("lstat \(path) failed"); return }
        let isDir = (st.st_mode & S_IFMT) == S_IFDIR
        out[rel.isEmpty ? "." : rel] = (isDir, UInt32(st.st_mode & 0o7777), Int64(st.st_size),
                                        Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
        guard isDir, let names = try? PosixFileSystem().list(path) else { return }
        for n in names { walk(rel.isEmpty ? n : rel + "/" + n) }
    }
    walk("")
    return out
}

/// A store with a stream, a view, a batch of events and a published snapshot.
func buildStore(at root: String, options: StoreOptions = StoreOptions()) async throws {
    let store = try await Store.open(at: root, options: options)
    defer { store.close() }
    try await store.applySchema(testSchema)
    try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "10m")))
    var rng = SplitMix64(seed: 5)
    var clock: Int64 = 1_704_067_200_000
    try await store.append(try batchOf(randomEvents(&rng, count: 300, clock: &clock)), to: "orders")
    _ = try await store.runBatch(view: "v")
    try await store.append(try batchOf(randomEvents(&rng, count: 50, clock: &clock)), to: "orders")
}

@Suite struct FileSafetyTests {
    /// Issue 10, defect 3: a store's files are owner-only.
    @Test func storeFilesAreOwnerOnlyByDefault() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let root = dir + "/a/store"   // missing parents are created owner-only too
        try await buildStore(at: root)
        let tree = treeListing(dir + "/a")
        #expect(tree.values.contains { !$0.isDirectory } && tree.count > 6)
        for (name, e) in tree.sorted(by: { $0.key < $1.key }) {
            #expect(e.mode == (e.isDirectory ? 0o700 : 0o600), "\(name) has mode \(String(e.mode, radix: 8))")
        }
    }

    /// The modes can be chosen, and are set exactly whatever the umask.
    @Test func fileModesCanBeOverridden() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        var options = StoreOptions()
        options.fileSystem = PosixFileSystem(fileMode: 0o666, directoryMode: 0o777)
        try await buildStore(at: dir + "/store", options: options)
        for (name, e) in treeListing(dir + "/store") {
            #expect(e.mode == (e.isDirectory ? 0o777 : 0o666), "\(name) has mode \(String(e.mode, radix: 8))")
        }
    }

    /// Issue 10, defect 5: a replay drill on a read-only store writes nothing into it.
    @Test func replayDrillOnAReadOnlyStoreLeavesItUntouched() async throws {
        let dir = makeTempDirectory()
        defer { removeTree(dir) }
        let root = dir + "/store"
        try await buildStore(at: root)
        let before = treeListing(root)
        var options = StoreOptions()
        options.readOnly = true
        let store = try await Store.open(at: root, options: options)
        let opened = treeListing(root)
        let drill = try await store.replayDrill(view: "v")
        let after = treeListing(root)
        store.close()
        #expect(drill.comparedWithPublished && drill.matchesPublished && drill.events == 300)
        // Nothing added, removed, resized or rewritten (compared right after the read-only open
        // too, so a change by the open itself is not blamed on the drill, and vice versa).
        for listing in [opened, after] {
            #expect(listing.keys.sorted() == before.keys.sorted())
            for (name, e) in before {
                let a = listing[name]
                #expect(a?.size == e.size && a?.mtime == e.mtime && a?.mode == e.mode, "\(name) changed")
            }
        }
    }
}

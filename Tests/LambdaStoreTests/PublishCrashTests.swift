@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport
import Synchronization
import Testing

@Suite struct PublishCrashTests {
    func options(_ fs: SimulatedFileSystem) -> StoreOptions {
        var o = StoreOptions()
        o.fileSystem = fs
        o.batchParallelism = 2
        o.clock = { 1_767_225_600_000 }
        return o
    }

    /// Two crash images of `fs` after every file-system operation `body` makes: only synced
    /// data surviving, and everything with the last write torn.
    static func crashImages(of fs: SimulatedFileSystem, during body: () async throws -> Void) async throws -> [(Int, SimulatedFileSystem)] {
        let images = Mutex<[(Int, SimulatedFileSystem)]>([])
        fs.setObserver { k, _ in
            let a = fs.crashImage(.durableOnly)
            let b = fs.crashImage(.everything(tornLastWriteAt: 3))
            images.withLock { $0.append((k, a)); $0.append((k, b)) }
        }
        defer { fs.setObserver(nil) }
        try await body()
        return images.withLock { $0 }
    }

    /// A store on `fs` at `root` with the orders stream and the hourly view `v` (10 min lateness).
    func storeWithView(_ fs: SimulatedFileSystem, root: String) async throws -> Store {
        let store = try await Store.open(at: root, options: options(fs))
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "10m")))
        return store
    }

    /// A crash at every write point of a batch publish (every file-system operation, with the
    /// worst-case "only synced data survives" and with a torn last write) leaves the previous
    /// snapshot or the new one live, each complete and readable, serving the right answer.
    @Test func crashAtEveryWritePointOfAPublishLeavesAReadableSnapshot() async throws {
        let fs = SimulatedFileSystem()
        let root = "/store"
        let store = try await storeWithView(fs, root: root)
        var rng = SplitMix64(seed: 5)
        var clock: Int64 = 1_704_067_200_000
        try await store.append(try batchOf(randomEvents(&rng, count: 400, clock: &clock)), to: "orders", durability: .sync)
        _ = try await store.runBatch(view: "v")
        try await store.append(try batchOf(randomEvents(&rng, count: 400, clock: &clock)), to: "orders", durability: .sync)
        let before = try await served(store)
        let gen1 = try #require(store.views().first?.generation)

        let all = try await Self.crashImages(of: fs) { _ = try await store.runBatch(view: "v") }
        let after = try await served(store)
        store.close()
        #expect(all.count >= 10, "a publish has several write points")

        var sawOld = false, sawNew = false
        for (k, image) in all {
            let s = try await Store.open(at: root, options: options(image))
            let info = try #require(s.views().first, "op \(k)")
            let answer = try await served(s)
            if info.generation == gen1 {
                sawOld = true
                #expect(answer == before, "op \(k): previous snapshot must serve the previous answer")
            } else {
                sawNew = true
                #expect(info.generation == gen1 + 1, "op \(k)")
                #expect(answer == after, "op \(k): new snapshot must serve the new answer")
            }
            s.close()
            let verified = await Store.verify(at: root, fileSystem: image)
            #expect(verified.isClean, "op \(k): \(verified.problems)")
        }
        #expect(sawOld && sawNew)
    }

    /// The same for a snapshot split into parts (about ten days of hourly windows): an
    /// incremental publish that names earlier parts again, rewrites the one the new events
    /// (and some late ones) fall in and adds new ones, and a full publish that rewrites them all.
    /// At every write point the image serves the previous answer or the new one, verifies
    /// clean, and a `compact` on it (keep one generation) removes no file its live manifest
    /// names: the answer is unchanged after it and after a reopen.
    @Test(arguments: [BatchMode.incremental, .full]) func crashAtEveryWritePointOfAPartitionedPublish(mode: BatchMode) async throws {
        let fs = SimulatedFileSystem()
        let root = "/store"
        let store = try await storeWithView(fs, root: root)
        var rng = SplitMix64(seed: 55)
        var clock: Int64 = 1_704_067_200_000
        try await store.append(try batchOf(PartitionedSnapshotTests.spreadEvents(&rng, count: 700, clock: &clock)), to: "orders", durability: .sync)
        _ = try await store.runBatch(view: "v")
        let parts1 = try #require(store.views().first?.snapshotFiles)
        #expect(parts1.count >= 5, "\(parts1)")
        try await store.append(try batchOf(PartitionedSnapshotTests.spreadEvents(&rng, count: 40, clock: &clock)), to: "orders", durability: .sync)
        let before = try await served(store)
        let gen1 = try #require(store.views().first?.generation)

        let all = try await Self.crashImages(of: fs) { _ = try await store.runBatch(view: "v", mode: mode) }
        let after = try await served(store)
        let parts2 = try #require(store.views().first?.snapshotFiles)
        if mode == .incremental { #expect(parts2.contains { parts1.contains($0) }, "some part named again: \(parts1) -> \(parts2)") }
        store.close()
        var sawOld = false, sawNew = false
        for (k, image) in all {
            var s = try await Store.open(at: root, options: options(image))
            let info = try #require(s.views().first, "op \(k)")
            let expected = info.generation == gen1 ? before : after
            if info.generation == gen1 { sawOld = true } else { sawNew = true; #expect(info.generation == gen1 + 1, "op \(k)") }
            #expect(s.unavailableViews.isEmpty, "op \(k): \(s.unavailableViews)")
            #expect(try await served(s) == expected, "op \(k)")
            _ = try await s.compact()
            #expect(try await served(s) == expected, "op \(k): after compact")
            s.close()
            s = try await Store.open(at: root, options: options(image))
            let reopened = try await served(s)
            #expect(s.unavailableViews.isEmpty && reopened == expected, "op \(k): after compact and reopen")
            s.close()
            let verified = await Store.verify(at: root, fileSystem: image)
            #expect(verified.isClean, "op \(k): \(verified.problems)")
        }
        #expect(sawOld && sawNew)
    }
}

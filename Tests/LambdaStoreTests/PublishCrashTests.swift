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

    /// A crash at every write point of a batch publish (every file-system operation, with the
    /// worst-case "only synced data survives" and with a torn last write) leaves the previous
    /// snapshot or the new one live, each complete and readable, serving the right answer.
    @Test func crashAtEveryWritePointOfAPublishLeavesAReadableSnapshot() async throws {
        let fs = SimulatedFileSystem()
        let root = "/store"
        let store = try await Store.open(at: root, options: options(fs))
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "10m")))
        var rng = SplitMix64(seed: 5)
        var clock: Int64 = 1_704_067_200_000
        try await store.append(try batchOf(randomEvents(&rng, count: 400, clock: &clock)), to: "orders", durability: .sync)
        _ = try await store.runBatch(view: "v")
        try await store.append(try batchOf(randomEvents(&rng, count: 400, clock: &clock)), to: "orders", durability: .sync)
        let before = try await served(store)
        let gen1 = try #require(store.views().first?.generation)

        let images = Mutex<[(Int, SimulatedFileSystem)]>([])
        fs.setObserver { k, _ in
            let a = fs.crashImage(.durableOnly)
            let b = fs.crashImage(.everything(tornLastWriteAt: 3))
            images.withLock { $0.append((k, a)); $0.append((k, b)) }
        }
        _ = try await store.runBatch(view: "v")
        fs.setObserver(nil)
        let after = try await served(store)
        store.close()
        let all = images.withLock { $0 }
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
}

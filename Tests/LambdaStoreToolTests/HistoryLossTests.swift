import Foundation
import LambdaStoreTestSupport
import Testing

/// Issue 11, "silent loss of acknowledged history": damage that removes whole batches from the
/// log (so every remaining byte is valid) must not let the next command append over the lost
/// offsets. The stream's CHECKPOINT and the view's horizon prove the history existed; writable
/// opens refuse, `verify` fails, and only an explicit `repair` accepts the loss.
@Suite(.serialized) struct HistoryLossTests {
    enum Damage: String, CaseIterable {
        case truncateToZero, zeroAfterHeader, deleteOnlySegment
    }

    /// A store with 400 ingested events and a published view, closed.
    static func makeStore(_ s: Scratch) throws -> [String] {
        let store = ["--store", s.store]
        #expect(try Tool.run(["schema", "apply", s.write("schema.json", schemaJSON)] + store).status == 0)
        #expect(try Tool.run(["view", "create", s.write("view.json", viewFileJSON)] + store).status == 0)
        var rng = SplitMix64(seed: 11)
        var clock: Int64 = 1_767_225_600_000
        let orders = makeOrders(&rng, count: 400, clock: &clock)
        let r = try Tool.run(["ingest", "--stream", "orders", s.write("a.jsonl", orders.map(\.jsonLine).joined(separator: "\n") + "\n")] + store)
        #expect(r.status == 0, "\(r.stderr)")
        let b = try Tool.run(["batch"] + store)
        #expect(b.status == 0, "\(b.stderr)")
        return store
    }

    static func segment(_ s: Scratch) -> String { s.store + "/streams/orders/00000000000000000000.segment" }

    static func apply(_ damage: Damage, _ s: Scratch) throws {
        let path = segment(s)
        switch damage {
        case .truncateToZero:
            try FileHandle(forWritingTo: URL(fileURLWithPath: path)).truncate(atOffset: 0)
        case .zeroAfterHeader:
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try h.seek(toOffset: 32)
            h.write(Data(count: size - 32))
            try h.close()
        case .deleteOnlySegment:
            for f in try FileManager.default.contentsOfDirectory(atPath: s.store + "/streams/orders") where f.hasPrefix("00000000000000000000.") {
                try FileManager.default.removeItem(atPath: s.store + "/streams/orders/" + f)
            }
        }
    }

    @Test(arguments: Damage.allCases)
    func lostBatchesAreRefusedUntilRepaired(damage: Damage) throws {
        let s = Scratch()
        let store = try Self.makeStore(s)
        try Self.apply(damage, s)

        // The next ingest must not append over the lost offsets.
        let more = #"{"event_ts":1767225600000,"merchant_id":"m1","status":"completed","amount_cents":5}"# + "\n"
        let ingest = try Tool.run(["ingest", "--stream", "orders", s.write("b.jsonl", more)] + store)
        #expect(ingest.status != 0, "\(damage): ingest over lost history must fail")
        #expect(ingest.stderr.contains("acknowledged history is missing"), "\(damage): \(ingest.stderr)")
        #expect(ingest.stderr.split(separator: "\n").count == 1, "one line: \(ingest.stderr)")
        #expect(try Tool.run(["batch"] + store).status != 0, "\(damage): batch must refuse too")
        let verify = try Tool.run(["verify"] + store)
        #expect(verify.status != 0, "\(damage): verify must fail: \(verify.stdout)")

        // An explicit repair accepts the loss; the view is reset and rebuilt from what is left.
        let repair = try Tool.run(["repair"] + store)
        #expect(repair.status == 0, "\(damage): \(repair.stderr)")
        #expect(repair.stdout.contains("reset to unpublished"), "\(damage): \(repair.stdout)")
        let again = try Tool.run(["ingest", "--stream", "orders", "--json", s.write("c.jsonl", more)] + store)
        #expect(again.status == 0, "\(damage): \(again.stderr)")
        #expect(again.json?["firstOffset"] as? Int == 0)
        #expect(try Tool.run(["batch"] + store).status == 0)
        let v2 = try Tool.run(["verify"] + store)
        #expect(v2.status == 0, "\(damage): \(v2.stdout)")
    }

    /// A view directory whose MANIFEST was deleted still holds its snapshots: verify names it.
    @Test func aDeletedManifestFailsVerify() throws {
        let s = Scratch()
        let store = try Self.makeStore(s)
        try FileManager.default.removeItem(atPath: s.store + "/views/revenue_hourly/MANIFEST")
        let verify = try Tool.run(["verify"] + store)
        #expect(verify.status != 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("no MANIFEST"), "\(verify.stdout)")
        // The store still opens; the view is reported unavailable.
        let status = try Tool.run(["status", "--json"] + store)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("revenue_hourly") && status.stdout.contains("unavailable"), "\(status.stdout)")
    }
}

import Foundation
import LambdaStoreTestSupport
import Testing

/// The lifecycle through the command (DESIGN.md "The `lambdastore` command", "Lifecycle"):
/// `policy set|show`, `compact [--dry-run] --json`, `status --json`, `dump archive`, `verify`,
/// and the refusal of a history drop without consent.
@Suite(.serialized) struct ArchiveLifecycleToolTests {
    /// Every file under `dir`, path → bytes.
    static func tree(_ dir: String) -> [String: Data] {
        var out: [String: Data] = [:]
        let e = FileManager.default.enumerator(atPath: dir)
        while let rel = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            let p = dir + "/" + rel
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue { out[rel] = FileManager.default.contents(atPath: p) }
        }
        return out
    }

    static func object(_ v: Any?) -> [String: Any]? { v as? [String: Any] }

    /// A store with 1,800 orders in six segments (a 4 KiB roll size) and a published view.
    static func makeStore(_ s: Scratch) throws -> (args: [String], orders: [Order]) {
        let store = ["--store", s.store]
        #expect(try Tool.run(["schema", "apply", s.write("schema.json", schemaJSON)] + store).status == 0)
        #expect(try Tool.run(["view", "create", s.write("view.json", viewFileJSON)] + store).status == 0)
        let p = try Tool.run(["policy", "set", "--stream", "orders", "--segment-bytes", "4096"] + store)
        #expect(p.status == 0, "\(p.stderr)")
        var rng = SplitMix64(seed: 77)
        var clock: Int64 = 1_767_225_600_000
        var all: [Order] = []
        for i in 0..<6 {
            let orders = makeOrders(&rng, count: 300, clock: &clock)
            let r = try Tool.run(["ingest", "--stream", "orders", s.write("o\(i).jsonl", orders.map(\.jsonLine).joined(separator: "\n") + "\n")] + store)
            #expect(r.status == 0, "\(r.stderr)")
            all += orders
        }
        let b = try Tool.run(["batch"] + store)
        #expect(b.status == 0, "\(b.stderr)")
        return (store, all)
    }

    @Test func policyCompactStatusDumpAndVerifyThroughTheCommand() throws {
        let s = Scratch()
        let (store, orders) = try Self.makeStore(s)
        let segments = try FileManager.default.contentsOfDirectory(atPath: s.store + "/streams/orders").filter { $0.hasSuffix(".segment") }
        #expect(segments.count == 6, "\(segments)")

        // policy set / show: every key, the values just set.
        let set = try Tool.run(["policy", "set", "--stream", "orders", "--archive-after", "0s", "--keep-raw", "0s", "--json"] + store)
        #expect(set.status == 0, "\(set.stderr)")
        #expect(Self.object(Self.object(set.json?["streams"])?["orders"])?["archiveAfter"] as? String == "0s", "\(set.stdout)")
        let gen = try Tool.run(["policy", "set", "--view", "revenue_hourly", "--keep-generations", "2"] + store)
        #expect(gen.status == 0, "\(gen.stderr)")
        let show = try Tool.run(["policy", "show", "--json"] + store)
        #expect(show.status == 0, "\(show.stderr)")
        let sp = try #require(Self.object(Self.object(show.json?["streams"])?["orders"]), "\(show.stdout)")
        #expect(Set(sp.keys) == ["segmentBytes", "segmentAge", "archiveAfter", "keepRaw", "keepRawBytes", "dropHistoryAfter", "allowHistoryLoss"], "\(show.stdout)")
        #expect(sp["segmentBytes"] as? Int == 4096 && sp["segmentAge"] as? String == "7d" && sp["archiveAfter"] as? String == "0s" && sp["keepRaw"] as? String == "0s")
        #expect(sp["keepRawBytes"] is NSNull && sp["dropHistoryAfter"] is NSNull && sp["allowHistoryLoss"] as? Bool == false, "\(show.stdout)")
        #expect(Self.object(Self.object(show.json?["views"])?["revenue_hourly"])?["keepGenerations"] as? Int == 2, "\(show.stdout)")

        // A dry run reports and changes nothing.
        // Three snapshot generations: one more than the two kept.
        for _ in 0..<2 { #expect(try Tool.run(["batch"] + store).status == 0) }
        let before = Self.tree(s.store)
        let dry = try Tool.run(["compact", "--dry-run", "--json"] + store)
        #expect(dry.status == 0, "\(dry.stderr)")
        let dj = try #require(dry.json, "\(dry.stdout)")
        #expect(dj["dryRun"] as? Bool == true)
        let after = Self.tree(s.store)
        #expect(Set(after.keys) == Set(before.keys), "a dry run added or removed files: \(Set(after.keys).symmetricDifference(before.keys))")
        #expect(after.filter { before[$0.key] != $0.value }.keys.sorted() == [], "a dry run changed files")

        // compact --json: every key, and the numbers add up.
        let c = try Tool.run(["compact", "--json"] + store)
        #expect(c.status == 0, "\(c.stderr)")
        let cj = try #require(c.json, "\(c.stdout)")
        for k in ["rolled", "archived", "removed", "bytes", "earliestReplayableOffset"] { #expect(cj[k] != nil, "compact --json lacks \(k): \(c.stdout)") }
        let archived = try #require(Self.object(cj["archived"])), removed = try #require(Self.object(cj["removed"]))
        let bytes = try #require(Self.object(cj["bytes"]))
        let b0 = try #require(Self.object(bytes["before"])), b1 = try #require(Self.object(bytes["after"]))
        for o in [b0, b1] { #expect(Set(o.keys) == ["raw", "archive", "snapshots"], "\(c.stdout)") }
        #expect(Set(archived.keys) == ["segments", "events", "bytes"] && Set(removed.keys) == ["segments", "snapshots", "bytes"], "\(c.stdout)")
        #expect(cj["rolled"] as? Int == 1, "\(c.stdout)")
        #expect(archived["segments"] as? Int == 6 && archived["events"] as? Int == orders.count, "every event archived: \(c.stdout)")
        #expect(removed["segments"] as? Int == 6 && removed["snapshots"] as? Int == 1, "\(c.stdout)")
        #expect((archived["bytes"] as? Int ?? 0) > 0 && b1["archive"] as? Int == archived["bytes"] as? Int && b0["archive"] as? Int == 0, "\(c.stdout)")
        #expect((b1["raw"] as? Int ?? .max) < (b0["raw"] as? Int ?? 0) && (b1["snapshots"] as? Int ?? .max) < (b0["snapshots"] as? Int ?? 0), "\(c.stdout)")
        #expect(cj["earliestReplayableOffset"] as? Int == 0)
        // The dry run predicted it.
        #expect(dj["rolled"] as? Int == 1 && Self.object(dj["archived"])?["events"] as? Int == orders.count, "\(dry.stdout)")
        #expect(Self.object(dj["removed"])?["segments"] as? Int == 6 && Self.object(dj["removed"])?["snapshots"] as? Int == 1, "\(dry.stdout)")

        // status --json: per stream, bytes {raw, archive} and earliestReplayableOffset.
        let st = try Tool.run(["status", "--json"] + store)
        #expect(st.status == 0, "\(st.stderr)")
        let stream = try #require((st.json?["streams"] as? [[String: Any]])?.first, "\(st.stdout)")
        let sb = try #require(Self.object(stream["bytes"]), "\(st.stdout)")
        #expect(sb["archive"] as? Int == b1["archive"] as? Int && sb["raw"] as? Int == b1["raw"] as? Int, "\(st.stdout)")
        #expect(stream["earliestReplayableOffset"] as? Int == 0)

        // Batch and query read the archive: the answers are the reference's.
        let batch = try Tool.run(["batch", "--json"] + store)
        #expect(batch.status == 0, "\(batch.stderr)")
        let q = try Tool.run(["query", "--view", "revenue_hourly", "--format", "csv"] + store)
        #expect(q.status == 0, "\(q.stderr)")
        #expect(parseQueryCSV(q.stdout).values == reference(orders, horizon: orders.count))
        let replay = try Tool.run(["replay", "--view", "revenue_hourly", "--json"] + store)
        #expect(replay.status == 0 && replay.json?["matchesPublished"] as? Bool == true, "\(replay.stdout) \(replay.stderr)")

        // dump archive: a Parquet file and the archive manifest, text and JSON.
        let adir = s.store + "/archive/orders/"
        let parquet = try FileManager.default.contentsOfDirectory(atPath: adir).filter { $0.hasSuffix(".parquet") }.sorted()
        #expect(parquet.count == 6 && parquet[0] == "00000000000000000000.parquet", "\(parquet)")
        for args in [["dump", "archive", adir + parquet[1]], ["dump", "archive", adir + parquet[1], "--json"]] {
            let d = try Tool.run(args)
            #expect(d.status == 0 && d.stdout.contains("_offset") && d.stdout.contains("lambdastore.base_offset"), "\(args): \(d.stdout.prefix(400)) \(d.stderr)")
        }
        let dm = try Tool.run(["dump", "archive", adir + "MANIFEST"])
        #expect(dm.status == 0 && dm.stdout.contains("archive manifest") && dm.stdout.contains(parquet[5]), "\(dm.stdout) \(dm.stderr)")
        let dmj = try Tool.run(["dump", "archive", adir + "MANIFEST", "--json"])
        #expect(dmj.status == 0 && (dmj.json?["files"] as? [Any])?.count == 6 && dmj.json?["earliestReplayableOffset"] as? Int == 0, "\(dmj.stdout) \(dmj.stderr)")

        // verify: clean, then a flipped byte in an archive file is named and fails it.
        let v0 = try Tool.run(["verify"] + store)
        #expect(v0.status == 0, "\(v0.stdout) \(v0.stderr)")
        let victim = adir + parquet[2]
        let clean = try #require(FileManager.default.contents(atPath: victim))
        var bad = clean
        bad[bad.count / 2] ^= 0x01
        try bad.write(to: URL(fileURLWithPath: victim))
        let v1 = try Tool.run(["verify"] + store)
        #expect(v1.status != 0 && v1.stdout.contains(parquet[2]), "\(v1.stdout) \(v1.stderr)")
        #expect(v1.stderr.split(separator: "\n").count == 1, "\(v1.stderr)")
        let b2 = try Tool.run(["batch"] + store)
        #expect(b2.status != 0 && b2.stderr.contains(parquet[2]) && b2.stderr.split(separator: "\n").count == 1, "\(b2.stderr)")
        let dbad = try Tool.run(["dump", "archive", adir + "MANIFEST"])
        #expect(dbad.status == 0, "the manifest itself is fine: \(dbad.stderr)")
        try clean.write(to: URL(fileURLWithPath: victim))
        #expect(try Tool.run(["verify"] + store).status == 0)
    }

    @Test func aHistoryDropWithoutConsentIsRefusedInOneLine() throws {
        let s = Scratch()
        let (store, _) = try Self.makeStore(s)
        let policyFile = s.store + "/streams/orders/POLICY"
        let stored = FileManager.default.contents(atPath: policyFile)
        let r = try Tool.run(["policy", "set", "--stream", "orders", "--drop-history-after", "1d"] + store)
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("lambdastore: "), "\(r.stderr)")
        #expect(r.stderr.contains("--allow-history-loss") && r.stderr.contains("unreplayable") && r.stderr.contains("orders"), "\(r.stderr)")
        #expect(FileManager.default.contents(atPath: policyFile) == stored, "nothing written")
        let show = try Tool.run(["policy", "show", "--stream", "orders", "--json"] + store)
        #expect(Self.object(Self.object(show.json?["streams"])?["orders"])?["dropHistoryAfter"] is NSNull, "\(show.stdout)")
        // Other refusals: one line each, nothing written.
        for args in [["--keep-raw", "1d"], ["--segment-bytes", "100"], ["--archive-after", "-1s"], ["--archive-after", "soon"]] {
            let e = try Tool.run(["policy", "set", "--stream", "orders"] + args + store)
            #expect(e.status != 0 && e.stderr.split(separator: "\n").count == 1, "\(args): \(e.stderr)")
            #expect(FileManager.default.contents(atPath: policyFile) == stored, "\(args): nothing written")
        }
        let kg = try Tool.run(["policy", "set", "--view", "revenue_hourly", "--keep-generations", "0"] + store)
        #expect(kg.status != 0 && kg.stderr.split(separator: "\n").count == 1, "\(kg.stderr)")
        // With consent it is accepted and shown.
        let ok = try Tool.run(["policy", "set", "--stream", "orders", "--archive-after", "0s", "--drop-history-after", "1d", "--allow-history-loss", "--json"] + store)
        #expect(ok.status == 0, "\(ok.stderr)")
        let o = Self.object(Self.object(ok.json?["streams"])?["orders"])
        #expect(o?["dropHistoryAfter"] as? String == "1d" && o?["allowHistoryLoss"] as? Bool == true, "\(ok.stdout)")

        // Dropped at once: compact and status report the earliest replayable offset; a new view
        // is refused naming it, and built from it with --from-earliest.
        let now = try Tool.run(["policy", "set", "--stream", "orders", "--keep-raw", "0s", "--drop-history-after", "0s", "--allow-history-loss"] + store)
        #expect(now.status == 0, "\(now.stderr)")
        let before = try Tool.run(["query", "--view", "revenue_hourly", "--format", "csv"] + store)
        let c = try Tool.run(["compact", "--json"] + store)
        #expect(c.status == 0, "\(c.stderr)")
        let e = c.json?["earliestReplayableOffset"] as? Int ?? 0
        #expect(e == 1800, "every sealed segment dropped (the active one was rolled first): \(c.stdout)")
        let st = try Tool.run(["status", "--json"] + store)
        #expect((st.json?["streams"] as? [[String: Any]])?.first?["earliestReplayableOffset"] as? Int == e, "\(st.stdout)")
        let after = try Tool.run(["query", "--view", "revenue_hourly", "--format", "csv"] + store)
        #expect(after.stdout == before.stdout && !after.stdout.isEmpty)
        #expect(try Tool.run(["batch"] + store).status == 0)
        #expect(try Tool.run(["query", "--view", "revenue_hourly", "--format", "csv"] + store).stdout == before.stdout)
        #expect(try Tool.run(["verify"] + store).status == 0)
        let second = s.write("second.json", viewFileJSON.replacingOccurrences(of: "revenue_hourly", with: "second"))
        let refused = try Tool.run(["view", "create", second] + store)
        #expect(refused.status != 0 && refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains("offset \(e)"), "\(refused.stderr)")
        let built = try Tool.run(["view", "create", "--from-earliest", second] + store)
        #expect(built.status == 0, "\(built.stderr)")
        let q = try Tool.run(["query", "--view", "second", "--format", "csv"] + store)
        #expect(q.status == 0 && parseQueryCSV(q.stdout).values.isEmpty, "nothing from E on yet: \(q.stdout)")
        var rng = SplitMix64(seed: 78)
        var clock: Int64 = 1_767_225_600_000 + 86_400_000
        let newer = makeOrders(&rng, count: 400, clock: &clock)
        #expect(try Tool.run(["ingest", "--stream", "orders", s.write("newer.jsonl", newer.map(\.jsonLine).joined(separator: "\n") + "\n")] + store).status == 0)
        let speed = try Tool.run(["query", "--view", "second", "--format", "csv"] + store)
        #expect(parseQueryCSV(speed.stdout).values == reference(newer, horizon: 0), "speed part over the events from E on")
        #expect(try Tool.run(["batch", "--view", "second"] + store).status == 0)
        let full = try Tool.run(["query", "--view", "second", "--format", "csv"] + store)
        #expect(parseQueryCSV(full.stdout).values == reference(newer, horizon: newer.count), "batch over the events from E on")
    }
}

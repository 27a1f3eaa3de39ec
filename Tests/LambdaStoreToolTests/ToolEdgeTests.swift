import Foundation
import LambdaStoreTestSupport
import Testing

/// Issue 11, "the command's edges": argument errors, output errors, dangerous reject files,
/// control characters in echoed values, timestamps no window can hold.
@Suite(.serialized) struct ToolEdgeTests {
    static func storeWithOrders(_ s: Scratch, count: Int = 200) throws -> [String] {
        let store = ["--store", s.store]
        #expect(try Tool.run(["schema", "apply", s.write("schema.json", schemaJSON)] + store).status == 0)
        #expect(try Tool.run(["view", "create", s.write("view.json", viewFileJSON)] + store).status == 0)
        var rng = SplitMix64(seed: 3)
        var clock: Int64 = 1_767_225_600_000
        let orders = makeOrders(&rng, count: count, clock: &clock)
        #expect(try Tool.run(["ingest", "--stream", "orders", s.write("a.jsonl", orders.map(\.jsonLine).joined(separator: "\n") + "\n")] + store).status == 0)
        return store
    }

    /// Runs the tool with standard output going to /dev/full.
    static func runToFullDisk(_ args: [String]) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Tool.binary)
        p.arguments = args
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
        let err = Pipe()
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    @Test(arguments: [["query", "--bogus"], ["query"], ["ingest", "--stream", "s", "--durability", "maybe"], ["nosuchcommand"],
                      ["batch", "--view", "v", "--incremental", "--extra"]])
    func argumentErrorsPrintOneLine(args: [String]) throws {
        let r = try Tool.run(args + ["--store", "/nonexistent-lambdastore"])
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("lambdastore: "), "\(args): \(r.stderr)")
        #expect(!r.stderr.contains("Usage"), "\(r.stderr)")
    }

    @Test func anInvertedRangeIsAnArgumentError() throws {
        let s = Scratch()
        let store = try Self.storeWithOrders(s)
        let r = try Tool.run(["query", "--view", "revenue_hourly", "--from", "2", "--to", "1"] + store)
        #expect(r.status != 0 && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("--from"), "\(r.stderr)")
    }

    @Test func writeErrorsOnStandardOutputFailTheCommand() throws {
        let s = Scratch()
        let store = try Self.storeWithOrders(s, count: 3000)
        for args in [["status"], ["status", "--json"], ["query", "--view", "revenue_hourly", "--format", "csv"],
                     ["dump", "segment", s.store + "/streams/orders/00000000000000000000.segment", "--records", "--json"]] {
            let r = try Self.runToFullDisk(args + store)
            #expect(r.status != 0, "\(args) to a full disk must fail")
            #expect(r.stderr.contains("writing standard output failed"), "\(args): \(r.stderr)")
        }
    }

    @Test func aRejectFileMayBeNeitherTheInputNorInsideTheStore() throws {
        let s = Scratch()
        let store = try Self.storeWithOrders(s)
        let input = s.write("b.jsonl", "{\"bad\":1}\n")
        let segment = s.store + "/streams/orders/00000000000000000000.segment"
        let before = try Data(contentsOf: URL(fileURLWithPath: segment))
        for target in [input, segment, s.store + "/new-file", s.store + "/streams/../streams/orders/x"] {
            let r = try Tool.run(["ingest", "--stream", "orders", "--reject-file", target, input] + store)
            #expect(r.status != 0 && r.stderr.contains("--reject-file"), "\(target): \(r.stderr)")
        }
        #expect(try String(contentsOfFile: input, encoding: .utf8) == "{\"bad\":1}\n", "the input is untouched")
        #expect(try Data(contentsOf: URL(fileURLWithPath: segment)) == before, "the segment is untouched")
        #expect(!FileManager.default.fileExists(atPath: s.store + "/new-file"))
        let ok = try Tool.run(["ingest", "--stream", "orders", "--reject-file", s.path + "/rejects.txt", input] + store)
        let rejected = try String(contentsOfFile: s.path + "/rejects.txt", encoding: .utf8)
        #expect(ok.status == 1 && rejected.hasPrefix("line 1: "), "\(ok.stderr) \(rejected)")
    }

    @Test func controlCharactersInEchoedValuesAreEscaped() throws {
        let s = Scratch()
        let store = try Self.storeWithOrders(s)
        let lines = [
            #"{"event_ts":1767225600000,"merchant_id":"m","status":"completed","amount_cents":"12\nline 99: forged"}"#,
            #"{"event_ts":1767225600000,"merchant_id":"m","status":"completed","amount_cents":1,"x\u001b[31mred":2}"#,
        ]
        let r = try Tool.run(["ingest", "--stream", "orders", s.write("c.jsonl", lines.joined(separator: "\n") + "\n")] + store)
        #expect(r.status == 1)
        let err = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(err.count == 2, "one stderr line per rejected line: \(r.stderr)")
        #expect(err.allSatisfy { $0.hasPrefix("line ") }, "\(r.stderr)")
        #expect(!r.stderr.utf8.contains(0x1B), "no raw ESC reaches the terminal")
    }

    @Test func eventTimesNoWindowCanHoldAreRejectedWithTheirLine() throws {
        let s = Scratch()
        let store = try Self.storeWithOrders(s)
        let lines = [
            #"{"event_ts":-9223372036854775000,"merchant_id":"m","status":"completed","amount_cents":1}"#,
            #"{"event_ts":1767225600000,"merchant_id":"m","status":"completed","amount_cents":1}"#,
            #"{"event_ts":9223372036854775807,"merchant_id":"m","status":"completed","amount_cents":1}"#,
            #"{"event_ts":"0000-01-01T00:00:00Z","merchant_id":"m","status":"completed","amount_cents":1}"#,
        ]
        let r = try Tool.run(["ingest", "--stream", "orders", "--json", s.write("d.jsonl", lines.joined(separator: "\n") + "\n")] + store)
        #expect(r.status == 1)
        #expect(r.json?["appended"] as? Int == 1 && r.json?["rejected"] as? Int == 3, "\(r.stdout)")
        for n in [1, 3, 4] { #expect(r.stderr.contains("line \(n): "), "\(r.stderr)") }
        #expect(r.stderr.contains("outside the supported range"), "\(r.stderr)")
        let csv = "event_ts,merchant_id,status,amount_cents\n-9223372036854775000,m,completed,1\n"
        let c = try Tool.run(["ingest", "--stream", "orders", "--json", s.write("e.csv", csv)] + store)
        #expect(c.status == 1 && c.stderr.contains("line 2: ") && c.stderr.contains("outside the supported range"), "\(c.stderr)")
    }

    /// `batch` over every view runs and reports each one even when another fails.
    @Test func batchOverAllViewsReportsEachViewWhenOneFails() throws {
        let s = Scratch()
        let store = try Self.storeWithOrders(s)
        let second = viewFileJSON.replacingOccurrences(of: "revenue_hourly", with: "zz_second")
        #expect(try Tool.run(["view", "create", s.write("v2.json", second)] + store).status == 0)
        #expect(try Tool.run(["batch"] + store).status == 0)
        let manifest = s.store + "/views/revenue_hourly/MANIFEST"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: manifest))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: manifest))
        let r = try Tool.run(["batch", "--json"] + store)
        #expect(r.status != 0, "a failed view fails the command")
        let views = try #require(r.json?["views"] as? [[String: Any]], "\(r.stdout)")
        #expect(views.count == 2, "\(r.stdout)")
        #expect(views.contains { ($0["view"] as? String) == "revenue_hourly" && $0["error"] != nil }, "\(r.stdout)")
        #expect(views.contains { $0["horizon"] as? Int == 200 }, "\(r.stdout)")
    }

    /// A symbolic link planted at a temp file's name never redirects a write outside the store.
    @Test func symlinksPlantedAtTempNamesAreNeverFollowed() throws {
        let s = Scratch()
        let store = try Self.storeWithOrders(s)
        #expect(try Tool.run(["batch"] + store).status == 0)
        let outside = s.write("precious.txt", "do not overwrite\n")
        let vdir = s.store + "/views/revenue_hourly"
        let targets = [vdir + "/MANIFEST.tmp", vdir + "/DRIFT.tmp", vdir + "/00000000000000000003.snapshot.tmp",
                       s.store + "/streams/orders/CHECKPOINT.tmp"]
        for t in targets { try FileManager.default.createSymbolicLink(atPath: t, withDestinationPath: outside) }
        #expect(try Tool.run(["ingest", "--stream", "orders", s.write("more.jsonl", Order(ts: 1_767_300_000_000, merchant: "m1", status: "completed", amount: 5).jsonLine + "\n")] + store).status == 0)
        let b = try Tool.run(["batch"] + store)
        #expect(b.status == 0, "\(b.stderr)")
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "do not overwrite\n")
        #expect(try Tool.run(["verify"] + store).status == 0)
    }
}

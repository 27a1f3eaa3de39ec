import Foundation
import LambdaStoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The operations the kill -9 loop interrupts (tools/killloop.sh drills the same ones).
enum KillOperation: String, CaseIterable, Sendable {
    case batch, incremental, targeted, reconcile, viewSwap = "view-swap", compact

    /// The `lambdastore` arguments, without `--store`.
    func arguments(_ f: KillLoopFixture) -> [String] {
        switch self {
        case .batch: ["batch"]
        case .incremental: ["batch", "--incremental"]
        case .targeted: ["batch", "--from", String(f.targetFrom), "--to", String(f.targetTo)]
        case .reconcile: ["reconcile", "--view", "rev"]
        case .viewSwap: ["view", "create", f.changedView]
        case .compact: ["compact"]
        }
    }
}

/// A store with work for every operation: schema `orders`, views `rev` (tumbling, filter,
/// lateness) and `mix` (hopping, count_distinct), `events` events ingested in five parts (a
/// half, then four eighths, 2 % of them 1–3 h late) with a full batch after each of the first
/// four parts: drift reports flag windows (reconcile has work), old snapshot generations wait
/// for `compact`, and the last eighth (late events included) sits in the speed layer.
struct KillLoopFixture {
    static let views = ["mix", "rev"]
    let store: String
    let changedView: String
    let events: Int
    let targetFrom: Int64
    let targetTo: Int64

    static let epoch: Int64 = 1_767_225_600_000

    init(in s: Scratch, seed: UInt64, events: Int) throws {
        store = s.path + "/base"
        self.events = events
        let st = ["--store", store]
        let schema = s.write("schema.json", #"{"stream":"orders","eventTime":"event_ts","fields":[{"name":"event_ts","type":"timestamp"},{"name":"merchant_id","type":"string"},{"name":"status","type":"string"},{"name":"amount_cents","type":"int64"}]}"#)
        let rev = s.write("rev.json", #"{"name":"rev","stream":"orders","filter":"status = 'completed'","groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"10m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"},{"name":"top","fn":"max","field":"amount_cents"}]}"#)
        let mix = s.write("mix.json", #"{"name":"mix","stream":"orders","groupBy":["status"],"window":{"type":"hopping","field":"event_ts","size":"1h","slide":"15m"},"allowedLateness":"5m","aggregates":[{"name":"n","fn":"count"},{"name":"avg_amount","fn":"avg","field":"amount_cents"},{"name":"merchants","fn":"count_distinct","field":"merchant_id"}]}"#)
        changedView = s.write("rev2.json", #"{"name":"rev","stream":"orders","filter":"status != 'pending'","groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"20m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"},{"name":"low","fn":"min","field":"amount_cents"}]}"#)
        for args in [["schema", "apply", schema], ["view", "create", rev], ["view", "create", mix]] {
            let r = try Tool.run(args + st)
            try #require(r.status == 0, "\(args): \(r.stderr)")
        }
        var rng = SplitMix64(seed: seed)
        let merchants = (1...12).map { String(format: "m%02d", $0) }
        let statuses = ["completed", "completed", "completed", "pending", "refunded"]
        let cuts = [0, events / 2, events * 5 / 8, events * 6 / 8, events * 7 / 8, events]
        for part in 0..<5 {
            var text = ""
            for i in cuts[part]..<cuts[part + 1] {
                var ts = Self.epoch + 1000 * Int64(i) - Int64(rng.next() % 30_000)
                if rng.next() % 100 < 2 { ts -= 3_600_000 + Int64(rng.next() % 7_200_000) }
                text += "{\"event_ts\":\(ts),\"merchant_id\":\"\(merchants[Int(rng.next() % 12)])\",\"status\":\"\(statuses[Int(rng.next() % 5)])\",\"amount_cents\":\(100 + rng.next() % 99_900)}\n"
            }
            let r = try Tool.run(["ingest", "--stream", "orders", "--durability", "sync", s.write("part\(part).jsonl", text)] + st)
            try #require(r.status == 0, "ingest part \(part): \(r.stderr)")
            if part < 4 {
                let b = try Tool.run(["batch"] + st)
                try #require(b.status == 0, "batch after part \(part): \(b.stderr)")
            }
        }
        // Windows starting in the second and third eighths of the history (hours).
        let hour: Int64 = 3_600_000
        targetFrom = Self.epoch + Int64(events) * 1000 / 8 / hour * hour
        targetTo = Self.epoch + Int64(events) * 3000 / 8 / hour * hour + hour
    }

    /// Each view's `query --format csv` answer, lines sorted.
    static func answers(_ store: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for v in views {
            let r = try Tool.run(["query", "--view", v, "--format", "csv", "--store", store])
            try #require(r.status == 0, "query --view \(v): \(r.stderr)")
            out[v] = r.stdout.split(separator: "\n").sorted().joined(separator: "\n")
        }
        return out
    }

    /// Problems with the store after a kill: `verify` fails, a view is unavailable, or the
    /// stream lost an acknowledged event (nil when none).
    /// With `drift`, every view's last drift report must be that of its live publish (its
    /// `toHorizon` is the view's horizon): no publish is served without its drift report.
    func problems(_ store: String, drift: Bool = true) throws -> String? {
        let v = try Tool.run(["verify", "--store", store])
        if v.status != 0 { return "verify exited \(v.status): \(v.stdout) \(v.stderr)" }
        let s = try Tool.run(["status", "--json", "--store", store])
        guard s.status == 0, let json = s.json else { return "status --json failed (\(s.status)): \(s.stderr)" }
        guard let unavailable = json["unavailable"] as? [Any] else { return "status --json has no unavailable array: \(s.stdout)" }
        if !unavailable.isEmpty { return "unavailable views: \(unavailable)" }
        let end = ((json["streams"] as? [[String: Any]])?.first?["endOffset"] as? NSNumber)?.intValue
        if end != events { return "the stream holds \(end.map(String.init) ?? "?") events, \(events) were acknowledged" }
        for view in drift ? (json["views"] as? [[String: Any]] ?? []) : [] {
            let horizon = (view["horizon"] as? NSNumber)?.int64Value
            let last = ((view["lastDrift"] as? [String: Any])?["toHorizon"] as? NSNumber)?.int64Value
            if horizon != last { return "view \(view["name"] ?? "?") is published at horizon \(horizon.map(String.init) ?? "?") but its last drift report is to \(last.map(String.init) ?? "none")" }
        }
        return nil
    }
}

extension ProcessLoopSuites {
@Suite(.serialized) struct KillLoopTests {
    /// Kills per operation (6 operations: 34 → 204 kills).
    static let killsPerOperation = ProcessInfo.processInfo.environment["LAMBDASTORE_KILL_ITERATIONS"].flatMap(Int.init) ?? 34

    /// kill -9 at a random instant of each operation that publishes (batch full / incremental /
    /// targeted, reconcile, a view version swap, compact): the store verifies, no view is
    /// unavailable, no acknowledged event is lost, and each view serves exactly the answer from
    /// before the operation or the one after it (computed by running it to completion on a
    /// copy); running the operation again gives the after-answer (checked on every third kill
    /// and the last, to fit the budget; tools/killloop.sh checks it on every kill).
    @Test func killNineDuringAnOperationServesTheStateBeforeOrAfter() throws {
        let seed = ProcessInfo.processInfo.environment["LAMBDASTORE_KILL_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64(UInt32.max))
        var rng = SplitMix64(seed: seed ^ 0x5EED)
        let s = Scratch()
        let started = Date()
        let f = try KillLoopFixture(in: s, seed: seed, events: 8000)
        let before = try KillLoopFixture.answers(f.store)
        try #require(try f.problems(f.store) == nil)
        let prepared = Date().timeIntervalSince(started)
        // Start-up: process launch plus a read-only open of the store (median of three).
        var startups: [Int] = []
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try #require(try Tool.run(["view", "list", "--store", f.store]).status == 0)
            startups.append(Int((DispatchTime.now().uptimeNanoseconds - t0) / 1_000_000))
        }
        let startup = startups.sorted()[1]
        var lines: [String] = []
        var totals = (kills: 0, killed: 0, before: 0, after: 0)
        for op in KillOperation.allCases {
            let args = op.arguments(f)
            let opStarted = Date()
            // The after-state, and how long the whole command takes.
            // The median of three runs (the machine is shared: one run can be much slower or
            // faster than usual).
            var durations: [Int] = []
            let afterStore = s.path + "/after-\(op.rawValue)"
            for attempt in 0..<3 {
                try? FileManager.default.removeItem(atPath: afterStore)
                try FileManager.default.copyItem(atPath: f.store, toPath: afterStore)
                let t0 = DispatchTime.now().uptimeNanoseconds
                let done = try Tool.run(args + ["--store", afterStore])
                durations.append(Int((DispatchTime.now().uptimeNanoseconds - t0) / 1_000_000))
                try #require(done.status == 0, "\(op.rawValue) to completion (\(attempt)): \(done.stderr)")
            }
            let duration = durations.sorted()[1]
            // Kills before half the start-up (a read-only open) land before the store is
            // opened: only every eighth kill draws its delay from [0, duration], the others
            // from [start-up / 2, duration].
            let low = min(startup / 2, duration)
            let after = try KillLoopFixture.answers(afterStore)
            try #require(try f.problems(afterStore, drift: op != .viewSwap) == nil)
            if op != .compact { #expect(after != before, "\(op.rawValue) changes no answer: the drill would not tell before from after") }

            var killed = 0, sawBefore = 0, sawAfter = 0, temps = 0
            let store = s.path + "/kill"
            for k in 1...Self.killsPerOperation {
                let from = k % 8 == 0 ? 0 : low
                let delay = from + Int(rng.next() % UInt64(duration - from + 1))
                let context = "seed \(seed), \(op.rawValue), kill \(k), delay \(delay) of \(duration) ms"
                try? FileManager.default.removeItem(atPath: store)
                try FileManager.default.copyItem(atPath: f.store, toPath: store)
                let p = Process()
                p.executableURL = URL(fileURLWithPath: Tool.binary)
                p.arguments = args + ["--store", store]
                p.standardInput = FileHandle.nullDevice
                p.standardOutput = FileHandle.nullDevice
                let errPath = s.path + "/op.err"
                try #require(FileManager.default.createFile(atPath: errPath, contents: nil))
                p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
                try p.run()
                usleep(UInt32(delay * 1000))
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                if p.terminationReason == .uncaughtSignal {
                    killed += 1
                } else {
                    let err = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
                    try #require(p.terminationStatus == 0, "exited \(p.terminationStatus) before the kill: \(err) [\(context)]")
                }

                func keep() -> String {
                    let kept = NSTemporaryDirectory() + "lambdastore-killloop-failed-\(seed)-\(op.rawValue)-\(k)"
                    try? FileManager.default.removeItem(atPath: kept)
                    try? FileManager.default.copyItem(atPath: store, toPath: kept)
                    return kept
                }
                let views = store + "/views"
                if ((try? FileManager.default.subpathsOfDirectory(atPath: views)) ?? []).contains(where: { $0.hasSuffix(".tmp") }) { temps += 1 }
                if let problem = try f.problems(store, drift: op != .viewSwap) {
                    Issue.record("\(problem) [\(context); store kept at \(keep())]")
                    continue
                }
                let now = try KillLoopFixture.answers(store)
                for v in KillLoopFixture.views {
                    if now[v] == before[v] { if before[v] != after[v] { sawBefore += 1 } }
                    else if now[v] == after[v] { sawAfter += 1 }
                    else { Issue.record("view \(v) serves neither the before- nor the after-answer [\(context); store kept at \(keep())]") }
                }
                if k % 3 == 0 || k == Self.killsPerOperation {
                    let again = try Tool.run(args + ["--store", store])
                    #expect(again.status == 0, "\(op.rawValue) again: \(again.stderr) [\(context)]")
                    #expect(try KillLoopFixture.answers(store) == after, "\(op.rawValue) run again does not give the after-answer [\(context)]")
                    #expect(try f.problems(store, drift: op != .viewSwap) == nil, "after \(op.rawValue) again [\(context)]")
                }
            }
            totals.kills += Self.killsPerOperation
            totals.killed += killed
            totals.before += sawBefore
            totals.after += sawAfter
            lines.append("\(op.rawValue): \(Self.killsPerOperation) kills (\(killed) before the command exited; command \(duration) ms, delays from \(low) ms), " +
                         "answers changed by it seen before/after: \(sawBefore)/\(sawAfter), kills leaving a *.tmp: \(temps), \(Int(Date().timeIntervalSince(opStarted))) s")
        }
        // The loop is not vacuous: most kills land before the command exits, and kills land
        // both before and after the publish.
        #expect(totals.killed * 2 >= totals.kills, "only \(totals.killed) of \(totals.kills) kills landed before the command exited (seed \(seed))")
        #expect(totals.before > 0 && totals.after > 0, "before/after answers seen: \(totals.before)/\(totals.after) (seed \(seed))")
        print("kill loop: seed \(seed), \(f.events) events, \(totals.kills) kills, start-up \(startup) ms, prepared in \(Int(prepared)) s, total \(Int(Date().timeIntervalSince(started))) s\n  " +
              lines.joined(separator: "\n  "))
    }
}
}

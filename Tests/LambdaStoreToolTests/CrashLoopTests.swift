import Foundation
import LambdaStoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The drill's record generator, written again from its documented formula (see
/// `CrashLoopRecords` in tools/lambdastore/DebugCommand.swift) as an independent reference.
struct DrillReference {
    let seed: UInt64

    /// SplitMix64's output at state `seed + golden · (8 i + lane + 1)`.
    func r(_ i: Int64, _ lane: UInt64) -> UInt64 {
        var g = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* (UInt64(i) &* 8 &+ lane))
        return g.next()
    }

    func ts(_ i: Int64) -> Int64 { 1_767_225_600_000 + 1000 * i - Int64(r(i, 0) % 60_000) }
    func key(_ i: Int64) -> String {
        let k = r(i, 1)
        let letters = (0..<Int(k % 13)).map { j in Character(Unicode.Scalar(97 + UInt8((k >> UInt64(8 + 4 * j)) & 15))) }
        return "k\(i)-" + String(letters)
    }
    func amount(_ i: Int64) -> Int64 { Int64(bitPattern: r(i, 2)) }
    func score(_ i: Int64) -> Double { Double(Int64(bitPattern: r(i, 3)) >> 11) / 1024 }
    func ok(_ i: Int64) -> Bool { r(i, 4) & 1 == 1 }
    func note(_ i: Int64) -> String? {
        let n = r(i, 5)
        return n % 4 == 0 ? nil : "note-\(n % 10_000)" + (n % 7 == 0 ? " ✓" : "")
    }

    /// Record `i` as one JSON Lines input line for `ingest`.
    func jsonLine(_ i: Int64, note override: String? = nil) -> String {
        let note = (override ?? note(i)).map { "\"\($0)\"" } ?? "null"
        return "{\"ts\":\(ts(i)),\"key\":\"\(key(i))\",\"amount\":\(amount(i)),\"score\":\(score(i)),\"ok\":\(ok(i)),\"note\":\(note)}"
    }
}

/// A started `lambdastore debug append-loop` whose stdout goes to a file.
struct AppendLoopProcess {
    let process: Process
    let stdoutPath: String
    let stderrPath: String

    static func start(_ args: [String], in dir: String, tag: String) throws -> AppendLoopProcess {
        let out = dir + "/append-\(tag).out", err = dir + "/append-\(tag).err"
        for f in [out, err] { try #require(FileManager.default.createFile(atPath: f, contents: nil), "cannot create \(f)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Tool.binary)
        p.arguments = ["debug", "append-loop"] + args
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try p.run()
        return AppendLoopProcess(process: p, stdoutPath: out, stderrPath: err)
    }

    var stdout: String { String(decoding: FileManager.default.contents(atPath: stdoutPath) ?? Data(), as: UTF8.self) }
    var stderr: String { String(decoding: FileManager.default.contents(atPath: stderrPath) ?? Data(), as: UTF8.self) }

    /// The complete lines printed (a line cut by the kill claims nothing).
    var lines: [Substring] {
        let text = stdout
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()   // after the last newline: empty, or a cut line
        return lines
    }

    var acks: [Int64] { lines.compactMap { $0.hasPrefix("acked ") ? Int64($0.dropFirst(6)) : nil } }
    var resume: Int64? { lines.first.flatMap { $0.hasPrefix("resume ") ? Int64($0.dropFirst(7)) : nil } }
}

/// The records of `dump segment --records --json`.
struct SegmentRecords: Decodable {
    struct Batch: Decodable { var records: [[Cell]]? }
    enum Cell: Decodable, Equatable {
        case int(Int64), double(Double), string(String), bool(Bool), null
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null
            } else if let b = try? c.decode(Bool.self) { self = .bool(b)
            } else if let i = try? c.decode(Int64.self) { self = .int(i)
            } else if let d = try? c.decode(Double.self) { self = .double(d)
            } else { self = .string(try c.decode(String.self)) }
        }
    }
    var batches: [Batch]
}

extension ProcessLoopSuites {
@Suite(.serialized) struct CrashLoopTests {
    static let iterations = ProcessInfo.processInfo.environment["LAMBDASTORE_CRASH_ITERATIONS"].flatMap(Int.init) ?? 8

    /// The kill -9 loop: every acknowledged record survives each crash and every record kept is
    /// intact; recovery cuts exactly what a (drill-)torn tail left; `verify` stays clean.
    @Test func killNineLoopKeepsEveryAcknowledgedRecord() throws {
        let seed = ProcessInfo.processInfo.environment["LAMBDASTORE_CRASH_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64(UInt32.max))
        var rng = SplitMix64(seed: seed)
        let s = Scratch()
        let store = ["--store", s.store]
        let drill = ["--stream", "drill", "--seed", String(seed)]
        var acked: Int64 = -1, records: Int64 = 0, appends = 0, tears = 0, keptUnacked = 0
        let codecs = ["lz4", "zstd", "none"], segments = ["65536", "262144", "1048576"]
        let started = Date()
        for it in 1...Self.iterations {
            let context = "seed \(seed), iteration \(it) of \(Self.iterations)"
            let batch = 50 + Int(rng.next() % 451)
            // The last iteration runs long enough that the loop cannot pass without any acknowledgement.
            let delay = it == Self.iterations ? 400 + Int(rng.next() % 101) : 20 + Int(rng.next() % 481)
            let p = try AppendLoopProcess.start(
                store + drill + ["--batch", String(batch), "--codec", codecs[Int(rng.next() % 3)],
                                 "--segment-bytes", segments[Int(rng.next() % 3)], "--durability", "sync"],
                in: s.path, tag: String(it))
            usleep(UInt32(delay * 1000))
            kill(p.process.processIdentifier, SIGKILL)
            p.process.waitUntilExit()
            try #require(p.process.terminationReason == .uncaughtSignal && p.process.terminationStatus == SIGKILL,
                         "append-loop exited by itself (\(p.process.terminationStatus)): \(p.stderr) [\(context)]")
            if let resume = p.resume { #expect(resume == records, "resumed at \(resume), \(records) records were checked [\(context)]") }
            let acks = p.acks
            #expect(acks == acks.sorted() && Set(acks).count == acks.count, "acks not increasing [\(context)]")
            if let last = acks.last {
                #expect(last > acked, "ack \(last) not past \(acked) [\(context)]")
                acked = last
            }
            appends += acks.count

            var expectCut: Int64? = nil
            if rng.next() % 2 == 0 {
                // Only what this run wrote past its last acknowledgement may be torn.
                let known = max(acked, records - 1)
                let t = try Tool.run(["debug", "tear-tail", "--stream", "drill", "--acked", String(known), "--seed", String(rng.next())] + store)
                try #require(t.status == 0, "tear-tail: \(t.stderr) [\(context)]")
                if let r = t.stdout.range(of: "expect_truncated=") { expectCut = Int64(t.stdout[r.upperBound...].prefix { $0.isNumber }) }
            }

            let from = it == Self.iterations ? 0 : records
            let c = try Tool.run(["debug", "check-loop", "--acked", String(acked), "--check-from", String(from), "--json"] + drill + store)
            try #require(c.status == 0, "check-loop: \(c.stderr) \(c.stdout) [\(context)]")
            let json = try #require(c.json, "check-loop printed no JSON: \(c.stdout) [\(context)]")
            let kept = try #require((json["records"] as? NSNumber)?.int64Value)
            let cut = try #require((json["bytesTruncated"] as? NSNumber)?.int64Value)
            #expect(kept >= acked + 1 && kept >= records, "\(kept) records, \(records) before, acked \(acked) [\(context)]")
            if let expectCut {
                #expect(cut == expectCut, "recovery cut \(cut) bytes, the tear left \(expectCut) [\(context)]")
                tears += 1
            }
            if kept > acked + 1 { keptUnacked += 1 }
            records = kept
            let v = try Tool.run(["verify"] + store)
            #expect(v.status == 0, "verify: \(v.stdout) \(v.stderr) [\(context)]")
        }
        #expect(acked >= 0, "no append was ever acknowledged (seed \(seed))")
        print("crash loop: \(Self.iterations) kills, seed \(seed), \(appends) appends acked, records 0..<\(records) (acked through \(acked)), " +
              "\(keptUnacked) restarts kept unacknowledged records, \(tears) drill-torn tails recovered, \(Int(Date().timeIntervalSince(started))) s")
    }

    /// The checker is not vacuous: it fails, with a one-line reason, on a missing acknowledged
    /// record, on a wrong seed, on one wrong field, and on a flipped byte; `verify` on the last.
    @Test func checkLoopRejectsEveryKindOfLoss() throws {
        let s = Scratch()
        let store = ["--store", s.store]
        let p = try AppendLoopProcess.start(store + ["--stream", "t", "--seed", "42", "--batch", "50", "--max-appends", "3"], in: s.path, tag: "x")
        p.process.waitUntilExit()
        try #require(p.process.terminationStatus == 0, "\(p.stderr)")
        #expect(p.stdout == "resume 0\nacked 49\nacked 99\nacked 149\n")

        let check = ["debug", "check-loop", "--stream", "t"] + store
        #expect(try Tool.run(check + ["--seed", "42", "--acked", "149"]).status == 0)
        // "-1" (nothing acknowledged, as after a kill before the first ack) is a value, not a flag.
        let none = try Tool.run(check + ["--seed", "42", "--acked", "-1"])
        #expect(none.status == 0, "\(none.stderr)")
        let missing = try Tool.run(check + ["--seed", "42", "--acked", "150"])
        #expect(missing.status == 3 && missing.stderr.contains("offset 150 was acknowledged but the stream holds only 150 records"), "\(missing.stderr)")
        let wrongSeed = try Tool.run(check + ["--seed", "43"])
        #expect(wrongSeed.status == 3 && wrongSeed.stderr.contains("offset 0 field 'ts'"), "\(wrongSeed.stderr)")

        // Record 150 right in every field but the nullable one.
        let ref = DrillReference(seed: 42)
        let line = ref.jsonLine(150, note: ref.note(150) == nil ? "x" : "\(ref.note(150) ?? "")!")
        #expect(try Tool.run(["ingest", "--stream", "t", s.write("one.jsonl", line + "\n")] + store).status == 0)
        let wrong = try Tool.run(check + ["--seed", "42", "--acked", "150"])
        #expect(wrong.status == 3 && wrong.stderr.contains("offset 150 field 'note'"), "\(wrong.stderr)")
        #expect(wrong.stderr.split(separator: "\n").count == 1)
        // Records written through ingest from the reference pass: the reference is the generator.
        let good = try Tool.run(["ingest", "--stream", "t", s.write("two.jsonl", (151..<160).map { ref.jsonLine($0) }.joined(separator: "\n") + "\n")] + store)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(try Tool.run(check + ["--seed", "42", "--acked", "159", "--check-from", "151"]).status == 0)

        // One flipped byte in the middle of the first batch's payload.
        let seg = s.store + "/streams/t/00000000000000000000.segment"
        let fh = try #require(FileHandle(forUpdatingAtPath: seg))
        try fh.seek(toOffset: 200)
        let byte = try #require(try fh.read(upToCount: 1)?.first)
        try fh.seek(toOffset: 200)
        try fh.write(contentsOf: Data([byte ^ 0x10]))
        try fh.close()
        let flipped = try Tool.run(check + ["--seed", "42", "--acked", "149"])
        #expect(flipped.status != 0 && flipped.stderr.contains("00000000000000000000.segment"), "\(flipped.stderr)")
        #expect(try Tool.run(["verify"] + store).status != 0)
    }

    /// tear-tail never touches a batch holding an acknowledged record; otherwise recovery cuts
    /// exactly the bytes it left and the records of the torn batch are gone, the rest intact.
    @Test func tearTailOnlyTearsUnacknowledgedBatches() throws {
        let s = Scratch()
        let store = ["--store", s.store]
        let p = try AppendLoopProcess.start(store + ["--stream", "t", "--seed", "5", "--batch", "80", "--max-appends", "4", "--codec", "zstd"], in: s.path, tag: "x")
        p.process.waitUntilExit()
        try #require(p.process.terminationStatus == 0, "\(p.stderr)")
        let refused = try Tool.run(["debug", "tear-tail", "--stream", "t", "--acked", "240", "--seed", "1"] + store)
        #expect(refused.status == 0 && refused.stdout.hasPrefix("untouched: the last batch"), "\(refused.stdout)")
        let end: Int64 = 320   // each round appends one batch at 320 and tears it away again
        for tearSeed in 1...6 {
            let more = try AppendLoopProcess.start(store + ["--stream", "t", "--seed", "5", "--batch", "80", "--max-appends", "1"], in: s.path, tag: String(tearSeed))
            more.process.waitUntilExit()
            #expect(more.resume == end, "\(more.stdout)")
            let t = try Tool.run(["debug", "tear-tail", "--stream", "t", "--acked", String(end - 1), "--seed", String(tearSeed)] + store)
            let r = try #require(t.stdout.range(of: "expect_truncated="), "\(t.stdout) \(t.stderr)")
            let expect = try #require(Int64(t.stdout[r.upperBound...].prefix { $0.isNumber }))
            let c = try Tool.run(["debug", "check-loop", "--stream", "t", "--seed", "5", "--acked", String(end - 1), "--json"] + store)
            #expect(c.status == 0, "\(c.stderr)")
            #expect((c.json?["records"] as? NSNumber)?.int64Value == end, "\(c.stdout)")
            #expect((c.json?["bytesTruncated"] as? NSNumber)?.int64Value == expect, "\(t.stdout) → \(c.stdout)")
            #expect(try Tool.run(["verify"] + store).status == 0)
        }
    }

    /// What append-loop stored, read back through `dump segment --records --json`, equals the
    /// independent reference record by record, whatever the batch size.
    @Test(arguments: [(UInt64(7), 1), (UInt64(0xDEAD_BEEF_0BAD_F00D), 37)])
    func storedRecordsMatchTheReference(seed: UInt64, batch: Int) throws {
        let s = Scratch()
        let store = ["--store", s.store]
        let p = try AppendLoopProcess.start(store + ["--stream", "t", "--seed", String(seed), "--batch", String(batch), "--max-appends", "5", "--codec", "none"],
                                            in: s.path, tag: "x")
        p.process.waitUntilExit()
        try #require(p.process.terminationStatus == 0, "\(p.stderr)")
        let d = try Tool.run(["dump", "segment", s.store + "/streams/t/00000000000000000000.segment", "--records", "--json"] + store)
        try #require(d.status == 0, "\(d.stderr)")
        // JSONDecoder, not JSONSerialization: the latter rounds some doubles on Linux.
        let rows = try JSONDecoder().decode(SegmentRecords.self, from: Data(d.stdout.utf8)).batches.flatMap { $0.records ?? [] }
        try #require(rows.count == 5 * batch)
        let ref = DrillReference(seed: seed)
        var nulls = 0
        for (n, row) in rows.enumerated() {
            let i = Int64(n)
            try #require(row.count == 6)
            #expect(row[0] == .int(ref.ts(i)), "ts of \(i)")
            #expect(row[1] == .string(ref.key(i)), "key of \(i)")
            #expect(row[2] == .int(ref.amount(i)), "amount of \(i)")
            #expect(row[3] == .double(ref.score(i)) || (ref.score(i) == ref.score(i).rounded() && row[3] == .int(Int64(ref.score(i)))), "score of \(i)")
            #expect(row[4] == .bool(ref.ok(i)), "ok of \(i)")
            #expect(row[5] == (ref.note(i).map { .string($0) } ?? .null), "note of \(i)")
            if ref.note(i) == nil { nulls += 1 }
        }
        #expect(batch == 1 || nulls > 0)
    }
}
}

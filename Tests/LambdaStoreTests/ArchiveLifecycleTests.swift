@_spi(Internals) @testable import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreTestSupport
import Logging
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The lifecycle manager against independent references (DESIGN.md "Lifecycle",
/// format-spec.md §7 and §8): where history lives (raw segments, the Parquet archive, a mix,
/// behind base checkpoints) never changes what views compute, every value survives the archive
/// bit for bit, unsafe policies are refused, snapshot GC keeps what it must, and a damaged or
/// lying archive is corruption, never a wrong answer.
///
/// `LAMBDASTORE_LONG=1` runs more seeds and more events.
@Suite struct ArchiveLifecycleTests {
    static let long: Bool = getenv("LAMBDASTORE_LONG").map { String(cString: $0) == "1" } ?? false
    static let seeds: [UInt64] = (0..<UInt64(long ? 16 : 3)).map { 0xA3C_1F00 + $0 }
    static let scale = long ? 4 : 1
    static let t0: Int64 = 1_767_225_600_000   // 2026-01-01T00:00:00Z

    // MARK: - Random schemas, events and views, and a naive reference

    typealias Row = [String: Value]

    /// The fields of the first schema version (every type, nullable and not, a second timestamp).
    static let v1Fields: [Field] = [
        Field(name: "ts", type: .timestamp, nullable: true),
        Field(name: "k", type: .string),
        Field(name: "ks", type: .string, nullable: true),
        Field(name: "amount", type: .int64, nullable: true),
        Field(name: "qty", type: .int64),
        Field(name: "score", type: .float64, nullable: true),
        Field(name: "ratio", type: .float64),
        Field(name: "flag", type: .bool, nullable: true),
        Field(name: "ok", type: .bool),
        Field(name: "ship", type: .timestamp, nullable: true),
    ]
    /// Added by the second version: a nullable field with a default, and one without.
    static let v2Added: [Field] = [
        Field(name: "region", type: .string, nullable: true, defaultValue: .string("eu")),
        Field(name: "bonus", type: .int64, nullable: true),
    ]

    /// A row's value of `field` as the latest schema sees it (old rows: the default, else null).
    static func get(_ row: Row, _ field: String) -> Value {
        if let v = row[field] { return v }
        return v2Added.first { $0.name == field }?.defaultValue ?? .null
    }

    enum Win: CustomStringConvertible {
        case none
        case tumbling(String, Int64)
        case hopping(String, Int64, Int64)

        var json: String {
            switch self {
            case .none: "{\"type\":\"none\"}"
            case .tumbling(let f, let z): "{\"type\":\"tumbling\",\"field\":\"\(f)\",\"size\":\"\(z)ms\"}"
            case .hopping(let f, let z, let d): "{\"type\":\"hopping\",\"field\":\"\(f)\",\"size\":\"\(z)ms\",\"slide\":\"\(d)ms\"}"
            }
        }
        var description: String { json }
        var field: String? {
            switch self {
            case .none: nil
            case .tumbling(let f, _), .hopping(let f, _, _): f
            }
        }
        var size: Int64 {
            switch self {
            case .none: 0
            case .tumbling(_, let z), .hopping(_, let z, _): z
            }
        }

        /// format-spec.md §3b.6, written out plainly: floor alignment from epoch 0.
        func starts(_ t: Int64) -> [Int64] {
            func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
            switch self {
            case .none: return []
            case .tumbling(_, let z): return [floorDiv(t, z) * z]
            case .hopping(_, let z, let d):
                let hi = floorDiv(t, d), lo = floorDiv(t - z, d) + 1
                return hi >= lo ? (lo...hi).map { $0 * d } : []
            }
        }
    }

    /// SQL three-valued logic: nil is unknown.
    static func and(_ a: Bool?, _ b: Bool?) -> Bool? { a == false || b == false ? false : (a == nil || b == nil ? nil : true) }
    static func or(_ a: Bool?, _ b: Bool?) -> Bool? { a == true || b == true ? true : (a == nil || b == nil ? nil : false) }
    static func not(_ a: Bool?) -> Bool? { a.map { !$0 } }
    static func int(_ r: Row, _ f: String) -> Int64? { if case .int64(let v) = get(r, f) { v } else if case .timestamp(let v) = get(r, f) { v } else { nil } }
    static func dbl(_ r: Row, _ f: String) -> Double? { if case .float64(let v) = get(r, f) { v } else { nil } }
    static func str(_ r: Row, _ f: String) -> String? { if case .string(let v) = get(r, f) { v } else { nil } }
    static func bool(_ r: Row, _ f: String) -> Bool? { if case .bool(let v) = get(r, f) { v } else { nil } }

    struct Filter: @unchecked Sendable {
        var text: String?
        var eval: (Row) -> Bool?
    }

    /// Filters with their meaning written out by hand (§3a.4).
    static let filters: [Filter] = [
        Filter(text: nil) { _ in true },
        Filter(text: "amount > 10") { r in int(r, "amount").map { $0 > 10 } },
        Filter(text: "k IN ('a', 'b') OR flag") { r in or(str(r, "k").map { ["a", "b"].contains($0) }, bool(r, "flag")) },
        Filter(text: "NOT (score < 0.5) AND amount IS NOT NULL") { r in and(not(dbl(r, "score").map { $0 < 0.5 }), !get(r, "amount").isNull) },
        Filter(text: "ship IS NOT NULL AND ok") { r in and(!get(r, "ship").isNull, bool(r, "ok")) },
        Filter(text: "region = 'eu' OR bonus >= 3") { r in or(str(r, "region").map { $0 == "eu" }, int(r, "bonus").map { $0 >= 3 }) },
        Filter(text: "ks <> '' AND qty <= 500") { r in and(str(r, "ks").map { $0 != "" }, int(r, "qty").map { $0 <= 500 }) },
        Filter(text: "ratio >= 0 OR NOT flag") { r in or(dbl(r, "ratio").map { $0 >= 0 }, not(bool(r, "flag"))) },
        Filter(text: "ts >= \(t0 + 3_600_000) AND k NOT IN ('c')") { r in and(int(r, "ts").map { $0 >= t0 + 3_600_000 }, not(str(r, "k").map { $0 == "c" })) },
    ]

    struct Agg {
        var name: String
        var fn: String
        var field: String?
        var json: String { "{\"name\":\"\(name)\",\"fn\":\"\(fn)\"" + (field.map { ",\"field\":\"\($0)\"" } ?? "") + "}" }
    }

    static let aggregatePool: [Agg] = [
        Agg(name: "c", fn: "count", field: "score"), Agg(name: "total", fn: "sum", field: "amount"),
        Agg(name: "fs", fn: "sum", field: "score"), Agg(name: "lo", fn: "min", field: "amount"),
        Agg(name: "hi", fn: "max", field: "k"), Agg(name: "first_ship", fn: "min", field: "ship"),
        Agg(name: "rmax", fn: "max", field: "ratio"), Agg(name: "mean", fn: "avg", field: "amount"),
        Agg(name: "fmean", fn: "avg", field: "ratio"), Agg(name: "u", fn: "count_distinct", field: "k"),
        Agg(name: "uq", fn: "count_distinct", field: "qty"), Agg(name: "bsum", fn: "sum", field: "bonus"),
        Agg(name: "lastq", fn: "max", field: "qty"), Agg(name: "cr", fn: "count", field: "region"),
    ]

    struct RefView {
        var name: String
        var stream = "s"
        var filter: Filter
        var window: Win
        var groupBy: [String]
        var aggs: [Agg]
        var lateness: String

        var json: String {
            let f = filter.text.map { "\"filter\":\"\($0)\"," } ?? ""
            let g = groupBy.map { "\"\($0)\"" }.joined(separator: ",")
            return "{\"name\":\"\(name)\",\"stream\":\"\(stream)\",\(f)\"groupBy\":[\(g)],\"window\":\(window.json),\"allowedLateness\":\"\(lateness)\",\"aggregates\":[\(aggs.map(\.json).joined(separator: ","))]}"
        }
        var definition: ViewDefinition { get throws { try ViewDefinition.parse(json: Array(json.utf8)) } }
    }

    struct CellKey: Hashable, CustomStringConvertible {
        var window: Int64?
        var key: [Value]
        var description: String { "(\(window.map(String.init) ?? "none"), \(key))" }
    }

    /// What a full recompute over `events` gives, computed row by row with dictionaries.
    /// `count_distinct` is the exact distinct count (the engine's estimate is compared within
    /// HyperLogLog's error).
    static func reference(_ v: RefView, _ events: ArraySlice<Row>) -> [CellKey: [Value]] {
        var cells: [CellKey: [Row]] = [:]
        for r in events where v.filter.eval(r) == true {
            let key = v.groupBy.map { get(r, $0) }
            if let f = v.window.field {
                guard let t = int(r, f) else { continue }
                for w in v.window.starts(t) { cells[CellKey(window: w, key: key), default: []].append(r) }
            } else {
                cells[CellKey(window: nil, key: key), default: []].append(r)
            }
        }
        return cells.mapValues { rows in v.aggs.map { aggregate($0, rows) } }
    }

    static func aggregate(_ a: Agg, _ rows: [Row]) -> Value {
        guard let f = a.field else { return .int64(Int64(rows.count)) }
        let vals = rows.map { get($0, f) }.filter { !$0.isNull }
        switch a.fn {
        case "count": return .int64(Int64(vals.count))
        case "count_distinct": return .int64(Int64(Set(vals).count))
        case "sum", "avg":
            guard !vals.isEmpty else { return .null }
            if case .float64 = vals[0] {
                let s = vals.reduce(0.0) { if case .float64(let x) = $1 { $0 + x } else { $0 } }   // exact: multiples of 1/8
                return .float64(a.fn == "sum" ? s : s / Double(vals.count))
            }
            var s: Int128 = 0
            for case .int64(let x) in vals { s += Int128(x) }
            return a.fn == "sum" ? .int64(Int64(clamping: s)) : .float64(Double(s) / Double(vals.count))
        default:   // min, max
            guard var best = vals.first else { return .null }
            for x in vals.dropFirst() where a.fn == "min" ? less(x, best) : less(best, x) { best = x }
            return best
        }
    }

    static func less(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.int64(let x), .int64(let y)), (.timestamp(let x), .timestamp(let y)): return x < y
        case (.float64(let x), .float64(let y)): return x < y
        case (.string(let x), .string(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        default: return false
        }
    }

    /// The rows served for `view`, as cells.
    static func served(_ store: Store, _ view: String) async throws -> [CellKey: [Value]] {
        var out: [CellKey: [Value]] = [:]
        for row in try await store.query(QueryRequest(view: view)).rows {
            out[CellKey(window: row.windowStart, key: row.key)] = row.values
        }
        return out
    }

    /// Served answers equal the reference: the same cells, every value equal, `count_distinct`
    /// within HyperLogLog's error (p = 14).
    static func expectAnswers(_ store: Store, _ v: RefView, _ events: ArraySlice<Row>, _ what: String) async throws {
        let got = try await served(store, v.name)
        let want = reference(v, events)
        #expect(Set(got.keys) == Set(want.keys), "\(what): view \(v.name) \(v.json): cells differ (\(got.count) served, \(want.count) expected; missing \(Array(Set(want.keys).subtracting(got.keys).prefix(3))), extra \(Array(Set(got.keys).subtracting(want.keys).prefix(3))))")
        var bad = 0
        for (cell, w) in want {
            guard let g = got[cell] else { continue }
            for (i, a) in v.aggs.enumerated() {
                let ok: Bool
                if a.fn == "count_distinct", case .int64(let x) = g[i], case .int64(let y) = w[i] {
                    // Below a few thousand values the estimate is the number of non-zero
                    // registers, less than the truth by the register collisions (about n²/32768
                    // expected; several happen now and then at n ≈ 100).
                    ok = abs(Double(x - y)) <= max(3, 0.06 * Double(y))
                } else {
                    ok = g[i] == w[i]
                }
                if !ok {
                    bad += 1
                    if bad <= 3 { Issue.record("\(what): view \(v.name) cell \(cell) aggregate \(a.name) (\(a.fn) \(a.field ?? "")): served \(g[i]), expected \(w[i]); \(v.json)") }
                }
            }
        }
    }

    struct Case {
        var v1: Schema
        var v2: Schema
        var views: [RefView]
        var describe: String { views.map(\.json).joined(separator: "\n") }
    }

    static func pick<T>(_ rng: inout SplitMix64, _ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }

    static func randomCase(_ rng: inout SplitMix64, viewCount: Int = 4) -> Case {
        var fields = v1Fields
        fields.shuffle(using: &rng)
        let v1 = Schema(stream: "s", eventTime: "ts", fields: fields)
        let v2 = Schema(stream: "s", eventTime: "ts", fields: fields + v2Added, version: 2)
        var views: [RefView] = []
        for i in 0..<viewCount {
            let field = rng.next() % 3 == 0 ? "ship" : "ts"
            let window: Win
            switch (i + Int(rng.next() % 2) * (i / 3)) % 3 {
            case 0: window = .none
            case 1: window = .tumbling(field, pick(&rng, [60_000, 300_000, 3_600_000]))
            default:
                let (z, d) = pick(&rng, [(600_000, 300_000), (1_800_000, 600_000), (1_500_000, 600_000), (3_600_000, 3_600_000)])
                window = .hopping(field, Int64(z), Int64(d))
            }
            var groupBy: [String] = []
            for g in ["k", "ks", "flag", "region"] where rng.next() % 3 == 0 { groupBy.append(g) }
            if groupBy.count > 2 { groupBy = Array(groupBy.prefix(2)) }
            var aggs = [Agg(name: "n", fn: "count", field: nil)]
            var pool = aggregatePool
            pool.shuffle(using: &rng)
            aggs += pool.prefix(3 + Int(rng.next() % 5))
            views.append(RefView(name: "v\(i)", filter: pick(&rng, filters), window: window, groupBy: groupBy, aggs: aggs,
                                 lateness: pick(&rng, ["0m", "1m", "10m"])))
        }
        return Case(v1: v1, v2: v2, views: views)
    }

    /// A random row of `schema`. Event times advance with late and out-of-order arrivals; with
    /// `veryLate`, some land anywhere since `t0` (windows whose history is long archived).
    static func randomRow(_ rng: inout SplitMix64, schema: Schema, clock: inout Int64, veryLate: Bool = false) -> Row {
        clock += Int64(rng.next() % 30_000)
        var ts: Int64? = clock
        if rng.next() % 6 == 0 { ts = clock - Int64(rng.next() % 7_200_000) }
        if veryLate, rng.next() % 5 == 0 { ts = t0 + Int64(rng.next() % UInt64(max(1, clock - t0))) }
        if rng.next() % 25 == 0 { ts = nil }
        var r: Row = [:]
        r["ts"] = ts.map { .timestamp($0) } ?? .null
        r["k"] = .string(pick(&rng, ["a", "b", "c", "", "é"]))
        r["ks"] = rng.next() % 6 == 0 ? .null : .string(pick(&rng, ["x", "y", ""]))
        if rng.next() % 10 == 0 {
            r["amount"] = .null
        } else if rng.next() % 40 == 0 {
            r["amount"] = .int64(pick(&rng, [Int64.max, Int64.min, -1, 0]))
        } else {
            r["amount"] = .int64(Int64(rng.next() % 40))
        }
        r["qty"] = .int64(Int64(rng.next() % 1000))
        r["score"] = rng.next() % 8 == 0 ? .null : .float64(Double(Int64(rng.next() % 1601) - 800) / 8)
        r["ratio"] = .float64(Double(Int64(rng.next() % 161) - 80) / 8)
        r["flag"] = rng.next() % 5 == 0 ? .null : .bool(rng.next() % 2 == 0)
        r["ok"] = .bool(rng.next() % 2 == 0)
        r["ship"] = rng.next() % 4 == 0 ? .null : .timestamp((ts ?? clock) + Int64(rng.next() % 7_200_000))
        if schema.version >= 2 {
            r["region"] = rng.next() % 6 == 0 ? .null : .string(pick(&rng, ["eu", "us", "ap"]))
            r["bonus"] = rng.next() % 3 == 0 ? .null : .int64(Int64(rng.next() % 10))
        }
        return r
    }

    static func batch(_ rows: [Row], schema: Schema) throws -> ColumnBatch {
        var b = ColumnBatch(schema: schema)
        for r in rows {
            for (c, f) in schema.fields.enumerated() { try b.columns[c].append(r[f.name] ?? .null) }
        }
        return b
    }

    // MARK: - Store helpers

    static func options(segmentBytes: Int64 = 16 << 10) -> StoreOptions {
        var o = StoreOptions()
        o.log.segmentBytesMax = segmentBytes
        o.batchParallelism = 2
        o.logger.logLevel = .error
        return o
    }

    /// Every published view's live snapshot file, by view.
    static func snapshots(_ store: Store) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for v in store.views() {
            guard v.snapshotFile != nil else { continue }
            out[v.definition.name] = try store.liveSnapshotBytes(v.definition.name)
        }
        return out
    }

    static func runAll(_ store: Store, _ mode: (String) -> BatchMode = { _ in .full }) async throws {
        for v in store.views() { _ = try await store.runBatch(view: v.definition.name, mode: mode(v.definition.name)) }
    }

    /// The error `body` throws, nil (and an issue) when it throws none or another kind.
    static func caught<T>(_ what: String, _ body: () async throws -> T) async -> LambdaStoreError? {
        do {
            _ = try await body()
            Issue.record("\(what): expected an error")
            return nil
        } catch let e as LambdaStoreError {
            return e
        } catch {
            Issue.record("\(what): unexpected error \(error)")
            return nil
        }
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        try PosixFileSystem().writeFileAtomically(path, bytes)
    }

    static func read(_ path: String) throws -> [UInt8] { try PosixFileSystem().readFile(path, limit: 1 << 30) }

    /// Appends `count` random rows in batches of 1…`maxBatch` rows to every store.
    static func append(_ stores: [Store], _ rng: inout SplitMix64, count: Int, clock: inout Int64, events: inout [Row],
                       veryLate: Bool = false, maxBatch: Int = 60) async throws {
        let schema = try stores[0].streamLog("s").latestSchema
        var left = count
        while left > 0 {
            let n = min(left, 1 + Int(rng.next() % UInt64(maxBatch)))
            var rows: [Row] = []
            for _ in 0..<n { rows.append(randomRow(&rng, schema: schema, clock: &clock, veryLate: veryLate)) }
            let b = try batch(rows, schema: schema)
            for s in stores { _ = try await s.append(b, to: "s", durability: .none) }
            events += rows
            left -= n
        }
    }

    // MARK: - 1. Where history lives does not change results

    @Test(arguments: seeds)
    func historyLocationDoesNotChangeResults(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let segBytes = Int64(8192) << Int64(rng.next() % 2)   // 8 or 16 KiB: many sealed segments
        let c = Self.randomCase(&rng)
        let what = "seed \(seed)"
        let a = makeTempDirectory("alt"), b = makeTempDirectory("alt")
        defer { removeTree(a); removeTree(b) }
        var sa = try await Store.open(at: a, options: Self.options(segmentBytes: segBytes))
        let sb = try await Store.open(at: b, options: Self.options(segmentBytes: segBytes))   // the reference: never compacted
        defer { sa.close(); sb.close() }
        var events: [Row] = []
        var clock = Self.t0
        for s in [sa, sb] { try await s.applySchema(c.v1) }
        try await Self.append([sa, sb], &rng, count: 700 * Self.scale, clock: &clock, events: &events)
        for s in [sa, sb] { #expect(try await s.applySchema(c.v2) == .evolved(version: 2)) }
        try await Self.append([sa, sb], &rng, count: 700 * Self.scale, clock: &clock, events: &events)
        for s in [sa, sb] {
            for v in c.views { try await s.createView(v.definition) }
        }
        try await Self.runAll(sa)
        try await Self.runAll(sb)
        let reference = try Self.snapshots(sb)
        #expect(reference.count == c.views.count)
        #expect(try Self.snapshots(sa) == reference, "\(what): two stores, same log")
        for v in c.views { try await Self.expectAnswers(sa, v, events[...], "\(what) all raw") }

        let log = try sa.streamLog("s")
        let sealed = log.sealedSegments().count
        #expect(sealed >= 4, "\(what): the test needs many sealed segments, got \(sealed)")

        // Archive everything sealed; raw segments stay: reads still prefer raw.
        try await sa.setStreamPolicy(StreamPolicy(segmentBytes: segBytes, archiveAfterMillis: 0), for: "s")
        let r1 = try await sa.compact()
        #expect(r1.streams[0].archivedSegments == sealed, "\(what)")
        let allArchived = log.sealedSegments().allSatisfy { $0.isArchived }
        #expect(allArchived)
        #expect(log.segments().first?.baseOffset == 0)
        try await Self.runAll(sa)
        #expect(try Self.snapshots(sa) == reference, "\(what): archived, raw kept")

        // Mixed: only the oldest raw segments go (keep-raw-bytes), the rest of history is raw.
        let doomed = log.sealedSegments().prefix(sealed / 2)
        try await sa.setStreamPolicy(StreamPolicy(segmentBytes: segBytes, archiveAfterMillis: 0,
                                            keepRawBytes: log.rawBytes - doomed.reduce(0) { $0 + $1.bytes }), for: "s")
        let r2 = try await sa.compact()
        #expect(r2.streams[0].removedSegments == doomed.count, "\(what): \(r2.json.serialized())")
        let rawStart = log.segments().first?.baseOffset ?? 0
        #expect(rawStart > 0 && rawStart < log.archiveManifest.endOffset, "\(what): raw from \(rawStart), archive to \(log.archiveManifest.endOffset)")
        try await Self.runAll(sa)
        #expect(try Self.snapshots(sa) == reference, "\(what): mixed archive and raw")
        try await Self.runAll(sa) { _ in .incremental }
        #expect(try Self.snapshots(sa) == reference, "\(what): mixed, incremental with nothing new")

        // Every archived raw segment removed: history is the archive plus the active segment.
        try await sa.setStreamPolicy(StreamPolicy(segmentBytes: segBytes, archiveAfterMillis: 0, keepRawMillis: 0), for: "s")
        _ = try await sa.compact()
        #expect(log.segments().count == 1 && log.segments()[0].baseOffset == log.archiveManifest.endOffset, "\(what)")
        try await Self.runAll(sa)
        #expect(try Self.snapshots(sa) == reference, "\(what): archive only")
        for v in c.views {
            let drill = try await sa.replayDrill(view: v.name)
            #expect(drill.matchesPublished && drill.comparedWithPublished, "\(what): replay drill of \(v.name)")
        }
        // A fresh process reads the archive through a cold cache.
        sa.close()
        sa = try await Store.open(at: a, options: Self.options(segmentBytes: segBytes))
        try await Self.runAll(sa)
        #expect(try Self.snapshots(sa) == reference, "\(what): archive only, after reopen")
        for v in c.views { try await Self.expectAnswers(sa, v, events[...], "\(what) archive only") }

        // New events, many very late (their windows' history is archived): incremental and
        // targeted runs read old windows through the archive's row-group time ranges.
        for round in 0..<2 {
            try await Self.append([sa, sb], &rng, count: 300 * Self.scale, clock: &clock, events: &events, veryLate: true)
            var modes: [String: BatchMode] = [:]
            for v in c.views {
                if rng.next() % 2 == 0 {
                    modes[v.name] = .incremental
                } else {
                    let from = Self.t0 + Int64(rng.next() % UInt64(clock - Self.t0))
                    modes[v.name] = .targeted(from: from, to: from + Int64(rng.next() % 21_600_000))
                }
            }
            try await Self.runAll(sa) { modes[$0] ?? .full }
            try await Self.runAll(sb)
            #expect(try Self.snapshots(sa) == Self.snapshots(sb), "\(what) round \(round): \(modes) against full runs on raw history\n\(c.describe)")
            _ = try await sa.compact()   // archive what sealed meanwhile, remove its raw copy
            let rawLeft = try sa.streamLog("s").segments().count
            #expect(rawLeft == 1, "\(what) round \(round): \(rawLeft) raw segments left")
        }
        try await Self.runAll(sa)
        #expect(try Self.snapshots(sa) == Self.snapshots(sb), "\(what): full run after the last compaction")
        for v in c.views {
            try await Self.expectAnswers(sa, v, events[...], "\(what) end")
            let drill = try await sa.replayDrill(view: v.name)
            #expect(drill.matchesPublished, "\(what): replay drill of \(v.name) at the end")
        }
        sa.close()
        let verify = await Store.verify(at: a)
        #expect(verify.isClean, "\(what): \(verify.problems)")
    }

    // MARK: - 2. Every type, nulls and schema versions round-trip through the archive

    static func bitEqual(_ a: Value, _ b: Value) -> Bool {
        if case .float64(let x) = a, case .float64(let y) = b { return x.bitPattern == y.bitPattern }
        return a == b
    }

    @Test func everyValueRoundTripsThroughTheArchive() async throws {
        var rng = SplitMix64(seed: 0x7A_2026)
        let dir = makeTempDirectory("alt")
        defer { removeTree(dir) }
        var store = try await Store.open(at: dir, options: Self.options(segmentBytes: 8192))
        defer { store.close() }
        let v1 = Schema(stream: "rt", eventTime: "ts", fields: [
            Field(name: "ts", type: .timestamp), Field(name: "i", type: .int64), Field(name: "in", type: .int64, nullable: true),
            Field(name: "f", type: .float64), Field(name: "fn", type: .float64, nullable: true),
            Field(name: "b", type: .bool), Field(name: "bn", type: .bool, nullable: true),
            Field(name: "s", type: .string), Field(name: "sn", type: .string, nullable: true),
            Field(name: "t2", type: .timestamp, nullable: true),
        ])
        let added: [[Field]] = [
            [Field(name: "a2", type: .string, nullable: true, defaultValue: .string("dflt")), Field(name: "n2", type: .float64, nullable: true)],
            [Field(name: "a3", type: .int64, defaultValue: .int64(-7)), Field(name: "b3", type: .bool, nullable: true, defaultValue: .bool(true)),
             Field(name: "t3", type: .timestamp, nullable: true, defaultValue: .timestamp(-1))],
        ]
        let ints: [Int64] = [.min, .max, 0, -1, 1, .min + 1, .max - 1]
        let doubles: [Double] = [.nan, -.nan, Double(bitPattern: 0x7FF0_0000_0000_0001), Double(bitPattern: 0xFFF8_0000_DEAD_BEEF), -0.0, 0.0,
                                 .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude, .pi]
        let strings = ["", "a", "é漢😀", String(repeating: "x", count: 700), "line\nbreak", "nul\u{0}inside", "'quote\""]
        func value(_ f: Field, ts: Int64) -> Value {
            if f.nullable, rng.next() % 4 == 0 { return .null }
            switch f.type {
            case .int64: return .int64(rng.next() % 3 == 0 ? Self.pick(&rng, ints) : Int64(bitPattern: rng.next()))
            case .float64: return .float64(rng.next() % 3 == 0 ? Self.pick(&rng, doubles) : Double(bitPattern: rng.next()))
            case .bool: return .bool(rng.next() % 2 == 0)
            case .string:
                if rng.next() % 2 == 0 { return .string(Self.pick(&rng, strings)) }
                return .string(String((0..<Int(rng.next() % 12)).map { _ in Character(Unicode.Scalar(UInt8(32 + rng.next() % 95))) }))
            case .timestamp:
                if f.name == "ts" { return .timestamp(ts) }
                return .timestamp(rng.next() % 4 == 0 ? Self.pick(&rng, ints) : ts &+ (Int64(rng.next() % 1000) - 500))
            }
        }
        try await store.applySchema(v1)
        var rows: [Row] = []
        var clock = Self.t0
        for version in 1...3 {
            if version > 1 {
                let latest = try store.streamLog("rt").latestSchema
                #expect(try await store.applySchema(Schema(stream: "rt", eventTime: "ts", fields: latest.fields + added[version - 2])) == .evolved(version: UInt32(version)))
            }
            let schema = try store.streamLog("rt").latestSchema
            for _ in 0..<(12 * Self.scale) {
                var part: [Row] = []
                for _ in 0..<(1 + Int(rng.next() % 40)) {
                    clock += Int64(rng.next() % 60_000)
                    // Some event times far out of order, some at the ends of the range.
                    let ts = rng.next() % 30 == 0 ? Self.pick(&rng, [Int64.min, Int64.max, -1, 0]) : clock - Int64(rng.next() % 5_000_000)
                    var r: Row = [:]
                    for f in schema.fields { r[f.name] = value(f, ts: ts) }
                    part.append(r)
                }
                _ = try await store.append(try Self.batch(part, schema: schema), to: "rt", durability: .none)
                rows += part
            }
        }
        let latest = try store.streamLog("rt").latestSchema
        #expect(latest.version == 3)
        let expected: [[Value]] = rows.map { r in latest.fields.map { f in r[f.name] ?? f.defaultValue ?? .null } }

        /// Reads `range` with forEachBatch and compares every value; returns the pieces' files.
        func check(_ s: Store, _ range: Range<Int64>, _ what: String) throws -> Set<String> {
            var files = Set<String>()
            var next = range.lowerBound
            var bad = 0
            try s.streamLog("rt").forEachBatch(in: range) { info, batch in
                files.insert(info.segment)
                #expect(info.baseOffset == next && batch.count == info.count, "\(what): piece at \(info.baseOffset), expected \(next)")
                #expect(batch.columns.count == latest.fields.count, "\(what): projected onto the latest schema")
                for r in 0..<batch.count {
                    let o = Int(info.baseOffset) + r
                    for (c, f) in latest.fields.enumerated() where !Self.bitEqual(batch.columns[c].value(at: r), expected[o][c]) {
                        bad += 1
                        if bad <= 5 { Issue.record("\(what): offset \(o) field \(f.name): read \(batch.columns[c].value(at: r)), appended \(expected[o][c]) (from \(info.segment))") }
                    }
                }
                next = info.baseOffset + Int64(info.count)
            }
            #expect(next == range.upperBound, "\(what): read up to \(next) of \(range)")
            return files
        }
        let end = Int64(rows.count)
        #expect(try check(store, 0..<end, "raw").allSatisfy { $0.hasSuffix(".segment") })

        // Archive every sealed segment (the active one rolls first: it is past 4096 bytes).
        try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4096, archiveAfterMillis: 0), for: "rt")
        let r = try await store.compact()
        #expect(r.rolled == 1)
        let log = try store.streamLog("rt")
        let m = log.archiveManifest
        #expect(m.endOffset == end && m.files.first?.firstOffset == 0, "archive ends at \(m.endOffset) of \(end); segments \(log.sealedSegments()); report \(r.json.serialized())")
        #expect(Set(m.files.map(\.schemaVersion)) == [1, 2, 3])
        #expect(m.files.count > Set(m.files.map(\.segment)).count, "a segment whose batches change schema version yields one file per version")
        _ = try check(store, 0..<end, "archived, raw kept")

        // Raw copies removed: everything is read from the Parquet files.
        try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4096, archiveAfterMillis: 0, keepRawMillis: 0), for: "rt")
        _ = try await store.compact()
        #expect(log.segments().count == 1 && log.segments()[0].baseOffset == end)
        #expect(try check(store, 0..<end, "archive only").allSatisfy { $0.hasSuffix(".parquet") })
        store.close()
        store = try await Store.open(at: dir, options: Self.options(segmentBytes: 8192))
        #expect(try check(store, 0..<end, "archive only, reopened").allSatisfy { $0.hasSuffix(".parquet") })
        // Sub-ranges cutting row groups anywhere, and single batches through readBatch.
        for i in 0..<20 {
            let lo = Int64(rng.next() % UInt64(end)), hi = lo + 1 + Int64(rng.next() % UInt64(end - lo))
            _ = try check(store, lo..<hi, "slice \(i) \(lo)..<\(hi)")
        }
        let s2 = try store.streamLog("rt")
        for info in try s2.batchInfos(in: 0..<end) {
            let batch = try s2.readBatch(info)
            for rr in 0..<batch.count {
                let o = Int(info.baseOffset) + rr
                #expect(latest.fields.indices.allSatisfy { Self.bitEqual(batch.columns[$0].value(at: rr), expected[o][$0]) }, "readBatch at \(o)")
            }
        }
        store.close()
        #expect(await Store.verify(at: dir).isClean)
    }

    // MARK: - 3. Dropping history behind base checkpoints

    @Test(arguments: seeds.prefix(long ? 8 : 2))
    func droppingHistoryBehindBaseCheckpointsKeepsEveryAnswer(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed ^ 0xD80B)
        let c = Self.randomCase(&rng)
        let what = "seed \(seed)"
        let a = makeTempDirectory("alt"), b = makeTempDirectory("alt")
        defer { removeTree(a); removeTree(b) }
        var sa = try await Store.open(at: a, options: Self.options(segmentBytes: 8192))
        let sb = try await Store.open(at: b, options: Self.options(segmentBytes: 8192))   // never drops anything
        defer { sa.close(); sb.close() }
        var events: [Row] = []
        var clock = Self.t0
        for s in [sa, sb] { try await s.applySchema(c.v1) }
        try await Self.append([sa, sb], &rng, count: 500 * Self.scale, clock: &clock, events: &events)
        for s in [sa, sb] { try await s.applySchema(c.v2) }
        try await Self.append([sa, sb], &rng, count: 500 * Self.scale, clock: &clock, events: &events)
        for s in [sa, sb] { for v in c.views { try await s.createView(v.definition) } }
        try await Self.runAll(sa)
        try await Self.runAll(sb)
        var answers: [String: [CellKey: [Value]]] = [:]
        for v in c.views {
            try await Self.expectAnswers(sa, v, events[...], "\(what) before the drop")
            answers[v.name] = try await Self.served(sa, v.name)
        }
        let published = try Self.snapshots(sa)

        try await sa.setStreamPolicy(StreamPolicy(segmentBytes: 8192, archiveAfterMillis: 0, keepRawMillis: 0, dropHistoryAfterMillis: 0,
                                            allowHistoryLoss: true), for: "s")
        let r = try await sa.compact()
        var log = try sa.streamLog("s")
        let e = log.earliestReplayableOffset
        #expect(e > 0 && r.earliestReplayableOffset == e && r.streams[0].droppedEvents == e, "\(what): \(r.json.serialized())")
        #expect(e == log.segments().first?.baseOffset, "\(what): everything sealed was dropped, the active segment starts at E")
        #expect(log.archiveManifest.files.isEmpty && log.archiveManifest.droppedAtMillis != nil)
        let parquet = try PosixFileSystem().list(a + "/archive/s").filter { $0.hasSuffix(".parquet") }
        #expect(parquet.isEmpty, "\(what): archive files below E are deleted: \(parquet)")
        for v in sa.views() {
            let dir = a + "/views/" + v.definition.name
            #expect(PosixFileSystem().exists(dir + "/BASE." + v.fingerprint), "\(what): \(v.definition.name) keeps a base pointer")
            #expect(PosixFileSystem().exists(dir + "/" + v.fingerprint + "-" + LogFormat.fileStem(baseOffset: e) + ".base"), "\(what): and its base file")
        }
        for v in c.views { await #expect(try Self.served(sa, v.name) == answers[v.name], "\(what): \(v.name) answers after the drop") }
        try await Self.runAll(sa)
        #expect(try Self.snapshots(sa) == published, "\(what): full run from the base checkpoint")
        try await Self.runAll(sa) { _ in .incremental }
        #expect(try Self.snapshots(sa) == published, "\(what): incremental run from the base checkpoint")
        for v in c.views {
            let drill = try await sa.replayDrill(view: v.name)
            #expect(drill.matchesPublished && drill.comparedWithPublished && drill.events == Int64(events.count) - e, "\(what): drill \(v.name)")
        }
        sa.close()
        #expect(await Store.verify(at: a).isClean, "\(what)")
        sa = try await Store.open(at: a, options: Self.options(segmentBytes: 8192))
        log = try sa.streamLog("s")
        #expect(log.earliestReplayableOffset == e)
        for v in c.views { await #expect(try Self.served(sa, v.name) == answers[v.name], "\(what): \(v.name) after reopen") }
        try await Self.runAll(sa)
        #expect(try Self.snapshots(sa) == published, "\(what): full run after reopen")

        // More events, many for windows whose history is gone: base ⊕ recompute, per mode.
        for round in 0..<2 {
            try await Self.append([sa, sb], &rng, count: 300 * Self.scale, clock: &clock, events: &events, veryLate: true)
            var modes: [String: BatchMode] = [:]
            for v in c.views {
                let from = Self.t0 + Int64(rng.next() % UInt64(clock - Self.t0))
                modes[v.name] = [.full, .incremental, .targeted(from: from, to: from + 7_200_000)][Int(rng.next() % 3)]
            }
            try await Self.runAll(sa) { modes[$0] ?? .full }
            try await Self.runAll(sb)
            #expect(try Self.snapshots(sa) == Self.snapshots(sb), "\(what) round \(round): \(modes)\n\(c.describe)")
            for v in c.views { try await Self.expectAnswers(sa, v, events[...], "\(what) round \(round)") }
            _ = try await sa.compact()   // drops again: the new base is the old one plus [E, E')
            #expect(log.earliestReplayableOffset >= e)
        }
        try await Self.runAll(sa)
        try await Self.runAll(sb)
        #expect(try Self.snapshots(sa) == Self.snapshots(sb), "\(what): after the second drop")
        let e2 = log.earliestReplayableOffset
        #expect(e2 > e, "\(what): the second compaction dropped more")

        // A new view, or a new version of one, would need the dropped history: refused.
        var fresh = RefView(name: "fresh", filter: Self.filters[1], window: .tumbling("ts", 3_600_000), groupBy: ["k"],
                            aggs: [Agg(name: "n", fn: "count"), Agg(name: "total", fn: "sum", field: "amount"), Agg(name: "u", fn: "count_distinct", field: "qty")],
                            lateness: "1000d")
        let refused = await Self.caught("\(what) new view") { try await sa.createView(fresh.definition) }
        #expect(refused?.code == .precondition && refused?.message.contains("offset \(e2)") == true, "\(what): \(String(describing: refused))")
        #expect(!sa.views().contains { $0.definition.name == "fresh" })
        var changed = c.views[0]
        changed.filter = Self.filters.first { $0.text != changed.filter.text && $0.text != nil }!
        let refused2 = await Self.caught("\(what) new version") { try await sa.createView(changed.definition) }
        #expect(refused2?.code == .precondition && refused2?.message.contains("offset \(e2)") == true, "\(what): \(String(describing: refused2))")
        await #expect(try Self.served(sa, changed.name) == Self.served(sb, changed.name), "\(what): the old version still serves")

        // Built from the earliest replayable offset: answers over the events from E on.
        let freshFingerprint = try CompiledView(fresh.definition, schema: log.latestSchema).fingerprint
        #expect(try await sa.createView(fresh.definition, fromEarliestReplayable: true) == .created(fingerprint: freshFingerprint))
        try await Self.expectAnswers(sa, fresh, events[Int(e2)...], "\(what) from earliest, speed only")
        _ = try await sa.runBatch(view: "fresh")
        try await Self.expectAnswers(sa, fresh, events[Int(e2)...], "\(what) from earliest, after a batch")
        try await Self.append([sa], &rng, count: 200, clock: &clock, events: &events, veryLate: true)
        _ = try await sa.runBatch(view: "fresh", mode: .incremental)
        try await Self.expectAnswers(sa, fresh, events[Int(e2)...], "\(what) from earliest, incremental")
        fresh.lateness = "0m"
        changed.lateness = "1000d"
        let replaced = try await sa.createView(changed.definition, fromEarliestReplayable: true)
        guard case .replaced = replaced else { Issue.record("\(what): expected a new version, got \(replaced)"); return }
        try await Self.expectAnswers(sa, changed, events[Int(e2)...], "\(what) new version from earliest")
    }

    // MARK: - 4. Unsafe policies are refused; policies are durable

    @Test func unsafePoliciesAreRefusedAndNothingIsWritten() async throws {
        let dir = makeTempDirectory("alt")
        defer { removeTree(dir) }
        var store = try await Store.open(at: dir, options: Self.options(segmentBytes: 8192))
        defer { store.close() }
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "10m")))
        var rng = SplitMix64(seed: 4)
        var clock = Self.t0
        for _ in 0..<10 { _ = try await store.append(try batchOf(randomEvents(&rng, count: 100, clock: &clock)), to: "orders", durability: .none) }
        let sealedEnd = try #require(try store.streamLog("orders").sealedSegments().last?.endOffset)
        let good = StreamPolicy(segmentBytes: 1 << 20, segmentAgeMillis: 3_600_000, archiveAfterMillis: 86_400_000, keepRawMillis: 2 * 86_400_000,
                                keepRawBytes: 1 << 30)
        try await store.setStreamPolicy(good, for: "orders")
        try await store.setViewPolicy(ViewPolicy(keepGenerations: 3), for: "v")
        let streamFile = dir + "/streams/orders/POLICY", viewFile = dir + "/views/v/POLICY"
        let storedStream = try Self.read(streamFile), storedView = try Self.read(viewFile)

        let day: Int64 = 86_400_000
        let refusals: [(StreamPolicy, LambdaStoreError.Code, [String])] = [
            (StreamPolicy(archiveAfterMillis: 0, dropHistoryAfterMillis: 0), .precondition,
             ["--allow-history-loss", "unreplayable", "orders", "today: \(sealedEnd) events, offsets 0..<\(sealedEnd)"]),
            (StreamPolicy(archiveAfterMillis: day, dropHistoryAfterMillis: 30 * day), .precondition, ["--allow-history-loss", "30d"]),
            (StreamPolicy(keepRawMillis: 0), .invalidArgument, ["--archive-after"]),
            (StreamPolicy(keepRawBytes: 1), .invalidArgument, ["--archive-after"]),
            (StreamPolicy(archiveAfterMillis: -1), .invalidArgument, ["--archive-after", "negative"]),
            (StreamPolicy(archiveAfterMillis: 0, keepRawMillis: -1), .invalidArgument, ["--keep-raw", "negative"]),
            (StreamPolicy(archiveAfterMillis: 0, keepRawBytes: -1), .invalidArgument, ["--keep-raw-bytes", "negative"]),
            (StreamPolicy(archiveAfterMillis: 0, dropHistoryAfterMillis: -1, allowHistoryLoss: true), .invalidArgument, ["--drop-history-after", "negative"]),
            (StreamPolicy(archiveAfterMillis: day, dropHistoryAfterMillis: 3_600_000, allowHistoryLoss: true), .invalidArgument, ["--drop-history-after", "--archive-after"]),
            (StreamPolicy(segmentAgeMillis: -1), .invalidArgument, ["--segment-age"]),
            (StreamPolicy(segmentAgeMillis: 0), .invalidArgument, ["--segment-age"]),
            (StreamPolicy(segmentBytes: 4095), .invalidArgument, ["--segment-bytes", "4095"]),
            (StreamPolicy(segmentBytes: 0), .invalidArgument, ["--segment-bytes"]),
            (StreamPolicy(segmentBytes: -4096), .invalidArgument, ["--segment-bytes"]),
            (StreamPolicy(segmentBytes: 8 << 30 + 1), .invalidArgument, ["--segment-bytes"]),
        ]
        for (p, code, mentions) in refusals {
            let e = await Self.caught("\(p)") { try await store.setStreamPolicy(p, for: "orders") }
            #expect(e?.code == code, "\(p): \(String(describing: e))")
            for m in mentions { #expect(e?.message.contains(m) == true, "\(p): '\(m)' not in: \(e?.message ?? "")") }
            #expect(try await store.streamPolicy("orders") == good && Self.read(streamFile) == storedStream, "\(p): the stored policy changed")
        }
        for k in [0, -1, 1001] {
            let e = await Self.caught("keepGenerations \(k)") { try await store.setViewPolicy(ViewPolicy(keepGenerations: k), for: "v") }
            #expect(e?.code == .invalidArgument && e?.message.contains("keep-generations") == true, "\(String(describing: e))")
            #expect(try await store.viewPolicy("v") == ViewPolicy(keepGenerations: 3) && Self.read(viewFile) == storedView)
        }
        #expect(await Self.caught("unknown stream") { try await store.setStreamPolicy(StreamPolicy(), for: "nope") }?.code == .notFound)
        #expect(await Self.caught("unknown view") { try await store.setViewPolicy(ViewPolicy(), for: "nope") }?.code == .notFound)
        #expect(!PosixFileSystem().exists(dir + "/streams/nope") && !PosixFileSystem().exists(dir + "/views/nope"))

        // `policy show --json`: every key, the values in effect.
        func expectShown(_ j: JSONValue, _ what: String) {
            let s = j["streams"]?["orders"], v = j["views"]?["v"]
            #expect(Set((s?.objectValue ?? []).map(\.key)) == ["segmentBytes", "segmentAge", "archiveAfter", "keepRaw", "keepRawBytes", "dropHistoryAfter", "allowHistoryLoss"], "\(what): \(j.serialized())")
            #expect(s?["segmentBytes"]?.int64Value == 1 << 20 && s?["segmentAge"]?.stringValue == "1h" && s?["archiveAfter"]?.stringValue == "1d", "\(what): \(j.serialized())")
            #expect(s?["keepRaw"]?.stringValue == "2d" && s?["keepRawBytes"]?.int64Value == 1 << 30, "\(what): \(j.serialized())")
            #expect(s?["dropHistoryAfter"]?.isNull == true && s?["allowHistoryLoss"]?.boolValue == false, "\(what): \(j.serialized())")
            #expect((v?.objectValue ?? []).map(\.key) == ["keepGenerations"] && v?["keepGenerations"]?.int64Value == 3, "\(what): \(j.serialized())")
        }
        let shown = try await store.policiesJSON()
        expectShown(shown, "live")
        #expect(try await store.policiesJSON(stream: "orders")["views"]?.objectValue?.isEmpty == true)
        #expect(await Self.caught("show unknown") { try await store.policiesJSON(stream: "nope") }?.code == .notFound)

        // Accepted with consent; "0s" shows as such; the options survive a reopen (and a read-only one).
        let drop = StreamPolicy(segmentBytes: 1 << 20, segmentAgeMillis: 3_600_000, archiveAfterMillis: 0, keepRawMillis: 0, keepRawBytes: 1 << 30,
                                dropHistoryAfterMillis: 7 * day, allowHistoryLoss: true)
        try await store.setStreamPolicy(drop, for: "orders")
        let j = try await store.policiesJSON()
        #expect(j["streams"]?["orders"]?["archiveAfter"]?.stringValue == "0s" && j["streams"]?["orders"]?["dropHistoryAfter"]?.stringValue == "7d")
        #expect(j["streams"]?["orders"]?["allowHistoryLoss"]?.boolValue == true)
        store.close()
        store = try await Store.open(at: dir, options: Self.options(segmentBytes: 8192))
        let (streamPolicy, viewPolicy) = (try await store.streamPolicy("orders"), try await store.viewPolicy("v"))
        #expect(streamPolicy == drop && viewPolicy == ViewPolicy(keepGenerations: 3))
        #expect(try await store.policiesJSON().serialized() == j.serialized())
        store.close()
        var ro = Self.options(segmentBytes: 8192)
        ro.readOnly = true
        store = try await Store.open(at: dir, options: ro)
        #expect(try await store.policiesJSON().serialized() == j.serialized())
        #expect(await Store.verify(at: dir).isClean)

        // A fresh stream shows the defaults.
        store.close()
        store = try await Store.open(at: dir)
        try await store.applySchema(Schema(stream: "other", eventTime: "ts", fields: [Field(name: "ts", type: .timestamp)]))
        let d = try await store.policiesJSON(stream: "other")["streams"]?["other"]
        #expect(d?["segmentBytes"]?.int64Value == 134_217_728 && d?["segmentAge"]?.stringValue == "7d" && d?["archiveAfter"]?.isNull == true, "\(d?.serialized() ?? "")")
    }

    /// A policy that leaves the roll options unset keeps the store's own segment size
    /// (`StoreOptions.log.segmentBytesMax`), as `Store.open` does: setting an unrelated option,
    /// or compacting, must not switch the live stream to 128 MiB segments until the next open.
    @Test func aPolicyWithoutRollOptionsKeepsTheStoreSegmentSize() async throws {
        let dir = makeTempDirectory("alt")
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir, options: Self.options(segmentBytes: 8192))
        defer { store.close() }
        try await store.applySchema(testSchema)
        var rng = SplitMix64(seed: 8)
        var clock = Self.t0
        let log = try store.streamLog("orders")
        func appendSome() async throws -> Int {
            let before = log.segments().count
            for _ in 0..<16 { _ = try await store.append(try batchOf(randomEvents(&rng, count: 60, clock: &clock)), to: "orders", durability: .none) }
            return log.segments().count - before
        }
        let plain = try await appendSome()
        #expect(plain >= 3)
        try await store.setStreamPolicy(StreamPolicy(archiveAfterMillis: 86_400_000), for: "orders")
        let afterSet = try await appendSome()
        #expect(afterSet >= plain - 1, "after setStreamPolicy: \(afterSet) new segments, \(plain) before")
        _ = try await store.compact()
        let afterCompact = try await appendSome()
        #expect(afterCompact >= plain - 1, "after compact: \(afterCompact) new segments, \(plain) before")
        #expect(log.segments().allSatisfy { $0.bytes <= 8192 })
        #expect(try await store.policiesJSON()["streams"]?["orders"]?["segmentBytes"]?.int64Value == 8192, "the value in effect")
    }

    /// Everything under `dir`, path → bytes.
    static func tree(_ dir: String) throws -> [String: [UInt8]] {
        let fs = PosixFileSystem()
        var out: [String: [UInt8]] = [:]
        func walk(_ d: String) throws {
            for n in try fs.list(d) {
                let p = d + "/" + n
                if fs.isDirectory(p) { try walk(p) } else { out[p] = try fs.readFile(p, limit: 1 << 30) }
            }
        }
        try walk(dir)
        return out
    }

    /// `compact(dryRun: true)` changes no file and reports what the real run then does: the
    /// roll, the segment it seals included, archiving and raw retention.
    @Test(arguments: [false, true])
    func aDryRunChangesNothingAndPredictsTheRun(keepRawBytes: Bool) async throws {
        let dir = makeTempDirectory("alt")
        defer { removeTree(dir) }
        let store = try await Store.open(at: dir, options: Self.options(segmentBytes: 8192))
        defer { store.close() }
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "10m")))
        var rng = SplitMix64(seed: 9)
        var clock = Self.t0
        for _ in 0..<15 { _ = try await store.append(try batchOf(randomEvents(&rng, count: 70, clock: &clock)), to: "orders", durability: .none) }
        _ = try await store.runBatch(view: "v")
        _ = try await store.runBatch(view: "v")
        let raw = try store.streamLog("orders").rawBytes
        try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4096, archiveAfterMillis: 0, keepRawMillis: keepRawBytes ? nil : 0,
                                               keepRawBytes: keepRawBytes ? raw / 3 : nil), for: "orders")
        let before = try Self.tree(dir)
        let dry = try await store.compact(dryRun: true)
        #expect(try Self.tree(dir) == before, "a dry run changed files")
        let real = try await store.compact()
        let (d, r) = (dry.streams[0], real.streams[0])
        #expect(dry.dryRun && !real.dryRun && real.rolled == 1)
        #expect(d.rolled == r.rolled && d.archivedSegments == r.archivedSegments && d.archivedEvents == r.archivedEvents, "dry \(dry.json.serialized())\nreal \(real.json.serialized())")
        #expect(d.removedSegments == r.removedSegments && dry.snapshotsRemoved == real.snapshotsRemoved, "dry \(dry.json.serialized())\nreal \(real.json.serialized())")
        #expect(r.archivedEvents == Int64(15 * 70), "the rolled segment is archived in the same run")
        #expect(dry.before == dry.after && real.after.archive > 0 && real.after.raw < real.before.raw)
    }

    /// A history drop while a view is unavailable (its MANIFEST damaged) is held back: no base
    /// checkpoint can be kept for it. The note names the view and its reason and says how to get
    /// past it; nothing is dropped, and the other view still answers.
    /// A store at `dir` with the orders stream and two views: `v` (hourly, 10 min lateness) and
    /// `w` (the second window shape, no lateness).
    static func storeWithTwoViews(_ dir: String, options: StoreOptions) async throws -> Store {
        let store = try await Store.open(at: dir, options: options)
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "10m")))
        try await store.createView(ViewDefinition.parse(json: viewJSON(name: "w", window: ServingTests.windows[1].0, lateness: "0m")))
        return store
    }

    @Test func aHistoryDropWaitsForUnavailableViewsAndSaysWhy() async throws {
        let dir = makeTempDirectory("alt")
        defer { removeTree(dir) }
        do {
            let store = try await Self.storeWithTwoViews(dir, options: Self.options(segmentBytes: 8192))
            defer { store.close() }
            var rng = SplitMix64(seed: 77)
            var clock = Self.t0
            try await store.append(try batchOf(randomEvents(&rng, count: 1500, clock: &clock)), to: "orders")
            for v in ["v", "w"] { _ = try await store.runBatch(view: v) }
        }
        let manifest = dir + "/views/w/MANIFEST"
        var bytes = try PosixFileSystem().readFile(manifest, limit: 1 << 20)
        bytes[bytes.count / 2] ^= 0xFF
        try PosixFileSystem().writeFileAtomically(manifest, bytes)
        let store = try await Store.open(at: dir, options: Self.options(segmentBytes: 8192))
        defer { store.close() }
        #expect(store.unavailableViews.map(\.view) == ["w"])
        try await store.setStreamPolicy(StreamPolicy(segmentBytes: 8192, archiveAfterMillis: 0, dropHistoryAfterMillis: 0, allowHistoryLoss: true), for: "orders")
        let r = try await store.compact()
        let note = r.streams.flatMap(\.notes).first { $0.hasPrefix("history not dropped") }
        #expect(note?.contains("'w'") == true && note?.contains("lambdastore verify") == true && note?.contains("compact") == true, "\(r.json.serialized())")
        let log = try store.streamLog("orders")
        #expect(r.earliestReplayableOffset == 0 && log.earliestReplayableOffset == 0)
        #expect(!(try await store.query(QueryRequest(view: "v")).rows.isEmpty))
    }

    // MARK: - 5. Snapshot GC

    /// The generations that have snapshot files in the view directory (the 20-digit prefix of
    /// `<generation>.snapshot` and `<generation>-<part>.snapshot`), sorted.
    static func generations(_ store: Store, _ view: String) throws -> [String] {
        Array(Set(try PosixFileSystem().list(store.root + "/views/" + view).filter { $0.hasSuffix(".snapshot") }.map { String($0.prefix(20)) })).sorted()
    }

    /// The distinct generations among removed snapshot files.
    static func removedGenerations(_ files: [String]) -> Int {
        Set(files.filter { $0.hasSuffix(".snapshot") }.map { String($0.split(separator: "/").last?.prefix(20) ?? "") }).count
    }

    @Test func snapshotGCKeepsExactlyTheNewestGenerations() async throws {
        let dir = makeTempDirectory("alt")
        defer { removeTree(dir) }
        let store = try await Self.storeWithTwoViews(dir, options: Self.options())
        defer { store.close() }
        var rng = SplitMix64(seed: 5)
        var clock = Self.t0
        func runs(_ n: Int) async throws {
            for _ in 0..<n {
                _ = try await store.append(try batchOf(randomEvents(&rng, count: 50, clock: &clock)), to: "orders", durability: .none)
                _ = try await store.runBatch(view: "v")
            }
        }
        func live(_ view: String) -> String? { store.views().first { $0.definition.name == view }?.snapshotFile.map { String($0.prefix(20)) } }
        _ = try await store.runBatch(view: "w")
        try await runs(4)
        #expect(try Self.generations(store, "v").count == 4)
        let r1 = try await store.compact()
        #expect(try Self.generations(store, "v") == [live("v")].compactMap { $0 }, "default: only the live generation")
        #expect(try Self.generations(store, "w") == [live("w")].compactMap { $0 })
        #expect(Self.removedGenerations(r1.filesRemoved) == 3 && r1.snapshotsRemoved == 3, "\(r1.json.serialized())")
        let answer = try await store.query(QueryRequest(view: "v")).rows

        try await store.setViewPolicy(ViewPolicy(keepGenerations: 3), for: "v")
        try await runs(5)
        let before = try Self.generations(store, "v")
        #expect(before.count == 6)
        let dry = try await store.compact(dryRun: true)
        let afterDry = try Self.generations(store, "v")
        #expect(Self.removedGenerations(dry.filesRemoved) == 3 && dry.snapshotsRemoved == 3 && afterDry == before, "a dry run removes nothing")
        _ = try await store.compact()
        let kept = try Self.generations(store, "v")
        #expect(kept == Array(before.suffix(3)) && kept.last == live("v"), "\(before) -> \(kept)")
        #expect(try Self.generations(store, "w") == [live("w")].compactMap { $0 })
        #expect(!(try await store.query(QueryRequest(view: "v")).rows.isEmpty) && answer.count > 0)

        // A pinned generation (a reader in flight) stays until it is released.
        let pinned = Path.join(store.viewDirectory("v"), kept[0] + ".snapshot")
        store.pins.pin(pinned)
        try await store.setViewPolicy(ViewPolicy(keepGenerations: 1), for: "v")
        _ = try await store.compact()
        #expect(try Self.generations(store, "v") == [kept[0], kept[2]], "the pinned file stays")
        store.pins.unpin(pinned)
        _ = try await store.compact()
        #expect(try Self.generations(store, "v") == [kept[2]])
    }

    // MARK: - 6. Hostile archive files

    /// A store whose history (1,600 events) lives in the archive only, with view `v` published;
    /// closed. Returns its snapshot bytes, the log end and the archive manifest.
    static func archivedStore(_ dir: String) async throws -> (snapshot: [UInt8], end: Int64, manifest: ArchiveManifest) {
        let store = try await Store.open(at: dir, options: options(segmentBytes: 8192))
        defer { store.close() }
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "10m")))
        var rng = SplitMix64(seed: 6)
        var clock = t0
        for _ in 0..<20 { _ = try await store.append(try batchOf(randomEvents(&rng, count: 80, clock: &clock)), to: "orders", durability: .none) }
        try await store.setStreamPolicy(StreamPolicy(segmentBytes: 4096, archiveAfterMillis: 0, keepRawMillis: 0), for: "orders")
        _ = try await store.compact()
        _ = try await store.runBatch(view: "v")
        let log = try store.streamLog("orders")
        #expect(log.archiveManifest.files.count >= 4 && log.segments().first?.baseOffset == log.archiveManifest.endOffset,
                "\(log.archiveManifest.files.map(\.name)) \(log.segments())")
        try #require(store.views().first?.snapshotFile != nil)
        return (try store.liveSnapshotBytes(), log.endOffset, log.archiveManifest)
    }

    static func liveSnapshot(_ store: Store) throws -> [UInt8] {
        try #require(store.views().first?.snapshotFile != nil)
        return try store.liveSnapshotBytes()
    }

    /// Every way of reading the history fails with an error naming `file` (and of `code`), and
    /// nothing is published.
    static func expectReadsFail(_ dir: String, naming file: String, code: LambdaStoreError.Code?, published: [UInt8], end: Int64, _ what: String) async throws {
        let store = try await Store.open(at: dir, options: options(segmentBytes: 8192))
        defer { store.close() }
        let rows = try await store.query(QueryRequest(view: "v")).rows   // served from the snapshot: no history needed
        #expect(!rows.isEmpty)
        let read = await caught("\(what): read") { try store.streamLog("orders").forEachBatch(in: 0..<end) { _, _ in } }
        let batch = await caught("\(what): batch") { try await store.runBatch(view: "v") }
        let drill = await caught("\(what): replay") { try await store.replayDrill(view: "v") }
        for e in [read, batch, drill] {
            if let code { #expect(e?.code == code, "\(what): \(String(describing: e))") }
            #expect(e?.description.contains(file) == true, "\(what): the error must name \(file): \(String(describing: e))")
        }
        #expect(try liveSnapshot(store) == published, "\(what): nothing was published")
        #expect(try await store.query(QueryRequest(view: "v")).rows == rows)
    }

    @Test func aFlippedByteInAnArchiveFileIsCorruptionNamingIt() async throws {
        let dir = makeTempDirectory("alt")
        defer { removeTree(dir) }
        let (published, end, m) = try await Self.archivedStore(dir)
        let f = m.files[m.files.count / 2]
        let path = dir + "/archive/orders/" + f.name
        let clean = try Self.read(path)
        for at in [clean.count / 2, 0, clean.count - 1] {
            var bad = clean
            bad[at] ^= 0x20
            try Self.writeFile(path, bad)
            try await Self.expectReadsFail(dir, naming: f.name, code: .corruption, published: published, end: end, "byte \(at) flipped")
            let v = await Store.verify(at: dir)
            #expect(!v.isClean && v.problems.contains { $0.file.hasSuffix(f.name) }, "verify: \(v.problems)")
        }
        try Self.writeFile(path, clean)
        let store = try await Store.open(at: dir, options: Self.options(segmentBytes: 8192))
        defer { store.close() }
        _ = try await store.runBatch(view: "v")
        #expect(try Self.liveSnapshot(store) == published)
        #expect(await Store.verify(at: dir).isClean)
    }

    /// The manifest entry of file `k` with its first row group's event-time range replaced.
    static func forgeRange(_ dir: String, _ m: ArchiveManifest, file k: Int, _ lo: Int64, _ hi: Int64) throws {
        var forged = m
        forged.files[k].rowGroups[0].minEventTime = lo
        forged.files[k].rowGroups[0].maxEventTime = hi
        try writeFile(dir + "/archive/orders/MANIFEST", forged.encoded())   // a valid container and CRC
    }

    @Test func anArchiveManifestThatLiesAboutARowGroupIsCorruption() async throws {
        let dir = makeTempDirectory("alt")
        defer { removeTree(dir) }
        let (published, end, m) = try await Self.archivedStore(dir)
        let clean = try Self.read(dir + "/archive/orders/MANIFEST")
        let k = m.files.count / 2
        let lo = try #require(m.files[k].rowGroups[0].minEventTime), hi = try #require(m.files[k].rowGroups[0].maxEventTime)
        // One millisecond wider on either side, one narrower, and one that misses every event.
        for (i, lie) in [(lo - 1, hi), (lo, hi + 1), (lo + 1, hi), (lo - 40 * 86_400_000, lo - 40 * 86_400_000)].enumerated() {
            try Self.forgeRange(dir, m, file: k, lie.0, lie.1)
            try await Self.expectReadsFail(dir, naming: m.files[k].name, code: .corruption, published: published, end: end, "lie \(i)")
            let v = await Store.verify(at: dir)
            #expect(v.problems.contains { $0.file.hasSuffix(m.files[k].name) }, "lie \(i): verify: \(v.problems)")
        }
        // A row group's size off by one either way (a row count that lies breaks the manifest's
        // own offset contiguity, checked when it is loaded).
        for (i, lie) in [Int64(1), -1].enumerated() {
            var forged = m
            forged.files[k].rowGroups[0].bytes += lie
            try Self.writeFile(dir + "/archive/orders/MANIFEST", forged.encoded())
            try await Self.expectReadsFail(dir, naming: m.files[k].name, code: .corruption, published: published, end: end, "row group lie \(i)")
            let v = await Store.verify(at: dir)
            #expect(v.problems.contains { $0.file.hasSuffix(m.files[k].name) }, "row group lie \(i): verify: \(v.problems)")
        }
        try Self.writeFile(dir + "/archive/orders/MANIFEST", clean)
        #expect(await Store.verify(at: dir).isClean)
    }

    enum RangeSource: String, CaseIterable, Sendable { case archiveManifest, rawTimeIndex }

    /// Targeted and incremental runs pick the pieces of history to read by their event-time
    /// ranges, without reading them: archive row groups by the archive manifest, raw batches by
    /// the segment's time index. A forged range (under a valid CRC) that misses a piece's events
    /// makes the run skip it: the run must then fail with corruption, or still publish the truth
    /// — never publish a snapshot without those events.
    ///
    /// Both are caught at open: raw index entries are checked against their batch headers (a
    /// lying index is rebuilt), archive manifest entries against their file's footer.
    @Test(arguments: RangeSource.allCases)
    func aForgedTimeRangeMustNotHideHistoryFromATargetedRun(_ source: RangeSource) async throws {
        let dir = makeTempDirectory("alt")
        defer { removeTree(dir) }
        let published: [UInt8]
        let hidden: String, lo: Int64, hi: Int64
        let far: Int64 = -40 * 86_400_000
        switch source {
        case .archiveManifest:
            let (p, _, m) = try await Self.archivedStore(dir)
            let k = m.files.count / 2
            hidden = m.files[k].name
            lo = try #require(m.files[k].rowGroups[0].minEventTime)
            hi = try #require(m.files[k].rowGroups[0].maxEventTime)
            try Self.forgeRange(dir, m, file: k, lo + far, lo + far)
            published = p
        case .rawTimeIndex:
            // The same store, history left raw.
            let store = try await Store.open(at: dir, options: Self.options(segmentBytes: 8192))
            try await store.applySchema(testSchema)
            try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "10m")))
            var rng = SplitMix64(seed: 6)
            var clock = Self.t0
            for _ in 0..<20 { _ = try await store.append(try batchOf(randomEvents(&rng, count: 80, clock: &clock)), to: "orders", durability: .none) }
            _ = try await store.runBatch(view: "v")
            let log = try store.streamLog("orders")
            let segs = log.segments()
            let seg = segs[segs.count / 2]
            let info = try #require(try log.batchInfos(in: seg.baseOffset..<seg.endOffset).first)
            (hidden, lo, hi) = (seg.name, try #require(info.minEventTime), try #require(info.maxEventTime))
            published = try Self.liveSnapshot(store)
            store.close()
            // Entry 0 of its time index (format-spec.md §2.5): min, max, position, flags, CRC.
            let path = dir + "/streams/orders/" + String(seg.name.dropLast(".segment".count)) + ".timeindex"
            var t = try Self.read(path)
            for (at, v) in [(24, lo + far), (32, lo + far)] { withUnsafeBytes(of: v.littleEndian) { for i in 0..<8 { t[at + i] = $0[i] } } }
            let crc = CRC32C.checksum(t, 24..<52)
            withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { t[52 + i] = $0[i] } }
            try Self.writeFile(path, t)
        }
        let window: Int64 = 3_600_000
        let from = lo - ((lo % window) + window) % window
        func run() async throws {
            do {
                let store = try await Store.open(at: dir, options: Self.options(segmentBytes: 8192))
                defer { store.close() }
                _ = try await store.runBatch(view: "v", mode: .targeted(from: from, to: hi + 1))
                #expect(try Self.liveSnapshot(store) == published, "\(source): a targeted run over \(from)..<\(hi + 1) published a snapshot without the events of \(hidden)")
            } catch let error as LambdaStoreError {
                #expect(error.code == .corruption && error.description.contains(hidden), "\(source): \(error)")
            }
        }
        // Open checks every raw index entry against its batch header (a lying index is
        // rebuilt) and every archive manifest entry against its file's footer (a lying
        // manifest refuses the open, naming the file).
        try await run()
    }

    @Test func aMissingArchiveFileOrAGapIsRefusedNamingIt() async throws {
        let dir = makeTempDirectory("alt")
        defer { removeTree(dir) }
        let (published, end, m) = try await Self.archivedStore(dir)
        let adir = dir + "/archive/orders/"
        let manifestPath = adir + "MANIFEST"
        let cleanManifest = try Self.read(manifestPath)

        // A deleted archive file: reads name it; verify too.
        let f = m.files[1]
        let bytes = try Self.read(adir + f.name)
        try PosixFileSystem().remove(adir + f.name)
        try await Self.expectReadsFail(dir, naming: f.name, code: nil, published: published, end: end, "deleted file")
        var v = await Store.verify(at: dir)
        #expect(!v.isClean && v.problems.contains { $0.file.hasSuffix(f.name) }, "verify: \(v.problems)")
        try Self.writeFile(adir + f.name, bytes)

        func expectOpenRefused(_ what: String, mentions: [String]) async {
            do {
                let s = try await Store.open(at: dir, options: Self.options(segmentBytes: 8192))
                s.close()
                Issue.record("\(what): the store opened")
            } catch {
                #expect(error.code == .corruption, "\(what): \(error)")
                for word in mentions { #expect(error.description.contains(word), "\(what): '\(word)' not in \(error)") }
            }
        }
        // The manifest forgets its last file: the archive ends below the first raw segment.
        var short = m
        short.files.removeLast()
        try Self.writeFile(manifestPath, short.encoded())
        await expectOpenRefused("manifest without its last file", mentions: ["history gap", String(short.endOffset)])
        v = await Store.verify(at: dir)
        #expect(v.problems.contains { $0.message.contains("history gap") }, "verify: \(v.problems)")
        // The manifest forgets its first file: not contiguous from the earliest replayable offset.
        var headless = m
        headless.files.removeFirst()
        try Self.writeFile(manifestPath, headless.encoded())
        await expectOpenRefused("manifest without its first file", mentions: ["MANIFEST"])
        // A damaged manifest.
        var flipped = cleanManifest
        flipped[flipped.count / 2] ^= 1
        try Self.writeFile(manifestPath, flipped)
        await expectOpenRefused("flipped manifest byte", mentions: ["MANIFEST"])
        // No manifest at all: the raw history starts mid-stream.
        try PosixFileSystem().remove(manifestPath)
        await expectOpenRefused("no manifest", mentions: ["history gap"])
        #expect(await Store.verify(at: dir).isClean == false)

        try Self.writeFile(manifestPath, cleanManifest)
        let store = try await Store.open(at: dir, options: Self.options(segmentBytes: 8192))
        defer { store.close() }
        _ = try await store.runBatch(view: "v")
        #expect(try Self.liveSnapshot(store) == published)
    }
}


@Suite struct LifecycleScheduleTests {
    /// `StoreOptions.lifecycleIntervalMillis` runs `compact` in the background: sealed segments
    /// reach the archive without any call, appends and queries keep working meanwhile, and
    /// `close()` stops the loop.
    @Test func theLibraryAppliesPoliciesOnASchedule() async throws {
        let dir = makeTempDirectory("sched")
        defer { removeTree(dir) }
        var o = ArchiveLifecycleTests.options(segmentBytes: 8192)
        o.lifecycleIntervalMillis = 20
        let store = try await Store.open(at: dir, options: o)
        try await store.applySchema(testSchema)
        try await store.createView(ViewDefinition.parse(json: viewJSON(window: ServingTests.windows[0].0, lateness: "10m")))
        try await store.setStreamPolicy(StreamPolicy(archiveAfterMillis: 0, keepRawMillis: 0), for: "orders")
        var rng = SplitMix64(seed: 12)
        var clock: Int64 = 1_704_067_200_000
        var appended: Int64 = 0
        for _ in 0..<20 {
            let r = try await store.append(try batchOf(randomEvents(&rng, count: 100, clock: &clock)), to: "orders", durability: .none)
            appended = r.upperBound
            _ = try await store.query(QueryRequest(view: "v"))
        }
        let log = try store.streamLog("orders")
        var waited = 0
        while log.archiveManifest.files.isEmpty || log.startOffset == 0, waited < 10_000 {
            try await Task.sleep(nanoseconds: 10_000_000)
            waited += 10
        }
        #expect(!log.archiveManifest.files.isEmpty, "nothing archived in the background after \(waited) ms")
        #expect(log.startOffset > 0, "no raw segment removed in the background")
        // History reads the same from wherever it lives.
        var seen: Int64 = 0
        try log.forEachBatch(in: 0..<appended) { info, batch in
            #expect(info.baseOffset == seen)
            seen += Int64(batch.count)
        }
        #expect(seen == appended)
        store.close()
        let files = log.archiveManifest.files.count
        try await Task.sleep(nanoseconds: 100_000_000)
        #expect(log.archiveManifest.files.count == files, "the loop went on after close()")
    }
}

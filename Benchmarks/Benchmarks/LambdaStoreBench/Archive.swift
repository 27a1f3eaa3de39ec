import Foundation
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreParquet

/// Issue 12's measurements: the Parquet history archive of the 10 M events (bytes per event
/// against raw segments and pyarrow's zstd Parquet of the same events), `compact` archiving
/// them, full recomputes from the archive against raw segments, and DuckDB's own time for the
/// view over our archive files.
extension Bench {
    func runArchive() async throws {
        let main = try await ensureMainStore()
        let mainRoot = main.root
        // Work on a copy: the main store stays raw for the other measurements.
        let dir = o.work + "/archive-store"
        Files.removeTree(dir)
        main.close()
        mainStore = nil
        _ = try Files.run("/bin/cp", ["-a", mainRoot, dir])
        let store = try await Store.open(at: dir, options: storeOptions())
        defer { store.close() }
        let stream = try store.streamLog("orders")
        let rawBytes = stream.rawBytes
        log("== archive: raw \(rawBytes) B (\(fixed(Double(rawBytes) / Double(n), 2)) B/event)")

        // Recompute from raw segments.
        let fromRaw = try await timeRunsAsync {
            let r = try await store.recompute(view: Workload.viewName)
            guard r.events == Int64(self.n) else { throw WorkloadError(description: "recompute read \(r.events)") }
            return r.table.cellCount
        }
        throughput("archive.recompute.raw", "Full recompute from raw segments (Store.recompute)", fromRaw, events: n, threads: o.batchThreads,
                   code: "store.recompute(view: \"revenue_hourly\") with every event in raw segments")

        // compact: roll (segment bytes lowered so the active segment is due), archive everything.
        var p = try await store.streamPolicy("orders")
        p.segmentBytes = StreamPolicy.segmentBytesMin
        p.archiveAfterMillis = 0
        try await store.setStreamPolicy(p, for: "orders")
        gate.waitQuiet()
        let t0 = nowNanos()
        let report1 = try await store.compact()
        let compactSeconds = seconds(since: t0)
        let archived = report1.streams.first?.archivedEvents ?? 0
        guard archived == Int64(n) else { throw WorkloadError(description: "compact archived \(archived) of \(n) events") }
        var tc = Timed()
        tc.seconds = [compactSeconds]
        throughput("archive.compact", "compact: roll + archive every sealed segment into Parquet (write, fsync, read back and check)", tc,
                   events: n, threads: 1, code: "store.compact() with policy segmentBytes 4096, archiveAfter 0s (one run)",
                   notes: "\(report1.streams.first?.archivedSegments ?? 0) segments, \(report1.after.archive) archive bytes")

        let archiveBytes = stream.archiveBytes
        // Bytes per event of each column (compressed chunks, page headers included).
        var perColumn: [String: Int64] = [:]
        for f in stream.archiveManifest.files {
            let bytes = try PosixFileSystem().readFile(dir + "/archive/orders/" + f.name, limit: Int(f.bytes) + 1)
            for g in try ParquetFileReader(bytes: bytes, path: f.name).describe().rowGroups {
                for c in g.columns { perColumn[c.column, default: 0] += c.compressedBytes }
            }
        }
        let breakdown = perColumn.sorted { $0.key < $1.key }.map { "\($0.key) \(fixed(Double($0.value) / Double(n), 2))" }.joined(separator: ", ")
        log("   archive bytes/event per column: " + breakdown)
        let perEvent = Double(archiveBytes) / Double(n)
        // pyarrow's file of the same events (the peers' events.parquet, zstd, 1 M-row groups).
        let peersParquet = (o.eventsPath as NSString).deletingLastPathComponent + "/events.parquet"
        let pyarrowBytes = Files.size(peersParquet)
        let pyPerEvent = pyarrowBytes > 0 ? Double(pyarrowBytes) / Double(n) : .nan
        report.add(Measurement(id: "archive.bytes_per_event", title: "Archive bytes per event (Parquet, zstd, incl. _offset)", value: perEvent, unit: "B/event",
                               target: Target(text: "≤ 10 B/event and < pyarrow's \(fixed(pyPerEvent, 2)) B/event", met: perEvent <= 10 && (pyarrowBytes == 0 || archiveBytes < pyarrowBytes)),
                               cmd: cmd + "  # archive/orders/*.parquet after compact",
                               notes: "raw \(fixed(Double(rawBytes) / Double(n), 2)) B/event; pyarrow \(peersParquet): \(pyarrowBytes) B; per column: \(breakdown)",
                               extra: [("archive_bytes", .int(Int64(archiveBytes))), ("raw_bytes", .int(Int64(rawBytes))), ("pyarrow_bytes", .int(Int64(pyarrowBytes)))]))

        // Raw copies gone: history is read from the archive alone.
        p.keepRawMillis = 0
        try await store.setStreamPolicy(p, for: "orders")
        _ = try await store.compact()
        let fromArchive = try await timeRunsAsync {
            let r = try await store.recompute(view: Workload.viewName)
            guard r.events == Int64(self.n) else { throw WorkloadError(description: "recompute read \(r.events)") }
            return r.table.cellCount
        }
        throughput("archive.recompute.archive", "Full recompute from the Parquet archive (Store.recompute, no raw segment left)", fromArchive,
                   events: n, threads: o.batchThreads,
                   target: { Target(text: "≥ 50 M ev/s, as from raw", met: $0 >= 50e6) },
                   code: "store.recompute(view: \"revenue_hourly\") after compact with keepRaw 0s",
                   notes: "raw segments left: \(stream.segments().count) (the active one, empty)")

        // DuckDB's own time for the view over our archive files (a user's query, for the record).
        let script = """
            import sys, time, duckdb
            c = duckdb.connect(); c.execute("SET threads TO 2")
            src = "read_parquet('" + sys.argv[1] + "/archive/orders/*.parquet')"
            q = "SELECT (epoch_ms(event_ts) // 3600000) * 3600000 AS w, merchant_id, CAST(SUM(amount_cents) AS BIGINT), COUNT(*) FROM " + src + " WHERE status = 'completed' GROUP BY ALL"
            c.execute(q).fetchall()
            ts = []
            for _ in range(3):
                t = time.perf_counter(); rows = c.execute(q).fetchall(); ts.append(time.perf_counter() - t)
            ts.sort(); print(ts[1], len(rows), duckdb.__version__)
            """
        if let res = try? Files.run("/usr/bin/env", ["python3", "-c", script, dir]) {
            let parts = res.split(whereSeparator: { $0 == " " || $0 == "\n" })
            if let s = parts.first.flatMap({ Double($0) }) {
                var td = Timed()
                td.seconds = [s]
                throughput("archive.duckdb", "DuckDB: the view's query over our archive files (read_parquet, 2 threads)", td, events: n, threads: 2,
                           code: "python3 duckdb \(parts.count > 2 ? String(parts[2]) : "?"): SELECT … FROM read_parquet('archive/orders/*.parquet') … GROUP BY ALL",
                           notes: "median of 3 after a warm-up; \(parts.count > 1 ? String(parts[1]) : "?") groups")
            }
        } else {
            log("   (duckdb not importable: skipped the DuckDB query)")
        }
        Files.removeTree(dir)
    }
}

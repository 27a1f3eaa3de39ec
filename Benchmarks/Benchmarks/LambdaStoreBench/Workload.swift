@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
#if canImport(Glibc)
import Glibc
#endif

/// The peers' workload (`shared/peers/gen_events.py`) as LambdaStore batches.
enum Workload {
    /// The orders stream, fields in the order of the packed records.
    static let schema = Schema(stream: "orders", eventTime: "event_ts", fields: [
        Field(name: "event_id", type: .int64),
        Field(name: "event_ts", type: .timestamp),
        Field(name: "merchant_id", type: .string),
        Field(name: "status", type: .string),
        Field(name: "currency", type: .string),
        Field(name: "amount_cents", type: .int64),
    ])

    /// The hourly revenue view of DESIGN.md (and of the peers' batch view).
    static let viewJSON = """
        {"name":"revenue_hourly","stream":"orders","filter":"status = 'completed'",
        "groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},
        "allowedLateness":"10m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},
        {"name":"orders","fn":"count"}]}
        """
    static let viewName = "revenue_hourly"
    static let hourMillis: Int64 = 3_600_000

    static func view() throws(LambdaStoreError) -> ViewDefinition { try ViewDefinition.parse(json: viewJSON) }

    static let recordBytes = 30
    static let merchants = 10_000
    static let statuses = ["completed", "cancelled", "refunded"]
    static let currencies = ["USD", "EUR", "GBP"]
    /// `m00000` … `m09999`.
    static let merchantNames: [[UInt8]] = (0..<merchants).map { i in
        let d = String(i)
        return Array(("m" + String(repeating: "0", count: 5 - d.count) + d).utf8)
    }
    static func merchantName(_ i: Int) -> String { String(decoding: merchantNames[i], as: UTF8.self) }
}

struct WorkloadError: Error, CustomStringConvertible {
    var description: String
}

/// The packed records of `events.bin` (30 bytes each: u64 event_id, i64 event_ts, u32 merchant,
/// u8 status, u8 currency, i64 amount_cents, little-endian).
struct EventsFile {
    let bytes: [UInt8]
    var count: Int { bytes.count / Workload.recordBytes }

    /// Reads the whole file (at most `limit` records).
    init(path: String, limit: Int?) throws {
        guard let f = fopen(path, "rb") else { throw WorkloadError(description: "cannot open \(path)") }
        defer { fclose(f) }
        fseek(f, 0, SEEK_END)
        let size = ftell(f)
        fseek(f, 0, SEEK_SET)
        guard size > 0, size % Workload.recordBytes == 0 else {
            throw WorkloadError(description: "\(path): \(size) bytes is not a whole number of \(Workload.recordBytes)-byte records")
        }
        let want = min(size, (limit ?? Int.max / 64) * Workload.recordBytes)
        var buf = [UInt8](repeating: 0, count: want)
        let got = buf.withUnsafeMutableBytes { fread($0.baseAddress, 1, want, f) }
        guard got == want else { throw WorkloadError(description: "\(path): short read (\(got) of \(want) bytes)") }
        bytes = buf
    }

    /// Records `[from, to)` as one orders batch. Record fields are checked (no trap on a bad file).
    func batch(_ from: Int, _ to: Int) throws -> ColumnBatch {
        let n = to - from
        var ids = [Int64](), ts = [Int64](), amounts = [Int64]()
        ids.reserveCapacity(n); ts.reserveCapacity(n); amounts.reserveCapacity(n)
        var mOff = [UInt32](), sOff = [UInt32](), cOff = [UInt32]()
        mOff.reserveCapacity(n + 1); sOff.reserveCapacity(n + 1); cOff.reserveCapacity(n + 1)
        mOff.append(0); sOff.append(0); cOff.append(0)
        var mUTF8 = [UInt8](), sUTF8 = [UInt8](), cUTF8 = [UInt8]()
        mUTF8.reserveCapacity(n * 6); sUTF8.reserveCapacity(n * 9); cUTF8.reserveCapacity(n * 3)
        let statusBytes = Workload.statuses.map { Array($0.utf8) }
        let currencyBytes = Workload.currencies.map { Array($0.utf8) }
        try bytes.withUnsafeBytes { raw in
            for r in from..<to {
                let o = r * Workload.recordBytes
                let id = raw.loadUnaligned(fromByteOffset: o, as: UInt64.self).littleEndian
                let t = raw.loadUnaligned(fromByteOffset: o + 8, as: Int64.self).littleEndian
                let m = Int(raw.loadUnaligned(fromByteOffset: o + 16, as: UInt32.self).littleEndian)
                let s = Int(raw[o + 20]), c = Int(raw[o + 21])
                let a = raw.loadUnaligned(fromByteOffset: o + 22, as: Int64.self).littleEndian
                guard m < Workload.merchants, s < statusBytes.count, c < currencyBytes.count else {
                    throw WorkloadError(description: "record \(r): merchant \(m), status \(s), currency \(c) out of range")
                }
                ids.append(Int64(bitPattern: id))
                ts.append(t)
                amounts.append(a)
                mUTF8.append(contentsOf: Workload.merchantNames[m]); mOff.append(UInt32(mUTF8.count))
                sUTF8.append(contentsOf: statusBytes[s]); sOff.append(UInt32(sUTF8.count))
                cUTF8.append(contentsOf: currencyBytes[c]); cOff.append(UInt32(cUTF8.count))
            }
        }
        return ColumnBatch(schemaVersion: Workload.schema.version, columns: [
            Column(type: .int64, count: n, nullCount: 0, validity: [], ints: ids),
            Column(type: .timestamp, count: n, nullCount: 0, validity: [], ints: ts),
            Column(type: .string, count: n, nullCount: 0, validity: [], offsets: mOff, utf8: mUTF8),
            Column(type: .string, count: n, nullCount: 0, validity: [], offsets: sOff, utf8: sUTF8),
            Column(type: .string, count: n, nullCount: 0, validity: [], offsets: cOff, utf8: cUTF8),
            Column(type: .int64, count: n, nullCount: 0, validity: [], ints: amounts),
        ])
    }

    /// Every record, in batches of `size`.
    func batches(of size: Int) throws -> [ColumnBatch] {
        var out: [ColumnBatch] = []
        out.reserveCapacity((count + size - 1) / size)
        var i = 0
        while i < count {
            out.append(try batch(i, min(count, i + size)))
            i += size
        }
        return out
    }
}

/// The oracle of the hourly revenue view (`shared/peers/peer_duckdb.py`): rows
/// `window_start,merchant_id,revenue_cents,order_count` sorted by (window_start, merchant_id).
struct OracleRow: Equatable {
    var windowStart: Int64
    var merchant: String
    var revenue: Int64
    var count: Int64
}

enum Oracle {
    static func load(path: String) throws -> [OracleRow] {
        guard let f = fopen(path, "rb") else { throw WorkloadError(description: "cannot open oracle \(path)") }
        defer { fclose(f) }
        fseek(f, 0, SEEK_END)
        let size = ftell(f)
        fseek(f, 0, SEEK_SET)
        guard size > 0, size < 1 << 31 else { throw WorkloadError(description: "oracle \(path) has \(size) bytes") }
        var buf = [UInt8](repeating: 0, count: size)
        _ = buf.withUnsafeMutableBytes { fread($0.baseAddress, 1, size, f) }
        var rows: [OracleRow] = []
        rows.reserveCapacity(size / 32)
        var lineNo = 0
        var fields: [Substring] = []
        for line in buf.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            lineNo += 1
            if lineNo == 1 { continue }   // header
            let text = String(decoding: line, as: UTF8.self)
            fields = text.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 4, let w = Int64(fields[0]), let r = Int64(fields[2]), let c = Int64(fields[3]) else {
                throw WorkloadError(description: "oracle line \(lineNo): cannot parse '\(text)'")
            }
            rows.append(OracleRow(windowStart: w, merchant: String(fields[1]), revenue: r, count: c))
        }
        return rows
    }
}

/// Reads the published snapshot of the view back as oracle-shaped rows.
enum SnapshotRows {
    static func read(path: String) throws -> [OracleRow] {
        let reader = try SnapshotReader.open(fs: PosixFileSystem(), path: path)
        // format-spec §6.2: an integer sum is (low 64 bits, high 64 bits, n); a count is int64.
        let cols = try reader.readColumns(["window_start", "key.merchant_id", "state.revenue.sum", "state.revenue.sumHigh", "state.orders"])
        guard cols.count == 5 else { throw WorkloadError(description: "snapshot has \(cols.count) of 5 columns") }
        let n = cols[0].count
        var out: [OracleRow] = []
        out.reserveCapacity(n)
        for r in 0..<n {
            let sum = Int128(cols[3].ints[r]) << 64 | Int128(UInt64(bitPattern: cols[2].ints[r]))
            guard let revenue = Int64(exactly: sum) else { throw WorkloadError(description: "row \(r): revenue \(sum) overflows int64") }
            let values = [revenue, cols[4].ints[r]]
            out.append(OracleRow(windowStart: cols[0].ints[r], merchant: cols[1].string(at: r), revenue: values[0], count: values[1]))
        }
        return out
    }
}

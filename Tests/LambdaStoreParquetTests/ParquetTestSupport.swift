import Foundation
import LambdaStoreCore
import LambdaStoreTestSupport
import Testing

@testable import LambdaStoreParquet

/// The naive reference: a table as one array of values per column (`.null` for null).
struct RefTable {
    var schema: Schema
    var columns: [[Value]]
    var offsets: [Int64]

    var rows: Int { offsets.count }

    /// The rows `range` as a batch; string columns dictionary-encoded when `dictionaryStrings`.
    func batch(_ range: Range<Int>, dictionaryStrings: Bool = false) -> ColumnBatch {
        var cols: [Column] = []
        for (j, f) in schema.fields.enumerated() {
            let values = columns[j][range]
            if f.type == .string && dictionaryStrings && !values.isEmpty {
                var entries = Column(type: .string)
                var index: [String: UInt32] = [:]
                var codes: [UInt32] = []
                var validity = [UInt8](repeating: 0, count: (values.count + 7) / 8)
                var nulls = 0
                for (i, v) in values.enumerated() {
                    if case .string(let s) = v {
                        validity[i >> 3] |= 1 << UInt8(i & 7)
                        if let c = index[s] { codes.append(c) } else {
                            let c = UInt32(entries.count)
                            index[s] = c
                            entries.append(string: s)
                            codes.append(c)
                        }
                    } else {
                        nulls += 1
                        codes.append(0)
                    }
                }
                if entries.count == 0 { entries.append(string: "unused") }
                cols.append(Column(count: values.count, nullCount: nulls, validity: nulls == 0 ? [] : validity, dictionary: ColumnDictionary(entries: entries, codes: codes)))
            } else {
                var c = Column(type: f.type)
                for v in values { try! c.append(v) }
                cols.append(c)
            }
        }
        return ColumnBatch(schemaVersion: schema.version, columns: cols)
    }

    /// Writes the table, appending batches of `batchRows` rows.
    func write(options: ParquetWriterOptions, batchRows: Int = 1000, dictionaryStrings: Bool = false, metadata: [(key: String, value: String)] = [("k", "v")]) throws -> [UInt8] {
        var w = try ParquetFileWriter(schema: schema, keyValueMetadata: metadata, options: options)
        var start = 0
        while start < rows {
            let end = min(rows, start + batchRows)
            try w.append(batch(start..<end, dictionaryStrings: dictionaryStrings), offsets: Array(offsets[start..<end]))
            start = end
        }
        #expect(w.rowCount == Int64(rows))
        return try w.finish()
    }
}

/// Whether two values are equal, doubles bit for bit.
func sameValue(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.float64(let x), .float64(let y)): x.bitPattern == y.bitPattern
    default: a == b
    }
}

/// Reads every row group of `bytes` and checks it against `ref`.
@discardableResult
func checkFile(_ bytes: [UInt8], equals ref: RefTable, keepDictionaries: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> ParquetFileReader {
    let r = try ParquetFileReader(bytes: bytes, path: "test.parquet")
    #expect(r.rowCount == Int64(ref.rows), sourceLocation: sourceLocation)
    #expect(r.columns.map(\.name) == ref.schema.fields.map(\.name) + ["_offset"], sourceLocation: sourceLocation)
    var got = [[Value]](repeating: [], count: ref.schema.fields.count)
    var offsets: [Int64] = []
    for g in r.rowGroups.indices {
        let (batch, offs) = try r.readRowGroup(g, schema: ref.schema, keepDictionaries: keepDictionaries)
        #expect(batch.schemaVersion == ref.schema.version, sourceLocation: sourceLocation)
        #expect(batch.count == r.rowGroups[g].rows, sourceLocation: sourceLocation)
        try batch.validate(against: ref.schema)
        for (j, c) in batch.columns.enumerated() {
            for i in 0..<c.count { got[j].append(c.value(at: i)) }
        }
        offsets += offs
        if let a = offs.first, let b = offs.last {
            #expect(r.rowGroups[g].firstOffset == a && r.rowGroups[g].lastOffset == b, sourceLocation: sourceLocation)
        }
    }
    #expect(offsets == ref.offsets, sourceLocation: sourceLocation)
    for j in got.indices {
        #expect(got[j].count == ref.columns[j].count, sourceLocation: sourceLocation)
        if let i = got[j].indices.first(where: { $0 < ref.columns[j].count && !sameValue(got[j][$0], ref.columns[j][$0]) }) {
            Issue.record("column \(ref.schema.fields[j].name) row \(i): got \(got[j][i]), expected \(ref.columns[j][i])", sourceLocation: sourceLocation)
        }
    }
    return r
}

/// The schema with one field per type, nullable or not.
func allTypesSchema(nullable: Bool) -> Schema {
    Schema(stream: "t", eventTime: "ts", fields: [
        Field(name: "ts", type: .timestamp, nullable: false),
        Field(name: "i", type: .int64, nullable: nullable),
        Field(name: "d", type: .float64, nullable: nullable),
        Field(name: "b", type: .bool, nullable: nullable),
        Field(name: "s", type: .string, nullable: nullable),
        Field(name: "t2", type: .timestamp, nullable: nullable),
    ], version: 3)
}

/// Random values of every type with nulls in varied patterns (runs, sparse, none).
func randomTable(rows: Int, nullable: Bool, seed: UInt64, distinctStrings: Int = 20) -> RefTable {
    var rng = SplitMix64(seed: seed)
    let schema = allTypesSchema(nullable: nullable)
    var cols = [[Value]](repeating: [], count: schema.fields.count)
    let nullMode = Int(rng.next() % 4)   // 0 none, 1 sparse, 2 runs, 3 most
    var inRun = false
    var ts: Int64 = 1_700_000_000_000
    for i in 0..<rows {
        if rng.next() % 16 == 0 { inRun.toggle() }
        func isNull() -> Bool {
            guard nullable else { return false }
            switch nullMode {
            case 1: return rng.next() % 10 == 0
            case 2: return inRun
            case 3: return rng.next() % 10 != 0
            default: return false
            }
        }
        ts += Int64(rng.next() % 50)
        cols[0].append(.timestamp(ts))
        cols[1].append(isNull() ? .null : .int64(Int64(bitPattern: rng.next()) >> (rng.next() % 64)))
        let specials: [Double] = [.nan, -0.0, 0.0, .infinity, -.infinity, Double(bitPattern: 0x7FF8_0000_0000_1234), .leastNonzeroMagnitude]
        cols[2].append(isNull() ? .null : .float64(rng.next() % 5 == 0 ? specials[Int(rng.next() % 7)] : Double(Int64(bitPattern: rng.next()) % 100_000) / 7))
        cols[3].append(isNull() ? .null : .bool(rng.next() % 3 == 0))
        let k = Int(rng.next() % UInt64(distinctStrings))
        cols[4].append(isNull() ? .null : .string(k == 0 ? "" : k == 1 ? "é∂ü\u{1F600}" : "value-\(k)"))
        cols[5].append(isNull() ? .null : .timestamp(Int64(i) * 1000 - 5_000))
    }
    return RefTable(schema: schema, columns: cols, offsets: (0..<rows).map { Int64($0) * 3 + 7 })
}

func smallOptions(rowGroupRows: Int = 700, pageRows: Int = 100) -> ParquetWriterOptions {
    var o = ParquetWriterOptions()
    o.rowGroupRows = rowGroupRows
    o.pageRows = pageRows
    return o
}

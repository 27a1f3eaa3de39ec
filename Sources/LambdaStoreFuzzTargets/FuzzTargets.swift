@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreParquet
import LambdaStoreTestSupport

/// The fuzz targets: one function per decoder or parser that reads bytes from disk or input,
/// shared by the libFuzzer harness (`Fuzz/`, one binary, the target chosen by `FUZZ_TARGET`)
/// and the replay test (`Tests/LambdaStoreFuzzTests`), which runs every file under
/// `Fuzz/corpus/`, `Fuzz/crashes/` and `Fuzz/regressions/` through the same function.
///
/// Contract of every target: any input may be refused with a thrown ``LambdaStoreError``
/// (swallowed here); nothing traps, and the few round-trip invariants checked with
/// `precondition` hold (an accepted input re-encodes to something accepted again).
///
/// Checksums: most files carry CRC32C over their bytes, so random mutations almost never get
/// past the first check. Each binary target therefore decodes the input as given *and* a copy
/// whose checksums are recomputed (``FuzzChecksums``), which reaches the decoders behind them.
///
/// Only public API is used. Thread safety: stateless; targets may run concurrently.
public enum FuzzTargets {
    /// Every target name, in the order `tools/fuzz.sh` runs them (also `Fuzz/corpus/<name>/`).
    public static let names: [String] = [
        "segment", "payload", "index", "schema-history", "schema-json", "checkpoint", "manifest",
        "snapshot", "aggregate-state", "view-definition", "filter", "jsonl", "csv", "drift", "incidents",
        "parquet", "archive-manifest",
    ]

    /// Runs target `name` on `data`; false when no target has that name.
    @discardableResult
    public static func run(_ name: String, _ data: [UInt8]) -> Bool {
        switch name {
        case "segment": withRepaired(data, FuzzChecksums.segment, segment)
        case "payload": payload(data)
        case "index": withRepaired(data, FuzzChecksums.index, index)
        case "schema-history": withRepaired(data, FuzzChecksums.trailingCRC, schemaHistory)
        case "schema-json": schemaJSON(data)
        case "checkpoint": withRepaired(data, FuzzChecksums.checkpoint, checkpoint)
        case "manifest": withRepaired(data, FuzzChecksums.trailingCRC, manifest)
        case "snapshot": withRepaired(data, FuzzChecksums.snapshot, snapshot)
        case "aggregate-state": aggregateState(data)
        case "view-definition": viewDefinition(data)
        case "filter": filter(data)
        case "jsonl": records(data, format: .jsonl)
        case "csv": records(data, format: .csv)
        case "drift": withRepaired(data, FuzzChecksums.metadata) { metadata($0, fileName: "DRIFT") }
        case "incidents": withRepaired(data, FuzzChecksums.metadata) { metadata($0, fileName: "INCIDENTS") }
        case "parquet": parquet(data)
        case "archive-manifest": withRepaired(data, FuzzChecksums.metadata, archiveManifest)
        default: return false
        }
        return true
    }

    // MARK: - Fixed inputs

    /// The schemas the corpus store is built with (`Fuzz/inputs/orders.v1.json`, `.v2.json`;
    /// the replay test checks these strings equal those files).
    public static let schemaV1JSON = """
        {"stream":"orders","eventTime":"event_ts","fields":[
          {"name":"event_ts","type":"timestamp"},
          {"name":"merchant_id","type":"string"},
          {"name":"amount_cents","type":"int64"},
          {"name":"price","type":"float64","nullable":true},
          {"name":"status","type":"string","nullable":true,"default":"completed"},
          {"name":"gift","type":"bool","nullable":true}]}

        """
    public static let schemaV2JSON = """
        {"stream":"orders","eventTime":"event_ts","fields":[
          {"name":"event_ts","type":"timestamp"},
          {"name":"merchant_id","type":"string"},
          {"name":"amount_cents","type":"int64"},
          {"name":"price","type":"float64","nullable":true},
          {"name":"status","type":"string","nullable":true,"default":"completed"},
          {"name":"gift","type":"bool","nullable":true},
          {"name":"channel","type":"string","nullable":true,"default":"web"}]}

        """

    /// Versions 1 and 2 of the `orders` stream.
    public static let history: SchemaHistory = {
        var h = SchemaHistory(first: try! SchemaFile.parse(json: Array(schemaV1JSON.utf8)))
        var v2 = try! SchemaFile.parse(json: Array(schemaV2JSON.utf8))
        v2.version = 2
        h.append(v2)
        return h
    }()

    /// A few rows of every kind of value (nulls, defaults, extremes) for filter evaluation.
    static let sampleBatch: ColumnBatch = {
        var parser = try! RecordParser(schema: history.latest, format: .jsonl)
        var batch = parser.makeBatch()
        let lines = [
            #"{"event_ts":1767225600000,"merchant_id":"m01","amount_cents":250,"price":2.5,"status":"completed","gift":true,"channel":"app"}"#,
            #"{"event_ts":-1,"merchant_id":"","amount_cents":-9223372036854775808,"price":null,"status":null,"gift":null,"channel":null}"#,
            #"{"event_ts":253402300799999,"merchant_id":"caf\u00e9","amount_cents":9223372036854775807,"price":-0.0}"#,
            #"{"event_ts":0,"merchant_id":"x'y","amount_cents":0,"price":1e308,"status":"refunded","gift":false}"#,
        ]
        for (i, l) in lines.enumerated() {
            let bytes = Array(l.utf8)
            let r = bytes.withUnsafeBytes { parser.parse(line: $0, lineNumber: i + 1, into: &batch) }
            precondition(r == nil, "sample line \(i + 1) rejected: \(r!.reason)")
        }
        return batch
    }()

    // MARK: - Targets

    static func withRepaired(_ data: [UInt8], _ repair: ([UInt8]) -> [UInt8], _ body: ([UInt8]) -> Void) {
        body(data)
        let fixed = repair(data)
        if fixed != data { body(fixed) }
    }

    /// Segment file header, batch headers and payloads (SegmentScanner, StreamLog.decodeStored,
    /// ColumnBatch payload decode incl. dictionary columns) via ``LogInspector``.
    static func segment(_ data: [UInt8]) {
        guard let dump = try? LogInspector.dumpSegment(bytes: data, file: "fuzz.segment", schemas: history, includeRecords: true) else { return }
        for b in dump.batches { _ = b.records?.count }
    }

    /// A record batch payload (format-spec.md §2.3). Byte 0 selects: bits 0–1 the codec
    /// (0 none, 1 lz4, 2 zstd, 3 none), bits 2–3 the dictionary mode (0 rejected,
    /// 1 materialized, 2–3 kept), bit 4 schema version 1 (else 2). With a codec, a u32 LE
    /// uncompressed length follows (capped at 4 MiB). The rest is the stored payload.
    static func payload(_ data: [UInt8]) {
        guard let sel = data.first else { return }
        let codec: Codec = switch sel & 3 { case 1: .lz4; case 2: .zstd; default: .none }
        let dictionaries: PayloadDictionaries = switch (sel >> 2) & 3 { case 0: .rejected; case 1: .materialized; default: .kept }
        let schema = history.versions[sel & 0x10 != 0 ? 0 : 1]
        var body = Array(data.dropFirst())
        if codec != .none {
            guard body.count >= 4 else { return }
            let n = Int(UInt32(body[0]) | UInt32(body[1]) << 8 | UInt32(body[2]) << 16 | UInt32(body[3]) << 24)
            let stored = Array(body.dropFirst(4))
            guard let raw = try? stored.withUnsafeBytes({ b throws(LambdaStoreError) in try codec.decompress(b, uncompressedSize: min(n, 4 << 20)) }) else { return }
            body = raw
        }
        guard let batch = try? body.withUnsafeBytes({ b throws(LambdaStoreError) in
            try ColumnBatch(decodingPayload: b, schema: schema, dictionaries: dictionaries)
        }) else { return }
        checkRoundTrip(batch, schema: schema)
    }

    /// An accepted batch re-encodes (plain and dictionary form) to a payload that decodes to
    /// as many rows with the same values.
    static func checkRoundTrip(_ batch: ColumnBatch, schema: Schema) {
        for dictionaryStrings in [false, true] {
            var out: [UInt8] = []
            batch.encodePayload(into: &out, dictionaryStrings: dictionaryStrings)
            let again: ColumnBatch
            do {
                again = try out.withUnsafeBytes { b throws(LambdaStoreError) in
                    try ColumnBatch(decodingPayload: b, schema: schema, dictionaries: .materialized)
                }
            } catch {
                preconditionFailure("re-encoded payload refused: \(error)")
            }
            precondition(again.count == batch.count, "re-encoded payload has \(again.count) rows, not \(batch.count)")
            for (c, (x, y)) in zip(batch.columns, again.columns).enumerated() {
                for r in 0..<batch.count {
                    let a = x.value(at: r), b = y.value(at: r)
                    precondition(a == b || a.description == b.description, "column \(c) row \(r): \(a) became \(b)")
                }
            }
        }
    }

    /// `.index` and `.timeindex` files (IndexFiles) via ``LogInspector/dumpIndex(path:fs:)``;
    /// bytes 0–3 choose the kind by their magic (`LSTI`: time index).
    static func index(_ data: [UInt8]) {
        let fs = SimulatedFileSystem()
        let path = data.starts(with: Array("LSTI".utf8)) ? "/s/00000000000000000000.timeindex" : "/s/00000000000000000000.index"
        fs.setContents(path, data)
        _ = try? LogInspector.dumpIndex(path: path, fs: fs)
    }

    /// The stored schema history (format-spec.md §2.1); an accepted one re-encodes to itself.
    static func schemaHistory(_ data: [UInt8]) {
        guard let h = try? SchemaHistory(decoding: data) else { return }
        let again = try? SchemaHistory(decoding: h.encoded())
        precondition(again == h, "schema history does not survive encode → decode")
    }

    /// The JSON schema file of `lambdastore schema apply`; an accepted one renders to JSON that
    /// parses to the same schema.
    static func schemaJSON(_ data: [UInt8]) {
        guard let s = try? SchemaFile.parse(json: data) else { return }
        let again = try? SchemaFile.parse(json: Array(SchemaFile.render(s).utf8))
        precondition(again == s, "schema file does not survive render → parse")
    }

    /// The CHECKPOINT file (format-spec.md §2.9).
    static func checkpoint(_ data: [UInt8]) {
        guard let c = try? LogCheckpoint(decoding: data, path: "CHECKPOINT") else { return }
        precondition((try? LogCheckpoint(decoding: c.encoded(), path: "CHECKPOINT")) == c, "checkpoint does not survive encode → decode")
    }

    /// A view's MANIFEST (format-spec.md §5).
    static func manifest(_ data: [UInt8]) {
        guard let m = try? Manifest.decode(data, path: "MANIFEST") else { return }
        _ = try? Manifest.decode(m.encode(), path: "MANIFEST")
    }

    /// A columnar snapshot (format-spec.md §4): footer, then every row group's chunks, then
    /// every aggregate state stored in a `bytes` column.
    static func snapshot(_ data: [UInt8]) {
        guard let r = try? SnapshotReader(bytes: data, path: "fuzz.snapshot") else { return }
        _ = SnapshotInspector.describe(r).text
        for g in r.rowGroups.indices {
            guard let columns = try? r.rowGroupColumns(g) else { continue }
            for (c, column) in columns.enumerated() where r.columns[c].type == .bytes {
                for i in 0..<column.count where !column.isNull(i) {
                    _ = column.withUTF8(at: i) { try? AggregateState(decoding: Array($0)) }
                }
            }
        }
    }

    /// One encoded aggregate state (format-spec.md §3b.2); an accepted state re-encodes to one
    /// that decodes equal, merges with itself and has a result.
    static func aggregateState(_ data: [UInt8]) {
        guard let s = try? AggregateState(decoding: data) else { return }
        var w = ByteWriter()
        s.encode(into: &w)
        let again = try? AggregateState(decoding: w.bytes)
        precondition(again != nil, "aggregate state does not survive encode → decode")
        var m = s
        m.merge(s)
        _ = m.result
    }

    /// A view file (format-spec.md §3a.1), compiled against the `orders` schema; an accepted
    /// one's JSON form parses again to the same canonical form.
    static func viewDefinition(_ data: [UInt8]) {
        guard let d = try? ViewDefinition.parse(json: data) else { return }
        let again = try? ViewDefinition.parse(json: d.toJSON())
        precondition(again?.canonicalForm == d.canonicalForm, "view definition does not survive toJSON → parse")
        _ = try? CompiledView(d, schema: history.latest)
    }

    /// The filter language (format-spec.md §3a.3–§3a.5): parse, canonical text accepted again,
    /// compile against the `orders` schema and evaluate on a few rows.
    static func filter(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        guard let e = try? FilterExpression.parse(text) else { return }
        let canonical = e.canonicalText
        let again = try? FilterExpression.parse(canonical)
        precondition(again?.canonicalText == canonical, "canonical filter text \(canonical) is not accepted as itself")
        guard let f = try? CompiledFilter(e, schema: history.latest) else { return }
        _ = f.evaluate(sampleBatch)
    }

    /// JSON Lines or CSV ingest: the line splitter (fed in two chunks) and the record parser
    /// against the `orders` schema; accepted rows validate and survive a payload round trip.
    static func records(_ data: [UInt8], format: InputFormat) {
        let schema = history.latest
        var parser = try! RecordParser(schema: schema, format: format)
        var batch = parser.makeBatch()
        var splitter = LineSplitter(lineBytesMax: 1 << 16)
        func take(_ e: LineSplitter.Event) {
            if case .line(let line, let number) = e { _ = parser.parse(line: line, lineNumber: number, into: &batch) }
        }
        data.withUnsafeBytes { b in
            let half = b.count / 2
            splitter.feed(UnsafeRawBufferPointer(rebasing: b[..<half]), take)
            splitter.feed(UnsafeRawBufferPointer(rebasing: b[half...]), take)
        }
        splitter.finish(take)
        do { try batch.validate(against: schema) } catch { preconditionFailure("parsed rows do not validate: \(error)") }
        checkRoundTrip(batch, schema: schema)
    }

    /// DRIFT / INCIDENTS (format-spec.md §6.1, §6.4, §6.5) via ``MetadataInspector``.
    static func metadata(_ data: [UInt8], fileName: String) {
        _ = try? MetadataInspector.check(data, fileName: fileName, path: fileName)
    }

    /// An archive file (format-spec.md §8.1, §8.3): the footer, every row group decoded with
    /// the schema its columns declare (plain and dictionary-kept strings, and with only the
    /// first field read), and `describe()`. Parquet pages carry no checksum of ours (the archive
    /// manifest's CRC32C covers the whole file), so the reader itself must hold.
    static func parquet(_ data: [UInt8]) {
        guard let r = try? ParquetFileReader(bytes: data, path: "fuzz.parquet") else { return }
        _ = r.describe()
        let fields = r.columns.dropLast().map { Field(name: $0.name, type: $0.type, nullable: $0.nullable) }
        guard !fields.isEmpty else { return }
        let schema = Schema(stream: "fuzz", eventTime: fields[0].name, fields: Array(fields))
        for g in r.rowGroups.indices {
            _ = try? r.readRowGroup(g, schema: schema, keepDictionaries: false)
            _ = try? r.readRowGroup(g, schema: schema, keepDictionaries: true, only: [0])
        }
    }

    /// An archive manifest (format-spec.md §8.2); an accepted one re-encodes to one accepted again.
    static func archiveManifest(_ data: [UInt8]) {
        guard let m = try? ArchiveManifest(decoding: data, path: "MANIFEST") else { return }
        guard let again = try? ArchiveManifest(decoding: m.encoded(), path: "MANIFEST") else {
            preconditionFailure("an accepted archive manifest does not re-encode")
        }
        precondition(again == m, "archive manifest round trip changed it")
    }
}

import Testing
@testable import LambdaStoreCore
import LambdaStoreTestSupport

/// The schema every ingest test uses: one field per rule (required, nullable, default, both).
let ingestSchema = Schema(stream: "orders", eventTime: "event_ts", fields: [
    Field(name: "event_ts", type: .timestamp),
    Field(name: "merchant_id", type: .string),
    Field(name: "amount_cents", type: .int64),
    Field(name: "price", type: .float64, nullable: true),
    Field(name: "ok", type: .bool, defaultValue: .bool(false)),
    Field(name: "channel", type: .string, nullable: true, defaultValue: .string("web")),
    Field(name: "note", type: .string, nullable: true),
])

/// Every row of `batch`, as values.
func ingestRows(_ batch: ColumnBatch) -> [[Value]] {
    (0..<batch.count).map { r in batch.columns.map { $0.value(at: r) } }
}

/// Everything about the batch's storage that a partial append would change.
func ingestShape(_ batch: ColumnBatch) -> [[Int]] {
    batch.columns.map { [$0.count, $0.nullCount, $0.ints.count, $0.doubles.count, $0.offsets.count, $0.utf8.count, $0.validity.count] }
}

/// What a line should do.
enum IngestExpectation: Sendable, CustomStringConvertible {
    case row([Value])
    case rejected(String)
    var description: String {
        switch self {
        case .row(let v): "row \(v)"
        case .rejected(let r): "rejected: \(r)"
        }
    }
}

/// The values of a row with the base fields and optional overrides, by field index.
func ingestRow(ts: Int64 = 1_704_067_200_150, merchant: String = "m1", amount: Int64 = 100, price: Value = .null,
               ok: Bool = false, channel: Value = .string("web"), note: Value = .null) -> [Value] {
    [.timestamp(ts), .string(merchant), .int64(amount), price, .bool(ok), channel, note]
}

/// Feeds `line` after one valid row already in the batch; checks the outcome and that a
/// rejected line leaves the batch exactly as it was.
func ingestCheckLine(_ parser: inout RecordParser, _ line: [UInt8], lineNumber: Int, expected: IngestExpectation, seedRow: [UInt8]) {
    var batch = parser.makeBatch()
    let seeded = seedRow.withUnsafeBytes { parser.parse(line: $0, lineNumber: 1, into: &batch) }
    #expect(seeded == nil && batch.count == 1, "seed row rejected: \(String(describing: seeded))")
    let before = ingestShape(batch), beforeRows = ingestRows(batch)
    let result = line.withUnsafeBytes { parser.parse(line: $0, lineNumber: lineNumber, into: &batch) }
    switch expected {
    case .row(let values):
        #expect(result == nil, "\(String(decoding: line, as: UTF8.self)): \(String(describing: result))")
        #expect(batch.count == 2)
        if batch.count == 2 { #expect(ingestRows(batch)[1] == values) }
        #expect((try? batch.validate(against: ingestSchema)) != nil)
    case .rejected(let reason):
        #expect(result == RejectedLine(line: lineNumber, reason: reason), "\(String(decoding: line, as: UTF8.self))")
        #expect(ingestShape(batch) == before, "a rejected line changed the batch")
        #expect(ingestRows(batch) == beforeRows)
    }
}

private let base = #""event_ts":1704067200150,"merchant_id":"m1","amount_cents":100"#

@Suite struct IngestJSONLTests {
    static let cases: [(String, IngestExpectation)] = [
        // Missing fields: default, else null, else rejected.
        ("{\(base)}", .row(ingestRow())),
        ("{\(base),\"price\":2.5,\"ok\":true,\"channel\":\"app\",\"note\":\"hi\"}",
         .row(ingestRow(price: .float64(2.5), ok: true, channel: .string("app"), note: .string("hi")))),
        (#"{"merchant_id":"m1","amount_cents":100}"#, .rejected("missing field 'event_ts'")),
        (#"{"event_ts":1,"merchant_id":"m1"}"#, .rejected("missing field 'amount_cents'")),
        ("{}", .rejected("missing field 'event_ts'")),
        // Explicit null: only for nullable fields (a nullable field with a default takes the null).
        ("{\(base),\"note\":null,\"channel\":null,\"price\":null}", .row(ingestRow(channel: .null))),
        ("{\(base),\"ok\":null}", .rejected("field 'ok': null is not allowed (the field is not nullable)")),
        (#"{"event_ts":null,"merchant_id":"m1","amount_cents":1}"#, .rejected("field 'event_ts': null is not allowed (the field is not nullable)")),
        // Unknown fields reject the line, naming the field.
        ("{\(base),\"colour\":\"red\"}", .rejected("unknown field 'colour'")),
        (#"{"colour":1}"#, .rejected("unknown field 'colour'")),
        // int64: integers only, exact.
        (#"{"event_ts":1,"merchant_id":"m","amount_cents":9007199254740993}"#, .row(ingestRow(ts: 1, merchant: "m", amount: 9_007_199_254_740_993))),
        (#"{"event_ts":1,"merchant_id":"m","amount_cents":-9223372036854775808}"#, .row(ingestRow(ts: 1, merchant: "m", amount: Int64.min))),
        (#"{"event_ts":1,"merchant_id":"m","amount_cents":-0}"#, .row(ingestRow(ts: 1, merchant: "m", amount: 0))),
        (#"{"event_ts":1,"merchant_id":"m","amount_cents":1.5}"#, .rejected("field 'amount_cents': expected int64, got number 1.5")),
        (#"{"event_ts":1,"merchant_id":"m","amount_cents":1.0}"#, .rejected("field 'amount_cents': expected int64, got number 1.0")),
        (#"{"event_ts":1,"merchant_id":"m","amount_cents":1e3}"#, .rejected("field 'amount_cents': expected int64, got number 1e3")),
        (#"{"event_ts":1,"merchant_id":"m","amount_cents":"12"}"#, .rejected(#"field 'amount_cents': expected int64, got string "12""#)),
        (#"{"event_ts":1,"merchant_id":"m","amount_cents":9223372036854775808}"#, .rejected("field 'amount_cents': expected int64, got number 9223372036854775808 (out of range)")),
        (#"{"event_ts":1,"merchant_id":"m","amount_cents":true}"#, .rejected("field 'amount_cents': expected int64, got bool true")),
        (#"{"event_ts":1,"merchant_id":"m","amount_cents":{}}"#, .rejected("field 'amount_cents': expected int64, got object")),
        (#"{"event_ts":1,"merchant_id":"m","amount_cents":[1]}"#, .rejected("field 'amount_cents': expected int64, got array")),
        // float64: integers and floats.
        ("{\(base),\"price\":3}", .row(ingestRow(price: .float64(3)))),
        ("{\(base),\"price\":-1.25e-2}", .row(ingestRow(price: .float64(-0.0125)))),
        ("{\(base),\"price\":9007199254740993}", .row(ingestRow(price: .float64(9_007_199_254_740_992)))),
        ("{\(base),\"price\":\"1.5\"}", .rejected(#"field 'price': expected float64, got string "1.5""#)),
        ("{\(base),\"price\":1e400}", .rejected("field 'price': expected float64, got number 1e400 (out of range)")),
        // timestamp: epoch ms integer or ISO-8601 with zone.
        (#"{"event_ts":"2026-01-01T00:00:00Z","merchant_id":"m","amount_cents":1}"#, .row(ingestRow(ts: 1_767_225_600_000, merchant: "m", amount: 1))),
        (#"{"event_ts":"2026-01-01T02:00:00.5+02:00","merchant_id":"m","amount_cents":1}"#, .row(ingestRow(ts: 1_767_225_600_500, merchant: "m", amount: 1))),
        (#"{"event_ts":-5,"merchant_id":"m","amount_cents":1}"#, .row(ingestRow(ts: -5, merchant: "m", amount: 1))),
        (#"{"event_ts":"2026-01-01T02:00+02:00","merchant_id":"m","amount_cents":1}"#, .row(ingestRow(ts: 1_767_225_600_000, merchant: "m", amount: 1))),
        (#"{"event_ts":"2026-01-01T00:00","merchant_id":"m","amount_cents":1}"#, .rejected(#"field 'event_ts': expected timestamp (epoch ms or ISO-8601 with zone), got string "2026-01-01T00:00""#)),
        (#"{"event_ts":"2026-01-01T00:00:00","merchant_id":"m","amount_cents":1}"#, .rejected(#"field 'event_ts': expected timestamp (epoch ms or ISO-8601 with zone), got string "2026-01-01T00:00:00""#)),
        (#"{"event_ts":"1704067200150","merchant_id":"m","amount_cents":1}"#, .rejected(#"field 'event_ts': expected timestamp (epoch ms or ISO-8601 with zone), got string "1704067200150""#)),
        (#"{"event_ts":1.5,"merchant_id":"m","amount_cents":1}"#, .rejected("field 'event_ts': expected timestamp (epoch ms or ISO-8601 with zone), got number 1.5")),
        (#"{"event_ts":"2026-01-01T00:00:00\u005a","merchant_id":"m","amount_cents":1}"#, .row(ingestRow(ts: 1_767_225_600_000, merchant: "m", amount: 1))),
        // bool and string.
        ("{\(base),\"ok\":\"true\"}", .rejected(#"field 'ok': expected bool (true or false), got string "true""#)),
        ("{\(base),\"ok\":1}", .rejected("field 'ok': expected bool (true or false), got number 1")),
        ("{\(base),\"ok\":false}", .row(ingestRow())),
        (#"{"event_ts":1,"merchant_id":12,"amount_cents":1}"#, .rejected("field 'merchant_id': expected string, got number 12")),
        (#"{"event_ts":1,"merchant_id":"a\"b\u00e9\n\ud83d\ude00","amount_cents":1}"#, .row(ingestRow(ts: 1, merchant: "a\"bé\n😀", amount: 1))),
        (#"{"event_ts":1,"merchant_id":"héllo wörld","amount_cents":1}"#, .row(ingestRow(ts: 1, merchant: "héllo wörld", amount: 1))),
        (#"{"event_ts":1,"merchant_id":"","amount_cents":1}"#, .row(ingestRow(ts: 1, merchant: "", amount: 1))),
        (#"{"event_ts":1,"merchant\u005fid":"m","amount_cents":1}"#, .row(ingestRow(ts: 1, merchant: "m", amount: 1))),
        // Whitespace anywhere JSON allows it; a trailing \r.
        ("  { \"event_ts\" : 1 ,\t\"merchant_id\" : \"m\" , \"amount_cents\" : 2 }  ", .row(ingestRow(ts: 1, merchant: "m", amount: 2))),
        ("{\(base)}\r", .row(ingestRow())),
        // Not an object, bad syntax: the column.
        ("[1]", .rejected("expected a JSON object, got array")),
        ("\"x\"", .rejected("expected a JSON object, got string")),
        ("{\(base)", .rejected("invalid JSON at column 64: unexpected end of input, expected ',' or '}' in object")),
        ("{\(base),}", .rejected("invalid JSON at column 65: unexpected '}', expected a string key in object")),
        ("{\(base)} x", .rejected("invalid JSON at column 66: unexpected 'x', expected end of input after the value")),
        ("{\(base),\"amount_cents\":5}", .rejected(#"invalid JSON at column 65: duplicate key "amount_cents""#)),
        ("{\(base),\"note\":\"\\ud800\"}", .rejected(#"invalid JSON at column 73: lone high surrogate in \u escape"#)),
        ("{\(base),\"note\":nul}", .rejected("invalid JSON at column 75: unexpected '}', expected 'null'")),
        ("{\(base),\"price\":01}", .rejected("invalid JSON at column 73: invalid number: leading zero in number")),
        ("{\"event_ts\":1,\"merchant_id\":\"m\u{01}\",\"amount_cents\":1}", .rejected("invalid JSON at column 31: unescaped control character 0x01 in string")),
    ]

    @Test(arguments: cases)
    func appliesTheIngestRules(_ line: String, expected: IngestExpectation) throws {
        var parser = try RecordParser(schema: ingestSchema, format: .jsonl)
        ingestCheckLine(&parser, Array(line.utf8), lineNumber: 7, expected: expected, seedRow: Array("{\(base)}".utf8))
    }

    @Test func invalidUTF8AndLimits() throws {
        var parser = try RecordParser(schema: ingestSchema, format: .jsonl)
        let seed = Array("{\(base)}".utf8)
        var bad = Array(#"{"event_ts":1,"merchant_id":"m"#.utf8) + [0xC3, 0x28] + Array(#"","amount_cents":1}"#.utf8)
        ingestCheckLine(&parser, bad, lineNumber: 2, expected: .rejected("invalid JSON at column 31: invalid UTF-8 in string"), seedRow: seed)
        bad = Array(#"{"event_ts":1,"merchant_id":"m","amount_cents":1,"#.utf8) + [0xFF] + Array("\":1}".utf8)
        ingestCheckLine(&parser, bad, lineNumber: 2, expected: .rejected("invalid JSON at column 50: unexpected 0xFF, expected a string key in object"), seedRow: seed)
        let long = String(repeating: "x", count: Limits.stringBytesMax + 1)
        ingestCheckLine(&parser, Array("{\(base),\"note\":\"\(long)\"}".utf8), lineNumber: 3,
                  expected: .rejected("field 'note': string of \(Limits.stringBytesMax + 1) bytes exceeds the limit of \(Limits.stringBytesMax) bytes"), seedRow: seed)
        let atLimit = String(repeating: "y", count: Limits.stringBytesMax)
        ingestCheckLine(&parser, Array("{\(base),\"note\":\"\(atLimit)\"}".utf8), lineNumber: 4,
                  expected: .row(ingestRow(note: .string(atLimit))), seedRow: seed)
        let overlong = [UInt8](repeating: 0x20, count: Limits.lineBytesMax + 1)
        ingestCheckLine(&parser, overlong, lineNumber: 5, expected: .rejected("line longer than \(Limits.lineBytesMax) bytes (Limits.lineBytesMax)"), seedRow: seed)
    }

    @Test func blankLinesAreSkipped() throws {
        var parser = try RecordParser(schema: ingestSchema, format: .jsonl)
        var batch = parser.makeBatch()
        for blank in ["", " ", "\t \r", "\r"] {
            let r = Array(blank.utf8).withUnsafeBytes { parser.parse(line: $0, lineNumber: 1, into: &batch) }
            #expect(r == nil)
            #expect(batch.count == 0)
        }
    }

    @Test func keyOrderMayChangeFromLineToLine() throws {
        var parser = try RecordParser(schema: ingestSchema, format: .jsonl)
        var batch = parser.makeBatch()
        let lines = [
            #"{"event_ts":1,"merchant_id":"a","amount_cents":1}"#,
            #"{"amount_cents":2,"event_ts":2,"merchant_id":"b","note":"n"}"#,
            #"{"note":null,"merchant_id":"c","ok":true,"amount_cents":3,"event_ts":3}"#,
            #"{"event_ts":4,"merchant_id":"d","amount_cents":4}"#,
        ]
        for (k, l) in lines.enumerated() {
            #expect(Array(l.utf8).withUnsafeBytes { parser.parse(line: $0, lineNumber: k + 1, into: &batch) } == nil)
        }
        #expect(ingestRows(batch) == [
            ingestRow(ts: 1, merchant: "a", amount: 1), ingestRow(ts: 2, merchant: "b", amount: 2, note: .string("n")),
            ingestRow(ts: 3, merchant: "c", amount: 3, ok: true), ingestRow(ts: 4, merchant: "d", amount: 4),
        ])
    }
}

@Suite struct IngestCSVTests {
    static let header = "event_ts,merchant_id,amount_cents,price,ok,channel,note"

    static let cases: [(String, IngestExpectation)] = [
        ("1704067200150,m1,100,,,,", .row(ingestRow())),
        ("2026-01-01T00:00:00Z,m1,100,2.5,true,app,hi", .row(ingestRow(ts: 1_767_225_600_000, price: .float64(2.5), ok: true, channel: .string("app"), note: .string("hi")))),
        ("2026-01-01T01:00:00+0100,m1,100,3,false,,", .row(ingestRow(ts: 1_767_225_600_000, price: .float64(3)))),
        ("2026-01-01T01:00+0100,m1,100,3,false,,", .row(ingestRow(ts: 1_767_225_600_000, price: .float64(3)))),
        ("1,\"a,b\",100,,,,\"\"", .row(ingestRow(ts: 1, merchant: "a,b", note: .string("")))),
        ("1,\"a\"\"b\",100,,,,\"\"\"\"", .row(ingestRow(ts: 1, merchant: "a\"b", note: .string("\"")))),
        ("1,\"\",100,,,,", .row(ingestRow(ts: 1, merchant: ""))),
        ("1,m1,100,\"\",\"\",,", .row(ingestRow(ts: 1))),                          // quoted empty non-string: missing
        ("\"1\",m1,\"100\",\"2.5\",\"true\",\"x,y\",", .row(ingestRow(ts: 1, price: .float64(2.5), ok: true, channel: .string("x,y")))),
        ("1,héllo,100,,,,", .row(ingestRow(ts: 1, merchant: "héllo"))),
        ("1,m1,100,,,, spaced ", .row(ingestRow(ts: 1, note: .string(" spaced ")))),
        ("1,m1,100,,,,\r", .row(ingestRow(ts: 1))),
        ("1,m1,,,,,", .rejected("missing value for field 'amount_cents' (empty cell, no default, not nullable)")),
        (",m1,1,,,,", .rejected("missing value for field 'event_ts' (empty cell, no default, not nullable)")),
        ("1,m1,1.5,,,,", .rejected(#"field 'amount_cents': expected int64, got "1.5""#)),
        ("1,m1, 12,,,,", .rejected(#"field 'amount_cents': expected int64, got " 12""#)),
        ("1,m1,012,,,,", .rejected(#"field 'amount_cents': expected int64, got "012""#)),
        ("1,m1,+12,,,,", .rejected(#"field 'amount_cents': expected int64, got "+12""#)),
        ("1,m1,9223372036854775808,,,,", .rejected(#"field 'amount_cents': expected int64, got "9223372036854775808" (out of range)"#)),
        ("1,m1,1,abc,,,", .rejected(#"field 'price': expected float64, got "abc""#)),
        ("1,m1,1,NaN,,,", .rejected(#"field 'price': expected float64, got "NaN""#)),
        ("1,m1,1,1e400,,,", .rejected(#"field 'price': expected float64, got "1e400" (out of range)"#)),
        ("1,m1,1,,TRUE,,", .rejected(#"field 'ok': expected bool (true or false), got "TRUE""#)),
        ("1,m1,1,,1,,", .rejected(#"field 'ok': expected bool (true or false), got "1""#)),
        ("2026-01-01T00:00:00,m1,1,,,,", .rejected(#"field 'event_ts': expected timestamp (epoch ms or ISO-8601 with zone), got "2026-01-01T00:00:00""#)),
        ("1,m1,1,,,,,", .rejected("more than 7 cells, the header has 7")),
        ("1,m1,1,,,", .rejected("found 6 cells, the header has 7")),
        ("1", .rejected("found 1 cells, the header has 7")),
        ("1,\"m1,1,,,,", .rejected("unterminated quoted cell starting at column 3 (a quoted cell cannot span lines)")),
        ("1,m\"x,1,,,,", .rejected("unexpected '\"' in an unquoted cell at column 4")),
        ("1,\"m\"x,1,,,,", .rejected("expected ',' after the closing quote at column 6")),
    ]

    @Test(arguments: cases)
    func appliesTheIngestRules(_ line: String, expected: IngestExpectation) throws {
        var parser = try RecordParser(schema: ingestSchema, format: .csv)
        var batch = parser.makeBatch()
        #expect(Array(Self.header.utf8).withUnsafeBytes { parser.parse(line: $0, lineNumber: 1, into: &batch) } == nil)
        ingestCheckLine(&parser, Array(line.utf8), lineNumber: 9, expected: expected, seedRow: Array("1704067200150,m1,100,,,,".utf8))
    }

    @Test func invalidUTF8InAStringCell() throws {
        var parser = try RecordParser(schema: ingestSchema, format: .csv)
        var batch = parser.makeBatch()
        _ = Array(Self.header.utf8).withUnsafeBytes { parser.parse(line: $0, lineNumber: 1, into: &batch) }
        ingestCheckLine(&parser, Array("1,m".utf8) + [0xFF] + Array(",1,,,,".utf8), lineNumber: 2,
                  expected: .rejected("field 'merchant_id': invalid UTF-8 in string"), seedRow: Array("1,m1,100,,,,".utf8))
    }

    /// Header problems reject the whole input: the header line and every later line, fatally.
    static let badHeaders: [(String, String)] = [
        ("event_ts,merchant_id,amount_cents,colour", "CSV header: unknown field 'colour' (header cell 4)"),
        ("event_ts,merchant_id,amount_cents,", "CSV header: unknown field '' (header cell 4)"),
        ("event_ts,merchant_id,amount_cents,note,note", "CSV header: field 'note' appears twice (header cells 4 and 5)"),
        ("event_ts,merchant_id", "CSV header: no column for required field 'amount_cents' (not nullable, no default)"),
        ("event_ts, merchant_id,amount_cents", "CSV header: unknown field ' merchant_id' (header cell 2)"),
        ("event_ts,\"merchant_id,amount_cents", "CSV header: unterminated quoted cell starting at column 10 (a quoted cell cannot span lines)"),
        ("a,b,c,d,e,f,g,h", "CSV header: more than 7 cells, the schema has 7 fields"),
    ]

    @Test(arguments: badHeaders)
    func badHeaderRejectsTheWholeInput(_ header: String, reason: String) throws {
        var parser = try RecordParser(schema: ingestSchema, format: .csv)
        var batch = parser.makeBatch()
        let r1 = Array(header.utf8).withUnsafeBytes { parser.parse(line: $0, lineNumber: 1, into: &batch) }
        #expect(r1 == RejectedLine(line: 1, reason: reason, isFatal: true))
        let r2 = Array("1,m1,100".utf8).withUnsafeBytes { parser.parse(line: $0, lineNumber: 2, into: &batch) }
        #expect(r2 == RejectedLine(line: 2, reason: "input rejected: the CSV header on line 1 is unusable", isFatal: true))
        #expect(batch.count == 0)
    }

    @Test func headerMayReorderQuoteAndOmitOptionalColumns() throws {
        for header in ["amount_cents,event_ts,merchant_id", "\"amount_cents\",\"event_ts\",\"merchant_id\"", "\u{FEFF}amount_cents,event_ts,merchant_id"] {
            var parser = try RecordParser(schema: ingestSchema, format: .csv)
            var batch = parser.makeBatch()
            #expect(Array(header.utf8).withUnsafeBytes { parser.parse(line: $0, lineNumber: 1, into: &batch) } == nil)
            #expect(Array("5,1,m".utf8).withUnsafeBytes { parser.parse(line: $0, lineNumber: 2, into: &batch) } == nil)
            #expect(ingestRows(batch) == [ingestRow(ts: 1, merchant: "m", amount: 5)], "\(header)")
        }
    }
}

/// Whole inputs through the LineSplitter: physical line numbers, blank lines, CRLF, every
/// chunking.
@Suite struct IngestLineNumberTests {
    static func ingest(_ input: [UInt8], format: InputFormat, chunk: Int) throws -> (rows: [[Value]], rejected: [RejectedLine]) {
        var parser = try RecordParser(schema: ingestSchema, format: format)
        var batch = parser.makeBatch()
        var rejected: [RejectedLine] = []
        var splitter = LineSplitter()
        let handle = { (event: LineSplitter.Event) in
            switch event {
            case .line(let bytes, let number):
                if let r = parser.parse(line: bytes, lineNumber: number, into: &batch) { rejected.append(r) }
            case .overlong(let r):
                rejected.append(r)
            }
        }
        input.withUnsafeBytes { all in
            var at = 0
            while at < all.count {
                let end = min(all.count, at + chunk)
                splitter.feed(UnsafeRawBufferPointer(rebasing: all[at..<end]), handle)
                at = end
            }
        }
        splitter.finish(handle)
        return (ingestRows(batch), rejected)
    }

    @Test(arguments: [1, 2, 5, 64, 1 << 16])
    func jsonlLineNumbers(chunk: Int) throws {
        let input = """
        {"event_ts":1,"merchant_id":"a","amount_cents":1}\r
        \r

        {"event_ts":2,"merchant_id":"b"}
          \t
        {"event_ts":3,"merchant_id":"c","amount_cents":3,"x":1}
        {"event_ts":4,"merchant_id":"d","amount_cents":4}
        not json
        {"event_ts":5,"merchant_id":"e","amount_cents":5}
        """
        let (rows, rejected) = try Self.ingest(Array(input.utf8), format: .jsonl, chunk: chunk)
        #expect(rows == [ingestRow(ts: 1, merchant: "a", amount: 1), ingestRow(ts: 4, merchant: "d", amount: 4), ingestRow(ts: 5, merchant: "e", amount: 5)])
        #expect(rejected.map(\.description) == [
            "line 4: missing field 'amount_cents'",
            "line 6: unknown field 'x'",
            "line 8: invalid JSON at column 2: unexpected 'o', expected 'null'",
        ])
    }

    @Test(arguments: [1, 3, 7, 1 << 16])
    func csvLineNumbers(chunk: Int) throws {
        let input = "event_ts,merchant_id,amount_cents,note\r\n1,a,1,\"x,y\"\r\n\r\n2,b,,\n   \n3,c,3,\"unterminated\n4,d,4,ok\n"
        let (rows, rejected) = try Self.ingest(Array(input.utf8), format: .csv, chunk: chunk)
        #expect(rows == [ingestRow(ts: 1, merchant: "a", amount: 1, note: .string("x,y")), ingestRow(ts: 4, merchant: "d", amount: 4, note: .string("ok"))])
        #expect(rejected.map(\.description) == [
            "line 4: missing value for field 'amount_cents' (empty cell, no default, not nullable)",
            "line 6: unterminated quoted cell starting at column 7 (a quoted cell cannot span lines)",
        ])
    }
}

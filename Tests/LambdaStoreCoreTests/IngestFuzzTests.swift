import Testing
@testable import LambdaStoreCore
import LambdaStoreTestSupport

private func pick<T>(_ xs: [T], _ rng: inout SplitMix64) -> T { xs[Int(rng.next() % UInt64(xs.count))] }

private func mutate(_ line: inout [UInt8], _ rng: inout SplitMix64, alphabet: [UInt8]) {
    for _ in 0...(rng.next() % 3) {
        let pos = line.isEmpty ? 0 : Int(rng.next() % UInt64(line.count + 1))
        switch rng.next() % 4 {
        case 0: if pos < line.count { line[pos] = pick(alphabet, &rng) }
        case 1: line.insert(pick(alphabet, &rng), at: pos)
        case 2: if pos < line.count { line.remove(at: pos) }
        default: line = Array(line[..<pos])
        }
    }
}

@Suite struct IngestFuzzTests {
    /// JSON value texts, right and wrong for every field type.
    static let jsonValues: [String] = [
        "0", "-0", "1", "-1", "100", "9007199254740993", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "01", "1.5", "1.0", "-2.5e-3", "1e3", "1E+2", "1e400", "0.1", "123456789012345678901234567890",
        "true", "false", "null", "nul", "{}", "[]", "[1,2]", "{\"a\":[{}]}",
        "\"\"", "\"m1\"", "\"héllo\"", "\"a\\\"b\"", "\"\\n\\t\"", "\"\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\ud800\"",
        "\"2026-01-01T00:00:00Z\"", "\"2026-01-01T02:00:00.123+02:00\"", "\"2026-01-01T00:00:00\"", "\"2026-02-30T00:00:00Z\"",
        "\"1704067200150\"", "\"true\"", "\"12\"",
    ]
    static let keys: [String] = ingestSchema.fields.map(\.name) + ["colour", "merchant\\u005fid", "event_ts", "amount_cents"]
    static let spaces = ["", "", "", " ", "\t", "  "]

    static func randomJSONLine(_ rng: inout SplitMix64) -> [UInt8] {
        var s = pick(spaces, &rng) + "{"
        var used: [String] = []
        // Usually a plausible record: the required fields plus a few others.
        if rng.next() % 3 != 0 {
            used = ["event_ts", "merchant_id", "amount_cents"]
            s += "\"event_ts\":" + pick(["1704067200150", "\"2026-01-01T00:00:00Z\"", "-5"], &rng)
            s += ",\"merchant_id\":" + pick(["\"m1\"", "\"héllo\"", "\"a\\\"b\""], &rng)
            s += ",\"amount_cents\":" + pick(["100", "-9223372036854775808", "0"], &rng)
        }
        for _ in 0..<(rng.next() % 4) {
            let key = pick(keys, &rng)
            used.append(key)
            s += (s.hasSuffix("{") ? "" : ",") + pick(spaces, &rng) + "\"\(key)\"" + pick(spaces, &rng) + ":" + pick(spaces, &rng) + pick(jsonValues, &rng) + pick(spaces, &rng)
        }
        s += "}" + pick(spaces, &rng)
        if rng.next() % 6 == 0 { s = pick(["[1]", "\"x\"", "", "  ", "{", "null"], &rng) }
        return Array(s.utf8)
    }

    /// The JSONL fast path and the reference path agree on every line: the fast path never
    /// accepts a line the reference rejects, values are identical, and `parse(line:)` returns
    /// exactly the reference's decision (appending one row, or nothing).
    @Test func jsonlFastPathAgreesWithReference() throws {
        let seed: UInt64 = 0x15_0001
        var rng = SplitMix64(seed: seed)
        var parser = try RecordParser(schema: ingestSchema, format: .jsonl)
        var fast = try RecordParser(schema: ingestSchema, format: .jsonl)
        var batch = parser.makeBatch()
        let alphabet = Array("{}[]\":,\\0123456789.eE-+ tfnul".utf8) + [0x00, 0x0A, 0xC3, 0xFF]
        var fastAccepted = 0, accepted = 0, rejected = 0
        for round in 0..<20_000 {
            var line = Self.randomJSONLine(&rng)
            if rng.next() % 4 == 0 { mutate(&line, &rng, alphabet: alphabet) }
            let text = "\(String(decoding: line, as: UTF8.self).debugDescription) (seed \(seed), round \(round))"
            let ref = line.withUnsafeBytes { RecordParser.referenceRow($0, schema: ingestSchema) }
            let isBlank = line.withUnsafeBytes { TextScan.isBlank($0) }
            // The fast path alone.
            var fastBatch = fast.makeBatch()
            if line.withUnsafeBytes({ fast.parseJSONFast($0) }) {
                fastAccepted += 1
                line.withUnsafeBytes { fast.appendSlots($0, into: &fastBatch) }
                guard case .success(let values) = ref else { Issue.record("fast path accepted a line the reference rejects: \(text)"); continue }
                #expect(ingestRows(fastBatch) == [values], "\(text)")
            }
            // The public entry point.
            let before = batch.count, shape = ingestShape(batch)
            let result = line.withUnsafeBytes { parser.parse(line: $0, lineNumber: round + 1, into: &batch) }
            if isBlank {
                #expect(result == nil && batch.count == before, "\(text)")
                continue
            }
            switch ref {
            case .success(let values):
                accepted += 1
                #expect(result == nil, "\(text): \(String(describing: result))")
                #expect(batch.count == before + 1 && ingestRows(batch.slice(before..<batch.count)) == [values], "\(text)")
            case .failure(let e):
                rejected += 1
                #expect(result == RejectedLine(line: round + 1, reason: e.reason), "\(text)")
                #expect(ingestShape(batch) == shape, "\(text)")
            }
            if batch.count > 512 { batch = parser.makeBatch() }
        }
        #expect((try? batch.validate(against: ingestSchema)) != nil)
        // The generator exercises all three outcomes in earnest.
        #expect(fastAccepted > 1_000 && accepted > fastAccepted && rejected > 5_000, "\(fastAccepted) \(accepted) \(rejected)")
    }

    /// An independent, naive RFC 4180 reading of one CSV data line: the row, or nil.
    static func naiveCSVRow(_ raw: [UInt8], header: [Int]) -> [Value]? {
        var line = raw
        if line.last == 0x0D { line.removeLast() }
        var cells: [(bytes: [UInt8], quoted: Bool)] = []
        var cur: [UInt8] = [], quoted = false
        enum State { case start, unquoted, inQuotes, afterQuote }
        var state = State.start
        var k = 0
        while k < line.count {
            let b = line[k]
            switch state {
            case .start:
                if b == 0x22 { state = .inQuotes; quoted = true } else if b == 0x2C { cells.append((cur, false)); cur = [] } else { cur.append(b); state = .unquoted }
            case .unquoted:
                if b == 0x2C { cells.append((cur, false)); cur = []; state = .start } else if b == 0x22 { return nil } else { cur.append(b) }
            case .inQuotes:
                if b == 0x22 {
                    if k + 1 < line.count && line[k + 1] == 0x22 { cur.append(0x22); k += 1 } else { state = .afterQuote }
                } else { cur.append(b) }
            case .afterQuote:
                guard b == 0x2C else { return nil }
                cells.append((cur, true)); cur = []; quoted = false; state = .start
            }
            k += 1
        }
        if state == .inQuotes { return nil }
        cells.append((cur, quoted))
        guard cells.count == header.count else { return nil }
        var values = [Value?](repeating: nil, count: ingestSchema.fields.count)
        for (c, cell) in cells.enumerated() {
            let field = ingestSchema.fields[header[c]]
            if cell.bytes.isEmpty && !(cell.quoted && field.type == .string) { continue }
            guard let text = String(validating: cell.bytes, as: UTF8.self) else { return nil }
            let isJSONInteger: Bool = {
                let digits = text.hasPrefix("-") ? String(text.dropFirst()) : text
                return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber } && (digits == "0" || !digits.hasPrefix("0"))
            }()
            switch field.type {
            case .string: values[header[c]] = .string(text)
            case .int64:
                guard isJSONInteger, let v = Int64(text) else { return nil }
                values[header[c]] = .int64(v)
            case .float64:
                guard JSONNumber(text) != nil, let d = Double(text), d.isFinite else { return nil }
                values[header[c]] = .float64(d)
            case .bool:
                guard text == "true" || text == "false" else { return nil }
                values[header[c]] = .bool(text == "true")
            case .timestamp:
                // 0001-01-01T00:00:00Z … 9999-12-31T23:59:59.999Z (DESIGN: windows must hold it).
                guard let t = Timestamp.parse(text), t >= -62_135_596_800_000, t <= 253_402_300_799_999 else { return nil }
                values[header[c]] = .timestamp(t)
            }
        }
        var row: [Value] = []
        for (f, v) in values.enumerated() {
            let field = ingestSchema.fields[f]
            if let v { row.append(v) } else if let d = field.defaultValue { row.append(d) } else if field.nullable { row.append(.null) } else { return nil }
        }
        return row
    }

    static let csvCells: [String] = [
        "", "1", "-5", "1704067200150", "2026-01-01T00:00:00Z", "2026-01-01 01:00:00.5+01:00", "2026-01-01T00:00:00",
        "100", "-9223372036854775808", "9223372036854775808", "012", "1.5", "2.5e-3", "1e400", "NaN", " 1",
        "true", "false", "TRUE", "m1", "héllo", "a b", "\"\"", "\"q\"", "\"a,b\"", "\"a\"\"b\"", "\"\"\"\"", "\"1\"", "\"true\"",
        "\"unterminated", "x\"y", "\"a\"b",
    ]

    @Test func csvAgreesWithNaiveReference() throws {
        let seed: UInt64 = 0xC5_0001
        var rng = SplitMix64(seed: seed)
        let headers: [[Int]] = [[0, 1, 2, 3, 4, 5, 6], [2, 0, 1], [6, 5, 4, 3, 2, 1, 0], [0, 1, 2, 6]]
        let alphabet = Array(",\"0123456789.e-\r ".utf8) + [0xC3, 0xFF]
        var accepted = 0, rejected = 0
        for (h, header) in headers.enumerated() {
            var parser = try RecordParser(schema: ingestSchema, format: .csv)
            var batch = parser.makeBatch()
            let headerLine = header.map { ingestSchema.fields[$0].name }.joined(separator: ",")
            #expect(Array(headerLine.utf8).withUnsafeBytes { parser.parse(line: $0, lineNumber: 1, into: &batch) } == nil)
            for round in 0..<4_000 {
                var cells = header.map { _ in pick(Self.csvCells, &rng) }
                // Keep most lines plausible: put sane values in the required columns.
                if rng.next() % 2 == 0 {
                    for (c, f) in header.enumerated() {
                        switch f {
                        case 0: cells[c] = pick(["1", "2026-01-01T00:00:00Z"], &rng)
                        case 1: cells[c] = pick(["m1", "\"a,b\""], &rng)
                        case 2: cells[c] = pick(["7", "-1"], &rng)
                        default: if rng.next() % 2 == 0 { cells[c] = "" }
                        }
                    }
                }
                if rng.next() % 10 == 0 { cells.append(pick(Self.csvCells, &rng)) }
                if rng.next() % 10 == 0 && !cells.isEmpty { cells.removeLast() }
                var line = Array(cells.joined(separator: ",").utf8)
                if rng.next() % 5 == 0 { mutate(&line, &rng, alphabet: alphabet) }
                let text = "\(String(decoding: line, as: UTF8.self).debugDescription) (seed \(seed), header \(h), round \(round))"
                let expected = line.withUnsafeBytes { TextScan.isBlank($0) } ? nil : Self.naiveCSVRow(line, header: header)
                let before = batch.count, shape = ingestShape(batch)
                let result = line.withUnsafeBytes { parser.parse(line: $0, lineNumber: round + 2, into: &batch) }
                if let expected {
                    accepted += 1
                    #expect(result == nil, "\(text): \(String(describing: result))")
                    #expect(batch.count == before + 1 && ingestRows(batch.slice(before..<batch.count)) == [expected], "\(text)")
                } else if !line.withUnsafeBytes({ TextScan.isBlank($0) }) {
                    rejected += 1
                    #expect(result != nil && result?.isFatal == false, "\(text)")
                    #expect(ingestShape(batch) == shape, "\(text)")
                }
                if batch.count > 512 { batch = parser.makeBatch() }
            }
            #expect((try? batch.validate(against: ingestSchema)) != nil)
        }
        #expect(accepted > 3_000 && rejected > 3_000, "\(accepted) \(rejected)")
    }

    /// Random bytes never crash either format, and the batch stays consistent.
    @Test(arguments: InputFormat.allCases)
    func randomBytesNeverCrash(format: InputFormat) throws {
        let seed: UInt64 = 0xB17E5 &+ UInt64(format == .csv ? 1 : 0)
        var rng = SplitMix64(seed: seed)
        var parser = try RecordParser(schema: ingestSchema, format: format)
        var batch = parser.makeBatch()
        if format == .csv {
            let header = Array(ingestSchema.fields.map(\.name).joined(separator: ",").utf8)
            #expect(header.withUnsafeBytes { parser.parse(line: $0, lineNumber: 1, into: &batch) } == nil)
        }
        let alphabet = Array("{}[]\":,\\0123456789.eE-+ tfnul_a".utf8) + [0x00, 0x0D, 0x80, 0xC3, 0xA9, 0xFF]
        for round in 0..<10_000 {
            let line: [UInt8] = (0..<Int(rng.next() % 60)).map { _ in rng.next() % 2 == 0 ? pick(alphabet, &rng) : UInt8(truncatingIfNeeded: rng.next()) }
            let before = batch.count, shape = ingestShape(batch)
            let result = line.withUnsafeBytes { parser.parse(line: $0, lineNumber: round + 2, into: &batch) }
            let blank = line.withUnsafeBytes { TextScan.isBlank($0) }
            if result == nil && !blank {
                #expect(batch.count == before + 1, "seed \(seed), round \(round)")
            } else {
                #expect(ingestShape(batch) == shape, "seed \(seed), round \(round)")
            }
            #expect(result?.isFatal != true, "seed \(seed), round \(round)")
            #expect(Set(batch.columns.map(\.count)).count == 1, "seed \(seed), round \(round)")
        }
        #expect((try? batch.validate(against: ingestSchema)) != nil)
    }
}

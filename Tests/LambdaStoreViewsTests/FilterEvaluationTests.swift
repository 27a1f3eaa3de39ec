import LambdaStoreCore
import LambdaStoreTestSupport
import Testing
@testable import LambdaStoreViews

/// A test-side model of a filter: generated at random, rendered to text with random spacing
/// and keyword case, and evaluated row by row by ``FilterReference`` — independently of the
/// library's lexer, parser, type checker and kernels.
indirect enum FilterRefExpr {
    case and([FilterRefExpr])
    case or([FilterRefExpr])
    case not(FilterRefExpr)
    case cmp(FilterRefOperand, FilterComparison, FilterRefOperand)
    case isNull(String, negated: Bool)
    case inList(String, [FilterRefLiteral], negated: Bool)
    case pred(FilterRefOperand)
}

enum FilterRefOperand {
    case field(String)
    case literal(FilterRefLiteral)
}

/// A literal with its value as the reference sees it and its source text.
struct FilterRefLiteral {
    enum Value { case int(Int64), double(Double), string([UInt8]), bool(Bool) }
    var value: Value
    var text: String
}

/// A plain row-at-a-time three-valued evaluator (`nil` = unknown).
enum FilterReference {
    /// A non-null cell or literal reduced to what comparisons need.
    enum Cell { case int(Int64), double(Double), bytes([UInt8]) }

    static func cell(_ v: Value) -> Cell? {
        switch v {
        case .null: return nil
        case .int64(let x), .timestamp(let x): return .int(x)
        case .bool(let b): return .int(b ? 1 : 0)
        case .float64(let d): return .double(d)
        case .string(let s): return .bytes(Array(s.utf8))
        }
    }

    static func cell(_ l: FilterRefLiteral) -> Cell {
        switch l.value {
        case .int(let x): return .int(x)
        case .double(let d): return .double(d)
        case .string(let s): return .bytes(s)
        case .bool(let b): return .int(b ? 1 : 0)
        }
    }

    static func holds<T: Comparable>(_ a: T, _ op: FilterComparison, _ b: T) -> Bool {
        switch op {
        case .eq: a == b
        case .ne: a != b
        case .lt: a < b
        case .le: a <= b
        case .gt: a > b
        case .ge: a >= b
        }
    }

    static func compare(_ a: Cell, _ op: FilterComparison, _ b: Cell) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return holds(x, op, y)
        case (.int(let x), .double(let y)): return holds(Double(x), op, y)
        case (.double(let x), .int(let y)): return holds(x, op, Double(y))
        case (.double(let x), .double(let y)): return holds(x, op, y)
        case (.bytes(let x), .bytes(let y)):
            let order = x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
            return holds(order, op, 0)
        default:
            fatalError("the generator made an ill-typed comparison")
        }
    }

    static func operand(_ o: FilterRefOperand, _ batch: ColumnBatch, _ schema: Schema, _ row: Int) -> Cell? {
        switch o {
        case .field(let name): return cell(batch.columns[schema.index(of: name)!].value(at: row))
        case .literal(let l): return cell(l)
        }
    }

    static func eval(_ e: FilterRefExpr, _ batch: ColumnBatch, _ schema: Schema, _ row: Int) -> Bool? {
        switch e {
        case .and(let items):
            let vs = items.map { eval($0, batch, schema, row) }
            if vs.contains(false) { return false }
            return vs.contains(nil) ? nil : true
        case .or(let items):
            let vs = items.map { eval($0, batch, schema, row) }
            if vs.contains(true) { return true }
            return vs.contains(nil) ? nil : false
        case .not(let inner):
            return eval(inner, batch, schema, row).map { !$0 }
        case .cmp(let a, let op, let b):
            guard let x = operand(a, batch, schema, row), let y = operand(b, batch, schema, row) else { return nil }
            return compare(x, op, y)
        case .isNull(let name, let negated):
            let isNull = batch.columns[schema.index(of: name)!].isNull(row)
            return isNull != negated
        case .inList(let name, let items, let negated):
            guard let x = operand(.field(name), batch, schema, row) else { return nil }
            let hit = items.contains { compare(x, .eq, cell($0)) }
            return hit != negated
        case .pred(let o):
            guard let x = operand(o, batch, schema, row) else { return nil }
            guard case .int(let v) = x else { fatalError("non-bool predicate") }
            return v != 0
        }
    }
}

/// Random schemas' data, filters and their text.
struct FilterGenerator {
    var rng: SplitMix64

    static let schema = Schema(stream: "r", eventTime: "ts", fields: [
        Field(name: "ts", type: .timestamp, nullable: true),
        Field(name: "i", type: .int64, nullable: true),
        Field(name: "j", type: .int64),
        Field(name: "d", type: .float64, nullable: true),
        Field(name: "e", type: .float64, nullable: true),
        Field(name: "s", type: .string, nullable: true),
        Field(name: "u", type: .string),
        Field(name: "b", type: .bool, nullable: true),
        Field(name: "c", type: .bool),
        Field(name: "odd-name", type: .int64, nullable: true),
    ])

    static let ints: [Int64] = [-3, -2, -1, 0, 1, 2, 3, Int64.max, Int64.min]
    static let doubles: [(Double, String)] = [(-1.5, "-1.5"), (-1, "-1.0"), (0, "0.0"), (0.25, "0.25"), (1, "1e0"), (1.5, "15E-1"), (2, "2.0"), (3.5, "3.5")]
    static let cellDoubles: [Double] = [-1.5, -1, 0, -0.0, 0.25, 1, 1.5, 2, 3, .nan, .infinity, -.infinity, 9.2e18]
    static let strings: [String] = ["", "a", "ab", "abc", "abcd", "abcdefgh", "abcdefghi", "completed", "completee", "ü", "z", "it's"]
    static let times: [(Int64, String)] = [
        (-1000, "'1969-12-31T23:59:59Z'"), (0, "'1970-01-01T00:00:00.000Z'"), (1000, "'1970-01-01T01:00:01+01:00'"),
        (1_767_225_600_000, "'2026-01-01T00:00:00Z'"), (1_767_225_600_123, "'2026-01-01 00:00:00.123456z'"),
    ]

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { Double(rng.next() >> 11) / Double(1 << 53) < p }
    mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }

    /// A batch of `n` rows; each nullable column is null-free, all null, or 30 % null.
    mutating func batch(rows n: Int) -> ColumnBatch {
        var cols: [Column] = []
        for f in Self.schema.fields {
            let nullRate = f.nullable ? pick([0.0, 0.3, 0.3, 1.0]) : 0
            var c = Column(type: f.type)
            for _ in 0..<n {
                if chance(nullRate) { c.appendNull(); continue }
                switch f.type {
                case .int64: c.append(int: chance(0.9) ? Int64(below(7)) - 3 : pick(Self.ints))
                case .timestamp: c.append(int: chance(0.8) ? pick(Self.times).0 : Int64(below(3000)) - 1500)
                case .float64: c.append(double: chance(0.5) ? Double(below(9)) / 2 - 2 : pick(Self.cellDoubles))
                case .string: c.append(string: pick(Self.strings))
                case .bool: c.append(int: chance(0.5) ? 1 : 0)
                }
            }
            cols.append(c)
        }
        return ColumnBatch(schemaVersion: 1, columns: cols)
    }

    func quote(_ s: String) -> String { "'" + s.replacing("'", with: "''") + "'" }

    /// A literal that type-checks against a field of type `t`.
    mutating func literal(for t: FieldType) -> FilterRefLiteral {
        switch t {
        case .int64, .float64:
            if chance(0.5) {
                let v = chance(0.9) ? Int64(below(7)) - 3 : pick(Self.ints)
                return FilterRefLiteral(value: .int(v), text: String(v))
            }
            let (d, text) = pick(Self.doubles)
            return FilterRefLiteral(value: .double(d), text: text)
        case .timestamp:
            let (ms, iso) = pick(Self.times)
            if chance(0.5) { return FilterRefLiteral(value: .int(ms), text: iso) }
            let v = chance(0.5) ? ms : Int64(below(3000)) - 1500
            return FilterRefLiteral(value: .int(v), text: String(v))
        case .string:
            let s = pick(Self.strings)
            return FilterRefLiteral(value: .string(Array(s.utf8)), text: quote(s))
        case .bool:
            let b = chance(0.5)
            return FilterRefLiteral(value: .bool(b), text: pick(b ? ["true", "TRUE", "True"] : ["false", "FALSE"]))
        }
    }

    /// Fields a field of type `t` may be compared with.
    func partners(of t: FieldType) -> [Field] {
        Self.schema.fields.filter { g in
            switch (t, g.type) {
            case (.int64, .int64), (.int64, .float64), (.float64, .int64), (.float64, .float64), (.timestamp, .timestamp),
                 (.string, .string), (.bool, .bool): true
            default: false
            }
        }
    }

    mutating func kw(_ w: String) -> String { pick([w.lowercased(), w.uppercased(), w.prefix(1).uppercased() + w.dropFirst().lowercased()]) }
    mutating func sp() -> String { pick([" ", " ", "  ", "\t", "\n "]) }
    func fieldText(_ name: String) -> String { name == "odd-name" ? "\"odd-name\"" : name }

    /// A random filter of at most `depth` levels, as a reference tree and its source text.
    mutating func expr(depth: Int) -> (FilterRefExpr, String) {
        let leaf = depth == 0 || chance(0.35)
        if !leaf {
            switch below(3) {
            case 0, 1:
                let isAnd = below(2) == 0
                var items: [FilterRefExpr] = [], texts: [String] = []
                for _ in 0..<(2 + below(3)) {
                    let (e, t) = expr(depth: depth - 1)
                    items.append(e)
                    texts.append("(" + t + ")")
                }
                let text = texts.joined(separator: sp() + kw(isAnd ? "and" : "or") + sp())
                return (isAnd ? .and(items) : .or(items), text)
            default:
                let (e, t) = expr(depth: depth - 1)
                return (.not(e), kw("not") + sp() + "(" + t + ")")
            }
        }
        let f = pick(Self.schema.fields)
        let ft = fieldText(f.name)
        switch below(10) {
        case 0:
            let negated = chance(0.5)
            return (.isNull(f.name, negated: negated), ft + sp() + kw("is") + (negated ? sp() + kw("not") : "") + sp() + kw("null"))
        case 1, 2:
            var lits: [FilterRefLiteral] = []
            for _ in 0..<(1 + below(4)) { lits.append(literal(for: f.type)) }
            let negated = chance(0.4)
            let text = ft + sp() + (negated ? kw("not") + sp() : "") + kw("in") + sp() + "(" + lits.map(\.text).joined(separator: "," + sp()) + ")"
            return (.inList(f.name, lits, negated: negated), text)
        case 3 where f.type == .bool:
            return (.pred(.field(f.name)), ft)
        case 4:
            let g = pick(partners(of: f.type))
            let op = pick(FilterComparison.allCases)
            let opText = op == .ne && chance(0.5) ? "<>" : op.rawValue
            return (.cmp(.field(f.name), op, .field(g.name)), ft + sp() + opText + sp() + fieldText(g.name))
        default:
            let lit = literal(for: f.type)
            let op = pick(FilterComparison.allCases)
            let opText = op == .ne && chance(0.5) ? "<>" : op.rawValue
            if chance(0.25) {   // literal first
                return (.cmp(.literal(lit), op, .field(f.name)), lit.text + sp() + opText + sp() + ft)
            }
            return (.cmp(.field(f.name), op, .literal(lit)), ft + sp() + opText + sp() + lit.text)
        }
    }
}

@Suite struct FilterEvaluationTests {
    @Test(arguments: [UInt64(0xF117_0001), 0xF117_0002, 0xF117_0003])
    func matchesTheNaiveReference(seed: UInt64) throws {
        var gen = FilterGenerator(seed: seed)
        let schema = FilterGenerator.schema
        var batches: [ColumnBatch] = []
        for _ in 0..<6 { batches.append(gen.batch(rows: gen.below(70))) }
        batches.append(gen.batch(rows: 0))
        var selection: [UInt8] = [9, 9, 9]
        var passed = 0, total = 0
        for round in 0..<150 {
            let (ref, text) = gen.expr(depth: 3)
            let compiled = try CompiledFilter(text, schema: schema)
            let recompiled = try CompiledFilter(compiled.canonicalText, schema: schema)
            for (k, batch) in batches.enumerated() {
                compiled.evaluate(batch, into: &selection)
                #expect(selection.count == batch.count)
                // The same rows with their strings dictionary-encoded select the same rows.
                #expect(compiled.evaluate(DictionaryTwin.batch(batch)) == selection, "seed \(seed) round \(round) batch \(k): dictionary form, \(text)")
                let again = recompiled.evaluate(batch)
                for row in 0..<batch.count {
                    let want: UInt8 = FilterReference.eval(ref, batch, schema, row) == true ? 1 : 0
                    if selection[row] != want || again[row] != want {
                        Issue.record("seed \(seed) round \(round) batch \(k) row \(row): filter \(text) → \(compiled.canonicalText) gave \(selection[row])/\(again[row]), reference \(want)")
                        return
                    }
                    passed += Int(want)
                    total += 1
                }
            }
        }
        // The generator must exercise both outcomes.
        #expect(passed > total / 20 && passed < total - total / 20, "seed \(seed): \(passed) of \(total) rows passed")
    }

    @Test func threeValuedTruthTables() throws {
        let schema = Schema(stream: "t", eventTime: "ts", fields: [
            Field(name: "ts", type: .timestamp), Field(name: "p", type: .bool, nullable: true), Field(name: "q", type: .bool, nullable: true),
        ])
        // Rows: (p, q) over {true, false, null}², in the order TT TF TN FT FF FN NT NF NN.
        let values: [Bool?] = [true, false, nil]
        var ts = Column(type: .timestamp), p = Column(type: .bool), q = Column(type: .bool)
        for a in values {
            for b in values {
                ts.append(int: 0)
                if let a { p.append(int: a ? 1 : 0) } else { p.appendNull() }
                if let b { q.append(int: b ? 1 : 0) } else { q.appendNull() }
            }
        }
        let batch = ColumnBatch(schemaVersion: 1, columns: [ts, p, q])
        let expected: [(String, [UInt8])] = [
            ("p AND q", [1, 0, 0, 0, 0, 0, 0, 0, 0]),
            ("p OR q", [1, 1, 1, 1, 0, 0, 1, 0, 0]),
            ("NOT p", [0, 0, 0, 1, 1, 1, 0, 0, 0]),
            ("NOT (p AND q)", [0, 1, 0, 1, 1, 1, 0, 1, 0]),      // false AND unknown = false
            ("NOT (p OR q)", [0, 0, 0, 0, 1, 0, 0, 0, 0]),       // true OR unknown = true
            ("NOT NOT p", [1, 1, 1, 0, 0, 0, 0, 0, 0]),
            ("p IS NULL", [0, 0, 0, 0, 0, 0, 1, 1, 1]),
            ("NOT (q IS NOT NULL)", [0, 0, 1, 0, 0, 1, 0, 0, 1]),
            ("p = q", [1, 0, 0, 0, 1, 0, 0, 0, 0]),
            ("NOT (p = q)", [0, 1, 0, 1, 0, 0, 0, 0, 0]),
            ("p != q OR p IS NULL", [0, 1, 0, 1, 0, 0, 1, 1, 1]),
            ("p IN (true)", [1, 1, 1, 0, 0, 0, 0, 0, 0]),
            ("NOT (p NOT IN (true))", [1, 1, 1, 0, 0, 0, 0, 0, 0]),
            ("p < q", [0, 0, 0, 1, 0, 0, 0, 0, 0]),
            ("true", [1, 1, 1, 1, 1, 1, 1, 1, 1]),
            ("NOT true OR false", [0, 0, 0, 0, 0, 0, 0, 0, 0]),
        ]
        for (text, want) in expected {
            #expect(try CompiledFilter(text, schema: schema).evaluate(batch) == want, "\(text)")
        }
    }

    /// Literal lengths 0…19 cover every path of the equality kernel (empty, 1–3, 4–7, 8–16
    /// bytes, longer); the reversed order puts short strings last, where the branch-free
    /// kernel clamps its loads to the end of the bytes.
    @Test(arguments: [false, true])
    func stringEqualityAtEveryLengthAndOffset(reversed: Bool) throws {
        let schema = Schema(stream: "t", eventTime: "ts", fields: [Field(name: "ts", type: .timestamp), Field(name: "s", type: .string, nullable: true)])
        var words: [String] = []
        for n in 0..<20 { words.append(String(repeating: "x", count: n)); words.append(String(repeating: "x", count: max(0, n - 1)) + "y") }
        if reversed { words.reverse() }
        var ts = Column(type: .timestamp), s = Column(type: .string)
        for (k, w) in words.enumerated() {
            ts.append(int: 0)
            if k % 7 == 3 { s.appendNull() } else { s.append(string: w) }
        }
        let batch = ColumnBatch(schemaVersion: 1, columns: [ts, s])
        for w in words {
            let sel = try CompiledFilter("s = '\(w)'", schema: schema).evaluate(batch)
            let ne = try CompiledFilter("s <> '\(w)'", schema: schema).evaluate(batch)
            for (r, other) in words.enumerated() {
                let isNull = r % 7 == 3
                #expect(sel[r] == (!isNull && other == w ? 1 : 0), "s = '\(w)' at row \(r)")
                #expect(ne[r] == (!isNull && other != w ? 1 : 0), "s <> '\(w)' at row \(r)")
            }
        }
        // A literal longer than all the bytes of the column.
        #expect(try CompiledFilter("s = '\(String(repeating: "x", count: 500))'", schema: schema).evaluate(batch).allSatisfy { $0 == 0 })
    }

    @Test func emptyStringColumnsAndLiterals() throws {
        let schema = Schema(stream: "t", eventTime: "ts", fields: [
            Field(name: "ts", type: .timestamp), Field(name: "s", type: .string), Field(name: "t", type: .string),
        ])
        let batch = ColumnBatch(schemaVersion: 1, columns: [
            Column.constant(.timestamp(0), type: .timestamp, count: 3),
            Column.constant(.string(""), type: .string, count: 3),
            Column.constant(.string(""), type: .string, count: 3),
        ])
        #expect(try CompiledFilter("s = ''", schema: schema).evaluate(batch) == [1, 1, 1])
        #expect(try CompiledFilter("s = 'a'", schema: schema).evaluate(batch) == [0, 0, 0])
        #expect(try CompiledFilter("s < 'a'", schema: schema).evaluate(batch) == [1, 1, 1])
        #expect(try CompiledFilter("s = t AND s >= t", schema: schema).evaluate(batch) == [1, 1, 1])
        #expect(try CompiledFilter("s IN ('a', '')", schema: schema).evaluate(batch) == [1, 1, 1])
    }

    @Test func typeErrorsCarryTheirPosition() {
        let schema = DefinitionFixtures.orders
        let cases: [(String, String)] = [
            ("status = 5", "filter: position 1: cannot compare string field 'status' with integer 5"),
            ("amount_cents > 0 AND status = 5", "filter: position 22: cannot compare string field 'status' with integer 5"),
            ("amount_cents = 'x'", "filter: position 1: cannot compare int64 field 'amount_cents' with string 'x'"),
            ("amount_cents = true", "filter: position 1: cannot compare int64 field 'amount_cents' with boolean true"),
            ("event_ts > 1.5", "filter: position 1: cannot compare timestamp field 'event_ts' with float 1.5"),
            ("event_ts > 'yesterday'", "filter: position 12: 'yesterday' is not an ISO-8601 timestamp"),
            ("event_ts > '2026-01-01T00:00:00'", "filter: position 12: '2026-01-01T00:00:00' is not an ISO-8601"),
            ("status = amount_cents", "filter: position 1: cannot compare string field 'status' with int64 field 'amount_cents'"),
            ("event_ts = amount_cents", "filter: position 1: cannot compare timestamp field 'event_ts' with int64 field 'amount_cents'"),
            ("5 < status", "filter: position 1: cannot compare string field 'status' with integer 5"),
            ("status IN ('a', 3)", "filter: position 17: cannot compare string field 'status' with integer 3"),
            ("status", "filter: position 1: string field 'status' is not a predicate"),
            ("NOT amount_cents", "filter: position 5: int64 field 'amount_cents' is not a predicate"),
            ("Status = 'x'", "filter: position 1: unknown field 'Status'"),
            ("status = 'x' OR nope IS NULL", "filter: position 17: unknown field 'nope'"),
        ]
        for (text, message) in cases {
            do {
                _ = try CompiledFilter(text, schema: schema)
                Issue.record("\(text) compiled")
            } catch {
                #expect(error.code == .view)
                #expect(error.message.hasPrefix(message), "\(text): \(error.message)")
            }
        }
    }

    /// ISO-8601 literals go through Core's `Timestamp.parseISO8601`, so a filter accepts
    /// exactly the timestamps ingest accepts (format-spec.md §3a.4): each literal must select
    /// the row at its instant and not the rows a millisecond either side.
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)), ("1970-01-01T00:00:00.001Z", 1), ("1969-12-31T23:59:59.999Z", -1),
        ("2026-01-01T00:00:00Z", 1_767_225_600_000), ("2026-01-01T02:00:00+02:00", 1_767_225_600_000),
        ("2025-12-31T19:00:00-0500", 1_767_225_600_000), ("2026-01-01t00:00z", 1_767_225_600_000),
        ("2026-01-01T00:00Z", 1_767_225_600_000), ("2026-01-01T01:30+01:30", 1_767_225_600_000),
        ("2026-01-01 00:00:00.5Z", 1_767_225_600_500), ("2026-01-01T00:00:00.123999999Z", 1_767_225_600_123),
        ("2024-02-29T12:00:00Z", 1_709_208_000_000), ("2000-03-01T00:00:00Z", 951_868_800_000), ("0001-01-01T00:00:00Z", -62_135_596_800_000),
        ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
    ])
    func isoTimestampLiterals(text: String, millis: Int64) throws {
        let schema = Schema(stream: "t", eventTime: "ts", fields: [Field(name: "ts", type: .timestamp)])
        let batch = ColumnBatch(schemaVersion: 1, columns: [Column(type: .timestamp, count: 3, nullCount: 0, validity: [], ints: [millis - 1, millis, millis + 1])])
        #expect(try CompiledFilter("ts = '\(text)'", schema: schema).evaluate(batch) == [0, 1, 0], "\(text)")
        #expect(try CompiledFilter("ts IN ('\(text)')", schema: schema).evaluate(batch) == [0, 1, 0], "\(text)")
        #expect(Timestamp.parseISO8601(text) == millis)
    }

    @Test(arguments: [
        "2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-01-32T00:00:00Z",
        "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00.5Z",
        "2026-01-01T00:00:00.1234567890Z", "2026-01-01T00:00:00+2:00", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00Z ",
        "26-01-01T00:00:00Z", "2026/01/01T00:00:00Z", "1767225600000", "",
    ])
    func badIsoTimestampLiterals(text: String) {
        let schema = Schema(stream: "t", eventTime: "ts", fields: [Field(name: "ts", type: .timestamp)])
        do {
            _ = try CompiledFilter("ts = '\(text)'", schema: schema)
            Issue.record("'\(text)' was accepted as a timestamp literal")
        } catch {
            #expect(error.code == .view)
            #expect(error.message.hasPrefix("filter: position 6: '\(text)' is not an ISO-8601 timestamp"), "\(error.message)")
        }
    }

    @Test func timestampLiteralsCompareAsEpochMillis() throws {
        let schema = DefinitionFixtures.orders
        var cols = schema.fields.map { Column(type: $0.type) }
        for t in [Int64(1_767_225_599_999), 1_767_225_600_000, 1_767_225_600_001] {
            cols[0].append(int: t)
            cols[1].append(string: "m")
            cols[2].append(string: "completed")
            cols[3].append(int: 1)
            cols[4].appendNull()
        }
        let batch = ColumnBatch(schemaVersion: 1, columns: cols)
        #expect(try CompiledFilter("event_ts >= '2026-01-01T00:00:00Z'", schema: schema).evaluate(batch) == [0, 1, 1])
        #expect(try CompiledFilter("event_ts < '2026-01-01T01:00:00+01:00'", schema: schema).evaluate(batch) == [1, 0, 0])
        #expect(try CompiledFilter("event_ts IN (1767225600001, '2025-12-31T23:59:59.999Z')", schema: schema).evaluate(batch) == [1, 0, 1])
        // channel is null in every row: comparisons are unknown, IS NULL is true.
        #expect(try CompiledFilter("channel = 'web' OR channel != 'web'", schema: schema).evaluate(batch) == [0, 0, 0])
        #expect(try CompiledFilter("channel IS NULL AND status = 'completed'", schema: schema).evaluate(batch) == [1, 1, 1])
        #expect(try CompiledFilter("channel NOT IN ('x')", schema: schema).evaluate(batch) == [0, 0, 0])
    }

    @Test func largeIntegersCompareExactlyWithIntegersAndAsDoublesWithFloats() throws {
        let schema = Schema(stream: "t", eventTime: "ts", fields: [Field(name: "ts", type: .timestamp), Field(name: "i", type: .int64)])
        let big: Int64 = 9_007_199_254_740_993   // 2^53 + 1: not a double
        let batch = ColumnBatch(schemaVersion: 1, columns: [
            Column.constant(.timestamp(0), type: .timestamp, count: 2),
            Column(type: .int64, count: 2, nullCount: 0, validity: [], ints: [big, big - 1]),
        ])
        #expect(try CompiledFilter("i = 9007199254740993", schema: schema).evaluate(batch) == [1, 0])
        #expect(try CompiledFilter("i > 9007199254740992", schema: schema).evaluate(batch) == [1, 0])
        // Against a float, both convert to 2^53 (round to nearest even).
        #expect(try CompiledFilter("i = 9007199254740992.0", schema: schema).evaluate(batch) == [1, 1])
        #expect(try CompiledFilter("i IN (9007199254740993, 1.5)", schema: schema).evaluate(batch) == [1, 0])
    }

    @Test func longInListsUseTheSearchPath() throws {
        let schema = Schema(stream: "t", eventTime: "ts", fields: [Field(name: "ts", type: .timestamp), Field(name: "i", type: .int64, nullable: true)])
        var ts = Column(type: .timestamp), i = Column(type: .int64)
        for v in 0..<100 {
            ts.append(int: 0)
            if v % 10 == 9 { i.appendNull() } else { i.append(int: Int64(v)) }
        }
        let batch = ColumnBatch(schemaVersion: 1, columns: [ts, i])
        let list = stride(from: 0, to: 100, by: 3).map(String.init).joined(separator: ", ")
        let sel = try CompiledFilter("i IN (\(list))", schema: schema).evaluate(batch)
        let notSel = try CompiledFilter("i NOT IN (\(list))", schema: schema).evaluate(batch)
        for v in 0..<100 {
            let isNull = v % 10 == 9
            #expect(sel[v] == (!isNull && v % 3 == 0 ? 1 : 0))
            #expect(notSel[v] == (!isNull && v % 3 != 0 ? 1 : 0))
        }
    }
}

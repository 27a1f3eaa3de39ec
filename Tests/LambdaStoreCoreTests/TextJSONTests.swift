import Testing
@testable import LambdaStoreCore
import LambdaStoreTestSupport

/// Parses `bytes`, returning the value or the error.
private func parseResult(_ bytes: [UInt8]) -> Result<JSONValue, LambdaStoreError> {
    do { return .success(try JSONValue.parse(bytes)) } catch { return .failure(error) }
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct TextJSONParserTests {
    /// JSONTestSuite-style `y_` cases: each must parse.
    static let valid: [String] = [
        "[[]   ]", "[\"\"]", "[]", "[\"a\"]", "[false]", "[null, 1, \"1\", {}]", "[null]", "[1\n]", " [1]",
        "[1,null,null,null,2]", "[2] ", "[123e65]", "[0e+1]", "[0e1]", "[ 4]",
        "[-0.000000000000000000000000000000000000000000000000000000000000000000000000000001]",
        "[20e1]", "[-0]", "[-123]", "[-1]", "[1E22]", "[1E-2]", "[1E+2]", "[123e45]", "[123.456e78]",
        "[1e-2]", "[1e+2]", "[123]", "[123.456789]", "[100000000000000000000]", "[1e400]", "[-1e-400]",
        "{\"asd\":\"sdf\", \"dfg\":\"fgh\"}", "{\"asd\":\"sdf\"}", "{}", "{\"\":0}", "{\"foo\\u0000bar\": 42}",
        "{ \"min\": -1.0e+28, \"max\": 1.0e+28 }", "{\"x\":[{\"id\": \"xxx\"}], \"id\": \"xxx\"}", "{\"a\":[]}",
        "{\"title\":\"\\u041f\\u043e\\u043b\\u0442\\u043e\\u0440\\u0430\" }", "{\n\"a\": \"b\"\n}",
        "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11,\"l\":12,\"m\":13,\"n\":14,\"o\":15,\"p\":16,\"q\":17,\"r\":18}",
        "[\"\\u0060\\u012a\\u12AB\"]", "[\"\\uD801\\udc37\"]", "[\"\\ud83d\\ude39\\ud83d\\udc8d\"]",
        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[\"\\\\u0000\"]", "[\"\\\"\"]", "[\"a/*b*/c/*d//e\"]", "[\"\\\\a\"]",
        "[\"\\u0012\"]", "[\"\\uFFFF\"]", "[\"asd\"]", "[ \"asd\"]", "[\"\\uDBFF\\uDFFF\"]", "[\"new\\u00A0line\"]",
        "[\"\u{10FFFF}\"]", "[\"\u{FFFF}\"]", "[\"\\u0000\"]", "[\"\\u002c\"]", "[\"π\"]", "[\"\u{1BFFF}\"]", "[\"asd \"]",
        "\" \"", "[\"\\uD834\\uDd1e\"]", "[\"\\u0821\"]", "[\"\\u2028\"]", "[\"\\u2029\"]", "[\"\\uFDD0\"]", "[\"\\uFFFE\"]",
        "[\"€𝄞\"]", "[\"a\u{7F}b\"]", "\"asd\"", "false", "null", "true", "42", "-0.1", "\"\"", " [] ", "[]\n", "\t[]\r\n",
        "[true]", "[\"日本語\"]", "{\"a\":{\"b\":{\"c\":[[[]]]}}}",
        String(repeating: "[", count: 128) + String(repeating: "]", count: 128),
    ]

    @Test(arguments: valid)
    func acceptsValid(_ text: String) {
        let r = parseResult(bytes(text))
        if case .failure(let e) = r { Issue.record("rejected \(text.debugDescription): \(e)") }
    }

    /// `n_` cases with the 1-based column the error must name.
    static let invalid: [(String, Int)] = [
        ("[1 true]", 4), ("[a]", 2), ("[\"\": 1]", 4), ("[\"\"],", 5), ("[,1]", 2), ("[1,,2]", 4),
        ("[\"x\",,]", 6), ("[\"x\"]]", 6), ("[\"\",]", 5), ("[\"x\"", 5), ("[x", 2), ("[3[4]]", 3), ("[1:2]", 3),
        ("[,]", 2), ("[-]", 3), ("[   , \"\"]", 5), ("[1,]", 4), ("[1,,]", 4), ("[*]", 2), ("[\"\"", 4), ("[1,", 4),
        ("[{}", 4), ("[fals]", 6), ("[nul]", 5), ("[tru]", 5), ("[++1234]", 2), ("[+1]", 2), ("[+Inf]", 2),
        ("[-01]", 3), ("[-1.0.]", 6), ("[-2.]", 5), ("[-NaN]", 3), ("[.-1]", 2), ("[.2e-3]", 2), ("[0.1.2]", 5),
        ("[0.3e+]", 7), ("[0.3e]", 6), ("[0.e1]", 4), ("[0E+]", 5), ("[0E]", 4), ("[0e+]", 5), ("[1.0e-]", 7),
        ("[1 000.0]", 4), ("[1eE2]", 4), ("[2.e3]", 4), ("[Inf]", 2), ("[NaN]", 2), ("[012]", 2), ("[-012]", 3),
        ("[1.]", 4), ("[.123]", 2), ("[1e1.0]", 5), ("[0x1]", 3), ("[Infinity]", 2), ("[-Infinity]", 3), ("[1ea]", 4),
        ("[1.2a-3]", 5), ("[- 1]", 3), ("[\u{A0}1]", 2), ("{\"a\" b}", 6), ("{key: 'value'}", 2),
        ("{\"a\":\"a\" 123}", 10), ("{\"a\" \"b\"}", 6), ("{\"a\":}", 6), ("{\"a\"", 5), ("{:\"b\"}", 2),
        ("{\"a\":\"b\",}", 10), ("{\"a\":\"b\"}/**/", 10), ("{\"a\":\"b\"}#", 10), ("{\"a\":\"b\"}}", 10),
        ("{\"a\":\"a", 6), ("{1:1}", 2), ("{null:null}", 2), ("{'a':0}", 2), ("{\"a\":/*c*/\"b\"}", 6),
        ("{\"a\":true} \"x\"", 12), ("{,}", 2), ("{\"x\", null}", 5), ("{\"a\":1,\"a\":2}", 8),
        ("{\"b\":{\"a\":1,\"a\":2}}", 13), ("[\"\u{01}\"]", 3), ("[\"a\tb\"]", 4), ("[\"\\uD800\"]", 3),
        ("[\"\\uDD1E\"]", 3), ("[\"\\uD800\\u0041\"]", 9), ("[\"\\uD800\\\"]", 3), ("[\"\\u00A\"]", 8), ("[\"\\u\"]", 5),
        ("[\"\\uqqqq\"]", 5), ("[\"\\x\"]", 3), ("[\"\\'\"]", 3), ("[\"\\a\"]", 3), ("[\"\\ \"]", 3), ("[\"\\0\"]", 3),
        ("['single quote']", 2), ("", 1), (" ", 2), ("[", 2), ("[1", 3), ("{", 2), ("\"", 1), ("nul", 4),
        ("tru", 4), ("1 2", 3), ("[1]x", 4), ("\"\\", 2), ("[1]\u{0C}", 4), ("[True]", 2), ("-", 2), ("2.", 3),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidWithColumn(_ text: String, column: Int) {
        let r = parseResult(bytes(text))
        switch r {
        case .success(let v): Issue.record("accepted \(text.debugDescription) as \(v)")
        case .failure(let e):
            #expect(e.code == .invalidArgument)
            #expect(e.message.hasPrefix("invalid JSON at column \(column): "), "\(text.debugDescription): \(e.message)")
            #expect(e.offset == Int64(column - 1))
        }
    }

    /// Raw bytes that are not valid UTF-8 or carry a BOM: (bytes, column).
    static let invalidBytes: [([UInt8], Int)] = [
        ([0x5B, 0xE9, 0x5D], 2),                                  // [é] in Latin-1
        ([0x5B, 0x22, 0xFF, 0x22, 0x5D], 3),                      // ["\xFF"]
        ([0x5B, 0x22, 0xC0, 0xAF, 0x22, 0x5D], 3),                // overlong '/'
        ([0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D], 3),          // UTF-8 encoded surrogate
        ([0x5B, 0x22, 0xF4, 0x90, 0x80, 0x80, 0x22, 0x5D], 3),    // above U+10FFFF
        ([0x5B, 0x22, 0xE2, 0x82, 0x22, 0x5D], 3),                // truncated sequence
        ([0x22, 0x61, 0x00, 0x22], 3),                            // raw NUL in a string
        ([0xEF, 0xBB, 0xBF, 0x5B, 0x5D], 1),                      // byte-order mark
        ([0x5B, 0x00, 0x5D], 2),
    ]

    @Test(arguments: invalidBytes)
    func rejectsInvalidBytes(_ input: [UInt8], column: Int) {
        switch parseResult(input) {
        case .success(let v): Issue.record("accepted \(input) as \(v)")
        case .failure(let e): #expect(e.message.hasPrefix("invalid JSON at column \(column): "), "\(input): \(e.message)")
        }
    }

    @Test func multiLineErrorsNameLineAndColumn() {
        guard case .failure(let e) = parseResult(bytes("{\n  \"a\": 1,\n  \"b\" 2\n}")) else { Issue.record("accepted"); return }
        #expect(e.message == "invalid JSON at line 3, column 7: unexpected '2', expected ':' after object key")
    }

    @Test func depthLimit() {
        let ok = String(repeating: "[", count: JSONValue.nestingDepthMax) + String(repeating: "]", count: JSONValue.nestingDepthMax)
        #expect((try? JSONValue.parse(ok)) != nil)
        let deep = String(repeating: "[", count: JSONValue.nestingDepthMax + 1) + String(repeating: "]", count: JSONValue.nestingDepthMax + 1)
        guard case .failure(let e) = parseResult(bytes(deep)) else { Issue.record("accepted"); return }
        #expect(e.message == "invalid JSON at column \(JSONValue.nestingDepthMax + 1): nesting deeper than \(JSONValue.nestingDepthMax)")
        // A depth bomb (100 000 opening brackets, objects and arrays mixed) fails fast without overflowing the stack.
        var bomb: [UInt8] = []
        for k in 0..<100_000 { bomb.append(contentsOf: k % 2 == 0 ? Array("[".utf8) : Array("{\"a\":".utf8)) }
        guard case .failure = parseResult(bomb) else { Issue.record("accepted the bomb"); return }
    }

    @Test func valuesAreDecodedExactly() throws {
        let v = try JSONValue.parse("{\"amount\": 9007199254740993, \"neg\": -9223372036854775808, \"big\": 9223372036854775808, \"f\": 0.1, \"s\": \"a\\u00e9\\ud83d\\ude00\\n\\\"\", \"e\": 1e3, \"z\": -0}")
        #expect(v["amount"]?.int64Value == 9_007_199_254_740_993)
        #expect(v["neg"]?.int64Value == Int64.min)
        #expect(v["big"]?.int64Value == nil)                    // out of range: not silently rounded
        #expect(v["big"]?.doubleValue == 9_223_372_036_854_775_808.0)
        #expect(v["f"]?.doubleValue == 0.1)
        #expect(v["f"]?.int64Value == nil)
        #expect(v["e"]?.int64Value == nil)                      // 1e3 is not an integer literal
        #expect(v["e"]?.doubleValue == 1000)
        #expect(v["z"]?.int64Value == 0)
        #expect(v["s"]?.stringValue == "aé😀\n\"")
        #expect(v.objectValue?.map(\.key) == ["amount", "neg", "big", "f", "s", "e", "z"])   // order kept
        #expect(v["missing"] == nil)
    }

    /// Correct rounding: the fast (Clinger) path and the fallback agree with `Double(String)`
    /// (the standard library's correctly rounded conversion) on random decimal texts.
    @Test func floatsParseCorrectlyRounded() {
        let seed: UInt64 = 0xF10A7
        var rng = SplitMix64(seed: seed)
        for _ in 0..<20_000 {
            var s = rng.next() % 2 == 0 ? "-" : ""
            let intDigits = Int(rng.next() % 20)
            s += intDigits == 0 ? "0" : String(1 + rng.next() % 9) + String((1..<intDigits).map { _ in Character(String(rng.next() % 10)) })
            if rng.next() % 2 == 0 { s += "." + String((0...(rng.next() % 20)).map { _ in Character(String(rng.next() % 10)) }) }
            if rng.next() % 2 == 0 { s += "e" + (rng.next() % 2 == 0 ? "-" : "") + String(rng.next() % 330) }
            guard let n = JSONNumber(s) else { Issue.record("generator made a non-number \(s) (seed \(seed))"); return }
            let expected = Double(s)
            #expect(n.doubleValue.bitPattern == expected?.bitPattern, "\(s) (seed \(seed))")
        }
        // Every double's shortest text reads back to the same bits.
        for _ in 0..<20_000 {
            let d = Double(bitPattern: rng.next())
            guard d.isFinite, let n = JSONNumber(d) else { continue }
            #expect(n.doubleValue.bitPattern == d.bitPattern, "\(d) (seed \(seed))")
        }
    }

    /// Mutated valid documents and random bytes never crash the parser; anything it accepts
    /// serializes and parses back to an equal value; every error's column lies inside the input.
    @Test func fuzzNeverCrashes() {
        let seed: UInt64 = 0x5EED_0001
        var rng = SplitMix64(seed: seed)
        let corpus = Self.valid.map { Array($0.utf8) } + Self.invalid.map { Array($0.0.utf8) }
        let alphabet = Array("{}[]\",:\\/-+.0123456789eEtrufalsn u\t\n".utf8) + [0x00, 0x80, 0xC3, 0xA9, 0xED, 0xF4, 0xFF]
        var accepted = 0
        for round in 0..<15_000 {
            var input: [UInt8]
            if round % 10 == 0 {
                input = (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                input = corpus[Int(rng.next() % UInt64(corpus.count))]
                for _ in 0...(rng.next() % 4) {
                    let pos = input.isEmpty ? 0 : Int(rng.next() % UInt64(input.count + 1))
                    switch rng.next() % 5 {
                    case 0: if pos < input.count { input[pos] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                    case 1: input.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: pos)
                    case 2: if pos < input.count { input.remove(at: pos) }
                    case 3: input = Array(input[..<pos])
                    default: input.insert(contentsOf: input[pos...].prefix(8), at: pos)
                    }
                }
            }
            switch parseResult(input) {
            case .success(let v):
                accepted += 1
                let again = parseResult(Array(v.serialized().utf8))
                #expect(again == .success(v), "round trip of \(input) (seed \(seed), round \(round))")
            case .failure(let e):
                let offset = Int(e.offset ?? -1)
                #expect(offset >= 0 && offset <= input.count, "\(input): \(e) (seed \(seed), round \(round))")
            }
        }
        #expect(accepted > 500)   // the mutations keep a fair share valid, so round trips are exercised
    }
}

@Suite struct TextJSONWriterTests {
    @Test func writesCompactDeterministicText() {
        let v: JSONValue = .object([
            JSONMember("b", .int(9_007_199_254_740_993)),
            JSONMember("a", .array([.double(0.1), .double(1), .double(-0.0), .double(1e300), .double(.leastNonzeroMagnitude), .null, .bool(true)])),
            JSONMember("s", .string("q\"b\\s/\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}é😀")),
            JSONMember("nan", .double(.nan)), JSONMember("inf", .double(-.infinity)),
            JSONMember("min", .int(Int64.min)),
        ])
        #expect(v.serialized() == #"{"b":9007199254740993,"a":[0.1,1.0,-0.0,1e+300,5e-324,null,true],"s":"q\"b\\s/\n\r\t\b\f\u0001\u001f\#u{7F}é😀","nan":null,"inf":null,"min":-9223372036854775808}"#)
    }

    @Test func literalsBuildOrderedObjects() {
        let first: Int64? = nil
        let v: JSONValue = ["appended": 3, "rejected": .int(1), "firstOffset": first.map { .int($0) } ?? nil,
                            "ratio": 0.5, "ok": true, "name": "x", "list": [1, "a", nil]]
        #expect(v.serialized() == #"{"appended":3,"rejected":1,"firstOffset":null,"ratio":0.5,"ok":true,"name":"x","list":[1,"a",null]}"#)
    }

    @Test func valueConversion() {
        #expect(JSONValue(Value.timestamp(1_704_067_200_150)).serialized() == "1704067200150")
        #expect(JSONValue(Value.float64(2.5)).serialized() == "2.5")
        #expect(JSONValue(Value.string("x")).serialized() == "\"x\"")
        #expect(JSONValue(Value.null).serialized() == "null")
        #expect(JSONValue(Value.bool(false)).serialized() == "false")
    }

    static func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
        switch rng.next() % (depth > 3 ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(rng.next() % 2 == 0)
        case 2: return .int(Int64(bitPattern: rng.next()) >> (rng.next() % 64))
        case 3: return .double(Double(bitPattern: rng.next()))
        case 4:
            let scalars = (0..<(rng.next() % 8)).map { _ -> Character in
                let pick = [0x00, 0x1F, 0x22, 0x5C, 0x41, 0x7F, 0xE9, 0x2028, 0xFFFF, 0x1F600][Int(rng.next() % 10)]
                return Character(UnicodeScalar(UInt32(pick)) ?? "?")
            }
            return .string(String(scalars))
        case 5: return .array((0..<(rng.next() % 4)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var members: [JSONMember] = []
            for k in 0..<(rng.next() % 4) { members.append(JSONMember("k\(k)\u{E9}", randomValue(&rng, depth: depth + 1))) }
            return .object(members)
        }
    }

    @Test func roundTripsRandomValues() {
        let seed: UInt64 = 0xC0FFEE
        var rng = SplitMix64(seed: seed)
        for round in 0..<3_000 {
            let v = Self.randomValue(&rng, depth: 0)
            let text = v.serialized()
            let back = parseResult(Array(text.utf8))
            #expect(back == .success(v), "\(text) (seed \(seed), round \(round))")
            // Deterministic: the same value always gives the same bytes.
            #expect(v.serialized() == text)
        }
    }
}

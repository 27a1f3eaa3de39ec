import Testing
@testable import LambdaStoreCore
import LambdaStoreTestSupport

@Suite struct TextSchemaFileTests {
    static let designExample = #"{"stream":"orders","eventTime":"event_ts","fields":[{"name":"event_ts","type":"timestamp"},{"name":"merchant_id","type":"string"},{"name":"status","type":"string"},{"name":"amount_cents","type":"int64"},{"name":"channel","type":"string","nullable":true,"default":"web"}]}"#

    static func parse(_ text: String) throws(LambdaStoreError) -> Schema { try SchemaFile.parse(json: Array(text.utf8)) }

    @Test func parsesTheDesignExample() throws {
        let s = try Self.parse(Self.designExample)
        #expect(s == Schema(stream: "orders", eventTime: "event_ts", fields: [
            Field(name: "event_ts", type: .timestamp),
            Field(name: "merchant_id", type: .string),
            Field(name: "status", type: .string),
            Field(name: "amount_cents", type: .int64),
            Field(name: "channel", type: .string, nullable: true, defaultValue: .string("web")),
        ], version: 1))
        // Rendering gives back the very same text.
        #expect(SchemaFile.render(s) == Self.designExample)
    }

    static func file(_ fields: String, top: String = "") -> String {
        #"{"stream":"s","eventTime":"ts","fields":[{"name":"ts","type":"timestamp"}"# + (fields.isEmpty ? "" : ",") + fields + "]" + top + "}"
    }

    static let defaults: [(String, Value)] = [
        (#"{"name":"x","type":"int64","default":-9223372036854775808}"#, .int64(Int64.min)),
        (#"{"name":"x","type":"int64","default":9007199254740993}"#, .int64(9_007_199_254_740_993)),
        (#"{"name":"x","type":"float64","default":5}"#, .float64(5)),
        (#"{"name":"x","type":"float64","default":-2.5e-3}"#, .float64(-0.0025)),
        (#"{"name":"x","type":"timestamp","default":1704067200000}"#, .timestamp(1_704_067_200_000)),
        (#"{"name":"x","type":"timestamp","default":"2024-01-01T01:00:00+01:00"}"#, .timestamp(1_704_067_200_000)),
        (#"{"name":"x","type":"bool","default":false}"#, .bool(false)),
        (#"{"name":"x","type":"string","default":"a\"b"}"#, .string("a\"b")),
        (#"{"name":"x","type":"string","nullable":true,"default":null}"#, .null),
    ]

    @Test(arguments: defaults)
    func defaultsAreTypedByTheField(_ field: String, expected: Value) throws {
        let s = try Self.parse(Self.file(field))
        #expect(s.fields[1].defaultValue == expected)
        // And render → parse is the identity.
        #expect(try Self.parse(SchemaFile.render(s)) == s)
    }

    /// Every error names the key or field, and is a schema error.
    static let errors: [(String, String)] = [
        ("[1]", "schema file: expected a JSON object, got array"),
        (#"{"stream":"s","eventTime":"ts","fields":[],"#, "schema file: invalid JSON at column 44: unexpected end of input, expected a string key in object"),
        (#"{"eventTime":"ts","fields":[]}"#, #"schema file: missing "stream""#),
        (#"{"stream":"s","fields":[]}"#, #"schema file: missing "eventTime""#),
        (#"{"stream":"s","eventTime":"ts"}"#, #"schema file: missing "fields""#),
        (#"{"stream":1,"eventTime":"ts","fields":[]}"#, #"schema file: "stream" must be a string, got number"#),
        (#"{"stream":"s","eventTime":"ts","fields":{}}"#, #"schema file: "fields" must be an array, got object"#),
        (file("", top: #","version":2"#), #"schema file: unknown key "version" (expected "stream", "eventTime", "fields")"#),
        (file("3"), "schema file: fields[1] must be an object, got number"),
        (file(#"{"type":"int64"}"#), #"schema file: fields[1]: missing "name""#),
        (file(#"{"name":7,"type":"int64"}"#), #"schema file: fields[1]: "name" must be a string, got number"#),
        (file(#"{"name":"x","type":"int"}"#), "field 'x': unknown type 'int' (expected int64, float64, string, bool or timestamp)"),
        (file(#"{"name":"x"}"#), #"field 'x': missing "type""#),
        (file(#"{"name":"x","type":["int64"]}"#), #"field 'x': "type" must be a string, got array"#),
        (file(#"{"name":"x","type":"int64","nullabel":true}"#), #"field 'x': unknown key "nullabel" (expected "name", "type", "nullable", "default")"#),
        (file(#"{"name":"x","type":"int64","nullable":"yes"}"#), #"field 'x': "nullable" must be true or false, got string "yes""#),
        (file(#"{"name":"x","type":"int64","default":"abc"}"#), #"field 'x': default: expected int64, got string "abc""#),
        (file(#"{"name":"x","type":"int64","default":1.5}"#), "field 'x': default: expected int64, got number 1.5"),
        (file(#"{"name":"x","type":"int64","default":9223372036854775808}"#), "field 'x': default: expected int64, got number 9223372036854775808 (out of range)"),
        (file(#"{"name":"x","type":"float64","default":1e999}"#), "field 'x': default: expected float64, got number 1e999 (out of range)"),
        (file(#"{"name":"x","type":"string","default":5}"#), "field 'x': default: expected string, got number 5"),
        (file(#"{"name":"x","type":"bool","default":"true"}"#), #"field 'x': default: expected bool (true or false), got string "true""#),
        (file(#"{"name":"x","type":"timestamp","default":"2024-01-01"}"#), #"field 'x': default: expected timestamp (epoch ms or ISO-8601 with zone), got string "2024-01-01""#),
        (file(#"{"name":"x","type":"timestamp","default":1.5}"#), "field 'x': default: expected timestamp (epoch ms or ISO-8601 with zone), got number 1.5"),
        (file(#"{"name":"x","type":"string","default":null}"#), "field 'x': default is null but the field is not nullable"),
        (file(#"{"name":"ts","type":"int64"}"#), "field 'ts': defined twice"),
        (file(#"{"name":"a b","type":"int64"}"#), "field name 'a b' may only contain letters, digits, '_', '-' and '.', and may not start with '.'"),
        (#"{"stream":"s","eventTime":"nope","fields":[{"name":"ts","type":"timestamp"}]}"#, "eventTime field 'nope' is not a field of stream 's'"),
        (#"{"stream":"s","eventTime":"ts","fields":[{"name":"ts","type":"int64"}]}"#, "eventTime field 'ts' has type int64, expected timestamp"),
        (#"{"stream":"s","eventTime":"ts","fields":[]}"#, "stream 's' has no fields"),
        (#"{"stream":"../x","eventTime":"ts","fields":[{"name":"ts","type":"timestamp"}]}"#, "stream name '../x' may only contain letters, digits, '_', '-' and '.', and may not start with '.'"),
        ("{\"stream\":\"s\",\n\"stream\":\"t\"}", #"schema file: invalid JSON at line 2, column 1: duplicate key "stream""#),
    ]

    @Test(arguments: errors)
    func errorsNameTheKeyOrField(_ text: String, message: String) {
        do {
            let s = try Self.parse(text)
            Issue.record("accepted \(text) as \(s)")
        } catch {
            #expect(error.code == .schema)
            #expect(error.message == message)
        }
    }

    @Test func oversizedFileIsALimitError() {
        let big = [UInt8](repeating: 0x20, count: Limits.metadataBytesMax + 1)
        #expect(throws: LambdaStoreError(.limitExceeded, "schema file: \(Limits.metadataBytesMax + 1) bytes exceeds the limit of \(Limits.metadataBytesMax)")) {
            try SchemaFile.parse(json: big)
        }
    }

    /// Random valid schemas render to text that parses back to the same schema.
    @Test func renderRoundTripsRandomSchemas() throws {
        let seed: UInt64 = 0x5C4E
        var rng = SplitMix64(seed: seed)
        for round in 0..<300 {
            var fields = [Field(name: "ts", type: .timestamp)]
            for k in 0..<(rng.next() % 8) {
                let type = FieldType.allCases[Int(rng.next() % 5)]
                let nullable = rng.next() % 2 == 0
                var d: Value? = nil
                if rng.next() % 2 == 0 {
                    switch type {
                    case .int64: d = .int64(Int64(bitPattern: rng.next()))
                    case .float64: d = .float64(Double(Int64(bitPattern: rng.next())) / 1e6)
                    case .string: d = .string("d\(rng.next() % 100)\u{E9}\"\n")
                    case .bool: d = .bool(rng.next() % 2 == 0)
                    case .timestamp:
                        // Within 0001-01-01…9999-12-31, the range text timestamps may take.
                        d = .timestamp(-62_135_596_800_000 + Int64(rng.next() % 315_537_897_600_000))
                    }
                    if nullable && rng.next() % 4 == 0 { d = .null }
                }
                fields.append(Field(name: "f\(k)", type: type, nullable: nullable, defaultValue: d))
            }
            let s = Schema(stream: "stream-\(round)", eventTime: "ts", fields: fields)
            let text = SchemaFile.render(s)
            #expect(try Self.parse(text) == s, "\(text) (seed \(seed))")
        }
    }
}

import LambdaStoreCore
import Testing
@testable import LambdaStoreViews

/// Fixtures shared by the definition and filter tests.
enum DefinitionFixtures {
    /// DESIGN.md's example schema for `orders`.
    static let orders = Schema(stream: "orders", eventTime: "event_ts", fields: [
        Field(name: "event_ts", type: .timestamp),
        Field(name: "merchant_id", type: .string),
        Field(name: "status", type: .string),
        Field(name: "amount_cents", type: .int64),
        Field(name: "channel", type: .string, nullable: true, defaultValue: .string("web")),
    ])

    /// DESIGN.md's example view file, with explicit drift thresholds.
    static let revenueHourly = #"{"name":"revenue_hourly","stream":"orders","filter":"status = 'completed'","groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"10m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"}],"drift":{"warn":0.005,"critical":0.02}}"#

    static func parse(_ text: String) throws -> ViewDefinition { try ViewDefinition.parse(json: Array(text.utf8)) }

    /// The message of the `.view` error that parsing `text` throws, or nil when it parses.
    static func parseError(_ text: String) -> LambdaStoreError? {
        do {
            _ = try ViewDefinition.parse(json: Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }
}

@Suite struct DefinitionParseTests {
    @Test func parsesTheDesignExample() throws {
        let v = try DefinitionFixtures.parse(DefinitionFixtures.revenueHourly)
        #expect(v.name == "revenue_hourly")
        #expect(v.stream == "orders")
        #expect(v.filter == "status = 'completed'")
        #expect(v.groupBy == ["merchant_id"])
        #expect(v.window == .tumbling(field: "event_ts", size: 3_600_000))
        #expect(v.allowedLateness == 600_000)
        #expect(v.aggregates == [AggregateSpec(name: "revenue", function: .sum, field: "amount_cents"),
                                 AggregateSpec(name: "orders", function: .count)])
        #expect(v.drift == DriftThresholds(warn: 0.005, critical: 0.02))
    }

    @Test func defaultsAndOptionalForms() throws {
        let minimal = try DefinitionFixtures.parse(#"{"name":"n","stream":"orders","aggregates":[{"name":"c","fn":"count"}]}"#)
        #expect(minimal.filter == nil)
        #expect(minimal.groupBy.isEmpty)
        #expect(minimal.window == .none)
        #expect(minimal.allowedLateness == 0)
        #expect(minimal.drift == DriftThresholds())
        #expect(minimal.drift.warn == 0.005 && minimal.drift.critical == 0.02)

        let explicit = try DefinitionFixtures.parse(#"{"name":"n","stream":"orders","filter":null,"window":{"type":"none"},"allowedLateness":0,"aggregates":[{"name":"c","fn":"count","field":null}]}"#)
        #expect(explicit == minimal)

        let hopping = try DefinitionFixtures.parse(#"{"name":"h","stream":"orders","window":{"type":"hopping","field":"event_ts","size":"1h","slide":"15m"},"allowedLateness":2500,"aggregates":[{"name":"d","fn":"count_distinct","field":"merchant_id"}],"drift":{"warn":0}}"#)
        #expect(hopping.window == .hopping(field: "event_ts", size: 3_600_000, slide: 900_000))
        #expect(hopping.allowedLateness == 2500)
        #expect(hopping.aggregates[0].function == .countDistinct)
        #expect(hopping.drift == DriftThresholds(warn: 0, critical: 0.02))
    }

    @Test(arguments: [
        ("0", Int64(0)), ("250", 250), ("250ms", 250), ("7s", 7_000), ("10m", 600_000), ("1h", 3_600_000),
        ("2d", 172_800_000), ("0d", 0), ("9223372036854775807ms", Int64.max), ("106751991167d", 9_223_372_036_828_800_000),
    ])
    func durations(text: String, millis: Int64) {
        #expect(ViewDuration.parse(text) == millis)
        #expect(ViewDuration.parse(ViewDuration.format(millis)) == millis)
    }

    @Test(arguments: ["", "h", "10x", "1.5h", "-5m", " 5m", "5 m", "5M", "5mss", "9223372036854775808ms", "106751991168d", "1e3"])
    func badDurations(text: String) {
        #expect(ViewDuration.parse(text) == nil)
    }

    @Test func durationFormatPicksTheLargestExactUnit() {
        #expect(ViewDuration.format(0) == "0ms")
        #expect(ViewDuration.format(1500) == "1500ms")
        #expect(ViewDuration.format(90_000) == "90s")
        #expect(ViewDuration.format(600_000) == "10m")
        #expect(ViewDuration.format(3_600_000) == "1h")
        #expect(ViewDuration.format(86_400_000 * 3) == "3d")
    }

    @Test func toJSONRoundTrips() throws {
        let samples = [
            DefinitionFixtures.revenueHourly,
            #"{"name":"n","stream":"orders","aggregates":[{"name":"c","fn":"count"}]}"#,
            #"{"name":"h.x-1","stream":"orders","filter":"\"a b\" IN ('x''y', 'q')","groupBy":["a","b"],"window":{"type":"hopping","field":"t","size":"90s","slide":"1500ms"},"allowedLateness":"1d","aggregates":[{"name":"m","fn":"max","field":"t"},{"name":"s","fn":"avg","field":"v"}],"drift":{"warn":1e-7,"critical":0.5}}"#,
        ]
        for s in samples {
            let v = try DefinitionFixtures.parse(s)
            let again = try DefinitionFixtures.parse(v.toJSON())
            #expect(again == v, "round trip of \(s) via \(v.toJSON())")
            #expect(again.toJSON() == v.toJSON())
        }
        #expect(try DefinitionFixtures.parse(DefinitionFixtures.revenueHourly).toJSON()
            == #"{"name":"revenue_hourly","stream":"orders","filter":"status = 'completed'","groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"10m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"}],"drift":{"warn":0.005,"critical":0.02}}"#)
    }

    /// Each bad view file and the fragments its error message must contain (the key path and
    /// the offending key, token or value).
    static let badFiles: [(String, [String])] = [
        (#"{"stream":"orders","aggregates":[{"name":"c","fn":"count"}]}"#, ["missing key 'name'"]),
        (#"{"name":"n","aggregates":[{"name":"c","fn":"count"}]}"#, ["missing key 'stream'"]),
        (#"{"name":"n","stream":"orders"}"#, ["missing key 'aggregates'"]),
        (#"{"name":"n","stream":"orders","aggregates":[],"color":"red"}"#, ["unknown key 'color'"]),
        (#"{"name":"n","stream":"orders","aggregates":[]}"#, ["aggregates", "at least one"]),
        (#"{"name":5,"stream":"orders","aggregates":[{"name":"c","fn":"count"}]}"#, ["name", "expected a string", "number"]),
        (#"{"name":"n","stream":["orders"],"aggregates":[{"name":"c","fn":"count"}]}"#, ["stream", "expected a string", "array"]),
        (#"{"name":"n","stream":"orders","filter":true,"aggregates":[{"name":"c","fn":"count"}]}"#, ["filter", "expected a string", "boolean"]),
        (#"{"name":"n","stream":"orders","groupBy":"merchant_id","aggregates":[{"name":"c","fn":"count"}]}"#, ["groupBy", "expected an array"]),
        (#"{"name":"n","stream":"orders","groupBy":["a",3],"aggregates":[{"name":"c","fn":"count"}]}"#, ["groupBy[1]", "expected a string"]),
        (#"{"name":"n","stream":"orders","groupBy":["a","a"],"aggregates":[{"name":"c","fn":"count"}]}"#, ["groupBy[1]", "'a'", "twice"]),
        (#"{"name":"n","stream":"orders","aggregates":{"name":"c"}}"#, ["aggregates", "expected an array", "object"]),
        (#"{"name":"n","stream":"orders","aggregates":["c"]}"#, ["aggregates[0]", "expected an object", "string"]),
        (#"{"name":"n","stream":"orders","aggregates":[{"name":"c"}]}"#, ["aggregates[0]", "missing key 'fn'"]),
        (#"{"name":"n","stream":"orders","aggregates":[{"fn":"count"}]}"#, ["aggregates[0]", "missing key 'name'"]),
        (#"{"name":"n","stream":"orders","aggregates":[{"name":"c","fn":"count"},{"name":"s","fn":"summ","field":"x"}]}"#, ["aggregates[1].fn", "unknown function 'summ'"]),
        (#"{"name":"n","stream":"orders","aggregates":[{"name":"c","fn":"count","func":"sum"}]}"#, ["aggregates[0]", "unknown key 'func'"]),
        (#"{"name":"n","stream":"orders","aggregates":[{"name":"c","fn":"count"},{"name":"c","fn":"sum","field":"x"}]}"#, ["aggregates[1].name", "duplicate", "'c'"]),
        (#"{"name":"n","stream":"orders","groupBy":["c"],"aggregates":[{"name":"c","fn":"count"}]}"#, ["aggregates[0].name", "duplicate", "'c'"]),
        (#"{"name":"n","stream":"orders","aggregates":[{"name":"source","fn":"count"}]}"#, ["aggregates[0].name", "'source'", "reserved"]),
        (#"{"name":"n","stream":"orders","groupBy":["window_start"],"aggregates":[{"name":"c","fn":"count"}]}"#, ["groupBy[0]", "'window_start'", "reserved"]),
        (#"{"name":"n","stream":"orders","aggregates":[{"name":"s","fn":"sum"}]}"#, ["aggregates[0].field", "sum needs a field"]),
        (#"{"name":"n","stream":"orders","aggregates":[{"name":"s","fn":"count_distinct"}]}"#, ["aggregates[0].field", "count_distinct needs a field"]),
        (#"{"name":"n","stream":"orders","aggregates":[{"name":"s","fn":"min","field":7}]}"#, ["aggregates[0].field", "expected a string"]),
        (#"{"name":"n","stream":"orders","allowedLateness":"10x","aggregates":[{"name":"c","fn":"count"}]}"#, ["allowedLateness", "bad duration '10x'"]),
        (#"{"name":"n","stream":"orders","allowedLateness":-5,"aggregates":[{"name":"c","fn":"count"}]}"#, ["allowedLateness", "bad duration -5"]),
        (#"{"name":"n","stream":"orders","allowedLateness":1.5,"aggregates":[{"name":"c","fn":"count"}]}"#, ["allowedLateness", "bad duration 1.5"]),
        (#"{"name":"n","stream":"orders","allowedLateness":true,"aggregates":[{"name":"c","fn":"count"}]}"#, ["allowedLateness", "boolean"]),
        (#"{"name":"n","stream":"orders","window":"1h","aggregates":[{"name":"c","fn":"count"}]}"#, ["window", "expected an object"]),
        (#"{"name":"n","stream":"orders","window":{"field":"t","size":"1h"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window", "missing key 'type'"]),
        (#"{"name":"n","stream":"orders","window":{"type":"sliding","field":"t","size":"1h"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window.type", "unknown window type 'sliding'"]),
        (#"{"name":"n","stream":"orders","window":{"type":"tumbling","size":"1h"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window", "missing key 'field'"]),
        (#"{"name":"n","stream":"orders","window":{"type":"tumbling","field":"t"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window", "missing key 'size'"]),
        (#"{"name":"n","stream":"orders","window":{"type":"tumbling","field":"t","size":"1h","slide":"1m"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window", "unknown key 'slide'"]),
        (#"{"name":"n","stream":"orders","window":{"type":"none","field":"t"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window", "unknown key 'field'"]),
        (#"{"name":"n","stream":"orders","window":{"type":"tumbling","field":"t","size":"1y"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window.size", "bad duration '1y'"]),
        (#"{"name":"n","stream":"orders","window":{"type":"tumbling","field":"t","size":"0s"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window.size", "greater than 0"]),
        (#"{"name":"n","stream":"orders","window":{"type":"hopping","field":"t","size":"1h"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window", "missing key 'slide'"]),
        (#"{"name":"n","stream":"orders","window":{"type":"hopping","field":"t","size":"1h","slide":"0m"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window.slide", "greater than 0"]),
        (#"{"name":"n","stream":"orders","window":{"type":"hopping","field":"t","size":"1h","slide":"2h"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window.slide", "larger than the size"]),
        (#"{"name":"n","stream":"orders","window":{"type":"hopping","field":"t","size":"1d","slide":"1s"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window.slide", "86400 windows"]),
        (#"{"name":"n","stream":"orders","window":{"type":"tumbling","field":"bad field","size":"1h"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["window.field", "'bad field'"]),
        (#"{"name":"n","stream":"orders","drift":{"warn":0.5,"critical":0.1},"aggregates":[{"name":"c","fn":"count"}]}"#, ["drift.warn", "above drift.critical"]),
        (#"{"name":"n","stream":"orders","drift":{"warn":-1},"aggregates":[{"name":"c","fn":"count"}]}"#, ["drift.warn", "≥ 0"]),
        (#"{"name":"n","stream":"orders","drift":{"warn":"low"},"aggregates":[{"name":"c","fn":"count"}]}"#, ["drift.warn", "expected a number"]),
        (#"{"name":"n","stream":"orders","drift":{"warning":0.1},"aggregates":[{"name":"c","fn":"count"}]}"#, ["drift", "unknown key 'warning'"]),
        (#"{"name":".hidden","stream":"orders","aggregates":[{"name":"c","fn":"count"}]}"#, ["name", "'.hidden'"]),
        (#"{"name":"n","stream":"or/ders","aggregates":[{"name":"c","fn":"count"}]}"#, ["stream", "'or/ders'"]),
        (#"{"name":"n","stream":"orders","aggregates":[{"name":"","fn":"count"}]}"#, ["aggregates[0].name", "1 to 255 bytes"]),
        (#"{"name":"n","stream":"orders","filter":"status = 'open","aggregates":[{"name":"c","fn":"count"}]}"#, ["filter: position 10", "unterminated string"]),
        (#"{"name":"n","stream":"orders","filter":"a = 1 AND","aggregates":[{"name":"c","fn":"count"}]}"#, ["filter: position 10", "end of filter"]),
        // JSON syntax, with line and column.
        // JSON syntax (Core's `JSONValue` parser), with line and column.
        (#"{"name":"n","stream":"orders","aggregates":[{"name":"c","fn":"count"}],}"#, ["view file: line 1, column 72: ", "'}'", "string key"]),
        ("{\"name\":\"n\",\n \"name\":\"m\"}", ["view file: line 2, column 2: ", #"duplicate key "name""#]),
        (#"{"name":"n" "stream":"orders"}"#, ["view file: line 1, column 13: ", "expected ',' or '}'"]),
        (#"{"name":"n","stream":"orders","aggregates":[{"name":"c","fn":"count"}]} x"#, ["line 1, column 73", "'x'", "end of input after the value"]),
        (#"{"name":"n","stream":"orders","allowedLateness":01}"#, ["line 1, column 49", "leading zero"]),
        (#"{"name":"n\u12"}"#, ["line 1, column 15", "invalid hex digit in \\u escape"]),
        (#"{"name":"n\ud800"}"#, ["line 1, column 11", "lone high surrogate"]),
        (#"{"name":"n"#, ["line 1, column 9", "unterminated string"]),
        (#"{"name":"n","stream":"orders","aggregates":[{"name":"c","fn":"count"}]}\#u{FEFF}"#, ["line 1, column 72", "0xEF"]),
        ("\u{FEFF}{}", ["line 1, column 1", "byte-order mark"]),
        (#"[1, 2]"#, ["view file", "expected an object", "array"]),
        ("", ["line 1, column 1", "unexpected end of input"]),
        (String(repeating: "[", count: JSONValue.nestingDepthMax + 1), ["line 1, column \(JSONValue.nestingDepthMax + 1)", "nesting deeper than \(JSONValue.nestingDepthMax)"]),
        // Numbers are checked where they are used, and named as written.
        (#"{"name":"n","stream":"orders","allowedLateness":9223372036854775808,"aggregates":[{"name":"c","fn":"count"}]}"#, ["allowedLateness", "bad duration 9223372036854775808"]),
        (#"{"name":"n","stream":"orders","allowedLateness":1e3,"aggregates":[{"name":"c","fn":"count"}]}"#, ["allowedLateness", "bad duration 1e3", "expected an integer"]),
        (#"{"name":"n","stream":"orders","drift":{"critical":1e400},"aggregates":[{"name":"c","fn":"count"}]}"#, ["drift.critical", "finite"]),
        (#"{"name":1e400,"stream":"orders","aggregates":[{"name":"c","fn":"count"}]}"#, ["name", "expected a string", "number"]),
    ]

    @Test(arguments: badFiles)
    func errorsNameTheKeyAndToken(file: String, fragments: [String]) throws {
        let error = try #require(DefinitionFixtures.parseError(file), "expected \(file) to be rejected")
        #expect(error.code == .view)
        for fragment in fragments {
            #expect(error.message.contains(fragment), "\(error.message) should contain \(fragment)")
        }
        #expect(!error.description.contains("\n"))
    }

    @Test func invalidUTF8AndOversizedFilesAreRejected() {
        #expect(throws: LambdaStoreError(.view, "view file: line 1, column 3: invalid UTF-8 in string")) {
            try ViewDefinition.parse(json: [0x7B, 0x22, 0xFF, 0x22, 0x7D])
        }
        #expect(throws: LambdaStoreError(.view, "view file: line 2, column 1: unexpected 0xC3, expected a string key in object")) {
            try ViewDefinition.parse(json: [0x7B, 0x0A, 0xC3, 0xA9, 0x7D])
        }
        let big = [UInt8](repeating: 0x20, count: Limits.metadataBytesMax + 1)
        #expect(throws: LambdaStoreError(.limitExceeded, "view file is \(big.count) bytes (max \(Limits.metadataBytesMax))")) {
            try ViewDefinition.parse(json: big)
        }
    }

    @Test func jsonStringEscapesAreDecoded() throws {
        let v = try DefinitionFixtures.parse(#"{"name":"n","stream":"orders","filter":"s = '\u00e9\t\ud83d\ude00\/'","aggregates":[{"name":"c","fn":"count"}]}"#)
        #expect(v.filter == "s = 'é\t😀/'")
        #expect(try DefinitionFixtures.parse(v.toJSON()) == v)
    }

    @Test func jsonNumberFormatting() {
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "0"), (1, "1"), (-1, "-1"), (0.005, "0.005"), (0.02, "0.02"), (1.5, "1.5"), (123_456, "123456"),
            (1e21, "1e+21"), (1e20, "100000000000000000000"), (1.25e21, "1.25e+21"), (1e-6, "0.000001"), (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"), (Double.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (0.1 + 0.2, "0.30000000000000004"),
        ]
        for (d, s) in cases { #expect(ECMAScriptNumber.format(d) == s, "\(d)") }
    }
}

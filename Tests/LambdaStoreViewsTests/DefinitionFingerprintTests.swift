import Foundation
import LambdaStoreCore
import LambdaStoreTestSupport
import Testing
@testable import LambdaStoreViews

@Suite struct DefinitionXXH64Tests {
    @Test func publishedCheckValues() {
        #expect(XXH64.hash([UInt8]()) == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXH64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(XXH64.hash(utf8: "abc") == 0x44BC_2CF5_AD77_0999)
    }

    /// The reference's sanity buffer (`xsum_sanity_check.c`): byte i is the top byte of
    /// PRIME32 · PRIME64^i.
    static let sanityBuffer: [UInt8] = {
        var g: UInt64 = 2_654_435_761
        return (0..<1024).map { _ in
            defer { g &*= 11_400_714_785_074_694_797 }
            return UInt8(g >> 56)
        }
    }()

    /// Values printed by libxxhash 0.8.1's `XXH64()` over prefixes of the sanity buffer: every
    /// tail path (1, 4, 8 bytes) and the 32-byte stripes with and without a remainder.
    static let vectors: [(Int, UInt64, UInt64)] = [
        (0, 0, 0xEF46DB3751D8E999), (1, 0, 0xE934A84ADB052768), (3, 0, 0xFF7E1959CB50794A), (4, 0, 0x9136A0DCA57457EE),
        (7, 0, 0x6C83909A9F01ED25), (8, 0, 0xCDBCF538E71D1348), (9, 0, 0x554B1AE991EDA6B6), (14, 0, 0x8282DCC4994E35C8),
        (15, 0, 0x180719316D622D84), (16, 0, 0x98C90B57FDFCB55C), (17, 0, 0x0D39A2D051A30C2C), (31, 0, 0x299B39A290E6D783),
        (32, 0, 0x18B216492BB44B70), (33, 0, 0x55C8DC3E578F5B59), (63, 0, 0xA9EFBE0FA0F3F4E7), (64, 0, 0xEF558F8ACAC2B5CD),
        (65, 0, 0xDE0F20DC2631AF7A), (100, 0, 0x4BFE019CD91D9EA4), (222, 0, 0xB641AE8CB691C174), (1024, 0, 0x4775BF7CACE4D177),
        (0, 0x9E3779B1, 0xAC75FDA2929B17EF), (1, 0x9E3779B1, 0x5014607643A9B4C3), (4, 0x9E3779B1, 0xCAAB286BD8E9FDB5),
        (8, 0x9E3779B1, 0xFE0C047A5353CDAC), (14, 0x9E3779B1, 0xC3BD6BF63DEB6DF0), (32, 0x9E3779B1, 0xB3F33BDF93ADE409),
        (65, 0x9E3779B1, 0xD3F6FF3941E310CA), (222, 0x9E3779B1, 0x20CB8AB7AE10C14A), (1024, 0x9E3779B1, 0x238CF9296898B465),
        (0, UInt64.max, 0x298F4C84B24F5380), (3, UInt64.max, 0xD98FF19E5346B786), (8, UInt64.max, 0x568E81B1596E8283),
        (31, UInt64.max, 0x6ED1061F61C686E5), (33, UInt64.max, 0x3E29B6E70F2543DA), (1024, UInt64.max, 0x93017C1BB643BEE9),
    ]

    @Test func referenceVectors() {
        for (length, seed, expected) in Self.vectors {
            let got = Self.sanityBuffer.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[..<length]), seed: seed) }
            #expect(got == expected, "XXH64(sanity[0..<\(length)], seed \(seed))")
        }
    }

    @Test func unalignedInputAndTheUInt64Convenience() {
        var rng = SplitMix64(seed: 0x5eed_0064)
        for _ in 0..<50 {
            let v = rng.next()
            let seed = rng.next()
            let bytes = withUnsafeBytes(of: v.littleEndian) { Array($0) }
            #expect(XXH64.hash(v, seed: seed) == XXH64.hash(bytes, seed: seed), "seed 0x5eed0064, value \(v)")
        }
        // The same bytes at every alignment hash the same.
        let base = Array(Self.sanityBuffer[..<200])
        for shift in 1..<8 {
            let shifted = [UInt8](repeating: 0, count: shift) + base
            let h = shifted.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[shift...])) }
            #expect(h == XXH64.hash(base))
        }
    }
}

@Suite struct DefinitionFingerprintTests {
    /// The worked example of format-spec.md §3a: this definition, its canonical form and its
    /// fingerprint must match the spec text exactly.
    static let specExample = #"{"name":"revenue_hourly","stream":"orders","filter":"status = 'completed'  AND amount_cents >= 100 or channel IN ('app','web')","groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"10m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"}]}"#
    static let specCanonical = #"{"aggregates":[{"field":"amount_cents","fn":"sum","name":"revenue"},{"field":null,"fn":"count","name":"orders"}],"allowedLateness":600000,"filter":"(((status = 'completed') and (amount_cents >= 100)) or (channel in ('app', 'web')))","groupBy":["merchant_id"],"stream":"orders","window":{"field":"event_ts","size":3600000,"type":"tumbling"}}"#
    /// Cross-checked with `printf '%s' "$canonical" | xxhsum -H1` (xxHash 0.8.1).
    static let specFingerprint = "de912f43d468d119"

    @Test func goldenWorkedExample() throws {
        let v = try DefinitionFixtures.parse(Self.specExample)
        #expect(v.canonicalForm == Self.specCanonical)
        #expect(v.fingerprint == Self.specFingerprint)
        #expect(ViewDefinition.fingerprint(ofCanonicalForm: Self.specCanonical) == Self.specFingerprint)
        #expect(Self.specCanonical.utf8.count == 340)

        // The spec shows exactly these texts, so it cannot drift from the code.
        let specPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("format-spec.md").path
        let spec = try String(contentsOfFile: specPath, encoding: .utf8)
        let section = try #require(spec.range(of: "<!-- BEGIN §3a").flatMap { a in
            spec.range(of: "<!-- END §3a")
                .map { String(spec[a.lowerBound..<$0.lowerBound]) }
        })
        #expect(section.contains("\n" + Self.specExample + "\n"))
        #expect(section.contains("\n" + Self.specCanonical + "\n"))
        #expect(section.contains("**`" + Self.specFingerprint + "`**"))
        #expect(section.contains("(one line, \(Self.specCanonical.utf8.count) bytes)"))
    }

    @Test func goldenDesignExample() throws {
        let v = try DefinitionFixtures.parse(DefinitionFixtures.revenueHourly)
        #expect(v.canonicalForm == #"{"aggregates":[{"field":"amount_cents","fn":"sum","name":"revenue"},{"field":null,"fn":"count","name":"orders"}],"allowedLateness":600000,"filter":"(status = 'completed')","groupBy":["merchant_id"],"stream":"orders","window":{"field":"event_ts","size":3600000,"type":"tumbling"}}"#)
        #expect(v.fingerprint.count == 16)
        #expect(v.fingerprint.allSatisfy { "0123456789abcdef".contains($0) })
    }

    static let base = DefinitionFixtures.revenueHourly

    /// Rewrites of the design example that cannot change a result: the fingerprint stays.
    static let sameResult: [String] = [
        // whitespace, keyword case and key order
        #"{"aggregates":[{"fn":"sum","field":"amount_cents","name":"revenue"},{"fn":"count","name":"orders"}],"allowedLateness":"10m","window":{"size":"1h","field":"event_ts","type":"tumbling"},"groupBy":["merchant_id"],"filter":"status = 'completed'","stream":"orders","name":"revenue_hourly"}"#,
        "{\n  \"name\": \"revenue_hourly\",\n  \"stream\": \"orders\",\n  \"filter\": \"  (status='completed')  \",\n  \"groupBy\": [ \"merchant_id\" ],\n  \"window\": {\"type\": \"tumbling\", \"field\": \"event_ts\", \"size\": \"60m\"},\n  \"allowedLateness\": 600000,\n  \"aggregates\": [{\"name\": \"revenue\", \"fn\": \"sum\", \"field\": \"amount_cents\"}, {\"name\": \"orders\", \"fn\": \"count\", \"field\": null}]\n}",
        #"{"name":"revenue_hourly","stream":"orders","filter":"'completed' = status","groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"3600s"},"allowedLateness":"600s","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"}]}"#,
        #"{"name":"revenue_hourly","stream":"orders","filter":"\"status\" = 'completed'","groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"10m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"}]}"#,
        // name and drift thresholds
        #"{"name":"renamed","stream":"orders","filter":"status = 'completed'","groupBy":["merchant_id"],"window":{"type":"tumbling","field":"event_ts","size":"1h"},"allowedLateness":"10m","aggregates":[{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"}],"drift":{"warn":0.1,"critical":0.2}}"#,
    ]

    @Test(arguments: sameResult)
    func insensitiveToPresentation(variant: String) throws {
        let a = try DefinitionFixtures.parse(Self.base)
        let b = try DefinitionFixtures.parse(variant)
        #expect(a.canonicalForm == b.canonicalForm)
        #expect(a.fingerprint == b.fingerprint)
    }

    @Test func filterSpellingsThatNormalizeAlike() throws {
        let groups: [[String]] = [
            ["a = 1 AND b = 2 AND c = 3", "(a = 1 and b = 2) and c = 3", "a = 1 AND (b = 2 AND c = 3)", "((a=1))AND(b=2)and(c=3)"],
            ["x <> 5", "x != 5", "5 != x", "5<>x"],
            ["x < 5", "5 > x"],
            ["x IS NOT NULL", "x is not null", "x  Is  NoT  nUlL"],
            ["x NOT IN (1, 2)", "x not in(1,2)", "(x NOT IN (1 , 2))"],
            ["flag", "(flag)", "( (flag) )"],
            ["d = 1.5", "d = 1.50", "d = 15e-1", "d = 0.15E1"],
        ]
        for group in groups {
            let texts = Set(try group.map { try FilterExpression.parse($0).canonicalText })
            #expect(texts.count == 1, "\(group) → \(texts)")
        }
    }

    /// Each edit of the design example that changes what the view computes.
    static let resultChanging: [(String, String)] = [
        ("filter literal", #""filter":"status = 'completed'""# + "→" + #""filter":"status = 'complete'""#),
        ("filter field", #""filter":"status = 'completed'""# + "→" + #""filter":"channel = 'completed'""#),
        ("filter operator", #""filter":"status = 'completed'""# + "→" + #""filter":"status != 'completed'""#),
        ("filter removed", #""filter":"status = 'completed'","# + "→" + ""),
        ("filter conjunct added", #""filter":"status = 'completed'""# + "→" + #""filter":"status = 'completed' AND amount_cents > 1""#),
        ("groupBy field", #""groupBy":["merchant_id"]"# + "→" + #""groupBy":["status"]"#),
        ("groupBy added", #""groupBy":["merchant_id"]"# + "→" + #""groupBy":["merchant_id","status"]"#),
        ("groupBy removed", #""groupBy":["merchant_id"]"# + "→" + #""groupBy":[]"#),
        ("window size", #""size":"1h""# + "→" + #""size":"2h""#),
        ("window kind", #""type":"tumbling","field":"event_ts","size":"1h""# + "→" + #""type":"hopping","field":"event_ts","size":"1h","slide":"1h""#),
        ("window field", #""field":"event_ts","size""# + "→" + #""field":"ts2","size""#),
        ("window none", #""window":{"type":"tumbling","field":"event_ts","size":"1h"},"# + "→" + ""),
        ("lateness", #""allowedLateness":"10m""# + "→" + #""allowedLateness":"11m""#),
        ("lateness default", #""allowedLateness":"10m","# + "→" + ""),
        ("stream", #""stream":"orders""# + "→" + #""stream":"orders2""#),
        ("aggregate fn", #""fn":"sum""# + "→" + #""fn":"avg""#),
        ("aggregate field", #""field":"amount_cents""# + "→" + #""field":"amount2""#),
        ("aggregate name", #""name":"revenue""# + "→" + #""name":"revenue2""#),
        ("count of a field", #"{"name":"orders","fn":"count"}"# + "→" + #"{"name":"orders","fn":"count","field":"status"}"#),
        ("aggregate order", #"{"name":"revenue","fn":"sum","field":"amount_cents"},{"name":"orders","fn":"count"}"# + "→" + #"{"name":"orders","fn":"count"},{"name":"revenue","fn":"sum","field":"amount_cents"}"#),
    ]

    @Test(arguments: resultChanging)
    func sensitiveToResultChangingFields(what: String, edit: String) throws {
        let parts = edit.split(separator: "→", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 2 && Self.base.contains(parts[0]), "edit \(what) does not apply")
        let changed = Self.base.replacing(parts[0], with: parts[1])
        let a = try DefinitionFixtures.parse(Self.base)
        let b = try DefinitionFixtures.parse(changed)
        #expect(a.canonicalForm != b.canonicalForm, "\(what)")
        #expect(a.fingerprint != b.fingerprint, "\(what)")
    }

    @Test func hoppingSlideAndFilterLiteralTypesMatter() throws {
        let h1 = try DefinitionFixtures.parse(#"{"name":"h","stream":"s","window":{"type":"hopping","field":"t","size":"1h","slide":"15m"},"aggregates":[{"name":"c","fn":"count"}]}"#)
        let h2 = try DefinitionFixtures.parse(#"{"name":"h","stream":"s","window":{"type":"hopping","field":"t","size":"1h","slide":"30m"},"aggregates":[{"name":"c","fn":"count"}]}"#)
        #expect(h1.fingerprint != h2.fingerprint)
        let i = try FilterExpression.parse("x = 5").canonicalText
        let f = try FilterExpression.parse("x = 5.0").canonicalText
        let s = try FilterExpression.parse("x = '5'").canonicalText
        #expect(Set([i, f, s]).count == 3)
    }

    @Test func compatibleSchemaChangeKeepsTheFingerprint() throws {
        let v = try DefinitionFixtures.parse(DefinitionFixtures.revenueHourly)
        let v1 = try CompiledView(v, schema: DefinitionFixtures.orders)
        var proposed = DefinitionFixtures.orders
        proposed.fields.insert(Field(name: "coupon", type: .string, nullable: true), at: 1)
        proposed.fields.append(Field(name: "tip_cents", type: .int64, nullable: false, defaultValue: .int64(0)))
        let evolved = try #require(try DefinitionFixtures.orders.evolved(to: proposed))
        #expect(evolved.version == 2)
        let v2 = try CompiledView(v, schema: evolved)
        #expect(v2.fingerprint == v1.fingerprint)
        #expect(v2.fingerprint == v.fingerprint)
        #expect(v2.layout == v1.layout)   // added fields go after the existing ones
        #expect(v2.filter?.columnCount == 7)

        // Even a reordered schema (another stream history) keeps the fingerprint; only the
        // resolved indexes move.
        var reordered = DefinitionFixtures.orders
        reordered.fields.reverse()
        let v3 = try CompiledView(v, schema: reordered)
        #expect(v3.fingerprint == v1.fingerprint)
        #expect(v3.layout.groupBy == [GroupField(name: "merchant_id", index: 3, type: .string)])
    }

    @Test func randomDefinitionsRoundTripWithTheirFingerprint() throws {
        let seed: UInt64 = 0x5eed_f00d
        var rng = SplitMix64(seed: seed)
        let fields = ["a", "b", "t", "x.y", "z-1"]
        for round in 0..<200 {
            func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
            let window: WindowSpec
            switch rng.next() % 3 {
            case 0: window = .none
            case 1: window = .tumbling(field: pick(fields), size: Int64(1 + rng.next() % 10_000_000))
            default:
                let slide = Int64(1 + rng.next() % 100_000)
                window = .hopping(field: pick(fields), size: slide * Int64(1 + rng.next() % 20), slide: slide)
            }
            var aggs: [AggregateSpec] = []
            for k in 0..<Int(1 + rng.next() % 4) {
                let fn = pick(AggregateFunction.allCases)
                aggs.append(AggregateSpec(name: "agg\(k)", function: fn, field: fn == .count && rng.next() % 2 == 0 ? nil : pick(fields)))
            }
            let filter: String? = pick([nil, "a = 1", "\"x.y\" IN ('p', 'q''r') OR NOT b IS NULL", "t >= '2026-01-01T00:00:00Z' AND a < -2.5e-3"])
            let v = ViewDefinition(name: "v\(round)", stream: "s", filter: filter, groupBy: Array(fields.shuffled(using: &rng).prefix(Int(rng.next() % 3))),
                                   window: window, allowedLateness: Int64(rng.next() % 1_000_000), aggregates: aggs,
                                   drift: DriftThresholds(warn: Double(rng.next() % 100) / 1000, critical: 0.5))
            try v.validate()
            let again = try ViewDefinition.parse(json: v.toJSON())
            #expect(again == v, "seed \(seed) round \(round): \(v.toJSON())")
            #expect(again.fingerprint == v.fingerprint, "seed \(seed) round \(round)")
            // The canonical form is itself valid JSON that parses back to its own text, with
            // the keys of every object in UTF-8 byte order (format-spec.md §3a.6).
            let parsed = try JSONValue.parse(v.canonicalForm)
            #expect(parsed.serialized() == v.canonicalForm)
            #expect(Self.keysAreSorted(parsed), "seed \(seed) round \(round): \(v.canonicalForm)")
        }
    }

    /// Whether every object in `v` lists its keys in strictly increasing UTF-8 byte order.
    static func keysAreSorted(_ v: JSONValue) -> Bool {
        switch v {
        case .object(let members):
            let keys = members.map { Array($0.key.utf8) }
            return zip(keys, keys.dropFirst()).allSatisfy { $0.lexicographicallyPrecedes($1) } && members.allSatisfy { keysAreSorted($0.value) }
        case .array(let items): return items.allSatisfy(keysAreSorted)
        default: return true
        }
    }

    /// Strings in the canonical form use exactly §3a.6's escapes: `\"` `\\` `\b \t \n \f \r`,
    /// `\u00xx` (lowercase) for the other controls, everything else (DEL, non-ASCII) as itself.
    @Test func canonicalFormEscapesStringsAsSpecified() throws {
        let scalars: [Unicode.Scalar] = ["a", "\"", "\\", "\u{08}", "\t", "\n", "\u{0C}", "\r", "\u{01}", "\u{1F}", "\u{7F}", "/", "é", "😀"]
        let literal = String(String.UnicodeScalarView(scalars))
        let v = ViewDefinition(name: "v", stream: "s", filter: "s = '\(literal)'", aggregates: [AggregateSpec(name: "c", function: .count)])
        try v.validate()
        let escaped = #"a\"\\\b\t\n\f\r\u0001\u001f"# + "\u{7F}/é😀"
        #expect(v.canonicalForm == #"{"aggregates":[{"field":null,"fn":"count","name":"c"}],"allowedLateness":0,"filter":"(s = '"# + escaped
            + #"')","groupBy":[],"stream":"s","window":{"type":"none"}}"#)
    }
}

import LambdaStoreCore
import Testing
@testable import LambdaStoreViews

@Suite struct DefinitionCompiledViewTests {
    /// A schema with every type, nullable and not.
    static let schema = Schema(stream: "events", eventTime: "ts", fields: [
        Field(name: "ts", type: .timestamp),
        Field(name: "i", type: .int64),
        Field(name: "d", type: .float64, nullable: true),
        Field(name: "s", type: .string),
        Field(name: "b", type: .bool, nullable: true),
        Field(name: "ts2", type: .timestamp, nullable: true),
    ])

    static func view(window: WindowSpec = .tumbling(field: "ts", size: 60_000), groupBy: [String] = ["s"], filter: String? = nil,
                     aggregates: [AggregateSpec] = [AggregateSpec(name: "n", function: .count)], stream: String = "events") -> ViewDefinition {
        ViewDefinition(name: "v", stream: stream, filter: filter, groupBy: groupBy, window: window, allowedLateness: 5_000, aggregates: aggregates)
    }

    @Test func layoutResolvesEveryName() throws {
        let def = Self.view(window: .hopping(field: "ts2", size: 60_000, slide: 15_000), groupBy: ["b", "i"], filter: "s = 'x'", aggregates: [
            AggregateSpec(name: "rows", function: .count),
            AggregateSpec(name: "nonNullD", function: .count, field: "d"),
            AggregateSpec(name: "sumI", function: .sum, field: "i"),
            AggregateSpec(name: "avgD", function: .avg, field: "d"),
            AggregateSpec(name: "minS", function: .min, field: "s"),
            AggregateSpec(name: "maxTs", function: .max, field: "ts"),
            AggregateSpec(name: "distinctB", function: .countDistinct, field: "b"),
        ])
        let v = try CompiledView(def, schema: Self.schema)
        #expect(v.layout == ViewLayout(
            groupBy: [GroupField(name: "b", index: 4, type: .bool), GroupField(name: "i", index: 1, type: .int64)],
            window: .hopping(size: 60_000, slide: 15_000), windowFieldIndex: 5, allowedLateness: 5_000,
            aggregates: [
                AggregateSlot(name: "rows", function: .count, fieldIndex: nil, fieldType: nil),
                AggregateSlot(name: "nonNullD", function: .count, fieldIndex: 2, fieldType: .float64),
                AggregateSlot(name: "sumI", function: .sum, fieldIndex: 1, fieldType: .int64),
                AggregateSlot(name: "avgD", function: .avg, fieldIndex: 2, fieldType: .float64),
                AggregateSlot(name: "minS", function: .min, fieldIndex: 3, fieldType: .string),
                AggregateSlot(name: "maxTs", function: .max, fieldIndex: 0, fieldType: .timestamp),
                AggregateSlot(name: "distinctB", function: .countDistinct, fieldIndex: 4, fieldType: .bool),
            ]))
        #expect(v.fingerprint == def.fingerprint)
        #expect(v.canonicalForm == def.canonicalForm)
        #expect(v.filter?.canonicalText == "(s = 'x')")
        #expect(v.filter?.columnsRead == [3: .string])
        #expect(v.definition == def)
        #expect(v.schema == Self.schema)

        let none = try CompiledView(Self.view(window: .none, groupBy: []), schema: Self.schema)
        #expect(none.layout.window == .none)
        #expect(none.layout.windowFieldIndex == nil)
        #expect(none.filter == nil)
    }

    @Test func everyFunctionAcceptsExactlyItsTypes() throws {
        let fieldOfType: [FieldType: String] = [.timestamp: "ts", .int64: "i", .float64: "d", .string: "s", .bool: "b"]
        let accepted: [AggregateFunction: Set<FieldType>] = [
            .count: Set(FieldType.allCases), .countDistinct: Set(FieldType.allCases),
            .sum: [.int64, .float64], .avg: [.int64, .float64], .min: [.int64, .float64, .timestamp, .string],
            .max: [.int64, .float64, .timestamp, .string],
        ]
        for fn in AggregateFunction.allCases {
            for t in FieldType.allCases {
                let field = try #require(fieldOfType[t])
                let def = Self.view(aggregates: [AggregateSpec(name: "a", function: fn, field: field)])
                let ok = (try? CompiledView(def, schema: Self.schema)) != nil
                #expect(ok == accepted[fn]?.contains(t), "\(fn.rawValue) of \(t)")
                if !ok {
                    do {
                        _ = try CompiledView(def, schema: Self.schema)
                    } catch {
                        #expect(error.message.contains("aggregates[0].field"))
                        #expect(error.message.contains("aggregate 'a'"))
                        #expect(error.message.contains("'\(field)' is \(t)"))
                    }
                }
            }
        }
    }

    static let invalid: [(ViewDefinition, [String])] = [
        (view(stream: "other"), ["stream", "'other'", "'events'"]),
        (view(window: .tumbling(field: "nope", size: 1)), ["window.field", "unknown field 'nope'"]),
        (view(window: .tumbling(field: "i", size: 1)), ["window.field", "'i' has type int64, expected timestamp"]),
        (view(window: .hopping(field: "s", size: 10, slide: 5)), ["window.field", "'s' has type string"]),
        (view(window: .hopping(field: "ts", size: 10, slide: 0)), ["window.slide", "greater than 0"]),
        (view(window: .hopping(field: "ts", size: 0, slide: 0)), ["window.size", "greater than 0"]),
        (view(window: .tumbling(field: "ts", size: -1)), ["window.size", "greater than 0"]),
        (view(groupBy: ["s", "missing"]), ["groupBy[1]", "unknown field 'missing'"]),
        (view(aggregates: [AggregateSpec(name: "x", function: .sum, field: "ghost")]), ["aggregates[0].field", "unknown field 'ghost'"]),
        (view(aggregates: [AggregateSpec(name: "x", function: .max)]), ["aggregates[0].field", "max needs a field"]),
        (view(filter: "s = 5"), ["filter: position 1", "cannot compare string field 's' with integer 5"]),
        (view(filter: "i = 1 AND nope = 2"), ["filter: position 11", "unknown field 'nope'"]),
        (view(filter: "i = "), ["filter: position 5"]),
        (ViewDefinition(name: "v", stream: "events", allowedLateness: -1, aggregates: [AggregateSpec(name: "n", function: .count)]), ["allowedLateness", "negative"]),
    ]

    @Test(arguments: invalid)
    func errorsNameTheFieldOrAggregate(def: ViewDefinition, fragments: [String]) {
        do {
            _ = try CompiledView(def, schema: Self.schema)
            Issue.record("expected \(def) to be rejected")
        } catch {
            #expect(error.code == .view)
            for f in fragments { #expect(error.message.contains(f), "\(error.message) should contain \(f)") }
        }
    }

    @Test func compiledViewIsSendable() async throws {
        let v = try CompiledView(Self.view(filter: "i > 0"), schema: Self.schema)
        let fingerprints = await withTaskGroup(of: String.self) { group in
            for _ in 0..<4 { group.addTask { v.fingerprint } }
            var out: [String] = []
            for await f in group { out.append(f) }
            return out
        }
        #expect(Set(fingerprints) == [v.fingerprint])
    }

    /// Issue 11 item 7: the snapshot state columns of a view (format-spec.md §6.2) must have
    /// distinct names. A `sum` over int64 named `a` stores `state.a.sum`, `state.a.sumHigh` and
    /// `state.a.n`, so an aggregate named `a.n` (stored as `state.a.n`) used to pass `view create`
    /// and make every batch run fail. Compiling now refuses it, naming the aggregate.
    @Test func stateColumnNamesMustNotCollide() throws {
        func refusal(_ aggregates: [AggregateSpec]) -> String? {
            do {
                _ = try CompiledView(Self.view(aggregates: aggregates), schema: Self.schema)
                return nil
            } catch {
                #expect(error.code == .view)
                return error.message
            }
        }
        for suffix in ["sum", "sumHigh", "n"] {
            let other = "a." + suffix
            // The colliding name after the sum, and before it.
            let after = refusal([AggregateSpec(name: "a", function: .sum, field: "i"), AggregateSpec(name: other, function: .count)])
            #expect(after?.hasPrefix("aggregates[1].name: aggregate '\(other)'") == true, "\(after ?? "accepted")")
            #expect(after?.contains("'state.\(other)'") == true)
            #expect(after?.contains("aggregate 'a'") == true)
            let before = refusal([AggregateSpec(name: other, function: .max, field: "i"), AggregateSpec(name: "a", function: .sum, field: "i")])
            #expect(before?.hasPrefix("aggregates[1].name: aggregate 'a'") == true, "\(before ?? "accepted")")
            #expect(before?.contains("aggregate '\(other)'") == true)
        }
        // No collision: a sum over float64 stores one column `state.a`; other suffixes are free;
        // two int64 sums `a` and `a.n` store `state.a.{sum,sumHigh,n}` and `state.a.n.{…}`.
        #expect(refusal([AggregateSpec(name: "a", function: .sum, field: "d"), AggregateSpec(name: "a.n", function: .count)]) == nil)
        #expect(refusal([AggregateSpec(name: "a", function: .sum, field: "i"), AggregateSpec(name: "a.count", function: .count)]) == nil)
        #expect(refusal([AggregateSpec(name: "a", function: .sum, field: "i"), AggregateSpec(name: "a.n", function: .sum, field: "i")]) == nil)
        #expect(refusal([AggregateSpec(name: "a", function: .avg, field: "i"), AggregateSpec(name: "a.n", function: .count)]) == nil)
    }
}

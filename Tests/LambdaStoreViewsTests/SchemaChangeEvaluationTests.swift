import LambdaStoreCore
import LambdaStoreTestSupport
import Testing
import LambdaStoreViews

/// A view compiled against one schema version evaluates batches laid out under a later
/// compatible version the same way, and a batch it cannot read never traps (issue 10,
/// defect 2): the filter selects no rows of it and the table skips it.
@Suite struct SchemaChangeEvaluationTests {
    static let v1 = Schema(stream: "orders", eventTime: "ts", fields: [
        Field(name: "ts", type: .timestamp, nullable: true),
        Field(name: "merchant", type: .string),
        Field(name: "status", type: .string),
        Field(name: "amount", type: .int64, nullable: true),
    ])

    static func v2() throws -> Schema {
        try #require(try v1.evolved(to: Schema(stream: "orders", eventTime: "ts", fields: v1.fields + [Field(name: "note", type: .string, nullable: true)])))
    }

    static func view() throws -> CompiledView {
        let json = """
        {"name":"v","stream":"orders","filter":"status IN ('completed', 'shipped') AND amount > 10 AND merchant != 'm3'",
         "groupBy":["merchant"],"window":{"type":"tumbling","field":"ts","size":"1h"},"allowedLateness":"10m",
         "aggregates":[{"name":"n","fn":"count"},{"name":"total","fn":"sum","field":"amount"},{"name":"hi","fn":"max","field":"amount"}]}
        """
        return try CompiledView(ViewDefinition.parse(json: json), schema: v1)
    }

    /// Random rows under v1.
    static func batchV1(seed: UInt64, count: Int) -> ColumnBatch {
        var rng = SplitMix64(seed: seed)
        var b = ColumnBatch(schema: v1)
        let statuses = ["completed", "shipped", "pending", "cancelled"]
        for i in 0..<count {
            if rng.next() % 30 == 0 { b.columns[0].appendNull() } else { b.columns[0].append(int: 1_704_067_200_000 + Int64(i) * 60_000 - Int64(rng.next() % 3_600_000)) }
            b.columns[1].append(string: "m\(rng.next() % 5)")
            b.columns[2].append(string: statuses[Int(rng.next() % 4)])
            if rng.next() % 10 == 0 { b.columns[3].appendNull() } else { b.columns[3].append(int: Int64(rng.next() % 100)) }
        }
        return b
    }

    @Test func aBatchUnderALaterCompatibleSchemaGivesTheSameAnswer() throws {
        let view = try Self.view()
        let filter = try #require(view.filter)
        let v2 = try Self.v2()
        var t1 = ViewTable(layout: view.layout), t2 = ViewTable(layout: view.layout)
        for seed in 1...6 as ClosedRange<UInt64> {
            let b1 = Self.batchV1(seed: seed, count: 500)
            var b2 = b1.projected(from: Self.v1, to: v2)
            #expect(b2.columns.count == 5)
            // The added field holds values too, as new appends would.
            b2.columns[4] = Column.constant(.string("x"), type: .string, count: b2.count)
            let s1 = filter.evaluate(b1), s2 = filter.evaluate(b2)
            #expect(s1 == s2)
            #expect(s1.contains(1) && s1.contains(0))
            let a1 = t1.apply(b1, selection: s1, policy: .dropLate)
            let a2 = t2.apply(b2, selection: s2, policy: .dropLate)
            #expect(a1 == a2 && a1.appliedAssignments > 0)
        }
        #expect(t1.rows() == t2.rows())
        #expect(t1.maxEventTime == t2.maxEventTime && t1.lateEvents == t2.lateEvents)
    }

    /// Batches the view cannot read: a column of the wrong type, a missing column, storage
    /// that does not hold the rows. Documented behaviour: the filter selects no rows and the
    /// table applies nothing (not even to `maxEventTime`).
    static let unreadable: [(String, String, @Sendable (inout ColumnBatch) -> Void)] = [
        // (label, a word the error names, the damage). The filter reads merchant, status and
        // amount; the table (layout) reads ts, merchant and amount.
        ("status as int64", "'status'", { b in b.columns[2] = Column(type: .int64, count: b.count, nullCount: 0, validity: [], ints: Array(repeating: 1, count: b.count)) }),
        ("amount as string", "amount", { b in b.columns[3] = Column.constant(.string("12"), type: .string, count: b.count) }),
        ("ts as float64", "column 0", { b in b.columns[0] = Column(type: .float64, count: b.count, nullCount: 0, validity: [], doubles: Array(repeating: 1, count: b.count)) }),
        ("missing columns", "missing", { b in b.columns.removeLast(2) }),
        ("short string offsets", "'merchant'", { b in b.columns[1] = Column(type: .string, count: b.count, nullCount: 0, validity: [], offsets: [0, 1], utf8: [0x61]) }),
        ("short validity", "amount", { b in b.columns[3] = Column(type: .int64, count: b.count, nullCount: 1, validity: [0], ints: Array(repeating: 5, count: b.count)) }),
    ]

    @Test(arguments: 0..<unreadable.count)
    func aBatchTheViewCannotReadSelectsNothingAndIsSkipped(_ k: Int) throws {
        let (label, _, damage) = Self.unreadable[k]
        let view = try Self.view()
        let filter = try #require(view.filter)
        var b = Self.batchV1(seed: 9, count: 300)
        damage(&b)
        let s = filter.evaluate(b)
        if label != "ts as float64" {   // the filter does not read ts
            #expect(s == [UInt8](repeating: 0, count: b.count), "\(label)")
        }
        if label == "status as int64" { return }   // the table does not read status
        var t = ViewTable(layout: view.layout)
        t.apply(b, selection: nil, policy: .includeAll)
        #expect(t.cellCount == 0 && t.maxEventTime == nil, "\(label)")
        // The same table still takes a good batch afterwards.
        t.apply(Self.batchV1(seed: 9, count: 300), selection: nil, policy: .includeAll)
        #expect(t.cellCount > 0, "\(label)")
    }

    @Test(arguments: 0..<unreadable.count)
    func theReasonIsAvailableAsAnError(_ k: Int) throws {
        let (label, needle, damage) = Self.unreadable[k]
        let view = try Self.view()
        var b = Self.batchV1(seed: 9, count: 300)
        damage(&b)
        do {
            try view.check(b)
            Issue.record("\(label): accepted")
        } catch {
            #expect(error.code == .schema && error.description.contains(needle) && error.description.contains("'v'"), "\(label): \(error)")
        }
        try view.check(Self.batchV1(seed: 9, count: 300).projected(from: Self.v1, to: try Self.v2()))
        if label == "status as int64" { return }   // the table does not read status
        var t = ViewTable(layout: view.layout)
        let stats = t.apply(b, selection: nil, policy: .includeAll)
        #expect(stats.skippedRows == 300 && stats.skipReason != nil && stats.appliedAssignments == 0, "\(label)")
    }
}

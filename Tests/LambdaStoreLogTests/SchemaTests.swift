import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

@Suite struct SchemaApplyTests {
    let v1 = Schema(stream: "orders", eventTime: "ts", fields: [
        Field(name: "ts", type: .timestamp),
        Field(name: "amount", type: .int64),
    ])

    @Test func createEvolveNoOpAndPersistAcrossReopen() throws {
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: Fixture.root, fs: fs)
        #expect(try log.applySchema(v1) == .created(version: 1))
        // Identical, and same fields in another order: no-op, nothing written.
        let ops = fs.operationCount
        #expect(try log.applySchema(v1) == .unchanged(version: 1))
        #expect(try log.applySchema(Schema(stream: "orders", eventTime: "ts", fields: v1.fields.reversed())) == .unchanged(version: 1))
        #expect(fs.operationCount == ops)
        // Nullable field, then a defaulted one.
        var f2 = v1.fields + [Field(name: "note", type: .string, nullable: true)]
        #expect(try log.applySchema(Schema(stream: "orders", eventTime: "ts", fields: f2)) == .evolved(version: 2))
        f2.insert(Field(name: "channel", type: .string, defaultValue: .string("web")), at: 0)
        #expect(try log.applySchema(Schema(stream: "orders", eventTime: "ts", fields: f2)) == .evolved(version: 3))
        let s = try log.stream("orders")
        #expect(s.latestSchema.fields.map(\.name) == ["ts", "amount", "note", "channel"])
        log.close()

        // Only the durable state survives: the history must have been published durably.
        let again = try EventLog.open(root: Fixture.root, fs: fs.crashImage(.durableOnly))
        let s2 = try again.stream("orders")
        #expect(s2.latestSchema.version == 3)
        #expect(s2.schema(version: 1)?.fields == v1.fields)
        #expect(s2.schema(version: 2)?.fields.map(\.name) == ["ts", "amount", "note"])
        #expect(s2.latestSchema.field(named: "channel")?.defaultValue == .string("web"))
        #expect(try again.applySchema(Schema(stream: "orders", eventTime: "ts", fields: f2.reversed())) == .unchanged(version: 3))
    }

    @Test(arguments: [
        ("type change", [Field(name: "ts", type: .timestamp), Field(name: "amount", type: .float64)], "'amount'"),
        ("required add", [Field(name: "ts", type: .timestamp), Field(name: "amount", type: .int64), Field(name: "qty", type: .int64)], "'qty'"),
        ("removal", [Field(name: "ts", type: .timestamp)], "'amount'"),
        ("nullability", [Field(name: "ts", type: .timestamp), Field(name: "amount", type: .int64, nullable: true)], "'amount'"),
        ("default change", [Field(name: "ts", type: .timestamp), Field(name: "amount", type: .int64, defaultValue: .int64(1))], "'amount'"),
    ])
    func incompatibleChangeIsRejectedNamingTheField(_ c: (String, [Field], String)) throws {
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: Fixture.root, fs: fs)
        _ = try log.applySchema(v1)
        do {
            _ = try log.applySchema(Schema(stream: "orders", eventTime: "ts", fields: c.1))
            Issue.record("\(c.0): expected a rejection")
        } catch {
            #expect(error.matches(.schema, c.2), "\(c.0): \(error)")
        }
        #expect(try log.stream("orders").latestSchema.version == 1)
        log.close()
        #expect(try EventLog.open(root: Fixture.root, fs: fs).stream("orders").latestSchema.version == 1)
    }

    @Test func eventTimeChangeAndInvalidSchemasAreRejected() throws {
        let log = try EventLog.open(root: Fixture.root, fs: SimulatedFileSystem())
        _ = try log.applySchema(v1)
        let other = Schema(stream: "orders", eventTime: "ts2", fields: v1.fields + [Field(name: "ts2", type: .timestamp, nullable: true)])
        #expect(throws: LambdaStoreError.self) { try log.applySchema(other) }
        #expect(throws: LambdaStoreError.self) { try log.applySchema(Schema(stream: "bad/name", eventTime: "ts", fields: v1.fields)) }
        #expect(throws: LambdaStoreError.self) { try log.applySchema(Schema(stream: "x", eventTime: "amount", fields: v1.fields)) }
        #expect(log.streamNames() == ["orders"])
        do { _ = try log.stream("nope"); Issue.record("expected notFound") } catch { #expect(error.matches(.notFound, "nope")) }
    }

    @Test func historyFileRejectsEveryDamage() throws {
        var h = SchemaHistory(first: v1)
        h.append(try #require(try v1.evolved(to: Schema(stream: "orders", eventTime: "ts", fields: v1.fields + [Field(name: "n", type: .string, nullable: true, defaultValue: .string("é"))]))))
        let bytes = h.encoded()
        #expect(try SchemaHistory(decoding: bytes) == h)
        for i in 0..<bytes.count {
            var b = bytes
            b.flipBit(at: i, bit: i % 8)
            #expect(throws: LambdaStoreError.self, "flip at \(i)") { try SchemaHistory(decoding: b) }
        }
        for cut in 1..<bytes.count {
            #expect(throws: LambdaStoreError.self) { try SchemaHistory(decoding: Array(bytes.dropLast(cut))) }
        }
    }

    @Test func appendUnderAnOldVersionIsRejectedAndOldBatchesAreProjected() async throws {
        let log = try EventLog.open(root: Fixture.root, fs: SimulatedFileSystem())
        _ = try log.applySchema(v1)
        let s = try log.stream("orders")
        _ = try await s.append(try Fixture.batch(v1, [[.timestamp(5), .int64(1)]]), durability: .none)
        _ = try log.applySchema(Schema(stream: "orders", eventTime: "ts", fields: v1.fields + [Field(name: "channel", type: .string, defaultValue: .string("web"))]))
        do {
            _ = try await s.append(try Fixture.batch(v1, [[.timestamp(6), .int64(2)]]), durability: .none)
            Issue.record("expected a schema error")
        } catch {
            #expect(error.code == .schema)
        }
        _ = try await s.append(try Fixture.batch(s.latestSchema, [[.timestamp(7), .int64(3), .string("app")]]), durability: .none)
        #expect(try Fixture.allRows(s) == [[.timestamp(5), .int64(1), .string("web")], [.timestamp(7), .int64(3), .string("app")]])
        let infos = try s.batchInfos(in: 0..<2)
        #expect(infos.map(\.schemaVersion) == [1, 2])
    }
}

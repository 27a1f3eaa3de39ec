import Foundation
import Testing
@_spi(Internals) @testable import LambdaStore
import LambdaStoreCore
import LambdaStoreTestSupport

/// The typed appends (`Encodable` values, the row builder) skip the log's per-value scans
/// (UTF-8, `bool` values, the bitmap's null count), because they check each value as it is
/// added. These properties are what makes that sound: whatever a caller does through them —
/// valid records, wrong types, unknown fields, nulls where none are allowed, failed records
/// in the middle — every batch they hand to the log passes the full validation, and the
/// public `ColumnBatch` path still gets the full validation.
@Suite struct ValuesCheckedTests {
    static let schema = TypedAPITests.schema

    /// A random record attempt on the builder, sometimes broken in one of the ways a caller can.
    static func attempt(_ b: inout BatchBuilder, _ rng: inout SplitMix64) {
        let broken = rng.next() % 4 == 0 ? Int(rng.next() % 6) : -1
        try? b.append { row in
            try row.set("event_ts", Int64(bitPattern: rng.next() % 1_000_000))
            if broken == 0 { try row.set("merchant_id", 5) } else { try row.set("merchant_id", "m\(rng.next() % 9)" + (rng.next() % 5 == 0 ? "é" : "")) }
            if broken == 1 { try row.setNull("amount_cents") } else { try row.set("amount_cents", Int64(bitPattern: rng.next())) }
            if broken == 2 { try row.set("flag", 1.5) } else if rng.next() % 2 == 0 { try row.set("flag", rng.next() % 2 == 0) }
            if broken == 3 { try row.set("colour", "red") }
            if rng.next() % 3 == 0 { try row.set("rate", .null) } else { try row.set("rate", Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF)) }
            if rng.next() % 2 == 0 { try row.set("note", .string(String(repeating: "✓", count: Int(rng.next() % 4)))) }
            if broken == 4 { try row.set("event_ts", Date(timeIntervalSince1970: 1e15)) }
            if broken == 5 { throw CancellationError() }
        }
    }

    @Test func builderBatchesPassTheFullValidation() throws {
        var rng = SplitMix64(seed: 2024)
        for round in 0..<50 {
            var b = BatchBuilder(schema: Self.schema)
            for _ in 0..<Int(rng.next() % 200) { Self.attempt(&b, &rng) }
            #expect(throws: Never.self, "round \(round)") { try b.batch.validate(against: Self.schema) }
        }
    }

    @Test func encoderBatchesPassTheFullValidation() throws {
        var rng = SplitMix64(seed: 77)
        let plan = SchemaPlan(Self.schema)
        for round in 0..<50 {
            let orders = TypedAPITests.randomOrders(&rng, Int(rng.next() % 300))
            let batch = try RecordEncoder.encode(orders, plan: plan)
            #expect(batch.count == orders.count)
            #expect(throws: Never.self, "round \(round)") { try batch.validate(against: Self.schema) }
            // A failed append (a bad record in the middle) throws: no batch reaches the log.
            if !orders.isEmpty {
                let bad = [TypedAPITests.AnyRecord(orders[0]), TypedAPITests.AnyRecord(TypedAPITests.WrongType())]
                #expect(throws: LambdaStoreError.self) { _ = try RecordEncoder.encode(bad, plan: plan) }
            }
        }
    }

    /// The public `ColumnBatch` path keeps every per-value check: a batch with invalid UTF-8,
    /// a `bool` of 2, or a null in a non-nullable field is refused and nothing is written.
    @Test func columnBatchAppendsKeepTheFullValidation() async throws {
        let dir = makeTempDirectory("values-checked")
        let store = try await Store.open(at: dir)
        defer { store.close(); removeTree(dir) }
        try await store.applySchema(Self.schema)
        func base() -> ColumnBatch {
            var b = ColumnBatch(schema: Self.schema)
            b.columns[0].append(int: 1)
            b.columns[1].append(string: "m")
            b.columns[2].append(string: "completed")
            b.columns[3].append(int: 1)
            b.columns[4].appendNull()
            b.columns[5].append(int: 1)
            b.columns[6].appendNull()
            return b
        }
        var badUTF8 = base()
        badUTF8.columns[1] = Column(type: .string)
        [0xC3, 0x28].withUnsafeBytes { badUTF8.columns[1].append(utf8: $0) }
        var badBool = base()
        badBool.columns[5] = Column(type: .bool)
        badBool.columns[5].append(int: 2)
        var badNull = base()
        badNull.columns[3] = Column(type: .int64)
        badNull.columns[3].appendNull()
        for (name, b) in [("merchant_id", badUTF8), ("flag", badBool), ("amount_cents", badNull)] {
            await #expect(throws: LambdaStoreError.self, "\(name)") { try await store.append(b, to: "orders", durability: .none) }
        }
        #expect(try store.streamLog("orders").endOffset == 0)
        try await store.append(base(), to: "orders", durability: .none)
        #expect(try store.streamLog("orders").endOffset == 1)
    }
}

import Foundation
import Testing
@_spi(Internals) @testable import LambdaStore
import LambdaStoreCore
import LambdaStoreTestSupport

/// Large `Encodable` appends encode in parts on several threads and join the parts'
/// columns; these check the join against row-by-row references and the whole path against
/// the one-thread encoding.
@Suite struct ParallelEncodeTests {
    static func randomColumn(_ type: FieldType, rows: Int, nulls: Bool, dictionary: Bool, _ rng: inout SplitMix64) -> Column {
        var c = Column(type: type)
        for _ in 0..<rows {
            if nulls && rng.next() % 4 == 0 { c.appendNull(); continue }
            switch type {
            case .int64, .timestamp: c.append(int: Int64(bitPattern: rng.next()))
            case .float64: c.append(double: Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF))
            case .bool: c.append(int: Int64(rng.next() % 2))
            case .string: c.append(string: ["", "a", "é✓", "m\(rng.next() % 5)", String(repeating: "x", count: Int(rng.next() % 40))][Int(rng.next() % 5)])
            }
        }
        if dictionary, type == .string, !nulls {
            // The same values in dictionary form: entries = distinct strings, codes per row.
            var entries = Column(type: .string)
            var index: [String: UInt32] = [:]
            var codes: [UInt32] = []
            for r in 0..<rows {
                guard case .string(let s) = c.value(at: r) else { continue }
                if index[s] == nil { index[s] = UInt32(entries.count); entries.append(string: s) }
                codes.append(index[s] ?? 0)
            }
            if entries.count > 0 { return Column(count: rows, nullCount: 0, validity: [], dictionary: ColumnDictionary(entries: entries, codes: codes)) }
        }
        return c
    }

    /// `append(contentsOf:)` equals appending the rows one by one, for every type, with and
    /// without nulls on either side, dictionary-encoded or plain, at any length (bitmap
    /// bytes cut mid-byte included).
    @Test func joiningColumnsEqualsRowByRow() throws {
        var rng = SplitMix64(seed: 4242)
        for round in 0..<400 {
            let type = [FieldType.int64, .timestamp, .float64, .bool, .string][Int(rng.next() % 5)]
            let a = Self.randomColumn(type, rows: Int(rng.next() % 30), nulls: rng.next() % 2 == 0, dictionary: rng.next() % 3 == 0, &rng)
            let b = Self.randomColumn(type, rows: Int(rng.next() % 30), nulls: rng.next() % 2 == 0, dictionary: rng.next() % 3 == 0, &rng)
            var joined = a
            try joined.append(contentsOf: b)
            var reference = Column(type: type)
            for c in [a, b] { for r in 0..<c.count { try reference.append(c.value(at: r)) } }
            #expect(joined.count == reference.count, "round \(round)")
            #expect(joined.nullCount == reference.nullCount, "round \(round)")
            #expect((0..<joined.count).map { joined.value(at: $0) } == (0..<reference.count).map { reference.value(at: $0) }, "round \(round)")
            #expect(joined.storageProblem() == nil, "round \(round): \(joined.storageProblem() ?? "")")
            #expect(joined.problem(nullable: true) == nil, "round \(round)")
        }
        var ints = Column(type: .int64)
        #expect(throws: LambdaStoreError.self) { try ints.append(contentsOf: Column(type: .string)) }
    }

    /// An append large enough to encode on several threads stores exactly what the one-thread
    /// encoding stores, and an error in a later part names the record by its position in the
    /// whole sequence; nothing is appended then.
    @Test func largeAppendsEqualTheOneThreadEncoding() async throws {
        let dir = makeTempDirectory("parallel-encode")
        var options = StoreOptions()
        options.batchParallelism = 3
        let store = try await Store.open(at: dir, options: options)
        defer { store.close(); removeTree(dir) }
        try await store.applySchema(TypedAPITests.schema)
        var rng = SplitMix64(seed: 31)
        let orders = TypedAPITests.randomOrders(&rng, 9_001)
        let plan = SchemaPlan(TypedAPITests.schema)
        let serial = try RecordEncoder.encode(orders, plan: plan)
        for parts in [2, 3, 7] {
            let parallel = try RecordEncoder.encode(orders, plan: plan, parts: parts)
            #expect(TypedAPITests.rows(parallel) == TypedAPITests.rows(serial), "\(parts) parts")
            #expect(throws: Never.self) { try parallel.validate(against: TypedAPITests.schema) }
        }
        let range = try await store.append(orders, to: "orders", durability: .none)
        #expect(range == 0..<9_001)
        #expect(try TypedAPITests.records(store) == TypedAPITests.rows(try TypedAPITests.referenceBatch(orders)))

        var bad = orders.map { TypedAPITests.AnyRecord($0) }
        bad[7_777] = TypedAPITests.AnyRecord(TypedAPITests.WrongType())
        do {
            try await store.append(bad, to: "orders", durability: .none)
            Issue.record("a bad record in a later part was accepted")
        } catch {
            #expect(error.message.hasPrefix("record 7777: "), "\(error)")
        }
        #expect(try store.endOffset(of: "orders") == 9_001)
    }
}

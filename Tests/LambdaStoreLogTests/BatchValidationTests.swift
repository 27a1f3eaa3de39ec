import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

/// A batch that does not hold well-formed values of its schema is rejected at the API, naming
/// the field, before anything is written (issue 10, defect 1).
@Suite struct BatchValidationTests {
    static let schema = Schema(stream: "t", eventTime: "ts", fields: [
        Field(name: "ts", type: .timestamp),
        Field(name: "name", type: .string),
        Field(name: "qty", type: .int64),
        Field(name: "price", type: .float64, nullable: true),
        Field(name: "ok", type: .bool),
    ])

    /// Two good rows.
    static func good() -> ColumnBatch {
        var b = ColumnBatch(schema: schema)
        for i in 0..<2 {
            b.columns[0].append(int: 1_000 + Int64(i))
            b.columns[1].append(string: "n\(i)")
            b.columns[2].append(int: Int64(i))
            b.columns[3].append(double: 1.5)
            b.columns[4].append(int: 1)
        }
        return b
    }

    /// Each bad batch, the field and words its error must name.
    static let cases: [(String, String, String, @Sendable (inout ColumnBatch) -> Void)] = [
        ("int appended to a string column", "'name'", "append(int:)", { b in
            b.columns[1] = Column(type: .string)
            b.columns[1].append(int: 7)
            b.columns[1].append(string: "x")
        }),
        ("string appended to an int column", "'qty'", "append(string:)", { b in
            b.columns[2] = Column(type: .int64)
            b.columns[2].append(string: "seven")
            b.columns[2].append(int: 1)
        }),
        ("double appended to an int column", "'qty'", "append(double:)", { b in
            b.columns[2] = Column(type: .int64)
            b.columns[2].append(double: 7.5)
            b.columns[2].append(int: 1)
        }),
        ("int appended to a float column", "'price'", "append(int:)", { b in
            b.columns[3] = Column(type: .float64)
            b.columns[3].append(int: 7)
            b.columns[3].append(double: 1)
        }),
        ("short column storage", "'qty'", "1 int64 values for 2 rows", { b in
            b.columns[2] = Column(type: .int64, count: 2, nullCount: 0, validity: [], ints: [5])
        }),
        ("short string offsets", "'name'", "string offsets", { b in
            b.columns[1] = Column(type: .string, count: 2, nullCount: 0, validity: [], offsets: [0, 1], utf8: [0x61])
        }),
        ("decreasing string offsets", "'name'", "decrease", { b in
            b.columns[1] = Column(type: .string, count: 2, nullCount: 0, validity: [], offsets: [0, 3, 1], utf8: [0x61, 0x62, 0x63])
        }),
        ("string offsets beyond the bytes", "'name'", "beyond", { b in
            b.columns[1] = Column(type: .string, count: 2, nullCount: 0, validity: [], offsets: [0, 1, 9], utf8: [0x61, 0x62])
        }),
        ("invalid UTF-8", "'name'", "UTF-8", { b in
            b.columns[1] = Column(type: .string, count: 2, nullCount: 0, validity: [], offsets: [0, 1, 2], utf8: [0x61, 0xFF])
        }),
        ("row starting inside a character", "'name'", "UTF-8", { b in
            b.columns[1] = Column(type: .string, count: 2, nullCount: 0, validity: [], offsets: [0, 1, 2], utf8: [0xC3, 0xA9])
        }),
        ("null in a non-nullable column", "'qty'", "null in a non-nullable field", { b in
            b.columns[2] = Column(type: .int64)
            b.columns[2].appendNull()
            b.columns[2].append(int: 1)
        }),
        ("short validity bitmap", "'price'", "bitmap", { b in
            b.columns[3] = Column(type: .float64, count: 2, nullCount: 1, validity: [], doubles: [0, 1])
        }),
        ("null count not matching the bitmap", "'price'", "null count", { b in
            b.columns[3] = Column(type: .float64, count: 2, nullCount: 1, validity: [0b11], doubles: [1, 2])
        }),
        ("bool value that is not 0 or 1", "'ok'", "bool value 2", { b in
            b.columns[4] = Column(type: .bool)
            b.columns[4].append(int: 2)
            b.columns[4].append(int: 0)
        }),
        ("row count differing from the batch", "'ok'", "rows", { b in
            b.columns[4].append(int: 0)
        }),
    ]

    @Test(arguments: 0..<cases.count)
    func aMalformedBatchIsRejectedNamingTheFieldAndNothingIsWritten(_ k: Int) async throws {
        let (label, field, words, damage) = Self.cases[k]
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: Fixture.root, fs: fs)
        _ = try log.applySchema(Self.schema)
        let stream = try log.stream("t")
        _ = try await stream.append(Self.good(), durability: .sync)
        let end = stream.endOffset
        let ops = fs.operationCount
        var bad = Self.good()
        damage(&bad)
        do {
            _ = try await stream.append(bad, durability: .sync)
            Issue.record("\(label): accepted")
        } catch {
            #expect(error.matches(.schema, field, words), "\(label): \(error)")
        }
        #expect(stream.endOffset == end, "\(label)")
        #expect(fs.operationCount == ops, "\(label): something was written")
        #expect(try Fixture.allRows(stream).count == 2, "\(label)")
    }

    @Test func aMisTypedAppendKeepsTheColumnConsistent() {
        var c = Column(type: .string)
        c.append(int: 42)
        c.append(double: 1)
        c.append(string: "é")
        #expect(c.count == 3 && c.offsets == [0, 0, 0, 2])
        #expect(c.misTypedAppend == "append(int:) on a string column")
        #expect(c.storageProblem() == nil)
        // The encoder only ever sees consistent storage.
        var out: [UInt8] = []
        ColumnBatch(schemaVersion: 1, columns: [c]).encodePayload(into: &out, dictionaryStrings: true)
        var d = Column(type: .float64)
        d.append(int: 1)
        d.append(copyOf: c, row: 2)
        #expect(d.doubles == [0, 0] && d.misTypedAppend == "append(int:) on a float64 column")
    }

    @Test func aWellFormedBatchStillPasses() throws {
        try Self.good().validate(against: Self.schema)
        var b = Self.good()
        b.columns[3].appendNull()
        b.columns[0].append(int: 5)
        b.columns[1].append(string: "\u{1F600}")
        b.columns[2].append(int: 3)
        b.columns[4].append(int: 0)
        try b.validate(against: Self.schema)
    }
}

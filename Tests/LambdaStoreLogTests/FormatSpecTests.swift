import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

/// The worked example of format-spec.md §2.8 is decoded from the spec text itself, and the
/// writer must produce exactly those bytes, so spec and code cannot drift.
@Suite struct FormatSpecTests {
    static let schema = Schema(stream: "orders", eventTime: "event_ts", fields: [
        Field(name: "event_ts", type: .timestamp),
        Field(name: "merchant", type: .string),
    ])
    static let rows: [[Value]] = [
        [.timestamp(1_767_225_600_000), .string("m1")],
        [.timestamp(1_767_225_601_500), .string("m22")],
    ]

    /// The hex between the `<!-- hex:segment -->` markers of format-spec.md.
    static func specHex(_ marker: String) throws -> [UInt8] {
        let specPath = String(#filePath.split(separator: "/").dropLast(3).joined(separator: "/"))
        let spec = try PosixFileSystem().readFile("/" + specPath + "/format-spec.md", limit: 1 << 20)
        let text = String(decoding: spec, as: UTF8.self)
        let begin = try #require(text.firstRange(of: "<!-- hex:\(marker) -->"))
        let end = try #require(text[begin.upperBound...].firstRange(of: "<!-- /hex:\(marker) -->"))
        var out: [UInt8] = []
        for line in text[begin.upperBound..<end.lowerBound].split(separator: "\n") {
            // `0000: 4c 53 53 47 ...  | comment`: the offset, then byte pairs up to `|`.
            guard let colon = line.firstIndex(of: ":") else { continue }
            let body = line[line.index(after: colon)...].split(separator: "|", maxSplits: 1).first ?? ""
            for pair in body.split(separator: " ") { out.append(try #require(UInt8(pair, radix: 16), "bad hex '\(pair)'")) }
        }
        return out
    }

    /// The segment the writer produces for the example (fixed clock, codec none).
    static func written() async throws -> [UInt8] {
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: "/s", fs: fs, options: LogOptions(codec: .none, clock: { 1_767_225_600_000 }))
        _ = try log.applySchema(schema)
        _ = try await log.stream("orders").append(try Fixture.batch(schema, rows), durability: .sync)
        log.close()
        return try #require(fs.contents("/s/streams/orders/00000000000000000000.segment"))
    }

    @Test func workedSegmentExampleMatchesTheSpec() async throws {
        let bytes = try Self.specHex("segment")
        #expect(bytes.count == 32 + 56 + 43)
        #expect(try await Self.written() == bytes, "the writer no longer produces the spec's bytes")
        let d = try LogInspector.dumpSegment(bytes: bytes, schemas: SchemaHistory(first: Self.schema), includeRecords: true)
        #expect(d.problem == nil && d.tail == .clean && d.formatVersion == 2 && d.baseOffset == 0 && d.createdAtMillis == 1_767_225_600_000)
        let b = try #require(d.batches.first)
        #expect(d.batches.count == 1)
        #expect(b.baseOffset == 0 && b.count == 2 && b.schemaVersion == 1 && b.codec == .none && b.checksumOk)
        #expect(b.minEventTime == 1_767_225_600_000 && b.maxEventTime == 1_767_225_601_500)
        #expect(b.bytes == 56 + 43 && b.uncompressedBytes == 43)
        #expect(b.records == Self.rows)
    }

    @Test func workedIndexExamplesMatchTheSpec() async throws {
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: "/s", fs: fs, options: LogOptions(codec: .none, clock: { 1_767_225_600_000 }))
        _ = try log.applySchema(Self.schema)
        _ = try await log.stream("orders").append(try Fixture.batch(Self.schema, Self.rows), durability: .sync)
        log.close()
        #expect(fs.contents("/s/streams/orders/00000000000000000000.index") == (try Self.specHex("index")))
        #expect(fs.contents("/s/streams/orders/00000000000000000000.timeindex") == (try Self.specHex("timeindex")))
        #expect(fs.contents("/s/streams/orders/schema") == (try Self.specHex("schema")))
    }
}

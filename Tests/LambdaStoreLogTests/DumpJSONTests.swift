import Foundation
import Testing
import LambdaStoreCore
@testable import LambdaStoreLog
import LambdaStoreTestSupport

@Suite struct DumpJSONTests {
    /// `dump segment --json` shape (DESIGN.md): exactly these keys, event times null when absent.
    @Test func segmentDumpEncodesTheContractKeys() async throws {
        let fs = SimulatedFileSystem()
        let log = try EventLog.open(root: Fixture.root, fs: fs, options: LogOptions(codec: .zstd))
        _ = try log.applySchema(Fixture.allTypes)
        let s = try log.stream("all")
        _ = try await s.append(try Fixture.batch(Fixture.allTypes, [[.timestamp(5), .null, .float64(.infinity), .string("é"), .bool(true), .int64(1)]]), durability: .sync)
        _ = try await s.append(try Fixture.batch(Fixture.allTypes, [[.null, .int64(2), .null, .null, .null, .int64(2)]]), durability: .sync)
        log.close()
        let dump = try LogInspector.dumpSegment(path: "/store/streams/all/00000000000000000000.segment", fs: fs, includeRecords: true)
        var plain = dump
        for i in plain.batches.indices { plain.batches[i].records = nil }
        let obj = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(plain)) as? [String: Any])
        #expect(Set(obj.keys) == ["file", "formatVersion", "batches"])
        #expect(obj["formatVersion"] as? Int == 2)
        let batches = try #require(obj["batches"] as? [[String: Any]])
        #expect(batches.count == 2)
        #expect(Set(batches[0].keys) == ["baseOffset", "count", "minEventTime", "maxEventTime", "schemaVersion", "codec", "bytes", "checksumOk"])
        #expect(batches[0]["codec"] as? String == "none" || batches[0]["codec"] as? String == "zstd")
        #expect(batches[0]["minEventTime"] as? Int == 5 && batches[0]["checksumOk"] as? Bool == true)
        #expect(batches[1]["minEventTime"] is NSNull && batches[1]["maxEventTime"] is NSNull)
        let withRecords = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(dump)) as? [String: Any])
        let rows = try #require(((withRecords["batches"] as? [[String: Any]])?[0]["records"]) as? [[Any]])
        #expect(rows[0][3] as? String == "é" && rows[0][1] is NSNull && rows[0][2] as? String == "inf")

        let ix = try LogInspector.dumpIndex(path: "/store/streams/all/00000000000000000000.timeindex", fs: fs)
        let ixObj = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(ix)) as? [String: Any])
        #expect(ixObj["kind"] as? String == "timeindex" && (ixObj["entries"] as? [Any])?.count == 2)
    }
}

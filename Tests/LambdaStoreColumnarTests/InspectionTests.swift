import Foundation
import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

@Suite struct InspectionTests {
    @Test func describeReportsEncodingsStatisticsAndChecksums() throws {
        var w = Column(type: .timestamp), k = Column(type: .string), v = Column(type: .int64), f = Column(type: .float64), h = Column(type: .string)
        for i in 0..<100 {
            if i < 5 { w.appendNull() } else { w.append(int: 3_600_000 * Int64(i / 50)) }
            k.append(string: ["b", "a", "c"][i % 3])
            v.append(int: Int64(i * 7))
            f.append(double: 0.5)
            [UInt8(i), 0, 255].withUnsafeBytes { h.append(utf8: $0) }
        }
        let columns = [SnapshotColumn(name: "window_start", type: .timestamp, nullable: true), SnapshotColumn(name: "k", type: .string),
                       SnapshotColumn(name: "v", type: .int64), SnapshotColumn(name: "f", type: .float64), SnapshotColumn(name: "h", type: .bytes)]
        let fs = SimulatedFS()
        let writer = try SnapshotWriter(fs: fs, path: "s", columns: columns, options: SnapshotOptions(codec: .lz4), metadata: ["view": "x"])
        try writer.append(columns: [w, k, v, f, h])
        let info = try writer.finish()
        let d = try SnapshotInspector.describe(fs: fs, path: "s")
        #expect(d.file == "s" && d.formatVersion == 1 && d.bytes == info.bytes && d.rows == 100 && d.metadata == ["view": "x"])
        #expect(d.columns.map(\.type) == ["timestamp", "string", "int64", "float64", "bytes"])
        let chunks = d.rowGroups[0].chunks
        #expect(chunks.map(\.encoding) == ["rle", "dictionary", "delta", "rle", "plain"])
        #expect(chunks[0].nullCount == 5 && chunks[0].min == .timestamp(0) && chunks[0].max == .timestamp(3_600_000))
        #expect(chunks[1].min == .string("a") && chunks[1].max == .string("c") && chunks[1].minExact && chunks[1].maxExact)
        #expect(chunks[2].min == .int64(0) && chunks[2].max == .int64(693))
        #expect(chunks[3].min == .float64(0.5) && chunks[4].min == nil)
        #expect(chunks.allSatisfy { $0.checksumOk })
        #expect(chunks.map(\.offset) == d.rowGroups[0].chunks.map(\.offset).sorted())
        #expect(d.text.contains("window_start @ 16: rle/"))

        // JSON for `dump snapshot --json`.
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let json = try #require(String(data: try enc.encode(d), encoding: .utf8))
        for key in ["\"file\":\"s\"", "\"formatVersion\":1", "\"rows\":100", "\"encoding\":\"rle\"", "\"codec\":", "\"storedBytes\":",
                    "\"uncompressedBytes\":", "\"checksumOk\":true", "\"min\":\"a\"", "\"max\":693", "\"min\":null", "\"metadata\":{\"view\":\"x\"}"] {
            #expect(json.contains(key), "\(key) missing from \(json)")
        }
        let problem = VerificationProblem(path: "s", offset: 16, message: "m")
        #expect(problem.description == "s @ 16: m")
    }

    @Test func verifyReportsFooterStatisticsThatLie() throws {
        // A footer whose statistics do not match the values (a writer bug) is reported.
        var c = Column(type: .int64)
        for i in 0..<10 { c.append(int: Int64(i)) }
        let good = try SnapshotWriter.encode(columns: [SnapshotColumn(name: "x", type: .int64)], data: [c], options: SnapshotOptions(codec: .none))
        let r = try SnapshotReader(bytes: good)
        var groups = r.rowGroups
        groups[0].chunks[0].statistics.bounds = .ints(min: 0, max: 8)
        let footer = SnapshotFooter(columns: r.columns, metadata: [], rowCount: r.rowCount, rowGroups: groups).encode()
        let lying = CorruptionTests.resealed(good) { $0 = footer }
        #expect(try SnapshotReader(bytes: lying).readColumns(["x"])[0].ints == c.ints, "the reader trusts the CRC-valid footer")
        let problems = SnapshotInspector.verify(bytes: lying)
        #expect(problems.count == 1 && problems[0].message.contains("statistics"), "\(problems)")
    }

    @Test func verifyNeverThrowsOnMissingOrTinyFiles() {
        let fs = SimulatedFS()
        #expect(SnapshotInspector.verify(fs: fs, path: "nope").count == 1)
        fs.setContents("tiny", [1, 2, 3])
        #expect(SnapshotInspector.verify(fs: fs, path: "tiny").count >= 1)
        #expect(ManifestInspector.verify(fs: fs, path: "tiny").count == 1)
        #expect(ManifestInspector.verify(fs: fs, path: "nope").count == 1)
    }
}

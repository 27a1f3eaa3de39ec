import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

import Foundation

/// The worked examples of format-spec.md §4.8 and §5.4: the hex there must be exactly what the
/// writer produces, and must decode to the documented values, so the spec cannot drift.
@Suite struct SpecExampleTests {
    static let columns = [SnapshotColumn(name: "n", type: .int64), SnapshotColumn(name: "k", type: .string, nullable: true)]

    static func exampleSnapshot() throws -> [UInt8] {
        var n = Column(type: .int64)
        for v in [5, 6, 7] as [Int64] { n.append(int: v) }
        var k = Column(type: .string)
        k.append(string: "ab")
        k.appendNull()
        k.append(string: "ab")
        return try SnapshotWriter.encode(columns: columns, data: [n, k], options: SnapshotOptions(codec: .none, preferredEncoding: .dictionary),
                                         metadata: ["view": "v"])
    }

    static func exampleManifest(snapshot: [UInt8]) -> Manifest {
        Manifest(generation: 1, view: "v", fingerprint: "fp", horizon: 3, maxEventTime: 1000,
                 files: [ManifestFile(name: "00000000000000000003.snapshot", bytes: Int64(snapshot.count), rows: 3, crc32c: CRC32C.checksum(snapshot))])
    }

    /// `0000  4c 41 ...` lines, 16 bytes each.
    static func hexDump(_ b: [UInt8]) -> String {
        stride(from: 0, to: b.count, by: 16).map { at in
            let off = String(at, radix: 16)
            return String(repeating: "0", count: 4 - off.count) + off + "  " + b[at..<min(b.count, at + 16)].map { x in
                let h = String(x, radix: 16)
                return h.count == 1 ? "0" + h : h
            }.joined(separator: " ")
        }.joined(separator: "\n")
    }

    /// The bytes of the fenced block after `<!-- example: name -->` in format-spec.md.
    static func specBytes(_ name: String) throws -> [UInt8] {
        let specPath = String(#filePath.prefix(upTo: try #require(#filePath.range(of: "/Tests/")).lowerBound)) + "/format-spec.md"
        let text = try String(contentsOfFile: specPath, encoding: .utf8)
        let marker = try #require(text.range(of: "<!-- example: \(name) -->"), "marker for \(name) missing from format-spec.md")
        let rest = text[marker.upperBound...]
        let open = try #require(rest.range(of: "```"))
        let afterOpen = rest[open.upperBound...]
        let body = afterOpen[try #require(afterOpen.firstIndex(of: "\n"))...]
        let close = try #require(body.range(of: "```"))
        var out: [UInt8] = []
        for line in body[..<close.lowerBound].split(separator: "\n") {
            for token in line.split(separator: " ").dropFirst() { out.append(try #require(UInt8(token, radix: 16), "bad hex \(token)")) }
        }
        return out
    }

    @Test func snapshotExampleMatchesTheSpec() throws {
        let bytes = try Self.exampleSnapshot()
        if ProcessInfo.processInfo.environment["PRINT_SPEC_EXAMPLES"] != nil {
            print(Self.hexDump(bytes))
            print("crc \(hex32(CRC32C.checksum(bytes))) size \(bytes.count)")
            print(Self.hexDump(Self.exampleManifest(snapshot: bytes).encode()))
        }
        #expect(try Self.specBytes("snapshot") == bytes, "format-spec.md §4.8 differs from the writer:\n\(Self.hexDump(bytes))")
        let r = try SnapshotReader(bytes: try Self.specBytes("snapshot"))
        #expect(r.metadata == ["view": "v"] && r.rowCount == 3 && r.columns == Self.columns)
        let cols = try r.readColumns(["n", "k"])
        #expect(cols[0].ints == [5, 6, 7])
        #expect((0..<3).map { cols[1].value(at: $0) } == [.string("ab"), .null, .string("ab")])
        #expect(r.rowGroups[0].chunks.map(\.encoding) == [.bitpack, .dictionary])
    }

    @Test func manifestExampleMatchesTheSpec() throws {
        let m = Self.exampleManifest(snapshot: try Self.exampleSnapshot())
        #expect(try Self.specBytes("manifest") == m.encode(), "format-spec.md §5.4 differs from the encoder:\n\(Self.hexDump(m.encode()))")
        #expect(try Manifest.decode(try Self.specBytes("manifest"), path: "MANIFEST") == m)
    }
}

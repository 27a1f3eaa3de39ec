import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

/// A (type, encoding) pair that applies.
struct TypeEncoding: Sendable, CustomTestStringConvertible {
    var type: SnapshotType
    var encoding: SnapshotEncoding
    var testDescription: String { "\(type)/\(encoding)" }

    static let all: [TypeEncoding] = SnapshotType.allCases.flatMap { t in t.encodings.map { TypeEncoding(type: t, encoding: $0) } }
}

@Suite struct RoundTripTests {
    /// Writes `data` under `columns` with `options`, reads everything back, and compares.
    @discardableResult
    static func roundTrip(_ columns: [SnapshotColumn], _ data: [Column], _ options: SnapshotOptions, seed: UInt64,
                          sourceLocation: SourceLocation = #_sourceLocation) throws -> SnapshotReader {
        let bytes = try SnapshotWriter.encode(columns: columns, data: data, options: options, metadata: ["seed": "\(seed)"])
        let r = try SnapshotReader(bytes: bytes)
        #expect(r.rowCount == Int64(data.first?.count ?? 0), "seed \(seed)", sourceLocation: sourceLocation)
        #expect(r.columns == columns, sourceLocation: sourceLocation)
        #expect(r.metadata == ["seed": "\(seed)"], sourceLocation: sourceLocation)
        let back = try r.readColumns(columns.map(\.name))
        for (i, c) in columns.enumerated() {
            #expect(TestData.difference(data[i], back[i]) == nil, "column \(c.name) (\(c.type)), seed \(seed): \(TestData.difference(data[i], back[i]) ?? "")", sourceLocation: sourceLocation)
        }
        #expect(SnapshotInspector.verify(bytes: bytes).isEmpty, "seed \(seed): \(SnapshotInspector.verify(bytes: bytes))", sourceLocation: sourceLocation)
        return r
    }

    @Test("every type × every encoding × every codec, with and without nulls", arguments: TypeEncoding.all, Codec.allCases)
    func everyTypeEncodingCodec(_ te: TypeEncoding, codec: Codec) throws {
        for (k, shape) in TestData.Shape.allCases.enumerated() {
            for nullPercent in [0, 25, 100] {
                let seed = UInt64(k * 1000 + nullPercent) ^ UInt64(te.type.rawValue) << 32
                var rng = SplitMix64(seed: seed)
                let rows = 1 + Int(rng.next() % 3000)
                let col = SnapshotColumn(name: "c", type: te.type, nullable: nullPercent > 0)
                let data = TestData.column(te.type, rows: rows, shape: shape, nullPercent: nullPercent, rng: &rng)
                // Row groups of an odd size, so validity bitmaps are not byte-aligned.
                let options = SnapshotOptions(codec: codec, zstdLevel: 1, rowGroupRows: 1 + Int(rng.next() % 1500), preferredEncoding: te.encoding)
                let r = try Self.roundTrip([col], [data], options, seed: seed)
                for g in r.rowGroups {
                    #expect(g.chunks[0].encoding == te.encoding, "seed \(seed) \(shape)")
                    #expect(g.chunks[0].codec == codec || g.chunks[0].codec == .none)
                }
            }
        }
    }

    @Test("row groups are read in any order and subset", arguments: [Codec.none, .lz4, .zstd])
    func rowGroupSubsets(codec: Codec) throws {
        var rng = SplitMix64(seed: 99)
        let types: [SnapshotType] = SnapshotType.allCases
        let columns = types.map { SnapshotColumn(name: "\($0)", type: $0, nullable: true) }
        let data = types.map { TestData.column($0, rows: 1000, shape: .fewDistinct, nullPercent: 10, rng: &rng) }
        let bytes = try SnapshotWriter.encode(columns: columns, data: data, options: SnapshotOptions(codec: codec, rowGroupRows: 129))
        let r = try SnapshotReader(bytes: bytes)
        #expect(r.rowGroups.count == 8)
        for pick in [[3], [7, 0, 2], [5, 5], []] {
            let got = try r.readColumns(columns.map(\.name), rowGroups: pick)
            for (i, t) in types.enumerated() {
                let expected = TestData.concat(pick.map { g in TestData.slice(data[i], (g * 129)..<min(1000, (g + 1) * 129)) }, type: t.storage)
                #expect(TestData.difference(expected, got[i]) == nil, "\(t) groups \(pick)")
            }
        }
        #expect(throws: LambdaStoreError.self) { _ = try r.readColumns(["int64"], rowGroups: [8]) }
        #expect(throws: LambdaStoreError.self) { _ = try r.readColumns(["nope"]) }
    }

    @Test("empty columns make a file with no row groups", arguments: SnapshotType.allCases)
    func emptyColumns(type: SnapshotType) throws {
        let col = SnapshotColumn(name: "e", type: type, nullable: true)
        let r = try Self.roundTrip([col], [Column(type: type.storage)], SnapshotOptions(), seed: 0)
        #expect(r.rowGroups.isEmpty)
        let back = try r.readColumns(["e"])
        #expect(back[0].count == 0 && back[0].type == type.storage)
        // An empty row group appended explicitly is skipped too.
        let w = try SnapshotWriter(columns: [col])
        try w.append(rowGroupColumns: [Column(type: type.storage)])
        #expect(try SnapshotReader(bytes: try w.finishToBytes()).rowGroups.isEmpty)
    }

    @Test("single-row row groups", arguments: [SnapshotEncoding.plain, .rle, .delta, .bitpack, .dictionary])
    func singleRowGroups(encoding: SnapshotEncoding) throws {
        var rng = SplitMix64(seed: 5)
        let types: [SnapshotType] = [.int64, .string, .float64, .bool]
        let columns = types.map { SnapshotColumn(name: "\($0)", type: $0, nullable: true) }
        let data = types.map { TestData.column($0, rows: 20, shape: .random, nullPercent: 30, rng: &rng) }
        let r = try Self.roundTrip(columns, data, SnapshotOptions(codec: .lz4, rowGroupRows: 1, preferredEncoding: encoding), seed: 5)
        #expect(r.rowGroups.count == 20)
        #expect(r.rowGroups.allSatisfy { $0.rowCount == 1 })
    }

    @Test("long strings and large blobs, with cut statistics", arguments: [Codec.none, .zstd])
    func longStrings(codec: Codec) throws {
        var rng = SplitMix64(seed: 11)
        var s = Column(type: .string)
        var b = Column(type: .string)
        for i in 0..<12 {
            let n = [0, 1, 63, 64, 65, 1000, 100_000, 300_000][i % 8]
            let text = String(repeating: "é", count: n / 2) + (i % 2 == 0 ? "a" : "")
            s.append(string: text)
            let blob = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            blob.withUnsafeBytes { b.append(utf8: $0) }
        }
        s.append(string: String(repeating: "\u{10FFFF}", count: 40))  // max bytes F4 8F BF BF: cut max still bounds it
        b.append(utf8: UnsafeRawBufferPointer(start: nil, count: 0))
        let cols = [SnapshotColumn(name: "s", type: .string), SnapshotColumn(name: "b", type: .bytes)]
        let r = try Self.roundTrip(cols, [s, b], SnapshotOptions(codec: codec, rowGroupRows: 4), seed: 11)
        let stats = r.rowGroups.map { $0.chunks[0].statistics }
        #expect(stats.contains { if case .bytes(let lo, _, false, _)? = $0.bounds { lo.count <= 64 } else { false } })
        #expect(stats.contains { if case .bytes(_, let hi, _, false)? = $0.bounds { hi.count <= 64 } else { false } })
        #expect(r.rowGroups.allSatisfy { $0.chunks[1].statistics.bounds == nil }, "bytes columns carry no bounds")
        // Cut bounds still bound every value of their chunk.
        for g in r.rowGroups {
            guard case .bytes(let lo, let hi, _, _)? = g.chunks[0].statistics.bounds else { continue }
            let col = try r.readColumns(["s"], rowGroups: [g.index])[0]
            for i in 0..<col.count {
                let v = TestData.bytes(col, i)
                #expect(compareBytes(lo, v) <= 0 && compareBytes(v, hi) <= 0, "row group \(g.index) row \(i)")
            }
        }
    }

    @Test func appendRowGroupsOneByOne() throws {
        var rng = SplitMix64(seed: 21)
        let columns = [SnapshotColumn(name: "t", type: .timestamp, nullable: true), SnapshotColumn(name: "k", type: .string),
                       SnapshotColumn(name: "v", type: .float64, nullable: true)]
        let w = try SnapshotWriter(columns: columns, options: SnapshotOptions(codec: .lz4))
        var parts: [[Column]] = []
        for g in 0..<6 {
            let rows = [1, 7, 300, 8, 9, 2000][g]
            let part = [TestData.column(.timestamp, rows: rows, shape: .runs, nullPercent: 5, rng: &rng),
                        TestData.column(.string, rows: rows, shape: .fewDistinct, nullPercent: 0, rng: &rng),
                        TestData.column(.float64, rows: rows, shape: .random, nullPercent: 50, rng: &rng)]
            try w.append(rowGroupColumns: part)
            parts.append(part)
        }
        let r = try SnapshotReader(bytes: try w.finishToBytes())
        #expect(r.rowGroups.map(\.rowCount) == [1, 7, 300, 8, 9, 2000])
        #expect(r.rowGroups.map(\.firstRow) == [0, 1, 8, 308, 316, 325])
        let back = try r.readColumns(["t", "k", "v"])
        for c in 0..<3 {
            let expected = TestData.concat(parts.map { $0[c] }, type: columns[c].type.storage)
            #expect(TestData.difference(expected, back[c]) == nil, "column \(c)")
        }
    }

    @Test func writerRejectsMismatchedInput() throws {
        let cols = [SnapshotColumn(name: "a", type: .int64), SnapshotColumn(name: "b", type: .bool)]
        var a = Column(type: .int64)
        a.append(int: 1)
        var b = Column(type: .bool)
        b.append(int: 1)
        let w = try SnapshotWriter(columns: cols)
        var nullA = a
        nullA.appendNull()
        var b2 = b
        b2.append(int: 0)
        var badBool = Column(type: .bool)
        badBool.append(int: 2)
        for (data, needle) in [([a], "columns"), ([Column(type: .string), b], "'a'"), ([a, Column(type: .bool)], "rows"),
                               ([nullA, b2], "nullable"), ([a, badBool], "bool value 2")] {
            do {
                try w.append(columns: data)
                Issue.record("accepted bad input (\(needle))")
            } catch {
                #expect(error.code == .invalidArgument && error.message.contains(needle), "\(error)")
            }
        }
        #expect(throws: LambdaStoreError.self) { _ = try SnapshotWriter(columns: []) }
        #expect(throws: LambdaStoreError.self) { _ = try SnapshotWriter(columns: cols + cols) }
        #expect(throws: LambdaStoreError.self) { _ = try SnapshotWriter(columns: cols, options: SnapshotOptions(rowGroupRows: 0)) }
        #expect(throws: LambdaStoreError.self) { _ = try SnapshotWriter(columns: cols, metadata: ["": "x"]) }
        _ = try w.finishToBytes()
        #expect(throws: LambdaStoreError.self) { try w.append(columns: [a, b]) }
    }
}

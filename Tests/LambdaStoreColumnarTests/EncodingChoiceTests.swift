import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

@Suite struct EncodingChoiceTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var type: SnapshotType
        var shape: TestData.Shape
        var expected: SnapshotEncoding
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "window starts with long runs → rle", type: .timestamp, shape: .runs, expected: .rle),
        Case(name: "constant column → rle", type: .int64, shape: .constant, expected: .rle),
        Case(name: "sorted timestamps with small steps → delta", type: .timestamp, shape: .sortedSteps, expected: .delta),
        Case(name: "values in a narrow range → bitpack", type: .int64, shape: .smallRange, expected: .bitpack),
        Case(name: "random 64-bit integers → plain", type: .int64, shape: .random, expected: .plain),
        Case(name: "random bools → bitpack", type: .bool, shape: .random, expected: .bitpack),
        Case(name: "float runs → rle", type: .float64, shape: .runs, expected: .rle),
        Case(name: "random floats → plain", type: .float64, shape: .random, expected: .plain),
        Case(name: "few distinct strings → dictionary", type: .string, shape: .fewDistinct, expected: .dictionary),
        Case(name: "distinct strings → plain", type: .string, shape: .random, expected: .plain),
        Case(name: "distinct blobs → plain", type: .bytes, shape: .random, expected: .plain),
        Case(name: "repeated blobs → dictionary", type: .bytes, shape: .fewDistinct, expected: .dictionary),
    ]

    @Test(arguments: cases)
    func writerPicksTheExpectedEncoding(_ c: Case) throws {
        var rng = SplitMix64(seed: 1234)
        let data = TestData.column(c.type, rows: 5000, shape: c.shape, nullPercent: 0, rng: &rng)
        let r = try RoundTripTests.roundTrip([SnapshotColumn(name: "c", type: c.type)], [data], SnapshotOptions(codec: .none, rowGroupRows: 2500), seed: 1234)
        for g in r.rowGroups { #expect(g.chunks[0].encoding == c.expected, "row group \(g.index)") }
    }

    @Test func chosenEncodingIsNeverLargerThanAnyOther() throws {
        // The automatic choice is the smallest encoded size among the applicable encodings.
        for type in SnapshotType.allCases {
            for shape in TestData.Shape.allCases {
                var rng = SplitMix64(seed: 77)
                let data = TestData.column(type, rows: 3000, shape: shape, nullPercent: 10, rng: &rng)
                let auto = ChunkEncoder.encode(data, range: 0..<data.count, type: type, preferred: nil)
                for e in type.encodings {
                    let forced = ChunkEncoder.encode(data, range: 0..<data.count, type: type, preferred: e)
                    #expect(auto.bytes.count <= forced.bytes.count, "\(type) \(shape): auto \(auto.encoding) \(auto.bytes.count) > \(e) \(forced.bytes.count)")
                }
            }
        }
    }

    @Test func incompressibleChunksAreStoredUncompressed() throws {
        var rng = SplitMix64(seed: 3)
        let data = TestData.column(.int64, rows: 4000, shape: .random, nullPercent: 0, rng: &rng)
        let r = try RoundTripTests.roundTrip([SnapshotColumn(name: "c", type: .int64)], [data], SnapshotOptions(codec: .zstd), seed: 3)
        #expect(r.rowGroups[0].chunks[0].codec == .none)
        #expect(r.rowGroups[0].chunks[0].storedBytes == r.rowGroups[0].chunks[0].encodedBytes)
        // Compressible data keeps the codec.
        var runs = Column(type: .string)
        for i in 0..<4000 { runs.append(string: "merchant-\(i % 3)-\(String(repeating: "x", count: 40))") }
        let r2 = try RoundTripTests.roundTrip([SnapshotColumn(name: "s", type: .string)], [runs], SnapshotOptions(codec: .zstd, preferredEncoding: .plain), seed: 3)
        #expect(r2.rowGroups[0].chunks[0].codec == .zstd)
        #expect(r2.rowGroups[0].chunks[0].storedBytes < r2.rowGroups[0].chunks[0].encodedBytes / 10)
    }

    @Test("bit packing round-trips every width", arguments: Array(0...64))
    func bitPackingEveryWidth(width: Int) {
        var rng = SplitMix64(seed: UInt64(width))
        let mask: UInt64 = width == 64 ? ~0 : (1 << UInt64(width)) - 1
        for count in [0, 1, 7, 8, 9, 63, 64, 65, 1000] {
            let values = (0..<count).map { _ in rng.next() & mask }
            var packed: [UInt8] = [0xAB]  // packing appends after existing bytes
            BitPacking.pack(count: count, width: width, into: &packed) { values[$0] }
            #expect(packed.count == 1 + BitPacking.packedBytes(count: count, width: width))
            var back = [UInt64](repeating: 0, count: count)
            packed.withUnsafeBytes { raw in
                BitPacking.unpack(UnsafeRawBufferPointer(rebasing: raw[1...]), count: count, width: width) { back[$0] = $1 }
            }
            #expect(back == values, "width \(width) count \(count)")
            // Unused high bits of the last byte are zero.
            if (count * width) % 8 != 0, let last = packed.last {
                #expect(last >> UInt8((count * width) % 8) == 0)
            }
        }
    }
}

@Suite struct IntSizeTests {
    @Test(arguments: [0, 1, 2, 1023, 1024, 1025, 2048, 2049, 5000])
    func onePassSizesMatchTheReference(count: Int) {
        for shape in TestData.Shape.allCases {
            var rng = SplitMix64(seed: UInt64(count))
            let c = TestData.column(.int64, rows: count, shape: shape, nullPercent: 0, rng: &rng)
            c.ints.withUnsafeBufferPointer { v in
                #expect(ChunkEncoder.intSizes(v, isBool: false) == ChunkEncoder.intSizesReference(v, isBool: false), "\(shape) \(count)")
            }
        }
    }
}

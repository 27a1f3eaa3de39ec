import Testing
@testable import LambdaStoreViews
import LambdaStoreCore
import LambdaStoreTestSupport

@Suite struct AggregationHashTests {
    /// Vectors from `xxh64sum` 0.8.1 (the reference implementation), seed 0.
    @Test(arguments: [
        ("", 0xEF46_DB37_51D8_E999 as UInt64),
        ("a", 0xD24E_C4F1_A98C_6E5B),
        ("abc", 0x44BC_2CF5_AD77_0999),
        ("123456789", 0x8CB8_41DB_40E6_AE83),
        ("xxhash", 0x32DD_3895_2C4B_C720),
        ("Nobody inspects the spammish repetition", 0xFBCE_A83C_8A37_8BF1),
        ("The quick brown fox jumps over the lazy dog", 0x0B24_2D36_1FDA_71BC),
    ])
    func xxh64Vectors(input: String, expected: UInt64) {
        let bytes = Array(input.utf8)
        #expect(bytes.withUnsafeBytes { hllHash64($0) } == expected)
    }

    @Test func xxh64LongInputs() {
        // bytes 0...255 repeated: 1024 bytes and its first 100 (xxh64sum 0.8.1).
        let data = (0..<1024).map { UInt8($0 & 0xFF) }
        #expect(data.withUnsafeBytes { hllHash64($0) } == 0x6F39_14F1_8FE4_DF57)
        #expect(Array(data.prefix(100)).withUnsafeBytes { hllHash64($0) } == 0x6AC1_E580_3216_6597)
    }

    @Test func distinctHashEncodesTypeAndCanonicalFloats() {
        // Same number, different types: different hashes (the type tag is hashed).
        #expect(DistinctHash.hash(.int64(7)) != DistinctHash.hash(.timestamp(7)))
        // -0.0 and +0.0 are one value; every NaN is one value.
        #expect(DistinctHash.hash(.float64(-0.0)) == DistinctHash.hash(.float64(0.0)))
        #expect(DistinctHash.hash(.float64(Double(bitPattern: 0x7FF8_0000_0000_0001))) == DistinctHash.hash(.float64(.nan)))
        #expect(DistinctHash.hash(.null) == nil)
        // The encoding is the documented one: tag byte + little-endian value / UTF-8 bytes.
        let int7: [UInt8] = [1, 7, 0, 0, 0, 0, 0, 0, 0]
        #expect(DistinctHash.hash(.int64(7)) == int7.withUnsafeBytes { hllHash64($0) })
        let str: [UInt8] = [3] + Array("héllo".utf8)
        #expect(DistinctHash.hash(.string("héllo")) == str.withUnsafeBytes { hllHash64($0) })
        let boolTrue: [UInt8] = [4, 1]
        #expect(DistinctHash.hash(.bool(true)) == boolTrue.withUnsafeBytes { hllHash64($0) })
        let one = Double(1.5).bitPattern
        let f: [UInt8] = [2] + (0..<8).map { UInt8(truncatingIfNeeded: one >> (8 * UInt64($0))) }
        #expect(DistinctHash.hash(.float64(1.5)) == f.withUnsafeBytes { hllHash64($0) })
    }
}

import Testing
@testable import LambdaStoreCore
import LambdaStoreTestSupport

/// `compareBytes`, the one string order the filter, the snapshot statistics and pushdown share.
@Suite struct CompareBytesTests {
    /// Sign of the naive lexicographic comparison.
    static func naive(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a == b ? 0 : (a.lexicographicallyPrecedes(b) ? -1 : 1)
    }

    /// Random byte strings over a small alphabet (long common prefixes, bytes ≥ 0x80, lengths
    /// around the 8-byte word) against the naive order.
    @Test func matchesNaiveOrder() {
        let seed: UInt64 = 0xC0_4E_BE
        var rng = SplitMix64(seed: seed)
        let alphabet: [UInt8] = [0x00, 0x01, 0x61, 0x7F, 0x80, 0xFE, 0xFF]
        func random() -> [UInt8] { (0..<Int(rng.next() % 20)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] } }
        for round in 0..<20_000 {
            let a = random()
            // Half the time b shares a prefix of a, so the word loop and the tail both decide.
            var b = rng.next() % 2 == 0 ? Array(a.prefix(Int(rng.next() % UInt64(a.count + 1)))) + random() : random()
            if rng.next() % 8 == 0 { b = a }
            let want = Self.naive(a, b)
            #expect(compareBytes(a, b).signum() == want, "\(a) vs \(b) (seed \(seed), round \(round))")
            #expect(compareBytes(b, a).signum() == -want, "\(b) vs \(a) (seed \(seed), round \(round))")
        }
    }

    @Test func edgeCases() {
        #expect(compareBytes([], []) == 0)
        #expect(compareBytes([], [0]) < 0)
        #expect(compareBytes([0], []) > 0)
        let eight: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        #expect(compareBytes(eight, eight + [0]) < 0)
        #expect(compareBytes(eight + [9], eight + [0xFF]) < 0)
        #expect(compareBytes([0x7F] + eight, [0x80] + eight) < 0)   // unsigned bytes
        // Empty buffers with no base address.
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        #expect(compareBytes(none, none) == 0)
        [UInt8]([1]).withUnsafeBytes { one in
            #expect(compareBytes(none, one) < 0)
            #expect(compareBytes(one, none) > 0)
        }
    }

    /// On UTF-8 it is the order of the strings' Unicode scalars (what format-spec.md §3a.4 calls
    /// comparing strings by their UTF-8 bytes).
    @Test func utf8OrderIsScalarOrder() {
        let seed: UInt64 = 0x07F8
        var rng = SplitMix64(seed: seed)
        let ranges: [ClosedRange<UInt32>] = [0x00...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF]
        func random() -> String {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int(rng.next() % 6) {
                let r = ranges[Int(rng.next() % UInt64(ranges.count))]
                if let u = Unicode.Scalar(r.lowerBound + UInt32(rng.next() % UInt64(r.upperBound - r.lowerBound + 1))) { s.append(u) }
            }
            return String(s)
        }
        for round in 0..<5_000 {
            let a = random(), b = random()
            let scalars = a.unicodeScalars.map(\.value) == b.unicodeScalars.map(\.value) ? 0
                : (a.unicodeScalars.map(\.value).lexicographicallyPrecedes(b.unicodeScalars.map(\.value)) ? -1 : 1)
            #expect(compareBytes(Array(a.utf8), Array(b.utf8)).signum() == scalars, "\(a.debugDescription) vs \(b.debugDescription) (seed \(seed), round \(round))")
        }
    }
}

/// `MemoryFileHandle`, the read-only in-memory file the snapshot reader and the segment dump use.
@Suite struct MemoryFileHandleTests {
    @Test func readsLikeAFile() throws {
        let bytes = (0..<100).map { UInt8($0) }
        let h = MemoryFileHandle(bytes: bytes, path: "mem")
        #expect(try h.size() == 100)
        #expect(try h.read(count: 10, at: 0) == Array(bytes[0..<10]))
        #expect(try h.read(count: 10, at: 95) == Array(bytes[95..<100]))   // short at the end
        #expect(try h.read(count: 10, at: 100) == [])
        #expect(try h.read(count: 10, at: 1_000) == [])
        #expect(try h.read(count: 0, at: 50) == [])
        #expect(try h.read(count: 200, at: 0) == bytes)
        var empty = [UInt8]()
        #expect(try empty.withUnsafeMutableBytes { b in try h.read(into: b, at: 3) } == 0)
        #expect(try MemoryFileHandle(bytes: [], path: "e").read(count: 4, at: 0) == [])
        try h.sync()
        try h.close()
    }

    @Test func rejectsNegativeOffsetsAndWrites() {
        let h = MemoryFileHandle(bytes: [1, 2, 3], path: "mem")
        #expect(throws: LambdaStoreError(.invalidArgument, "negative offset -1", path: "mem")) { _ = try h.read(count: 1, at: -1) }
        #expect(throws: LambdaStoreError(.precondition, "in-memory file is read-only", path: "mem")) {
            try [UInt8]([9]).withUnsafeBytes { b in try h.write(b, at: 0) }
        }
        #expect(throws: LambdaStoreError(.precondition, "in-memory file is read-only", path: "mem")) { try h.truncate(to: 0) }
        #expect(h.bytes == [1, 2, 3])
    }
}

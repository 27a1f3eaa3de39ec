import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

@Suite struct ManifestTests {
    static let sample = Manifest(
        generation: 7, view: "revenue_hourly", fingerprint: "9f86d081884c7d65", horizon: 2_100_000, maxEventTime: 1_767_225_600_000,
        files: [ManifestFile(name: "00000000000002100000.snapshot", bytes: 12_345_678, rows: 2_100_000, crc32c: 0xDEAD_BEEF),
                ManifestFile(name: "00000000000002100000-1.snapshot", bytes: 0, rows: 0, crc32c: 0)],
        extra: ["publishedBy": "batch", "a": "", "zeta": "ü"])

    @Test(arguments: [sample,
                      Manifest(generation: 0, view: "v", fingerprint: "f", horizon: 0, maxEventTime: nil, files: []),
                      Manifest(generation: .max, view: "v.2-x", fingerprint: String(repeating: "f", count: 255), horizon: .max,
                               maxEventTime: .min, files: [], extra: ["k": String(repeating: "v", count: 70_000)])])
    func roundTrip(_ m: Manifest) throws {
        try m.validate()
        let bytes = m.encode()
        #expect(try Manifest.decode(bytes, path: "MANIFEST") == m)
        // Deterministic whatever the insertion order of `extra`.
        var other = m
        other.extra = [:]
        for (k, v) in m.extra.sorted(by: { $0.key > $1.key }) { other.extra[k] = v }
        #expect(other.encode() == bytes)
    }

    @Test func everyByteFlipTruncationAndExtensionIsDetected() throws {
        let good = Self.sample.encode()
        for i in 0..<good.count {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                #expect(throws: LambdaStoreError.self, "flip at \(i)") { _ = try Manifest.decode(good.flipping(i, mask), path: "M") }
            }
        }
        for cut in 0..<good.count {
            #expect(throws: LambdaStoreError.self, "cut to \(cut)") { _ = try Manifest.decode(Array(good[..<cut]), path: "M") }
        }
        #expect(throws: LambdaStoreError.self) { _ = try Manifest.decode(good + [0], path: "M") }
        let fs = SimulatedFS()
        fs.setContents("M", good.flipping(40))
        let problems = ManifestInspector.verify(fs: fs, path: "M")
        #expect(problems.count == 1 && problems[0].path == "M" && problems[0].offset == Int64(good.count - 4), "\(problems)")
    }

    @Test func damagedFieldsBehindAValidChecksumAreRejected() throws {
        // Re-seal the CRC after damaging a field: structural validation still catches it.
        func sealed(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
            var b = Self.sample.encode()
            edit(&b)
            let crc = CRC32C.checksum(b, 0..<(b.count - 4))
            for k in 0..<4 { b[b.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
            return b
        }
        #expect(throws: LambdaStoreError(.unsupported, "manifest format version 9 (this build reads 1)", path: "M", offset: 8)) {
            _ = try Manifest.decode(sealed { $0[8] = 9 }, path: "M")
        }
        let viewAt = 16 + 8 + 2
        for edit in [{ (b: inout [UInt8]) in b[viewAt] = UInt8(ascii: "/") },   // view name with a slash
                     { (b: inout [UInt8]) in b[viewAt - 2] = 200 }] {           // view length past the end
            #expect(throws: LambdaStoreError.self) { _ = try Manifest.decode(sealed(edit), path: "M") }
        }
        var rng = SplitMix64(seed: 9)
        for _ in 0..<3000 {
            let b = sealed { b in b[16 + Int(rng.next() % UInt64(b.count - 20))] = UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? Manifest.decode(b, path: "M")  // never traps
        }
    }

    @Test func invalidManifestsAreRefused() {
        var m = Self.sample
        m.view = "bad/name"
        #expect(throws: LambdaStoreError.self) { try m.validate() }
        m = Self.sample
        m.files.append(m.files[0])
        #expect(throws: LambdaStoreError.self) { try m.validate() }
        m = Self.sample
        m.horizon = -1
        #expect(throws: LambdaStoreError.self) { try m.validate() }
        m = Self.sample
        m.fingerprint = ""
        #expect(throws: LambdaStoreError.self) { try m.publish(fs: SimulatedFS(), directory: "") }
        m = Self.sample
        m.files[0].name = ".hidden"
        #expect(throws: LambdaStoreError.self) { try m.validate() }
    }

    @Test func loadPublishAndLeftovers() throws {
        let fs = SimulatedFS()
        try fs.createDirectory("views/v")
        #expect(try Manifest.load(fs: fs, directory: "views/v") == nil)
        try Self.sample.publish(fs: fs, directory: "views/v")
        #expect(try Manifest.load(fs: fs, directory: "views/v") == Self.sample)
        #expect(try fs.list("views/v") == ["MANIFEST"])
        // A leftover temporary file from an interrupted publish is ignored.
        fs.setContents("views/v/MANIFEST.tmp", [1, 2, 3])
        #expect(try Manifest.load(fs: fs, directory: "views/v") == Self.sample)
        var next = Self.sample
        next.generation += 1
        try next.publish(fs: fs, directory: "views/v")
        #expect(try Manifest.load(fs: fs, directory: "views/v") == next)
        // A damaged manifest is an error, not "no manifest".
        fs.setContents("views/v/MANIFEST", next.encode().flipping(20))
        #expect(throws: LambdaStoreError.self) { _ = try Manifest.load(fs: fs, directory: "views/v") }
    }

    @Test func describeAndVerifyWithFiles() throws {
        let fs = SimulatedFS()
        try fs.createDirectory("views/revenue_hourly")
        let m = try CrashTests.publish(fs, generation: 5)
        let d = try ManifestInspector.describe(fs: fs, path: "views/revenue_hourly/MANIFEST")
        #expect(d.generation == 5 && d.view == "revenue_hourly" && d.fingerprint == "fp-5" && d.horizon == 5000 && d.maxEventTime == 5)
        #expect(d.files.map(\.name) == m.files.map(\.name) && d.files[0].crc32c == hex32(m.files[0].crc32c))
        #expect(d.extra == ["note": "g5"] && d.checksumOk)
        #expect(d.text.contains("generation 5"))
        #expect(ManifestInspector.verify(fs: fs, path: "views/revenue_hourly/MANIFEST", checkFiles: true).isEmpty)
        // A live file that changed or vanished is reported with its path.
        let snap = "views/revenue_hourly/" + m.files[0].name
        let good = try #require(fs.contents(snap))
        fs.setContents(snap, good.flipping(100))
        var problems = ManifestInspector.verify(fs: fs, path: "views/revenue_hourly/MANIFEST", checkFiles: true)
        #expect(problems.count == 1 && problems[0].path == snap && problems[0].message.contains("whole-file checksum"), "\(problems)")
        try fs.remove(snap)
        problems = ManifestInspector.verify(fs: fs, path: "views/revenue_hourly/MANIFEST", checkFiles: true)
        #expect(problems.count == 1 && problems[0].path == snap, "\(problems)")
    }
}

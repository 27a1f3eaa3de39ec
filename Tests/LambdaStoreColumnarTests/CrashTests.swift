import LambdaStoreCore
@testable import LambdaStoreColumnar
import LambdaStoreTestSupport
import Testing

@Suite struct CrashTests {
    static let directory = "views/revenue_hourly"

    static func data(generation: Int) -> ([SnapshotColumn], [Column]) {
        DeterminismTests.sample(seed: UInt64(100 + generation))
    }

    static func fileName(_ generation: Int) -> String {
        let digits = String(generation)
        return String(repeating: "0", count: 20 - digits.count) + digits + ".snapshot"
    }

    /// One batch publish: write the snapshot, then publish the manifest naming it.
    @discardableResult
    static func publish(_ fs: any FileSystem, generation: Int) throws(LambdaStoreError) -> Manifest {
        let (columns, data) = Self.data(generation: generation)
        let w = try SnapshotWriter(fs: fs, path: Path.join(directory, fileName(generation)), columns: columns,
                                   options: SnapshotOptions(rowGroupRows: 1000), metadata: ["generation": "\(generation)"])
        try w.append(columns: data)
        let info = try w.finish()
        let m = Manifest(generation: UInt64(generation), view: "revenue_hourly", fingerprint: "fp-\(generation)", horizon: Int64(generation * 1000),
                         maxEventTime: generation == 1 ? nil : Int64(generation), files: [ManifestFile(info)], extra: ["note": "g\(generation)"])
        try m.publish(fs: fs, directory: directory)
        return m
    }

    /// Checks that the live manifest names complete files holding its generation's data.
    static func checkLive(_ fs: SimulatedFS, _ m: Manifest, _ context: String) {
        for f in m.files {
            let path = Path.join(directory, f.name)
            let sum = try? SnapshotInspector.wholeFileChecksum(fs: fs, path: path)
            #expect(sum?.bytes == f.bytes && sum?.crc32c == f.crc32c, "\(context): \(f.name) is not the file the manifest names")
            #expect(ManifestInspector.verify(fs: fs, path: Path.join(directory, Manifest.fileName), checkFiles: true).isEmpty, "\(context)")
            do {
                let r = try SnapshotReader.open(fs: fs, path: path)
                let (columns, expected) = Self.data(generation: Int(m.generation))
                let got = try r.readColumns(columns.map(\.name))
                for c in 0..<columns.count { #expect(TestData.difference(expected[c], got[c]) == nil, "\(context): column \(c)") }
            } catch {
                Issue.record("\(context): live snapshot unreadable: \(error)")
            }
        }
    }

    @Test func crashAtEveryWritePointOfAPublishLeavesAReadableManifest() throws {
        // Count the mutating operations of one publish.
        let dry = SimulatedFS()
        try dry.createDirectory(Self.directory)
        let m1 = try Self.publish(dry, generation: 1)
        let before = dry.operations
        let m2 = try Self.publish(dry, generation: 2)
        let total = dry.operations - before
        #expect(total >= 10, "a publish is several writes, two fsyncs, two renames and two directory fsyncs")

        for k in 0...total {
            let fs = SimulatedFS()
            try fs.createDirectory(Self.directory)
            try Self.publish(fs, generation: 1)
            fs.crash(afterOperations: k)
            var finished = true
            do { try Self.publish(fs, generation: 2) } catch { finished = false }
            #expect(finished == (k == total), "crash point \(k) of \(total)")
            for keep in [false, true] {
                let after = fs.survivor(keepUnsyncedNames: keep)
                let context = "crash before operation \(k) of \(total), unsynced names \(keep ? "kept" : "lost")"
                guard let live = try? Manifest.load(fs: after, directory: Self.directory) else {
                    Issue.record("\(context): no readable manifest")
                    continue
                }
                #expect(live == m1 || live == m2, "\(context)")
                if !keep && !finished { #expect(live == m1, "\(context): the new manifest was durable before its directory fsync") }
                if finished { #expect(live == m2, "\(context)") }
                Self.checkLive(after, live, context)
                // The store can publish again after the crash, over any leftovers.
                do {
                    let again = try Self.publish(after, generation: 2)
                    #expect(try Manifest.load(fs: after, directory: Self.directory) == again, "\(context)")
                } catch {
                    Issue.record("\(context): republish failed: \(error)")
                }
            }
        }
    }

    @Test func crashAtEveryWritePointOfASnapshotNeverLeavesAPartialFile() throws {
        let (columns, data) = Self.data(generation: 3)
        let path = "views/v/s.snapshot"
        let expected = try SnapshotWriter.encode(columns: columns, data: data, options: SnapshotOptions(rowGroupRows: 1000))
        var k = 0
        while true {
            let fs = SimulatedFS()
            try fs.createDirectory("views/v")
            fs.crash(afterOperations: k)
            var finished = true
            do {
                let w = try SnapshotWriter(fs: fs, path: path, columns: columns, options: SnapshotOptions(rowGroupRows: 1000))
                try w.append(columns: data)
                _ = try w.finish()
            } catch {
                finished = false
            }
            for keep in [false, true] {
                let after = fs.survivor(keepUnsyncedNames: keep)
                if let bytes = after.contents(path) {
                    #expect(bytes == expected, "crash point \(k): a partial snapshot is visible at its final path")
                } else {
                    #expect(!finished, "crash point \(k): finished but missing")
                }
            }
            if finished {
                #expect(fs.survivor(keepUnsyncedNames: false).contents(path) == expected, "a finished snapshot is durable")
                break
            }
            k += 1
        }
        #expect(k >= 5)
    }

    @Test func abortRemovesTheTemporaryFile() throws {
        let fs = SimulatedFS()
        try fs.createDirectory("v")
        let (columns, data) = Self.data(generation: 4)
        let w = try SnapshotWriter(fs: fs, path: "v/a.snapshot", columns: columns)
        try w.append(columns: data)
        #expect(fs.exists("v/a.snapshot.tmp"))
        w.abort()
        #expect(try fs.list("v").isEmpty)
        #expect(throws: LambdaStoreError.self) { _ = try w.finish() }
    }
}

import ArgumentParser
import Foundation
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews
import LambdaStoreColumnar
import LambdaStoreLog
import LambdaStoreParquet

struct DumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dump", abstract: "Print the structure of one file: segment, index, snapshot, manifest or archive (a .parquet file or an archive MANIFEST).")
    @OptionGroup var common: StoreOptionsGroup
    @Argument(help: "segment, index, snapshot, manifest or archive.") var kind: Kind
    @Argument(help: "The file.") var path: String
    @Flag(help: "Also print the records (segments).") var records = false

    enum Kind: String, ExpressibleByArgument { case segment, index, snapshot, manifest, archive }

    func run() async throws {
        try await reportingErrors {
            let fs = PosixFileSystem()
            switch kind {
            case .segment:
                let d = try LogInspector.dumpSegment(path: path, fs: fs, includeRecords: records)
                print(common.json ? try encodeJSON(d) : d.text)
                if let p = d.problem { printError("lambdastore: \(p)"); return 2 }
                return d.batches.allSatisfy(\.checksumOk) ? 0 : 2
            case .index:
                let d = try LogInspector.dumpIndex(path: path, fs: fs)
                print(common.json ? try encodeJSON(d) : d.text)
                return d.problem == nil ? 0 : 2
            case .snapshot:
                let d = try SnapshotInspector.describe(fs: fs, path: path)
                print(common.json ? try encodeJSON(d) : d.text)
                return 0
            case .manifest:
                let d = try ManifestInspector.describe(fs: fs, path: path)
                print(common.json ? try encodeJSON(d) : try encodeJSON(d, pretty: true))
                return 0
            case .archive:
                let bytes = try fs.readFile(path, limit: 1 << 36)
                if Path.base(of: path) == ArchiveManifest.fileName {
                    // The archive manifest: its JSON, after every check a reader makes.
                    let m = try ArchiveManifest(decoding: bytes, path: path)
                    let payload = try MetadataFile.decode(bytes, kind: ArchiveManifest.kind, path: path)
                    if common.json {
                        print(String(decoding: payload, as: UTF8.self))
                    } else {
                        print("archive manifest \(path): stream \(m.stream), generation \(m.generation), \(m.files.count) files, offsets \(m.earliestReplayableOffset)..<\(m.endOffset)")
                        for f in m.files {
                            print("  \(f.name): offsets \(f.firstOffset)..<\(f.endOffset), schema v\(f.schemaVersion), \(f.bytes) bytes, crc32c 0x\(String(f.crc32c, radix: 16)), \(f.rowGroups.count) row groups, from segment \(f.segment)")
                        }
                    }
                    return 0
                }
                let d = try ParquetFileReader(bytes: bytes, path: path).describe()
                print(common.json ? try encodeJSON(d) : try encodeJSON(d, pretty: true))
                return d.rowGroups.contains { $0.columns.contains { $0.pageError != nil } } ? 2 : 0
            }
        }
    }

    func encodeJSON(_ v: some Encodable, pretty: Bool = false) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(v), as: UTF8.self)
    }
}

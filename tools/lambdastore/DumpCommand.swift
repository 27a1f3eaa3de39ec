import ArgumentParser
import Foundation
import LambdaStore

struct DumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dump", abstract: "Print the structure of one file: segment, index, snapshot or manifest.")
    @OptionGroup var common: StoreOptionsGroup
    @Argument(help: "segment, index, snapshot or manifest.") var kind: Kind
    @Argument(help: "The file.") var path: String
    @Flag(help: "Also print the records (segments).") var records = false

    enum Kind: String, ExpressibleByArgument { case segment, index, snapshot, manifest }

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
            }
        }
    }

    func encodeJSON(_ v: some Encodable, pretty: Bool = false) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(v), as: UTF8.self)
    }
}

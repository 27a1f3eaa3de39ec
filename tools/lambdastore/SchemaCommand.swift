import ArgumentParser
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews

struct SchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schema", abstract: "Manage stream schemas.", subcommands: [Apply.self])

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a stream or add a compatible schema version.")
        @OptionGroup var common: StoreOptionsGroup
        @Argument(help: "The schema JSON file.") var file: String

        func run() async throws {
            try await reportingErrors {
                let bytes = try PosixFileSystem().readFile(file, limit: Limits.metadataBytesMax)
                let schema = try SchemaFile.parse(json: bytes)
                let store = try await openStore(common.store)
                defer { store.close() }
                let result = try await store.applySchema(schema)
                let (what, version): (String, UInt32) = switch result {
                case .created(let v): ("created", v)
                case .evolved(let v): ("evolved", v)
                case .unchanged(let v): ("unchanged", v)
                }
                if common.json {
                    print((["stream": .string(schema.stream), "result": .string(what), "version": .int(Int64(version))] as JSONValue).serialized())
                } else {
                    print("stream \(schema.stream): \(what), schema version \(version)")
                }
                return 0
            }
        }
    }
}

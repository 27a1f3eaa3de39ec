import ArgumentParser
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews

struct ViewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "view", abstract: "Register and list views.", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a view from a JSON file (an identical view is a no-op; a changed one is rebuilt from history and swapped in).")
        @OptionGroup var common: StoreOptionsGroup
        @Argument(help: "The view JSON file.") var file: String
        @Flag(name: .long, help: "Build the view from the stream's earliest replayable offset when older history was dropped by retention.")
        var fromEarliest = false

        func run() async throws {
            try await reportingErrors {
                let bytes = try PosixFileSystem().readFile(file, limit: Limits.metadataBytesMax)
                let def = try ViewDefinition.parse(json: bytes)
                let store = try await openStore(common.store)
                defer { store.close() }
                let result = try await store.createView(def, fromEarliestReplayable: fromEarliest)
                let (what, fp): (String, String) = switch result {
                case .created(let f): ("created", f)
                case .unchanged(let f): ("unchanged", f)
                case .replaced(_, let f): ("replaced", f)
                }
                if common.json {
                    print((["view": .string(def.name), "result": .string(what), "fingerprint": .string(fp)] as JSONValue).serialized())
                } else {
                    print("view \(def.name): \(what), fingerprint \(fp)")
                }
                return 0
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List views with their fingerprints.")
        @OptionGroup var common: StoreOptionsGroup

        func run() async throws {
            try await reportingErrors {
                let store = try await openStore(common.store, readOnly: true)
                defer { store.close() }
                let views = store.views()
                if common.json {
                    print((["views": .array(views.map { $0.json })] as JSONValue).serialized())
                } else {
                    for v in views {
                        print("\(v.definition.name)\tstream=\(v.definition.stream)\tfingerprint=\(v.fingerprint)\thorizon=\(v.horizon)")
                    }
                }
                return 0
            }
        }
    }
}


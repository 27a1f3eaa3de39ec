import ArgumentParser
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews

struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "query", abstract: "Serve merged rows (batch ⊕ speed) of a view.")
    @OptionGroup var common: StoreOptionsGroup
    @Option(help: "The view.") var view: String
    @Option(name: .long, help: "Group key: VALUE when the view groups by one field, FIELD=VALUE otherwise (repeatable).") var key: [String] = []
    @Option(help: "Windows starting at or after this time (epoch ms or ISO-8601).") var from: String?
    @Option(help: "Windows starting before this time (epoch ms or ISO-8601).") var to: String?
    @Option(help: "Output format: table, jsonl or csv.") var format: OutputFormat = .table

    enum OutputFormat: String, ExpressibleByArgument { case table, jsonl, csv }

    func run() async throws {
        try await reportingErrors {
            let store = try await openStore(common.store, readOnly: true)
            defer { store.close() }
            let info = try store.viewInfo(view)
            let keys: [(field: String?, value: String)] = key.map { k in
                if let eq = k.firstIndex(of: "="), info.definition.groupBy.contains(String(k[..<eq])) {
                    return (String(k[..<eq]), String(k[k.index(after: eq)...]))
                }
                return (nil, k)
            }
            let (fromTime, toTime) = (try from.map { try parseTime($0, option: "--from") }, try to.map { try parseTime($0, option: "--to") })
            if let f = fromTime, let t = toTime, f >= t {
                throw ValidationError("--from (\(f)) must be before --to (\(t)): windows start in [from, to)")
            }
            let request = QueryRequest(view: view, keys: keys, from: fromTime, to: toTime)
            let result = try await store.query(request)
            if let note = result.note { printError("lambdastore: note: \(note)") }
            let out = QueryOutput(result: result)
            if common.json {
                print(out.jsonObject(view: view).serialized())
                return 0
            }
            switch format {
            case .jsonl: for line in out.jsonLines() { print(line) }
            case .csv: print(out.csv(), terminator: "")
            case .table: print(out.table(), terminator: "")
            }
            return 0
        }
    }
}

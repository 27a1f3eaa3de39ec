import ArgumentParser
import LambdaStore

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check every checksum in the store (read-only); exit non-zero on any corruption.")
    @OptionGroup var common: StoreOptionsGroup

    func run() async throws {
        try await reportingErrors {
            guard PosixFileSystem().isDirectory(common.store) else {
                throw LambdaStoreError(.notFound, "no store here", path: common.store)
            }
            let r = Store.verify(at: common.store)
            if common.json {
                print(r.json.serialized())
            } else {
                for t in r.incompleteTails { print("incomplete tail (not an error): \(t)") }
                for p in r.problems { print("BAD \(p)") }
                print(r.isClean ? "ok: \(r.filesChecked) files checked, no corruption" : "\(r.problems.count) problem(s) in \(r.filesChecked) files checked")
            }
            if !r.isClean {
                printError("lambdastore: verify found \(r.problems.count) corrupt place(s); first: \(r.problems[0])")
                return 2
            }
            return 0
        }
    }
}

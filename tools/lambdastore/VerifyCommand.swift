import ArgumentParser
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check every checksum in the store (read-only); exit non-zero on any corruption.")
    @OptionGroup var common: StoreOptionsGroup

    func run() async throws {
        try await reportingErrors {
            guard PosixFileSystem().isDirectory(common.store) else {
                throw LambdaStoreError(.notFound, "no store here", path: common.store)
            }
            let r = await Store.verify(at: common.store)
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

struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Cut each stream's log back to its last intact batch, moving damaged bytes aside (*.damaged), and accept history the checkpoint proves was lost.")
    @OptionGroup var common: StoreOptionsGroup

    func run() async throws {
        try await reportingErrors {
            guard PosixFileSystem().isDirectory(common.store) else {
                throw LambdaStoreError(.notFound, "no store here", path: common.store)
            }
            let r = try await Store.repair(at: common.store)
            if common.json {
                print((["repaired": .array(r.log.map { a in
                    (["stream": .string(a.stream), "file": .string(a.file), "offset": .int(a.offset), "reason": .string(a.reason),
                      "endOffsetAfter": .int(a.endOffsetAfter), "movedAside": .array(a.movedAside.map { .string($0) })] as JSONValue)
                }), "viewsReset": .array(r.viewsReset.map { v in
                    (["view": .string(v.view), "horizon": .int(v.horizon), "movedTo": .string(v.movedTo)] as JSONValue)
                })] as JSONValue).serialized())
            } else {
                for a in r.log { print("repaired \(a)") }
                for v in r.viewsReset { print("view \(v.view): horizon \(v.horizon) was past its stream's end; reset to unpublished (old MANIFEST at \(v.movedTo)); run batch to rebuild it") }
                if r.log.isEmpty && r.viewsReset.isEmpty { print("nothing to repair") }
            }
            return 0
        }
    }
}

import ArgumentParser
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews

/// `path` with every symbolic link and `.`/`..` resolved, as far as it exists: an absent last
/// component (a file about to be created) is resolved through its directory.
func resolvedPath(_ path: String) -> String {
    if let r = Platform.realPath(path) { return r }
    let slash = path.lastIndex(of: "/")
    let dir = slash.map { String(path[..<$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    guard let base = Platform.realPath(dir.isEmpty ? "/" : dir) else { return path }
    return (base == "/" ? "" : base) + "/" + name
}

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest", abstract: "Append JSON Lines or CSV records to a stream; bad lines are reported and skipped.")
    @OptionGroup var common: StoreOptionsGroup
    @Option(help: "The stream.") var stream: String
    @Option(help: "jsonl or csv (default: csv for a .csv file, jsonl otherwise).") var format: String?
    @Option(help: "sync (fsync before returning), interval (flush every 100 ms) or none.") var durability: String = "sync"
    @Option(name: .customLong("reject-file"), help: "Also write each rejected line's reason to this file.") var rejectFile: String?
    @Argument(help: "The input file, or - for standard input (default).") var file: String = "-"

    func validate() throws {
        if let format, InputFormat(rawValue: format) == nil { throw ValidationError("--format must be jsonl or csv, not '\(format)'") }
        if !["sync", "interval", "none"].contains(durability) { throw ValidationError("--durability must be sync, interval or none, not '\(durability)'") }
    }

    func run() async throws {
        try await reportingErrors {
            let fmt = format.flatMap(InputFormat.init(rawValue:)) ?? (file == "-" ? .jsonl : InputFormat.inferred(fromPath: file))
            let dur: Durability = durability == "sync" ? .sync : (durability == "none" ? .none : .interval(milliseconds: 100))
            let fs = PosixFileSystem()
            let input: (any FileHandle)? = file == "-" ? nil : try fs.open(file, mode: .read)
            defer { try? input?.close() }
            var rejects: (any FileHandle)? = nil
            var rejectsAt: Int64 = 0
            if let rejectFile {
                // Refused before anything is opened for writing: the reject file must be
                // neither the input nor anything inside the store.
                let target = resolvedPath(rejectFile)
                if file != "-", target == resolvedPath(file) {
                    throw LambdaStoreError(.invalidArgument, "--reject-file \(rejectFile) is the input file; choose another path")
                }
                let storeRoot = resolvedPath(common.store)
                if target == storeRoot || target.hasPrefix(storeRoot + "/") {
                    throw LambdaStoreError(.invalidArgument, "--reject-file \(rejectFile) is inside the store \(common.store); choose a path outside it")
                }
                rejects = try fs.open(rejectFile, mode: .truncate)
            }
            defer { try? rejects?.close() }
            let store = try await openStore(common.store)
            defer { store.close() }
            var position: Int64 = 0
            let summary = try await store.ingest(stream: stream, format: fmt, durability: dur, read: { buf throws(LambdaStoreError) in
                if let input {
                    let n = try input.read(into: buf, at: position)
                    position += Int64(n)
                    return n
                }
                return try Platform.readStandardInput(into: buf)
            }, onReject: { r in
                printError(r.description)
                if let rejects {
                    let line = Array((r.description + "\n").utf8)
                    try? rejects.write(line, at: rejectsAt)
                    rejectsAt += Int64(line.count)
                }
            })
            if common.json {
                print(summary.json.serialized())
            } else {
                let range = summary.firstOffset.map { " (offsets \($0)…\(summary.lastOffset ?? $0))" } ?? ""
                let resume = summary.failure == nil ? "" : "; stopped by an error: input lines up to \(summary.lastLine.map(String.init) ?? "none") are stored, resume after it"
                print("\(summary.appended) records appended to \(stream)\(range), \(summary.rejected) rejected\(resume)")
            }
            if let failure = summary.failure {
                printError("lambdastore: ingest stopped after \(summary.appended) records (last offset \(summary.lastOffset.map(String.init) ?? "none"), last stored input line \(summary.lastLine.map(String.init) ?? "none")): \(failure)")
                return 1
            }
            return summary.rejected > 0 ? 1 : 0
        }
    }
}

import ArgumentParser
@_spi(Internals) import LambdaStore
import LambdaStoreCore
import LambdaStoreViews

/// `lambdastore`: drive a LambdaStore from the shell (DESIGN.md "The lambdastore command").
/// Every subcommand takes `--store DIR` and `--json`, exits 0 on success and non-zero with a
/// one-line reason on stderr on any failure. No engine logic lives here: each subcommand is a
/// thin wrapper over one library call.
@main
struct LambdaStoreTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lambdastore",
        abstract: "An embedded storage engine for the Lambda architecture.",
        subcommands: [
            SchemaCommand.self, IngestCommand.self, ViewCommand.self, QueryCommand.self, BatchCommand.self,
            DriftCommand.self, ReconcileCommand.self, ReplayCommand.self, PolicyCommand.self, CompactCommand.self, StatusCommand.self,
            VerifyCommand.self, RepairCommand.self, DumpCommand.self, DemoCommand.self, DebugCommand.self,
        ])

    /// Runs the command line. Argument errors print one line (`lambdastore: …`, no usage dump)
    /// and exit 64; `--help` prints the help. Whatever the outcome, standard output is flushed
    /// and a write error on it (a full disk, a closed pipe) fails the command: a summary that
    /// was not delivered is not a success.
    static func main() async {
        var status: Int32 = 0
        do {
            var command = try parseAsRoot()
            if var c = command as? AsyncParsableCommand {
                try await c.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))   // --help, --version
            } else if !(error is ExitCode) {
                let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
                printError("lambdastore: " + sanitizedForTerminal(text))
            }
            status = code.rawValue
        }
        if let reason = Platform.flushStandardStreams() {
            printError("lambdastore: writing standard output failed: \(reason)")
            if status == 0 { status = 1 }
        }
        Platform.exit(status)
    }
}

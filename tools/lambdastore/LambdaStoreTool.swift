import ArgumentParser
import LambdaStore

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
            DriftCommand.self, ReconcileCommand.self, ReplayCommand.self, CompactCommand.self, StatusCommand.self,
            VerifyCommand.self, RepairCommand.self, DumpCommand.self, DemoCommand.self, DebugCommand.self,
        ])
}

// LambdaStoreBench: the peers' 10 M-event workload (shared/peers) through LambdaStore, end to
// end. Build in release and run from the repository root:
//
//   swift build -c release --package-path Benchmarks --product LambdaStoreBench
//   Benchmarks/.build/release/LambdaStoreBench [--only append,read,...] [--json-out FILE]
//
// Prints one JSON line per measurement on stdout, progress on stderr, then a table.
// tools/bench.sh runs it next to the peers and prints the ratios (BENCHMARKS.md).
import Foundation

do {
    let options = try Options.parse(CommandLine.arguments)
    if options.childMemory {
        try Bench.childMemory(options)
    } else {
        let bench = try Bench(options: options)
        try await bench.run()
    }
} catch {
    log("LambdaStoreBench: error: \(error)")
    exit(1)
}

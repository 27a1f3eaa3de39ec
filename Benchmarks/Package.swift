// swift-tools-version: 6.1
// Benchmarks live in their own package so the main package builds and tests fast
// (TOOLCHAIN.md). Micro benchmarks: cd Benchmarks && swift package benchmark
// Macro benchmark against the peers: tools/bench.sh (builds LambdaStoreBench in release).
import PackageDescription

let package = Package(
    name: "LambdaStoreBenchmarks",
    dependencies: [
        .package(name: "LambdaStore", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                .product(name: "LambdaStore", package: "LambdaStore"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The macro benchmark: the peers' 10 M-event workload end to end (plain executable,
        // build with -c release; see tools/bench.sh and BENCHMARKS.md).
        .executableTarget(
            name: "LambdaStoreBench",
            dependencies: [
                .product(name: "LambdaStore", package: "LambdaStore"),
                .product(name: "LambdaStoreParquet", package: "LambdaStore"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/LambdaStoreBench",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)

// swift-tools-version: 6.1
// Benchmarks live in their own package so the main package builds and tests fast
// (TOOLCHAIN.md). Run: cd Benchmarks && swift package benchmark
import PackageDescription

let package = Package(
    name: "LambdaStoreBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "LambdaStore", path: ".."),
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
    ]
)

// swift-tools-version: 6.0
// LambdaStore: an embedded storage engine for the Lambda architecture.
// Layering (dependencies point one way):
//   CCRC32C, CLZ4, CZstd → LambdaStoreCore (bytes, checksums, codecs, schemas, file layer)
//   → LambdaStoreParquet (the archive's Parquet files) → LambdaStoreLog (segments, archive)
//   · LambdaStoreViews (definitions, filter, monoids) · LambdaStoreColumnar (snapshot files,
//   manifest) → LambdaStore (speed, batch, serving, drift, lifecycle, facade) → lambdastore.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "LambdaStore",
    products: [
        .library(name: "LambdaStore", targets: ["LambdaStore"]),
        // The Parquet writer and reader of the history archive, usable on its own.
        .library(name: "LambdaStoreParquet", targets: ["LambdaStoreParquet"]),
        .executable(name: "lambdastore", targets: ["lambdastore"]),
        // The fuzz targets, for the libFuzzer harness in Fuzz/ (its own package) and the replay test.
        .library(name: "LambdaStoreFuzzTargets", targets: ["LambdaStoreFuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        // Builds the DocC catalog: `swift package generate-documentation --target LambdaStore`.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CCRC32C", path: "Sources/CCRC32C"),
        .systemLibrary(
            name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(
            name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        .target(
            name: "LambdaStoreCore", dependencies: ["CCRC32C", "CLZ4", "CZstd"],
            swiftSettings: swiftSettings),
        .target(
            name: "LambdaStoreParquet", dependencies: ["LambdaStoreCore", "CZstd"],
            swiftSettings: swiftSettings),
        .target(
            name: "LambdaStoreLog", dependencies: ["LambdaStoreCore", "LambdaStoreParquet"],
            swiftSettings: swiftSettings),
        .target(
            name: "LambdaStoreViews", dependencies: ["LambdaStoreCore"],
            swiftSettings: swiftSettings),
        .target(
            name: "LambdaStoreColumnar", dependencies: ["LambdaStoreCore"],
            swiftSettings: swiftSettings),
        .target(
            name: "LambdaStore",
            dependencies: [
                "LambdaStoreCore", "LambdaStoreLog", "LambdaStoreViews", "LambdaStoreColumnar", "LambdaStoreParquet",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "lambdastore",
            dependencies: [
                "LambdaStore", "LambdaStoreCore", "LambdaStoreViews", "LambdaStoreLog", "LambdaStoreColumnar", "LambdaStoreParquet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "tools/lambdastore",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "QuickStart",
            dependencies: ["LambdaStore"],
            path: "Examples/QuickStart",
            swiftSettings: swiftSettings),
        .target(
            name: "LambdaStoreTestSupport",
            dependencies: ["LambdaStoreCore"],
            path: "Tests/LambdaStoreTestSupport",
            swiftSettings: swiftSettings),
        .target(
            name: "LambdaStoreFuzzTargets",
            dependencies: ["LambdaStore", "LambdaStoreCore", "LambdaStoreViews", "LambdaStoreParquet", "LambdaStoreTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LambdaStoreFuzzTests",
            dependencies: ["LambdaStoreFuzzTargets", "LambdaStore", "LambdaStoreCore", "LambdaStoreViews"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LambdaStoreCoreTests",
            dependencies: ["LambdaStoreCore", "LambdaStoreTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LambdaStoreLogTests",
            dependencies: ["LambdaStoreLog", "LambdaStoreTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LambdaStoreViewsTests",
            dependencies: ["LambdaStoreViews", "LambdaStoreTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LambdaStoreColumnarTests",
            dependencies: ["LambdaStoreColumnar", "LambdaStoreTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LambdaStoreParquetTests",
            dependencies: ["LambdaStoreParquet", "LambdaStoreTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LambdaStoreTests",
            dependencies: ["LambdaStore", "LambdaStoreCore", "LambdaStoreViews", "LambdaStoreLog", "LambdaStoreColumnar",
                           "LambdaStoreTestSupport", .product(name: "Logging", package: "swift-log"),
                           .product(name: "MetricsTestKit", package: "swift-metrics")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LambdaStoreToolTests",
            dependencies: ["LambdaStoreTestSupport"],
            swiftSettings: swiftSettings),
    ]
)

// swift-tools-version: 6.2
// RevenueService: a Hummingbird HTTP service on top of LambdaStore (issue 13, item 8).
// Its own package, so the library's build does not pull in the HTTP stack.
//
//   swift run --package-path Examples/RevenueService RevenueService --store /tmp/rs --port 8080
//   swift test --disable-xctest --package-path Examples/RevenueService
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "RevenueService",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "RevenueService", targets: ["RevenueService"]),
        .library(name: "RevenueServiceCore", targets: ["RevenueServiceCore"]),
    ],
    dependencies: [
        .package(name: "LambdaStore", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // The service: routes, the batch scheduler, the JSON forms (testable without a process).
        .target(
            name: "RevenueServiceCore",
            dependencies: [
                .product(name: "LambdaStore", package: "LambdaStore"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings),
        // The command: parses --store/--host/--port/--batch-interval and runs the service.
        .executableTarget(
            name: "RevenueService",
            dependencies: [
                "RevenueServiceCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // End-to-end: the service on 127.0.0.1, driven over HTTP by AsyncHTTPClient.
        .testTarget(
            name: "RevenueServiceTests",
            dependencies: [
                "RevenueServiceCore",
                .product(name: "LambdaStore", package: "LambdaStore"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
    ]
)

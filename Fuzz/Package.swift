// swift-tools-version: 6.0
// libFuzzer harness for LambdaStore's decoders and parsers (Fuzz/README.md). Its own package so
// the sanitizer build never touches the main package's .build. Build and run: tools/fuzz.sh.
import PackageDescription

let package = Package(
    name: "LambdaStoreFuzz",
    dependencies: [
        // `name:` is required: a path package's identity is its folder's name, and CI clones
        // into a folder with another name (TOOLCHAIN.md).
        .package(name: "LambdaStore", path: ".."),
    ],
    targets: [
        // One binary for every target, chosen by FUZZ_TARGET: one link instead of fifteen.
        .executableTarget(
            name: "LambdaStoreFuzz",
            dependencies: [.product(name: "LambdaStoreFuzzTargets", package: "LambdaStore")],
            swiftSettings: [.swiftLanguageMode(.v6)]),
    ]
)

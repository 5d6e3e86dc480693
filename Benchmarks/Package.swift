// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so that users of Bulwark never resolve the benchmark tool.
let package = Package(
    name: "BulwarkBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Bulwark", path: "../"),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The floor of this machine: a clock read, an atomic compare-exchange, a mutex lock.
        .executableTarget(
            name: "Floor",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "BulwarkCore", package: "Bulwark"),
            ],
            path: "Floor",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "TokenBucket",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "BulwarkTokenBucket", package: "Bulwark"),
            ],
            path: "TokenBucket",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

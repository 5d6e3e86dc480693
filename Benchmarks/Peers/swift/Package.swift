// swift-tools-version: 6.1
import PackageDescription

// Our side of Benchmarks/Peers/run, in a package of its own so that package-benchmark (which runs
// every executable target of the Benchmarks package) does not mistake it for a benchmark suite.
let package = Package(
    name: "BulwarkPeerHarness",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Bulwark", path: "../../..")],
    targets: [
        .executableTarget(
            name: "bulwark-peer-harness",
            dependencies: [
                .product(name: "BulwarkTokenBucket", package: "Bulwark"),
                .product(name: "BulwarkSlidingWindow", package: "Bulwark"),
                .product(name: "BulwarkCircuitBreaker", package: "Bulwark"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

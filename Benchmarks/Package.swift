// swift-tools-version: 6.1
import PackageDescription

/// A benchmark suite: an executable in the folder of its name, using these Bulwark products.
func suite(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: [.product(name: "Benchmark", package: "package-benchmark"), "BenchmarkSupport"]
            + products.map { .product(name: $0, package: "Bulwark") },
        path: name,
        plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
    )
}

// Benchmarks live in their own package so that users of Bulwark never resolve the benchmark tool.
let package = Package(
    name: "BulwarkBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Bulwark", path: "../"),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // The HTTP suite builds a Hummingbird request and context of its own.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Helpers shared by the suites.
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"), .product(name: "BulwarkCore", package: "Bulwark"),
                .product(name: "BulwarkEngine", package: "Bulwark"),
            ],
            path: "Support"
        ),
        // The floor of this machine: a clock read, an atomic compare-exchange, a mutex lock.
        suite("Floor", ["BulwarkCore", "BulwarkEngine"]),
        suite("TokenBucket", ["BulwarkTokenBucket"]),
        suite("LimiterAlgorithms", ["BulwarkLeakyBucket", "BulwarkGCRA", "BulwarkFixedWindow", "BulwarkSlidingWindow"]),
        suite("Composites", ["BulwarkTokenBucket", "BulwarkChain", "BulwarkBudget", "BulwarkConcurrency"]),
        suite("Partitioned", ["BulwarkTokenBucket", "BulwarkPartitioned"]),
        suite("Contention", ["BulwarkTokenBucket"]),
        suite("Queues", ["BulwarkQueues"]),
        // Time per operation and bytes per entry at 10^3 to 10^6 entries (queues, partitions, waiters).
        suite("Scale", ["BulwarkCore", "BulwarkEngine", "BulwarkQueues", "BulwarkPartitioned", "BulwarkTokenBucket"]),
        suite("Monitors", ["Bulwark", "BulwarkMonitors", "BulwarkHealth", "BulwarkDegradation"]),
        // Decisions through Redis against redis-benchmark's ceiling and the list pattern they replace.
        suite("Redis", ["BulwarkRedis"]),
        // The rate-limit middleware per request, against the bare handler.
        .executableTarget(
            name: "HTTP",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"), "BenchmarkSupport",
                .product(name: "BulwarkHummingbird", package: "Bulwark"), .product(name: "BulwarkPartitioned", package: "Bulwark"),
                .product(name: "BulwarkTokenBucket", package: "Bulwark"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "HTTP",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        suite("Policies", [
            "BulwarkCircuitBreaker", "BulwarkRetry", "BulwarkTimeout", "BulwarkFallback", "BulwarkPipeline",
            "BulwarkTokenBucket", "BulwarkConcurrency",
        ]),
    ],
    swiftLanguageModes: [.v6]
)

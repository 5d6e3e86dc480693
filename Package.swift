// swift-tools-version: 6.2
import PackageDescription

/// Upcoming features turned on for every target, in one place.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// The in-process modules the umbrella re-exports.
let inProcessModules: [Target.Dependency] = [
    "BulwarkCore", "BulwarkTokenBucket", "BulwarkLeakyBucket", "BulwarkGCRA", "BulwarkFixedWindow",
    "BulwarkSlidingWindow", "BulwarkConcurrency", "BulwarkPartitioned", "BulwarkChain", "BulwarkBudget",
    "BulwarkCircuitBreaker", "BulwarkRetry", "BulwarkTimeout", "BulwarkFallback", "BulwarkPipeline", "BulwarkQueues",
    "BulwarkAdaptive",
]

let package = Package(
    name: "Bulwark",
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    products: [
        .library(name: "Bulwark", targets: ["Bulwark"]),
        .library(name: "BulwarkCore", targets: ["BulwarkCore"]),
        .library(name: "BulwarkTokenBucket", targets: ["BulwarkTokenBucket"]),
        .library(name: "BulwarkLeakyBucket", targets: ["BulwarkLeakyBucket"]),
        .library(name: "BulwarkGCRA", targets: ["BulwarkGCRA"]),
        .library(name: "BulwarkFixedWindow", targets: ["BulwarkFixedWindow"]),
        .library(name: "BulwarkSlidingWindow", targets: ["BulwarkSlidingWindow"]),
        .library(name: "BulwarkConcurrency", targets: ["BulwarkConcurrency"]),
        .library(name: "BulwarkPartitioned", targets: ["BulwarkPartitioned"]),
        .library(name: "BulwarkChain", targets: ["BulwarkChain"]),
        .library(name: "BulwarkBudget", targets: ["BulwarkBudget"]),
        .library(name: "BulwarkCircuitBreaker", targets: ["BulwarkCircuitBreaker"]),
        .library(name: "BulwarkRetry", targets: ["BulwarkRetry"]),
        .library(name: "BulwarkTimeout", targets: ["BulwarkTimeout"]),
        .library(name: "BulwarkFallback", targets: ["BulwarkFallback"]),
        .library(name: "BulwarkPipeline", targets: ["BulwarkPipeline"]),
        .library(name: "BulwarkQueues", targets: ["BulwarkQueues"]),
        .library(name: "BulwarkScheduler", targets: ["BulwarkScheduler"]),
        .library(name: "BulwarkMonitors", targets: ["BulwarkMonitors"]),
        .library(name: "BulwarkAdaptive", targets: ["BulwarkAdaptive"]),
        .library(name: "BulwarkHealth", targets: ["BulwarkHealth"]),
        .library(name: "BulwarkDegradation", targets: ["BulwarkDegradation"]),
        .library(name: "BulwarkTelemetry", targets: ["BulwarkTelemetry"]),
        .library(name: "BulwarkRedis", targets: ["BulwarkRedis"]),
        .library(name: "BulwarkTestKit", targets: ["BulwarkTestKit"]),
        .executable(name: "bulwark-demo", targets: ["BulwarkDemo"]),
        .executable(name: "bulwark-agent-guard", targets: ["bulwark-agent-guard"]),
    ],
    dependencies: [
        // The integrations only (telemetry, the scheduler, the demo): SwiftPM fetches these for
        // every user of the package but builds them only for those who use those modules.
        // swift-service-lifecycle 2.13 needs swift-tools 6.2, hence this package's.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // The vocabulary: clocks, decisions, errors, context, the policy and limiter contracts,
        // and the in-memory engine every limiter algorithm plugs into.
        .target(name: "BulwarkCore"),
        // One module per algorithm: the pure value and its limiter's name.
        .target(name: "BulwarkTokenBucket", dependencies: ["BulwarkCore"]),
        .target(name: "BulwarkLeakyBucket", dependencies: ["BulwarkCore", "BulwarkTokenBucket"]),
        .target(name: "BulwarkGCRA", dependencies: ["BulwarkCore"]),
        .target(name: "BulwarkFixedWindow", dependencies: ["BulwarkCore"]),
        .target(name: "BulwarkSlidingWindow", dependencies: ["BulwarkCore"]),
        .target(name: "BulwarkConcurrency", dependencies: ["BulwarkCore"]),
        // Any algorithm, one state per key, in bounded memory.
        .target(name: "BulwarkPartitioned", dependencies: ["BulwarkCore"]),
        // Several limiters all-or-nothing; budgets reserved before a call and settled after it.
        .target(name: "BulwarkChain", dependencies: ["BulwarkCore", "BulwarkPartitioned"]),
        .target(name: "BulwarkBudget", dependencies: ["BulwarkCore", "BulwarkPartitioned", "BulwarkChain"]),
        // The call policies: each its own module, on the core's contracts only.
        .target(name: "BulwarkCircuitBreaker", dependencies: ["BulwarkCore"]),
        .target(name: "BulwarkRetry", dependencies: ["BulwarkCore"]),
        .target(name: "BulwarkTimeout", dependencies: ["BulwarkCore"]),
        .target(name: "BulwarkFallback", dependencies: ["BulwarkCore"]),
        // Any policies composed around a call, at compile time or from configuration.
        // (Its configuration, read from a file, builds the common stages, so it knows them.)
        .target(
            name: "BulwarkPipeline",
            dependencies: [
                "BulwarkCore", "BulwarkCircuitBreaker", "BulwarkRetry", "BulwarkTimeout", "BulwarkTokenBucket",
                "BulwarkConcurrency", "BulwarkAdaptive",
            ]
        ),
        // Waiting orders (priority, fair, deadline), queues of jobs, and the dead-letter queue.
        .target(name: "BulwarkQueues", dependencies: ["BulwarkCore"]),
        // Jobs run by N workers through a pipeline, as a swift-service-lifecycle Service.
        .target(
            name: "BulwarkScheduler",
            dependencies: [
                "BulwarkCore", "BulwarkQueues",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // What a service measures of itself: error rate, latency percentiles, resources, hot keys.
        .target(
            name: "BulwarkMonitors",
            dependencies: [
                "BulwarkCore", "BulwarkPartitioned",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Concurrency limits that follow measured latency (AIMD, Vegas, Gradient2), and system protection.
        .target(name: "BulwarkAdaptive", dependencies: ["BulwarkCore"]),
        // Dependencies disabled and re-enabled by measurements and probes, with a health report.
        .target(
            name: "BulwarkHealth",
            dependencies: [
                "BulwarkCore", "BulwarkMonitors", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Service levels moved by rules over monitors, and the feature switches they turn off.
        .target(
            name: "BulwarkDegradation",
            dependencies: [
                "BulwarkCore", "BulwarkMonitors", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Events to swift-log, swift-metrics and swift-distributed-tracing.
        .target(
            name: "BulwarkTelemetry",
            dependencies: [
                "BulwarkCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ]
        ),
        // The limiters, the breaker's state and the dead-letter queue shared through Redis, over its own
        // RESP client on SwiftNIO (the only module that builds NIO).
        .target(
            name: "BulwarkRedis",
            dependencies: [
                "BulwarkCore", "BulwarkQueues", "BulwarkCircuitBreaker", "BulwarkTokenBucket", "BulwarkGCRA",
                "BulwarkLeakyBucket", "BulwarkFixedWindow", "BulwarkSlidingWindow",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Test support users may want for their own pipelines: a manual clock.
        .target(name: "BulwarkTestKit", dependencies: ["BulwarkCore"]),
        // The umbrella: re-exports the in-process modules.
        .target(name: "Bulwark", dependencies: inProcessModules),

        // Simulations on the virtual clock the demo, the agent guard and the tests share: the agent
        // runtime's task guard built from Bulwark's parts, a service whose latency rises with load.
        .target(name: "BulwarkSimulations", dependencies: ["Bulwark", "BulwarkHealth", "BulwarkTestKit"], path: "Playgrounds/Simulations"),
        .executableTarget(name: "bulwark-agent-guard", dependencies: ["BulwarkSimulations"], path: "Playgrounds/AgentGuard"),
        .executableTarget(
            name: "BulwarkDemo",
            dependencies: [
                "Bulwark", "BulwarkTestKit", "BulwarkScheduler", "BulwarkSimulations",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Playgrounds/Demo"
        ),

        // Helpers shared by the test targets (not a product).
        .target(name: "BulwarkTestSupport", dependencies: ["BulwarkCore"], path: "Tests/Support"),
        .testTarget(name: "BulwarkCoreTests", dependencies: ["BulwarkCore", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkTokenBucketTests", dependencies: ["BulwarkTokenBucket", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkLeakyBucketTests", dependencies: ["BulwarkLeakyBucket", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkGCRATests", dependencies: ["BulwarkGCRA", "BulwarkTokenBucket", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkFixedWindowTests", dependencies: ["BulwarkFixedWindow", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(
            name: "BulwarkSlidingWindowTests",
            dependencies: ["BulwarkSlidingWindow", "BulwarkFixedWindow", "BulwarkTestKit", "BulwarkTestSupport"]
        ),
        .testTarget(name: "BulwarkConcurrencyTests", dependencies: ["BulwarkConcurrency", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(
            name: "BulwarkPartitionedTests",
            dependencies: ["BulwarkPartitioned", "BulwarkTokenBucket", "BulwarkSlidingWindow", "BulwarkTestKit", "BulwarkTestSupport"]
        ),
        .testTarget(name: "BulwarkChainTests", dependencies: ["Bulwark", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkCircuitBreakerTests", dependencies: ["BulwarkCircuitBreaker", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkPolicyTests", dependencies: ["Bulwark", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(
            name: "BulwarkTelemetryTests",
            dependencies: [
                "BulwarkTelemetry", "Bulwark", "BulwarkTestKit", "BulwarkTestSupport",
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ]
        ),
        .testTarget(
            name: "BulwarkQueuesTests",
            dependencies: ["Bulwark", "BulwarkTestKit", "BulwarkTestSupport", "bulwark-journal-writer", "bulwark-memory-probe"]
        ),
        // The child process the journal's crash test kills mid-write.
        .executableTarget(name: "bulwark-journal-writer", dependencies: ["BulwarkQueues"], path: "Tests/JournalWriter"),
        // The job queues' memory, weighed in a process of its own (no other test allocating).
        .executableTarget(name: "bulwark-memory-probe", dependencies: ["BulwarkQueues", "BulwarkTestKit"], path: "Tests/MemoryProbe"),
        .testTarget(
            name: "BulwarkSchedulerTests",
            dependencies: [
                "BulwarkScheduler", "Bulwark", "BulwarkTestKit", "BulwarkTestSupport",
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "BulwarkMonitorsTests",
            dependencies: [
                "BulwarkMonitors", "BulwarkAdaptive", "BulwarkHealth", "BulwarkDegradation", "Bulwark", "BulwarkTestKit",
                "BulwarkTestSupport", "BulwarkSimulations", .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "BulwarkRedisTests",
            dependencies: [
                "BulwarkRedis", "Bulwark", "BulwarkTestKit", "BulwarkTestSupport", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            // The parser's corpus of interesting inputs (read by path, declared so SwiftPM knows it).
            resources: [.copy("Corpus")]
        ),
        .testTarget(name: "BulwarkTests", dependencies: ["Bulwark", "BulwarkTestKit"]),
        // Every vector file of Tests/Vectors, run by every implementation.
        .testTarget(name: "BulwarkVectorTests", dependencies: ["Bulwark", "BulwarkTestKit"]),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}

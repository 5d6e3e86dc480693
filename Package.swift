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
    "BulwarkCore", "BulwarkEngine", "BulwarkTokenBucket", "BulwarkLeakyBucket", "BulwarkGCRA", "BulwarkFixedWindow",
    "BulwarkSlidingWindow", "BulwarkConcurrency", "BulwarkPartitioned", "BulwarkChain", "BulwarkBudget",
    "BulwarkCircuitBreaker", "BulwarkRetry", "BulwarkTimeout", "BulwarkFallback", "BulwarkPipeline", "BulwarkConfiguration",
    "BulwarkQueues", "BulwarkAdaptive",
]

/// The traits that bring the integrations, and the external packages each one uses. Every external
/// package is used under its trait only, so a user who turns the default traits off
/// (`.package(url: …, from: …, traits: [])`) and imports a limiter fetches no package at all.
let integrations: [(trait: String, description: String, packages: [String])] = [
    ("Redis", "BulwarkRedis: limiters, breaker state and dead letters shared through Redis (SwiftNIO).", ["swift-nio"]),
    (
        "Telemetry", "BulwarkTelemetry: events to swift-log, swift-metrics and swift-distributed-tracing.",
        ["swift-log", "swift-metrics", "swift-distributed-tracing"]
    ),
    (
        "Lifecycle", "BulwarkScheduler, and BulwarkLifecycle: the monitors, health checker and degradation controller as swift-service-lifecycle services.",
        ["swift-service-lifecycle"]
    ),
    ("Monitors", "BulwarkMonitors' latency percentiles (hdrhistogram-swift), and so BulwarkHealth and BulwarkDegradation.", ["hdrhistogram-swift"]),
    (
        "HTTP", "BulwarkHTTP (headers, keys, status map) and BulwarkHummingbird (middleware and endpoints for Hummingbird 2).",
        ["swift-http-types", "swift-http-structured-headers", "swift-crypto", "hummingbird", "swift-prometheus"]
    ),
    (
        "Admin", "BulwarkAdmin: group quotas on all and on successful requests, with an admin page and API (swift-mustache).",
        ["swift-mustache"]
    ),
    (
        "Gateway", "BulwarkGateway and bulwark-gateway: the OpenAI-compatible LLM rate-limiting gateway (YAML configuration, command line).",
        ["Yams", "swift-argument-parser", "async-http-client"]
    ),
]

/// The traits another trait turns on: the HTTP endpoints read the health checker and the
/// degradation controller, which stand on BulwarkMonitors.
let traitsRequired: [String: Set<String>] = [
    "HTTP": ["Monitors"], "Admin": ["HTTP", "Redis"], "Gateway": ["HTTP", "Redis", "Telemetry", "Lifecycle", "Admin"],
]

/// BulwarkRedis' Lua scripts, one file each in `Sources/BulwarkRedis/Scripts/`.
let luaScripts = [
    "prelude", "token-bucket", "gcra", "leaky-bucket-shaper", "fixed-window", "sliding-window-log",
    "sliding-window-counter", "segmented-window", "concurrency", "chain", "budget",
]

/// A product of an external package, used only when its package's trait is on.
func external(_ product: String, _ package: String) -> Target.Dependency {
    let trait = integrations.first { $0.packages.contains(package) }!.trait
    return .product(name: product, package: package, condition: .when(traits: [trait]))
}

let package = Package(
    name: "Bulwark",
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    products: [
        .library(name: "Bulwark", targets: ["Bulwark"]),
        .library(name: "BulwarkCore", targets: ["BulwarkCore"]),
        .library(name: "BulwarkEngine", targets: ["BulwarkEngine"]),
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
        .library(name: "BulwarkConfiguration", targets: ["BulwarkConfiguration"]),
        .library(name: "BulwarkQueues", targets: ["BulwarkQueues"]),
        .library(name: "BulwarkScheduler", targets: ["BulwarkScheduler"]),
        .library(name: "BulwarkMonitors", targets: ["BulwarkMonitors"]),
        .library(name: "BulwarkAdaptive", targets: ["BulwarkAdaptive"]),
        .library(name: "BulwarkHealth", targets: ["BulwarkHealth"]),
        .library(name: "BulwarkDegradation", targets: ["BulwarkDegradation"]),
        .library(name: "BulwarkLifecycle", targets: ["BulwarkLifecycle"]),
        .library(name: "BulwarkTelemetry", targets: ["BulwarkTelemetry"]),
        .library(name: "BulwarkRedisClient", targets: ["BulwarkRedisClient"]),
        .library(name: "BulwarkRedis", targets: ["BulwarkRedis"]),
        .library(name: "BulwarkTestKit", targets: ["BulwarkTestKit"]),
        .library(name: "BulwarkTokenizer", targets: ["BulwarkTokenizer"]),
        .library(name: "BulwarkAdmin", targets: ["BulwarkAdmin"]),
        .library(name: "BulwarkGateway", targets: ["BulwarkGateway"]),
        .executable(name: "bulwark-gateway", targets: ["bulwark-gateway"]),
        .executable(name: "bulwark-load", targets: ["bulwark-load"]),
        .library(name: "BulwarkHTTP", targets: ["BulwarkHTTP"]),
        .library(name: "BulwarkHummingbird", targets: ["BulwarkHummingbird"]),
        .executable(name: "bulwark-demo", targets: ["BulwarkDemo"]),
        .executable(name: "bulwark-agent-guard", targets: ["bulwark-agent-guard"]),
        .executable(name: "bulwark-service", targets: ["bulwark-service"]),
        .executable(name: "bulwark-http-overhead", targets: ["bulwark-http-overhead"]),
        .executable(name: "bulwark-tokens", targets: ["bulwark-tokens"]),
    ],
    traits: Set(
        [.default(enabledTraits: Set(integrations.map(\.trait)))]
            + integrations.map { Trait(name: $0.trait, description: $0.description, enabledTraits: traitsRequired[$0.trait] ?? []) }
    ),
    dependencies: [
        // The integrations only, each under its trait (see `integrations`): with the default traits
        // SwiftPM fetches these for every user of the package but builds them only for those who use
        // those modules; with the traits off it fetches none of them.
        // swift-service-lifecycle 2.13 needs swift-tools 6.2, hence this package's.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-http-structured-headers", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // The vocabulary: clocks, decisions, errors, context, events, the policy and limiter contracts.
        .target(name: "BulwarkCore", dependencies: ["BulwarkPrimitives"]),
        // Package-internal helpers every module uses: the TSan-visible lock, SplitMix64, saturating
        // arithmetic. Not a product: nothing in it is public.
        .target(name: "BulwarkPrimitives"),
        // The in-memory engine every limiter algorithm plugs into, and its waiting room.
        .target(name: "BulwarkEngine", dependencies: ["BulwarkCore"]),
        // One module per algorithm: the pure value and its limiter's name.
        .target(name: "BulwarkTokenBucket", dependencies: ["BulwarkCore", "BulwarkEngine"]),
        .target(name: "BulwarkLeakyBucket", dependencies: ["BulwarkCore", "BulwarkEngine", "BulwarkTokenBucket"]),
        .target(name: "BulwarkGCRA", dependencies: ["BulwarkCore", "BulwarkEngine"]),
        .target(name: "BulwarkFixedWindow", dependencies: ["BulwarkCore", "BulwarkEngine"]),
        .target(name: "BulwarkSlidingWindow", dependencies: ["BulwarkCore", "BulwarkEngine"]),
        .target(name: "BulwarkConcurrency", dependencies: ["BulwarkCore", "BulwarkEngine"]),
        // Any algorithm, one state per key, in bounded memory.
        .target(name: "BulwarkPartitioned", dependencies: ["BulwarkCore", "BulwarkEngine"]),
        // Several limiters all-or-nothing; budgets reserved before a call and settled after it.
        .target(name: "BulwarkChain", dependencies: ["BulwarkCore", "BulwarkEngine", "BulwarkPartitioned"]),
        .target(name: "BulwarkBudget", dependencies: ["BulwarkCore", "BulwarkEngine", "BulwarkPartitioned", "BulwarkChain"]),
        // The call policies: each its own module, on the core's contracts only.
        .target(name: "BulwarkCircuitBreaker", dependencies: ["BulwarkCore"]),
        .target(name: "BulwarkRetry", dependencies: ["BulwarkCore"]),
        .target(name: "BulwarkTimeout", dependencies: ["BulwarkCore"]),
        .target(name: "BulwarkFallback", dependencies: ["BulwarkCore"]),
        // Any policies composed around a call, at compile time or at run time (on the core alone).
        .target(name: "BulwarkPipeline", dependencies: ["BulwarkCore"]),
        // Pipelines built from a configuration (JSON): it builds the common stages, so it knows them.
        .target(
            name: "BulwarkConfiguration",
            dependencies: [
                "BulwarkCore", "BulwarkPipeline", "BulwarkCircuitBreaker", "BulwarkRetry", "BulwarkTimeout",
                "BulwarkTokenBucket", "BulwarkConcurrency", "BulwarkAdaptive",
            ]
        ),
        // Waiting orders (priority, fair, deadline), queues of jobs, and the dead-letter queue.
        .target(name: "BulwarkQueues", dependencies: ["BulwarkCore", "BulwarkEngine"]),
        // Jobs run by N workers through a pipeline, as a swift-service-lifecycle Service.
        .target(
            name: "BulwarkScheduler",
            dependencies: [
                "BulwarkCore", "BulwarkEngine", "BulwarkQueues",
                external("ServiceLifecycle", "swift-service-lifecycle"), external("UnixSignals", "swift-service-lifecycle"),
            ]
        ),
        // What a service measures of itself: error rate, latency percentiles, resources, hot keys.
        .target(
            name: "BulwarkMonitors",
            dependencies: [
                "BulwarkCore", "BulwarkEngine",
                external("Histogram", "hdrhistogram-swift"),
            ]
        ),
        // Concurrency limits that follow measured latency (AIMD, Vegas, Gradient2), and system protection.
        .target(name: "BulwarkAdaptive", dependencies: ["BulwarkCore", "BulwarkEngine"]),
        // Dependencies disabled and re-enabled by measurements and probes, with a health report.
        .target(
            name: "BulwarkHealth",
            dependencies: [
                "BulwarkCore", "BulwarkMonitors",
            ]
        ),
        // Service levels moved by rules over monitors, and the feature switches they turn off.
        .target(
            name: "BulwarkDegradation",
            dependencies: [
                "BulwarkCore", "BulwarkMonitors",
            ]
        ),
        // The monitors' periodic work as swift-service-lifecycle services: the only module that
        // imports swift-service-lifecycle for them.
        .target(
            name: "BulwarkLifecycle",
            dependencies: ["BulwarkCore", "BulwarkMonitors", external("ServiceLifecycle", "swift-service-lifecycle")]
        ),
        // Events to swift-log, swift-metrics and swift-distributed-tracing.
        .target(
            name: "BulwarkTelemetry",
            dependencies: [
                "BulwarkCore",
                external("Logging", "swift-log"),
                external("CoreMetrics", "swift-metrics"),
                external("Tracing", "swift-distributed-tracing"),
                external("Instrumentation", "swift-distributed-tracing"),
            ]
        ),
        // A small Redis client: RESP2/RESP3 over SwiftNIO (the only module that builds NIO), pipelined
        // connection pools, deadlines, scripts by SHA, Redis Cluster.
        .target(
            name: "BulwarkRedisClient",
            dependencies: ["BulwarkCore", external("NIOCore", "swift-nio"), external("NIOPosix", "swift-nio")]
        ),
        // The limiters, the breaker's state and the dead-letter queue shared through Redis, over that
        // client.
        .target(
            name: "BulwarkRedis",
            dependencies: [
                "BulwarkCore", "BulwarkRedisClient", "BulwarkQueues", "BulwarkCircuitBreaker", "BulwarkTokenBucket",
                "BulwarkGCRA", "BulwarkLeakyBucket", "BulwarkFixedWindow", "BulwarkSlidingWindow",
            ],
            // The Lua scripts, compiled into the module (`PackageResources.<file>_lua`); each can be
            // read, linted and run with `redis-cli --eval` (`scripts/lua-script`, `scripts/check-lua`).
            resources: luaScripts.map { .embedInCode("Scripts/\($0).lua") }
        ),
        // HTTP without a framework: client keys through trusted proxies, the rate-limit header
        // families, the error-to-status map (swift-http-types, structured headers, SHA-256).
        .target(
            name: "BulwarkHTTP",
            dependencies: [
                "BulwarkCore",
                external("HTTPTypes", "swift-http-types"),
                external("RawStructuredFieldValues", "swift-http-structured-headers"),
                external("Crypto", "swift-crypto"),
            ]
        ),
        // Hummingbird 2 middleware (rate limits, policies, permits held while a body streams) and
        // the health, metrics and admin endpoints.
        .target(
            name: "BulwarkHummingbird",
            dependencies: [
                "BulwarkHTTP", "BulwarkEngine", "BulwarkPartitioned", "BulwarkChain", "BulwarkBudget", "BulwarkConcurrency",
                "BulwarkAdaptive", "BulwarkHealth", "BulwarkDegradation",
                external("Hummingbird", "hummingbird"),
                external("Prometheus", "swift-prometheus"),
                // The peer's `SocketAddress` (Hummingbird stands on SwiftNIO: nothing more is fetched).
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["HTTP"])),
            ]
        ),
        // Group quotas on all and on successful requests, their settings edited on an admin page
        // (swift-mustache) and kept in a file or in Redis, in force on every node.
        .target(
            name: "BulwarkAdmin",
            dependencies: [
                "BulwarkCore", "BulwarkPrimitives", "BulwarkPartitioned", "BulwarkSlidingWindow", "BulwarkMonitors", "BulwarkRedisClient",
                "BulwarkHTTP", "BulwarkHummingbird", external("Hummingbird", "hummingbird"), external("HTTPTypes", "swift-http-types"),
                external("Crypto", "swift-crypto"), external("Mustache", "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["HTTP"])),
            ],
            resources: [
                "group-quota", "quota-save", "quota-history",
            ].map { .embedInCode("Scripts/\($0).lua") } + ["page.mustache", "login.mustache", "admin.js", "admin.css"].map { .embedInCode("Page/\($0)") }
        ),
        // Tokens as OpenAI counts them: byte-pair encoding from tiktoken's rank files (toolchain only).
        .target(name: "BulwarkTokenizer"),
        // The OpenAI-compatible gateway: keys, per-minute limits of requests and tokens reserved and
        // settled in memory or in Redis, the mock and real upstreams, streams relayed.
        .target(
            name: "BulwarkGateway",
            dependencies: [
                "BulwarkCore", "BulwarkPrimitives", "BulwarkEngine", "BulwarkChain", "BulwarkBudget", "BulwarkSlidingWindow",
                "BulwarkTimeout", "BulwarkCircuitBreaker", "BulwarkTokenizer", "BulwarkRedis", "BulwarkRedisClient", "BulwarkHTTP",
                "BulwarkHummingbird", "BulwarkHealth", "BulwarkMonitors", "BulwarkLifecycle", "BulwarkAdmin",
                external("Hummingbird", "hummingbird"), external("HTTPTypes", "swift-http-types"),
                external("Prometheus", "swift-prometheus"), external("Logging", "swift-log"),
                external("ServiceLifecycle", "swift-service-lifecycle"), external("UnixSignals", "swift-service-lifecycle"),
                external("Crypto", "swift-crypto"), external("Yams", "Yams"), external("AsyncHTTPClient", "async-http-client"),
                external("NIOCore", "swift-nio"), external("NIOHTTP1", "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "bulwark-gateway",
            dependencies: ["BulwarkGateway", external("ArgumentParser", "swift-argument-parser")],
            path: "Playgrounds/Gateway"
        ),
        // The gateway's load client: keys, nodes, prompt sizes, streams; a table and an HTML report.
        .executableTarget(
            name: "bulwark-load",
            dependencies: [
                "BulwarkPrimitives", external("ArgumentParser", "swift-argument-parser"), external("AsyncHTTPClient", "async-http-client"),
                external("NIOCore", "swift-nio"), external("NIOHTTP1", "swift-nio"),
            ],
            path: "Playgrounds/Load"
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
                external("ServiceLifecycle", "swift-service-lifecycle"), external("UnixSignals", "swift-service-lifecycle"),
                external("Logging", "swift-log"),
            ],
            path: "Playgrounds/Demo"
        ),
        // README's HTTP example: a Hummingbird service behind a per-IP limit, a per-key token
        // budget and a breaker, with health and metrics; the live tests start it.
        .executableTarget(
            name: "bulwark-service",
            dependencies: [
                "Bulwark", "BulwarkHealth", "BulwarkHummingbird", "BulwarkTelemetry",
                external("Hummingbird", "hummingbird"),
                external("Prometheus", "swift-prometheus"),
            ],
            path: "Playgrounds/Service"
        ),
        // The server Benchmarks/http-overhead loads with wrk: one route bare and rate limited.
        .executableTarget(
            name: "bulwark-http-overhead",
            dependencies: ["BulwarkHummingbird", "BulwarkPartitioned", "BulwarkTokenBucket", external("Hummingbird", "hummingbird")],
            path: "Playgrounds/HTTPOverhead"
        ),
        // Token counts as tiktoken's, and the tokenizer's speed (Benchmarks/tokenizer).
        .executableTarget(name: "bulwark-tokens", dependencies: ["BulwarkTokenizer"], path: "Playgrounds/Tokens"),

        // Helpers shared by the test targets (not a product).
        .target(name: "BulwarkTestSupport", dependencies: ["BulwarkCore", "BulwarkTestKit", "BulwarkMonitors"], path: "Tests/Support"),
        // The child process the journal's crash test kills mid-write.
        .executableTarget(name: "bulwark-journal-writer", dependencies: ["BulwarkQueues"], path: "Tests/JournalWriter"),
        // The job queues' memory, weighed in a process of its own (no other test allocating).
        .executableTarget(name: "bulwark-memory-probe", dependencies: ["BulwarkQueues", "BulwarkEngine", "BulwarkTestKit"], path: "Tests/MemoryProbe"),
        // One test target per library module (Tests/<Module>Tests), each listing what its files import.
        .testTarget(name: "BulwarkCoreTests", dependencies: ["BulwarkCore"]),
        .testTarget(name: "BulwarkPrimitivesTests", dependencies: ["BulwarkPrimitives"]),
        .testTarget(
            name: "BulwarkEngineTests",
            dependencies: [
                "BulwarkEngine", "BulwarkCore", "BulwarkTokenBucket", "BulwarkFixedWindow", "BulwarkSlidingWindow",
                "BulwarkTestKit", "BulwarkTestSupport",
            ]
        ),
        .testTarget(
            name: "BulwarkTokenBucketTests", dependencies: ["BulwarkTokenBucket", "BulwarkCore", "BulwarkTestKit", "BulwarkTestSupport"]
        ),
        .testTarget(
            name: "BulwarkLeakyBucketTests",
            dependencies: ["BulwarkLeakyBucket", "BulwarkTokenBucket", "BulwarkTestKit", "BulwarkTestSupport"]
        ),
        .testTarget(name: "BulwarkGCRATests", dependencies: ["BulwarkGCRA", "BulwarkTokenBucket", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkFixedWindowTests", dependencies: ["BulwarkFixedWindow", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkSlidingWindowTests", dependencies: ["BulwarkSlidingWindow", "BulwarkFixedWindow", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkConcurrencyTests", dependencies: ["BulwarkConcurrency", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(
            name: "BulwarkPartitionedTests",
            dependencies: ["BulwarkPartitioned", "BulwarkTokenBucket", "BulwarkSlidingWindow", "BulwarkTestKit", "BulwarkTestSupport"]
        ),
        .testTarget(name: "BulwarkChainTests", dependencies: ["BulwarkChain", "Bulwark", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkBudgetTests", dependencies: ["BulwarkBudget", "Bulwark", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(
            name: "BulwarkCircuitBreakerTests", dependencies: ["BulwarkCircuitBreaker", "BulwarkCore", "BulwarkTestKit", "BulwarkTestSupport"]
        ),
        .testTarget(name: "BulwarkRetryTests", dependencies: ["BulwarkRetry", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkTimeoutTests", dependencies: ["BulwarkTimeout", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(
            name: "BulwarkFallbackTests",
            dependencies: ["BulwarkFallback", "BulwarkCircuitBreaker", "BulwarkTokenBucket", "BulwarkTestKit", "BulwarkTestSupport"]
        ),
        .testTarget(name: "BulwarkConfigurationTests", dependencies: ["BulwarkConfiguration", "Bulwark", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkPipelineTests", dependencies: ["BulwarkPipeline", "Bulwark", "BulwarkTestKit", "BulwarkTestSupport"]),
        .testTarget(
            name: "BulwarkQueuesTests",
            dependencies: [
                "BulwarkQueues", "Bulwark", "BulwarkCore", "BulwarkEngine", "BulwarkTestKit", "BulwarkTestSupport",
                "bulwark-journal-writer", "bulwark-memory-probe",
            ]
        ),
        .testTarget(
            name: "BulwarkSchedulerTests",
            dependencies: [
                "BulwarkScheduler", "Bulwark", "BulwarkTestKit", "BulwarkTestSupport",
                external("ServiceLifecycleTestKit", "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "BulwarkMonitorsTests", dependencies: ["BulwarkMonitors", "Bulwark", "BulwarkCore", "BulwarkTestKit", "BulwarkTestSupport"]
        ),
        // The adaptive bulkhead's tests run the knee simulation the playgrounds share.
        .testTarget(
            name: "BulwarkAdaptiveTests", dependencies: ["BulwarkAdaptive", "BulwarkSimulations", "BulwarkTestKit", "BulwarkTestSupport"]
        ),
        .testTarget(
            name: "BulwarkHealthTests",
            dependencies: ["BulwarkHealth", "Bulwark", "BulwarkTestKit", "BulwarkTestSupport"]
        ),
        .testTarget(
            name: "BulwarkLifecycleTests",
            dependencies: [
                "BulwarkLifecycle", "BulwarkHealth", "BulwarkTestKit", "BulwarkTestSupport",
                external("ServiceLifecycle", "swift-service-lifecycle"), external("UnixSignals", "swift-service-lifecycle"),
                external("ServiceLifecycleTestKit", "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "BulwarkDegradationTests",
            dependencies: ["BulwarkDegradation", "BulwarkMonitors", "BulwarkTestKit", "BulwarkTestSupport"]
        ),
        .testTarget(
            name: "BulwarkTelemetryTests",
            dependencies: [
                "BulwarkTelemetry", "Bulwark", "BulwarkTestKit", "BulwarkTestSupport",
                external("Logging", "swift-log"),
                external("InMemoryLogging", "swift-log"),
                external("MetricsTestKit", "swift-metrics"),
                external("Tracing", "swift-distributed-tracing"),
                external("InMemoryTracing", "swift-distributed-tracing"),
            ]
        ),
        .testTarget(
            name: "BulwarkHTTPTests",
            dependencies: [
                "BulwarkHTTP", "BulwarkTestSupport",
                external("HTTPTypes", "swift-http-types"),
                external("RawStructuredFieldValues", "swift-http-structured-headers"),
            ]
        ),
        .testTarget(
            name: "BulwarkHummingbirdTests",
            dependencies: [
                "BulwarkHummingbird", "BulwarkTokenBucket", "BulwarkPipeline", "BulwarkCircuitBreaker", "BulwarkTestKit",
                "BulwarkTestSupport", "BulwarkPartitioned", "BulwarkHealth", "BulwarkDegradation", "BulwarkTimeout", "BulwarkTelemetry",
                "BulwarkChain", "BulwarkBudget",
                external("HTTPTypes", "swift-http-types"),
                external("Hummingbird", "hummingbird"),
                external("HummingbirdTesting", "hummingbird"),
                external("Prometheus", "swift-prometheus"),
                external("RawStructuredFieldValues", "swift-http-structured-headers"),
            ]
        ),
        // Real redis-server processes and a misbehaving fake server, shared by the two Redis test targets.
        .target(
            name: "BulwarkRedisTestSupport",
            dependencies: [
                "BulwarkRedisClient", "BulwarkTestSupport", external("NIOCore", "swift-nio"), external("NIOPosix", "swift-nio"),
            ],
            path: "Tests/RedisSupport"
        ),
        .testTarget(
            name: "BulwarkRedisClientTests",
            dependencies: [
                "BulwarkRedisClient", "BulwarkRedisTestSupport", "BulwarkTestSupport", external("NIOCore", "swift-nio"),
                external("NIOPosix", "swift-nio"),
            ],
            // The parser's corpus of interesting inputs (read by path, declared so SwiftPM knows it).
            resources: [.copy("Corpus")]
        ),
        .testTarget(
            name: "BulwarkRedisTests",
            dependencies: [
                "BulwarkRedis", "BulwarkCore", "BulwarkCircuitBreaker", "BulwarkQueues", "BulwarkTokenBucket", "BulwarkTestKit",
                "BulwarkTestSupport", "BulwarkRedisTestSupport",
            ]
        ),
        .testTarget(
            name: "BulwarkGatewayTests", dependencies: ["BulwarkGateway", "BulwarkTestSupport", "BulwarkRedisTestSupport"], exclude: ["openai_client.py", "admin_browser.py"]
        ),
        .testTarget(
            name: "BulwarkAdminTests",
            dependencies: [
                "BulwarkAdmin", "BulwarkHummingbird", "BulwarkRedisClient", "BulwarkTestSupport", "BulwarkRedisTestSupport",
                external("Hummingbird", "hummingbird"), external("HummingbirdTesting", "hummingbird"), external("HTTPTypes", "swift-http-types"),
            ]
        ),
        .testTarget(name: "BulwarkTokenizerTests", dependencies: ["BulwarkTokenizer", "BulwarkTestSupport"]),
        .testTarget(name: "BulwarkTestKitTests", dependencies: ["BulwarkTestKit", "BulwarkCore", "BulwarkTestSupport"]),
        // The umbrella's: the README's examples, bounds across modules, suites that span several
        // modules, and the agent guard simulation (Playgrounds/Simulations).
        .testTarget(name: "BulwarkTests", dependencies: ["Bulwark", "BulwarkTestKit", "BulwarkTestSupport", "BulwarkSimulations"]),
        // Every vector file of Tests/Vectors, run by every implementation.
        .testTarget(name: "BulwarkVectorTests", dependencies: ["Bulwark", "BulwarkTestKit"]),
    ],
    swiftLanguageModes: [.v6]
)

// The DocC plugin, for `BULWARK_DOCS=1 swift package generate-documentation` (a hosted archive):
// only then, so that no user of the package fetches it. CI checks every catalog faster with
// scripts/check-docs, from the debug build's modules.
if Context.environment["BULWARK_DOCS"] == "1" {
    package.dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"))
}

for target in package.targets {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}

// swift-tools-version: 6.1
import PackageDescription

/// Upcoming features turned on for every target, in one place.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Bulwark",
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    products: [
        .library(name: "Bulwark", targets: ["Bulwark"]),
        .library(name: "BulwarkCore", targets: ["BulwarkCore"]),
        .library(name: "BulwarkTokenBucket", targets: ["BulwarkTokenBucket"]),
        .library(name: "BulwarkTestKit", targets: ["BulwarkTestKit"]),
        .executable(name: "bulwark-demo", targets: ["BulwarkDemo"]),
    ],
    targets: [
        // The vocabulary: clocks, decisions, errors, context, the policy and limiter contracts,
        // and the in-memory engine every limiter algorithm plugs into.
        .target(name: "BulwarkCore"),
        .target(name: "BulwarkTokenBucket", dependencies: ["BulwarkCore"]),
        // Test support users may want for their own pipelines: a manual clock.
        .target(name: "BulwarkTestKit", dependencies: ["BulwarkCore"]),
        // The umbrella: re-exports the in-process modules.
        .target(name: "Bulwark", dependencies: ["BulwarkCore", "BulwarkTokenBucket"]),

        .executableTarget(
            name: "BulwarkDemo",
            dependencies: ["Bulwark", "BulwarkTestKit"],
            path: "Playgrounds/Demo"
        ),

        .testTarget(name: "BulwarkCoreTests", dependencies: ["BulwarkCore", "BulwarkTestKit"]),
        .testTarget(name: "BulwarkTokenBucketTests", dependencies: ["BulwarkTokenBucket", "BulwarkTestKit"]),
        .testTarget(name: "BulwarkTests", dependencies: ["Bulwark", "BulwarkTestKit"]),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}

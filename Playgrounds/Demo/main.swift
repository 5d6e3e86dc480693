// bulwark-demo: one scenario per family of Bulwark's limiters and policies, each on a virtual clock, so that
// minutes of simulated traffic run in well under a second and every run prints the same report.
//
//     swift run bulwark-demo                 # every scenario
//     swift run bulwark-demo budget windows  # the scenarios named

let scenarios: [(name: String, title: String, run: () async throws -> Void)] = [
    ("token-bucket", "Token bucket: bursts against 40 requests per minute, with a FIFO queue", tokenBucketScenario),
    ("leaky-bucket", "Leaky bucket: a shaper pacing an upstream, and a meter policing bursts", leakyBucketScenario),
    ("gcra", "GCRA: the same decisions as a token bucket, from one number", gcraScenario),
    ("windows", "Windows at a minute boundary: fixed, sliding log, sliding counter, segmented", windowsScenario),
    ("bulkhead", "Bulkhead: five model calls in flight, FIFO against LIFO", bulkheadScenario),
    ("tenants", "Keys and chains: global, tenant and user limits, a VIP group, a flooding user", tenantsScenario),
    ("budget", "Token budget: three API keys, requests and input and output tokens per minute", budgetScenario),
    ("outage", "A provider down and back: breaker, fallback chain, half-open probes, retry budget", outageScenario),
    ("scheduler", "Work scheduler: three tenants, one flooding, a VIP, deadlines, dead letters replayed", schedulerScenario),
    ("adaptive", "Adaptive concurrency: Vegas, Gradient2 and AIMD against a service whose latency rises past 10 in flight", adaptiveScenario),
    ("agent-guard", "Agent task guard: five providers, a priority queue, fallback, health checks; its targets as measured", agentGuardScenario),
]

let requested = Set(CommandLine.arguments.dropFirst())
if let unknown = requested.first(where: { name in !scenarios.contains { $0.name == name } }) {
    print("unknown scenario \"\(unknown)\"; the scenarios are: \(scenarios.map(\.name).joined(separator: ", "))")
} else {
    print("Bulwark demo")
    for scenario in scenarios where requested.isEmpty || requested.contains(scenario.name) {
        print("\n== \(scenario.name): \(scenario.title)\n")
        try await scenario.run()
    }
}

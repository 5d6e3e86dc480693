// A Hummingbird service behind Bulwark: a per-IP limit, a per-key token budget, a breaker around
// the upstream call, health and metrics. `PORT=8080 swift run bulwark-service`, then
//     curl -i -X POST -H 'Authorization: Bearer my-key' -d 'hello' http://127.0.0.1:8080/v1/echo
import Bulwark
import BulwarkHealth
import BulwarkHummingbird
import BulwarkTelemetry
import Foundation
import Hummingbird
import Prometheus

typealias PerKey = PartitionedRateLimiter<String, TokenBucket, ContinuousClock>
let perIP = try PerKey(configuration: .init(capacity: 10, refill: 1, every: .milliseconds(100)), maximumPartitions: 100_000)
let tokens = try PerKey(configuration: .init(capacity: 10_000, every: .seconds(60)), maximumPartitions: 100_000)
let budget = try TokenBudget(dimensions: [.partitioned("tokens", tokens) { $0.partitionKey }], clock: ContinuousClock())
let breaker = try CircuitBreaker(configuration: .init(failureRateThreshold: 50, minimumCalls: 20))
let health = try HealthChecker(dependencies: [HealthCheckedDependency("upstream", circuitState: { breaker.state })])
let registry = PrometheusCollectorRegistry()
for (name, channel) in [("per-ip", perIP.events), ("tokens", budget.events), ("upstream", breaker.events)] {
    channel.attach(TelemetryObserver(factory: PrometheusMetricsFactory(registry: registry)), as: name)
}

let router = Router(context: PeerRequestContext.self)
router.addHealthRoutes(health, critical: ["upstream"])
router.addMetricsRoute(registry)
let api = router.group("v1")
    .add(middleware: RateLimitMiddleware(limiter: perIP, key: .clientIP(), policy: try RateLimitPolicy(name: "ip", quota: 10, window: .seconds(1))))
    .add(middleware: try TokenBudgetMiddleware(
        budget: budget, key: .bearerToken, policies: [try RateLimitPolicy(name: "tpm", quota: 10_000, window: .seconds(60), unit: "tokens")],
        estimate: { request, _ in [request.headers[.contentLength].flatMap { Int($0) } ?? 0] }  // a token a byte
    ))
    .add(middleware: PolicyMiddleware(breaker))
api.get("models") { _, _ in #"{"data":[{"id":"echo"}]}"# }
api.post("echo") { request, _ in try await upstream(String(buffer: request.body.collect(upTo: 1 << 20))) }

/// Stands for the provider the service calls.
@Sendable func upstream(_ prompt: String) async throws -> String { "echo: \(prompt)" }

let port = Int(ProcessInfo.processInfo.environment["PORT"] ?? "") ?? 8080
try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port))).runService()

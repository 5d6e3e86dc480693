import BulwarkCircuitBreaker
import BulwarkCore
import BulwarkHealth
import BulwarkHummingbird
import Foundation
import Hummingbird
import Logging
import Prometheus

/// What the gateway counts for `/metrics` (Prometheus' text format, written by swift-prometheus).
/// Labels carry key ids and upstream names, never a key.
///
/// - `bulwark_gateway_requests_total{route,status}` and
///   `bulwark_gateway_request_duration_seconds{route}` (to the reply's head: a stream's first
///   byte);
/// - `bulwark_gateway_rate_limited_total{key,type}`: 429s of the gateway's own limits;
/// - `bulwark_gateway_tokens_total{key,kind}`: input and output tokens settled;
/// - `bulwark_gateway_upstream_requests_total{upstream,outcome}`: the reply's status, or
///   `error`, `timeout`; and the upstreams passed over, `cooling` (provider header sync),
///   `unhealthy` (health checks) or `open` (its breaker);
/// - `bulwark_gateway_upstream_cooldown_seconds{upstream}` and
///   `bulwark_gateway_upstream_healthy{upstream}`, read when scraped.
struct GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "bulwark", subsystem: "gateway", metricName: metric, unitName: unit, helpText: help)
    }

    // The descriptors, made once rather than on every request (immutable structs of strings that
    // swift-prometheus does not mark Sendable).
    nonisolated(unsafe) static let requests = name("requests", "total", "Requests answered, by route and status.")
    nonisolated(unsafe) static let duration = name("request_duration", "seconds", "Time to the reply's head (a stream's first byte), by route.")
    nonisolated(unsafe) static let rateLimited = name("rate_limited", "total", "Requests refused by the gateway's own limits, by key id and type.")
    nonisolated(unsafe) static let tokens = name("tokens", "total", "Tokens settled, by key id and kind (input, output).")
    nonisolated(unsafe) static let upstreamRequests = name(
        "upstream_requests", "total", "Upstream calls by status, error or timeout; and upstreams passed over (cooling, unhealthy, open)."
    )
    nonisolated(unsafe) static let healthy = name("upstream_healthy", "", "1 while the upstream is in rotation, else 0.")
    nonisolated(unsafe) static let cooldown = name("upstream_cooldown", "seconds", "The rest of the upstream's announced cooldown.")
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(2), .seconds(10), .seconds(60),
    ]

    func request(route: String, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.requests, labels: [("route", route), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.duration, labels: [("route", route)], buckets: Self.buckets).record(duration)
    }

    func rateLimited(key: String, type: String) {
        registry.makeCounter(descriptor: Self.rateLimited, labels: [("key", key), ("type", type)]).increment()
    }

    func tokens(key: String, input: Int, output: Int) {
        registry.makeCounter(descriptor: Self.tokens, labels: [("key", key), ("kind", "input")]).increment(by: Int64(input))
        registry.makeCounter(descriptor: Self.tokens, labels: [("key", key), ("kind", "output")]).increment(by: Int64(output))
    }

    func upstream(_ name: String, _ outcome: String) {
        registry.makeCounter(descriptor: Self.upstreamRequests, labels: [("upstream", name), ("outcome", outcome)]).increment()
    }
}

extension Gateway {
    /// One health-checked dependency per upstream: its probe every `health_check_seconds` (two
    /// failures in a row take it out until a probe succeeds, at least one interval later), and
    /// its breaker (open: out, until the breaker lets calls through again).
    static func healthChecker(
        _ configuration: GatewayConfiguration, upstreams: [String: any Upstream], breakers: [String: CircuitBreaker<ContinuousClock>]
    ) throws(BulwarkError) -> HealthChecker<ContinuousClock> {
        var dependencies: [HealthCheckedDependency] = []
        for name in configuration.upstreams.keys.sorted() {
            guard let settings = configuration.upstreams[name], let upstream = upstreams[name], let breaker = breakers[name] else { continue }
            let interval = Duration.seconds(max(1, settings.healthCheckSeconds))
            let probed = settings.healthCheckSeconds > 0
            let policy = HealthPolicy(
                disableAtFailureRate: nil, disableAfterProbeFailures: 2, probeInterval: interval, probeTimeout: min(interval, .seconds(5)),
                recovery: probed ? .afterProbes(successes: 1) : .afterCoolDown, minimumDisabledTime: interval,
                maximumDisabledTime: max(interval, .seconds(60)), probation: .seconds(60)
            )
            var probe: (@Sendable () async throws -> Void)?
            if probed { probe = { @Sendable in try await upstream.probe() } }
            dependencies.append(HealthCheckedDependency(name, policy: policy, probe: probe, circuitState: { breaker.state }))
        }
        return try HealthChecker(dependencies: dependencies, evaluationInterval: .milliseconds(500))
    }

    /// `GET /health/live` (200 while the process serves; the body names the node and its process), `GET /health/ready` (200 when every
    /// model has an upstream in rotation, else 503; with each upstream's state and cooldown) and
    /// `GET /metrics`.
    func addOperationsRoutes<Context: RequestContext>(to router: Router<Context>) {
        let pid = getpid()
        router.get("health/live") { _, _ in Self.json(.ok, #"{"status":"live","node":"\#(node)","pid":\#(pid)}"#) }
        router.get("health/ready") { _, _ in
            let served = configuration.models.values.allSatisfy { model in model.upstreams.contains { health.isEnabled($0) } }
            let upstreams = configuration.upstreams.keys.sorted().map { name in
                let cooling = String(format: "%.3f", Double(cooldowns.remaining(name)) / 1e9)
                return #""\#(name)":{"healthy":\#(health.isEnabled(name)),"cooldown_seconds":\#(cooling)}"#
            }
            return Self.json(served ? .ok : .serviceUnavailable, #"{"status":"\#(served ? "ready" : "unavailable")","node":"\#(node)","upstreams":{\#(upstreams.joined(separator: ","))}}"#)
        }
        router.get("metrics") { _, _ in
            for name in configuration.upstreams.keys {
                metrics.registry.makeGauge(descriptor: GatewayMetrics.healthy, labels: [("upstream", name)]).set(to: health.isEnabled(name) ? 1.0 : 0.0)
                metrics.registry.makeGauge(descriptor: GatewayMetrics.cooldown, labels: [("upstream", name)])
                    .set(to: Double(cooldowns.remaining(name)) / 1e9)
            }
            var buffer: [UInt8] = []
            buffer.reserveCapacity(8_192)
            metrics.registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension UpstreamCooldowns: PeriodicWork {}

import BulwarkBudget
import BulwarkChain
import BulwarkCircuitBreaker
import BulwarkConcurrency
import BulwarkDegradation
import BulwarkHealth
import BulwarkHummingbird
import BulwarkPartitioned
import BulwarkPipeline
import BulwarkTelemetry
import BulwarkTestSupport
import BulwarkTestKit
import BulwarkTimeout
import BulwarkTokenBucket
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Prometheus
import RawStructuredFieldValues
import Testing

/// A gate a test opens once.
final class Gate: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    init() { (stream, continuation) = AsyncStream.makeStream() }
    func open() { continuation.yield(); continuation.finish() }
    func wait() async { for await _ in stream { return } }
}

@Suite("Hummingbird: middleware and endpoints")
struct HummingbirdTests {
    static let policy = try! RateLimitPolicy(name: "rpm", quota: 3, window: .seconds(60))

    static func limiter(_ clock: ManualClock) throws -> PartitionedRateLimiter<String, TokenBucket, ManualClock> {
        try PartitionedRateLimiter(configuration: .init(capacity: 3, every: .seconds(60)), maximumPartitions: 100, queueLimit: 0, clock: clock)
    }

    @Test("a key's fourth request in a minute is 429 with Retry-After and every family; admitted ones carry the figures; no key is 401")
    func rateLimit() async throws {
        let clock = ManualClock()
        let router = Router()
        router.add(middleware: RateLimitMiddleware(limiter: try Self.limiter(clock), key: .bearerToken, policy: Self.policy))
        router.get("/v1/chat") { _, _ in "ok" }
        try await Application(router: router).test(.router) { client in
            let alice: HTTPFields = [.authorization: "Bearer alice"]
            for remaining in [2, 1, 0] {
                try await client.execute(uri: "/v1/chat", method: .get, headers: alice) { response in
                    #expect(response.status == .ok && String(buffer: response.body) == "ok")
                    #expect(response.headers[HTTPField.Name("x-ratelimit-remaining-requests")!] == "\(remaining)")
                    #expect(response.headers[.rateLimitPolicy] == #""rpm";q=3;w=60"#)
                    #expect(response.headers[.retryAfter] == nil)
                }
            }
            try await client.execute(uri: "/v1/chat", method: .get, headers: alice) { response in
                #expect(response.status == .tooManyRequests)
                // One token per 20 s: the next one is 20 s away.
                #expect(response.headers[.retryAfter] == "20" && response.headers[.retryAfterMilliseconds] == "20000")
                #expect(response.headers[.rateLimit] == #""rpm";r=0;t=60"#)
                #expect(response.headers[HTTPField.Name("x-ratelimit-reset-requests")!] == "1m0s")
                #expect(String(buffer: response.body).contains(#""code":"rate_limited""#))
            }
            // Another key has its own limit; no key at all is 401.
            try await client.execute(uri: "/v1/chat", method: .get, headers: [.authorization: "Bearer bob"]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/chat", method: .get) { response in
                #expect(response.status == .unauthorized && String(buffer: response.body).contains("missing_key"))
            }
            clock.advance(by: .seconds(20))
            try await client.execute(uri: "/v1/chat", method: .get, headers: alice) { #expect($0.status == .ok) }
        }
    }

    @Test("a cost from the request, and OpenAI's error body when asked for")
    func costAndOpenAIBody() async throws {
        let clock = ManualClock()
        let router = Router()
        let tokens = try RateLimitPolicy(name: "tpm", quota: 3, window: .seconds(60), unit: "tokens")
        router.add(middleware: RateLimitMiddleware(
            limiter: try Self.limiter(clock), key: .bearerToken, policy: tokens,
            cost: { request, _ in Int(request.headers[HTTPField.Name("x-estimated-tokens")!] ?? "1") ?? 1 },
            errorBody: .openAI(unit: "tokens")
        ))
        router.post("/v1/chat/completions") { _, _ in "ok" }
        try await Application(router: router).test(.router) { client in
            let headers: HTTPFields = [.authorization: "Bearer alice", HTTPField.Name("x-estimated-tokens")!: "2"]
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers) { response in
                #expect(response.headers[HTTPField.Name("x-ratelimit-remaining-tokens")!] == "1")
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers) { response in
                #expect(response.status == .tooManyRequests)
                let body = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: [String: Any]]
                #expect(body?["error"]?["code"] as? String == "rate_limit_exceeded" && body?["error"]?["type"] as? String == "tokens")
            }
            // A cost above the limit can never pass: 400, not 429.
            let huge: HTTPFields = [.authorization: "Bearer alice", HTTPField.Name("x-estimated-tokens")!: "4"]
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: huge) { #expect($0.status == .badRequest) }
        }
    }

    @Test("a policy's refusals map to their statuses: an open breaker 503 with Retry-After, a timeout 504")
    func policyMiddleware() async throws {
        let clock = ManualClock()
        let breaker = try CircuitBreaker(configuration: CircuitBreakerConfiguration(), clock: clock)
        breaker.transition(to: .forcedOpen)
        let router = Router()
        router.group("/guarded").add(middleware: PolicyMiddleware(breaker)).get("/") { _, _ in "ok" }
        router.group("/slow").add(middleware: PolicyMiddleware(Pipeline { try! Timeout(.seconds(1), clock: clock) })).get("/") { _, _ in
            try await clock.sleep(untilNanoseconds: .max)
            return "never"
        }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/guarded", method: .get) { response in
                #expect(response.status == .serviceUnavailable && String(buffer: response.body).contains("circuit_open"))
            }
            async let slow = client.execute(uri: "/slow", method: .get) { $0.status }
            await clock.waitForSleepers(count: 2)
            clock.advance(by: .seconds(1))
            #expect(try await slow == .gatewayTimeout)
        }
    }

    @Test("a streamed body holds its bulkhead permit until it is written; then, and after a failed request, the permit is back")
    func streamingHoldsThePermit() async throws {
        let bulkhead = try Bulkhead(limit: 1, queueLimit: 0)
        let started = Gate()
        let finish = Gate()
        let router = Router()
        router.add(middleware: ConcurrencyMiddleware(bulkhead: bulkhead))
        router.get("/stream") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "first,"))
                started.open()
                await finish.wait()
                try await writer.write(ByteBuffer(string: "last"))
                try await writer.finish(nil)
            })
        }
        router.get("/fail") { _, _ -> String in throw HTTPError(.internalServerError) }
        try await Application(router: router).test(.router) { client in
            async let streamed = client.execute(uri: "/stream", method: .get) { String(buffer: $0.body) }
            await started.wait()
            // The handler has long returned; the body is still streaming: the permit is held.
            #expect(bulkhead.inFlight == 1)
            try await client.execute(uri: "/stream", method: .get) { response in
                #expect(response.status == .serviceUnavailable && response.headers[.retryAfter] == "1")
            }
            finish.open()
            #expect(try await streamed == "first,last")
            #expect(bulkhead.inFlight == 0)
            try await client.execute(uri: "/fail", method: .get) { #expect($0.status == .internalServerError) }
            #expect(bulkhead.inFlight == 0)
        }
    }

    @Test("a chain: every link's limit at once; the fields describe the link that refused, with its policy")
    func chain() async throws {
        let clock = ManualClock()
        let global = try TokenBucketRateLimiter(capacity: 3, every: .seconds(60), clock: clock)
        let users = try PartitionedRateLimiter<String, TokenBucket, ManualClock>(
            configuration: .init(capacity: 2, every: .seconds(60)), maximumPartitions: 100, queueLimit: 0, clock: clock
        )
        let chain = try RateLimitChain([.limiter("global", global), .partitioned("user", users) { $0.partitionKey }], clock: clock)
        let policies = [try RateLimitPolicy(name: "global", quota: 3, window: .seconds(60)), try RateLimitPolicy(name: "user", quota: 2, window: .seconds(60))]
        let router = Router()
        router.add(middleware: try RateLimitMiddleware(chain: chain, key: .bearerToken, policies: policies))
        router.get("/") { _, _ in "ok" }
        try await Application(router: router).test(.router) { client in
            func get(_ user: String) async throws -> String {
                try await client.execute(uri: "/", method: .get, headers: [.authorization: "Bearer \(user)"]) { "\($0.status.code) \($0.headers[.rateLimit] ?? "-")" }
            }
            var answer = try await get("alice")
            #expect(answer == #"200 "user";r=1;t=30"#)
            answer = try await get("alice")  // the user's link has fewer left than the global one
            #expect(answer == #"200 "user";r=0;t=60"#)
            answer = try await get("alice")
            #expect(answer == #"429 "user";r=0;t=60"#)
            answer = try await get("bob")
            #expect(answer == #"200 "global";r=0;t=60"#)
            answer = try await get("carol")
            #expect(answer == #"429 "global";r=0;t=60"#)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "policies", rule: "must hold one policy per link, 2 (got 1)")) {
            try RateLimitMiddleware<BasicRequestContext>(chain: chain, key: .bearerToken, policies: [policies[0]])
        }
    }

    @Test("a token budget: reserved on arrival, settled with the usage once the body is written, refused by the dimension short of it")
    func budget() async throws {
        let clock = ManualClock()
        let requests = try PartitionedRateLimiter<String, TokenBucket, ManualClock>(
            configuration: .init(capacity: 10, every: .seconds(60)), maximumPartitions: 100, queueLimit: 0, clock: clock
        )
        let tokens = try PartitionedRateLimiter<String, TokenBucket, ManualClock>(
            configuration: .init(capacity: 100, every: .seconds(60)), maximumPartitions: 100, queueLimit: 0, clock: clock
        )
        let budget = try TokenBudget(dimensions: [.partitioned("requests", requests) { $0.partitionKey }, .partitioned("tokens", tokens) { $0.partitionKey }], clock: clock)
        let alice = try #require(RequestKey.bearerToken.key(for: HTTPRequestInfo(
            head: HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/", headerFields: [.authorization: "Bearer alice"]), peer: nil
        )))
        let estimated = HTTPField.Name("x-estimated-tokens")!, used = HTTPField.Name("x-used-tokens")!
        let router = Router()
        router.add(middleware: try TokenBudgetMiddleware(
            budget: budget, key: .bearerToken,
            policies: [try RateLimitPolicy(name: "rpm", quota: 10, window: .seconds(60)), try RateLimitPolicy(name: "tpm", quota: 100, window: .seconds(60), unit: "tokens")],
            estimate: { request, _ in [1, Int(request.headers[estimated] ?? "") ?? 0] },
            usage: { response in response.headers[used].flatMap(Int.init).map { [1, $0] } }
        ))
        router.post("/") { request, _ in
            var headers: HTTPFields = [:]
            if let usage = request.headers[used] { headers[used] = usage }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "ok")))
        }
        try await Application(router: router).test(.router) { client in
            func post(estimate: Int, usage: Int?) async throws -> String {
                var headers: HTTPFields = [.authorization: "Bearer alice", estimated: "\(estimate)"]
                if let usage { headers[used] = "\(usage)" }
                return try await client.execute(uri: "/", method: .post, headers: headers) { "\($0.status.code) \($0.headers[.rateLimit] ?? "-")" }
            }
            // 60 tokens reserved, then settled at 10: 90 left. The fields are the dimension with
            // the fewest permits left: the requests (9).
            var answer = try await post(estimate: 60, usage: 10)
            #expect(answer == #"200 "rpm";r=9;t=6"#)
            #expect(try tokens.tryAcquire(alice, cost: 0).remaining == 90)
            // 95 is more than is left: refused by the tokens, nothing taken.
            answer = try await post(estimate: 95, usage: nil)
            #expect(answer == #"429 "tpm";r=90;t=6"#)
            // No usage read: the reservation stays at its estimate.
            answer = try await post(estimate: 80, usage: nil)
            #expect(answer == #"200 "rpm";r=8;t=12"#)
            #expect(try tokens.tryAcquire(alice, cost: 0).remaining == 10)
            #expect(try requests.tryAcquire(alice, cost: 0).remaining == 8)
        }
    }

    @Test("health: live always, ready 503 while a critical dependency is disabled; metrics in the Prometheus format; admin behind its token")
    func endpoints() async throws {
        let clock = ManualClock()
        let health = try HealthChecker(dependencies: [HealthCheckedDependency("openai"), HealthCheckedDependency("cache")], clock: clock)
        // The limiter's events reach /metrics the way a service wires them: observer → swift-metrics → registry.
        let registry = PrometheusCollectorRegistry()
        let limiter = try Self.limiter(clock)
        limiter.events.attach(TelemetryObserver(factory: PrometheusMetricsFactory(registry: registry)), as: "api")
        for _ in 0 ..< 5 { _ = try limiter.tryAcquire("alice") }
        let controller = try DegradationController(rules: [], features: [Feature("rerank", offAt: .degraded)], clock: clock)
        let token = "admin-token-0123456789"
        let router = Router()
        router.addHealthRoutes(health, critical: ["openai"])
        router.addMetricsRoute(registry)
        try router.addDegradationRoutes(controller, token: token)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/health/live", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/health/ready", method: .get) { #expect($0.status == .ok) }
            try health.override("cache", enabled: false)
            try await client.execute(uri: "/health/ready", method: .get) { #expect($0.status == .ok) }  // not critical
            try health.override("openai", enabled: false)
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let report = try JSONDecoder().decode(HealthReport.self, from: Data(response.body.readableBytesView))
                #expect(report.dependencies.first { $0.name == "openai" }?.enabled == false)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                #expect(String(buffer: response.body).contains(#"bulwark_events_total{source="api",event="limiter.denied"} 2"#))
            }
            let admin: HTTPFields = [.authorization: "Bearer \(token)"]
            try await client.execute(uri: "/admin/degradation", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/admin/degradation", method: .get, headers: [.authorization: "Bearer admin-token-012345678X"]) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/admin/degradation/level", method: .put, headers: admin, body: ByteBuffer(string: "degraded")) {
                #expect($0.status == .ok)
            }
            #expect(controller.level == .degraded && !controller.isEnabled("rerank"))
            try await client.execute(uri: "/admin/features/rerank", method: .put, headers: admin, body: ByteBuffer(string: "on")) {
                #expect($0.status == .ok)
            }
            #expect(controller.isEnabled("rerank"))
            try await client.execute(uri: "/admin/features/nope", method: .put, headers: admin, body: ByteBuffer(string: "on")) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/admin/degradation/level", method: .put, headers: admin, body: ByteBuffer(string: "panic")) {
                #expect($0.status == .badRequest)
            }
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "token", rule: "must be at least 16 characters")) {
            try Router().addDegradationRoutes(controller, token: "short")
        }
    }

    @Test("live over loopback: the client IP through a trusted proxy header, read by curl and Python's requests")
    func live() async throws {
        let router = Router(context: PeerRequestContext.self)
        let limiter = try PartitionedRateLimiter<String, TokenBucket, ContinuousClock>(
            configuration: .init(capacity: 2, every: .seconds(3_600)), maximumPartitions: 100, queueLimit: 0
        )
        router.add(middleware: RateLimitMiddleware(limiter: limiter, key: .clientIP(trusting: try TrustedProxies(["127.0.0.0/8", "::1"])), policy: try RateLimitPolicy(name: "rph", quota: 2, window: .seconds(3_600))))
        router.get("/") { _, _ in "ok" }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let port = try #require(client.port)
            // Two clients behind the (trusted) loopback proxy, told apart by X-Forwarded-For.
            let first = try await run("curl", ["-s", "-i", "-H", "X-Forwarded-For: 198.51.100.7", "http://127.0.0.1:\(port)/"])
            #expect(first.contains("200 OK") && first.lowercased().contains("x-ratelimit-remaining-requests: 1"))
            _ = try await run("curl", ["-s", "-H", "X-Forwarded-For: 198.51.100.7", "http://127.0.0.1:\(port)/"])
            let refused = try await run("curl", ["-s", "-i", "-H", "X-Forwarded-For: 198.51.100.7", "http://127.0.0.1:\(port)/"])
            #expect(refused.contains("429") && refused.lowercased().contains("retry-after: "))
            // Python's requests reads Retry-After and the IETF field the same way.
            let python = try await run("python3", ["-c", """
                import requests
                r = requests.get("http://127.0.0.1:\(port)/", headers={"X-Forwarded-For": "198.51.100.7"})
                print(r.status_code, int(r.headers["Retry-After"]) > 0, r.headers["RateLimit"])
                """])
            #expect(python.hasPrefix("429 True \"rph\";r=0;t="), "\(python)")
            let other = try await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Forwarded-For: 203.0.113.9", "http://127.0.0.1:\(port)/"])
            #expect(other == "200")
        }
    }
}

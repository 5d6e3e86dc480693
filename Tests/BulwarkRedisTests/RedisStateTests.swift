import BulwarkCircuitBreaker
import BulwarkCore
import BulwarkQueues
import BulwarkRedisTestSupport
import BulwarkTestKit
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkRedis

@Suite("Shared state in Redis: the dead-letter queue and the circuit breaker")
struct RedisStateTests {
    struct Request: Codable, Sendable, Equatable {
        var prompt: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String { "HTTP 500" }
    }

    @Test("two nodes share one dead-letter queue; ids in order; a retried add is not duplicated; removal")
    func deadLetters() async throws {
        let server = try await RedisServer.shared()
        let name = uniquePrefix()
        let nodeA = try server.client()
        let nodeB = try server.client()
        let queueA = DeadLetterQueue<Request>(store: RedisDeadLetterStore(client: nodeA, name: name))
        let storeB = RedisDeadLetterStore(client: nodeB, name: name)
        let queueB = DeadLetterQueue<Request>(store: storeB)
        let first = try await queueA.add(Request(prompt: "one"), error: Failure(), attempts: 3, submittedAt: 1_000)
        let second = try await queueB.add(Request(prompt: "two"), error: Failure(), attempts: 1, submittedAt: 2_000)
        // The same letter again (a retry after a lost reply): its first id back, no second copy.
        let again = try await queueB.add(Request(prompt: "one"), error: Failure(), attempts: 3, submittedAt: 1_000)
        #expect((first, second, again) == (1, 2, 1))
        let letters = try await queueA.letters()
        #expect(letters.map(\.job) == [Request(prompt: "one"), Request(prompt: "two")])
        #expect(letters.map(\.attempts) == [3, 1])
        #expect(letters.first?.error == "HTTP 500")
        try await storeB.remove(ids: [1])
        #expect(try await queueA.letters().map(\.id) == [2])
        // Removed, the letter's fingerprint goes too: the same letter later is a new letter.
        #expect(try await queueA.add(Request(prompt: "one"), error: Failure(), attempts: 3, submittedAt: 1_000) == 3)
        await nodeA.shutdown()
        await nodeB.shutdown()
    }

    @Test("one node's failures open the breaker on every node; Redis traffic bounded by time, not calls")
    func sharedBreaker() async throws {
        let server = try await RedisServer.started()
        defer { server.stop() }
        var configuration = CircuitBreakerConfiguration(failureRateThreshold: nil, minimumCalls: 1)
        configuration.consecutiveFailureThreshold = 2
        configuration.openDuration = .fixed(.seconds(60))
        let key = "api:{model:gpt}:breaker"
        let clients = try (0..<2).map { _ in try server.client() }
        let nodes = try clients.map { client in
            RedisSharedCircuitBreaker(
                local: try CircuitBreaker(configuration: configuration, clock: ContinuousClock()), client: client, key: key,
                syncInterval: .milliseconds(50)
            )
        }
        let context = ResilienceContext(operationName: "complete")
        // Node 0's dependency fails twice: its breaker opens and the opening is published.
        for _ in 0..<2 {
            _ = await nodes[0].executeOutcome(context) { _ in ExecutionOutcome<Int>.failure(Failure()) }
        }
        #expect(nodes[0].local.state == .open)
        await eventuallyAsync { (try? await server.command(["EXISTS", key])) == "1" }
        // Node 1 sees only successes, yet opens within a sync interval of its calls.
        let before = try await RedisRateLimiterTests.calls(server, "pttl")
        let started = ContinuousClock.now
        var calls = 0
        while nodes[1].local.state != .open, ContinuousClock.now - started < .seconds(10) {
            _ = await nodes[1].executeOutcome(context) { _ in ExecutionOutcome.success(1) }
            calls += 1
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(nodes[1].local.state == .open)
        let elapsed = ContinuousClock.now - started
        let reads = try await RedisRateLimiterTests.calls(server, "pttl") - before
        // At most one read per interval (plus the first), whatever the call rate.
        #expect(reads <= Int(elapsed / .milliseconds(50)) + 2, "\(reads) reads for \(calls) calls in \(elapsed)")
        #expect(calls > reads)
        // A refused call on node 1 now, without touching the dependency.
        let refused = await nodes[1].executeOutcome(context) { _ in ExecutionOutcome.success(1) }
        guard case .rejected = refused else {
            Issue.record("node 1 let a call through its open breaker")
            return
        }
        for client in clients { await client.shutdown() }
    }
}

@Suite("Success-only quotas and the local share")
struct RedisQuotaTests {
    struct Failure: Error {}

    @Test("a failed call uses the total but not the success quota; overrides per group; one round trip each way")
    func successQuota() async throws {
        let server = try await RedisServer.shared()
        let client = try server.client()
        // Sliding logs of an hour: no window boundary for the test to straddle.
        let quotas = try RedisSuccessQuota(
            client: client, prefix: uniquePrefix(),
            defaults: .init(total: .slidingWindowLog(limit: 4, window: .seconds(3600)), successes: .slidingWindowLog(limit: 2, window: .seconds(3600))),
            overrides: ["gold": .init(total: .slidingWindowLog(limit: 100, window: .seconds(3600)), successes: .slidingWindowLog(limit: 50, window: .seconds(3600)))]
        )
        // Two failures: the total goes down, the success quota does not.
        for _ in 0..<2 {
            await #expect(throws: Failure.self) { try await quotas.execute(group: "free") { throw Failure() } }
        }
        #expect(try await quotas.execute(group: "free") { 1 } == 1)
        #expect(try await quotas.execute(group: "free") { 2 } == 2)
        // The success quota (2) is spent; so is the total (4).
        let spent = await #expect(throws: BulwarkError.self) { try await quotas.execute(group: "free") { 3 } }
        // A refusal by the quotas, with the wait of an hour-long log (its entries are seconds old).
        if case .rateLimited(let retryAfter)? = spent {
            #expect(retryAfter > .zero && retryAfter <= .seconds(3600), "\(retryAfter)")
        } else {
            Issue.record("a spent quota threw \(String(describing: spent))")
        }
        // Another group, with its override, is untouched.
        for _ in 0..<10 { _ = try await quotas.execute(group: "gold") { 0 } }
        // A call begun and never finished (its node died) counts as a success.
        let prefix = uniquePrefix()
        let fresh = try RedisSuccessQuota(
            client: client, prefix: prefix,
            defaults: .init(total: .slidingWindowLog(limit: 5, window: .seconds(3600)), successes: .slidingWindowLog(limit: 1, window: .seconds(3600)))
        )
        _ = try await fresh.begin(group: "g")
        let unreported = await #expect(throws: BulwarkError.self) { _ = try await fresh.begin(group: "g") }
        if case .rateLimited(let wait)? = unreported {
            #expect(wait > .zero && wait <= .seconds(3600), "\(wait)")
        } else {
            Issue.record("an unfinished call's quota threw \(String(describing: unreported))")
        }
        await client.shutdown()
    }

    @Test("Redis unreachable: the local share decides, a tenth of the limit, with the fallback's source")
    func localShare() async throws {
        // Nothing listens on this port: every connection is refused at once.
        let client = try RedisClient(configuration: RedisConfiguration(
            endpoints: [RedisEndpoint(host: "127.0.0.1", port: 1)], connectTimeout: .milliseconds(200), commandTimeout: .milliseconds(200)
        ))
        let limiter = try RedisRateLimiter(
            client: client, key: "k", limit: try .tokenBucket(capacity: 100, every: .seconds(3600)), failurePolicy: .localShare(0.1)
        )
        var allowed = 0
        for _ in 0..<15 {
            let answer = try await limiter.tryAcquire()
            #expect(answer.source == .fallback)
            if answer.isAllowed { allowed += 1 }
        }
        #expect(allowed == 10)
        #expect(throws: BulwarkError.invalidConfiguration(field: "share", rule: "must be in (0, 1], got 0.0")) {
            try RedisRateLimiter(client: client, key: "k", limit: try .tokenBucket(capacity: 100, every: .seconds(1)), failurePolicy: .localShare(0))
        }
        await client.shutdown()
    }

    @Test("the local share's windows start where the script's do: on the limiter's clock, or on Unix time for Redis' TIME")
    func localShareWindows() async throws {
        let server = try await RedisServer.shared()
        let live = try server.client()
        let down = try RedisClient(configuration: RedisConfiguration(
            endpoints: [RedisEndpoint(host: "127.0.0.1", port: 1)], connectTimeout: .milliseconds(200), commandTimeout: .milliseconds(200)
        ))
        // The limiter's clock, shared by the scripts and the fallback: Redis and the local share
        // (the whole limit) give the same figures at every step, across window boundaries.
        let clock = ManualClock(start: NanosecondInstant(nanoseconds: 1_000_250_000_000))
        let limits: [RedisLimit] = [
            try .fixedWindow(limit: 10, window: .seconds(1), epoch: 123_456_789),
            try .slidingWindowCounter(limit: 10, window: .seconds(1), epoch: -987_654_321),
            try .segmentedWindow(limit: 10, window: .seconds(1), segments: 4, epoch: 5),
        ]
        for limit in limits {
            let shared = try RedisRateLimiter(
                client: live, key: uniquePrefix() + ":" + limit.module, limit: limit, clock: clock, timeSource: .limiterClock
            )
            let local = try RedisRateLimiter(
                client: down, key: "k", limit: limit, failurePolicy: .localShare(1), clock: clock, timeSource: .limiterClock
            )
            for step in [0, 100, 300, 200, 150, 600, 400] {
                clock.advance(by: .milliseconds(step))
                let fromRedis = try await shared.tryAcquire(cost: 3)
                let fromLocal = try await local.tryAcquire(cost: 3)
                #expect(fromRedis.source == .redis && fromLocal.source == .fallback)
                #expect(
                    fromRedis.isAllowed == fromLocal.isAllowed && fromRedis.decision.remaining == fromLocal.decision.remaining
                        && fromRedis.decision.resetAfterNanoseconds == fromLocal.decision.resetAfterNanoseconds,
                    "\(limit.module) at \(clock.nowNanoseconds): Redis \(fromRedis.decision), local \(fromLocal.decision)"
                )
            }
        }
        // Redis' TIME: the local windows start on this machine's Unix time (Redis' own to within the
        // skew between the two clocks), not where the process clock happens to be.
        let hour: Int64 = 3_600_000_000_000
        let onRedisTime = try RedisRateLimiter(
            client: down, key: "k", limit: try .fixedWindow(limit: 10, window: .seconds(3600)), failurePolicy: .localShare(1)
        )
        let unix = RedisTimeSource.unixNanoseconds()
        let answer = try await onRedisTime.tryAcquire()
        #expect(answer.source == .fallback)
        let gap = (answer.decision.resetAfterNanoseconds - (hour - unix.modulo(hour))).modulo(hour)
        #expect(min(gap, hour - gap) < 5_000_000_000, "the window ends \(answer.decision.resetAfter) from now, at a Unix hour")
        await live.shutdown()
        await down.shutdown()
    }
}

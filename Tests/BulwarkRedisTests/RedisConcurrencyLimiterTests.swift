import BulwarkCore
import BulwarkRedisTestSupport
import BulwarkTestKit
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkRedis

@Suite("Redis concurrency limiter")
struct RedisConcurrencyLimiterTests {
    @Test("four nodes, 40 calls: never more than the limit in flight, every unit given back")
    func neverAboveTheLimit() async throws {
        let server = try await RedisServer.shared()
        let key = uniquePrefix()
        let clients = try (0..<4).map { _ in try server.client() }
        let nodes = try clients.map { try RedisConcurrencyLimiter(client: $0, key: key, limit: 5, leaseTTL: .seconds(60)) }
        let inFlight = Counter()
        let most = Journal<Int>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for call in 0..<40 {
                let node = nodes[call % 4]
                group.addTask {
                    try await node.execute(ResilienceContext(operationName: "call", deadline: .after(.seconds(60)))) { _ in
                        inFlight.add(1)
                        most.append(inFlight.value)
                        try await Task.sleep(for: .milliseconds(2))
                        inFlight.add(-1)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(most.all.count == 40)
        #expect(most.all.max()! <= 5)
        let all = try #require(try await nodes[0].tryAcquire(cost: 5), "every unit back")
        try await all.release()
        for client in clients { await client.shutdown() }
    }

    @Test("a node that dies holding a lease gives it back after the lease TTL; renewing keeps it")
    func leasesExpire() async throws {
        let server = try await RedisServer.shared()
        let client = try server.client()
        // The scripts read a manual clock, so the lifetimes are exact however loaded the machine.
        let clock = ManualClock(start: NanosecondInstant(nanoseconds: 1_000_000_000_000))
        let limiter = try RedisConcurrencyLimiter(
            client: client, key: uniquePrefix(), limit: 1, leaseTTL: .seconds(3), clock: clock, timeSource: .limiterClock
        )
        let held = try #require(try await limiter.tryAcquire())
        #expect(try await limiter.tryAcquire() == nil)
        clock.advance(by: .seconds(1.5))
        #expect(try await held.renew())  // now expires at 4.5 s
        clock.advance(by: .seconds(2))
        #expect(try await limiter.tryAcquire() == nil, "3.5 s after the lease was taken, renewed 2 s ago: still held")
        // The holder "dies": never releases. Another caller gets the unit once the lease expires.
        clock.advance(by: .nanoseconds(999_999_999))
        #expect(try await limiter.tryAcquire() == nil, "a nanosecond before the renewed expiry: still held")
        // A waiter polls on the clock; moved to each of its wake-ups, it gets the unit once the
        // lease has expired, and not before.
        let expiry = clock.nowNanoseconds + 1
        let finished = Counter()
        let waiter = Task {
            defer { finished.add(1) }
            let lease = try await limiter.acquire(options: WaitOptions(deadline: .after(.seconds(10))))
            return (lease, clock.nowNanoseconds)
        }
        while finished.value == 0 {
            if let wake = clock.nextDeadline { clock.advance(to: wake) }
            await Task.yield()
        }
        let (next, admittedAt) = try await waiter.value
        #expect(admittedAt >= expiry && admittedAt < expiry + 1_000_000, "admitted at its first poll after the expiry")
        #expect(try await held.renew() == false, "the dead holder's lease is gone")
        try await next.release()
        #expect(throws: BulwarkError.invalidConfiguration(field: "limit", rule: "must be at least 1 (got 0)")) {
            try RedisConcurrencyLimiter(client: client, key: "k", limit: 0, leaseTTL: .seconds(1))
        }
        await #expect(throws: BulwarkError.invalidArgument(field: "cost", rule: "must be in 1...1, got 2")) {
            _ = try await limiter.tryAcquire(cost: 2)
        }
        await client.shutdown()
    }
}

import BulwarkCore
import BulwarkRedisTestSupport
import BulwarkTestKit
import Foundation
import Testing

@testable import BulwarkRedis

@Suite("Local leasing of a hot Redis limit")
struct RedisLeasingTests {
    @Test("four nodes leasing batches of 10 from a window of 100: every window within limit + N × batch, one Redis call per batch")
    func overAdmissionBound() async throws {
        let server = try await RedisServer.shared()
        let client = try server.client()
        let clock = ManualClock(start: NanosecondInstant(nanoseconds: 1_000_000_000_000))
        let window: Int64 = 1_000_000_000
        let (limit, batch, nodes) = (100, 10, 4)
        let key = uniquePrefix()
        let leased = try (0..<nodes).map { _ in
            try RedisLeasedRateLimiter(
                RedisRateLimiter(client: client, key: key, limit: try .fixedWindow(limit: limit, window: .nanoseconds(window)),
                                 clock: clock, timeSource: .limiterClock),
                batch: batch, lease: .nanoseconds(window)
            )
        }
        var admittedPerWindow: [Int64: Int] = [:]
        var decisions = 0
        // 20 windows of 100 steps of 10 ms. In even windows each node calls 5 times (at 100, 300, …,
        // 900 ms), so it ends the window holding half a batch whose lease runs 100 ms into the next;
        // in odd ones three times a step (far more than the limit): the halves carried in are spent
        // on top of the window's own limit.
        for step in 0..<(20 * 100) {
            let calls = (step / 100) % 2 == 0 ? (step % 20 == 10 ? 1 : 0) : 3
            for node in leased {
                for _ in 0..<calls {
                    decisions += 1
                    if try await node.tryAcquire() {
                        admittedPerWindow[clock.nowNanoseconds / window, default: 0] += 1
                    }
                }
            }
            clock.advance(by: .milliseconds(10))
        }
        let most = admittedPerWindow.values.max() ?? 0
        #expect(most <= limit + nodes * batch, "the bound: limit + N × batch")
        #expect(most > limit, "batches carried across a boundary do over-admit (the bound is not vacuous)")
        let total = admittedPerWindow.values.reduce(0, +)
        #expect(total <= 20 * limit + nodes * batch)
        #expect(decisions > 20 * limit)
        await client.shutdown()
    }

    @Test("a batch is spent locally: one Redis call per batch, the rest returned on release")
    func oneCallPerBatch() async throws {
        let server = try await RedisServer.started()
        defer { server.stop() }
        let client = try server.client()
        let shared = try RedisRateLimiter(client: client, key: "hot", limit: try .slidingWindowLog(limit: 1_000, window: .seconds(3600)))
        let leased = try RedisLeasedRateLimiter(shared, batch: 50, lease: .seconds(30))
        _ = try await shared.tryAcquire(cost: 0)  // the script cached: EVALSHA only from here
        let before = try await RedisRateLimiterTests.calls(server, "evalsha")
        for _ in 0..<120 { #expect(try await leased.tryAcquire()) }
        #expect(try await RedisRateLimiterTests.calls(server, "evalsha") - before == 3, "three batches of 50 for 120 calls")
        #expect(leased.held == 30)
        try await leased.release()
        #expect(try await shared.tryAcquire(cost: 0).decision.remaining == 1_000 - 120)
        await #expect(throws: BulwarkError.invalidArgument(field: "cost", rule: "must be in 1...50, got 51")) {
            _ = try await leased.tryAcquire(cost: 51)
        }
        await client.shutdown()
    }

    @Test("64 concurrent callers on one node: every call answered, exactly the limit admitted, no batch lost")
    func concurrentCallers() async throws {
        let server = try await RedisServer.shared()
        let client = try server.client()
        let shared = try RedisRateLimiter(client: client, key: uniquePrefix(), limit: try .slidingWindowLog(limit: 1_000, window: .seconds(3600)))
        let leased = try RedisLeasedRateLimiter(shared, batch: 10, lease: .seconds(600))
        let admitted = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    var mine = 0
                    for _ in 0..<40 where try await leased.tryAcquire() { mine += 1 }
                    return mine
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(admitted == 1_000, "2,560 calls for a limit of 1,000: the limit exactly, in batches and their remainders")
        await client.shutdown()
    }
}

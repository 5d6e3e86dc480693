import BulwarkCore
import BulwarkEngine
import BulwarkTestKit
import BulwarkTestSupport
import BulwarkTokenBucket
import Testing

@Suite(.timeLimit(minutes: 1)) struct LimiterEventTests {
    @Test func limitersReportDenialsQueueingAndTimeouts() async throws {
        let clock = ManualClock()
        let limiter = try TokenBucketRateLimiter(capacity: 1, refill: 1, every: .seconds(10), queueLimit: 1, clock: clock)
        let recorder = EventRecorder()
        limiter.events.attach(recorder, as: "rpm")
        _ = try limiter.tryAcquire()
        _ = try limiter.tryAcquire()
        let waiter = Task { try await limiter.acquire(cost: 1, deadline: .after(.seconds(5))) }
        await eventually { limiter.waitingCount == 1 }
        await #expect(throws: BulwarkError.queueFull(limit: 1)) { try await limiter.acquire(cost: 1) }
        await clock.waitForSleepers(count: 1)
        clock.advance(by: .seconds(5))
        await #expect(throws: BulwarkError.waitTimedOut) { try await waiter.value }
        #expect(recorder.kinds == [
            .limiterDenied(cost: 1, retryAfter: .seconds(10)),
            .limiterQueued(cost: 1, waiting: 0),
            .limiterQueueFull(cost: 1, limit: 1),
            .limiterWaitTimedOut(cost: 1),
        ])
        #expect(recorder.events.allSatisfy { $0.source == "rpm" })
        limiter.events.detach()
        _ = try limiter.tryAcquire()
        #expect(recorder.events.count == 4)
    }
}

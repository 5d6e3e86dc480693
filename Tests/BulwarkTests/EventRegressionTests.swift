import Bulwark
import BulwarkTestKit
import BulwarkTestSupport
import Testing

// Regression tests for defects found by independent checks (issue 18, items 4 to 8): each failed
// on the code before its fix.

@Suite(.timeLimit(minutes: 1)) struct EventRegressionTests {
    let clock = ManualClock()

    /// Waits until `recorder` holds a queued event, then moves the clock to let the waiter in.
    func queues(_ recorder: EventRecorder, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let task = Task { try await body() }
        await eventually { recorder.kinds.contains { if case .limiterQueued = $0 { true } else { false } } }
        clock.advance(by: .seconds(60))
        try await task.value
    }

    @Test func aPartitionedLimiterReportsQueueing() async throws {
        let limiter = try PartitionedRateLimiter<String, TokenBucket, ManualClock>(
            configuration: .init(capacity: 1, every: .seconds(60)), clock: clock
        )
        let recorder = EventRecorder()
        limiter.events.attach(recorder)
        _ = try limiter.tryAcquire("alice")
        try await queues(recorder) { try await limiter.acquire("alice", options: WaitOptions(deadline: .after(.seconds(120)))) }
        #expect(recorder.kinds.contains(.limiterQueued(cost: 1, waiting: 0)))
    }

    @Test func aChainAndABudgetReportQueueing() async throws {
        let requests = try TokenBucketRateLimiter(capacity: 1, refill: 1, every: .seconds(60), clock: clock)
        let perUser = try PartitionedRateLimiter<String, TokenBucket, ManualClock>(configuration: .init(capacity: 5, every: .seconds(60)), clock: clock)
        let chain = try RateLimitChain([.limiter("requests", requests), .partitioned("user", perUser) { $0.partitionKey }], clock: clock)
        let recorder = EventRecorder()
        chain.events.attach(recorder)
        let context = ResilienceContext(operationName: "chat", partitionKey: "alice")
        _ = try chain.tryAcquire(context: context)
        try await queues(recorder) { try await chain.acquire(options: WaitOptions(deadline: .after(.seconds(120))), context: context) }
        #expect(recorder.kinds.contains(.limiterQueued(cost: 1, waiting: 0)))

        let budget = try TokenBudget(dimensions: [.limiter("requests", try TokenBucketRateLimiter(capacity: 1, refill: 1, every: .seconds(60), clock: clock))], clock: clock)
        let budgetEvents = EventRecorder()
        budget.events.attach(budgetEvents)
        _ = try budget.tryReserve([1])
        try await queues(budgetEvents) { _ = try await budget.reserve([1], options: WaitOptions(deadline: .after(.seconds(120)))) }
        #expect(budgetEvents.kinds.contains(.limiterQueued(cost: 1, waiting: 0)))
    }

    @Test func fallbackEventsSayWhoServedAndWhyOneFailed() async throws {
        let chain = try FallbackChain<String>([
            FallbackAlternative("primary") { context in
                if context.tags["fail"] != nil { throw BadRequest() }
                return "primary"
            },
            FallbackAlternative("secondary") { _ in "secondary" },
        ], route: { _ in .next })
        let recorder = EventRecorder()
        chain.events.attach(recorder)
        _ = try await chain.execute(ResilienceContext(operationName: "chat"))
        #expect(recorder.kinds.isEmpty)  // the primary served: no fallback was used
        _ = try await chain.execute(ResilienceContext(operationName: "chat", tags: ["fail": "yes"]))
        #expect(recorder.kinds == [
            .fallbackFailed(alternative: "primary", stopped: false, error: "BadRequest()"),
            .fallbackUsed(alternative: "secondary"),
        ])
    }
}

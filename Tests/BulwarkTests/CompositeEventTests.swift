import Bulwark
import BulwarkTestKit
import BulwarkTestSupport
import Testing

@Suite(.timeLimit(minutes: 1)) struct CompositeEventTests {
    @Test func partitionedLockFreeChainAndBudgetReportThroughTheirChannels() async throws {
        let clock = ManualClock()
        let recorder = EventRecorder()
        let partitioned = try PartitionedRateLimiter<String, TokenBucket, ManualClock>(
            configuration: .init(capacity: 1, refill: 1, every: .seconds(10)), clock: clock
        )
        partitioned.events.attach(recorder, as: "per-user")
        _ = try partitioned.tryAcquire("ada")
        _ = try partitioned.tryAcquire("ada")
        let gcra = try LockFreeGCRARateLimiter(configuration: .init(rate: 1, per: .seconds(10)), clock: clock)
        gcra.events.attach(recorder, as: "gcra")
        _ = try gcra.tryAcquire()
        _ = try gcra.tryAcquire()
        let budget = try TokenBudget(dimensions: [
            .limiter("output", try TokenBucketRateLimiter(capacity: 100, refill: 100, every: .seconds(60), clock: clock)),
        ], clock: clock)
        budget.events.attach(recorder, as: "budget")
        let reservation = try budget.tryReserve([10])
        _ = try reservation.settle([60])
        #expect(recorder.events.map(\.source) == ["per-user", "gcra", "budget"])
        #expect(recorder.kinds == [
            .limiterDenied(cost: 1, retryAfter: .seconds(10)),
            .limiterDenied(cost: 1, retryAfter: .seconds(10)),
            .budgetDebt(dimension: "output", debt: 50),
        ])
        // Readiness, asked without spending anything.
        #expect(partitioned.readiness(for: ResilienceContext(operationName: "x", partitionKey: "ada")) == .notReady(retryAfter: nil))
        #expect(partitioned.readiness(for: ResilienceContext(operationName: "x", partitionKey: "bob")) == .ready)
        #expect(gcra.readiness(for: ResilienceContext(operationName: "x")) == .notReady(retryAfter: nil))
    }
}

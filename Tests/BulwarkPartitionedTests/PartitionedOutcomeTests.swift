import BulwarkPartitioned
import BulwarkTestKit
import BulwarkTokenBucket
import BulwarkTestSupport
import Testing

@Suite(.timeLimit(minutes: 1)) struct PartitionedOutcomeTests {
    @Test func aPartitionedRefusalIsAValueAndIsReported() async throws {
        let limiter = try PartitionedRateLimiter<String, TokenBucket, ManualClock>(
            configuration: .init(capacity: 1, refill: 1, every: .seconds(10)), queueLimit: 0, clock: ManualClock()
        )
        let recorder = EventRecorder()
        limiter.events.attach(recorder, as: "per-user")
        let context = ResilienceContext(operationName: "x", partitionKey: "ada")
        #expect(try await limiter.execute(context) { _ in 1 } == 1)
        let outcome = await limiter.executeOutcome(context) { _ in ExecutionOutcome.success(2) }
        guard case .rejected(.queueFull(limit: 0)) = outcome else {
            Issue.record("expected a refusal, got \(outcome)")
            return
        }
        let noKey = await limiter.executeOutcome(ResilienceContext(operationName: "x")) { _ in ExecutionOutcome.success(3) }
        guard case .rejected(.invalidArgument(field: "partitionKey", _)) = noKey else {
            Issue.record("expected an invalid argument, got \(noKey)")
            return
        }
        #expect(recorder.kinds == [.limiterQueueFull(cost: 1, limit: 0)])
        #expect(recorder.events.first?.context?.partitionKey == "ada")
    }
}

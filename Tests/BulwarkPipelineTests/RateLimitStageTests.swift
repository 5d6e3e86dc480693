import Bulwark
import BulwarkTestKit
import BulwarkTestSupport
import Testing

// Regression tests for defects found by independent checks (issue 18, items 4 to 8): each failed
// on the code before its fix.

@Suite(.timeLimit(minutes: 1)) struct RateLimitStageTests {
    let clock = ManualClock()

    func bucket() throws -> TokenBucketRateLimiter<ManualClock> {
        try TokenBucketRateLimiter(capacity: 1, refill: 1, every: .seconds(10), clock: clock)
    }

    @Test func aLimiterInAPipelineRefusesAtOnceWithItsRetryAfter() async throws {
        let pipeline = try Pipeline { try bucket() }
        let context = ResilienceContext(operationName: "chat")
        #expect(await pipeline.executeOutcome(context) { _ in .success(1) }.value == 1)
        // Before: the call queued (limit 1024) and waited for the refill with no time limit.
        let second = await pipeline.executeOutcome(context) { _ in .success(2) }
        #expect(refusal(second) == .rateLimited(retryAfter: .seconds(10)))
        #expect(clock.nowNanoseconds == 0)
    }

    @Test func waitingIsOptInAndBounded() async throws {
        let limiter = try bucket()
        _ = try limiter.tryAcquire()
        let patient = try Pipeline { try limiter.waiting(upTo: .seconds(20)) }
        let clock = clock
        let waited = await driving(clock) {
            await patient.executeOutcome(ResilienceContext(operationName: "chat")) { _ in .success(clock.nowNanoseconds) }
        }
        #expect(waited.value == 10_000_000_000)  // admitted at the refill, 10 s later
        let hurried = try Pipeline { try limiter.waiting(upTo: .seconds(5)) }
        let refused = await hurried.executeOutcome(ResilienceContext(operationName: "chat")) { _ in .success(0) }
        #expect(refusal(refused) == .rateLimited(retryAfter: .seconds(10)))
        #expect(throws: BulwarkError.invalidArgument(field: "maximumWait", rule: "must be at least 0 (got -1.0 seconds)")) {
            _ = try limiter.waiting(upTo: .seconds(-1))
        }
    }

    @Test func aDeadlineAlreadyTooCloseIsRateLimitedWithItsRetryAfterNotWaitTimedOut() async throws {
        let limiter = try bucket()
        _ = try limiter.tryAcquire()
        clock.advance(by: .seconds(1))
        let pipeline = try Pipeline { try limiter.waiting(upTo: .seconds(60)) }
        let late = ResilienceContext(operationName: "chat", deadline: .at(nanoseconds: 500_000_000))  // passed already
        let outcome = await pipeline.executeOutcome(late) { _ in .success(0) }
        #expect(refusal(outcome) == .rateLimited(retryAfter: .seconds(9)))
        // The engine itself: a caller asking to be refused early learns the wait, even past its deadline.
        await #expect(throws: BulwarkError.rateLimited(retryAfter: .seconds(9))) {
            try await limiter.acquire(deadline: .at(nanoseconds: 0), rejectEarly: true)
        }
    }

    @Test func whatTheOperationReturnsIsNeverRelabelled() async throws {
        let pipeline = try Pipeline { try bucket() }
        // The operation (an inner bulkhead, say) times out waiting, and the bucket is now empty:
        // the answer is still the operation's own, not a rate limit of the stage.
        let outcome = await pipeline.executeOutcome(ResilienceContext(operationName: "chat")) { _ in ExecutionOutcome<Int>.rejected(.waitTimedOut) }
        #expect(refusal(outcome) == .waitTimedOut)
    }

    @Test func aLimiterWithAMaximumWaitOfItsOwnKeepsItInAPipeline() async throws {
        let shaper = try LeakyBucketShaperRateLimiter(rate: 1, per: .seconds(10), maximumDelay: .seconds(30), clock: clock)
        let pipeline = Pipeline { shaper }
        #expect(pipeline.stages.maximumWait == .seconds(30))
        let plain = try Pipeline { try bucket() }
        #expect(plain.stages.maximumWait == .zero)
    }

    @Test func aDynamicPipelineWrapsItsLimitersAlike() async throws {
        let limiter = try bucket()
        _ = try limiter.tryAcquire()
        let pipeline = DynamicPipeline([limiter])
        #expect(pipeline.stages.first is RateLimitStage<TokenBucketRateLimiter<ManualClock>>)
        let outcome = await pipeline.executeOutcome(ResilienceContext(operationName: "chat")) { _ in .success(0) }
        #expect(refusal(outcome) == .rateLimited(retryAfter: .seconds(10)))
    }

    @Test func aConfiguredRateLimiterStageRefusesAtOnceUnlessItMayWait() async throws {
        let refusing = try PipelineConfiguration(stages: [.rateLimiter(capacity: 1, periodSeconds: 10)]).build(clock: clock)
        let context = ResilienceContext(operationName: "chat")
        #expect(await refusing.executeOutcome(context) { _ in .success(1) }.value == 1)
        #expect(refusal(await refusing.executeOutcome(context) { _ in .success(2) }) == .rateLimited(retryAfter: .seconds(10)))
        #expect(throws: BulwarkError.invalidConfiguration(
            field: "stages[0].rateLimiter.maximumWaitSeconds", rule: "must be a number of seconds in 0 ... 1e9 (got -1.0)"
        )) {
            _ = try PipelineConfiguration(stages: [.rateLimiter(capacity: 1, periodSeconds: 10, maximumWaitSeconds: -1)]).build(clock: clock)
        }
    }
}

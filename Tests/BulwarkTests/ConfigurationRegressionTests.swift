import Bulwark
import BulwarkTestKit
import BulwarkTestSupport
import Testing

// Regression tests for defects found by independent checks (issue 18, items 4 to 8): each failed
// on the code before its fix.

@Suite(.timeLimit(minutes: 1)) struct ConfigurationRegressionTests {
    /// A breaker over 10 s that needs 100 calls, behind a limiter admitting 40 a minute, could
    /// never judge a rate: at most 40 + ⌊40 × 10 / 60⌋ = 46 calls fit in its window.
    @Test func aMinimumTheTimeWindowCanNeverReachIsRefused() throws {
        func pipeline(minimumCalls: Int) throws -> DynamicPipeline {
            try PipelineConfiguration(stages: [
                .circuitBreaker(minimumCalls: minimumCalls, windowSeconds: 10),
                .rateLimiter(capacity: 40, refill: 40, periodSeconds: 60),
            ]).build(clock: ManualClock())
        }
        #expect {
            _ = try pipeline(minimumCalls: 100)
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let field, let rule) = error else { return false }
            return field == "stages[0].circuitBreaker.minimumCalls" && rule.contains("at most 46 calls")
        }
        _ = try pipeline(minimumCalls: 46)
        // A limiter outside the breaker bounds the calls reaching it, times the retries between.
        let outside = PipelineConfiguration(stages: [
            .rateLimiter(capacity: 40, refill: 40, periodSeconds: 60), .retry(maximumAttempts: 3),
            .circuitBreaker(minimumCalls: 139, windowSeconds: 10),
        ])
        // 40 + ⌊40 × 10 / 60⌋ = 46 calls reach the retry, which makes each up to 3 attempts: 138.
        #expect(throws: BulwarkError.invalidConfiguration(
            field: "stages[2].circuitBreaker.minimumCalls",
            rule: "can never be reached: a window of 10 s holds at most 138 calls at the rate of "
                + "stages[0].rateLimiter, so the breaker would never open by rate (got 139)"
        )) { _ = try outside.build(clock: ManualClock()) }
        var fits = outside
        fits.stages[2] = .circuitBreaker(minimumCalls: 138, windowSeconds: 10)
        _ = try fits.build(clock: ManualClock())
        // Both kinds of window: refused; absurd capacities: refused by the limiter, not a trap.
        #expect(throws: BulwarkError.invalidConfiguration(
            field: "stages[0].circuitBreaker.windowSeconds",
            rule: "must not be given with windowCalls: a breaker has one window, of calls or of seconds"
        )) {
            _ = try PipelineConfiguration(stages: [.circuitBreaker(windowCalls: 10, windowSeconds: 10)]).build(clock: ManualClock())
        }
        // 1e-9 s is 1 ns: Int.max tokens refilled per nanosecond overflow the bucket's exact units.
        #expect(throws: BulwarkError.invalidConfiguration(
            field: "stages[1].rateLimiter.capacity",
            rule: "× refillPeriod / refillAmount must be at most 2305843009213693951 ns for exact arithmetic "
                + "(got capacity 9223372036854775807, refill 9223372036854775807 per 1 ns)"
        )) {
            _ = try PipelineConfiguration(stages: [
                .circuitBreaker(windowSeconds: 10), .rateLimiter(capacity: .max, periodSeconds: 1e-9),
            ]).build(clock: ManualClock())
        }
    }

    /// With `execute(_:fallback:_:)` the fallback's type is the call's: a `Fallback<String>` on an
    /// `Int` call does not compile (the stage form checks at run time, and says so).
    @Test func aTypedFallbackAnswersForThePolicyInside() async throws {
        let clock = ManualClock()
        let breaker = try CircuitBreaker(configuration: CircuitBreakerConfiguration(), clock: clock)
        breaker.transition(to: .open)
        let reply: String = try await breaker.execute(ResilienceContext(operationName: "chat"), fallback: Fallback("canned")) { _ in "live" }
        #expect(reply == "canned")
        let stage = Pipeline { Fallback("canned"); breaker }
        let mismatched = await stage.executeOutcome(ResilienceContext(operationName: "chat")) { _ in ExecutionOutcome.success(1) }
        #expect(refusal(mismatched) == .invalidArgument(field: "Success", rule: "must be the fallback's type String (got Int)"))
    }
}

import Bulwark
import BulwarkTestKit
import BulwarkTestSupport
import Testing

// Regression tests for defects found by independent checks (issue 18, items 4 to 8): each failed
// on the code before its fix.

/// An LLM reply that reports its usage: one request, input and output tokens.
struct ChatReply: UsageReporting, Sendable {
    var text: String
    var usage: Costs
}

@Suite(.timeLimit(minutes: 1)) struct BudgetUsageTests {
    let clock = ManualClock()

    func budget(usage: (@Sendable (any Sendable) -> Costs?)? = nil) throws -> (TokenBudget<ManualClock>, [TokenBucketRateLimiter<ManualClock>]) {
        let dimensions = try [10, 10_000, 4_000].map { try TokenBucketRateLimiter(capacity: $0, refill: $0, every: .seconds(60), clock: clock) }
        let budget = try TokenBudget(
            dimensions: [.limiter("requests", dimensions[0]), .limiter("inputTokens", dimensions[1]), .limiter("outputTokens", dimensions[2])],
            estimate: { _ in [1, 1_000, 1_000] }, usage: usage, clock: clock
        )
        return (budget, dimensions)
    }

    func remaining(_ dimensions: [TokenBucketRateLimiter<ManualClock>]) throws -> [Int] {
        try dimensions.map { try $0.tryAcquire(cost: 0).remaining }
    }

    /// Before: the fallback chain's result wrapped the reply, `UsageReporting` was not found, and
    /// the call was charged its estimate (1,000 + 1,000 tokens for 100 + 50 used).
    @Test func usagePassesThroughAFallbackChainsResult() async throws {
        let (budget, dimensions) = try budget()
        let chain = try FallbackChain<ChatReply>([
            FallbackAlternative("primary") { _ in throw BulwarkError.rateLimited(retryAfter: .seconds(1)) },
            FallbackAlternative("secondary") { _ in ChatReply(text: "hi", usage: [1, 100, 50]) },
        ])
        let result = try await budget.execute(ResilienceContext(operationName: "chat")) { context in try await chain.execute(context) }
        #expect(result.alternative == "secondary")
        #expect(try remaining(dimensions) == [9, 9_900, 3_950])
    }

    @Test func anExplicitUsageReaderSettlesAResultThatReportsNone() async throws {
        let (budget, dimensions) = try budget(usage: { ($0 as? String).map { [1, $0.count, 0] } })
        _ = try await budget.execute(ResilienceContext(operationName: "chat")) { _ in "twelve chars" }
        #expect(try remaining(dimensions) == [9, 9_988, 4_000])
        _ = try await budget.execute(ResilienceContext(operationName: "chat"), usage: { [1, 10, $0] }) { _ in 20 }
        #expect(try remaining(dimensions) == [8, 9_978, 3_980])
    }

    @Test func usageThatCannotBeReadIsChargedAtTheEstimateWithAnEvent() async throws {
        let (budget, dimensions) = try budget()
        let recorder = EventRecorder()
        budget.events.attach(recorder)
        _ = try await budget.execute(ResilienceContext(operationName: "chat")) { _ in 42 }
        await #expect(throws: BadRequest.self) {
            try await budget.execute(ResilienceContext(operationName: "chat")) { _ -> Int in throw BadRequest() }
        }
        #expect(try remaining(dimensions) == [8, 8_000, 2_000])
        let reasons = recorder.kinds.compactMap { $0.detail(as: BudgetSettledAtEstimate.self)?.reason }
        #expect(reasons.count == 2)
        #expect(reasons.first == "the result (Int) reports no usage")
        #expect(reasons.last?.hasPrefix("the operation failed") == true)
    }
}

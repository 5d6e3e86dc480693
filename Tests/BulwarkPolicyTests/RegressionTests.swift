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

extension ExecutionOutcome {
    /// The value of a success, or `nil`.
    var value: Success? { try? get() }
}

/// The refusal in an outcome, or `nil` when it is not one.
func refusal<T>(_ outcome: ExecutionOutcome<T>) -> BulwarkError? {
    if case .rejected(let error) = outcome { return error }
    return nil
}

@Suite(.timeLimit(minutes: 1)) struct RateLimitStageTests {
    let clock = ManualClock()

    func bucket() throws -> TokenBucketLimiter<ManualClock> {
        try TokenBucketLimiter(capacity: 1, refill: 1, every: .seconds(10), clock: clock)
    }

    @Test func aLimiterInAPipelineRefusesAtOnceWithItsRetryAfter() async throws {
        let pipeline = try Pipeline { try bucket() }
        let context = ResilienceContext(operation: "chat")
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
            await patient.executeOutcome(ResilienceContext(operation: "chat")) { _ in .success(clock.nowNanoseconds) }
        }
        #expect(waited.value == 10_000_000_000)  // admitted at the refill, 10 s later
        let hurried = try Pipeline { try limiter.waiting(upTo: .seconds(5)) }
        let refused = await hurried.executeOutcome(ResilienceContext(operation: "chat")) { _ in .success(0) }
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
        let late = ResilienceContext(operation: "chat", deadline: .at(nanoseconds: 500_000_000))  // passed already
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
        let outcome = await pipeline.executeOutcome(ResilienceContext(operation: "chat")) { _ in ExecutionOutcome<Int>.rejected(.waitTimedOut) }
        #expect(refusal(outcome) == .waitTimedOut)
    }

    @Test func aLimiterWithAMaximumWaitOfItsOwnKeepsItInAPipeline() async throws {
        let shaper = try LeakyBucketShaperLimiter(rate: 1, per: .seconds(10), maximumDelay: .seconds(30), clock: clock)
        let pipeline = Pipeline { shaper }
        #expect(pipeline.stages.maximumWait == .seconds(30))
        let plain = try Pipeline { try bucket() }
        #expect(plain.stages.maximumWait == .zero)
    }

    @Test func aDynamicPipelineWrapsItsLimitersAlike() async throws {
        let limiter = try bucket()
        _ = try limiter.tryAcquire()
        let pipeline = DynamicPipeline([limiter])
        #expect(pipeline.stages.first is RateLimitStage<TokenBucketLimiter<ManualClock>>)
        let outcome = await pipeline.executeOutcome(ResilienceContext(operation: "chat")) { _ in .success(0) }
        #expect(refusal(outcome) == .rateLimited(retryAfter: .seconds(10)))
    }

    @Test func aConfiguredRateLimiterStageRefusesAtOnceUnlessItMayWait() async throws {
        let refusing = try PipelineConfiguration(stages: [.rateLimiter(capacity: 1, periodSeconds: 10)]).build(clock: clock)
        let context = ResilienceContext(operation: "chat")
        #expect(await refusing.executeOutcome(context) { _ in .success(1) }.value == 1)
        #expect(refusal(await refusing.executeOutcome(context) { _ in .success(2) }) == .rateLimited(retryAfter: .seconds(10)))
        #expect(throws: BulwarkError.self) {
            _ = try PipelineConfiguration(stages: [.rateLimiter(capacity: 1, periodSeconds: 10, maximumWaitSeconds: -1)]).build(clock: clock)
        }
    }
}

@Suite(.timeLimit(minutes: 1)) struct BudgetUsageTests {
    let clock = ManualClock()

    func budget(usage: (@Sendable (any Sendable) -> Costs?)? = nil) throws -> (TokenBudget<ManualClock>, [TokenBucketLimiter<ManualClock>]) {
        let dimensions = try [10, 10_000, 4_000].map { try TokenBucketLimiter(capacity: $0, refill: $0, every: .seconds(60), clock: clock) }
        let budget = try TokenBudget(
            dimensions: [.limiter("requests", dimensions[0]), .limiter("inputTokens", dimensions[1]), .limiter("outputTokens", dimensions[2])],
            estimate: { _ in [1, 1_000, 1_000] }, usage: usage, clock: clock
        )
        return (budget, dimensions)
    }

    func remaining(_ dimensions: [TokenBucketLimiter<ManualClock>]) throws -> [Int] {
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
        let result = try await budget.execute(ResilienceContext(operation: "chat")) { context in try await chain.execute(context) }
        #expect(result.alternative == "secondary")
        #expect(try remaining(dimensions) == [9, 9_900, 3_950])
    }

    @Test func anExplicitUsageReaderSettlesAResultThatReportsNone() async throws {
        let (budget, dimensions) = try budget(usage: { ($0 as? String).map { [1, $0.count, 0] } })
        _ = try await budget.execute(ResilienceContext(operation: "chat")) { _ in "twelve chars" }
        #expect(try remaining(dimensions) == [9, 9_988, 4_000])
        _ = try await budget.execute(ResilienceContext(operation: "chat"), usage: { [1, 10, $0] }) { _ in 20 }
        #expect(try remaining(dimensions) == [8, 9_978, 3_980])
    }

    @Test func usageThatCannotBeReadIsChargedAtTheEstimateWithAnEvent() async throws {
        let (budget, dimensions) = try budget()
        let recorder = EventRecorder()
        budget.events.attach(recorder)
        _ = try await budget.execute(ResilienceContext(operation: "chat")) { _ in 42 }
        await #expect(throws: BadRequest.self) {
            try await budget.execute(ResilienceContext(operation: "chat")) { _ -> Int in throw BadRequest() }
        }
        #expect(try remaining(dimensions) == [8, 8_000, 2_000])
        let reasons = recorder.kinds.compactMap { kind -> String? in
            if case .budgetSettledAtEstimate(let reason) = kind { return reason }
            return nil
        }
        #expect(reasons.count == 2)
        #expect(reasons.first == "the result (Int) reports no usage")
        #expect(reasons.last?.hasPrefix("the operation failed") == true)
    }
}

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
        let requests = try TokenBucketLimiter(capacity: 1, refill: 1, every: .seconds(60), clock: clock)
        let perUser = try PartitionedRateLimiter<String, TokenBucket, ManualClock>(configuration: .init(capacity: 5, every: .seconds(60)), clock: clock)
        let chain = try RateLimitChain([.limiter("requests", requests), .partitioned("user", perUser) { $0.partitionKey }], clock: clock)
        let recorder = EventRecorder()
        chain.events.attach(recorder)
        let context = ResilienceContext(operation: "chat", partitionKey: "alice")
        _ = try chain.tryAcquire(context: context)
        try await queues(recorder) { try await chain.acquire(options: WaitOptions(deadline: .after(.seconds(120))), context: context) }
        #expect(recorder.kinds.contains(.limiterQueued(cost: 1, waiting: 0)))

        let budget = try TokenBudget(dimensions: [.limiter("requests", try TokenBucketLimiter(capacity: 1, refill: 1, every: .seconds(60), clock: clock))], clock: clock)
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
        _ = try await chain.execute(ResilienceContext(operation: "chat"))
        #expect(recorder.kinds.isEmpty)  // the primary served: no fallback was used
        _ = try await chain.execute(ResilienceContext(operation: "chat", tags: ["fail": "yes"]))
        #expect(recorder.kinds == [
            .fallbackFailed(alternative: "primary", stopped: false, error: "BadRequest()"),
            .fallbackUsed(alternative: "secondary"),
        ])
    }
}

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
        #expect(throws: BulwarkError.self) { _ = try outside.build(clock: ManualClock()) }
        var fits = outside
        fits.stages[2] = .circuitBreaker(minimumCalls: 138, windowSeconds: 10)
        _ = try fits.build(clock: ManualClock())
        // Both kinds of window: refused; absurd capacities: refused by the limiter, not a trap.
        #expect(throws: BulwarkError.self) {
            _ = try PipelineConfiguration(stages: [.circuitBreaker(windowCalls: 10, windowSeconds: 10)]).build(clock: ManualClock())
        }
        #expect(throws: BulwarkError.self) {
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
        let reply: String = try await breaker.execute(ResilienceContext(operation: "chat"), fallback: Fallback("canned")) { _ in "live" }
        #expect(reply == "canned")
        let stage = Pipeline { Fallback("canned"); breaker }
        let mismatched = await stage.executeOutcome(ResilienceContext(operation: "chat")) { _ in ExecutionOutcome.success(1) }
        #expect(refusal(mismatched) == .invalidArgument(field: "Success", rule: "must be the fallback's type String (got Int)"))
    }
}

@Suite struct TimeGridRegressionTests {
    /// Before: an epoch 292 years or more away saturated `time − epoch` and every answer was wrong.
    @Test func anEpochBeyondTheHorizonIsRefusedNamingTheField() {
        // 2^62 ns is about 146 years; each epoch below is further than that from its reading.
        for (epoch, now) in [(Int64.min + 1, Int64(1) << 61), (Int64.max, -(Int64(1) << 61)), (-(Int64(1) << 62), Int64(1) << 61)] {
            #expect(throws: BulwarkError.self) { _ = try FixedWindow(configuration: .init(limit: 1, window: .seconds(1), epochNanoseconds: epoch), now: now) }
            #expect {
                _ = try SlidingWindowCounter(configuration: .init(limit: 1, window: .seconds(1), epochNanoseconds: epoch), now: now)
            } throws: { error in
                guard case BulwarkError.invalidConfiguration(let field, _) = error else { return false }
                return field == "epochNanoseconds"
            }
            #expect(throws: BulwarkError.self) {
                _ = try SegmentedWindow(configuration: .init(limit: 1, window: .seconds(1), segments: 2, epochNanoseconds: epoch), now: now)
            }
        }
    }

    /// Before: a reading near `Int64.max` saturated the window's end, so the window never ended.
    @Test func aClockReadingNearTheEndOfTimeIsRefused() {
        #expect {
            _ = try FixedWindow(configuration: .init(limit: 1, window: .seconds(1)), now: .max - 10)
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let field, _) = error else { return false }
            return field == "clock"
        }
        #expect(throws: Never.self) { _ = try FixedWindow(configuration: .init(limit: 1, window: .seconds(1)), now: 1 << 62) }
    }
}

import Bulwark
import Foundation
import BulwarkTestKit
import BulwarkTestSupport
import Testing

struct BadRequest: Error {}

@Suite(.timeLimit(minutes: 1)) struct FallbackChainTests {
    @Test func skipsAnOpenBreakerAndALimiterThatWouldDenyWithoutCallingThem() async throws {
        let clock = ManualClock()
        let breaker = try CircuitBreaker(configuration: CircuitBreakerConfiguration(), clock: clock)
        breaker.transition(to: .open)
        let limiter = try TokenBucketLimiter(capacity: 1, refill: 1, every: .seconds(10), clock: clock)
        _ = try limiter.tryAcquire()
        let calls = Journal<String>()
        let chain = try FallbackChain<String>([
            FallbackAlternative("a", policy: breaker) { _ in calls.append("a"); return "a" },
            FallbackAlternative("b", policy: limiter) { _ in calls.append("b"); return "b" },
            FallbackAlternative("c") { _ in calls.append("c"); return "c" },
        ])
        let recorder = EventRecorder()
        chain.events.attach(recorder)
        let result = try await chain.execute(ResilienceContext(operation: "chat"))
        #expect(result.value == "c" && result.alternative == "c" && result.index == 2)
        #expect(calls.all == ["c"])
        #expect(try limiter.tryAcquire(cost: 0).remaining == 0)  // nothing was spent on "b"
        #expect(recorder.kinds == [
            .fallbackSkipped(alternative: "a", retryAfter: .seconds(60)),
            .fallbackSkipped(alternative: "b", retryAfter: .seconds(10)),
            .fallbackUsed(alternative: "c"),
        ])
    }

    @Test func routesErrorsNextOrStop() async throws {
        let calls = Journal<String>()
        let chain = try FallbackChain<String>([
            FallbackAlternative("limited") { _ in calls.append("limited"); throw BulwarkError.rateLimited(retryAfter: .seconds(3)) },
            FallbackAlternative("bad") { _ in calls.append("bad"); throw BadRequest() },
            FallbackAlternative("never") { _ in calls.append("never"); return "x" },
        ], route: { $0 is BadRequest ? .stop : .next })
        await #expect(throws: BadRequest.self) { try await chain.execute(ResilienceContext(operation: "chat")) }
        #expect(calls.all == ["limited", "bad"])
    }

    @Test func whenAllFailOneErrorListsEveryAlternativeOrTheLastResortAnswers() async throws {
        let alternatives = [
            FallbackAlternative<String>("one") { _ in throw BulwarkError.rateLimited(retryAfter: .seconds(7)) },
            FallbackAlternative<String>("two") { _ in throw BulwarkError.circuitOpen(retryAfter: .seconds(4)) },
        ]
        let chain = try FallbackChain(alternatives)
        do {
            _ = try await chain.execute(ResilienceContext(operation: "chat"))
            Issue.record("expected a failure")
        } catch let failure as FallbackFailure {
            #expect(failure.attempts.map(\.alternative) == ["one", "two"])
            #expect(failure.retryAfter == .seconds(4))
            #expect(failure.description.contains("one: rate limited"))
        }
        let rescued = try FallbackChain(alternatives, lastResort: { failure, _ in "sorry (\(failure.attempts.count))" })
        let result = try await rescued.execute(ResilienceContext(operation: "chat"))
        #expect(result.value == "sorry (2)" && result.alternative == "last-resort")
        #expect(result.passed.count == 2)
    }

    @Test func theStaticFallbackAnswersAndRefusesAnotherType() async throws {
        let fallback = Fallback("canned")
        let value = try await fallback.execute(ResilienceContext(operation: "x")) { _ -> String in throw BadRequest() }
        #expect(value == "canned")
        await #expect(throws: BulwarkError.self) {
            try await fallback.execute(ResilienceContext(operation: "x")) { _ -> Int in throw BadRequest() }
        }
    }
}

@Suite(.timeLimit(minutes: 1)) struct PipelineTests {
    @Test func policiesRunOutermostFirst() async throws {
        let order = Journal<String>()
        struct Tracing: ResiliencePolicy {
            let name: String
            let order: Journal<String>
            func execute<Success: Sendable>(
                _ context: ResilienceContext, _ operation: @Sendable (ResilienceContext) async throws -> Success
            ) async throws -> Success {
                order.append("\(name) in")
                defer { order.append("\(name) out") }
                return try await operation(context)
            }
        }
        let pipeline = Pipeline {
            Tracing(name: "a", order: order)
            Tracing(name: "b", order: order)
            Tracing(name: "c", order: order)
        }
        _ = try await pipeline.execute(ResilienceContext(operation: "x")) { _ in order.append("call") }
        #expect(order.all == ["a in", "b in", "c in", "call", "c out", "b out", "a out"])
        order.removeAll()
        let dynamic = DynamicPipeline([Tracing(name: "a", order: order), Tracing(name: "b", order: order)])
        _ = await dynamic.executeOutcome(ResilienceContext(operation: "x")) { _ in order.append("call"); return .success(1) }
        #expect(order.all == ["a in", "b in", "call", "b out", "a out"])
    }

    @Test func anOpenCircuitIsARejectionValueThroughTheWholePipeline() async throws {
        let clock = ManualClock()
        let breaker = try CircuitBreaker(configuration: CircuitBreakerConfiguration(), clock: clock)
        let pipeline = try Pipeline {
            try Retry(configuration: RetryConfiguration(maximumAttempts: 1), clock: clock)
            breaker
            try TokenBucketLimiter(capacity: 10, refill: 10, every: .seconds(1), clock: clock)
            try Bulkhead(limit: 2, clock: clock)
        }
        #expect(try await pipeline.execute(ResilienceContext(operation: "x")) { _ in 42 } == 42)
        breaker.transition(to: .forcedOpen)
        let outcome = await pipeline.executeOutcome(ResilienceContext(operation: "x"), catching: { _ in 42 })
        guard case .rejected(.circuitOpen(nil)) = outcome else {
            Issue.record("expected the breaker's refusal, got \(outcome)")
            return
        }
        #expect(pipeline.readiness(for: ResilienceContext(operation: "x")) == .notReady(retryAfter: nil))
    }

    @Test func theRegistryReplacesAPipelineWithoutTouchingCallsInFlight() async throws {
        let registry = PipelineRegistry()
        let first = try Bulkhead(limit: 1, clock: ManualClock())
        registry.register("chat", first)
        let gate = AsyncGate()
        let inFlight = Task {
            try await registry.execute("chat", ResilienceContext(operation: "x")) { _ in
                await gate.wait()
                return "old"
            }
        }
        await eventually { first.inFlight == 1 }
        registry.register("chat", PassThrough())
        #expect(try await registry.execute("chat", ResilienceContext(operation: "x")) { _ in "new" } == "new")
        await gate.open()
        #expect(try await inFlight.value == "old")
        #expect(first.inFlight == 0)
        await #expect(throws: BulwarkError.self) {
            try await registry.execute("missing", ResilienceContext(operation: "x")) { _ in 1 }
        }
    }
}

@Suite(.timeLimit(minutes: 1)) struct LimiterEventTests {
    @Test func limitersReportDenialsQueueingAndTimeouts() async throws {
        let clock = ManualClock()
        let limiter = try TokenBucketLimiter(capacity: 1, refill: 1, every: .seconds(10), queueLimit: 1, clock: clock)
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
        let gcra = try LockFreeGCRALimiter(configuration: .init(rate: 1, per: .seconds(10)), clock: clock)
        gcra.events.attach(recorder, as: "gcra")
        _ = try gcra.tryAcquire()
        _ = try gcra.tryAcquire()
        let budget = try TokenBudget(dimensions: [
            .limiter("output", try TokenBucketLimiter(capacity: 100, refill: 100, every: .seconds(60), clock: clock)),
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
        #expect(partitioned.readiness(for: ResilienceContext(operation: "x", partitionKey: "ada")) == .notReady(retryAfter: nil))
        #expect(partitioned.readiness(for: ResilienceContext(operation: "x", partitionKey: "bob")) == .ready)
        #expect(gcra.readiness(for: ResilienceContext(operation: "x")) == .notReady(retryAfter: nil))
    }
}

@Suite(.timeLimit(minutes: 1)) struct PipelineConfigurationTests {
    static let json = """
    {"stages": [
       {"timeout": {"seconds": 60}},
       {"retry": {"maximumAttempts": 3, "initialDelaySeconds": 0, "maximumDelaySeconds": 10}},
       {"circuitBreaker": {"failureRatePercent": 60, "minimumCalls": 2, "windowCalls": 4, "openSeconds": 30, "halfOpenProbes": 1}},
       {"rateLimiter": {"capacity": 40, "refill": 40, "periodSeconds": 60}},
       {"bulkhead": {"limit": 5}}
    ]}
    """

    @Test func aPipelineIsBuiltFromJSONAndReportsUnderItsName() async throws {
        let configuration = try JSONDecoder().decode(PipelineConfiguration.self, from: Data(Self.json.utf8))
        #expect(configuration.stages.map(\.kind) == ["timeout", "retry", "circuitBreaker", "rateLimiter", "bulkhead"])
        let recorder = EventRecorder()
        let pipeline = try configuration.build(clock: ManualClock(), observer: recorder, name: "chat")
        #expect(pipeline.stages.count == 5)
        let attempts = Counter()
        let value = try await pipeline.execute(ResilienceContext(operation: "x")) { context in
            attempts.add(1)
            if context.attempt < 2 { throw Flaky(attempt: context.attempt) }
            return context.attempt
        }
        #expect(value == 2 && attempts.value == 2)
        #expect(recorder.events.map(\.source) == ["chat.retry"])
    }

    @Test func anAdaptiveBulkheadIsBuiltFromJSON() async throws {
        let json = #"{"stages": [{"adaptiveBulkhead": {"algorithm": "vegas", "initialLimit": 3, "maximumLimit": 50}}]}"#
        let configuration = try JSONDecoder().decode(PipelineConfiguration.self, from: Data(json.utf8))
        #expect(configuration.stages.map(\.kind) == ["adaptiveBulkhead"])
        let pipeline = try configuration.build(clock: ManualClock())
        let bulkhead = try #require(pipeline.stages.first as? AdaptiveBulkhead<VegasLimit, ManualClock>)
        #expect(bulkhead.limit == 3 && bulkhead.maximumLimit == 50)
        #expect(try await pipeline.execute(ResilienceContext(operation: "x")) { _ in 7 } == 7)
        #expect {
            _ = try PipelineConfiguration(stages: [.adaptiveBulkhead(algorithm: "bbr")]).build(clock: ManualClock())
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let field, _) = error else { return false }
            return field == "stages[0].adaptiveBulkhead.algorithm"
        }
    }

    @Test func aBadFieldIsNamedWithItsStage() throws {
        let configuration = PipelineConfiguration(stages: [.timeout(seconds: 5), .retry(maximumAttempts: 0)])
        #expect {
            _ = try configuration.build(clock: ManualClock())
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let field, _) = error else { return false }
            return field == "stages[1].retry.maximumAttempts"
        }
        #expect {
            _ = try PipelineConfiguration(stages: [.timeout(seconds: -1)]).build(clock: ManualClock())
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let field, _) = error else { return false }
            return field == "stages[0].timeout.seconds"
        }
    }
}

@Suite(.timeLimit(minutes: 1)) struct PartitionedOutcomeTests {
    @Test func aPartitionedRefusalIsAValueAndIsReported() async throws {
        let limiter = try PartitionedRateLimiter<String, TokenBucket, ManualClock>(
            configuration: .init(capacity: 1, refill: 1, every: .seconds(10)), queueLimit: 0, clock: ManualClock()
        )
        let recorder = EventRecorder()
        limiter.events.attach(recorder, as: "per-user")
        let context = ResilienceContext(operation: "x", partitionKey: "ada")
        #expect(try await limiter.execute(context) { _ in 1 } == 1)
        let outcome = await limiter.executeOutcome(context) { _ in ExecutionOutcome.success(2) }
        guard case .rejected(.queueFull(limit: 0)) = outcome else {
            Issue.record("expected a refusal, got \(outcome)")
            return
        }
        let noKey = await limiter.executeOutcome(ResilienceContext(operation: "x")) { _ in ExecutionOutcome.success(3) }
        guard case .rejected(.invalidArgument(field: "partitionKey", _)) = noKey else {
            Issue.record("expected an invalid argument, got \(noKey)")
            return
        }
        #expect(recorder.kinds == [.limiterQueueFull(cost: 1, limit: 0)])
        #expect(recorder.events.first?.context?.partitionKey == "ada")
    }
}

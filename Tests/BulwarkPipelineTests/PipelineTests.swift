import Bulwark
import BulwarkTestKit
import BulwarkTestSupport
import Testing

/// A policy that records when the call enters and leaves it.
private struct Tracing: ResiliencePolicy {
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

@Suite(.timeLimit(minutes: 1)) struct PipelineTests {
    @Test("if, if/else and switch inside Pipeline { } build the chosen policies, in order")
    func conditionals() async throws {
        let order = Journal<String>()
        enum Mode { case one, two, three }
        func build(retry: Bool, fast: Bool, mode: Mode) -> some ResiliencePolicy {
            Pipeline {
                Tracing(name: "outer", order: order)
                if retry {
                    Tracing(name: "retry", order: order)
                }
                if fast {
                    Tracing(name: "fast", order: order)
                } else {
                    Tracing(name: "slow", order: order)
                    Tracing(name: "slower", order: order)
                }
                switch mode {
                case .one: Tracing(name: "one", order: order)
                case .two: Tracing(name: "two", order: order)
                case .three: PassThrough()
                }
            }
        }
        let cases: [(Bool, Bool, Mode, [String])] = [
            (true, true, .one, ["outer", "retry", "fast", "one"]),
            (false, true, .two, ["outer", "fast", "two"]),
            (true, false, .three, ["outer", "retry", "slow", "slower"]),
            (false, false, .one, ["outer", "slow", "slower", "one"]),
        ]
        for (retry, fast, mode, expected) in cases {
            order.removeAll()
            _ = try await build(retry: retry, fast: fast, mode: mode).execute(ResilienceContext(operationName: "x")) { _ in order.append("call") }
            #expect(order.all == expected.map { "\($0) in" } + ["call"] + expected.reversed().map { "\($0) out" })
        }
        // Readiness is the chosen branch's.
        let closed = try CircuitBreaker(configuration: CircuitBreakerConfiguration(), clock: ManualClock())
        closed.transition(to: .forcedOpen)
        for guarded in [true, false] {
            let pipeline = Pipeline {
                if guarded { closed } else { PassThrough() }
            }
            #expect(pipeline.readiness(for: ResilienceContext(operationName: "x")).isReady == !guarded)
        }
    }


    @Test func policiesRunOutermostFirst() async throws {
        let order = Journal<String>()
        let pipeline = Pipeline {
            Tracing(name: "a", order: order)
            Tracing(name: "b", order: order)
            Tracing(name: "c", order: order)
        }
        _ = try await pipeline.execute(ResilienceContext(operationName: "x")) { _ in order.append("call") }
        #expect(order.all == ["a in", "b in", "c in", "call", "c out", "b out", "a out"])
        order.removeAll()
        let dynamic = DynamicPipeline([Tracing(name: "a", order: order), Tracing(name: "b", order: order)])
        _ = await dynamic.executeOutcome(ResilienceContext(operationName: "x")) { _ in order.append("call"); return .success(1) }
        #expect(order.all == ["a in", "b in", "call", "b out", "a out"])
    }

    /// A dynamic pipeline passes results through its stages erased; every policy that reads a
    /// result still sees the value itself, and a fallback's value comes out with its type checked.
    @Test func aDynamicPipelineShowsItsPoliciesTheRealResult() async throws {
        let clock = ManualClock()
        var retrying = RetryConfiguration(maximumAttempts: 3)
        retrying.backoff = .constant(.zero)
        retrying.shouldRetryResult = { ($0 as? String) == "busy" }
        var breaking = CircuitBreakerConfiguration(failureRateThreshold: 100, minimumCalls: 2)
        breaking.window = .count(2)
        breaking.classifyResult = { ($0 as? String) == "busy" ? .failure : .success }
        let breaker = try CircuitBreaker(configuration: breaking, clock: clock)
        let pipeline = DynamicPipeline([try Retry(configuration: retrying, clock: clock), breaker])
        let attempts = Journal<Int>()
        let reply = await pipeline.executeOutcome(ResilienceContext(operationName: "x")) { context in
            attempts.append(context.attempt)
            return .success(context.attempt < 2 ? "busy" : "done")
        }
        #expect(reply.isSuccess && (try? reply.get()) == "done")
        #expect(attempts.all == [1, 2])
        // The breaker classified "busy" as a failure and "done" as a success: one of each.
        #expect(breaker.metrics.calls == 2 && breaker.metrics.failedCalls == 1)

        let rescued = DynamicPipeline([Fallback("canned"), breaker])
        breaker.transition(to: .open)
        let canned = await rescued.executeOutcome(ResilienceContext(operationName: "x")) { _ in ExecutionOutcome.success("live") }
        #expect((try? canned.get()) == "canned")
        let mismatched = await rescued.executeOutcome(ResilienceContext(operationName: "x")) { _ in ExecutionOutcome.success(1) }
        guard case .rejected(let refusal) = mismatched else { Issue.record("expected a refusal, got \(mismatched)"); return }
        #expect(refusal == .invalidArgument(field: "Success", rule: "must be the fallback's type String (got Int)"))
        // A builder's pipeline nested in a dynamic one runs erased too: its fallback still answers.
        let nested = DynamicPipeline([Pipeline { Fallback("nested"); breaker }])
        let answered = await nested.executeOutcome(ResilienceContext(operationName: "x")) { _ in ExecutionOutcome.success("live") }
        #expect((try? answered.get()) == "nested")
    }

    @Test func anOpenCircuitIsARejectionValueThroughTheWholePipeline() async throws {
        let clock = ManualClock()
        let breaker = try CircuitBreaker(configuration: CircuitBreakerConfiguration(), clock: clock)
        let pipeline = try Pipeline {
            try Retry(configuration: RetryConfiguration(maximumAttempts: 1), clock: clock)
            breaker
            try TokenBucketRateLimiter(capacity: 10, refill: 10, every: .seconds(1), clock: clock)
            try Bulkhead(limit: 2, clock: clock)
        }
        #expect(try await pipeline.execute(ResilienceContext(operationName: "x")) { _ in 42 } == 42)
        breaker.transition(to: .forcedOpen)
        let outcome = await pipeline.executeOutcome(ResilienceContext(operationName: "x"), catching: { _ in 42 })
        guard case .rejected(.circuitOpen(nil)) = outcome else {
            Issue.record("expected the breaker's refusal, got \(outcome)")
            return
        }
        #expect(pipeline.readiness(for: ResilienceContext(operationName: "x")) == .notReady(retryAfter: nil))
    }

    @Test func theRegistryReplacesAPipelineWithoutTouchingCallsInFlight() async throws {
        let registry = PipelineRegistry()
        let first = try Bulkhead(limit: 1, clock: ManualClock())
        registry.register("chat", first)
        let gate = AsyncGate()
        let inFlight = Task {
            try await registry.execute("chat", ResilienceContext(operationName: "x")) { _ in
                await gate.wait()
                return "old"
            }
        }
        await eventually { first.inFlight == 1 }
        registry.register("chat", PassThrough())
        #expect(try await registry.execute("chat", ResilienceContext(operationName: "x")) { _ in "new" } == "new")
        await gate.open()
        #expect(try await inFlight.value == "old")
        #expect(first.inFlight == 0)
        await #expect(throws: BulwarkError.invalidArgument(field: "name", rule: "must name a registered pipeline (\"missing\" is not registered)")) {
            try await registry.execute("missing", ResilienceContext(operationName: "x")) { _ in 1 }
        }
    }
}

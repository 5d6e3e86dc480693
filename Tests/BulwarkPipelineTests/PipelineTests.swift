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

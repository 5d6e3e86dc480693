import Bulwark
import BulwarkTelemetry
import BulwarkTestKit
import BulwarkTestSupport
import InMemoryLogging
import InMemoryTracing
import Logging
import MetricsTestKit
import Testing
import Tracing

@Suite(.timeLimit(minutes: 1)) struct TelemetryObserverTests {
    let handler = InMemoryLogHandler()
    let metrics = TestMetrics()
    let tracer = InMemoryTracer()

    func observer() -> TelemetryObserver {
        var logger = Logger(label: "test") { _ in handler }
        logger.logLevel = .debug
        return TelemetryObserver(logger: logger, factory: metrics, tracer: tracer)
    }

    @Test func aBreakerOpeningIsLoggedCountedGaugedAndTraced() async throws {
        let clock = ManualClock()
        var configuration = CircuitBreakerConfiguration(failureRateThreshold: 50, minimumCalls: 2)
        configuration.window = .count(2)
        let breaker = try CircuitBreaker(configuration: configuration, clock: clock)
        breaker.events.attach(observer(), as: "openai")
        struct Down: Error {}
        await tracer.withSpan("chat") { _ in
            for _ in 0 ..< 2 {
                _ = try? await breaker.execute(ResilienceContext(operationName: "chat")) { _ -> Int in throw Down() }
            }
            _ = try? await breaker.execute(ResilienceContext(operationName: "chat")) { _ in 1 }
        }

        let opened = try #require(handler.entries.first { $0.message == "circuit.state_changed" })
        #expect(opened.level == .warning)
        #expect(opened.metadata["bulwark.source"] == "openai")
        #expect(opened.metadata["bulwark.to"] == "open")
        let rejected = try #require(handler.entries.first { $0.message == "circuit.rejected" })
        #expect(rejected.metadata["bulwark.operation"] == "chat")

        #expect(try metrics.expectCounter("bulwark_events_total", [("source", "openai"), ("event", "circuit.state_changed")]).values == [1])
        #expect(try metrics.expectCounter("bulwark_events_total", [("source", "openai"), ("event", "circuit.rejected")]).values == [1])
        #expect(try metrics.expectGauge("bulwark_circuit_state", [("source", "openai")]).lastValue == 2)

        // Exactly the one span, ended, holding both events with their figures.
        #expect(tracer.activeSpans.isEmpty)
        #expect(tracer.finishedSpans.count == 1)
        let span = try #require(tracer.finishedSpans.first)
        #expect(span.operationName == "chat")
        try #require(span.events.count == 2, "\(span.events.map(\.name))")
        #expect(span.events.map(\.name) == ["bulwark.circuit.state_changed", "bulwark.circuit.rejected"])
        let changedEvent = span.events[0].attributes
        #expect(changedEvent.get("bulwark.source") == .string("openai"))
        #expect(changedEvent.get("bulwark.from") == .string("closed"))
        #expect(changedEvent.get("bulwark.to") == .string("open"))
        let rejectedEvent = span.events[1].attributes
        #expect(rejectedEvent.get("bulwark.source") == .string("openai"))
        #expect(rejectedEvent.get("bulwark.state") == .string("open"))
        // The whole default open time (60 s): the manual clock has not moved since the opening.
        #expect(rejectedEvent.get("bulwark.retry_after_ns") == .string("60000000000"))
    }

    @Test func metricsAreCreatedOncePerSourceAndEvent() async throws {
        let limiter = try TokenBucketRateLimiter(capacity: 1, refill: 1, every: .seconds(60), clock: ManualClock())
        limiter.events.attach(observer(), as: "rpm")
        _ = try limiter.tryAcquire()
        for _ in 0 ..< 5 { _ = try limiter.tryAcquire() }
        #expect(try metrics.expectCounter("bulwark_events_total", [("source", "rpm"), ("event", "limiter.denied")]).values.count == 5)
        #expect(metrics.counters.count == 1)
        #expect(handler.entries.allSatisfy { $0.level == .debug })
    }

    @Test func retriesAreTimedAndRefusalsLogged() async throws {
        var configuration = RetryConfiguration(maximumAttempts: 2)
        configuration.backoff = .constant(.zero)
        let retry = try Retry(configuration: configuration, clock: ManualClock())
        retry.events.attach(observer(), as: "retry")
        struct Flaky: Error {}
        _ = try? await retry.execute(ResilienceContext(operationName: "x")) { _ -> Int in throw Flaky() }
        #expect(try metrics.expectTimer("bulwark_retry_delay", [("source", "retry")]).values == [0])
        #expect(handler.entries.map(\.message) == ["retry.scheduled"])
    }

    @Test func withoutAnActiveSpanNothingIsTraced() throws {
        let limiter = try TokenBucketRateLimiter(capacity: 1, refill: 1, every: .seconds(60), clock: ManualClock())
        limiter.events.attach(observer(), as: "rpm")
        _ = try limiter.tryAcquire()
        // A span is open, but it is not the task's active one: the denial must not land on it.
        let idle = tracer.startSpan("idle")
        _ = try limiter.tryAcquire()
        idle.end()
        #expect(handler.entries.map(\.message) == ["limiter.denied"])  // the observer did see the denial
        #expect(tracer.activeSpans.isEmpty)
        let idleSpan = try #require(tracer.finishedSpans.first { $0.operationName == "idle" })
        #expect(idleSpan.events.isEmpty)
        // The same denial within an active span is traced there: the silence above is the rule's,
        // not an observer that never traces.
        try tracer.withSpan("active") { _ in _ = try limiter.tryAcquire() }
        #expect(tracer.finishedSpans.count == 2)
        let activeSpan = try #require(tracer.finishedSpans.first { $0.operationName == "active" })
        try #require(activeSpan.events.count == 1, "\(activeSpan.events.map(\.name))")
        #expect(activeSpan.events[0].name == "bulwark.limiter.denied")
        #expect(activeSpan.events[0].attributes.get("bulwark.source") == .string("rpm"))
        #expect(activeSpan.events[0].attributes.get("bulwark.cost") == .string("1"))
        #expect(idleSpan.events.isEmpty)
    }
}

import Bulwark
import BulwarkHealth
import BulwarkTestKit
import BulwarkTestSupport
import Testing

/// A probe whose outcome a test sets, counting its runs.
final class FakeProbe: Sendable {
    private let state = LockedValue((healthy: true, runs: 0))
    func set(healthy: Bool) { state.withLock { $0.healthy = healthy } }
    var runs: Int { state.withLock { $0.runs } }
    func run() throws {
        try state.withLock { state in
            state.runs += 1
            if !state.healthy { throw Failure() }
        }
    }
}

@Suite("Health checker", .timeLimit(minutes: 1))
struct HealthCheckerTests {
    static let fast = HealthPolicy(
        errorRate: .init(window: .seconds(10), buckets: 10, minimumCalls: 4),
        disableAtFailureRate: 0.5,
        probeInterval: .seconds(1),
        minimumDisabledTime: .seconds(10),
        maximumDisabledTime: .seconds(40),
        probation: .seconds(30)
    )

    func call(_ gate: HealthGate<ManualClock>, failing: Bool) async -> ExecutionOutcome<Int> {
        await gate.executeOutcome(ResilienceContext(operationName: "call")) { _ in failing ? .failure(Failure()) : .success(1) }
    }

    @Test("a failure rate at the threshold disables at once; the gate refuses and is not ready; a cool-down brings it back")
    func failureRateAndCoolDown() async throws {
        let clock = ManualClock()
        let health = try HealthChecker(dependencies: [HealthCheckedDependency("openai", policy: Self.fast)], clock: clock)
        let events = EventRecorder()
        health.events.attach(events)
        let gate = try health.gate("openai")
        for failing in [false, true, false] { _ = await call(gate, failing: failing) }
        #expect(health.isEnabled("openai"))  // 1 of 3: below the minimum of 4 calls
        _ = await call(gate, failing: true)  // 2 of 4 = 50 %
        #expect(!health.isEnabled("openai"))
        guard case .rejected(.unavailable("openai", .seconds(10))) = await call(gate, failing: false) else {
            Issue.record("not refused"); return
        }
        #expect(gate.readiness(for: ResilienceContext(operationName: "x")) == .notReady(retryAfter: .seconds(10)))
        let report = health.report()
        #expect(report.status == .unhealthy && report.httpStatus == 503)
        #expect(report.dependencies[0].reason.hasPrefix("failure rate 2/4 failed"))
        clock.advance(by: .seconds(9))
        await health.evaluate()
        #expect(!health.isEnabled("openai"))
        clock.advance(by: .seconds(1))
        await health.evaluate()
        #expect(health.isEnabled("openai"))
        #expect(health.report().dependencies[0].calls == 0)  // a clean window: old failures cannot trip it
        #expect(events.kinds == [
            .healthChanged(dependency: "openai", enabled: false, reason: "failure rate 2/4 failed (50.0 %)"),
            .healthChanged(dependency: "openai", enabled: true, reason: "cool-down passed"),
        ])
    }

    @Test("hysteresis: relapsing within the probation doubles the cool-down, up to its maximum; a probation passed resets it")
    func relapses() async throws {
        let clock = ManualClock()
        let health = try HealthChecker(dependencies: [HealthCheckedDependency("p", policy: Self.fast)], clock: clock)
        let gate = try health.gate("p")
        var holds: [Duration] = []
        for _ in 0 ..< 4 {
            for _ in 0 ..< 4 { _ = await call(gate, failing: true) }
            #expect(!health.isEnabled("p"))
            holds.append(.nanoseconds(health.report().dependencies[0].retryAfterNanoseconds ?? 0))
            clock.advance(by: holds.last!)
            await health.evaluate()
            #expect(health.isEnabled("p"))
        }
        #expect(holds == [.seconds(10), .seconds(20), .seconds(40), .seconds(40)])
        clock.advance(by: .seconds(30))  // a probation without failure
        for _ in 0 ..< 4 { _ = await call(gate, failing: true) }
        #expect(health.report().dependencies[0].retryAfterNanoseconds == 10_000_000_000)
    }

    @Test("probes: failing ones disable, consecutive successes after the cool-down re-enable")
    func probes() async throws {
        let clock = ManualClock()
        let probe = FakeProbe()
        var policy = Self.fast
        policy.recovery = .afterProbes(successes: 2)
        let health = try HealthChecker(
            dependencies: [HealthCheckedDependency("p", policy: policy, probe: { try probe.run() })], clock: clock
        )
        probe.set(healthy: false)
        for _ in 0 ..< 3 {
            await health.evaluate()
            clock.advance(by: .seconds(1))
        }
        #expect(!health.isEnabled("p") && probe.runs == 3)
        #expect(health.report().dependencies[0].reason == "3 probes failed: Failure()")
        probe.set(healthy: true)
        for _ in 0 ..< 9 {  // successes before the cool-down's end (12 s) do not bring it back
            await health.evaluate()
            clock.advance(by: .seconds(1))
        }
        #expect(!health.isEnabled("p"))
        await health.evaluate()  // 12 s: the cool-down has passed, and the probes succeed
        #expect(health.isEnabled("p"))
        #expect(health.report().dependencies[0].reason == "10 probes succeeded")
    }

    @Test("an open breaker disables; a hand holds a dependency either way until it lets go")
    func breakerAndOverride() async throws {
        let clock = ManualClock()
        let breaker = try CircuitBreaker(configuration: .init(), clock: clock)
        let health = try HealthChecker(
            dependencies: [
                HealthCheckedDependency("a", policy: Self.fast, circuitState: { breaker.state }),
                HealthCheckedDependency("b", policy: Self.fast),
            ],
            clock: clock
        )
        breaker.transition(to: .forcedOpen)
        await health.evaluate()
        #expect(!health.isEnabled("a") && health.report().dependencies[0].reason == "circuit forced-open")
        #expect(health.report().status == .degraded && health.report().httpStatus == 200)
        clock.advance(by: .seconds(60))
        await health.evaluate()
        #expect(!health.isEnabled("a"))  // the breaker still refuses: it stays out
        breaker.transition(to: .closed)
        await health.evaluate()
        #expect(health.isEnabled("a"))
        try health.override("b", enabled: false)
        clock.advance(by: .seconds(600))
        await health.evaluate()
        #expect(!health.isEnabled("b") && health.report().dependencies[1].heldByHand)
        try health.override("b", enabled: nil)
        await health.evaluate()
        #expect(health.isEnabled("b"))
        #expect(throws: BulwarkError.invalidArgument(field: "name", rule: "must name a watched dependency (got \"c\")")) {
            try health.gate("c")
        }
    }

    @Test("a fallback chain skips a disabled dependency without calling it")
    func fallbackSkips() async throws {
        let clock = ManualClock()
        let health = try HealthChecker(
            dependencies: [HealthCheckedDependency("openai", policy: Self.fast), HealthCheckedDependency("anthropic", policy: Self.fast)],
            clock: clock
        )
        let calls = LockedValue<[String]>([])
        let chain = try FallbackChain<String>([
            FallbackAlternative("openai", policy: try health.gate("openai")) { _ in
                calls.withLock { $0.append("openai") }
                throw Failure()
            },
            FallbackAlternative("anthropic", policy: try health.gate("anthropic")) { _ in
                calls.withLock { $0.append("anthropic") }
                return "claude"
            },
        ])
        for _ in 0 ..< 4 { #expect(try await chain.execute(ResilienceContext(operationName: "chat")).value == "claude") }
        #expect(!health.isEnabled("openai"))
        calls.withLock { $0.removeAll() }
        let result = try await chain.execute(ResilienceContext(operationName: "chat"))
        #expect(result.alternative == "anthropic" && calls.withLock { $0 } == ["anthropic"])
        guard case .skipped(let retryAfter) = result.passed.first?.reason else { Issue.record("not skipped"); return }
        #expect(retryAfter == .seconds(10))
    }

    @Test("bad policies are errors naming the field")
    func validation() {
        let clock = ManualClock()
        var policy = Self.fast
        policy.disableAtFailureRate = 0
        #expect(throws: BulwarkError.invalidConfiguration(field: "disableAtFailureRate", rule: "must be in 0 < rate <= 1 (got 0.0)")) {
            try HealthChecker(dependencies: [HealthCheckedDependency("a", policy: policy)], clock: clock)
        }
        policy = Self.fast
        policy.recovery = .afterProbes(successes: 2)
        #expect(throws: BulwarkError.invalidConfiguration(field: "recovery", rule: "needs a probe to recover after probes (a has none)")) {
            try HealthChecker(dependencies: [HealthCheckedDependency("a", policy: policy)], clock: clock)
        }
        #expect(throws: BulwarkError.invalidConfiguration(field: "dependencies", rule: "must have distinct names (\"a\" is used twice)")) {
            try HealthChecker(dependencies: [HealthCheckedDependency("a"), HealthCheckedDependency("a")], clock: clock)
        }
        policy = Self.fast
        policy.maximumDisabledTime = .seconds(1)
        #expect(throws: BulwarkError.invalidConfiguration(field: "maximumDisabledTime", rule: "must be at least minimumDisabledTime")) {
            try HealthChecker(dependencies: [HealthCheckedDependency("a", policy: policy)], clock: clock)
        }
        policy = Self.fast
        policy.disableAtLatencyP95 = .zero
        #expect(throws: BulwarkError.invalidConfiguration(field: "disableAtLatencyP95", rule: "must be positive (got 0.0 seconds)")) {
            try HealthChecker(dependencies: [HealthCheckedDependency("a", policy: policy)], clock: clock)
        }
    }

    @Test("a probe that hangs is cancelled at its timeout and counts as failed")
    func probeTimeout() async throws {
        let clock = ManualClock()
        var policy = Self.fast
        policy.probeTimeout = .seconds(2)
        policy.disableAfterProbeFailures = 1
        let health = try HealthChecker(
            dependencies: [HealthCheckedDependency("p", policy: policy, probe: { try await Task.sleep(for: .seconds(3600)) })],
            clock: clock
        )
        let evaluation = Task { await health.evaluate() }
        await clock.waitForSleepers(count: 1)
        clock.advance(by: .seconds(2))
        await evaluation.value
        #expect(!health.isEnabled("p"))
        #expect(health.report().dependencies[0].reason == "1 probes failed: timed out after 2.0 seconds")
    }

    @Test("refusals by the policies inside the gate are not recorded; a hand's hold sets no cool-down")
    func refusalsAndHolds() async throws {
        let clock = ManualClock()
        let health = try HealthChecker(dependencies: [HealthCheckedDependency("p", policy: Self.fast)], clock: clock)
        let gate = try health.gate("p")
        for _ in 0 ..< 10 {
            _ = await gate.executeOutcome(ResilienceContext(operationName: "x")) { _ in ExecutionOutcome<Int>.rejected(.rateLimited(retryAfter: .seconds(1))) }
        }
        #expect(health.report().dependencies[0].calls == 0)
        try health.override("p", enabled: false)
        #expect(!health.isEnabled("p") && health.report().dependencies[0].retryAfterNanoseconds == 0)
        try health.override("p", enabled: nil)
        await health.evaluate()  // the cool-down (from the hand's hold, no relapse) has passed: back
        #expect(health.isEnabled("p"))
    }
}

@testable import BulwarkCircuitBreaker
import BulwarkCore
import BulwarkTestKit
import BulwarkTestSupport
import Testing

struct TestFailure: Error {}

/// A breaker on a manual clock, driven call by call.
struct Harness {
    let clock = ManualClock()
    let breaker: CircuitBreaker<ManualClock>
    let recorder = EventRecorder()

    init(_ configure: (inout CircuitBreakerConfiguration) -> Void) throws {
        var configuration = CircuitBreakerConfiguration()
        configure(&configuration)
        breaker = try CircuitBreaker(configuration: configuration, clock: clock)
        breaker.events.attach(recorder, as: "test")
    }

    /// One call that takes `duration` and ends with `outcome`; `false` when refused.
    @discardableResult
    func call(_ outcome: CallOutcome, taking duration: Duration = .zero) -> Bool {
        guard let permit = try? breaker.tryAcquirePermit() else { return false }
        clock.advance(by: duration)
        breaker.record(permit, outcome)
        return true
    }

    func calls(_ outcomes: [CallOutcome]) {
        for outcome in outcomes { call(outcome) }
    }

    var retryAfter: Duration?? {
        do {
            _ = try breaker.tryAcquirePermit()
            return nil
        } catch {
            if case .circuitOpen(let retryAfter) = error { return .some(retryAfter) }
            return nil
        }
    }
}

func repeated(_ outcome: CallOutcome, _ count: Int) -> [CallOutcome] {
    Array(repeating: outcome, count: count)
}

@Suite(.timeLimit(minutes: 1)) struct CountWindowTests {
    @Test func opensWhenTheFailureRateReachesTheThresholdOnceTheMinimumIsMet() throws {
        let harness = try Harness { $0.window = .count(10); $0.minimumCalls = 10 }
        harness.calls(repeated(.failure, 5) + repeated(.success, 4))
        #expect(harness.breaker.state == .closed)  // 9 calls: below the minimum, even at 55 %
        harness.call(.success)  // 10 calls, 5 failures: 50 % >= 50 %
        #expect(harness.breaker.state == .open)
        #expect(harness.recorder.kinds == [.circuitStateChanged(from: .closed, to: .open)])
    }

    @Test func fractionalThresholdsAreComparedExactly() throws {
        // 1 failure in 3 calls is 33.33… %: at or above a threshold of 100/3 exactly as a Double
        // holds it (33.333333333333336), it is not.
        #expect(!CircuitMachine.reaches(1, of: 3, 100.0 / 3))
        #expect(CircuitMachine.reaches(1, of: 3, 33.333333333333329))
        #expect(CircuitMachine.reaches(1, of: 2, 50))
        #expect(!CircuitMachine.reaches(49, of: 100, 49.000000000000007))
    }

    @Test func staysClosedJustBelowTheThreshold() throws {
        let harness = try Harness { $0.window = .count(10); $0.minimumCalls = 10 }
        harness.calls(repeated(.success, 6) + repeated(.failure, 4))
        #expect(harness.breaker.state == .closed)
        #expect(harness.breaker.metrics.failureRate == 40)
    }

    @Test func oldCallsLeaveTheWindow() throws {
        let harness = try Harness { $0.window = .count(4); $0.minimumCalls = 4; $0.failureRateThreshold = 75 }
        harness.calls([.failure, .failure, .success, .success, .success])
        // The window is the last 4: failure, success, success, success.
        #expect(harness.breaker.metrics.failedCalls == 1)
        harness.calls([.failure, .failure])  // failure, success, failure, failure... last 4 = s, s, f, f
        #expect(harness.breaker.state == .closed)
        harness.call(.failure)  // s, f, f, f = 75 %
        #expect(harness.breaker.state == .open)
    }

    @Test func theMinimumIsCappedByTheWindowSize() throws {
        let harness = try Harness { $0.window = .count(5); $0.minimumCalls = 100 }
        harness.calls(repeated(.failure, 5))
        #expect(harness.breaker.state == .open)
    }

    @Test func ignoredCallsAreNotRecorded() throws {
        let harness = try Harness { $0.window = .count(4); $0.minimumCalls = 4 }
        harness.calls(repeated(.ignored, 10) + repeated(.failure, 3))
        #expect(harness.breaker.metrics.calls == 3)
        #expect(harness.breaker.state == .closed)
    }

    @Test func slowCallsAreStrictlyLongerThanTheSlowCallDuration() throws {
        let harness = try Harness {
            $0.window = .count(4); $0.minimumCalls = 4; $0.failureRateThreshold = nil
            $0.slowCallRateThreshold = 50; $0.slowCallDuration = .seconds(2)
        }
        harness.call(.success, taking: .seconds(2))  // exactly the duration: not slow
        harness.call(.success, taking: .seconds(2))
        harness.call(.failure, taking: .milliseconds(2001))  // a slow failure counts as slow
        #expect(harness.breaker.metrics.slowCalls == 1)
        harness.call(.success, taking: .seconds(3))
        #expect(harness.breaker.state == .open)  // 2 of 4 slow
    }

    @Test func consecutiveFailuresOpenWhateverTheRate() throws {
        let harness = try Harness { $0.failureRateThreshold = nil; $0.consecutiveFailureThreshold = 3 }
        harness.calls([.failure, .failure, .success, .failure, .failure])
        #expect(harness.breaker.state == .closed)
        harness.call(.failure)
        #expect(harness.breaker.state == .open)
    }
}

@Suite(.timeLimit(minutes: 1)) struct TimeWindowTests {
    @Test func callsLeaveWithTheirBucket() throws {
        let harness = try Harness { $0.window = .time(seconds: 10); $0.minimumCalls = 4 }
        harness.clock.advance(by: .milliseconds(500))
        harness.calls([.failure, .failure])  // bucket [0 s, 1 s)
        harness.clock.advance(by: .seconds(9))  // 9.5 s: bucket [9 s, 10 s), the window is [0 s, 10 s)
        harness.call(.success)
        #expect(harness.breaker.metrics.calls == 3)
        harness.clock.advance(by: .milliseconds(500))  // 10 s: the window is [1 s, 11 s)
        #expect(harness.breaker.metrics.calls == 1)
        harness.calls([.failure, .success, .failure])
        #expect(harness.breaker.state == .open)  // 2 of 4 in [1 s, 11 s)
    }

    @Test func aLongSilenceEmptiesTheWindow() throws {
        let harness = try Harness { $0.window = .time(bucket: .milliseconds(100), bucketCount: 5); $0.minimumCalls = 2 }
        harness.call(.failure)
        harness.clock.advance(by: .seconds(3600))
        harness.call(.failure)
        #expect(harness.breaker.metrics.calls == 1)
        #expect(harness.breaker.state == .closed)
    }

    @Test func theMinimumIsNotCappedInTime() throws {
        let harness = try Harness { $0.window = .time(seconds: 2); $0.minimumCalls = 5 }
        harness.calls(repeated(.failure, 4))
        #expect(harness.breaker.state == .closed)
        harness.call(.failure)
        #expect(harness.breaker.state == .open)
    }
}

@Suite(.timeLimit(minutes: 1)) struct OpenAndHalfOpenTests {
    func opened(probes: Int = 3, minimumCalls: Int = 2, _ configure: (inout CircuitBreakerConfiguration) -> Void = { _ in }) throws -> Harness {
        let harness = try Harness {
            $0.window = .count(2); $0.minimumCalls = minimumCalls; $0.halfOpenProbes = probes
            $0.openDuration = .fixed(.seconds(30))
            configure(&$0)
        }
        harness.calls([.failure, .failure])
        #expect(harness.breaker.state == .open)
        return harness
    }

    @Test func anOpenBreakerRefusesWithTheRestOfItsOpenTime() throws {
        let harness = try opened()
        #expect(harness.retryAfter == .some(.seconds(30)))
        harness.clock.advance(by: .seconds(12))
        #expect(harness.retryAfter == .some(.seconds(18)))
        harness.clock.advance(by: .nanoseconds(18_000_000_000 - 1))
        #expect(harness.retryAfter == .some(.nanoseconds(1)))
        #expect(harness.breaker.metrics.notPermittedCalls == 3)
        #expect(harness.recorder.kinds.last == .circuitRejected(state: .open, retryAfter: .nanoseconds(1)))
    }

    @Test func halfOpenLetsTheProbesThroughAndRefusesTheRest() throws {
        let harness = try opened(probes: 2)
        harness.clock.advance(by: .seconds(30))
        #expect(harness.breaker.state == .halfOpen)
        let first = try harness.breaker.tryAcquirePermit()
        let second = try harness.breaker.tryAcquirePermit()
        #expect(harness.retryAfter == .some(nil))
        harness.breaker.record(first, .success)
        #expect(harness.breaker.state == .halfOpen)
        harness.breaker.record(second, .success)
        #expect(harness.breaker.state == .closed)
        #expect(harness.breaker.metrics.calls == 0)  // closing starts from empty metrics
    }

    @Test func halfOpenJudgesOnceTheSmallerOfMinimumAndProbesAreIn() throws {
        // Resilience4j: half-open judges at min(minimumCalls, permitted calls).
        let harness = try opened(probes: 5, minimumCalls: 2)
        harness.clock.advance(by: .seconds(30))
        harness.calls([.success, .failure])  // 1 of 2 = 50 % >= 50 %
        #expect(harness.breaker.state == .open)
    }

    @Test func halfOpenJudgesWithTheConfiguredMinimumNotTheWindowCappedOne() throws {
        // Window 5, minimumCalls 10, 10 probes: closed judges at 5 (capped by the window), but
        // half-open waits for min(10, 10) = 10 probes, as Resilience4j does.
        let harness = try Harness {
            $0.window = .count(5); $0.minimumCalls = 10; $0.halfOpenProbes = 10
            $0.openDuration = .fixed(.seconds(30))
        }
        harness.calls(repeated(.failure, 5))
        #expect(harness.breaker.state == .open)
        harness.clock.advance(by: .seconds(30))
        harness.calls(repeated(.success, 5) + repeated(.failure, 4))
        #expect(harness.breaker.state == .halfOpen)  // 9 probes in: not judged yet
        harness.call(.success)
        #expect(harness.breaker.state == .closed)  // 4 of 10 failed: 40 % < 50 %
    }

    @Test func anIgnoredProbeGivesItsSlotBack() throws {
        let harness = try opened(probes: 1)
        harness.clock.advance(by: .seconds(30))
        harness.call(.ignored)
        #expect(harness.breaker.state == .halfOpen)
        harness.call(.success)
        #expect(harness.breaker.state == .closed)
    }

    @Test func theOpenDurationGrowsWithEachReopeningAndResetsOnClose() throws {
        let harness = try opened(probes: 1) {
            $0.openDuration = .exponential(initial: .seconds(10), multiplier: 2, maximum: .seconds(25))
        }
        #expect(harness.retryAfter == .some(.seconds(10)))
        for expected in [20, 25, 25] {
            harness.clock.advance(by: harness.breaker.metrics.remainingOpen ?? .zero)
            harness.call(.failure)  // the probe fails: open again, for longer
            #expect(harness.retryAfter == .some(.seconds(expected)))
        }
        harness.clock.advance(by: .seconds(25))
        harness.call(.success)
        #expect(harness.breaker.state == .closed)
        harness.calls([.failure, .failure])
        #expect(harness.retryAfter == .some(.seconds(10)))
    }

    @Test func probesThatNeverFinishReopenAfterTheMaximumHalfOpenDuration() throws {
        let harness = try opened(probes: 1) { $0.maximumHalfOpenDuration = .seconds(5) }
        harness.clock.advance(by: .seconds(30))
        _ = try harness.breaker.tryAcquirePermit()  // never recorded
        harness.clock.advance(by: .seconds(5))
        #expect(harness.breaker.state == .open)
        #expect(harness.breaker.metrics.remainingOpen == .seconds(30))
    }

    @Test func consecutiveModeReopensOnOneFailingProbe() throws {
        let harness = try Harness {
            $0.failureRateThreshold = nil; $0.consecutiveFailureThreshold = 2; $0.halfOpenProbes = 3
            $0.openDuration = .fixed(.seconds(1))
        }
        harness.calls([.failure, .failure])
        harness.clock.advance(by: .seconds(1))
        harness.calls([.success, .failure])
        #expect(harness.breaker.state == .open)
        harness.clock.advance(by: .seconds(1))
        harness.calls(repeated(.success, 3))
        #expect(harness.breaker.state == .closed)
    }

    @Test func aResultFromBeforeAStateChangeIsIgnored() throws {
        let harness = try Harness { $0.window = .count(2); $0.minimumCalls = 2; $0.halfOpenProbes = 1; $0.openDuration = .fixed(.seconds(1)) }
        let late = try harness.breaker.tryAcquirePermit()  // admitted while closed
        harness.calls([.failure, .failure])
        harness.clock.advance(by: .seconds(1))
        let probe = try harness.breaker.tryAcquirePermit()
        harness.breaker.record(late, .success)  // must not judge the half-open state
        #expect(harness.breaker.state == .halfOpen)
        harness.breaker.record(probe, .failure)
        #expect(harness.breaker.state == .open)
        #expect(harness.retryAfter == .some(.seconds(1)))
    }

    @Test func halfOpenWithEveryProbeOutIsNotReady() throws {
        let harness = try opened(probes: 1)
        let context = ResilienceContext(operationName: "x")
        #expect(harness.breaker.readiness(for: context) == .notReady(retryAfter: .seconds(30)))
        harness.clock.advance(by: .seconds(30))
        #expect(harness.breaker.readiness(for: context) == .ready)  // due to half-open: a probe would pass
        let probe = try harness.breaker.tryAcquirePermit()
        #expect(harness.breaker.readiness(for: context) == .notReady(retryAfter: nil))
        harness.breaker.record(probe, .success)
        #expect(harness.breaker.readiness(for: context) == .ready)
    }

    @Test func aProbeResultAfterTheMaximumHalfOpenDurationIsStale() throws {
        let harness = try opened(probes: 1) { $0.maximumHalfOpenDuration = .seconds(5) }
        harness.clock.advance(by: .seconds(40))  // half-open from 30 s; the probe starts at 40 s
        let probe = try harness.breaker.tryAcquirePermit()
        harness.clock.advance(by: .seconds(5))
        harness.breaker.record(probe, .success)  // at 45 s: the half-open period ended at 45 s
        #expect(harness.breaker.state == .open)
        #expect(harness.breaker.metrics.remainingOpen == .seconds(30))
    }
}

@Suite(.timeLimit(minutes: 1)) struct ManualStateTests {
    @Test func forcedOpenRefusesWithoutATimeAndStaysUntilMoved() throws {
        let harness = try Harness { _ in }
        harness.breaker.transition(to: .forcedOpen)
        harness.clock.advance(by: .seconds(3600))
        #expect(harness.retryAfter == .some(nil))
        #expect(harness.breaker.readiness(for: ResilienceContext(operationName: "x")) == .notReady(retryAfter: nil))
        harness.breaker.transition(to: .closed)
        #expect(harness.call(.success))
    }

    @Test func disabledLetsEverythingThroughUnmeasured() throws {
        let harness = try Harness { $0.window = .count(2); $0.minimumCalls = 2 }
        harness.breaker.transition(to: .disabled)
        harness.calls(repeated(.failure, 10))
        #expect(harness.breaker.state == .disabled)
        #expect(harness.breaker.metrics.calls == 0)
    }

    @Test func metricsOnlyMeasuresButNeverOpens() throws {
        let harness = try Harness { $0.window = .count(2); $0.minimumCalls = 2 }
        harness.breaker.transition(to: .metricsOnly)
        harness.calls(repeated(.failure, 10))
        #expect(harness.breaker.state == .metricsOnly)
        #expect(harness.breaker.metrics.failureRate == 100)
        #expect(harness.recorder.kinds == [.circuitStateChanged(from: .closed, to: .metricsOnly)])
    }

    @Test func resetClosesAndForgetsTheOpenings() throws {
        let harness = try Harness { $0.window = .count(1); $0.minimumCalls = 1; $0.openDuration = .exponential(initial: .seconds(1), multiplier: 10, maximum: .seconds(100)) }
        harness.call(.failure)
        harness.breaker.reset()
        #expect(harness.breaker.state == .closed)
        harness.call(.failure)
        #expect(harness.retryAfter == .some(.seconds(1)))
    }
}

@Suite(.timeLimit(minutes: 1)) struct ClassificationTests {
    @Test func cancellationAndBulwarkRefusalsAreNeitherSuccessNorFailure() async throws {
        let harness = try Harness { $0.window = .count(2); $0.minimumCalls = 2 }
        let context = ResilienceContext(operationName: "x")
        for error: any Error in [CancellationError(), BulwarkError.rateLimited(retryAfter: .seconds(1)), BulwarkError.queueFull(limit: 1)] {
            await #expect(throws: (any Error).self) { try await harness.breaker.execute(context) { _ -> Int in throw error } }
        }
        #expect(harness.breaker.metrics.calls == 0)
        await #expect(throws: TestFailure.self) { try await harness.breaker.execute(context) { _ -> Int in throw TestFailure() } }
        await #expect(throws: BulwarkError.timedOut(after: .seconds(1))) {
            try await harness.breaker.execute(context) { _ -> Int in throw BulwarkError.timedOut(after: .seconds(1)) }
        }
        #expect(harness.breaker.state == .open)
    }

    /// An upstream's 429 (any `RateLimitSignal`) is neither success nor failure by default, so a
    /// provider rationing its callers does not open the breaker for everybody.
    @Test func anUpstreamRateLimitIsNotAFailureByDefault() async throws {
        struct Upstream: Error, RateLimitSignal {
            var status: Int
            var isRateLimited: Bool { status == 429 }
        }
        let harness = try Harness { $0.window = .count(2); $0.minimumCalls = 2 }
        let context = ResilienceContext(operationName: "x")
        for _ in 0 ..< 10 {
            await #expect(throws: Upstream.self) { try await harness.breaker.execute(context) { _ -> Int in throw Upstream(status: 429) } }
        }
        #expect(harness.breaker.state == .closed)
        #expect(harness.breaker.metrics.calls == 0)
        for _ in 0 ..< 2 {
            await #expect(throws: Upstream.self) { try await harness.breaker.execute(context) { _ -> Int in throw Upstream(status: 503) } }
        }
        #expect(harness.breaker.state == .open)
    }

    @Test(arguments: [CallOutcome.failure, .success, .ignored])
    func rateLimitedCallsCountAsConfigured(counted: CallOutcome) async throws {
        let harness = try Harness {
            $0.window = .count(2); $0.minimumCalls = 2; $0.rateLimitedOutcome = counted
            $0.classifyResult = { ($0 as? Int) == 429 ? .rateLimited : .success }
        }
        let context = ResilienceContext(operationName: "x")
        _ = try await harness.breaker.execute(context) { _ in 429 }
        await #expect(throws: (any Error).self) {
            try await harness.breaker.execute(context) { _ -> Int in throw BulwarkError.rateLimited(retryAfter: .seconds(1)) }
        }
        #expect(harness.breaker.metrics.calls == (counted == .ignored ? 0 : 2))
        #expect(harness.breaker.state == (counted == .failure ? .open : .closed))
    }

    @Test func aResultCanCountAsAFailure() async throws {
        let harness = try Harness {
            $0.window = .count(2); $0.minimumCalls = 2
            $0.classifyResult = { ($0 as? Int) == 503 ? .failure : .success }
        }
        let context = ResilienceContext(operationName: "x")
        for _ in 0 ..< 2 { _ = try await harness.breaker.execute(context) { _ in 503 } }
        #expect(harness.breaker.state == .open)
        let outcome = await harness.breaker.executeOutcome(context) { _ in ExecutionOutcome.success(200) }
        guard case .rejected(.circuitOpen(let retryAfter)) = outcome else {
            Issue.record("expected a refusal, got \(outcome)")
            return
        }
        #expect(retryAfter == .seconds(60))
    }
}

@Suite(.timeLimit(minutes: 1)) struct ConfigurationTests {
    static func broken(_ field: String) -> CircuitBreakerConfiguration {
        var c = CircuitBreakerConfiguration()
        switch field {
        case "window": c.window = .count(0)
        case "failureRateThreshold": c.failureRateThreshold = 0
        case "slowCallRateThreshold": c.slowCallRateThreshold = 101
        case "minimumCalls": c.minimumCalls = 0
        case "halfOpenProbes": c.halfOpenProbes = 0
        case "openDuration": c.openDuration = .exponential(initial: .seconds(2), multiplier: 2, maximum: .seconds(1))
        case "consecutiveFailureThreshold": c.consecutiveFailureThreshold = 0
        case "rateLimitedOutcome": c.rateLimitedOutcome = .rateLimited
        default: c.maximumHalfOpenDuration = .zero
        }
        return c
    }

    @Test(arguments: [
        "window", "failureRateThreshold", "slowCallRateThreshold", "minimumCalls", "halfOpenProbes", "openDuration",
        "consecutiveFailureThreshold", "maximumHalfOpenDuration", "rateLimitedOutcome",
    ])
    func aBadFieldIsNamed(field: String) {
        #expect {
            _ = try CircuitBreaker(configuration: Self.broken(field), clock: ManualClock())
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let named, _) = error else { return false }
            return named == field
        }
    }
}

extension ConfigurationTests {
    /// `0.5` looks like "half" but the unit is percent: refused, and the message says so.
    @Test(arguments: [0.5, 0.99, 0.01])
    func aFractionalThresholdIsRefusedNamingTheUnit(threshold: Double) {
        for field in ["failureRateThreshold", "slowCallRateThreshold"] {
            var configuration = CircuitBreakerConfiguration()
            if field == "failureRateThreshold" { configuration.failureRateThreshold = threshold } else { configuration.slowCallRateThreshold = threshold }
            #expect {
                _ = try CircuitBreaker(configuration: configuration, clock: ManualClock())
            } throws: { error in
                guard case BulwarkError.invalidConfiguration(let named, let rule) = error else { return false }
                return named == field && rule.contains("the unit is percent: 50 means half the calls")
                    && rule.contains("write") == (threshold >= 0.01)
            }
        }
    }

    @Test func onePercentAndAHundredAreAccepted() throws {
        _ = try CircuitBreaker(configuration: CircuitBreakerConfiguration(failureRateThreshold: 1, minimumCalls: 1), clock: ManualClock())
        _ = try CircuitBreaker(configuration: CircuitBreakerConfiguration(failureRateThreshold: 100, minimumCalls: 1), clock: ManualClock())
    }
}

@Suite(.timeLimit(minutes: 1)) struct BreakerStressTests {
    /// Many tasks calling at once through closed, open and half-open: every call is run or
    /// refused exactly once, and no probe slot leaks: once the failures stop, the breaker closes.
    @Test func noCallIsLostAndNoProbeLeaks() async throws {
        var configuration = CircuitBreakerConfiguration(failureRateThreshold: 50, minimumCalls: 4)
        configuration.window = .count(8)
        configuration.halfOpenProbes = 3
        // Open long enough that calls arrive while it is open, however slow the machine (under the
        // thread sanitizer with two CPU-bound processes beside it, a call can take longer than a
        // few microseconds, and a breaker open for 20 µs then refused nobody).
        configuration.openDuration = .fixed(.milliseconds(5))
        let breaker = try CircuitBreaker(configuration: configuration)
        let ran = Counter()
        let refused = Counter()
        await withTaskGroup(of: Void.self) { group in
            for task in 0 ..< 8 {
                group.addTask {
                    for call in 0 ..< 2_000 {
                        do {
                            try await breaker.execute(ResilienceContext(operationName: "stress")) { _ in
                                if (task + call) % 3 == 0 { throw TestFailure() }
                            }
                            ran.add(1)
                        } catch is TestFailure {
                            ran.add(1)
                        } catch {
                            refused.add(1)
                        }
                    }
                }
            }
        }
        #expect(ran.value + refused.value == 16_000)
        #expect(refused.value > 0)
        var attempts = 0
        while breaker.state != .closed, attempts < 1_000_000 {
            _ = try? await breaker.execute(ResilienceContext(operationName: "recover")) { _ in 1 }
            attempts += 1
        }
        #expect(breaker.state == .closed)
    }
}

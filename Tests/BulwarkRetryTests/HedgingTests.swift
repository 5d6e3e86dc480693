import BulwarkRetry
import BulwarkTestKit
import BulwarkTestSupport
import Testing

@Suite(.timeLimit(minutes: 1)) struct HedgingTests {
    @Test func aSlowFirstAttemptIsHedgedAndTheFirstSuccessWins() async throws {
        let clock = ManualClock()
        let hedging = try Hedging(configuration: HedgingConfiguration(maximumHedges: 2, delay: .seconds(1)), clock: clock)
        let recorder = EventRecorder()
        hedging.events.attach(recorder)
        let cancelled = Journal<Int>()
        let call = Task {
            try await hedging.execute(ResilienceContext(operationName: "x")) { context in
                do {
                    // Attempt 1 takes 10 s, attempt 2 takes 0.5 s.
                    let takes: Int64 = context.attempt == 1 ? 10_000_000_000 : 500_000_000
                    try await clock.sleep(untilNanoseconds: clock.nowNanoseconds + takes)
                    return context.attempt
                } catch {
                    cancelled.append(context.attempt)
                    throw error
                }
            }
        }
        await clock.waitForSleepers(count: 2)  // attempt 1 and the hedge timer
        clock.advance(by: .seconds(1))
        await clock.waitForSleepers(count: 3)  // attempt 1, attempt 2 and the next timer
        clock.advance(by: .milliseconds(500))
        #expect(try await call.value == 2)
        #expect(cancelled.all == [1])
        #expect(recorder.kinds == [.hedgeStarted(attempt: 2)])
    }

    @Test func aFailedAttemptStartsTheNextAtOnceAndAllFailingGivesTheFirstFailure() async throws {
        let hedging = try Hedging(configuration: HedgingConfiguration(maximumHedges: 2, delay: .seconds(100)), clock: ManualClock())
        let outcome = await hedging.executeOutcome(ResilienceContext(operationName: "x")) { context -> ExecutionOutcome<Int> in
            .failure(Flaky(attempt: context.attempt))
        }
        #expect(outcome.error as? Flaky == Flaky(attempt: 1))
    }

    @Test func hedgesDrawFromTheRetryBudget() async throws {
        let clock = ManualClock()
        var configuration = HedgingConfiguration(maximumHedges: 3, delay: .zero)
        configuration.budget = try RetryBudget(ratio: 0, minimumPerSecond: 1, ttl: .seconds(1), clock: clock)
        let hedging = try Hedging(configuration: configuration, clock: clock)
        let attempts = Counter()
        _ = await hedging.executeOutcome(ResilienceContext(operationName: "x")) { context -> ExecutionOutcome<Int> in
            attempts.add(1)
            return .failure(Flaky(attempt: context.attempt))
        }
        #expect(attempts.value == 2)  // the reserve allows one hedge
    }
}

@Suite(.timeLimit(minutes: 1)) struct HedgingFailureTests {
    @Test func aFailureStartsTheNextAttemptAtOnceEvenWhileAnotherRuns() async throws {
        let clock = ManualClock()
        let hedging = try Hedging(configuration: HedgingConfiguration(maximumHedges: 2, delay: .seconds(1)), clock: clock)
        let started = Journal<(attempt: Int, at: Int64)>()
        let call = Task {
            try await hedging.execute(ResilienceContext(operationName: "x")) { context in
                started.append((context.attempt, clock.nowNanoseconds))
                switch context.attempt {
                case 1:  // slow: answers at 10 s
                    try await clock.sleep(untilNanoseconds: 10_000_000_000)
                    return 1
                case 2:  // fails at 1.5 s
                    try await clock.sleep(untilNanoseconds: 1_500_000_000)
                    throw Flaky(attempt: 2)
                default:
                    return context.attempt
                }
            }
        }
        await clock.waitForSleepers(count: 2)  // attempt 1 and the first timer
        clock.advance(by: .seconds(1))  // attempt 2 starts
        await clock.waitForSleepers(count: 3)  // attempts 1 and 2, and the second timer (at 2 s)
        clock.advance(by: .milliseconds(500))  // attempt 2 fails: attempt 3 starts at 1.5 s, not 2 s
        #expect(try await call.value == 3)
        #expect(started.all.map(\.attempt) == [1, 2, 3])
        #expect(started.all.last?.at == 1_500_000_000)
    }
}

@Suite(.timeLimit(minutes: 1)) struct RetryBudgetValidationTests {
    @Test func aReserveTooLargeIsRefusedByName() {
        #expect {
            _ = try RetryBudget(ratio: 0.2, minimumPerSecond: 1_000_000, ttl: .seconds(31_536_000), clock: ManualClock())
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let field, _) = error else { return false }
            return field == "minimumPerSecond"
        }
    }
}

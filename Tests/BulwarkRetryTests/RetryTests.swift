import BulwarkRetry
import BulwarkTestKit
import BulwarkTestSupport
import Testing

struct TooManyRequests: Error, RetryAfterProviding {
    var retryAfter: Duration?
}


@Suite(.timeLimit(minutes: 1)) struct RetryTests {
    let clock = ManualClock()

    func retry(_ configure: (inout RetryConfiguration) -> Void = { _ in }) throws -> Retry<ManualClock> {
        var configuration = RetryConfiguration(maximumAttempts: 4)
        configuration.backoff = .constant(.seconds(1))
        configure(&configuration)
        return try Retry(configuration: configuration, clock: clock)
    }

    @Test func retriesUntilSuccessWithTheAttemptInTheContext() async throws {
        let retry = try retry()
        let recorder = EventRecorder()
        retry.events.attach(recorder)
        let attempts = Journal<Int>()
        let clock = clock
        let value = await driving(clock) {
            try? await retry.execute(ResilienceContext(operationName: "x")) { context in
                attempts.append(context.attempt)
                if context.attempt < 3 { throw Flaky(attempt: context.attempt) }
                return clock.nowNanoseconds
            }
        }
        #expect(attempts.all == [1, 2, 3])
        #expect(value == 2_000_000_000)  // two waits of one second
        #expect(recorder.kinds == [.retryScheduled(attempt: 2, delay: .seconds(1)), .retryScheduled(attempt: 3, delay: .seconds(1))])
    }

    @Test func givesUpAfterTheMaximumWithTheLastError() async throws {
        let retry = try retry()
        let outcome = await driving(clock) {
            await retry.executeOutcome(ResilienceContext(operationName: "x")) { context -> ExecutionOutcome<Int> in
                .failure(Flaky(attempt: context.attempt))
            }
        }
        #expect(outcome.error as? Flaky == Flaky(attempt: 4))
    }

    @Test func aRetryAfterReplacesTheBackoffOrStopsWhenTooLong() async throws {
        let retry = try retry { $0.maximumDelay = .seconds(10) }
        let recorder = EventRecorder()
        retry.events.attach(recorder)
        let clock = clock
        let afters: [Duration?] = [.milliseconds(2500), .seconds(11)]
        let ended = await driving(clock) {
            _ = await retry.executeOutcome(ResilienceContext(operationName: "x")) { context -> ExecutionOutcome<Int> in
                .failure(TooManyRequests(retryAfter: afters[context.attempt - 1]))
            }
            return clock.nowNanoseconds
        }
        #expect(ended == 2_500_000_000)
        #expect(recorder.kinds == [
            .retryScheduled(attempt: 2, delay: .milliseconds(2500)),
            .retryRefused(attempt: 3, reason: .retryAfterTooLong),
        ])
    }

    @Test func neverRetriesPastTheDeadline() async throws {
        let retry = try retry()
        let recorder = EventRecorder()
        retry.events.attach(recorder)
        let attempts = Journal<Int>()
        _ = await driving(clock) {
            await retry.executeOutcome(ResilienceContext(operationName: "x", deadline: .after(.milliseconds(1500)))) { context -> ExecutionOutcome<Int> in
                attempts.append(context.attempt)
                return .failure(Flaky(attempt: context.attempt))
            }
        }
        #expect(attempts.all == [1, 2])  // the retry at 2 s would start after the deadline at 1.5 s
        #expect(recorder.kinds.last == .retryRefused(attempt: 3, reason: .deadline))
    }

    @Test func neverRetriesACancellation() async throws {
        let retry = try retry()
        let attempts = Counter()
        let outcome = await retry.executeOutcome(ResilienceContext(operationName: "x")) { _ -> ExecutionOutcome<Int> in
            attempts.add(1)
            return .failure(CancellationError())
        }
        #expect(attempts.value == 1)
        #expect(outcome.error is CancellationError)
    }

    @Test func aCancelledBackoffEndsTheCall() async throws {
        let retry = try retry()
        let attempts = Counter()
        let task = Task {
            await retry.executeOutcome(ResilienceContext(operationName: "x")) { _ -> ExecutionOutcome<Int> in
                attempts.add(1)
                return .failure(Flaky(attempt: 1))
            }
        }
        await clock.waitForSleepers(count: 1)
        task.cancel()
        let outcome = await task.value
        #expect(outcome.error is CancellationError)
        #expect(attempts.value == 1)
    }

    @Test func resultsCanBeRetried() async throws {
        let retry = try retry { $0.shouldRetryResult = { ($0 as? Int) == 503 } }
        let value = await driving(clock) {
            try? await retry.execute(ResilienceContext(operationName: "x")) { context in context.attempt < 4 ? 503 : 200 }
        }
        #expect(value == 200)
    }

    @Test func backoffsFollowTheirFormulas() throws {
        let random = RandomSource.seeded(7)
        func delays(_ backoff: Backoff, _ count: Int = 5, maximum: Duration = .seconds(100)) throws -> [Duration] {
            var configuration = RetryConfiguration(maximumAttempts: count + 1)
            configuration.backoff = backoff
            configuration.maximumDelay = maximum
            configuration.random = random
            _ = try Retry(configuration: configuration, clock: ManualClock())
            var previous: Int64 = 0
            return (1 ... count).map { retry in
                previous = backoff.nanoseconds(beforeRetry: retry, previous: previous, maximum: maximum.saturatingNanoseconds, random: random)
                return .nanoseconds(previous)
            }
        }
        #expect(try delays(.constant(.seconds(1))) == Array(repeating: .seconds(1), count: 5))
        #expect(try delays(.linear(initial: .seconds(1), increment: .seconds(2))) == [1, 3, 5, 7, 9].map { .seconds($0) })
        #expect(try delays(.exponential(initial: .seconds(1), multiplier: 2), maximum: .seconds(10)) == [1, 2, 4, 8, 10].map { .seconds($0) })
        for delay in try delays(.exponential(initial: .seconds(4), multiplier: 1, jitter: .full), 200) {
            #expect(delay >= .zero && delay <= .seconds(4))
        }
        for delay in try delays(.constant(.seconds(4), jitter: .proportional(0.25)), 200) {
            #expect(delay >= .seconds(3) && delay <= .seconds(5))
        }
        var previous = Duration.milliseconds(100)
        for delay in try delays(.decorrelatedJitter(base: .milliseconds(100)), 200, maximum: .seconds(20)) {
            #expect(delay >= .milliseconds(100) && delay <= min(.seconds(20), previous * 3))
            previous = delay
        }
    }

    /// AWS's decorrelated jitter is `min(cap, uniform(base, 3 × previous))`: with `previous` at
    /// the cap, two thirds of the draws land exactly on the cap and the rest spread evenly
    /// below it. A chi-square over 100,000 seeded draws (20 equal bins below the cap, one for the
    /// cap itself) against that distribution.
    @Test func decorrelatedJitterIsDrawnThenCapped() {
        let random = RandomSource.seeded(2026)
        let base: Int64 = 1_000, maximum: Int64 = 21_000, previous: Int64 = 21_000
        let backoff = Backoff.decorrelatedJitter(base: .nanoseconds(base))
        let draws = 100_000, bins = 20
        var counts = Array(repeating: 0, count: bins + 1)  // the last bin is the cap itself
        for _ in 0 ..< draws {
            let delay = backoff.nanoseconds(beforeRetry: 3, previous: previous, maximum: maximum, random: random)
            #expect(delay >= base && delay <= maximum)
            counts[delay == maximum ? bins : Int((delay - base) * Int64(bins) / (maximum - base))] += 1
        }
        // uniform(base ... 3 × previous) has 3 × previous − base + 1 equally likely values; those
        // at or above the cap become the cap.
        let values = Double(3 * previous - base + 1)
        let perBin = Double((maximum - base) / Int64(bins)) / values * Double(draws)
        let atCap = Double(3 * previous - maximum + 1) / values * Double(draws)
        var chiSquare = 0.0
        for (bin, count) in counts.enumerated() {
            let expected = bin == bins ? atCap : perBin
            chiSquare += (Double(count) - expected) * (Double(count) - expected) / expected
        }
        // 20 degrees of freedom: P(χ² > 45.3) = 0.001. Drawing without the cap's mass (uniform
        // up to the cap) gives a χ² in the tens of thousands.
        #expect(chiSquare < 45.3, "χ² = \(chiSquare), counts \(counts)")
        #expect(abs(Double(counts[bins]) - atCap) / Double(draws) < 0.01)  // 42,001 / 62,001 ≈ 67.7 %
    }

    @Test(arguments: ["maximumAttempts", "maximumDelay", "backoff"])
    func aBadFieldIsNamed(field: String) {
        var configuration = RetryConfiguration()
        switch field {
        case "maximumAttempts": configuration.maximumAttempts = 0
        case "maximumDelay": configuration.maximumDelay = .seconds(-1)
        default: configuration.backoff = .exponential(initial: .seconds(1), multiplier: 0.5)
        }
        #expect {
            _ = try Retry(configuration: configuration, clock: ManualClock())
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let named, _) = error else { return false }
            return named == field
        }
    }
}

@Suite(.timeLimit(minutes: 1)) struct RetryBudgetTests {
    @Test func retriesAreCappedByRatioAndReserveAndAgeOut() throws {
        let clock = ManualClock()
        let budget = try RetryBudget(ratio: 0.1, minimumPerSecond: 1, ttl: .seconds(10), clock: clock)
        #expect(budget.available == 10)  // the reserve: 1 per second of ttl
        for _ in 0 ..< 100 { budget.recordCall() }
        #expect(budget.available == 20)  // + 10 % of 100 calls
        for _ in 0 ..< 20 { #expect(budget.tryWithdraw()) }
        #expect(!budget.tryWithdraw())
        #expect(budget.available == 0)
        clock.advance(by: .seconds(10))  // deposits and withdrawals age out together
        #expect(budget.available == 10)
    }

    @Test func aRetryPolicyStopsWhenTheBudgetIsSpent() async throws {
        let clock = ManualClock()
        let budget = try RetryBudget(ratio: 0, minimumPerSecond: 1, ttl: .seconds(2), clock: clock)
        var configuration = RetryConfiguration(maximumAttempts: 10)
        configuration.backoff = .constant(.zero)
        configuration.budget = budget
        let retry = try Retry(configuration: configuration, clock: clock)
        let recorder = EventRecorder()
        retry.events.attach(recorder)
        let attempts = Counter()
        _ = await retry.executeOutcome(ResilienceContext(operationName: "x")) { _ -> ExecutionOutcome<Int> in
            attempts.add(1)
            return .failure(Flaky(attempt: 0))
        }
        #expect(attempts.value == 3)  // the call and the reserve's 2 retries
        #expect(recorder.kinds.last == .retryRefused(attempt: 4, reason: .budgetExhausted))
    }
}

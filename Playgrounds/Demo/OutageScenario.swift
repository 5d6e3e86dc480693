// Scenario "outage": a model provider goes down for 90 s and comes back. Every call goes through
// a fallback chain: the primary provider (retry with a shared retry budget, then a circuit
// breaker) and a secondary provider (a rate limit of 100 requests per minute), then a canned
// answer as the last resort. The report shows, every 30 s, who served the calls, the breaker's
// state, the retries made and those the budget refused, and every state change as it happened.
import Bulwark
import BulwarkTestKit

func outageScenario() async throws {
    struct ProviderDown: Error {}
    let clock = ManualClock()
    let down = (from: 60 * second, until: 150 * second)

    // Retries may be at most 10 % of the calls of the last 10 s.
    let budget = try RetryBudget(ratio: 0.1, minimumPerSecond: 0, ttl: .seconds(10), clock: clock)
    var retry = RetryConfiguration(maximumAttempts: 2)
    retry.backoff = .constant(.zero)
    retry.budget = budget
    var breaker = CircuitBreakerConfiguration(failureRateThreshold: 50, minimumCalls: 20)
    breaker.window = .count(40)
    breaker.halfOpenProbes = 3
    breaker.openDuration = .exponential(initial: .seconds(20), multiplier: 2, maximum: .seconds(60))
    let primaryBreaker = try CircuitBreaker(configuration: breaker, clock: clock)
    let primaryRetry = try Retry(configuration: retry, clock: clock)
    let secondaryLimit = try TokenBucketRateLimiter(capacity: 10, refill: 100, every: .seconds(60), clock: clock)

    let chain = try FallbackChain<String>([
        FallbackAlternative("primary", policy: Pipeline { primaryRetry; primaryBreaker }) { _ in
            let now = clock.nowNanoseconds
            if now >= down.from, now < down.until { throw ProviderDown() }
            return "primary"
        },
        FallbackAlternative("secondary", policy: secondaryLimit) { _ in "secondary" },
    ], lastResort: { _, _ in "canned" })

    // One observer for every policy: events stamped with the virtual time.
    let events = Log<(at: Int64, event: ResilienceEvent)>()
    let observer = ClosureObserver { events.append((clock.nowNanoseconds, $0)) }
    primaryBreaker.events.attach(observer, as: "primary.breaker")
    primaryRetry.events.attach(observer, as: "primary.retry")
    chain.events.attach(observer, as: "chain")

    print("  primary down from \(clockTime(down.from)) to \(clockTime(down.until)); one call every 500 ms")
    print("  breaker: opens at 50 % of the last 40 calls (20 at least), open 20 s then 40 s then 60 s, 3 probes")
    print("  retry: 2 attempts, from a budget of 10 % of the last 10 s of calls; secondary: 100 per minute\n")
    print("  period      served by: primary  secondary  canned   primary skipped  retries  refused  breaker at end")
    var served: [String: Int] = [:]
    var periodStart = 0
    for tick in 1 ... 480 {  // four minutes
        clock.advance(to: NanosecondInstant(nanoseconds: Int64(tick) * second / 2))
        let result = try await chain.execute(ResilienceContext(operationName: "chat"))
        served[result.value, default: 0] += 1
        guard tick % 60 == 0 else { continue }
        let inPeriod = events.all[periodStart...]
        periodStart = events.count
        func count(_ match: (ResilienceEvent.Kind) -> Bool) -> Int { inPeriod.filter { match($0.event.kind) }.count }
        let skipped = count { $0.detail(as: FallbackSkipped.self)?.alternative == "primary" }
        let retries = count { $0.detail(as: RetryScheduled.self) != nil }
        let refused = count { $0.detail(as: RetryRefused.self)?.reason == .budgetExhausted }
        let start = clock.nowNanoseconds - 30 * second
        print("  \(clockTime(start))–\(clockTime(clock.nowNanoseconds))  "
            + "\(padded(served["primary", default: 0], 16))  \(padded(served["secondary", default: 0], 9))  "
            + "\(padded(served["canned", default: 0], 6))  \(padded(skipped, 15))  \(padded(retries, 7))  "
            + "\(padded(refused, 7))  \(primaryBreaker.state)")
        served = [:]
    }
    print("\n  the breaker's state changes:")
    for (at, event) in events.all {
        if case .circuitStateChanged(let from, let to) = event.kind {
            print("    \(clockTime(at))  \(from) → \(to)")
        }
    }
}

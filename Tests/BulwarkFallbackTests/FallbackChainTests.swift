import BulwarkCircuitBreaker
import BulwarkFallback
import BulwarkTestKit
import BulwarkTestSupport
import BulwarkTokenBucket
import Testing

@Suite(.timeLimit(minutes: 1)) struct FallbackChainTests {
    @Test func skipsAnOpenBreakerAndALimiterThatWouldDenyWithoutCallingThem() async throws {
        let clock = ManualClock()
        let breaker = try CircuitBreaker(configuration: CircuitBreakerConfiguration(), clock: clock)
        breaker.transition(to: .open)
        let limiter = try TokenBucketRateLimiter(capacity: 1, refill: 1, every: .seconds(10), clock: clock)
        _ = try limiter.tryAcquire()
        let calls = Journal<String>()
        let chain = try FallbackChain<String>([
            FallbackAlternative("a", policy: breaker) { _ in calls.append("a"); return "a" },
            FallbackAlternative("b", policy: limiter) { _ in calls.append("b"); return "b" },
            FallbackAlternative("c") { _ in calls.append("c"); return "c" },
        ])
        let recorder = EventRecorder()
        chain.events.attach(recorder)
        let result = try await chain.execute(ResilienceContext(operationName: "chat"))
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
        await #expect(throws: BadRequest.self) { try await chain.execute(ResilienceContext(operationName: "chat")) }
        #expect(calls.all == ["limited", "bad"])
    }

    @Test func whenAllFailOneErrorListsEveryAlternativeOrTheLastResortAnswers() async throws {
        let alternatives = [
            FallbackAlternative<String>("one") { _ in throw BulwarkError.rateLimited(retryAfter: .seconds(7)) },
            FallbackAlternative<String>("two") { _ in throw BulwarkError.circuitOpen(retryAfter: .seconds(4)) },
        ]
        let chain = try FallbackChain(alternatives)
        do {
            _ = try await chain.execute(ResilienceContext(operationName: "chat"))
            Issue.record("expected a failure")
        } catch let failure as FallbackFailure {
            #expect(failure.attempts.map(\.alternative) == ["one", "two"])
            #expect(failure.retryAfter == .seconds(4))
            #expect(failure.description.contains("one: rate limited"))
        }
        let rescued = try FallbackChain(alternatives, lastResort: { failure, _ in "sorry (\(failure.attempts.count))" })
        let result = try await rescued.execute(ResilienceContext(operationName: "chat"))
        #expect(result.value == "sorry (2)" && result.alternative == "last-resort")
        #expect(result.passed.count == 2)
    }

    @Test func theStaticFallbackAnswersAndRefusesAnotherType() async throws {
        let fallback = Fallback("canned")
        let value = try await fallback.execute(ResilienceContext(operationName: "x")) { _ -> String in throw BadRequest() }
        #expect(value == "canned")
        await #expect(throws: BulwarkError.invalidArgument(field: "Success", rule: "must be the fallback's type String (got Int)")) {
            try await fallback.execute(ResilienceContext(operationName: "x")) { _ -> Int in throw BadRequest() }
        }
    }

    @Test func theFallbackChainReservesTheLastResortsName() {
        #expect {
            _ = try FallbackChain<Int>([FallbackAlternative("last-resort") { _ in 1 }])
        } throws: { error in
            guard case BulwarkError.invalidConfiguration(let field, _) = error else { return false }
            return field == "alternatives"
        }
    }
}

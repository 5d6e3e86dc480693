import BulwarkTestKit
import BulwarkTokenBucket
import Foundation
import Testing

/// The shared table in `Tests/Vectors/token-bucket.json`, computed by an independent reference
/// model. Every implementation of the token bucket must reproduce it step for step.
struct TokenBucketVectors: Decodable {
    struct Case: Decodable, CustomTestStringConvertible, Sendable {
        struct Config: Decodable, Sendable {
            var capacity: Int
            var refillAmount: Int
            var refillPeriodNanoseconds: Int64
            var initialTokens: Int?
        }

        struct Step: Decodable, Sendable {
            var at: Int64
            var cost: Int
            var allowed: Bool
            var remaining: Int
            var retryAfter: Int64
            var resetAfter: Int64
        }

        var name: String
        var config: Config
        var monotonicClock: Bool
        var steps: [Step]

        var testDescription: String { name }

        var configuration: TokenBucket.Configuration {
            .init(
                capacity: config.capacity, refill: config.refillAmount,
                every: .nanoseconds(config.refillPeriodNanoseconds), initialTokens: config.initialTokens
            )
        }
    }

    var algorithm: String
    var cases: [Case]

    static let all: [Case] = {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Vectors/token-bucket.json")
        do {
            let vectors = try JSONDecoder().decode(TokenBucketVectors.self, from: Data(contentsOf: url))
            precondition(vectors.algorithm == "token-bucket")
            return vectors.cases
        } catch {
            fatalError("cannot read the test vectors at \(url.path): \(error)")
        }
    }()
}

@Suite("Token bucket test vectors")
struct TestVectorTests {
    @Test("the table is not empty")
    func tableIsLoaded() {
        #expect(TokenBucketVectors.all.count >= 10)
        #expect(TokenBucketVectors.all.map(\.steps.count).reduce(0, +) >= 1_000)
    }

    @Test("the pure algorithm reproduces every step", arguments: TokenBucketVectors.all)
    func algorithm(_ vector: TokenBucketVectors.Case) throws {
        var bucket = try TokenBucket(configuration: vector.configuration, now: 0)
        for (index, step) in vector.steps.enumerated() {
            let decision = bucket.tryConsume(step.cost, at: step.at)
            expect(decision, matches: step, index: index)
        }
    }

    @Test("the in-memory limiter reproduces every step on a manual clock", arguments: TokenBucketVectors.all.filter(\.monotonicClock))
    func limiter(_ vector: TokenBucketVectors.Case) throws {
        let clock = ManualClock()
        let limiter = try TokenBucketLimiter(configuration: vector.configuration, clock: clock)
        for (index, step) in vector.steps.enumerated() {
            clock.advance(to: NanosecondInstant(nanoseconds: step.at))
            let decision = try limiter.tryAcquire(cost: step.cost)
            expect(decision, matches: step, index: index)
        }
    }

    private func expect(_ decision: RateLimitDecision, matches step: TokenBucketVectors.Case.Step, index: Int) {
        let expected = "allowed=\(step.allowed) remaining=\(step.remaining) retryAfter=\(step.retryAfter) resetAfter=\(step.resetAfter)"
        let actual = "allowed=\(decision.isAllowed) remaining=\(decision.remaining) retryAfter=\(decision.retryAfterNanoseconds) resetAfter=\(decision.resetAfterNanoseconds)"
        #expect(actual == expected, "step \(index) at \(step.at) cost \(step.cost)")
    }
}

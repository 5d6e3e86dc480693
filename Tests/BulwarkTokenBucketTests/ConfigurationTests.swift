import BulwarkTestKit
import BulwarkTokenBucket
import Testing

@Suite("Token bucket configuration")
struct ConfigurationTests {
    struct Invalid: CustomTestStringConvertible, Sendable {
        var configuration: TokenBucket.Configuration
        var field: String
        var rule: String
        var testDescription: String { "\(field): \(rule)" }
    }

    static let invalid: [Invalid] = [
        Invalid(configuration: .init(capacity: 0, every: .seconds(1)), field: "capacity", rule: "must be at least 1"),
        Invalid(configuration: .init(capacity: -5, refill: 1, every: .seconds(1)), field: "capacity", rule: "must be at least 1"),
        Invalid(configuration: .init(capacity: 5, refill: 0, every: .seconds(1)), field: "refillAmount", rule: "must be at least 1"),
        Invalid(configuration: .init(capacity: 5, refill: -1, every: .seconds(1)), field: "refillAmount", rule: "must be at least 1"),
        Invalid(configuration: .init(capacity: 5, every: .zero), field: "refillPeriod", rule: "must be positive"),
        Invalid(configuration: .init(capacity: 5, every: .seconds(-1)), field: "refillPeriod", rule: "must be positive"),
        Invalid(configuration: .init(capacity: 5, every: .nanoseconds(1.5)), field: "refillPeriod", rule: "whole number of nanoseconds"),
        Invalid(configuration: .init(capacity: 5, every: .seconds(Int64.max)), field: "refillPeriod", rule: "below 292 years"),
        Invalid(configuration: .init(capacity: 5, every: .seconds(1), initialTokens: -1), field: "initialTokens", rule: "between 0 and capacity 5"),
        Invalid(configuration: .init(capacity: 5, every: .seconds(1), initialTokens: 6), field: "initialTokens", rule: "between 0 and capacity 5"),
        Invalid(configuration: .init(capacity: Int.max, refill: 1, every: .seconds(1)), field: "capacity", rule: "exact arithmetic"),
        Invalid(configuration: .init(capacity: 1_000_000_000, refill: 1, every: .seconds(3_600)), field: "capacity", rule: "exact arithmetic"),
    ]

    @Test("an invalid configuration throws an error naming the field and the rule", arguments: invalid)
    func invalidConfiguration(_ case: Invalid) {
        let fromBucket = #expect(throws: BulwarkError.self) {
            _ = try TokenBucket(configuration: `case`.configuration, now: 0)
        }
        if case .invalidConfiguration(let field, let rule)? = fromBucket {
            #expect(field == `case`.field)
            #expect(rule.contains(`case`.rule), "\(rule)")
        } else {
            Issue.record("wrong error: \(String(describing: fromBucket))")
        }
        // The limiter refuses it the same way: the very same case, field and rule.
        let fromLimiter = #expect(throws: BulwarkError.self) {
            _ = try TokenBucketRateLimiter(configuration: `case`.configuration, clock: ManualClock())
        }
        #expect(fromLimiter == fromBucket)
    }

    @Test("a negative queue limit is refused")
    func negativeQueueLimit() {
        #expect(throws: BulwarkError.invalidConfiguration(field: "queueLimit", rule: "must be at least 0")) {
            _ = try TokenBucketRateLimiter(capacity: 1, every: .seconds(1), queueLimit: -1, clock: ManualClock())
        }
    }

    @Test("the largest exact configurations are accepted")
    func largeButExact() throws {
        // A million tokens per minute reduces to one unit per nanosecond and 60,000 units per token.
        let limiter = try TokenBucketRateLimiter(capacity: 1_000_000, refill: 1_000_000, every: .seconds(60), clock: ManualClock())
        #expect(limiter.limit == 1_000_000)
        _ = try TokenBucket(configuration: .init(capacity: 1_000_000_000, refill: 1_000_000_000, every: .seconds(1)), now: 0)
        _ = try TokenBucket(configuration: .init(capacity: 1, refill: 1, every: .seconds(86_400 * 365 * 50)), now: 0)
    }

    @Test("a cost below zero or above capacity is refused with an error, not denied")
    func invalidCost() async throws {
        let limiter = try TokenBucketRateLimiter(capacity: 10, every: .seconds(1), clock: ManualClock())
        #expect(throws: BulwarkError.invalidArgument(field: "cost", rule: "must be at most the limit 10 (got 11)")) {
            _ = try limiter.tryAcquire(cost: 11)
        }
        #expect(throws: BulwarkError.invalidArgument(field: "cost", rule: "must be at least 0 (got -1)")) {
            _ = try limiter.tryAcquire(cost: -1)
        }
        await #expect(throws: BulwarkError.invalidArgument(field: "cost", rule: "must be at most the limit 10 (got 11)")) {
            try await limiter.acquire(cost: 11)
        }
        // Nothing was taken.
        #expect(try limiter.tryAcquire(cost: 0).remaining == 10)
    }

    @Test("every error's description names its field and rule")
    func errorDescriptions() {
        #expect(BulwarkError.invalidConfiguration(field: "capacity", rule: "must be at least 1").description
            == "invalid configuration: capacity must be at least 1")
        #expect(BulwarkError.invalidArgument(field: "cost", rule: "must be at least 0").description
            == "invalid argument: cost must be at least 0")
        #expect(BulwarkError.queueFull(limit: 3).description.contains("3 waiters"))
        #expect(BulwarkError.rateLimited(retryAfter: .seconds(2)).description.contains("2"))
        #expect(BulwarkError.waitTimedOut.description.contains("deadline"))
    }
}

import BulwarkTestSupport
import BulwarkTokenBucket
import Testing

/// A random configuration with a rate that rarely divides evenly into nanoseconds.
func randomConfiguration(_ random: inout SplitMix64) -> TokenBucket.Configuration {
    let capacity = Int.random(in: 1 ... 5_000, using: &random)
    let amount = Int.random(in: 1 ... 100_000, using: &random)
    let period = Duration.nanoseconds(Int64.random(in: 1_000 ... 120_000_000_000, using: &random))
    let initial = Int.random(in: 0 ... capacity, using: &random)
    return .init(capacity: capacity, refill: amount, every: period, initialTokens: initial)
}

@Suite("Token bucket exactness")
struct ExactnessTests {
    @Test("long-run admission is exactly initial + rate × elapsed, however irregular the calls", arguments: 1 ... 40)
    func longRunAdmission(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        // Capacity large enough never to be reached: every token produced is admitted.
        let amount = Int64.random(in: 1 ... 1_000, using: &random)
        let period = Int64.random(in: 1 ... 10_000_000_000, using: &random)
        let initial = Int.random(in: 0 ... 1_000, using: &random)
        var bucket = try TokenBucket(
            configuration: .init(capacity: 10_000_000, refill: Int(amount), every: .nanoseconds(period), initialTokens: initial),
            now: 0
        )
        var now: Int64 = 0
        var admitted = 0
        for _ in 0 ..< 2_000 {
            now += Int64.random(in: 0 ... period / 3 + 1, using: &random)
            // Take everything available, in random bites.
            while true {
                let bite = Int.random(in: 1 ... 5, using: &random)
                if bucket.tryConsume(bite, at: now).isAllowed {
                    admitted += bite
                } else if bucket.tryConsume(1, at: now).isAllowed {
                    admitted += 1
                } else {
                    break
                }
            }
            let produced = initial + Int(now * amount / period)
            #expect(admitted == produced, "at \(now) ns")
        }
    }

    @Test("ten hours of 40 per minute admit exactly 40 + 40 × 600 requests")
    func tenHours() throws {
        var bucket = try TokenBucket(configuration: .init(capacity: 40, refill: 40, every: .seconds(60)), now: 0)
        var random = SplitMix64(seed: 7)
        var now: Int64 = 0
        var admitted = 0
        let end: Int64 = 10 * 3_600 * 1_000_000_000
        // Drain the initial burst at once, so the full bucket never discards refill.
        while bucket.tryConsume(1, at: now).isAllowed { admitted += 1 }
        while now < end {
            // Calls arrive at irregular moments, never more than a second apart.
            now = min(end, now + Int64.random(in: 1 ... 1_000_000_000, using: &random))
            while bucket.tryConsume(1, at: now).isAllowed { admitted += 1 }
        }
        #expect(admitted == 40 + 40 * 600)
    }

    @Test("retry-after is exact: waiting that long is enough, one nanosecond less is not", arguments: 1 ... 60)
    func retryAfterIsExact(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let configuration = randomConfiguration(&random)
        var bucket = try TokenBucket(configuration: configuration, now: 0)
        var now: Int64 = 0
        var checked = 0
        for _ in 0 ..< 300 {
            now += Int64.random(in: 0 ... 50_000_000, using: &random)
            let cost = Int.random(in: 1 ... configuration.capacity, using: &random)
            let decision = bucket.tryConsume(cost, at: now)
            guard !decision.isAllowed else { continue }
            checked += 1
            let wait = decision.retryAfterNanoseconds
            #expect(wait > 0)
            var tooEarly = bucket
            #expect(!tooEarly.tryConsume(cost, at: now + wait - 1).isAllowed)
            var onTime = bucket
            #expect(onTime.tryConsume(cost, at: now + wait).isAllowed)
        }
        #expect(checked > 0)
    }

    @Test("reset-after is exact: the bucket is full then, and not one nanosecond earlier", arguments: 1 ... 30)
    func resetAfterIsExact(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let configuration = randomConfiguration(&random)
        var bucket = try TokenBucket(configuration: configuration, now: 0)
        var now: Int64 = 0
        for _ in 0 ..< 200 {
            now += Int64.random(in: 0 ... 50_000_000, using: &random)
            let decision = bucket.tryConsume(Int.random(in: 0 ... configuration.capacity, using: &random), at: now)
            let reset = decision.resetAfterNanoseconds
            #expect(bucket.tokens(at: now + reset) == configuration.capacity)
            if reset > 0 {
                // One nanosecond earlier the bucket still lacks a fraction of a token.
                #expect(bucket.nanosecondsUntilAvailable(configuration.capacity, at: now + reset - 1) == 1)
            }
        }
    }

    @Test("a cost of zero is a probe: allowed, takes nothing")
    func zeroCostProbe() throws {
        var bucket = try TokenBucket(configuration: .init(capacity: 5, refill: 1, every: .seconds(1), initialTokens: 0), now: 0)
        let probe = bucket.tryConsume(0, at: 0)
        #expect(probe.isAllowed && probe.remaining == 0 && probe.retryAfter == .zero)
        #expect(probe.resetAfter == .seconds(5))
        #expect(bucket.tokens(at: 2_000_000_000) == 2)
    }

    @Test("a clock reading earlier than the last one refills nothing and keeps retry-after exact")
    func clockGoingBackwards() throws {
        var bucket = try TokenBucket(configuration: .init(capacity: 2, refill: 1, every: .seconds(1), initialTokens: 0), now: 0)
        #expect(bucket.tryConsume(1, at: 1_000_000_000).isAllowed)
        let late = bucket.tryConsume(1, at: 400_000_000)
        #expect(!late.isAllowed)
        // From the late caller's point of view: 600 ms until the bucket's "now", then 1 s.
        #expect(late.retryAfter == .milliseconds(1_600))
        #expect(bucket.tryConsume(1, at: 2_000_000_000).isAllowed)
    }

    @Test("the decision's header figures")
    func headerFigures() throws {
        var bucket = try TokenBucket(configuration: .init(capacity: 40, refill: 40, every: .seconds(60)), now: 0)
        for _ in 0 ..< 40 { _ = bucket.tryConsume(1, at: 0) }
        let denied = bucket.tryConsume(1, at: 0)
        #expect(denied.limit == 40)
        #expect(denied.remaining == 0)
        #expect(denied.retryAfter == .milliseconds(1_500))
        #expect(denied.retryAfterSeconds == 2)  // rounded up for Retry-After
        #expect(denied.resetAfter == .seconds(60))
        #expect(denied.description == "denied remaining=0/40 retryAfter=1500000000ns resetAfter=60000000000ns")
    }
}

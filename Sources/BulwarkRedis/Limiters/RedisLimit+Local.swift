public import BulwarkCore
import BulwarkFixedWindow
import BulwarkGCRA
import BulwarkLeakyBucket
import BulwarkSlidingWindow
import BulwarkTokenBucket

extension RedisLimit {
    /// The same algorithm in memory, holding `share` of this limit (capacities, limits and rates
    /// multiplied by `share`, rounded down, at least 1): a node's part of the limit while Redis is
    /// away (``RedisFailurePolicy/localShare(_:)``).
    ///
    /// - Throws: ``BulwarkError/invalidConfiguration(field:rule:)`` for a share outside `(0, 1]`.
    public func localLimiter(share: Double, clock: some NanosecondClock = ContinuousClock()) throws(BulwarkError)
        -> any RateLimiter
    {
        guard share > 0, share <= 1 else {
            throw .invalidConfiguration(field: "share", rule: "must be in (0, 1], got \(share)")
        }
        let numbers = arguments.map { Int($0) ?? 0 }
        func part(_ value: Int) -> Int { max(1, Int((Double(value) * share).rounded(.down))) }
        func span(_ nanoseconds: Int) -> Duration { .nanoseconds(Int64(nanoseconds)) }
        switch module {
        case "tokenBucket":
            // A meter runs as a token bucket here too: its level is the tokens missing.
            return try TokenBucketLimiter(
                capacity: part(numbers[0]), refill: part(numbers[1]), every: span(numbers[2]),
                initialTokens: min(part(numbers[0]), Int((Double(numbers[3]) * share).rounded(.down))), clock: clock
            )
        case "gcra":
            return try GCRALimiter(rate: part(numbers[0]), per: span(numbers[1]), burst: part(numbers[2]), clock: clock)
        case "leakyBucketShaper":
            return try LeakyBucketShaperLimiter(rate: part(numbers[0]), per: span(numbers[1]), maximumCost: numbers[2], clock: clock)
        case "fixedWindow":
            return try FixedWindowLimiter(
                limit: part(numbers[0]), window: span(numbers[1]), epochNanoseconds: Int64(numbers[2]), clock: clock
            )
        case "slidingWindowLog":
            return try SlidingWindowLogLimiter(limit: part(numbers[0]), window: span(numbers[1]), clock: clock)
        case "slidingWindowCounter":
            return try SlidingWindowCounterLimiter(
                limit: part(numbers[0]), window: span(numbers[1]), epochNanoseconds: Int64(numbers[2]), clock: clock
            )
        default:
            return try SegmentedWindowLimiter(
                limit: part(numbers[0]), window: span(numbers[1]), segments: numbers[2], epochNanoseconds: Int64(numbers[3]),
                clock: clock
            )
        }
    }
}

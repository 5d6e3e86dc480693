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
    /// Windows (fixed, counter, segmented) start where the script's do on the clock `timeSource`
    /// names: with ``RedisTimeSource/limiterClock`` at `clock`'s readings `epoch + k × window`,
    /// exactly the script's boundaries; with ``RedisTimeSource/redis`` at the readings where this
    /// machine's real-time clock, read once now, shows `epoch + k × window` nanoseconds after the
    /// Unix epoch, Redis' `TIME` boundaries to within the skew between this machine's clock and
    /// Redis' (the real boundaries need a round trip to Redis, which is away).
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for a share outside `(0, 1]`.
    public func localLimiter(
        share: Double, clock: some NanosecondClock = ContinuousClock(), timeSource: RedisTimeSource = .limiterClock
    ) throws(BulwarkError) -> any RateLimiter {
        let offset = timeSource == .redis ? RedisTimeSource.unixNanoseconds() &- clock.nowNanoseconds : 0
        return try localLimiter(share: share, clock: clock, scriptTimeOffset: offset)
    }

    /// ``localLimiter(share:clock:timeSource:)`` for a script clock that reads `clock`'s reading
    /// plus `offset` nanoseconds: window epochs are moved by `−offset`.
    func localLimiter(share: Double, clock: some NanosecondClock, scriptTimeOffset offset: Int64) throws(BulwarkError)
        -> any RateLimiter
    {
        guard share > 0, share <= 1 else {
            throw .invalidConfiguration(field: "share", rule: "must be in (0, 1], got \(share)")
        }
        // The epoch argument at `index` (in `0 ..< length`, as the factories reduce it) moved onto
        // `clock`'s readings, reduced modulo `length` again.
        func epoch(_ index: Int, modulo length: Int64) -> Int64 {
            ((Int64(arguments[index]) ?? 0).modulo(length) - offset.modulo(length)).modulo(length)
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
                limit: part(numbers[0]), window: span(numbers[1]), epochNanoseconds: epoch(2, modulo: Int64(numbers[1])),
                clock: clock
            )
        case "slidingWindowLog":
            return try SlidingWindowLogLimiter(limit: part(numbers[0]), window: span(numbers[1]), clock: clock)
        case "slidingWindowCounter":
            return try SlidingWindowCounterLimiter(
                limit: part(numbers[0]), window: span(numbers[1]), epochNanoseconds: epoch(2, modulo: Int64(numbers[1])),
                clock: clock
            )
        default:
            return try SegmentedWindowLimiter(
                limit: part(numbers[0]), window: span(numbers[1]), segments: numbers[2],
                epochNanoseconds: epoch(3, modulo: Int64(numbers[1] / numbers[2])), clock: clock
            )
        }
    }
}

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
        // A window's epoch as the script reads it (0 when `nil`), moved onto `clock`'s readings,
        // reduced modulo `length`.
        func epoch(_ epoch: Int64?, modulo length: Int64) -> Int64 {
            ((epoch ?? 0).modulo(length) - offset.modulo(length)).modulo(length)
        }
        func part(_ value: Int) -> Int { max(1, Int((Double(value) * share).rounded(.down))) }
        switch algorithm {
        case .tokenBucket(let c):
            return try TokenBucketRateLimiter(
                capacity: part(c.capacity), refill: part(c.refillAmount), every: c.refillPeriod,
                initialTokens: min(part(c.capacity), Int((Double(c.initialTokens ?? c.capacity) * share).rounded(.down))),
                clock: clock
            )
        case .leakyBucketMeter(let c):
            // A meter runs as a token bucket here too, as in Redis: its level is the tokens missing.
            let tokens = c.capacity - (c.initialLevel ?? 0)
            return try TokenBucketRateLimiter(
                capacity: part(c.capacity), refill: part(c.drainAmount), every: c.drainPeriod,
                initialTokens: min(part(c.capacity), Int((Double(tokens) * share).rounded(.down))), clock: clock
            )
        case .gcra(let c):
            return try GCRARateLimiter(rate: part(c.rate), per: c.period, burst: part(c.burst), clock: clock)
        case .leakyBucketShaper(let c):
            return try LeakyBucketShaperRateLimiter(rate: part(c.rate), per: c.period, maximumCost: c.maximumCost, clock: clock)
        case .fixedWindow(let c):
            return try FixedWindowRateLimiter(
                limit: part(c.limit), window: c.window,
                epochNanoseconds: epoch(c.epochNanoseconds, modulo: c.window.saturatingNanoseconds), clock: clock
            )
        case .slidingWindowLog(let c):
            return try SlidingWindowLogRateLimiter(limit: part(c.limit), window: c.window, clock: clock)
        case .slidingWindowCounter(let c):
            return try SlidingWindowCounterRateLimiter(
                limit: part(c.limit), window: c.window,
                epochNanoseconds: epoch(c.epochNanoseconds, modulo: c.window.saturatingNanoseconds), clock: clock
            )
        case .segmentedWindow(let c):
            return try SegmentedWindowRateLimiter(
                limit: part(c.limit), window: c.window, segments: c.segments,
                epochNanoseconds: epoch(c.epochNanoseconds, modulo: c.window.saturatingNanoseconds / Int64(c.segments)),
                clock: clock
            )
        }
    }
}

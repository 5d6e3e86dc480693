public import BulwarkCore

/// Which algorithm a ``RedisRateLimiter`` runs in Redis, with its configuration: the same
/// algorithms and the same figures as the in-memory limiters (`Tests/Vectors` checks both).
///
/// Lua numbers are doubles, exact integers only below 2^53, so each configuration is checked
/// against its script's bound (stated on each factory) and refused with
/// `BulwarkError/invalidConfiguration(field:rule:)` when the script could not be exact.
public struct RedisLimit: Sendable, Hashable {
    /// The script module's name (its Lua table).
    let module: String
    /// The configuration as the script reads it, from its `ARGV[7]` on (see ``RedisRateLimiter/script``).
    public let arguments: [String]
    /// The most the limit can admit at once.
    public let limit: Int

    /// The largest magnitude every script keeps its values under (2^51), leaving room below 2^53
    /// for the times the values are added to.
    static let bound: Int64 = 1 << 51

    /// Refuses `value` (`nil`: beyond `Int64`) unless it is in `1 ... bound`, naming `field`.
    private static func check(_ value: Int64?, within bound: Int64 = bound, field: String, formula: String) throws(BulwarkError) {
        guard let value, value > 0, value <= bound else {
            let got = value.map { "\($0)" } ?? "more than \(Int64.max)"
            throw .invalidConfiguration(field: field, rule: "\(formula) must be at most \(bound) for exact Lua arithmetic, got \(got)")
        }
    }

    /// `a × b`, or `nil` when it overflows `Int64`.
    private static func product(_ a: Int64, _ b: Int64) -> Int64? {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : value
    }

    /// `a + b` (`nil` when `a` is), or `nil` when it overflows `Int64`.
    private static func sum(_ a: Int64?, _ b: Int64) -> Int64? {
        guard let a else { return nil }
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : value
    }

    private static func nanoseconds(_ duration: Duration, field: String) throws(BulwarkError) -> Int64 {
        try Validation.positiveNanoseconds(duration, field: field)
    }

    /// A token bucket of `capacity`, refilled by `refill` tokens every `every` (continuously).
    /// Exact when `capacity × P′ ≤ 2^51`, `P′` the period in nanoseconds divided by
    /// `gcd(refill, period)`.
    public static func tokenBucket(capacity: Int, refill: Int? = nil, every period: Duration, initialTokens: Int? = nil)
        throws(BulwarkError) -> RedisLimit
    {
        let capacity = try Validation.limit(capacity, field: "capacity")
        let refill = try Validation.atLeast(1, refill ?? capacity, field: "refill")
        let p = try nanoseconds(period, field: "every")
        let initial = initialTokens ?? capacity
        guard (0...capacity).contains(initial) else {
            throw .invalidConfiguration(field: "initialTokens", rule: "must be in 0...capacity, got \(initial)")
        }
        let reduced = p / greatestCommonDivisor(Int64(refill), p)
        try check(product(Int64(capacity), reduced), field: "capacity", formula: "capacity × period / gcd(refill, period)")
        return RedisLimit(module: "tokenBucket", arguments: [capacity, refill, p, initial].map { "\($0)" }, limit: capacity)
    }

    /// GCRA: `rate` per `period` with bursts of `burst`. Exact when `2 × burst × P′ + R′ ≤ 2^52`
    /// (`P′`, `R′` the period and rate divided by their gcd).
    public static func gcra(rate: Int, per period: Duration, burst: Int) throws(BulwarkError) -> RedisLimit {
        let rate = try Validation.atLeast(1, rate, field: "rate")
        let burst = try Validation.limit(burst, field: "burst")
        let p = try nanoseconds(period, field: "per")
        let g = greatestCommonDivisor(Int64(rate), p)
        try check(sum(product(2 * Int64(burst), p / g), Int64(rate) / g), within: 2 * bound, field: "burst", formula: "2 × burst × P′ + R′")
        return RedisLimit(module: "gcra", arguments: [rate, Int(p), burst].map { "\($0)" }, limit: burst)
    }

    /// A fixed window of `limit` per `window`, windows starting at `epoch` (nanoseconds on Redis'
    /// clock, the Unix epoch by default). Exact when `window ≤ 2^52` ns and `limit ≤ 2^51`.
    public static func fixedWindow(limit: Int, window: Duration, epoch: Int64 = 0) throws(BulwarkError) -> RedisLimit {
        let limit = try Validation.limit(limit, field: "limit")
        let w = try nanoseconds(window, field: "window")
        try check(w, within: 2 * bound, field: "window", formula: "the window in nanoseconds")
        try check(Int64(limit), field: "limit", formula: "limit")
        return RedisLimit(module: "fixedWindow", arguments: ["\(limit)", "\(w)", "\(epoch.modulo(w))"], limit: limit)
    }

    /// A sliding log: at most `limit` within any `window`, exact. Each admission time is stored
    /// (about 20 bytes each, at most `2 × limit` entries). Exact when `window, limit ≤ 2^51`.
    public static func slidingWindowLog(limit: Int, window: Duration) throws(BulwarkError) -> RedisLimit {
        let limit = try Validation.limit(limit, field: "limit")
        let w = try nanoseconds(window, field: "window")
        try check(w, field: "window", formula: "the window in nanoseconds")
        try check(Int64(limit), field: "limit", formula: "limit")
        return RedisLimit(module: "slidingWindowLog", arguments: ["\(limit)", "\(w)"], limit: limit)
    }

    /// Cloudflare's sliding-window counter: the previous window weighted by its overlap. Exact when
    /// `limit × window < 2^53` and each is at most 2^51.
    public static func slidingWindowCounter(limit: Int, window: Duration, epoch: Int64 = 0) throws(BulwarkError)
        -> RedisLimit
    {
        let limit = try Validation.limit(limit, field: "limit")
        let w = try nanoseconds(window, field: "window")
        try check(w, field: "window", formula: "the window in nanoseconds")
        try check(product(Int64(limit), w), within: 4 * bound - 1, field: "limit", formula: "limit × window")
        return RedisLimit(
            module: "slidingWindowCounter", arguments: ["\(limit)", "\(w)", "\(epoch.modulo(w))"], limit: limit
        )
    }

    /// A window of `segments` segments: exact to a segment. Exact when `window, limit ≤ 2^51`;
    /// `window` must divide into whole nanosecond segments, at most 4,096.
    public static func segmentedWindow(limit: Int, window: Duration, segments: Int, epoch: Int64 = 0)
        throws(BulwarkError) -> RedisLimit
    {
        let limit = try Validation.limit(limit, field: "limit")
        let w = try nanoseconds(window, field: "window")
        guard (1...4096).contains(segments) else {
            throw .invalidConfiguration(field: "segments", rule: "must be in 1...4096, got \(segments)")
        }
        guard w % Int64(segments) == 0 else {
            throw .invalidConfiguration(field: "segments", rule: "must divide the window into whole nanoseconds")
        }
        try check(w, field: "window", formula: "the window in nanoseconds")
        try check(Int64(limit), field: "limit", formula: "limit")
        let s = w / Int64(segments)
        return RedisLimit(
            module: "segmentedWindow", arguments: ["\(limit)", "\(w)", "\(segments)", "\(epoch.modulo(s))"], limit: limit
        )
    }

    /// A leaky bucket as a meter: `capacity`, draining `drain` every `every`. A meter is a token
    /// bucket seen from the other side (its level is the tokens missing), exactly as in memory, so
    /// it runs the token bucket's script with `initialTokens = capacity − initialLevel`. Exact when
    /// `capacity × P′ ≤ 2^51`.
    public static func leakyBucketMeter(capacity: Int, drain: Int, every period: Duration, initialLevel: Int = 0)
        throws(BulwarkError) -> RedisLimit
    {
        let capacity = try Validation.limit(capacity, field: "capacity")
        guard (0...capacity).contains(initialLevel) else {
            throw .invalidConfiguration(field: "initialLevel", rule: "must be in 0...capacity, got \(initialLevel)")
        }
        return try tokenBucket(capacity: capacity, refill: drain, every: period, initialTokens: capacity - initialLevel)
    }

    /// A leaky bucket as a shaper: `rate` per `period` with no burst, costs up to `maximumCost`.
    /// Exact when `2 × maximumCost × P′ + R′ ≤ 2^52`.
    public static func leakyBucketShaper(rate: Int, per period: Duration, maximumCost: Int = 1) throws(BulwarkError)
        -> RedisLimit
    {
        let rate = try Validation.atLeast(1, rate, field: "rate")
        let maximumCost = try Validation.limit(maximumCost, field: "maximumCost")
        let p = try nanoseconds(period, field: "per")
        let g = greatestCommonDivisor(Int64(rate), p)
        try check(sum(product(2 * Int64(maximumCost), p / g), Int64(rate) / g), within: 2 * bound, field: "maximumCost",
                  formula: "2 × maximumCost × P′ + R′")
        return RedisLimit(
            module: "leakyBucketShaper", arguments: [rate, Int(p), maximumCost].map { "\($0)" }, limit: maximumCost
        )
    }
}

extension Int64 {
    /// The remainder of floor division: in `0..<divisor` for a positive divisor.
    func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}

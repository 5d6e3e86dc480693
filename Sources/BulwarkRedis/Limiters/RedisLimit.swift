public import BulwarkCore
public import BulwarkFixedWindow
public import BulwarkGCRA
public import BulwarkLeakyBucket
public import BulwarkSlidingWindow
public import BulwarkTokenBucket

/// Which algorithm a ``RedisRateLimiter`` runs in Redis, with its configuration: the same
/// configuration types, algorithms and figures as the in-memory limiters (`Tests/Vectors` checks
/// both), so one configuration runs in memory or on Redis:
///
///     let rpm = TokenBucket.Configuration(capacity: 500, every: .minutes(1))
///     let local = try TokenBucketRateLimiter(configuration: rpm)
///     let shared = try RedisRateLimiter(client: redis, key: "rpm", limit: RedisLimit(.tokenBucket(rpm)))
///
/// Lua numbers are doubles, exact integers only below 2^53, so each configuration is checked
/// against its script's bound (stated on each case) and refused with
/// `BulwarkError/invalidConfiguration(field:rule:)` when the script could not be exact.
///
/// One difference from memory: a window's `epochNanoseconds` of `nil` means the creation time in
/// memory, but 0 in Redis (windows aligned to the Unix epoch, or to the limiter clock's zero), since
/// every process sharing the key must agree on where windows start.
public struct RedisLimit: Sendable, Hashable {
    /// An algorithm and its configuration.
    public enum Algorithm: Sendable, Hashable {
        /// A token bucket. Exact when `capacity × P′ ≤ 2^51`, `P′` the refill period in
        /// nanoseconds divided by `gcd(refillAmount, period)`.
        case tokenBucket(TokenBucket.Configuration)
        /// GCRA. Exact when `2 × burst × P′ + R′ ≤ 2^52` (`P′`, `R′` the period and rate divided by
        /// their gcd).
        case gcra(GCRA.Configuration)
        /// A fixed window. Exact when `window ≤ 2^52` ns and `limit ≤ 2^51`.
        case fixedWindow(FixedWindow.Configuration)
        /// A sliding log: at most `limit` within any `window`, exact. Each admission time is stored
        /// (about 20 bytes each, at most `2 × limit` entries). Exact when `window, limit ≤ 2^51`.
        case slidingWindowLog(SlidingWindowLog.Configuration)
        /// Cloudflare's sliding-window counter. Exact when `limit × window < 2^53` and each is at
        /// most 2^51.
        case slidingWindowCounter(SlidingWindowCounter.Configuration)
        /// A window of segments, exact to a segment. Exact when `window, limit ≤ 2^51`; at most
        /// 4,096 segments, each a whole number of nanoseconds.
        case segmentedWindow(SegmentedWindow.Configuration)
        /// A leaky bucket as a meter: a token bucket seen from the other side (its level is the
        /// tokens missing), exactly as in memory, so it runs the token bucket's script with
        /// `initialTokens = capacity − initialLevel`. Exact when `capacity × P′ ≤ 2^51`.
        case leakyBucketMeter(LeakyBucketMeter.Configuration)
        /// A leaky bucket as a shaper: no burst, costs up to `maximumCost`. Exact when
        /// `2 × maximumCost × P′ + R′ ≤ 2^52`.
        case leakyBucketShaper(LeakyBucketShaper.Configuration)
    }

    /// The algorithm and its configuration, as given.
    public let algorithm: Algorithm
    /// The script module's name (its Lua table).
    package let module: String
    /// The configuration as the script reads it, from its `ARGV[7]` on (see ``RedisRateLimiter/script``).
    public let arguments: [String]
    /// The most the limit can admit at once.
    public let limit: Int

    /// Checks `algorithm` against its script's bounds.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the bound.
    public init(_ algorithm: Algorithm) throws(BulwarkError) {
        self.algorithm = algorithm
        (module, arguments, limit) = try Self.script(for: algorithm)
    }

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

    /// The module, its arguments and the limit, once `algorithm` is checked.
    private static func script(for algorithm: Algorithm) throws(BulwarkError) -> (String, [String], Int) {
        switch algorithm {
        case .tokenBucket(let c):
            let capacity = try Validation.limit(c.capacity, field: "capacity")
            let refill = try Validation.atLeast(1, c.refillAmount, field: "refill")
            let p = try nanoseconds(c.refillPeriod, field: "every")
            let initial = c.initialTokens ?? capacity
            guard (0...capacity).contains(initial) else {
                throw .invalidConfiguration(field: "initialTokens", rule: "must be in 0...capacity, got \(initial)")
            }
            let reduced = p / greatestCommonDivisor(Int64(refill), p)
            try check(product(Int64(capacity), reduced), field: "capacity", formula: "capacity × period / gcd(refill, period)")
            return ("tokenBucket", [capacity, refill, Int(p), initial].map { "\($0)" }, capacity)
        case .gcra(let c):
            let rate = try Validation.atLeast(1, c.rate, field: "rate")
            let burst = try Validation.limit(c.burst, field: "burst")
            let p = try nanoseconds(c.period, field: "per")
            let g = greatestCommonDivisor(Int64(rate), p)
            try check(sum(product(2 * Int64(burst), p / g), Int64(rate) / g), within: 2 * bound, field: "burst", formula: "2 × burst × P′ + R′")
            return ("gcra", [rate, Int(p), burst].map { "\($0)" }, burst)
        case .fixedWindow(let c):
            let limit = try Validation.limit(c.limit, field: "limit")
            let w = try nanoseconds(c.window, field: "window")
            try check(w, within: 2 * bound, field: "window", formula: "the window in nanoseconds")
            try check(Int64(limit), field: "limit", formula: "limit")
            return ("fixedWindow", ["\(limit)", "\(w)", "\((c.epochNanoseconds ?? 0).modulo(w))"], limit)
        case .slidingWindowLog(let c):
            let limit = try Validation.limit(c.limit, field: "limit")
            let w = try nanoseconds(c.window, field: "window")
            try check(w, field: "window", formula: "the window in nanoseconds")
            try check(Int64(limit), field: "limit", formula: "limit")
            return ("slidingWindowLog", ["\(limit)", "\(w)"], limit)
        case .slidingWindowCounter(let c):
            let limit = try Validation.limit(c.limit, field: "limit")
            let w = try nanoseconds(c.window, field: "window")
            try check(w, field: "window", formula: "the window in nanoseconds")
            try check(product(Int64(limit), w), within: 4 * bound - 1, field: "limit", formula: "limit × window")
            return ("slidingWindowCounter", ["\(limit)", "\(w)", "\((c.epochNanoseconds ?? 0).modulo(w))"], limit)
        case .segmentedWindow(let c):
            let limit = try Validation.limit(c.limit, field: "limit")
            let w = try nanoseconds(c.window, field: "window")
            guard (1...4096).contains(c.segments) else {
                throw .invalidConfiguration(field: "segments", rule: "must be in 1...4096, got \(c.segments)")
            }
            guard w % Int64(c.segments) == 0 else {
                throw .invalidConfiguration(field: "segments", rule: "must divide the window into whole nanoseconds")
            }
            try check(w, field: "window", formula: "the window in nanoseconds")
            try check(Int64(limit), field: "limit", formula: "limit")
            let s = w / Int64(c.segments)
            return ("segmentedWindow", ["\(limit)", "\(w)", "\(c.segments)", "\((c.epochNanoseconds ?? 0).modulo(s))"], limit)
        case .leakyBucketMeter(let c):
            let capacity = try Validation.limit(c.capacity, field: "capacity")
            let level = c.initialLevel ?? 0
            guard (0...capacity).contains(level) else {
                throw .invalidConfiguration(field: "initialLevel", rule: "must be in 0...capacity, got \(level)")
            }
            return try script(for: .tokenBucket(.init(
                capacity: capacity, refill: c.drainAmount, every: c.drainPeriod, initialTokens: capacity - level
            )))
        case .leakyBucketShaper(let c):
            let rate = try Validation.atLeast(1, c.rate, field: "rate")
            let maximumCost = try Validation.limit(c.maximumCost, field: "maximumCost")
            let p = try nanoseconds(c.period, field: "per")
            let g = greatestCommonDivisor(Int64(rate), p)
            try check(sum(product(2 * Int64(maximumCost), p / g), Int64(rate) / g), within: 2 * bound, field: "maximumCost",
                      formula: "2 × maximumCost × P′ + R′")
            return ("leakyBucketShaper", [rate, Int(p), maximumCost].map { "\($0)" }, maximumCost)
        }
    }

    /// A token bucket of `capacity`, refilled by `refill` tokens every `every` (continuously):
    /// `RedisLimit(.tokenBucket(…))` spelled out.
    public static func tokenBucket(capacity: Int, refill: Int? = nil, every period: Duration, initialTokens: Int? = nil)
        throws(BulwarkError) -> RedisLimit
    {
        try RedisLimit(.tokenBucket(.init(capacity: capacity, refill: refill, every: period, initialTokens: initialTokens)))
    }

    /// GCRA: `rate` per `period` with bursts of `burst`: `RedisLimit(.gcra(…))` spelled out.
    public static func gcra(rate: Int, per period: Duration, burst: Int) throws(BulwarkError) -> RedisLimit {
        try RedisLimit(.gcra(.init(rate: rate, per: period, burst: burst)))
    }

    /// A fixed window of `limit` per `window`, windows starting at `epoch` (nanoseconds on the
    /// script's clock, 0 by default): `RedisLimit(.fixedWindow(…))` spelled out.
    public static func fixedWindow(limit: Int, window: Duration, epoch: Int64 = 0) throws(BulwarkError) -> RedisLimit {
        try RedisLimit(.fixedWindow(.init(limit: limit, window: window, epochNanoseconds: epoch)))
    }

    /// A sliding log of `limit` within any `window`: `RedisLimit(.slidingWindowLog(…))` spelled out.
    public static func slidingWindowLog(limit: Int, window: Duration) throws(BulwarkError) -> RedisLimit {
        try RedisLimit(.slidingWindowLog(.init(limit: limit, window: window)))
    }

    /// A sliding-window counter: `RedisLimit(.slidingWindowCounter(…))` spelled out.
    public static func slidingWindowCounter(limit: Int, window: Duration, epoch: Int64 = 0) throws(BulwarkError)
        -> RedisLimit
    {
        try RedisLimit(.slidingWindowCounter(.init(limit: limit, window: window, epochNanoseconds: epoch)))
    }

    /// A window of `segments` segments: `RedisLimit(.segmentedWindow(…))` spelled out.
    public static func segmentedWindow(limit: Int, window: Duration, segments: Int, epoch: Int64 = 0)
        throws(BulwarkError) -> RedisLimit
    {
        try RedisLimit(.segmentedWindow(.init(limit: limit, window: window, segments: segments, epochNanoseconds: epoch)))
    }

    /// A leaky bucket as a meter: `RedisLimit(.leakyBucketMeter(…))` spelled out.
    public static func leakyBucketMeter(capacity: Int, drain: Int, every period: Duration, initialLevel: Int = 0)
        throws(BulwarkError) -> RedisLimit
    {
        try RedisLimit(.leakyBucketMeter(.init(capacity: capacity, drain: drain, every: period, initialLevel: initialLevel)))
    }

    /// A leaky bucket as a shaper: `RedisLimit(.leakyBucketShaper(…))` spelled out.
    public static func leakyBucketShaper(rate: Int, per period: Duration, maximumCost: Int = 1) throws(BulwarkError)
        -> RedisLimit
    {
        try RedisLimit(.leakyBucketShaper(.init(rate: rate, per: period, maximumCost: maximumCost)))
    }
}

extension Int64 {
    /// The remainder of floor division: in `0..<divisor` for a positive divisor.
    func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}

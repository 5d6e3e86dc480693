// The names this module's types had before they were renamed to say what they are (the rules:
// docs/Architecture.md, "Names"). Each still compiles, with a deprecation warning that names its
// replacement.
public import BulwarkCore

/// The former name of `LeakyBucketMeterRateLimiter`.
@available(*, deprecated, renamed: "LeakyBucketMeterRateLimiter")
public typealias LeakyBucketMeterLimiter<C: NanosecondClock> = LeakyBucketMeterRateLimiter<C>

/// The former name of `LeakyBucketShaperRateLimiter`.
@available(*, deprecated, renamed: "LeakyBucketShaperRateLimiter")
public typealias LeakyBucketShaperLimiter<C: NanosecondClock> = LeakyBucketShaperRateLimiter<C>

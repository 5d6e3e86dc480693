// The names this module's types had before they were renamed to say what they are (the rules:
// docs/Architecture.md, "Names"). Each still compiles, with a deprecation warning that names its
// replacement.
public import BulwarkCore

/// The former name of `SlidingWindowLogRateLimiter`.
@available(*, deprecated, renamed: "SlidingWindowLogRateLimiter")
public typealias SlidingWindowLogLimiter<C: NanosecondClock> = SlidingWindowLogRateLimiter<C>

/// The former name of `SlidingWindowCounterRateLimiter`.
@available(*, deprecated, renamed: "SlidingWindowCounterRateLimiter")
public typealias SlidingWindowCounterLimiter<C: NanosecondClock> = SlidingWindowCounterRateLimiter<C>

/// The former name of `SegmentedWindowRateLimiter`.
@available(*, deprecated, renamed: "SegmentedWindowRateLimiter")
public typealias SegmentedWindowLimiter<C: NanosecondClock> = SegmentedWindowRateLimiter<C>

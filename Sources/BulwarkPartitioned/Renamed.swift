// The names this module's types had before they were renamed to say what they are (the rules:
// docs/Architecture.md, "Names"). Each still compiles, with a deprecation warning that names its
// replacement.
public import BulwarkCore
public import BulwarkEngine

/// The former name of `HotParameterRateLimiter`.
@available(*, deprecated, renamed: "HotParameterRateLimiter")
public typealias HotParameterLimiter<Key: Hashable & Sendable, Algorithm: RateLimitAlgorithm, C: NanosecondClock> = HotParameterRateLimiter<Key, Algorithm, C>

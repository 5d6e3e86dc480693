// The names this module's types had before they were renamed to say what they are (the rules:
// docs/Architecture.md, "Names"). Each still compiles, with a deprecation warning that names its
// replacement.
import BulwarkCore

/// The former name of `RedisLeasedRateLimiter`.
@available(*, deprecated, renamed: "RedisLeasedRateLimiter")
public typealias RedisLeasedLimiter = RedisLeasedRateLimiter

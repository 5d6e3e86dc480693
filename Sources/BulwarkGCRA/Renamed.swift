// The names this module's types had before they were renamed to say what they are (the rules:
// docs/Architecture.md, "Names"). Each still compiles, with a deprecation warning that names its
// replacement.
public import BulwarkCore

/// The former name of `GCRARateLimiter`.
@available(*, deprecated, renamed: "GCRARateLimiter")
public typealias GCRALimiter<C: NanosecondClock> = GCRARateLimiter<C>

/// The former name of `LockFreeGCRARateLimiter`.
@available(*, deprecated, renamed: "LockFreeGCRARateLimiter")
public typealias LockFreeGCRALimiter<C: NanosecondClock> = LockFreeGCRARateLimiter<C>

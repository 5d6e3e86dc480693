/// A rate limiter's answer: allowed or not, and the figures a caller or an HTTP response needs.
///
/// The figures map onto the headers clients already parse: ``limit`` and ``remaining`` onto
/// `RateLimit-Limit`/`RateLimit-Remaining` and `x-ratelimit-limit-*`/`x-ratelimit-remaining-*`,
/// ``retryAfter`` onto `Retry-After` of a 429, ``resetAfter`` onto `RateLimit-Reset` and
/// `x-ratelimit-reset-*`.
///
///     let decision = try limiter.tryAcquire(cost: 1)
///     if !decision.isAllowed {
///         response.status = .tooManyRequests
///         response.headers["Retry-After"] = "\(decision.retryAfterSeconds)"
///     }
///
/// Both durations are exact: after waiting ``retryAfter`` the same request is allowed (unless
/// someone else took the capacity meanwhile), and one nanosecond less is not enough. The value is
/// computed lazily: a decision stores a few integers and divides only when a figure is read, so
/// making one on the fast path costs nothing.
public struct RateLimitDecision: Sendable, Hashable, CustomStringConvertible {
    /// Whether the request was admitted (and its cost taken).
    public let isAllowed: Bool

    /// The most the limiter can admit at once: a bucket's capacity, a window's limit.
    public let limit: Int

    // What remains, as a fixed-point number: `remainingUnits / unitsPerPermit` permits.
    @usableFromInline let remainingUnits: Int64
    @usableFromInline let unitsPerPermit: Int64
    // Until full again: `resetBaseNanoseconds + ⌈missingUnits / unitsPerNanosecond⌉`.
    @usableFromInline let missingUnits: Int64
    @usableFromInline let unitsPerNanosecond: Int64
    @usableFromInline let resetBaseNanoseconds: Int64
    /// Nanoseconds until the request would be admitted; zero when allowed.
    public let retryAfterNanoseconds: Int64

    /// Creates a decision from the limiter's fixed-point state.
    ///
    /// - Parameters:
    ///   - isAllowed: Whether the request was admitted.
    ///   - limit: The limiter's capacity.
    ///   - remainingUnits: What remains, in units of `1 / unitsPerPermit` permit.
    ///   - unitsPerPermit: How many units make one permit (at least 1).
    ///   - missingUnits: How many units the limiter lacks to be full again.
    ///   - unitsPerNanosecond: How many units the limiter regains per nanosecond (at least 1).
    ///   - resetBaseNanoseconds: A delay to add to the reset time (the state's time minus the
    ///     caller's, when the caller's clock reading was behind the state's).
    ///   - retryAfterNanoseconds: Nanoseconds until the request would be admitted; 0 if allowed.
    @inlinable
    public init(
        isAllowed: Bool,
        limit: Int,
        remainingUnits: Int64,
        unitsPerPermit: Int64,
        missingUnits: Int64,
        unitsPerNanosecond: Int64,
        resetBaseNanoseconds: Int64 = 0,
        retryAfterNanoseconds: Int64
    ) {
        self.isAllowed = isAllowed
        self.limit = limit
        self.remainingUnits = remainingUnits
        self.unitsPerPermit = unitsPerPermit
        self.missingUnits = missingUnits
        self.unitsPerNanosecond = unitsPerNanosecond
        self.resetBaseNanoseconds = resetBaseNanoseconds
        self.retryAfterNanoseconds = retryAfterNanoseconds
    }

    /// Creates a decision from whole figures: what a counting algorithm (a window, a concurrency
    /// limit) knows directly.
    ///
    /// - Parameters:
    ///   - isAllowed: Whether the request was admitted.
    ///   - limit: The limiter's capacity.
    ///   - remaining: Whole permits left (a negative figure reads as 0).
    ///   - retryAfterNanoseconds: Nanoseconds until the request would be admitted; 0 if allowed.
    ///   - resetAfterNanoseconds: Nanoseconds until the limiter is full again.
    @inlinable
    public init(
        isAllowed: Bool,
        limit: Int,
        remaining: Int64,
        retryAfterNanoseconds: Int64,
        resetAfterNanoseconds: Int64
    ) {
        self.init(
            isAllowed: isAllowed, limit: limit, remainingUnits: remaining, unitsPerPermit: 1, missingUnits: 0,
            unitsPerNanosecond: 1, resetBaseNanoseconds: resetAfterNanoseconds, retryAfterNanoseconds: retryAfterNanoseconds
        )
    }

    /// A placeholder a composite overwrites: denied, nothing known.
    @usableFromInline package static let unknown = RateLimitDecision(
        isAllowed: false, limit: 0, remaining: 0, retryAfterNanoseconds: 0, resetAfterNanoseconds: 0
    )

    /// The same figures, denied with `retryAfterNanoseconds`: how a composite reports a limiter it
    /// looked at without asking.
    package func denied(retryAfterNanoseconds: Int64) -> RateLimitDecision {
        RateLimitDecision(
            isAllowed: false, limit: limit, remainingUnits: remainingUnits, unitsPerPermit: unitsPerPermit,
            missingUnits: missingUnits, unitsPerNanosecond: unitsPerNanosecond,
            resetBaseNanoseconds: resetBaseNanoseconds, retryAfterNanoseconds: retryAfterNanoseconds
        )
    }


    /// What remains as an exact fraction of a permit: `units / unitsPerPermit` (negative while in
    /// debt). ``remaining`` is its whole part.
    @inlinable
    public var remainingFraction: (units: Int64, unitsPerPermit: Int64) {
        (remainingUnits, unitsPerPermit)
    }

    /// Whole permits left after this decision (never negative).
    public var remaining: Int {
        remainingUnits <= 0 ? 0 : Int(remainingUnits / unitsPerPermit)
    }

    /// How long until this request would be admitted; zero when it was.
    public var retryAfter: Duration { .nanoseconds(retryAfterNanoseconds) }

    /// ``retryAfter`` in whole seconds, rounded up: the value of an HTTP `Retry-After` header.
    public var retryAfterSeconds: Int64 { retryAfterNanoseconds.dividedRoundingUp(by: 1_000_000_000) }

    /// Nanoseconds until the limiter is full again if nothing else is taken.
    public var resetAfterNanoseconds: Int64 {
        guard missingUnits > 0 else { return resetBaseNanoseconds }
        return resetBaseNanoseconds.addingSaturating(missingUnits.dividedRoundingUp(by: unitsPerNanosecond))
    }

    /// How long until the limiter is full again if nothing else is taken.
    public var resetAfter: Duration { .nanoseconds(resetAfterNanoseconds) }

    /// A one-line summary, e.g. `allowed remaining=39/40 retryAfter=0ns resetAfter=1500000000ns`.
    public var description: String {
        "\(isAllowed ? "allowed" : "denied") remaining=\(remaining)/\(limit) "
            + "retryAfter=\(retryAfterNanoseconds)ns resetAfter=\(resetAfterNanoseconds)ns"
    }

    /// Whether two decisions give the same answer and the same figures.
    public static func == (lhs: RateLimitDecision, rhs: RateLimitDecision) -> Bool {
        lhs.isAllowed == rhs.isAllowed && lhs.limit == rhs.limit && lhs.remaining == rhs.remaining
            && lhs.retryAfterNanoseconds == rhs.retryAfterNanoseconds
            && lhs.resetAfterNanoseconds == rhs.resetAfterNanoseconds
    }

    /// Hashes the figures compared by `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(isAllowed)
        hasher.combine(limit)
        hasher.combine(remaining)
        hasher.combine(retryAfterNanoseconds)
        hasher.combine(resetAfterNanoseconds)
    }
}

public import BulwarkCore
public import BulwarkEngine

/// The token-bucket algorithm, as a pure value: a bucket of `capacity` tokens that refills
/// continuously at `refillAmount` tokens per `refillPeriod`, and from which each request takes its
/// cost.
///
/// The arithmetic is exact integer arithmetic on nanoseconds. The rate is kept as a reduced
/// fraction: one token is `unitsPerToken` units and the bucket gains `unitsPerNanosecond` units per
/// nanosecond, where `unitsPerNanosecond / unitsPerToken = refillAmount / refillPeriod` in lowest
/// terms. So 40 tokens per minute is 1 unit per nanosecond and 1,500,000,000 units per token, and
/// no fraction of a token is ever rounded away: however late or often it is asked, after `t`
/// nanoseconds the bucket has gained exactly `t × refillAmount / refillPeriod` tokens, and after
/// hours it has not drifted by one nanosecond.
///
///     var bucket = try TokenBucket(configuration: .init(capacity: 40, refill: 40, every: .seconds(60)),
///                                  now: 0)
///     let decision = bucket.tryConsume(1, at: 0)   // allowed, remaining 39
///
/// Use it through ``TokenBucketRateLimiter`` (thread-safe, with a waiting queue); the value itself is
/// what the limiter locks and what the test vectors check.
public struct TokenBucket: RateLimitAlgorithm, Hashable {
    /// What changes with each decision: the credit and the reading it is current at.
    public struct State: Sendable, Hashable {
        /// The tokens in the bucket at ``updatedAt``, in units of `1 / unitsPerToken` token;
        /// negative while the bucket is in debt.
        public var credit: Int64
        /// The clock reading the credit is current at.
        public var updatedAt: Int64

        /// Creates a state holding `credit` units at the clock reading ``updatedAt``.
        @inlinable
        public init(credit: Int64, updatedAt: Int64) {
            self.credit = credit
            self.updatedAt = updatedAt
        }
    }

    /// The configuration of a token bucket.
    public struct Configuration: Sendable, Hashable {
        /// The most tokens the bucket holds: the largest burst, and the largest cost it admits.
        public var capacity: Int
        /// How many tokens are added per ``refillPeriod``, continuously (not in one step).
        public var refillAmount: Int
        /// The period over which ``refillAmount`` tokens are added.
        public var refillPeriod: Duration
        /// How many tokens the bucket starts with; `nil` means full.
        public var initialTokens: Int?

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - capacity: The most tokens the bucket holds.
        ///   - refillAmount: Tokens added per ``refillPeriod``; defaults to `capacity`.
        ///   - refillPeriod: The period over which ``refillAmount`` tokens are added.
        ///   - initialTokens: The starting tokens; full when `nil`.
        public init(capacity: Int, refill refillAmount: Int? = nil, every refillPeriod: Duration, initialTokens: Int? = nil) {
            self.capacity = capacity
            self.refillAmount = refillAmount ?? capacity
            self.refillPeriod = refillPeriod
            self.initialTokens = initialTokens
        }
    }

    /// The configuration the bucket was created with.
    public let configuration: Configuration
    /// Units that make one token.
    @usableFromInline let unitsPerToken: Int64
    /// Units the bucket gains per nanosecond.
    @usableFromInline let unitsPerNanosecond: Int64
    /// `capacity × unitsPerToken`.
    @usableFromInline let capacityUnits: Int64
    /// `initialTokens × unitsPerToken`: what a fresh bucket holds.
    @usableFromInline let initialUnits: Int64
    /// The credit and the reading it is current at.
    public var state: State

    @usableFromInline var credit: Int64 {
        get { state.credit }
        set { state.credit = newValue }
    }

    /// The latest clock reading the bucket has taken into account.
    @inlinable
    public var updatedAt: Int64 { state.updatedAt }

    /// The bucket's capacity: the largest cost it admits.
    public var limit: Int { configuration.capacity }

    /// Creates a bucket holding its initial tokens at the clock reading `now`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when `capacity` or
    ///   `refillAmount` is below 1, `refillPeriod` is not a positive whole number of nanoseconds,
    ///   `initialTokens` is outside `0 ... capacity`, or the bucket is too large to compute exactly
    ///   in 64 bits (`capacity × refillPeriod / refillAmount` beyond about 2.3 × 10¹⁸ ns, roughly
    ///   73 years of refill).
    public init(configuration: Configuration, now: Int64) throws(BulwarkError) {
        _ = try Validation.atLeast(1, configuration.capacity, field: "capacity")
        _ = try Validation.atLeast(1, configuration.refillAmount, field: "refillAmount")
        let period = try Validation.positiveNanoseconds(configuration.refillPeriod, field: "refillPeriod")
        let initial = configuration.initialTokens ?? configuration.capacity
        guard (0 ... configuration.capacity).contains(initial) else {
            throw .invalidConfiguration(
                field: "initialTokens",
                rule: "must be between 0 and capacity \(configuration.capacity) (got \(initial))"
            )
        }
        let amount = Int64(configuration.refillAmount)
        let (unitsPerNanosecond, unitsPerToken) = Validation.reducedRate(configuration.refillAmount, per: period)
        let (capacityUnits, overflow) = Int64(configuration.capacity).multipliedReportingOverflow(by: unitsPerToken)
        // Headroom of 4x keeps every sum of two amounts of units inside Int64.
        guard !overflow, capacityUnits <= Int64.max / 4 else {
            throw .invalidConfiguration(
                field: "capacity",
                rule: "× refillPeriod / refillAmount must be at most \(Int64.max / 4) ns for exact arithmetic "
                    + "(got capacity \(configuration.capacity), refill \(amount) per \(period) ns)"
            )
        }
        self.configuration = configuration
        self.unitsPerToken = unitsPerToken
        self.unitsPerNanosecond = unitsPerNanosecond
        self.capacityUnits = capacityUnits
        self.initialUnits = Int64(initial) * unitsPerToken
        self.state = State(credit: initialUnits, updatedAt: now)
    }

    /// The credit, in units, at `now` (no earlier than ``updatedAt``), after continuous refill.
    @inlinable
    func credit(at now: Int64) -> Int64 {
        let elapsed = now &- state.updatedAt
        let missing = capacityUnits &- credit
        guard elapsed > 0, missing > 0 else { return credit }
        // elapsed × rate, compared without dividing; an overflow means "more than enough".
        let (gain, overflow) = elapsed.multipliedReportingOverflow(by: unitsPerNanosecond)
        return overflow || gain >= missing ? capacityUnits : credit &+ gain
    }

    /// Takes `cost` tokens at `now` if the bucket holds them.
    ///
    /// A reading earlier than the last one is treated as the last one (time never goes back), and
    /// the retry-after is then counted from the caller's reading, so it stays exact. A cost outside
    /// `0 ... capacity` can never be taken: it is denied with the largest retry-after and changes
    /// nothing (the limiter refuses such a cost with an error before it gets here).
    @inlinable @inline(__always)
    public mutating func tryConsume(_ cost: Int, at now: Int64) -> RateLimitDecision {
        let time = timeOfStep(at: now)
        let lag = time &- now
        guard cost > 0, cost <= configuration.capacity else {
            return snapshot(at: now, retryAfterNanoseconds: cost == 0 ? 0 : .max)
        }
        state = State(credit: credit(at: time), updatedAt: time)
        let need = Int64(cost) &* unitsPerToken
        if credit >= need {
            credit &-= need
            return decision(allowed: true, lag: lag, retryAfter: 0)
        }
        let wait = (need &- credit).dividedRoundingUp(by: unitsPerNanosecond)
        return decision(allowed: false, lag: lag, retryAfter: lag &+ wait)
    }

    /// Gives back `amount` tokens: exactly as if the admission had taken that much less, whenever
    /// it happened (a bucket that has refilled to capacity meanwhile stays at capacity).
    public mutating func refund(_ amount: Int, admittedAt: Int64, at now: Int64) {
        let time = timeOfStep(at: now)
        let back = Int64(clamping: max(0, amount)).multipliedSaturating(by: unitsPerToken)
        state = State(credit: min(capacityUnits, credit(at: time).addingSaturating(back)), updatedAt: time)
    }

    /// Takes `amount` tokens even if the bucket lacks them, down to one capacity of debt.
    public mutating func charge(_ amount: Int, at now: Int64) {
        let time = timeOfStep(at: now)
        let take = Int64(clamping: max(0, amount)).multipliedSaturating(by: unitsPerToken)
        state = State(credit: max(-capacityUnits, credit(at: time).subtractingSaturating(take)), updatedAt: time)
    }

    /// Nanoseconds from `now` until `amount` tokens could be taken, counting continuous refill and
    /// ignoring the cap (so an amount above capacity answers how long until that much has flowed).
    public func nanosecondsUntilAvailable(_ amount: Int, at now: Int64) -> Int64 {
        let time = timeOfStep(at: now)
        let available = credit(at: time)
        let need = Int64(clamping: amount).multipliedSaturating(by: unitsPerToken)
        guard need > available else { return 0 }
        return (time &- now).addingSaturating(need.subtractingSaturating(available).dividedRoundingUp(by: unitsPerNanosecond))
    }

    /// The figures at `now` without taking anything.
    public func snapshot(at now: Int64, retryAfterNanoseconds: Int64) -> RateLimitDecision {
        var copy = self
        let time = timeOfStep(at: now)
        copy.credit = credit(at: time)
        return copy.decision(allowed: retryAfterNanoseconds == 0, lag: time &- now, retryAfter: retryAfterNanoseconds)
    }

    /// A bucket holding its initial tokens at `now`.
    public func freshState(at now: Int64) -> State {
        State(credit: initialUnits, updatedAt: now)
    }

    /// Whether the bucket is full and a fresh bucket would be full too: both then stay full until
    /// something is taken, so one may replace the other.
    public func isFresh(at now: Int64) -> Bool {
        initialUnits == capacityUnits && credit(at: timeOfStep(at: now)) == capacityUnits
    }

    /// Whole tokens in the bucket at `now` (0 while in debt).
    public func tokens(at now: Int64) -> Int {
        Int(max(0, credit(at: timeOfStep(at: now))) / unitsPerToken)
    }

    @inlinable
    func decision(allowed: Bool, lag: Int64, retryAfter: Int64) -> RateLimitDecision {
        RateLimitDecision(
            isAllowed: allowed,
            limit: configuration.capacity,
            remainingUnits: credit,
            unitsPerPermit: unitsPerToken,
            missingUnits: capacityUnits &- credit,
            unitsPerNanosecond: unitsPerNanosecond,
            resetBaseNanoseconds: lag,
            retryAfterNanoseconds: retryAfter
        )
    }
}

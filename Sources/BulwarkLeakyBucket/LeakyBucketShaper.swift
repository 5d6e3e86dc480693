public import BulwarkCore
public import BulwarkEngine

/// The leaky bucket as a shaper (pacing): requests are released at an even spacing, `period /
/// rate` per unit of cost, with no burst, to protect an upstream that tolerates no more than a
/// strict rate.
///
/// Forty requests per minute means one release every 1.5 s, however many callers arrive at once:
/// the first goes at once, and each later one when the previous release's spacing has passed.
/// A request of cost `c` occupies `c` spacings. Used through ``LeakyBucketShaperRateLimiter``, callers
/// that arrive while the schedule is busy wait in the limiter's queue and are released exactly on
/// their slot; a limiter's `maximumWait` (the shaper's *maximum delay*) refuses at once, with its
/// retry-after, a caller whose predicted slot is further away than that.
///
/// Releases stay on an exact grid: the schedule is kept in whole nanoseconds plus a fraction, a
/// release that happens in the first nanosecond it may keeps the grid (so 3 per second releases at
/// 0, 333,333,334 and 666,666,667 ns, then exactly at 1 s, never drifting), and a request that
/// arrives after an idle gap restarts the grid at its arrival.
///
///     var shaper = try LeakyBucketShaper(configuration: .init(rate: 40, per: .seconds(60)), now: 0)
///     shaper.tryConsume(1, at: 0).isAllowed                    // true
///     shaper.tryConsume(1, at: 0).retryAfter                   // 1.5 s
public struct LeakyBucketShaper: RateLimitAlgorithm, Hashable {
    /// The configuration of a shaper.
    public struct Configuration: Sendable, Hashable {
        /// How many units of cost are released per ``period``.
        public var rate: Int
        /// The period over which ``rate`` units are released, evenly spaced.
        public var period: Duration
        /// The largest cost one request may have (1 for pacing requests).
        public var maximumCost: Int

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - rate: Units of cost released per ``period``.
        ///   - period: The period over which ``rate`` units are released.
        ///   - maximumCost: The largest cost of one request.
        public init(rate: Int, per period: Duration, maximumCost: Int = 1) {
            self.rate = rate
            self.period = period
            self.maximumCost = maximumCost
        }
    }

    /// The earliest moment of the next release, `base + fraction / unitsPerNanosecond`
    /// nanoseconds, with `0 ≤ fraction < unitsPerNanosecond`.
    public struct State: Sendable, Hashable {
        /// Whole nanoseconds of the next release moment.
        public var base: Int64
        /// The fraction of a nanosecond beyond ``base``, in units.
        public var fraction: Int64
        /// The latest clock reading the shaper has taken into account.
        public var updatedAt: Int64

        /// Creates a state.
        @inlinable
        public init(base: Int64, fraction: Int64, updatedAt: Int64) {
            self.base = base
            self.fraction = fraction
            self.updatedAt = updatedAt
        }
    }

    /// The configuration the shaper was created with.
    public let configuration: Configuration
    /// Units in one nanosecond.
    @usableFromInline let unitsPerNanosecond: Int64
    /// Units of spacing per unit of cost.
    @usableFromInline let unitsPerCost: Int64
    /// The schedule.
    public var state: State

    /// The largest cost of one request.
    public var limit: Int { configuration.maximumCost }

    /// The latest clock reading the shaper has taken into account.
    @inlinable
    public var updatedAt: Int64 { state.updatedAt }

    /// Creates a shaper, free at the clock reading `now`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when `rate` or `maximumCost` is
    ///   below 1, `period` is not a positive whole number of nanoseconds, or twice `maximumCost`
    ///   spacings exceed 2.3 × 10¹⁸ units of exact arithmetic.
    public init(configuration: Configuration, now: Int64) throws(BulwarkError) {
        _ = try Validation.atLeast(1, configuration.rate, field: "rate")
        let period = try Validation.positiveNanoseconds(configuration.period, field: "period")
        _ = try Validation.atLeast(1, configuration.maximumCost, field: "maximumCost")
        let (unitsPerNanosecond, unitsPerCost) = Validation.reducedRate(configuration.rate, per: period)
        _ = try Validation.exactProduct(
            configuration.maximumCost, unitsPerCost, field: "maximumCost", rule: "× period / rate",
            got: "\(configuration.maximumCost), \(configuration.rate) per \(period) ns"
        )
        self.configuration = configuration
        self.unitsPerNanosecond = unitsPerNanosecond
        self.unitsPerCost = unitsPerCost
        self.state = State(base: now &- 1, fraction: 0, updatedAt: now)
    }

    /// The first whole nanosecond at or after the next release moment.
    @inlinable
    var nextRelease: Int64 {
        state.fraction == 0 ? state.base : state.base &+ 1
    }

    /// Moves the release moment by `units` (positive or negative), carrying the fraction exactly.
    @inlinable
    mutating func shift(by units: Int64) {
        var fraction = state.fraction &+ units
        var base = state.base
        if unitsPerNanosecond == 1 {
            base = base.addingSaturating(fraction)
            fraction = 0
        } else {
            let (whole, part) = fraction.quotientAndRemainder(dividingBy: unitsPerNanosecond)
            base = base.addingSaturating(whole)
            fraction = part
            if fraction < 0 {
                fraction &+= unitsPerNanosecond
                base &-= 1
            }
        }
        state.base = base
        state.fraction = fraction
    }

    /// Releases `cost` at `now` if the schedule is free, keeping the grid when it is released in
    /// the first nanosecond it may.
    @inlinable @inline(__always)
    public mutating func tryConsume(_ cost: Int, at now: Int64) -> RateLimitDecision {
        let time = timeOfStep(at: now)
        let lag = time &- now
        guard cost > 0, cost <= configuration.maximumCost else {
            return snapshot(at: now, retryAfterNanoseconds: cost == 0 ? 0 : .max)
        }
        state.updatedAt = time
        let release = nextRelease
        guard release <= time else {
            return decision(allowed: false, at: time, lag: lag, retryAfter: lag &+ (release &- time))
        }
        if release != time {
            // An idle gap: the grid restarts at this release.
            state.base = time
            state.fraction = 0
        }
        shift(by: Int64(cost) &* unitsPerCost)
        return decision(allowed: true, at: time, lag: lag, retryAfter: 0)
    }

    /// Takes `amount` spacings back off the schedule, never earlier than `now`.
    public mutating func refund(_ amount: Int, admittedAt: Int64, at now: Int64) {
        let time = timeOfStep(at: now)
        state.updatedAt = time
        shift(by: -Int64(clamping: max(0, amount)).multipliedSaturating(by: unitsPerCost))
        if state.base < time {
            state.base = time
            state.fraction = 0
        }
    }

    /// Pushes the schedule `amount` spacings further, at most twice `maximumCost` spacings ahead.
    public mutating func charge(_ amount: Int, at now: Int64) {
        let time = timeOfStep(at: now)
        state.updatedAt = time
        if state.base < time {
            state.base = time
            state.fraction = 0
        }
        let span = Int64(2 * configuration.maximumCost) &* unitsPerCost
        shift(by: Int64(clamping: max(0, min(amount, 2 * configuration.maximumCost))) &* unitsPerCost)
        var cap = self
        cap.state = State(base: time, fraction: 0, updatedAt: time)
        cap.shift(by: span)
        if (state.base, state.fraction) > (cap.state.base, cap.state.fraction) {
            state.base = cap.state.base
            state.fraction = cap.state.fraction
        }
    }

    /// Nanoseconds from `now` until the schedule is free (whatever the amount: a request's cost
    /// spaces the releases after it, not before).
    public func nanosecondsUntilAvailable(_ amount: Int, at now: Int64) -> Int64 {
        let time = timeOfStep(at: now)
        return (time &- now).addingSaturating(max(0, nextRelease &- time))
    }

    /// Nanoseconds from `now` until a request is released behind `queuedAhead` units of cost:
    /// the schedule's next moment, plus the spacing of everything ahead.
    public func nanosecondsUntilAdmitted(queuedAhead: Int, cost: Int, at now: Int64) -> Int64 {
        let time = timeOfStep(at: now)
        var schedule = self
        if schedule.nextRelease < time {
            schedule.state.base = time
            schedule.state.fraction = 0
        }
        schedule.shift(by: Int64(clamping: queuedAhead).multipliedSaturating(by: unitsPerCost))
        return (time &- now).addingSaturating(max(0, schedule.nextRelease &- time))
    }

    /// The figures at `now` without releasing anything.
    public func snapshot(at now: Int64, retryAfterNanoseconds: Int64) -> RateLimitDecision {
        let time = timeOfStep(at: now)
        return decision(allowed: retryAfterNanoseconds == 0, at: time, lag: time &- now, retryAfter: retryAfterNanoseconds)
    }

    /// A schedule that has been free for a while at `now`.
    public func freshState(at now: Int64) -> State {
        State(base: now &- 1, fraction: 0, updatedAt: now)
    }

    /// Whether the schedule has been free since before `now` (a fresh one is): both then restart
    /// the grid at the next release.
    public func isFresh(at now: Int64) -> Bool {
        nextRelease < timeOfStep(at: now)
    }

    /// `remaining` is `maximumCost` while the schedule is free and 0 while it is busy;
    /// `resetAfter` is the time until it is free.
    @inlinable
    func decision(allowed: Bool, at time: Int64, lag: Int64, retryAfter: Int64) -> RateLimitDecision {
        let busy = max(0, nextRelease &- time)
        return RateLimitDecision(
            isAllowed: allowed,
            limit: configuration.maximumCost,
            remaining: busy == 0 ? Int64(configuration.maximumCost) : 0,
            retryAfterNanoseconds: retryAfter,
            resetAfterNanoseconds: lag &+ busy
        )
    }
}

/// A thread-safe shaper with a waiting queue: ``LeakyBucketShaper`` run by `InMemoryRateLimiter`,
/// whose `maximumWait` is the shaper's maximum delay.
///
///     // One request every 1.5 s; a caller whose slot is more than 30 s away is refused at once.
///     let pacer = try LeakyBucketShaperRateLimiter(rate: 40, per: .seconds(60), maximumDelay: .seconds(30))
///     try await pacer.acquire()
public typealias LeakyBucketShaperRateLimiter<C: NanosecondClock> = InMemoryRateLimiter<LeakyBucketShaper, C>

extension InMemoryRateLimiter where Algorithm == LeakyBucketShaper {
    /// Creates a shaper on `clock`.
    ///
    /// - Parameters:
    ///   - rate: Units of cost released per `period`, evenly spaced.
    ///   - period: The period over which `rate` units are released.
    ///   - maximumCost: The largest cost of one request.
    ///   - maximumDelay: The longest a caller may wait for its slot: one whose predicted slot is
    ///     further away is refused at once with `rateLimited(retryAfter:)`; `nil` for no bound.
    ///   - queueLimit: The most callers `acquire` may queue.
    ///   - order: The order in which queued callers are served; FIFO by default.
    ///   - clock: The clock to read and to sleep on.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(
        rate: Int,
        per period: Duration,
        maximumCost: Int = 1,
        maximumDelay: Duration? = nil,
        queueLimit: Int = defaultQueueLimit,
        order: any WaitOrder = FIFOWaitOrder(),
        clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        if let maximumDelay, maximumDelay < .zero {
            throw .invalidConfiguration(field: "maximumDelay", rule: "must be at least 0 (got \(maximumDelay))")
        }
        try self.init(
            configuration: .init(rate: rate, per: period, maximumCost: maximumCost),
            queueLimit: queueLimit, order: order, maximumWait: maximumDelay, clock: clock
        )
    }
}


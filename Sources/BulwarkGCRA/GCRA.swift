public import BulwarkCore
public import BulwarkEngine

/// The generic cell rate algorithm: one number, the theoretical arrival time (TAT), decides.
///
/// A request of cost `c` at time `t` moves the TAT to `max(TAT, t) + c × interval`, where
/// `interval = period / rate`; it is admitted if the new TAT is at most `burst × interval` ahead
/// of `t`. With burst `B` it admits exactly what a full token bucket of capacity `B` refilled at
/// `rate` per `period` admits (the room before the limit is the bucket's tokens), so its decisions,
/// figures included, are the token bucket's. Its merit is its state: a single integer, which
/// ``LockFreeGCRARateLimiter`` keeps in one `Atomic<Int64>` and updates with a compare-exchange loop.
///
/// The TAT is counted in units of `1 / unitsPerNanosecond` nanosecond from an origin near the
/// present, so an interval that is not a whole number of nanoseconds (3 per second) is kept exactly;
/// the origin moves forward (with the TAT) long before the product could overflow.
///
///     var gcra = try GCRA(configuration: .init(rate: 40, per: .seconds(60), burst: 40), now: 0)
///     gcra.tryConsume(1, at: 0).remaining          // 39
///
/// Use it through ``GCRARateLimiter`` (with a waiting queue) or ``LockFreeGCRARateLimiter`` (never waits,
/// never locks).
public struct GCRA: RateLimitAlgorithm, Hashable {
    /// The configuration of a GCRA limiter.
    public struct Configuration: Sendable, Hashable {
        /// How many units of cost are admitted per ``period`` on average.
        public var rate: Int
        /// The period over which ``rate`` units are admitted.
        public var period: Duration
        /// The most that may be admitted at once after a quiet spell: the burst tolerance, in
        /// units of cost (the token bucket's capacity).
        public var burst: Int

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - rate: Units of cost admitted per ``period``.
        ///   - period: The period over which ``rate`` units are admitted.
        ///   - burst: The most admitted at once; defaults to ``rate``.
        public init(rate: Int, per period: Duration, burst: Int? = nil) {
            self.rate = rate
            self.period = period
            self.burst = burst ?? rate
        }
    }

    /// The TAT and the readings it is counted from.
    public struct State: Sendable, Hashable {
        /// The clock reading the TAT is counted from.
        public var origin: Int64
        /// The theoretical arrival time, in units after ``origin``.
        public var arrival: Int64
        /// The latest clock reading the algorithm has taken into account.
        public var updatedAt: Int64

        /// Creates a state.
        @inlinable
        public init(origin: Int64, arrival: Int64, updatedAt: Int64) {
            self.origin = origin
            self.arrival = arrival
            self.updatedAt = updatedAt
        }
    }

    /// The configuration the algorithm was created with.
    public let configuration: Configuration
    /// Units in one nanosecond.
    @usableFromInline let unitsPerNanosecond: Int64
    /// The emission interval of one unit of cost, in units.
    @usableFromInline let interval: Int64
    /// `burst × interval`: how far ahead of now the TAT may run.
    @usableFromInline let tolerance: Int64
    /// How long after its origin a TAT may be counted before the origin moves (nanoseconds).
    @usableFromInline let horizon: Int64
    /// The TAT and its origin.
    public var state: State

    /// The burst: the largest cost admitted at once.
    public var limit: Int { configuration.burst }

    /// The latest clock reading the algorithm has taken into account.
    @inlinable
    public var updatedAt: Int64 { state.updatedAt }

    /// Creates the algorithm with a full burst available at the clock reading `now`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when `rate` or `burst` is below
    ///   1, `period` is not a positive whole number of nanoseconds, or `burst × period / rate` (in
    ///   units of exact arithmetic) exceeds 1.15 × 10¹⁸ (`Int64.max / 8`).
    public init(configuration: Configuration, now: Int64) throws(BulwarkError) {
        _ = try Validation.atLeast(1, configuration.rate, field: "rate")
        let period = try Validation.positiveNanoseconds(configuration.period, field: "period")
        _ = try Validation.atLeast(1, configuration.burst, field: "burst")
        let (unitsPerNanosecond, interval) = Validation.reducedRate(configuration.rate, per: period)
        let tolerance = try Validation.exactProduct(
            configuration.burst, interval, field: "burst", rule: "× period / rate",
            got: "burst \(configuration.burst), \(configuration.rate) per \(period) ns"
        )
        self.configuration = configuration
        self.unitsPerNanosecond = unitsPerNanosecond
        self.interval = interval
        self.tolerance = tolerance
        // Counting from the origin must leave room for three tolerances in Int64.
        self.horizon = (Int64.max / 2) / unitsPerNanosecond
        self.state = State(origin: now, arrival: 0, updatedAt: now)
    }

    /// `now` in units after ``origin`` (negative for a reading before it); saturates far outside the
    /// horizon, which the callers keep it inside.
    @inlinable
    func units(_ now: Int64, from origin: Int64) -> Int64 {
        now.subtractingSaturating(origin).multipliedSaturating(by: unitsPerNanosecond)
    }

    /// The decision for `cost` at `time` (in units, `lag` nanoseconds after the caller's reading),
    /// and the TAT it leaves.
    @inlinable
    func decide(_ cost: Int, arrival: Int64, time: Int64, lag: Int64) -> (arrival: Int64, decision: RateLimitDecision) {
        let start = max(arrival, time)
        let next = start &+ Int64(cost) &* interval
        if next &- time <= tolerance {
            return (next, decision(allowed: true, debt: next &- time, lag: lag, retryAfter: 0))
        }
        let wait = (next &- time &- tolerance).dividedRoundingUp(by: unitsPerNanosecond)
        return (arrival, decision(allowed: false, debt: start &- time, lag: lag, retryAfter: lag &+ wait))
    }

    /// Takes `cost` at `now` if the TAT allows it.
    @inlinable @inline(__always)
    public mutating func tryConsume(_ cost: Int, at now: Int64) -> RateLimitDecision {
        let time = timeOfStep(at: now)
        let lag = time &- now
        guard cost > 0, cost <= configuration.burst else {
            return snapshot(at: now, retryAfterNanoseconds: cost == 0 ? 0 : .max)
        }
        moveOrigin(to: time)
        state.updatedAt = time
        let (arrival, decision) = decide(cost, arrival: state.arrival, time: units(time, from: state.origin), lag: lag)
        state.arrival = arrival
        return decision
    }

    /// Moves the origin to `time` once it is half a horizon behind, keeping the TAT's meaning.
    @inlinable
    mutating func moveOrigin(to time: Int64) {
        guard time &- state.origin > horizon / 2 else { return }
        state = GCRA.rebased(state, to: time, unitsPerNanosecond: unitsPerNanosecond, horizon: horizon)
    }

    /// `state` counted from `time` instead: a TAT already in the past becomes `time` itself.
    @usableFromInline
    static func rebased(_ state: State, to time: Int64, unitsPerNanosecond: Int64, horizon: Int64) -> State {
        let shift = time &- state.origin
        let arrival = shift > horizon ? 0 : max(0, state.arrival &- shift &* unitsPerNanosecond)
        return State(origin: time, arrival: arrival, updatedAt: state.updatedAt)
    }

    /// Moves the TAT back by `amount` intervals, never before `now`: exactly as if the admission
    /// had taken that much less.
    public mutating func refund(_ amount: Int, admittedAt: Int64, at now: Int64) {
        let time = timeOfStep(at: now)
        moveOrigin(to: time)
        state.updatedAt = time
        state.arrival = refunded(state.arrival, by: amount, time: units(time, from: state.origin))
    }

    /// The TAT `arrival` moved back by `amount` intervals, never before `time` (units).
    @usableFromInline
    func refunded(_ arrival: Int64, by amount: Int, time: Int64) -> Int64 {
        max(time, arrival.subtractingSaturating(Int64(clamping: max(0, amount)).multipliedSaturating(by: interval)))
    }

    /// Moves the TAT forward by `amount` intervals even past the burst, at most two bursts ahead.
    public mutating func charge(_ amount: Int, at now: Int64) {
        let time = timeOfStep(at: now)
        moveOrigin(to: time)
        state.updatedAt = time
        state.arrival = charged(state.arrival, by: amount, time: units(time, from: state.origin))
    }

    /// The TAT `arrival` moved forward by `amount` intervals, at most two tolerances past `time`.
    @usableFromInline
    func charged(_ arrival: Int64, by amount: Int, time: Int64) -> Int64 {
        let push = Int64(clamping: max(0, min(amount, 2 * configuration.burst))) &* interval
        return min(max(arrival, time) &+ push, time &+ 2 &* tolerance)
    }

    /// Nanoseconds from `now` until `amount` could be taken (an amount above the burst: until that
    /// much has been admitted in turn).
    public func nanosecondsUntilAvailable(_ amount: Int, at now: Int64) -> Int64 {
        let time = timeOfStep(at: now)
        let current = GCRA.rebased(state, to: time, unitsPerNanosecond: unitsPerNanosecond, horizon: horizon)
        let need = Int64(clamping: amount).multipliedSaturating(by: interval)
        let excess = current.arrival.addingSaturating(need).subtractingSaturating(tolerance)
        guard excess > 0 else { return 0 }
        return (time &- now).addingSaturating(excess.dividedRoundingUp(by: unitsPerNanosecond))
    }

    /// The figures at `now` without taking anything.
    public func snapshot(at now: Int64, retryAfterNanoseconds: Int64) -> RateLimitDecision {
        let time = timeOfStep(at: now)
        let current = GCRA.rebased(state, to: time, unitsPerNanosecond: unitsPerNanosecond, horizon: horizon)
        return decision(allowed: retryAfterNanoseconds == 0, debt: max(0, current.arrival), lag: time &- now, retryAfter: retryAfterNanoseconds)
    }

    /// A full burst at `now`.
    public func freshState(at now: Int64) -> State {
        State(origin: now, arrival: 0, updatedAt: now)
    }

    /// Whether the TAT has fallen to `now` or before: the full burst is available, as in a fresh state.
    public func isFresh(at now: Int64) -> Bool {
        let time = timeOfStep(at: now)
        return GCRA.rebased(state, to: time, unitsPerNanosecond: unitsPerNanosecond, horizon: horizon).arrival <= 0
    }

    /// The decision for a TAT `debt` units ahead of the decision's time: the room left under the
    /// tolerance is the remaining burst, and the debt drains in `debt / unitsPerNanosecond` ns.
    @inlinable
    func decision(allowed: Bool, debt: Int64, lag: Int64, retryAfter: Int64) -> RateLimitDecision {
        RateLimitDecision(
            isAllowed: allowed,
            limit: configuration.burst,
            remainingUnits: tolerance &- debt,
            unitsPerPermit: interval,
            missingUnits: debt,
            unitsPerNanosecond: unitsPerNanosecond,
            resetBaseNanoseconds: lag,
            retryAfterNanoseconds: retryAfter
        )
    }
}

/// A thread-safe GCRA limiter with a waiting queue: ``GCRA`` run by `InMemoryRateLimiter`. For a
/// limiter that never waits and never locks, see ``LockFreeGCRARateLimiter``.
///
///     let limiter = try GCRARateLimiter(rate: 100, per: .seconds(1), burst: 20)
///     try await limiter.acquire(deadline: .after(.seconds(1)))
public typealias GCRARateLimiter<C: NanosecondClock> = InMemoryRateLimiter<GCRA, C>

extension InMemoryRateLimiter where Algorithm == GCRA {
    /// Creates a GCRA limiter on `clock`.
    ///
    /// - Parameters:
    ///   - rate: Units of cost admitted per `period` on average.
    ///   - period: The period over which `rate` units are admitted.
    ///   - burst: The most admitted at once; defaults to `rate`.
    ///   - queueLimit: The most callers `acquire` may queue.
    ///   - order: The order in which queued callers are served; FIFO by default.
    ///   - clock: The clock to read and to sleep on.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(
        rate: Int,
        per period: Duration,
        burst: Int? = nil,
        queueLimit: Int = defaultQueueLimit,
        order: any WaitOrder = FIFOWaitOrder(),
        clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        try self.init(
            configuration: .init(rate: rate, per: period, burst: burst), queueLimit: queueLimit, order: order, clock: clock
        )
    }
}


public import BulwarkCore
public import BulwarkEngine

/// The sliding-window log: every admission is logged with its time, and a request is admitted if
/// what was admitted in the last `window` (up to and including now) plus its cost stays within
/// `limit`. Exact: no boundary burst, no estimate.
///
/// An entry admitted at `t` counts until `t + window` and not an instant longer, so the
/// retry-after of a denied request is exact: the moment enough of the oldest entries have left.
/// Entries admitted at the same reading share one slot, and each costs at least 1, so the log never
/// holds more than `limit` entries (twice that while in debt): its ring grows to what the traffic
/// needs, up to that bound, and then never allocates again.
///
///     var log = try SlidingWindowLog(configuration: .init(limit: 3, window: .seconds(1)), now: 0)
///     for t in [0, 100, 200] as [Int64] { _ = log.tryConsume(1, at: t * 1_000_000) }
///     log.tryConsume(1, at: 500_000_000).retryAfter   // 500 ms: the entry of 0 ms leaves at 1 s
public struct SlidingWindowLog: RateLimitAlgorithm, Hashable {
    /// The configuration of a sliding-window log.
    public struct Configuration: Sendable, Hashable {
        /// The most admitted in any window; also the largest cost.
        public var limit: Int
        /// The length of the window.
        public var window: Duration

        /// Creates a configuration.
        public init(limit: Int, window: Duration) {
            self.limit = limit
            self.window = window
        }
    }

    /// The log and its total.
    public struct State: Sendable, Hashable {
        /// The admitted entries, oldest first (some may have left the window since the last step).
        public var log: LogRing
        /// The sum of the entries' costs.
        public var total: Int64
        /// The latest clock reading the algorithm has taken into account.
        public var updatedAt: Int64

        /// Creates a state.
        @inlinable
        public init(log: LogRing, total: Int64, updatedAt: Int64) {
            self.log = log
            self.total = total
            self.updatedAt = updatedAt
        }
    }

    /// The configuration the algorithm was created with.
    public let configuration: Configuration
    /// The window's length in nanoseconds.
    @usableFromInline let length: Int64
    /// The log.
    public var state: State

    /// The most admitted in any window.
    public var limit: Int { configuration.limit }

    /// The latest clock reading the algorithm has taken into account.
    @inlinable
    public var updatedAt: Int64 { state.updatedAt }

    /// Creates an empty log at the clock reading `now`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when `limit` is below 1 or above
    ///   `Int64.max / 8`, or `window` is not a positive whole number of nanoseconds.
    public init(configuration: Configuration, now: Int64) throws(BulwarkError) {
        _ = try Validation.limit(configuration.limit, field: "limit")
        length = try Validation.positiveNanoseconds(configuration.window, field: "window")
        self.configuration = configuration
        self.state = State(log: LogRing(), total: 0, updatedAt: now)
    }

    /// The most entries the log may need: one per unit of cost, twice the limit with debt.
    @inlinable
    var bound: Int { 2 * configuration.limit }

    /// Forgets the entries that have left the window at `time`, and returns the reading and lag.
    @inlinable @inline(__always)
    mutating func advance(to now: Int64) -> (time: Int64, lag: Int64) {
        let time = timeOfStep(at: now)
        state.updatedAt = time
        let oldest = time.subtractingSaturating(length)
        state.total &-= state.log.removeEntries(atOrBefore: oldest)
        return (time, time &- now)
    }

    /// Logs `cost` at `now` if the window's total stays within the limit.
    @inlinable @inline(__always)
    public mutating func tryConsume(_ cost: Int, at now: Int64) -> RateLimitDecision {
        guard cost > 0, cost <= configuration.limit else {
            return snapshot(at: now, retryAfterNanoseconds: cost == 0 ? 0 : .max)
        }
        let (time, lag) = advance(to: now)
        if state.total &+ Int64(cost) <= Int64(configuration.limit) {
            state.log.append(time: time, cost: Int64(cost), bound: bound)
            state.total &+= Int64(cost)
            return decision(allowed: true, total: state.total, at: time, lag: lag, retryAfter: 0)
        }
        let wait = leaving(state.total &+ Int64(cost) &- Int64(configuration.limit), at: time, first: 0)
        return decision(allowed: false, total: state.total, at: time, lag: lag, retryAfter: lag &+ wait)
    }

    /// Nanoseconds from `time` until the oldest entries (from index `first`) holding `need` have
    /// left the window; `Int64.max` if they hold less.
    @inlinable
    func leaving(_ need: Int64, at time: Int64, first: Int) -> Int64 {
        var freed: Int64 = 0
        var index = first
        while index < state.log.count {
            freed &+= state.log[index].cost
            if freed >= need { return state.log[index].time &+ length &- time }
            index &+= 1
        }
        return .max
    }

    /// Unlogs `amount` of the entry admitted at `admittedAt`, if it is still in the window.
    public mutating func refund(_ amount: Int, admittedAt: Int64, at now: Int64) {
        _ = advance(to: now)
        guard let index = state.log.index(of: admittedAt) else { return }
        let back = min(state.log[index].cost, Int64(clamping: max(0, amount)))
        state.log[index].cost &-= back
        state.total &-= back
        if state.log[index].cost == 0 { state.log.remove(at: index) }
    }

    /// Logs `amount` even past the limit, up to twice the limit: debt until it leaves the window.
    public mutating func charge(_ amount: Int, at now: Int64) {
        let (time, _) = advance(to: now)
        let take = min(Int64(clamping: max(0, amount)), 2 * Int64(configuration.limit) &- state.total)
        guard take > 0 else { return }
        state.log.append(time: time, cost: take, bound: bound)
        state.total &+= take
    }

    /// The index of the oldest entry still in the window at `time`, and the total from it on.
    @inlinable
    func live(at time: Int64) -> (first: Int, total: Int64) {
        let oldest = time.subtractingSaturating(length)
        var first = 0
        var total = state.total
        while first < state.log.count, state.log[first].time <= oldest {
            total &-= state.log[first].cost
            first &+= 1
        }
        return (first, total)
    }

    /// Nanoseconds from `now` until `amount` could be logged (an amount above the limit: until
    /// that much could have been admitted in turn, a window's worth at a time, once the log is empty).
    public func nanosecondsUntilAvailable(_ amount: Int, at now: Int64) -> Int64 {
        let time = timeOfStep(at: now)
        let (first, total) = live(at: time)
        let limit = Int64(configuration.limit)
        let need = total.addingSaturating(Int64(clamping: amount)) &- limit
        guard need > 0 else { return 0 }
        let lag = time &- now
        if Int64(clamping: amount) <= limit {
            return lag.addingSaturating(leaving(need, at: time, first: first))
        }
        let empty = total > 0 ? state.log[state.log.count &- 1].time &+ length &- time : 0
        let windows = (Int64(clamping: amount) &- limit).dividedRoundingUp(by: limit)
        return lag.addingSaturating(empty).addingSaturating(windows.multipliedSaturating(by: length))
    }

    /// The figures at `now` without logging anything.
    public func snapshot(at now: Int64, retryAfterNanoseconds: Int64) -> RateLimitDecision {
        let time = timeOfStep(at: now)
        return decision(
            allowed: retryAfterNanoseconds == 0, total: live(at: time).total, at: time, lag: time &- now,
            retryAfter: retryAfterNanoseconds
        )
    }

    /// An empty log at `now` (it allocates nothing until something is logged).
    public func freshState(at now: Int64) -> State {
        State(log: LogRing(), total: 0, updatedAt: now)
    }

    /// Whether nothing in the log still counts at `now`.
    public func isFresh(at now: Int64) -> Bool {
        live(at: timeOfStep(at: now)).total == 0
    }

    /// `remaining` is the room left in the window (which holds `total` at `time`); `resetAfter` the
    /// time until the newest entry leaves it.
    @inlinable
    func decision(allowed: Bool, total: Int64, at time: Int64, lag: Int64, retryAfter: Int64) -> RateLimitDecision {
        let reset = total > 0 ? state.log[state.log.count &- 1].time &+ length &- time : 0
        return RateLimitDecision(
            isAllowed: allowed,
            limit: configuration.limit,
            remaining: Int64(configuration.limit) &- total,
            retryAfterNanoseconds: retryAfter,
            resetAfterNanoseconds: lag &+ reset
        )
    }
}

public import BulwarkCore
public import BulwarkEngine

/// The fixed-window counter: at most `limit` per window, windows aligned to an epoch, the count
/// reset exactly at each boundary.
///
/// Window `k` is `[epoch + k × window, epoch + (k + 1) × window)`; the window a reading falls in is
/// computed from the reading itself, so a window never admits more than `limit`, the first one
/// included, however late or early calls arrive. (.NET's `FixedWindowRateLimiter` moves its window
/// on a timer that is not aligned with the time the first permits were given, and so can admit
/// twice its limit in its first window.) The epoch defaults to the moment the limiter is created;
/// set it to align windows with, say, the start of each wall-clock minute.
///
/// Like every fixed window it admits up to twice the limit in a span of one window that straddles
/// a boundary (the end of one window and the start of the next); when that matters, use a sliding
/// window.
///
///     var window = try FixedWindow(configuration: .init(limit: 100, window: .seconds(60)), now: 0)
///     window.tryConsume(1, at: 0).remaining        // 99
public struct FixedWindow: RateLimitAlgorithm, Hashable {
    /// The configuration of a fixed window.
    public struct Configuration: Sendable, Hashable {
        /// The most admitted per window; also the largest cost.
        public var limit: Int
        /// The length of a window.
        public var window: Duration
        /// The clock reading at which a window starts; `nil` means the moment the algorithm is
        /// created. Windows start every ``window`` before and after it.
        public var epochNanoseconds: Int64?

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - limit: The most admitted per window.
        ///   - window: The length of a window.
        ///   - epochNanoseconds: A clock reading at which a window starts; the creation time if `nil`.
        public init(limit: Int, window: Duration, epochNanoseconds: Int64? = nil) {
            self.limit = limit
            self.window = window
            self.epochNanoseconds = epochNanoseconds
        }
    }

    /// The current window and what it has admitted.
    public struct State: Sendable, Hashable {
        /// The index of the window the count belongs to.
        public var window: Int64
        /// What the window has admitted (above the limit while in debt).
        public var count: Int64
        /// The latest clock reading the algorithm has taken into account.
        public var updatedAt: Int64

        /// Creates a state.
        @inlinable
        public init(window: Int64, count: Int64, updatedAt: Int64) {
            self.window = window
            self.count = count
            self.updatedAt = updatedAt
        }
    }

    /// The configuration the algorithm was created with.
    public let configuration: Configuration
    /// The windows, aligned to the epoch.
    @usableFromInline let grid: TimeGrid
    /// The window and its count.
    public var state: State

    /// The most admitted per window.
    public var limit: Int { configuration.limit }

    /// The latest clock reading the algorithm has taken into account.
    @inlinable
    public var updatedAt: Int64 { state.updatedAt }

    /// Creates an empty window at the clock reading `now`.
    ///
    /// The epoch must be within 2⁶² ns (about 146 years) of `now`, and `now` within 2⁶² ns of
    /// zero: beyond that the window arithmetic would saturate, so such a configuration is refused
    /// naming `epochNanoseconds` (or `clock`) rather than answered wrongly.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when `limit` is below 1 or above
    ///   `Int64.max / 8`, or `window` is not a positive whole number of nanoseconds.
    public init(configuration: Configuration, now: Int64) throws(BulwarkError) {
        _ = try Validation.limit(configuration.limit, field: "limit")
        let length = try Validation.positiveNanoseconds(configuration.window, field: "window")
        grid = try TimeGrid.checked(epoch: configuration.epochNanoseconds, length: length, now: now)
        self.configuration = configuration
        self.state = State(window: 0, count: 0, updatedAt: now)
        state.window = window(at: now)
    }

    /// The index of the window holding the reading `time`.
    @inlinable
    func window(at time: Int64) -> Int64 {
        grid.index(at: time)
    }

    /// The clock reading at which window `index` ends.
    @inlinable
    func end(of index: Int64) -> Int64 {
        grid.start(of: index &+ 1)
    }

    /// The window holding `time` (no earlier than the state's reading); divides only when the
    /// reading has left the state's window.
    @inlinable
    func current(at time: Int64) -> Int64 {
        time < end(of: state.window) ? state.window : window(at: time)
    }

    /// Moves to the window holding `now` (never back), and returns the reading used and the lag.
    @inlinable @inline(__always)
    mutating func advance(to now: Int64) -> (time: Int64, lag: Int64) {
        let time = timeOfStep(at: now)
        state.updatedAt = time
        let current = current(at: time)
        if current != state.window {
            state.window = current
            state.count = 0
        }
        return (time, time &- now)
    }

    /// Counts `cost` in the window holding `now` if it stays within the limit.
    @inlinable @inline(__always)
    public mutating func tryConsume(_ cost: Int, at now: Int64) -> RateLimitDecision {
        guard cost > 0, cost <= configuration.limit else {
            return snapshot(at: now, retryAfterNanoseconds: cost == 0 ? 0 : .max)
        }
        let (time, lag) = advance(to: now)
        if state.count &+ Int64(cost) <= Int64(configuration.limit) {
            state.count &+= Int64(cost)
            return decision(allowed: true, window: state.window, count: state.count, at: time, lag: lag, retryAfter: 0)
        }
        let wait = end(of: state.window) &- time
        return decision(allowed: false, window: state.window, count: state.count, at: time, lag: lag, retryAfter: lag &+ wait)
    }

    /// Uncounts `amount` if it was admitted in the current window.
    public mutating func refund(_ amount: Int, admittedAt: Int64, at now: Int64) {
        _ = advance(to: now)
        if window(at: admittedAt) == state.window {
            state.count = max(0, state.count &- Int64(clamping: max(0, amount)))
        }
    }

    /// Counts `amount` even past the limit, up to twice the limit: debt until the window ends.
    public mutating func charge(_ amount: Int, at now: Int64) {
        _ = advance(to: now)
        state.count = min(2 * Int64(configuration.limit), state.count &+ Int64(clamping: max(0, min(amount, 2 * configuration.limit))))
    }

    /// Nanoseconds from `now` until `amount` could be counted (an amount above the limit: until
    /// that much has been admitted in turn, one full window after another).
    public func nanosecondsUntilAvailable(_ amount: Int, at now: Int64) -> Int64 {
        let time = timeOfStep(at: now)
        let current = current(at: time)
        let count = current == state.window ? state.count : 0
        let limit = Int64(configuration.limit)
        // What the current window still takes; the rest fills later windows, `limit` each (a count
        // past the limit, debt, is forgotten at the boundary like any other).
        let rest = Int64(clamping: amount).subtractingSaturating(max(0, limit &- count))
        guard rest > 0 else { return 0 }
        let windows = rest.dividedRoundingUp(by: limit) &- 1
        let start = end(of: current).addingSaturating(windows.multipliedSaturating(by: grid.length))
        return (time &- now).addingSaturating(start &- time)
    }

    /// The figures at `now` without counting anything.
    public func snapshot(at now: Int64, retryAfterNanoseconds: Int64) -> RateLimitDecision {
        let time = timeOfStep(at: now)
        let current = current(at: time)
        let count = current == state.window ? state.count : 0
        return decision(
            allowed: retryAfterNanoseconds == 0, window: current, count: count, at: time, lag: time &- now,
            retryAfter: retryAfterNanoseconds
        )
    }

    /// An empty window at `now`.
    public func freshState(at now: Int64) -> State {
        State(window: window(at: now), count: 0, updatedAt: now)
    }

    /// Whether nothing counts in the window holding `now`.
    public func isFresh(at now: Int64) -> Bool {
        current(at: timeOfStep(at: now)) != state.window || state.count == 0
    }

    /// `remaining` is the room left in the window; `resetAfter` the time until it ends (0 when
    /// nothing is counted).
    @inlinable
    func decision(allowed: Bool, window: Int64, count: Int64, at time: Int64, lag: Int64, retryAfter: Int64) -> RateLimitDecision {
        let reset = count > 0 ? end(of: window) &- time : 0
        return RateLimitDecision(
            isAllowed: allowed,
            limit: configuration.limit,
            remaining: Int64(configuration.limit) &- count,
            retryAfterNanoseconds: retryAfter,
            resetAfterNanoseconds: lag &+ reset
        )
    }
}

/// A thread-safe fixed-window limiter with a waiting queue: ``FixedWindow`` run by
/// `InMemoryRateLimiter`.
///
///     let limiter = try FixedWindowRateLimiter(limit: 100, window: .seconds(60))
///     let decision = try limiter.tryAcquire()
public typealias FixedWindowRateLimiter<C: NanosecondClock> = InMemoryRateLimiter<FixedWindow, C>

extension InMemoryRateLimiter where Algorithm == FixedWindow {
    /// Creates a fixed-window limiter on `clock`.
    ///
    /// - Parameters:
    ///   - limit: The most admitted per window.
    ///   - window: The length of a window.
    ///   - epochNanoseconds: A clock reading at which a window starts; now if `nil`.
    ///   - queueLimit: The most callers `acquire` may queue.
    ///   - order: The order in which queued callers are served; FIFO by default.
    ///   - clock: The clock to read and to sleep on.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(
        limit: Int,
        window: Duration,
        epochNanoseconds: Int64? = nil,
        queueLimit: Int = defaultQueueLimit,
        order: any WaitOrder = FIFOWaitOrder(),
        clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        try self.init(
            configuration: .init(limit: limit, window: window, epochNanoseconds: epochNanoseconds),
            queueLimit: queueLimit, order: order, clock: clock
        )
    }
}


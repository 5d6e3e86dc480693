public import BulwarkCore
public import BulwarkEngine

/// The sliding-window counter: Cloudflare's approximation of a sliding window from two fixed
/// windows' counts, the previous one weighted by how much of it the sliding window still overlaps.
///
/// At `e` nanoseconds into the current window the estimate is
/// `previous × (window − e) / window + current`; a request is admitted if the estimate plus its
/// cost stays within `limit`. It keeps three integers, whatever the traffic, and is exact about
/// its own estimate (integer arithmetic, and an exact retry-after: the first nanosecond at which
/// the decaying estimate lets the request in, possibly one or two windows later).
///
/// The estimate assumes the previous window's requests were spread evenly. When they were not, it
/// errs either way. If they all came at the very end of the previous window, the estimate lets in
/// `limit × e / window` more by `e` into the current one while all of them still count in the true
/// sliding window: its true count reaches `limit × (1 + e / window)`, approaching **twice the
/// limit** just before the current window ends (the worst case). If they all came at its start, it
/// refuses requests the exact log would admit. On realistic traffic the error is small; the guide
/// measures it against ``SlidingWindowLog`` on a trace.
///
///     var counter = try SlidingWindowCounter(configuration: .init(limit: 100, window: .seconds(60)), now: 0)
///     counter.tryConsume(1, at: 0).remaining        // 99
public struct SlidingWindowCounter: RateLimitAlgorithm, Hashable {
    /// The configuration of a sliding-window counter.
    public struct Configuration: Sendable, Hashable {
        /// The most admitted in a window (as estimated); also the largest cost.
        public var limit: Int
        /// The length of the window.
        public var window: Duration
        /// The clock reading at which a fixed window starts; `nil` means the moment the algorithm is
        /// created.
        public var epochNanoseconds: Int64?

        /// Creates a configuration.
        public init(limit: Int, window: Duration, epochNanoseconds: Int64? = nil) {
            self.limit = limit
            self.window = window
            self.epochNanoseconds = epochNanoseconds
        }
    }

    /// The counts of the current and the previous fixed window.
    public struct State: Sendable, Hashable {
        /// The index of the current fixed window.
        public var window: Int64
        /// What the previous window admitted.
        public var previous: Int64
        /// What the current window has admitted.
        public var current: Int64
        /// The latest clock reading the algorithm has taken into account.
        public var updatedAt: Int64

        /// Creates a state.
        @inlinable
        public init(window: Int64, previous: Int64, current: Int64, updatedAt: Int64) {
            self.window = window
            self.previous = previous
            self.current = current
            self.updatedAt = updatedAt
        }
    }

    /// The configuration the algorithm was created with.
    public let configuration: Configuration
    /// The fixed windows, aligned to the epoch.
    @usableFromInline let grid: TimeGrid
    /// The counts.
    public var state: State

    /// The most admitted in a window.
    public var limit: Int { configuration.limit }

    /// The latest clock reading the algorithm has taken into account.
    @inlinable
    public var updatedAt: Int64 { state.updatedAt }

    /// Creates empty windows at the clock reading `now`.
    ///
    /// The epoch must be within 2⁶² ns (about 146 years) of `now`, and `now` within 2⁶² ns of
    /// zero: beyond that the window arithmetic would saturate, so such a configuration is refused
    /// naming `epochNanoseconds` (or `clock`) rather than answered wrongly.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when `limit` is below 1 or above
    ///   `Int64.max / 8`, `window` is not a positive whole number of nanoseconds, or
    ///   `limit × window` exceeds 1.15 × 10¹⁸ (the estimate is computed exactly in units of
    ///   1/window).
    public init(configuration: Configuration, now: Int64) throws(BulwarkError) {
        _ = try Validation.limit(configuration.limit, field: "limit")
        let length = try Validation.positiveNanoseconds(configuration.window, field: "window")
        _ = try Validation.exactProduct(
            configuration.limit, length, field: "limit", rule: "× window", got: "\(configuration.limit) × \(length) ns"
        )
        self.configuration = configuration
        self.grid = try TimeGrid.checked(epoch: configuration.epochNanoseconds, length: length, now: now)
        self.state = State(window: grid.index(at: now), previous: 0, current: 0, updatedAt: now)
    }

    /// The counts as they stand at `time` (no earlier than the state's reading); divides only when
    /// the reading is more than a window past the state's.
    @inlinable
    func counts(at time: Int64) -> State {
        var counts = state
        let next = grid.start(of: state.window &+ 1)
        let window = time < next ? state.window : time < next.addingSaturating(grid.length) ? state.window &+ 1 : grid.index(at: time)
        if window == state.window &+ 1 {
            counts.previous = state.current
            counts.current = 0
        } else if window != state.window {
            counts.previous = 0
            counts.current = 0
        }
        counts.window = window
        counts.updatedAt = time
        return counts
    }

    /// The estimate at `time`, times the window length: `previous × (window − e) + current × window`.
    @inlinable
    func weighted(_ counts: State, at time: Int64) -> Int64 {
        let elapsed = time &- grid.start(of: counts.window)
        return counts.previous &* (grid.length &- elapsed) &+ counts.current &* grid.length
    }

    /// Counts `cost` in the current window if the estimate plus the cost stays within the limit.
    @inlinable @inline(__always)
    public mutating func tryConsume(_ cost: Int, at now: Int64) -> RateLimitDecision {
        let time = timeOfStep(at: now)
        let lag = time &- now
        guard cost > 0, cost <= configuration.limit else {
            return snapshot(at: now, retryAfterNanoseconds: cost == 0 ? 0 : .max)
        }
        state = counts(at: time)
        let room = Int64(configuration.limit) &* grid.length &- weighted(state, at: time)
        if Int64(cost) &* grid.length <= room {
            state.current &+= Int64(cost)
            return decision(allowed: true, at: time, lag: lag, retryAfter: 0)
        }
        return decision(allowed: false, at: time, lag: lag, retryAfter: lag &+ wait(for: Int64(cost), counts: state, at: time))
    }

    /// The first nanosecond after `time` at which the estimate lets `cost` (at most the limit) in,
    /// as the windows roll and nothing else is admitted: in this window, the next, or the one after
    /// (empty by then).
    @usableFromInline
    func wait(for cost: Int64, counts: State, at time: Int64) -> Int64 {
        let limit = Int64(configuration.limit)
        let length = grid.length
        let untilNext = grid.start(of: counts.window &+ 1) &- time
        // In this window: previous × (untilNext − x) ≤ (limit − current − cost) × length.
        let room = limit &- counts.current &- cost
        if room >= 0 {
            if counts.previous == 0 { return 0 }
            let x = untilNext &- (room &* length) / counts.previous
            if x < untilNext { return max(0, x) }
        }
        // In the next: current × (length − e) ≤ (limit − cost) × length, the current count now
        // being the previous one.
        if counts.current == 0 { return untilNext }
        let e = length &- ((limit &- cost) &* length) / counts.current
        if e < length { return untilNext &+ max(0, e) }
        // The one after: both counts have gone.
        return untilNext &+ length
    }

    /// Uncounts `amount` from the window it was admitted in, if that is the current or the previous one.
    public mutating func refund(_ amount: Int, admittedAt: Int64, at now: Int64) {
        state = counts(at: timeOfStep(at: now))
        let back = Int64(clamping: max(0, amount))
        switch grid.index(at: admittedAt) {
        case state.window: state.current = max(0, state.current &- back)
        case state.window &- 1: state.previous = max(0, state.previous &- back)
        default: break
        }
    }

    /// Counts `amount` in the current window even past the limit, up to twice the limit.
    public mutating func charge(_ amount: Int, at now: Int64) {
        state = counts(at: timeOfStep(at: now))
        let cap = 2 * Int64(configuration.limit)
        state.current = min(cap, state.current &+ Int64(clamping: max(0, min(amount, 2 * configuration.limit))))
    }

    /// Nanoseconds from `now` until `amount` could be counted (an amount above the limit: until
    /// the estimate is 0, then a window per further limit's worth).
    public func nanosecondsUntilAvailable(_ amount: Int, at now: Int64) -> Int64 {
        let time = timeOfStep(at: now)
        let lag = time &- now
        let counts = counts(at: time)
        let limit = Int64(configuration.limit)
        let need = Int64(clamping: amount)
        if need <= limit {
            let room = limit &* grid.length &- weighted(counts, at: time)
            if need &* grid.length <= room { return 0 }
            return lag.addingSaturating(wait(for: need, counts: counts, at: time))
        }
        let windows = (need &- limit).dividedRoundingUp(by: limit)
        return lag.addingSaturating(reset(counts, at: time)).addingSaturating(windows.multipliedSaturating(by: grid.length))
    }

    /// The figures at `now` without counting anything.
    public func snapshot(at now: Int64, retryAfterNanoseconds: Int64) -> RateLimitDecision {
        let time = timeOfStep(at: now)
        var copy = self
        copy.state = counts(at: time)
        return copy.decision(allowed: retryAfterNanoseconds == 0, at: time, lag: time &- now, retryAfter: retryAfterNanoseconds)
    }

    /// Empty windows at `now`.
    public func freshState(at now: Int64) -> State {
        State(window: grid.index(at: now), previous: 0, current: 0, updatedAt: now)
    }

    /// Whether both windows are empty at `now`: the estimate is 0 and stays 0.
    public func isFresh(at now: Int64) -> Bool {
        let counts = counts(at: timeOfStep(at: now))
        return counts.previous == 0 && counts.current == 0
    }

    /// Nanoseconds from `time` until the estimate is 0: the current count weighs until the end of
    /// the next window, the previous one until the end of this one.
    @inlinable
    func reset(_ counts: State, at time: Int64) -> Int64 {
        let untilNext = grid.start(of: counts.window &+ 1) &- time
        if counts.current > 0 { return untilNext &+ grid.length }
        return counts.previous > 0 ? untilNext : 0
    }

    /// `remaining` is the whole room left under the estimate; `resetAfter` the time until it is 0.
    @inlinable
    func decision(allowed: Bool, at time: Int64, lag: Int64, retryAfter: Int64) -> RateLimitDecision {
        RateLimitDecision(
            isAllowed: allowed,
            limit: configuration.limit,
            remainingUnits: Int64(configuration.limit) &* grid.length &- weighted(state, at: time),
            unitsPerPermit: grid.length,
            missingUnits: 0,
            unitsPerNanosecond: 1,
            resetBaseNanoseconds: lag &+ reset(state, at: time),
            retryAfterNanoseconds: retryAfter
        )
    }
}

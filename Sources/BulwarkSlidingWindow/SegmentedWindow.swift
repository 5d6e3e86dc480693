public import BulwarkCore
public import BulwarkEngine

/// The segmented sliding window: the window is cut into `segments` equal segments (12 of 5 s for a
/// minute), each counting what was admitted in it; a request is admitted if the segments of the
/// last window, the current one included, plus its cost stay within `limit`.
///
/// This is the form LLM gateways use for requests and tokens per minute: memory is one counter
/// per segment whatever the traffic, and the window slides a segment at a time, so it never admits
/// more than `limit` in any span of `window − segment` and at most `limit` in each aligned run of
/// `segments` segments. A segment's count leaves the window whole, at the moment the segment falls
/// out of it; the retry-after of a denied request is exactly the moment enough old segments have
/// left. With one segment it is the fixed window.
///
///     var window = try SegmentedWindow(
///         configuration: .init(limit: 90_000, window: .seconds(60), segments: 12), now: 0)
///     window.tryConsume(1_200, at: 0).remaining        // 88,800
public struct SegmentedWindow: RateLimitAlgorithm, Hashable {
    /// The configuration of a segmented window.
    public struct Configuration: Sendable, Hashable {
        /// The most admitted in the window; also the largest cost.
        public var limit: Int
        /// The length of the window.
        public var window: Duration
        /// How many segments the window is cut into (the window must divide evenly).
        public var segments: Int
        /// The clock reading at which a segment starts; `nil` means the moment the algorithm is
        /// created.
        public var epochNanoseconds: Int64?

        /// Creates a configuration.
        public init(limit: Int, window: Duration, segments: Int, epochNanoseconds: Int64? = nil) {
            self.limit = limit
            self.window = window
            self.segments = segments
            self.epochNanoseconds = epochNanoseconds
        }
    }

    /// The segments' counts.
    public struct State: Sendable, Hashable {
        /// The index of the newest segment the counts reach.
        public var segment: Int64
        /// The count of that newest segment (kept out of ``counts``, so that counting touches no array).
        public var current: Int64
        /// The slot of ``counts`` that belongs to the newest segment (unused while it is the
        /// newest); the older segments precede it, wrapping.
        public var slot: Int
        /// The counts of the older segments of the window.
        public var counts: [Int64]
        /// The sum of all the window's counts, ``current`` included.
        public var total: Int64
        /// The latest clock reading the algorithm has taken into account.
        public var updatedAt: Int64

        /// Creates a state.
        @inlinable
        public init(segment: Int64, current: Int64, slot: Int, counts: [Int64], total: Int64, updatedAt: Int64) {
            self.segment = segment
            self.current = current
            self.slot = slot
            self.counts = counts
            self.total = total
            self.updatedAt = updatedAt
        }
    }

    /// The configuration the algorithm was created with.
    public let configuration: Configuration
    /// The segments, aligned to the epoch.
    @usableFromInline let grid: TimeGrid
    /// The segments' counts.
    public var state: State

    /// The most admitted in the window.
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
    ///   `Int64.max / 8`, `window` is not a positive whole number of nanoseconds, `segments` is not
    ///   between 1 and 4,096, or `window` is not a whole multiple of `segments` nanoseconds.
    public init(configuration: Configuration, now: Int64) throws(BulwarkError) {
        _ = try Validation.limit(configuration.limit, field: "limit")
        let length = try Validation.positiveNanoseconds(configuration.window, field: "window")
        guard (1 ... 4_096).contains(configuration.segments) else {
            throw .invalidConfiguration(field: "segments", rule: "must be between 1 and 4096 (got \(configuration.segments))")
        }
        guard length % Int64(configuration.segments) == 0 else {
            throw .invalidConfiguration(
                field: "window",
                rule: "must be a whole multiple of segments \(configuration.segments) nanoseconds (got \(length) ns)"
            )
        }
        self.configuration = configuration
        self.grid = try TimeGrid.checked(epoch: configuration.epochNanoseconds, length: length / Int64(configuration.segments), now: now)
        self.state = State(
            segment: grid.index(at: now), current: 0, slot: 0, counts: Array(repeating: 0, count: configuration.segments),
            total: 0, updatedAt: now
        )
    }

    /// The number of segments, as an `Int64`.
    @inlinable
    var segments: Int64 { Int64(configuration.segments) }

    /// The newest segment at `time` (no earlier than the state's reading); divides only when the
    /// reading has left the state's newest segment.
    @inlinable
    func newest(at time: Int64) -> Int64 {
        time < grid.start(of: state.segment &+ 1) ? state.segment : grid.index(at: time)
    }

    /// Where the count of `segment` (one of the state's last `segments`) is kept.
    @inlinable
    func slot(of segment: Int64) -> Int {
        let slot = state.slot &- Int(state.segment &- segment)
        return slot < 0 ? slot &+ configuration.segments : slot
    }

    /// The count of `segment` once the window has moved to `newest`.
    @inlinable
    func count(of segment: Int64, upTo newest: Int64) -> Int64 {
        guard segment <= state.segment, segment > state.segment &- segments, segment > newest &- segments else { return 0 }
        return segment == state.segment ? state.current : state.counts[slot(of: segment)]
    }

    /// The window's total once it has moved to `newest`.
    @inlinable
    func total(upTo newest: Int64) -> Int64 {
        guard newest != state.segment else { return state.total }
        if newest &- state.segment >= segments { return 0 }
        var total = state.total
        var leaving = state.segment &- segments &+ 1
        while leaving <= newest &- segments {
            total &-= state.counts[slot(of: leaving)]
            leaving &+= 1
        }
        return total
    }

    /// Moves the window to the segment holding `now` (never back), forgetting the segments that
    /// fall out of it; returns the reading and the lag.
    @inlinable @inline(__always)
    mutating func advance(to now: Int64) -> (time: Int64, lag: Int64) {
        let time = timeOfStep(at: now)
        state.updatedAt = time
        let newest = newest(at: time)
        if newest != state.segment {
            let steps = newest &- state.segment
            if steps >= segments {
                for index in state.counts.indices { state.counts[index] = 0 }
                state.total = 0
                state.slot = 0
            } else {
                state.total = total(upTo: newest)
                state.counts[state.slot] = state.current  // the newest segment becomes an older one
                for _ in 0 ..< Int(steps) {
                    state.slot = state.slot &+ 1 == configuration.segments ? 0 : state.slot &+ 1
                    state.counts[state.slot] = 0
                }
            }
            state.current = 0
            state.segment = newest
        }
        return (time, time &- now)
    }

    /// Counts `cost` in the current segment if the window's total stays within the limit.
    @inlinable @inline(__always)
    public mutating func tryConsume(_ cost: Int, at now: Int64) -> RateLimitDecision {
        guard cost > 0, cost <= configuration.limit else {
            return snapshot(at: now, retryAfterNanoseconds: cost == 0 ? 0 : .max)
        }
        let (time, lag) = advance(to: now)
        if state.total &+ Int64(cost) <= Int64(configuration.limit) {
            state.current &+= Int64(cost)
            state.total &+= Int64(cost)
            // The newest segment now counts, so the window empties when it leaves.
            return RateLimitDecision(
                isAllowed: true, limit: configuration.limit, remaining: Int64(configuration.limit) &- state.total,
                retryAfterNanoseconds: 0, resetAfterNanoseconds: lag &+ grid.start(of: state.segment &+ segments) &- time
            )
        }
        let wait = leaving(state.total &+ Int64(cost) &- Int64(configuration.limit), newest: state.segment, at: time)
        return decision(allowed: false, newest: state.segment, at: time, lag: lag, retryAfter: lag &+ wait)
    }

    /// Nanoseconds from `time` until the oldest segments holding `need` have left the window that
    /// ends with segment `newest`; `Int64.max` if the window holds less.
    @inlinable
    func leaving(_ need: Int64, newest: Int64, at time: Int64) -> Int64 {
        var freed: Int64 = 0
        var step: Int64 = 1
        while step <= segments {
            freed &+= count(of: newest &- segments &+ step, upTo: newest)
            if freed >= need { return grid.start(of: newest &+ step) &- time }
            step &+= 1
        }
        return .max
    }

    /// Uncounts `amount` from the segment it was admitted in, if that is still in the window.
    public mutating func refund(_ amount: Int, admittedAt: Int64, at now: Int64) {
        _ = advance(to: now)
        let segment = grid.index(at: admittedAt)
        guard segment <= state.segment, segment > state.segment &- segments else { return }
        let back = min(count(of: segment, upTo: state.segment), Int64(clamping: max(0, amount)))
        if segment == state.segment {
            state.current &-= back
        } else {
            state.counts[slot(of: segment)] &-= back
        }
        state.total &-= back
    }

    /// Counts `amount` in the current segment even past the limit, up to twice the limit.
    public mutating func charge(_ amount: Int, at now: Int64) {
        _ = advance(to: now)
        let take = min(Int64(clamping: max(0, amount)), 2 * Int64(configuration.limit) &- state.total)
        guard take > 0 else { return }
        state.current &+= take
        state.total &+= take
    }

    /// Nanoseconds from `now` until `amount` could be counted (an amount above the limit: until
    /// the window is empty, then a window per further limit's worth).
    public func nanosecondsUntilAvailable(_ amount: Int, at now: Int64) -> Int64 {
        let time = timeOfStep(at: now)
        let lag = time &- now
        let newest = newest(at: time)
        let total = total(upTo: newest)
        let limit = Int64(configuration.limit)
        let need = total.addingSaturating(Int64(clamping: amount)) &- limit
        guard need > 0 else { return 0 }
        if Int64(clamping: amount) <= limit {
            return lag.addingSaturating(leaving(need, newest: newest, at: time))
        }
        let windows = (Int64(clamping: amount) &- limit).dividedRoundingUp(by: limit)
        let window = grid.length &* segments
        return lag.addingSaturating(reset(newest: newest, at: time)).addingSaturating(windows.multipliedSaturating(by: window))
    }

    /// The figures at `now` without counting anything.
    public func snapshot(at now: Int64, retryAfterNanoseconds: Int64) -> RateLimitDecision {
        let time = timeOfStep(at: now)
        return decision(allowed: retryAfterNanoseconds == 0, newest: newest(at: time), at: time, lag: time &- now, retryAfter: retryAfterNanoseconds)
    }

    /// An empty window at `now`.
    public func freshState(at now: Int64) -> State {
        State(
            segment: grid.index(at: now), current: 0, slot: 0, counts: Array(repeating: 0, count: configuration.segments),
            total: 0, updatedAt: now
        )
    }

    /// Whether nothing counts in the window at `now`.
    public func isFresh(at now: Int64) -> Bool {
        total(upTo: newest(at: timeOfStep(at: now))) == 0
    }

    /// Nanoseconds from `time` until the newest segment with a count leaves the window that ends
    /// with segment `newest` (0 if none).
    @inlinable
    func reset(newest: Int64, at time: Int64) -> Int64 {
        var segment = newest
        while segment > newest &- segments {
            if count(of: segment, upTo: newest) > 0 { return grid.start(of: segment &+ segments) &- time }
            segment &-= 1
        }
        return 0
    }

    /// `remaining` is the room left in the window; `resetAfter` the time until it is empty.
    @inlinable
    func decision(allowed: Bool, newest: Int64, at time: Int64, lag: Int64, retryAfter: Int64) -> RateLimitDecision {
        RateLimitDecision(
            isAllowed: allowed,
            limit: configuration.limit,
            remaining: Int64(configuration.limit) &- total(upTo: newest),
            retryAfterNanoseconds: retryAfter,
            resetAfterNanoseconds: lag &+ reset(newest: newest, at: time)
        )
    }
}

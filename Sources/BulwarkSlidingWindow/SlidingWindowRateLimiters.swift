public import BulwarkCore
public import BulwarkEngine

/// A thread-safe sliding-window log with a waiting queue: ``SlidingWindowLog`` run by
/// `InMemoryRateLimiter`.
///
///     let limiter = try SlidingWindowLogRateLimiter(limit: 100, window: .seconds(60))
public typealias SlidingWindowLogRateLimiter<C: NanosecondClock> = InMemoryRateLimiter<SlidingWindowLog, C>

/// A thread-safe sliding-window counter with a waiting queue: ``SlidingWindowCounter`` run by
/// `InMemoryRateLimiter`.
///
///     let limiter = try SlidingWindowCounterRateLimiter(limit: 100, window: .seconds(60))
public typealias SlidingWindowCounterRateLimiter<C: NanosecondClock> = InMemoryRateLimiter<SlidingWindowCounter, C>

/// A thread-safe segmented sliding window with a waiting queue: ``SegmentedWindow`` run by
/// `InMemoryRateLimiter`.
///
///     let tokensPerMinute = try SegmentedWindowRateLimiter(limit: 90_000, window: .seconds(60), segments: 12)
public typealias SegmentedWindowRateLimiter<C: NanosecondClock> = InMemoryRateLimiter<SegmentedWindow, C>

extension InMemoryRateLimiter where Algorithm == SlidingWindowLog {
    /// Creates a sliding-window log on `clock`.
    ///
    /// - Parameters:
    ///   - limit: The most admitted in any window.
    ///   - window: The length of the window.
    ///   - queueLimit: The most callers `acquire` may queue.
    ///   - order: The order in which queued callers are served; FIFO by default.
    ///   - clock: The clock to read and to sleep on.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(
        limit: Int, window: Duration, queueLimit: Int = defaultQueueLimit, order: any WaitOrder = FIFOWaitOrder(), clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        try self.init(configuration: .init(limit: limit, window: window), queueLimit: queueLimit, order: order, clock: clock)
    }
}

extension InMemoryRateLimiter where Algorithm == SlidingWindowCounter {
    /// Creates a sliding-window counter on `clock`.
    ///
    /// - Parameters:
    ///   - limit: The most admitted in a window, as estimated.
    ///   - window: The length of the window.
    ///   - epochNanoseconds: A clock reading at which a fixed window starts; now if `nil`.
    ///   - queueLimit: The most callers `acquire` may queue.
    ///   - order: The order in which queued callers are served; FIFO by default.
    ///   - clock: The clock to read and to sleep on.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(
        limit: Int, window: Duration, epochNanoseconds: Int64? = nil, queueLimit: Int = defaultQueueLimit,
        order: any WaitOrder = FIFOWaitOrder(), clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        try self.init(
            configuration: .init(limit: limit, window: window, epochNanoseconds: epochNanoseconds),
            queueLimit: queueLimit, order: order, clock: clock
        )
    }
}

extension InMemoryRateLimiter where Algorithm == SegmentedWindow {
    /// Creates a segmented sliding window on `clock`.
    ///
    /// - Parameters:
    ///   - limit: The most admitted in the window.
    ///   - window: The length of the window.
    ///   - segments: How many segments the window is cut into.
    ///   - epochNanoseconds: A clock reading at which a segment starts; now if `nil`.
    ///   - queueLimit: The most callers `acquire` may queue.
    ///   - order: The order in which queued callers are served; FIFO by default.
    ///   - clock: The clock to read and to sleep on.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(
        limit: Int, window: Duration, segments: Int, epochNanoseconds: Int64? = nil, queueLimit: Int = defaultQueueLimit,
        order: any WaitOrder = FIFOWaitOrder(), clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        try self.init(
            configuration: .init(limit: limit, window: window, segments: segments, epochNanoseconds: epochNanoseconds),
            queueLimit: queueLimit, order: order, clock: clock
        )
    }
}


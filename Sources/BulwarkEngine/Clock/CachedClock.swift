public import BulwarkCore
public import Synchronization

/// A clock that answers `now` from a shared, periodically refreshed reading instead of asking the
/// system each time.
///
/// Reading `ContinuousClock` costs a system call through the vDSO, about 20–30 ns, which is most of
/// the cost of a rate-limiter decision. A cached clock costs one relaxed atomic load. The price is
/// resolution: the reading lags the real time by up to one refresh interval (1 ms by default), so a
/// limiter on this clock refills in steps of about that size. This is the trade Alibaba Sentinel
/// makes with its `TimeUtil` ticker.
///
/// The reading only moves while ``run()`` is running. Run it for the life of the application, for
/// example as a service in a task group (it has the shape of a swift-service-lifecycle `Service`):
///
///     let clock = CachedClock()
///     try await withThrowingDiscardingTaskGroup { group in
///         group.addTask { await clock.run() }
///         let limiter = try TokenBucketRateLimiter(capacity: 100, refill: 100, every: .seconds(1),
///                                              clock: clock)
///         // ... serve requests ...
///     }
///
/// The clock reads the same time line as `ContinuousClock`'s `NanosecondClock/nowNanoseconds`,
/// so deadlines computed on one are meaningful on the other. Copies share one reading.
/// It does not start a thread or a task by itself.
public struct CachedClock: NanosecondClock {
    /// The instant type: nanoseconds on `ContinuousClock`'s time line.
    public typealias Instant = NanosecondInstant

    /// The shared reading, in a box so that copies of the clock share it.
    @usableFromInline
    final class Reading: Sendable {
        @usableFromInline
        let nanoseconds: Atomic<Int64>

        init(_ nanoseconds: Int64) {
            self.nanoseconds = Atomic(nanoseconds)
        }
    }

    @usableFromInline
    let reading: Reading

    /// How often ``run()`` refreshes the reading.
    public let refreshInterval: Duration

    /// Creates a clock that ``run()`` refreshes every ``refreshInterval`` (1 ms by default).
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when ``refreshInterval`` is not
    ///   positive.
    public init(refreshInterval: Duration = .milliseconds(1)) throws(BulwarkError) {
        guard refreshInterval > .zero else {
            throw .invalidConfiguration(field: "refreshInterval", rule: "must be positive")
        }
        self.refreshInterval = refreshInterval
        self.reading = Reading(ContinuousClock().nowNanoseconds)
    }

    /// The last refreshed reading, in nanoseconds on `ContinuousClock`'s time line.
    @inlinable
    public var nowNanoseconds: Int64 {
        reading.nanoseconds.load(ordering: .relaxed)
    }

    /// The last refreshed reading.
    public var now: NanosecondInstant {
        NanosecondInstant(nanoseconds: nowNanoseconds)
    }

    /// The refresh interval: the clock cannot tell two instants closer than that apart.
    public var minimumResolution: Duration { refreshInterval }

    /// Suspends until this clock's reading reaches `deadline`.
    ///
    /// Sleeps on `ContinuousClock` and then, since the cached reading may lag, until a refresh has
    /// carried the reading past `deadline`. Throws `CancellationError` when the task is cancelled.
    public func sleep(until deadline: NanosecondInstant, tolerance: Duration? = nil) async throws {
        while true {
            let remaining = deadline.nanoseconds &- nowNanoseconds
            if remaining <= 0 {
                try Task.checkCancellation()
                return
            }
            // Wake at the real deadline, or one refresh later if the reading is already lagging.
            let real = deadline.nanoseconds &- ContinuousClock().nowNanoseconds
            let wait = real > 0 ? real : refreshInterval.saturatingNanoseconds
            try await ContinuousClock().sleep(for: .nanoseconds(wait), tolerance: tolerance)
        }
    }

    /// Refreshes the reading once from the system clock; never moves it backwards, even when two
    /// refreshers race.
    public func refresh() {
        reading.nanoseconds.max(ContinuousClock().nowNanoseconds, ordering: .relaxed)
    }

    /// Refreshes the reading every ``refreshInterval`` until the task is cancelled, then returns.
    public func run() async {
        while !Task.isCancelled {
            refresh()
            do {
                try await ContinuousClock().sleep(for: refreshInterval)
            } catch {
                return
            }
        }
    }
}

public import BulwarkCore

/// The share of failed calls over a sliding time window, recorded lock-free from any number of
/// tasks.
///
/// The window is a ring of `buckets` time buckets of `window / buckets` each. Recording reads the
/// clock once and does one compare-exchange on the current bucket (a double-word atomic holding
/// the bucket's number and both counts), so it allocates nothing and never waits for a lock; a
/// bucket is recycled by the same exchange that counts into it. Reading sums the buckets still in
/// the window: O(buckets).
///
/// The window slides by whole buckets: a reading covers the current bucket, which has only begun,
/// and the `buckets − 1` before it, so it spans between `window − window / buckets` and `window`
/// of history. More buckets make it smoother; each costs 16 bytes.
///
/// Below ``Configuration/minimumCalls`` calls in the window the rate means nothing and
/// ``ErrorRateSnapshot/failureRate`` is `nil`: one failure out of two calls is not a 50 % error
/// rate a controller should act on.
///
///     let errors = try ErrorRateMonitor(configuration: .init(window: .seconds(60), buckets: 12, minimumCalls: 20))
///     errors.record(failed: false)
///     if let rate = errors.snapshot().failureRate, rate >= 0.25 { degrade() }
public final class ErrorRateMonitor<C: NanosecondClock>: Sendable {
    /// How an error-rate monitor measures.
    public struct Configuration: Sendable, Hashable {
        /// The span of history the rate is computed over.
        public var window: Duration
        /// How many buckets the window is cut into (it slides by one bucket at a time).
        public var buckets: Int
        /// The fewest calls in the window for the rate to mean anything.
        public var minimumCalls: Int

        /// Creates a configuration.
        public init(window: Duration = .seconds(60), buckets: Int = 12, minimumCalls: Int = 20) {
            self.window = window
            self.buckets = buckets
            self.minimumCalls = minimumCalls
        }
    }

    /// The configuration the monitor was created with.
    public let configuration: Configuration
    /// The clock calls are timed on.
    public let clock: C
    @usableFromInline let ring: CounterRing

    /// Creates a monitor with an empty window.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when `window` is not positive,
    ///   `buckets` is not between 1 and 10,000 or does not divide `window` into whole nanoseconds,
    ///   or `minimumCalls` is below 1.
    public init(configuration: Configuration, clock: C) throws(BulwarkError) {
        let width = try Validation.bucketWidth(window: configuration.window, buckets: configuration.buckets)
        _ = try Validation.atLeast(1, configuration.minimumCalls, field: "minimumCalls")
        self.configuration = configuration
        self.clock = clock
        ring = CounterRing(count: configuration.buckets, width: width, now: clock.nowNanoseconds)
    }

    /// Records one call: a failure when `failed`. Lock-free, allocation-free.
    @inlinable
    public func record(failed: Bool) {
        ring.add(first: 1, second: failed ? 1 : 0, at: clock.nowNanoseconds)
    }

    /// Records `calls` calls of which `failures` failed, at once (a batch, a replayed log).
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` unless `0 <= failures <= calls`.
    public func record(calls: Int, failures: Int) throws(BulwarkError) {
        guard calls >= 0, failures >= 0, failures <= calls else {
            throw .invalidArgument(field: "failures", rule: "must be between 0 and calls (\(calls)) (got \(failures))")
        }
        ring.add(first: UInt(calls), second: UInt(failures), at: clock.nowNanoseconds)
    }

    /// Forgets every call recorded so far (a dependency re-enabled starts from a clean window). A
    /// record racing the reset may survive it.
    public func reset() {
        ring.reset(at: clock.nowNanoseconds)
    }

    /// The calls and failures in the window now.
    public func snapshot() -> ErrorRateSnapshot {
        let (calls, failures) = ring.sums(at: clock.nowNanoseconds)
        return ErrorRateSnapshot(calls: calls, failures: failures, minimumCalls: configuration.minimumCalls)
    }
}

/// The calls and failures an ``ErrorRateMonitor`` saw in its window.
public struct ErrorRateSnapshot: Sendable, Hashable, CustomStringConvertible {
    /// The calls recorded in the window.
    public let calls: Int
    /// The failed calls among them.
    public let failures: Int
    /// The fewest calls for the rate to mean anything.
    public let minimumCalls: Int

    /// Creates a snapshot.
    public init(calls: Int, failures: Int, minimumCalls: Int) {
        self.calls = calls
        self.failures = failures
        self.minimumCalls = minimumCalls
    }

    /// `failures / calls`, or `nil` below ``minimumCalls`` calls.
    public var failureRate: Double? {
        calls >= minimumCalls && calls > 0 ? Double(failures) / Double(calls) : nil
    }

    /// Whether there were enough calls and at least `threshold` of them failed, compared as
    /// `failures ≥ threshold × calls`, without dividing.
    public func failureRate(atLeast threshold: Double) -> Bool {
        guard calls >= minimumCalls, calls > 0 else { return false }
        return Double(failures) >= threshold * Double(calls)
    }

    /// `"3/120 failed (2.5 %)"`, or `"3/10 failed (below 20 calls)"`.
    public var description: String {
        guard let failureRate else { return "\(failures)/\(calls) failed (below \(minimumCalls) calls)" }
        return "\(failures)/\(calls) failed (\((failureRate * 1000).rounded() / 10) %)"
    }
}

extension ErrorRateMonitor where C == ContinuousClock {
    /// Creates a monitor timed on `ContinuousClock`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(configuration: Configuration) throws(BulwarkError) {
        try self.init(configuration: configuration, clock: ContinuousClock())
    }
}

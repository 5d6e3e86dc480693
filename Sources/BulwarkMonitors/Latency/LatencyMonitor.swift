public import BulwarkCore
public import Histogram

/// Latency percentiles (p50, p95, p99, max) over a sliding time window of rotating HdrHistograms.
///
/// The window is a ring of `buckets` histograms, one per `window / buckets` of time. Recording
/// reads the clock, takes a short lock and counts the value into the current bucket's histogram
/// (a few array operations); it allocates nothing. When time moves into a bucket whose histogram
/// holds an older period, that histogram is cleared first (its counts array zeroed once per
/// bucket period). Reading merges the histograms still in the window into a new one: O(buckets
/// × counts), with an allocation, which is what a read may cost; it holds the lock records take
/// while it merges (about 100 µs for six histograms of two digits), so read it at a monitor's
/// pace (once a second), not per call.
///
/// Values are kept to ``Configuration/significantDigits`` decimal digits (two: within 1 %) between
/// ``Configuration/lowest`` and ``Configuration/highest``; a value above `highest` is counted as
/// `highest`, one below `lowest` as the smallest bucket, so every call counts.
///
///     let latency = try LatencyMonitor(configuration: .init(window: .seconds(60), buckets: 6))
///     let reply = try await latency.measure { try await provider.chat(request) }
///     if latency.snapshot().p95 > .seconds(8) { degrade() }
public final class LatencyMonitor<C: NanosecondClock>: Sendable {
    /// How a latency monitor measures.
    public struct Configuration: Sendable, Hashable {
        /// The span of history the percentiles cover.
        public var window: Duration
        /// How many histograms the window is cut into (it slides by one at a time).
        public var buckets: Int
        /// The smallest latency told apart from zero.
        public var lowest: Duration
        /// The largest latency tracked; longer ones count as this.
        public var highest: Duration
        /// Decimal digits of precision: 1 (10 %), 2 (1 %) or 3 (0.1 %). With the default range a
        /// histogram holds 480, 3,456 or 24,576 four-byte counters.
        public var significantDigits: Int

        /// Creates a configuration.
        public init(
            window: Duration = .seconds(60),
            buckets: Int = 6,
            lowest: Duration = .microseconds(1),
            highest: Duration = .seconds(3600),
            significantDigits: Int = 2
        ) {
            self.window = window
            self.buckets = buckets
            self.lowest = lowest
            self.highest = highest
            self.significantDigits = significantDigits
        }
    }

    @usableFromInline
    struct Ring: Sendable {
        @usableFromInline var histograms: [Histogram<UInt32>]
        /// The bucket number each histogram holds.
        @usableFromInline var buckets: [Int64]
    }

    /// The configuration the monitor was created with.
    public let configuration: Configuration
    /// The clock calls are timed on.
    public let clock: C
    @usableFromInline let width: Int64
    @usableFromInline let lowest: UInt64
    @usableFromInline let highest: UInt64
    @usableFromInline let ring: LockedValue<Ring>

    /// Creates a monitor with an empty window.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when `window` and `buckets` do
    ///   not cut the window into whole nanoseconds (see ``ErrorRateMonitor``), `lowest` is not
    ///   positive, `highest` is not at least twice `lowest`, or `significantDigits` is not 1, 2
    ///   or 3.
    public init(configuration: Configuration, clock: C) throws(BulwarkError) {
        width = try Validation.bucketWidth(window: configuration.window, buckets: configuration.buckets)
        let lowest = try Validation.positiveNanoseconds(configuration.lowest, field: "lowest")
        let highest = try Validation.positiveNanoseconds(configuration.highest, field: "highest")
        guard highest / 2 >= lowest else {
            throw .invalidConfiguration(field: "highest", rule: "must be at least twice lowest (\(configuration.lowest)) (got \(configuration.highest))")
        }
        let digits: SignificantDigits
        switch configuration.significantDigits {
        case 1: digits = .one
        case 2: digits = .two
        case 3: digits = .three
        default:
            throw .invalidConfiguration(field: "significantDigits", rule: "must be 1, 2 or 3 (got \(configuration.significantDigits))")
        }
        self.configuration = configuration
        self.clock = clock
        self.lowest = UInt64(lowest)
        self.highest = UInt64(highest)
        let empty = Histogram<UInt32>(
            lowestDiscernibleValue: UInt64(lowest), highestTrackableValue: UInt64(highest), numberOfSignificantValueDigits: digits
        )
        let past = clock.nowNanoseconds.dividedRoundingDown(by: width) - Int64(configuration.buckets)
        // One histogram per bucket, each with its own counts (no storage shared, so none is copied
        // on the first write).
        var histograms: [Histogram<UInt32>] = []
        for _ in 0 ..< configuration.buckets {
            var histogram = empty
            histogram.reset()
            histograms.append(histogram)
        }
        ring = LockedValue(Ring(histograms: histograms, buckets: Array(repeating: past, count: configuration.buckets)))
    }

    /// Records one latency.
    @inlinable
    public func record(_ latency: Duration) {
        record(nanoseconds: latency.saturatingNanoseconds)
    }

    /// Records one latency of `nanoseconds` (negative counts as 0).
    @inlinable
    public func record(nanoseconds: Int64) {
        let value = min(UInt64(clamping: nanoseconds), highest)
        let bucket = clock.nowNanoseconds.dividedRoundingDown(by: width)
        ring.withLock { ring in
            let index = Int(UInt64(bitPattern: bucket) % UInt64(ring.buckets.count))
            if ring.buckets[index] != bucket {
                guard ring.buckets[index] < bucket else { return }  // older than the window
                ring.histograms[index].reset()
                ring.buckets[index] = bucket
            }
            ring.histograms[index].record(value)
        }
    }

    /// Runs `body` and records how long it took, whether it returned or threw.
    public func measure<Result>(_ body: () async throws -> Result) async rethrows -> Result {
        let start = clock.nowNanoseconds
        defer { record(nanoseconds: clock.nowNanoseconds &- start) }
        return try await body()
    }

    /// Forgets every latency recorded so far.
    public func reset() {
        ring.withLock { ring in
            for index in ring.histograms.indices {
                ring.histograms[index].reset()
                ring.buckets[index] = Int64.min / 2
            }
        }
    }

    /// The histograms still in the window, merged into one (allocates).
    public func histogram() -> Histogram<UInt32> {
        let newest = clock.nowNanoseconds.dividedRoundingDown(by: width)
        return ring.withLock { ring in
            var merged = ring.histograms[0]
            merged.reset()
            for index in ring.histograms.indices {
                let age = newest &- ring.buckets[index]
                if age >= 0, age < Int64(ring.buckets.count) { merged.add(ring.histograms[index]) }
            }
            return merged
        }
    }

    /// The percentiles of the latencies in the window now.
    public func snapshot() -> LatencySnapshot {
        LatencySnapshot(histogram())
    }
}

/// The latencies a ``LatencyMonitor`` saw in its window: count and percentiles, each within the
/// monitor's precision. With no call recorded, every figure is zero.
public struct LatencySnapshot: Sendable, Hashable, CustomStringConvertible {
    /// The calls recorded in the window.
    public let count: Int
    /// The median.
    public let p50: Duration
    /// The 95th percentile.
    public let p95: Duration
    /// The 99th percentile.
    public let p99: Duration
    /// The longest (within the monitor's precision).
    public let max: Duration
    /// The shortest (within the monitor's precision).
    public let min: Duration

    /// The figures of a histogram of nanoseconds.
    public init(_ histogram: Histogram<UInt32>) {
        count = Int(histogram.totalCount)
        func figure(_ value: UInt64) -> Duration { .nanoseconds(Int64(clamping: value)) }
        p50 = count == 0 ? .zero : figure(histogram.valueAtPercentile(50))
        p95 = count == 0 ? .zero : figure(histogram.valueAtPercentile(95))
        p99 = count == 0 ? .zero : figure(histogram.valueAtPercentile(99))
        max = count == 0 ? .zero : figure(histogram.max)
        min = count == 0 ? .zero : figure(histogram.min)
    }

    /// `"n=120 p50=0.08 seconds p95=0.41 seconds p99=1.2 seconds max=2.0 seconds"`.
    public var description: String {
        "n=\(count) p50=\(p50) p95=\(p95) p99=\(p99) max=\(max)"
    }
}

extension LatencyMonitor where C == ContinuousClock {
    /// Creates a monitor timed on `ContinuousClock`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(configuration: Configuration = Configuration()) throws(BulwarkError) {
        try self.init(configuration: configuration, clock: ContinuousClock())
    }
}

public import BulwarkCore

/// The gradient of latency: the limit moves by the ratio of a long-term average round trip to
/// the latest one, plus a small allowance for queueing.
///
/// The same steps as Netflix's `Gradient2Limit`: the long round trip is an exponential average
/// over `longWindow` samples (a plain mean over the first ten); when it exceeds twice the latest
/// round trip it is cut by 5 % (so it recovers after a long overload); with fewer than half the
/// limit in flight nothing changes; otherwise
/// `gradient = clamp(rttTolerance × long / latest, 0.5, 1)`,
/// `new = L × gradient + queueSize`, smoothed (`L × (1 − s) + new × s`) and clamped to
/// `minimumLimit ... maximumLimit`. The limit is the estimate's integer part. Like Netflix's, it
/// ignores whether a call was dropped: only latency moves it.
///
/// Where it differs from Netflix: the bounds are checked when it is created, and the queue size
/// is a fixed number (Netflix's default, 4; its function form is not offered).
public struct Gradient2Limit: AdaptiveLimit, Hashable {
    /// How a Gradient2 limit moves.
    public struct Configuration: Sendable, Hashable {
        /// The limit before any sample (Netflix: 20).
        public var initialLimit: Int
        /// The smallest limit (Netflix: 20).
        public var minimumLimit: Int
        /// The largest limit (Netflix: 200).
        public var maximumLimit: Int
        /// How far the limit moves toward each new value, in `0 < s <= 1` (Netflix: 0.2).
        public var smoothing: Double
        /// The queueing allowed on top of the gradient (Netflix: 4).
        public var queueSize: Int
        /// How much slower than the long average a call may be before the limit shrinks, at least 1
        /// (Netflix: 1.5).
        public var rttTolerance: Double
        /// The samples the long-term average spans (Netflix: 600).
        public var longWindow: Int

        /// Creates a configuration; the defaults are Netflix's.
        public init(
            initialLimit: Int = 20, minimumLimit: Int = 20, maximumLimit: Int = 200, smoothing: Double = 0.2,
            queueSize: Int = 4, rttTolerance: Double = 1.5, longWindow: Int = 600
        ) {
            self.initialLimit = initialLimit
            self.minimumLimit = minimumLimit
            self.maximumLimit = maximumLimit
            self.smoothing = smoothing
            self.queueSize = queueSize
            self.rttTolerance = rttTolerance
            self.longWindow = longWindow
        }
    }

    /// The configuration the limit was created with.
    public let configuration: Configuration
    /// The estimate the limit is the integer part of.
    public private(set) var estimatedLimit: Double
    /// The long-term average round trip, in nanoseconds (0 before any sample).
    public private(set) var longRoundTrip = 0.0
    var samples = 0
    var sum = 0.0

    /// The limit now: the estimate's integer part.
    public var limit: Int { javaInt(estimatedLimit) }
    /// The largest limit.
    public var maximumLimit: Int { configuration.maximumLimit }

    /// Creates the limit at its initial value.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` unless
    ///   `1 <= minimumLimit <= initialLimit <= maximumLimit`, `smoothing` is in `0 < s <= 1`,
    ///   `queueSize` is at least 0, `rttTolerance` at least 1 and `longWindow` at least 1.
    public init(configuration: Configuration) throws(BulwarkError) {
        try validateBounds(
            initial: configuration.initialLimit, minimum: configuration.minimumLimit, maximum: configuration.maximumLimit
        )
        guard configuration.smoothing > 0, configuration.smoothing <= 1 else {
            throw .invalidConfiguration(field: "smoothing", rule: "must be in 0 < s <= 1 (got \(configuration.smoothing))")
        }
        _ = try Validation.atLeast(0, configuration.queueSize, field: "queueSize")
        guard configuration.rttTolerance >= 1 else {
            throw .invalidConfiguration(field: "rttTolerance", rule: "must be at least 1 (got \(configuration.rttTolerance))")
        }
        _ = try Validation.atLeast(1, configuration.longWindow, field: "longWindow")
        self.configuration = configuration
        estimatedLimit = Double(configuration.initialLimit)
    }

    /// Netflix's `ExpAvgMeasurement(longWindow, 10)`: a mean over the first ten samples, then an
    /// exponential average with factor `2 / (window + 1)`.
    mutating func addLongSample(_ value: Double) -> Double {
        if samples < 10 {
            samples += 1
            sum += value
            longRoundTrip = sum / Double(samples)
        } else {
            let factor = 2 / (Double(configuration.longWindow) + 1)
            longRoundTrip = longRoundTrip * (1 - factor) + value * factor
        }
        return longRoundTrip
    }

    /// Moves the estimate by the gradient of the long-term round trip over this one.
    public mutating func update(_ sample: LimitSample) {
        let estimate = estimatedLimit
        let queueSize = Double(configuration.queueSize)
        let shortRtt = Double(sample.roundTrip)
        let longRtt = addLongSample(shortRtt)
        if longRtt / shortRtt > 2 {
            longRoundTrip *= 0.95
        }
        if Double(sample.inFlight) < estimate / 2 {
            return  // application-limited: no growth
        }
        let gradient = max(0.5, min(1.0, configuration.rttTolerance * longRtt / shortRtt))
        var next = estimate * gradient + queueSize
        next = estimate * (1 - configuration.smoothing) + next * configuration.smoothing
        estimatedLimit = max(Double(configuration.minimumLimit), min(Double(configuration.maximumLimit), next))
    }
}

public import BulwarkCore

/// TCP Vegas applied to concurrency: the queue a call met is estimated from how much longer it
/// took than the fastest call seen (`limit × (1 − noLoadRTT / rtt)`), and the limit grows while
/// that queue is small and shrinks once it is large.
///
/// The same steps as Netflix's `VegasLimit`, with its default functions of the limit `L`
/// (`log = max(1, ⌊log₁₀ L⌋)`): threshold `log`, alpha `3 × log`, beta `6 × log`; queue
/// `≤ threshold` → `L + beta`; `< alpha` → `L + log`; `> beta` → `L − log`; a drop → `L − log`;
/// between alpha and beta, or with fewer than half the limit in flight, unchanged. The result is
/// clamped to `1 ... maximumLimit`, smoothed (`(1 − s) × L + s × new`), and the limit is its
/// integer part. Every `probeMultiplier × L × jitter` samples (jitter in `0.5 ..< 1`), the
/// sample's round trip becomes the no-load one, so a lasting rise in base latency is learned.
///
/// Where it differs from Netflix: the jitter comes from a generator seeded in the configuration
/// (Netflix draws from `ThreadLocalRandom`), so a run replays exactly; a zero round trip counts
/// as 1 ns (Netflix throws); and the bounds are checked when it is created. Alpha and beta may be
/// fixed numbers (Netflix's `alpha(int)`, `beta(int)`); other functions are not configurable.
public struct VegasLimit: AdaptiveLimit, Hashable {
    /// How a Vegas limit moves.
    public struct Configuration: Sendable, Hashable {
        /// The limit before any sample (Netflix: 20).
        public var initialLimit: Int
        /// The largest limit (Netflix: 1,000).
        public var maximumLimit: Int
        /// How far the limit moves toward each new value, in `0 < s <= 1` (Netflix: 1).
        public var smoothing: Double
        /// A fixed alpha (queue size under which the limit grows); `nil` for `3 × log₁₀ L`.
        public var alpha: Int?
        /// A fixed beta (queue size over which the limit shrinks); `nil` for `6 × log₁₀ L`.
        public var beta: Int?
        /// Samples between no-load probes, per unit of limit (Netflix: 30).
        public var probeMultiplier: Int
        /// The seed of the probe jitter's generator; `nil` for a random one.
        public var seed: UInt64?

        /// Creates a configuration; the defaults are Netflix's.
        public init(
            initialLimit: Int = 20, maximumLimit: Int = 1000, smoothing: Double = 1, alpha: Int? = nil, beta: Int? = nil,
            probeMultiplier: Int = 30, seed: UInt64? = nil
        ) {
            self.initialLimit = initialLimit
            self.maximumLimit = maximumLimit
            self.smoothing = smoothing
            self.alpha = alpha
            self.beta = beta
            self.probeMultiplier = probeMultiplier
            self.seed = seed
        }
    }

    /// The configuration the limit was created with.
    public let configuration: Configuration
    /// The estimate the limit is the integer part of.
    public private(set) var estimatedLimit: Double
    /// The fastest round trip seen since the last probe, in nanoseconds; 0 before any sample.
    public private(set) var noLoadRoundTrip: Int64 = 0
    var probeCount = 0
    var probeJitter = 0.0
    var random: SplitMix64

    /// The limit now: the estimate's integer part.
    public var limit: Int { javaInt(estimatedLimit) }
    /// The largest limit.
    public var maximumLimit: Int { configuration.maximumLimit }

    /// Creates the limit at its initial value.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` unless
    ///   `1 <= initialLimit <= maximumLimit`, `smoothing` is in `0 < s <= 1`, `probeMultiplier`
    ///   is at least 1 and a fixed alpha and beta are at least 0 with `alpha <= beta`.
    public init(configuration: Configuration) throws(BulwarkError) {
        try validateBounds(initial: configuration.initialLimit, minimum: 1, maximum: configuration.maximumLimit)
        guard configuration.smoothing > 0, configuration.smoothing <= 1 else {
            throw .invalidConfiguration(field: "smoothing", rule: "must be in 0 < s <= 1 (got \(configuration.smoothing))")
        }
        _ = try Validation.atLeast(1, configuration.probeMultiplier, field: "probeMultiplier")
        if let alpha = configuration.alpha { _ = try Validation.atLeast(0, alpha, field: "alpha") }
        if let beta = configuration.beta { _ = try Validation.atLeast(configuration.alpha ?? 0, beta, field: "beta") }
        self.configuration = configuration
        estimatedLimit = Double(configuration.initialLimit)
        var system = SystemRandomNumberGenerator()
        random = SplitMix64(seed: configuration.seed ?? system.next())
        resetProbeJitter()
    }

    mutating func resetProbeJitter() {
        probeJitter = 0.5 + 0.5 * random.nextUnit()
    }

    /// Probes, learns a faster no-load round trip, or moves the estimate by the queue the call met.
    public mutating func update(_ sample: LimitSample) {
        let rtt = sample.roundTrip
        probeCount += 1
        if probeJitter * Double(configuration.probeMultiplier) * estimatedLimit <= Double(probeCount) {
            resetProbeJitter()
            probeCount = 0
            noLoadRoundTrip = rtt
            return
        }
        if noLoadRoundTrip == 0 || rtt < noLoadRoundTrip {
            noLoadRoundTrip = rtt
            return
        }
        let estimate = estimatedLimit
        let queueSize = javaInt((estimate * (1 - Double(noLoadRoundTrip) / Double(rtt))).rounded(.up))
        var next: Double
        if sample.dropped {
            next = estimate - Double(log10Root(javaInt(estimate)))
        } else if Double(sample.inFlight * 2) < estimate {
            return  // not close to the limit: no upward drift
        } else {
            let whole = javaInt(estimate)
            let log = log10Root(whole)
            let alpha = configuration.alpha ?? 3 * log
            let beta = configuration.beta ?? 6 * log
            if queueSize <= log {
                next = estimate + Double(beta)
            } else if queueSize < alpha {
                next = estimate + Double(log)
            } else if queueSize > beta {
                next = estimate - Double(log)
            } else {
                return  // in the sweet spot
            }
        }
        next = max(1, min(Double(configuration.maximumLimit), next))
        estimatedLimit = (1 - configuration.smoothing) * estimate + configuration.smoothing * next
    }
}

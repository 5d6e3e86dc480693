public import BulwarkCore

/// Additive increase, multiplicative decrease: the limit grows by one per successful call made
/// while at least half of it was in use, and shrinks to `backoffRatio` of itself on a drop or a
/// call slower than `timeout`.
///
/// The same steps as Netflix's `AIMDLimit`: the new limit is `⌊limit × backoffRatio⌋` (Java's
/// `(int)` cast) or `limit + 1`, clamped to `minimumLimit ... maximumLimit`. It differs in one
/// place: an initial limit outside the bounds, or a bound that contradicts another, is an error
/// here (Netflix logs a warning and starts outside them).
///
///     var aimd = try AIMDLimit(configuration: .init(initialLimit: 10, minimumLimit: 1, maximumLimit: 100))
public struct AIMDLimit: AdaptiveLimit, Hashable {
    /// How an AIMD limit moves.
    public struct Configuration: Sendable, Hashable {
        /// The limit before any sample (Netflix: 20).
        public var initialLimit: Int
        /// The smallest limit (Netflix: 20).
        public var minimumLimit: Int
        /// The largest limit (Netflix: 200).
        public var maximumLimit: Int
        /// What the limit is multiplied by on a drop, in `0.5 ..< 1` (Netflix: 0.9).
        public var backoffRatio: Double
        /// A call slower than this counts as a drop (Netflix: 5 s).
        public var timeout: Duration

        /// Creates a configuration; the defaults are Netflix's.
        public init(
            initialLimit: Int = 20, minimumLimit: Int = 20, maximumLimit: Int = 200, backoffRatio: Double = 0.9,
            timeout: Duration = .seconds(5)
        ) {
            self.initialLimit = initialLimit
            self.minimumLimit = minimumLimit
            self.maximumLimit = maximumLimit
            self.backoffRatio = backoffRatio
            self.timeout = timeout
        }
    }

    /// The configuration the limit was created with.
    public let configuration: Configuration
    let timeout: Int64
    /// The limit now.
    public private(set) var limit: Int

    /// The largest limit.
    public var maximumLimit: Int { configuration.maximumLimit }

    /// Creates the limit at its initial value.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` unless
    ///   `1 <= minimumLimit <= initialLimit <= maximumLimit`, `backoffRatio` is in `0.5 ..< 1` and
    ///   `timeout` is positive.
    public init(configuration: Configuration) throws(BulwarkError) {
        try validateBounds(
            initial: configuration.initialLimit, minimum: configuration.minimumLimit, maximum: configuration.maximumLimit
        )
        guard configuration.backoffRatio >= 0.5, configuration.backoffRatio < 1 else {
            throw .invalidConfiguration(field: "backoffRatio", rule: "must be in 0.5 ..< 1 (got \(configuration.backoffRatio))")
        }
        timeout = try Validation.positiveNanoseconds(configuration.timeout, field: "timeout")
        self.configuration = configuration
        limit = configuration.initialLimit
    }

    /// Backs off on a drop or a call slower than the timeout; otherwise grows by one when at
    /// least half the limit was in flight.
    public mutating func update(_ sample: LimitSample) {
        var next = limit
        if sample.dropped || sample.roundTrip > timeout {
            next = javaInt(Double(limit) * configuration.backoffRatio)
        } else if sample.inFlight * 2 >= limit {
            next = limit + 1
        }
        limit = min(configuration.maximumLimit, max(configuration.minimumLimit, next))
    }
}

/// Checks `1 <= minimum <= initial <= maximum <= Int32.max` (Netflix's limits are Java `int`s,
/// and the arithmetic casts as Java does).
func validateBounds(initial: Int, minimum: Int, maximum: Int) throws(BulwarkError) {
    _ = try Validation.atLeast(1, minimum, field: "minimumLimit")
    guard maximum <= Int(Int32.max) else {
        throw .invalidConfiguration(field: "maximumLimit", rule: "must be at most \(Int32.max) (got \(maximum))")
    }
    guard maximum >= minimum else {
        throw .invalidConfiguration(field: "maximumLimit", rule: "must be at least minimumLimit (\(minimum)) (got \(maximum))")
    }
    guard initial >= minimum, initial <= maximum else {
        throw .invalidConfiguration(
            field: "initialLimit", rule: "must be between minimumLimit (\(minimum)) and maximumLimit (\(maximum)) (got \(initial))"
        )
    }
}

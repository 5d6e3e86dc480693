import BulwarkCore

/// How a circuit breaker judges its calls and how long it stays open.
///
/// The defaults open the breaker when at least half of the last 100 calls failed (once 100 calls
/// have been seen), keep it open 60 seconds, then let 10 probes through. Every field is checked
/// when the breaker is created; a bad one throws `BulwarkError/invalidConfiguration(field:rule:)`
/// naming it.
///
///     var configuration = CircuitBreakerConfiguration()
///     configuration.window = .time(seconds: 30)
///     configuration.minimumCalls = 20
///     configuration.slowCallRateThreshold = 50
///     configuration.slowCallDuration = .seconds(8)
///     configuration.openDuration = .exponential(initial: .seconds(10), multiplier: 2, maximum: .seconds(300))
public struct CircuitBreakerConfiguration: Sendable {
    /// Which recent calls the rates are computed over.
    public enum Window: Sendable, Hashable {
        /// The last `size` calls.
        case count(Int)
        /// The calls of the last `bucketCount` buckets of `bucket` each (the current, partial
        /// bucket included), buckets aligned to multiples of `bucket` on the breaker's clock.
        case time(bucket: Duration, bucketCount: Int)

        /// The calls of the last `seconds` one-second buckets, as Resilience4j's time-based
        /// window counts them.
        public static func time(seconds: Int) -> Window {
            .time(bucket: .seconds(1), bucketCount: seconds)
        }
    }

    /// How long the breaker stays open each time it opens.
    public enum OpenDuration: Sendable, Hashable {
        /// The same duration every time.
        case fixed(Duration)
        /// `initial` the first time it opens, multiplied by `multiplier` each time it re-opens
        /// from half-open without having closed in between, at most `maximum`.
        case exponential(initial: Duration, multiplier: Int, maximum: Duration)
    }

    /// The recent calls the rates are computed over. Default: the last 100 calls.
    public var window: Window = .count(100)

    /// The failure rate, in percent (1 ≤ x ≤ 100: `50` means half the calls), at or above which
    /// the breaker opens; `nil` to judge by failure rate never. Default: 50. A value below 1 is
    /// refused: `0.5` is far more often a fraction meant as 50 % than a deliberate 0.5 %. With no threshold at all (this, the slow-call
    /// rate's and the consecutive failures' all `nil`), the breaker opens only by hand, and a
    /// half-open breaker reopens on any failed probe.
    public var failureRateThreshold: Double? = 50

    /// The slow-call rate, in percent (1 ≤ x ≤ 100, as ``failureRateThreshold``), at or above
    /// which the breaker opens; `nil` (the default) to time no call.
    public var slowCallRateThreshold: Double?

    /// A call that takes longer than this is slow (when ``slowCallRateThreshold`` is set).
    /// Default: 60 seconds.
    public var slowCallDuration: Duration = .seconds(60)

    /// How many calls the window must hold before either rate is judged. A count window's size
    /// caps it in the closed state (Resilience4j's rule); half-open judges once
    /// `min(minimumCalls, halfOpenProbes)` probes are in, with the value configured here, not the
    /// capped one. Default: 100.
    public var minimumCalls: Int = 100

    /// When set, the breaker also opens after this many failures in a row, whatever the rates.
    /// Default: `nil`.
    public var consecutiveFailureThreshold: Int?

    /// How long the breaker stays open before it lets probes through. Default: 60 seconds.
    public var openDuration: OpenDuration = .fixed(.seconds(60))

    /// How many probe calls half-open lets through; once all have been judged the breaker
    /// closes or opens again. Default: 10.
    public var halfOpenProbes: Int = 10

    /// The longest the breaker stays half-open, counted from its first probe, waiting for its
    /// probes to be judged before opening again; `nil` (the default) to wait as long as it takes.
    public var maximumHalfOpenDuration: Duration?

    /// Classifies what the operation threw. The default (``defaultErrorClassifier``) counts
    /// every error as a failure, except:
    /// - a rate-limit refusal, Bulwark's own (`BulwarkError/rateLimited(retryAfter:)`) or an
    ///   upstream's (any `RateLimitSignal` whose `isRateLimited` is true, such as an HTTP 429),
    ///   which is ``CallOutcome/rateLimited`` and counts as ``rateLimitedOutcome`` says;
    /// - Bulwark's other refusals from inner policies (queue full, wait timed out, an inner
    ///   circuit open, invalid arguments or configuration), which are ``CallOutcome/ignored``.
    ///
    /// An inner timeout (`BulwarkError/timedOut(after:)`) is a failure. A cancellation is always
    /// ignored, whatever this says.
    public var classifyError: @Sendable (any Error) -> CallOutcome = CircuitBreakerConfiguration.defaultErrorClassifier

    /// Classifies what the operation returned, for results that mean failure (an HTTP 503
    /// response value) or a rate limit (a 429 response value: ``CallOutcome/rateLimited``);
    /// `nil` (the default) counts every result as a success.
    public var classifyResult: (@Sendable (any Sendable) -> CallOutcome)?

    /// How a call classified ``CallOutcome/rateLimited`` counts: ``CallOutcome/ignored`` (the
    /// default: a dependency that rations its callers is not broken, and opening the breaker for
    /// everybody because one quota ran out would turn a throttle into an outage),
    /// ``CallOutcome/failure`` or ``CallOutcome/success``.
    public var rateLimitedOutcome: CallOutcome = .ignored

    /// Creates the default configuration, with the failure rate threshold and minimum number of
    /// calls given.
    public init(failureRateThreshold: Double? = 50, minimumCalls: Int = 100) {
        self.failureRateThreshold = failureRateThreshold
        self.minimumCalls = minimumCalls
    }

    /// Rate-limit refusals (Bulwark's or an upstream's `RateLimitSignal`) are
    /// ``CallOutcome/rateLimited``; Bulwark's other refusals are neither success nor failure; an
    /// inner timeout and every other error are failures.
    public static let defaultErrorClassifier: @Sendable (any Error) -> CallOutcome = { error in
        if let signal = error as? any RateLimitSignal, signal.isRateLimited { return .rateLimited }
        guard let error = error as? BulwarkError else { return .failure }
        switch error {
        case .timedOut: return .failure
        default: return .ignored
        }
    }
}

/// How a call counts for a circuit breaker.
public enum CallOutcome: Sendable, Hashable {
    /// It worked (slow or not).
    case success
    /// It failed: it counts towards the failure rate and the consecutive failures.
    case failure
    /// Neither: not recorded at all (a cancellation, a refusal by an inner policy, a client
    /// error). In half-open, its probe slot is given back.
    case ignored
    /// The dependency refused the call for a rate limit or a quota (an HTTP 429): it counts as
    /// ``CircuitBreakerConfiguration/rateLimitedOutcome`` says (ignored by default).
    case rateLimited
}

extension CircuitBreakerConfiguration {
    /// The configuration checked and reduced to integer nanoseconds.
    struct Rules: Sendable {
        var windowSize: Int
        var bucketNanoseconds: Int64?
        var failureRateThreshold: Double?
        var slowCallRateThreshold: Double?
        var slowCallNanoseconds: Int64
        /// The minimum the closed state judges at: ``CircuitBreakerConfiguration/minimumCalls``,
        /// at most a count window's size.
        var minimumCalls: Int
        /// The minimum half-open judges at: the configured minimum (uncapped) or the probes,
        /// whichever is smaller, as Resilience4j's half-open window does.
        var halfOpenMinimumCalls: Int
        var consecutiveFailureThreshold: Int?
        var rateLimitedOutcome: CallOutcome
        var openDuration: OpenDuration
        var halfOpenProbes: Int
        var maximumHalfOpenNanoseconds: Int64?

        /// Whether calls must be timed: slow calls are judged, or the window is in time.
        var timesCalls: Bool { slowCallRateThreshold != nil || bucketNanoseconds != nil }

        /// Nanoseconds the breaker stays open the `opening`-th time in a row (from 1).
        func openNanoseconds(opening: Int) -> Int64 {
            switch openDuration {
            case .fixed(let duration):
                return duration.saturatingNanoseconds
            case .exponential(let initial, let multiplier, let maximum):
                let cap = maximum.saturatingNanoseconds
                var nanoseconds = initial.saturatingNanoseconds
                for _ in 1 ..< max(1, opening) {
                    let (next, overflow) = nanoseconds.multipliedReportingOverflow(by: Int64(multiplier))
                    if overflow || next >= cap { return cap }
                    nanoseconds = next
                }
                return min(nanoseconds, cap)
            }
        }
    }

    /// Checks every field; throws for the first that breaks a rule.
    func validated() throws(BulwarkError) -> Rules {
        func invalid(_ field: String, _ rule: String) -> BulwarkError { .invalidConfiguration(field: field, rule: rule) }
        let windowSize: Int
        var bucketNanoseconds: Int64?
        switch window {
        case .count(let size):
            guard size >= 1, size <= 1 << 24 else { throw invalid("window", "count must be in 1 ... \(1 << 24) (got \(size))") }
            windowSize = size
        case .time(let bucket, let count):
            guard count >= 1, count <= 1 << 16 else { throw invalid("window", "bucketCount must be in 1 ... \(1 << 16) (got \(count))") }
            guard bucket >= .nanoseconds(1) else { throw invalid("window", "bucket must be at least 1 ns (got \(bucket))") }
            windowSize = count
            bucketNanoseconds = bucket.saturatingNanoseconds
        }
        for (field, threshold) in [("failureRateThreshold", failureRateThreshold), ("slowCallRateThreshold", slowCallRateThreshold)] {
            if let threshold, !(threshold >= 1 && threshold <= 100) {
                var hint = ""
                if threshold > 0, threshold < 1 {
                    hint = " (the unit is percent: 50 means half the calls"
                    if threshold * 100 >= 1 { hint += "; for \(threshold * 100) % write \(threshold * 100)" }
                    hint += ")"
                }
                throw invalid(field, "must be a percentage in 1 ... 100 (got \(threshold))\(hint)")
            }
        }
        guard slowCallDuration >= .zero else { throw invalid("slowCallDuration", "must be at least 0 (got \(slowCallDuration))") }
        guard minimumCalls >= 1 else { throw invalid("minimumCalls", "must be at least 1 (got \(minimumCalls))") }
        if let consecutiveFailureThreshold, consecutiveFailureThreshold < 1 {
            throw invalid("consecutiveFailureThreshold", "must be at least 1 (got \(consecutiveFailureThreshold))")
        }
        switch openDuration {
        case .fixed(let duration):
            guard duration >= .zero else { throw invalid("openDuration", "must be at least 0 (got \(duration))") }
        case .exponential(let initial, let multiplier, let maximum):
            guard initial >= .zero else { throw invalid("openDuration", "initial must be at least 0 (got \(initial))") }
            guard multiplier >= 1 else { throw invalid("openDuration", "multiplier must be at least 1 (got \(multiplier))") }
            guard maximum >= initial else { throw invalid("openDuration", "maximum must be at least initial (got \(maximum))") }
        }
        guard halfOpenProbes >= 1 else { throw invalid("halfOpenProbes", "must be at least 1 (got \(halfOpenProbes))") }
        guard rateLimitedOutcome != .rateLimited else {
            throw invalid("rateLimitedOutcome", "must be .success, .failure or .ignored (got .rateLimited)")
        }
        if let maximumHalfOpenDuration, maximumHalfOpenDuration < .nanoseconds(1) {
            throw invalid("maximumHalfOpenDuration", "must be at least 1 ns (got \(maximumHalfOpenDuration))")
        }
        // Resilience4j's rule: a count window can never hold more calls than its size.
        let minimum = bucketNanoseconds == nil ? min(minimumCalls, windowSize) : minimumCalls
        return Rules(
            windowSize: windowSize, bucketNanoseconds: bucketNanoseconds,
            failureRateThreshold: failureRateThreshold, slowCallRateThreshold: slowCallRateThreshold,
            slowCallNanoseconds: slowCallDuration.saturatingNanoseconds, minimumCalls: minimum,
            halfOpenMinimumCalls: min(minimumCalls, halfOpenProbes),
            consecutiveFailureThreshold: consecutiveFailureThreshold, rateLimitedOutcome: rateLimitedOutcome,
            openDuration: openDuration,
            halfOpenProbes: halfOpenProbes, maximumHalfOpenNanoseconds: maximumHalfOpenDuration?.saturatingNanoseconds
        )
    }
}

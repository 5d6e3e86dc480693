import BulwarkAdaptive
import BulwarkCircuitBreaker
import BulwarkConcurrency
public import BulwarkCore
import BulwarkRetry
import BulwarkTimeout
import BulwarkTokenBucket

/// A pipeline described as data, outermost stage first: what an application reads from a
/// configuration file (it is `Codable`) and turns into a `DynamicPipeline` with ``build(clock:observer:name:)``.
///
/// Durations are seconds (fractions allowed). Every field is checked when the pipeline is built;
/// a bad one throws `BulwarkError/invalidConfiguration(field:rule:)` whose field names the
/// stage, as `stages[2].retry.maximumAttempts`. So is a combination that can never work: a
/// circuit breaker with a time window (`windowSeconds`) whose `minimumCalls` is more than the
/// rate limiters inside it can ever admit in that window.
///
/// A rate limiter stage refuses at once when its bucket is short, unless `maximumWaitSeconds`
/// lets it wait (see `RateLimitStage`).
///
///     {"stages": [
///        {"timeout": {"seconds": 60}},
///        {"retry": {"maximumAttempts": 3, "initialDelaySeconds": 0.2, "maximumDelaySeconds": 10}},
///        {"circuitBreaker": {"failureRatePercent": 50, "minimumCalls": 20, "windowCalls": 100,
///                            "openSeconds": 30, "halfOpenProbes": 5}},
///        {"rateLimiter": {"capacity": 40, "refill": 40, "periodSeconds": 60, "maximumWaitSeconds": 2}},
///        {"bulkhead": {"limit": 5}},
///        {"timeout": {"seconds": 20}}
///     ]}
///
/// or, with a limit that follows latency in place of the fixed bulkhead:
///
///     {"stages": [
///        {"adaptiveBulkhead": {"algorithm": "vegas", "initialLimit": 10, "maximumLimit": 100}},
///        {"timeout": {"seconds": 20}}
///     ]}
///
///     let configuration = try JSONDecoder().decode(PipelineConfiguration.self, from: data)
///     registry.register("openai.chat", try configuration.build(clock: ContinuousClock(), name: "openai.chat"))
public struct PipelineConfiguration: Codable, Sendable, Hashable {
    /// One stage of a configured pipeline.
    public enum Stage: Codable, Sendable, Hashable {
        /// A `Timeout` of `seconds`.
        case timeout(seconds: Double)
        /// A `Retry`: exponential backoff (doubling) from `initialDelaySeconds`, capped at
        /// `maximumDelaySeconds`, with full jitter when `jitter` is true.
        case retry(maximumAttempts: Int, initialDelaySeconds: Double? = nil, maximumDelaySeconds: Double? = nil, jitter: Bool? = nil)
        /// A `CircuitBreaker` over the last `windowCalls` calls, or over the calls of the last
        /// `windowSeconds` (whole one-second buckets) when that is given.
        case circuitBreaker(
            failureRatePercent: Double? = nil, minimumCalls: Int? = nil, windowCalls: Int? = nil,
            openSeconds: Double? = nil, halfOpenProbes: Int? = nil, windowSeconds: Int? = nil
        )
        /// A token-bucket rate limiter of `capacity`, refilled `refill` every `periodSeconds`, as a
        /// `RateLimitStage`: it refuses at once unless `maximumWaitSeconds` lets it wait.
        case rateLimiter(
            capacity: Int, refill: Int? = nil, periodSeconds: Double, queueLimit: Int? = nil, maximumWaitSeconds: Double? = nil
        )
        /// A `Bulkhead` of `limit`.
        case bulkhead(limit: Int, queueLimit: Int? = nil)
        /// An `AdaptiveBulkhead` whose limit follows latency: `algorithm` is `"aimd"`, `"vegas"`
        /// or `"gradient2"`, with Netflix's defaults for what is not given (a minimum limit of 1 by
        /// default here, so that a small initial limit is valid).
        case adaptiveBulkhead(
            algorithm: String, initialLimit: Int? = nil, minimumLimit: Int? = nil, maximumLimit: Int? = nil, queueLimit: Int? = nil
        )

        /// The stage's kind, as its JSON key.
        public var kind: String {
            switch self {
            case .timeout: "timeout"
            case .retry: "retry"
            case .circuitBreaker: "circuitBreaker"
            case .rateLimiter: "rateLimiter"
            case .bulkhead: "bulkhead"
            case .adaptiveBulkhead: "adaptiveBulkhead"
            }
        }
    }

    /// The stages, outermost first.
    public var stages: [Stage]

    /// Creates a configuration of `stages`, outermost first.
    public init(stages: [Stage]) {
        self.stages = stages
    }

    /// Builds the pipeline on `clock`, attaching `observer` (when given) to every stage under
    /// `"<name>.<kind>"` (`"openai.chat.retry"`).
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the stage and field.
    public func build<C: NanosecondClock>(
        clock: C, observer: (any ResilienceObserver)? = nil, name: String = "pipeline"
    ) throws(BulwarkError) -> DynamicPipeline {
        try checkReachableMinimums()
        var policies: [any ResiliencePolicy] = []
        for (index, stage) in stages.enumerated() {
            let prefix = "stages[\(index)].\(stage.kind)"
            do throws(BulwarkError) {
                let (policy, events) = try Self.make(stage, clock: clock)
                if let observer { events.attach(observer, as: "\(name).\(stage.kind)") }
                policies.append(policy)
            } catch {
                guard case .invalidConfiguration(let field, let rule) = error else { throw error }
                throw .invalidConfiguration(field: "\(prefix).\(field)", rule: rule)
            }
        }
        return DynamicPipeline(policies)
    }

    /// One stage's policy and its event channel.
    private static func make<C: NanosecondClock>(
        _ stage: Stage, clock: C
    ) throws(BulwarkError) -> (any ResiliencePolicy, EventChannel) {
        switch stage {
        case .timeout(let seconds):
            let timeout = try Timeout(try duration(seconds, "seconds"), clock: clock)
            return (timeout, timeout.events)
        case .retry(let attempts, let initial, let maximum, let jitter):
            // What is not given keeps RetryConfiguration's default.
            var configuration = RetryConfiguration(maximumAttempts: attempts)
            if initial != nil || jitter == true, case .exponential(let base, let multiplier, _) = configuration.backoff {
                let first = try initial.map { seconds throws(BulwarkError) in try duration(seconds, "initialDelaySeconds") } ?? base
                configuration.backoff = .exponential(initial: first, multiplier: multiplier, jitter: jitter == true ? .full : .none)
            }
            if let maximum { configuration.maximumDelay = try duration(maximum, "maximumDelaySeconds") }
            let retry = try Retry(configuration: configuration, clock: clock)
            return (retry, retry.events)
        case .circuitBreaker(let failureRate, let minimumCalls, let windowCalls, let openSeconds, let probes, let windowSeconds):
            // What is not given keeps CircuitBreakerConfiguration's default.
            var configuration = CircuitBreakerConfiguration()
            if let failureRate { configuration.failureRateThreshold = failureRate }
            if let minimumCalls { configuration.minimumCalls = minimumCalls }
            if let windowSeconds { configuration.window = .time(seconds: windowSeconds) }
            if let windowCalls { configuration.window = .count(windowCalls) }
            if let openSeconds { configuration.openDuration = .fixed(try duration(openSeconds, "openSeconds")) }
            if let probes { configuration.halfOpenProbes = probes }
            let breaker = try CircuitBreaker(configuration: configuration, clock: clock)
            return (breaker, breaker.events)
        case .rateLimiter(let capacity, let refill, let period, let queueLimit, let maximumWait):
            let limiter = try TokenBucketRateLimiter(
                capacity: capacity, refill: refill, every: try duration(period, "periodSeconds"),
                queueLimit: queueLimit ?? TokenBucketRateLimiter<C>.defaultQueueLimit, clock: clock
            )
            let stage = try RateLimitStage(limiter, maximumWait: try duration(maximumWait ?? 0, "maximumWaitSeconds"))
            return (stage, limiter.events)
        case .bulkhead(let limit, let queueLimit):
            let bulkhead = try Bulkhead(limit: limit, queueLimit: queueLimit ?? TokenBucketRateLimiter<C>.defaultQueueLimit, clock: clock)
            return (bulkhead, bulkhead.events)
        case .adaptiveBulkhead(let algorithm, let initial, let minimum, let maximum, let queueLimit):
            let queue = queueLimit ?? TokenBucketRateLimiter<C>.defaultQueueLimit
            switch algorithm {
            case "aimd":
                var configuration = AIMDLimit.Configuration()
                Self.bounds(&configuration.initialLimit, &configuration.minimumLimit, &configuration.maximumLimit, initial, minimum, maximum)
                let limit = try AIMDLimit(configuration: configuration)
                let bulkhead = try AdaptiveBulkhead(limit, queueLimit: queue, clock: clock)
                return (bulkhead, bulkhead.events)
            case "vegas":
                var configuration = VegasLimit.Configuration()  // Vegas has no minimum limit of its own
                if let initial { configuration.initialLimit = initial }
                if let maximum { configuration.maximumLimit = maximum }
                let limit = try VegasLimit(configuration: configuration)
                let bulkhead = try AdaptiveBulkhead(limit, queueLimit: queue, clock: clock)
                return (bulkhead, bulkhead.events)
            case "gradient2":
                var configuration = Gradient2Limit.Configuration()
                Self.bounds(&configuration.initialLimit, &configuration.minimumLimit, &configuration.maximumLimit, initial, minimum, maximum)
                let limit = try Gradient2Limit(configuration: configuration)
                let bulkhead = try AdaptiveBulkhead(limit, queueLimit: queue, clock: clock)
                return (bulkhead, bulkhead.events)
            default:
                throw .invalidConfiguration(field: "algorithm", rule: "must be \"aimd\", \"vegas\" or \"gradient2\" (got \"\(algorithm)\")")
            }
        }
    }

    /// Sets an estimator's limits from the given ones, keeping Netflix's defaults for the initial
    /// and maximum limits and taking 1 as the minimum when none is given (so that a small initial
    /// limit is valid, where Netflix's minimum of 20 would refuse it).
    private static func bounds(
        _ initialLimit: inout Int, _ minimumLimit: inout Int, _ maximumLimit: inout Int, _ initial: Int?, _ minimum: Int?, _ maximum: Int?
    ) {
        if let initial { initialLimit = initial }
        minimumLimit = minimum ?? 1
        if let maximum { maximumLimit = maximum }
    }

    /// Refuses a breaker whose time window can never hold `minimumCalls` calls because a rate
    /// limiter admits fewer in that span: `capacity + ⌊refill × window / period⌋` at most (a full
    /// bucket, then the refill of the window's length). A limiter inside the breaker bounds the
    /// calls the breaker counts (its refusals are not counted); one outside bounds the calls that
    /// reach it, times the attempts of any retry between the two. Such a breaker would never judge
    /// a rate, and so never open. Also refuses a breaker given both kinds of window.
    private func checkReachableMinimums() throws(BulwarkError) {
        for (index, stage) in stages.enumerated() {
            guard case .circuitBreaker(_, let minimumCalls, let windowCalls, _, _, let windowSeconds?) = stage else { continue }
            guard windowCalls == nil else {
                throw .invalidConfiguration(
                    field: "stages[\(index)].circuitBreaker.windowSeconds",
                    rule: "must not be given with windowCalls: a breaker has one window, of calls or of seconds"
                )
            }
            let minimum = minimumCalls ?? CircuitBreakerConfiguration().minimumCalls
            for (other, limiter) in stages.enumerated() where other != index {
                guard let most = Self.mostAdmitted(by: limiter, within: windowSeconds) else { continue }
                // Retries between an outer limiter and the breaker multiply the calls it sees.
                var attempts = 1
                for retry in stages[min(other, index) ..< max(other, index)] where other < index {
                    if case .retry(let maximumAttempts, _, _, _) = retry, maximumAttempts > 0 {
                        attempts = attempts.multipliedReportingOverflow(by: maximumAttempts).overflow ? .max : attempts * maximumAttempts
                    }
                }
                let (bound, overflow) = most.multipliedReportingOverflow(by: attempts)
                if !overflow, minimum > bound {
                    throw .invalidConfiguration(
                        field: "stages[\(index)].circuitBreaker.minimumCalls",
                        rule: "can never be reached: a window of \(windowSeconds) s holds at most \(bound) calls at the rate of "
                            + "stages[\(other)].rateLimiter, so the breaker would never open by rate (got \(minimum))"
                    )
                }
            }
        }
    }

    /// The most a rate-limiter stage admits within `seconds`, or `nil` for any other stage or for
    /// values its own validation refuses (or too large to matter).
    private static func mostAdmitted(by stage: Stage, within seconds: Int) -> Int? {
        guard case .rateLimiter(let capacity, let refill, let period, _, _) = stage, capacity > 0, seconds > 0,
              (refill ?? capacity) > 0, period.isFinite, period > 0 else { return nil }
        let refilled = Double(refill ?? capacity) * Double(seconds) / period
        guard refilled < 1e15, capacity < Int.max / 2 else { return nil }
        return capacity + Int(refilled.rounded(.down))
    }

    /// `seconds` as a duration, or an error naming `field` when it is negative or not finite.
    private static func duration(_ seconds: Double, _ field: String) throws(BulwarkError) -> Duration {
        guard seconds.isFinite, seconds >= 0, seconds <= 1e9 else {
            throw .invalidConfiguration(field: field, rule: "must be a number of seconds in 0 ... 1e9 (got \(seconds))")
        }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}

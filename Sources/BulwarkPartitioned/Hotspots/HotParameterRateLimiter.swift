public import BulwarkCore
public import BulwarkEngine

/// Hot-parameter limiting, as Sentinel's `ParamFlowRule` does it for hot values: every request
/// is counted by a ``HotspotDetector``; a key it finds hot is held to a stricter limit of its own
/// (any algorithm: a token bucket of 5 per second, a window), and released when it cools down.
///
/// Cold keys pass untouched: this limiter adds the detector's record to their calls, and, while
/// any key is hot, the detector's lock and a lookup in the hot set. A hot
/// key's requests go through a partition of ``hotLimits`` (created when the key turns hot, dropped
/// when it cools down, so memory follows the hot set, not the key space).
///
///     let limiter = try HotParameterRateLimiter<String, TokenBucket, ContinuousClock>(
///         detection: .init(rule: .init(timesAverage: 20)),
///         hotLimit: .init(capacity: 10, refill: 10, every: .seconds(1)))
///     guard try limiter.tryAcquire(apiKey).isAllowed else { return .tooManyRequests }
public final class HotParameterRateLimiter<Key: Hashable & Sendable, Algorithm: RateLimitAlgorithm, C: NanosecondClock>: Sendable {
    /// The detector every request is counted by.
    public let detector: HotspotDetector<Key, C>
    /// The stricter limits, one partition per hot key.
    public let hotLimits: PartitionedRateLimiter<Key, Algorithm, C>

    /// Creates a limiter.
    ///
    /// - Parameters:
    ///   - detection: How hot keys are found.
    ///   - hotLimit: The limit of each hot key.
    ///   - clock: The clock both read.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public init(
        detection: HotspotDetector<Key, C>.Configuration, hotLimit: Algorithm.Configuration, clock: C
    ) throws(BulwarkError) {
        let limits = try PartitionedRateLimiter<Key, Algorithm, C>(
            configuration: hotLimit, maximumPartitions: max(16, detection.trackedKeys * 2), queueLimit: 0, clock: clock
        )
        hotLimits = limits
        detector = try HotspotDetector(configuration: detection, clock: clock) { key, hot in
            if !hot { _ = limits.removePartition(key) }
        }
    }

    /// Counts `cost` for `key`; a hot key's cost is then decided by its stricter limit.
    ///
    /// - Returns: ``HotParameterDecision/cold`` for a key that is not hot (nothing limits it
    ///   here), or the hot limit's decision.
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` for a cost the hot limit refuses.
    public func tryAcquire(_ key: Key, cost: Int = 1) throws(BulwarkError) -> HotParameterDecision {
        detector.record(key, count: cost)
        guard detector.isHot(key) else { return .cold }
        return .hot(try hotLimits.tryAcquire(key, cost: cost))
    }
}

extension HotParameterRateLimiter: ResiliencePolicy, OutcomePolicy where Key == String {
    /// Counts the context's partition key (a call without one passes) and refuses a hot key over
    /// its limit with `BulwarkError/rateLimited(retryAfter:)`.
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        guard let key = context.partitionKey else { return await operation(context) }
        do {
            if case .hot(let decision) = try tryAcquire(key, cost: context.cost), !decision.isAllowed {
                return .rejected(.rateLimited(retryAfter: decision.retryAfter))
            }
        } catch {
            return .rejected(error)
        }
        return await operation(context)
    }
}

/// What a hot-parameter limiter decided.
public enum HotParameterDecision: Sendable, Hashable {
    /// The key is not hot: nothing limits it here.
    case cold
    /// The key is hot: its stricter limit decided.
    case hot(RateLimitDecision)

    /// Whether the request may go on.
    public var isAllowed: Bool {
        switch self {
        case .cold: true
        case .hot(let decision): decision.isAllowed
        }
    }
}

extension HotParameterRateLimiter where C == ContinuousClock {
    /// Creates a limiter timed on `ContinuousClock`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public convenience init(detection: HotspotDetector<Key, C>.Configuration, hotLimit: Algorithm.Configuration) throws(BulwarkError) {
        try self.init(detection: detection, hotLimit: hotLimit, clock: ContinuousClock())
    }
}

public import BulwarkCore
public import Synchronization

/// A rate-limiting policy as a pipeline stage: it refuses at once when the quota is short, or
/// waits at most ``maximumWait`` when told to.
///
/// The ``PipelineBuilder`` (and ``DynamicPipeline``) wraps every `RateLimitingPolicy` it is
/// given in one of these: inside a pipeline a limiter does not queue the call unless asked, as
/// Polly's, .NET's and Resilience4j's users expect. A limiter created with a maximum wait of its
/// own (`RateLimitingPolicy/maximumWait`, such as a leaky-bucket shaper's maximum delay) keeps
/// it; any other refuses at once. `limiter.waiting(upTo:)` chooses the bound explicitly:
///
///     let pipeline = try Pipeline {
///         try Retry(configuration: RetryConfiguration(maximumAttempts: 3))
///         try TokenBucketRateLimiter(capacity: 40, refill: 40, every: .seconds(60))   // refuses at once
///     }
///     let patient = try Pipeline {
///         try TokenBucketRateLimiter(capacity: 40, refill: 40, every: .seconds(60)).waiting(upTo: .seconds(5))
///     }
///
/// A refusal for time is `BulwarkError/rateLimited(retryAfter:)` with the predicted wait, even
/// when the context's deadline is already too close to wait at all: the stage asks the limiter to
/// refuse early (`WaitOptions/rejectEarly`) against the earlier of the context's deadline and
/// `now + maximumWait`. A waiter that still runs out of time before it is admitted (a caller of
/// higher priority was served first) is answered with the limiter's readiness as the
/// retry-after (zero when it is ready again). A full queue is still `BulwarkError/queueFull(limit:)`,
/// and limits that time alone does not free (concurrency) have no retry-after to give, and
/// answer `BulwarkError/waitTimedOut`. What the operation itself returns is never relabelled.
///
/// The operation sees the context the stage was given: the wait bound applies to this stage only.
public struct RateLimitStage<Limiter: RateLimitingPolicy>: OutcomePolicy {
    /// The limiter this stage asks.
    public let limiter: Limiter
    /// The longest the stage lets a call wait for the limiter; `.zero` refuses at once.
    public let maximumWait: Duration

    /// Wraps `limiter`, waiting at most ``maximumWait`` (`.zero`: refusing at once).
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when ``maximumWait`` is negative.
    public init(_ limiter: Limiter, maximumWait: Duration = .zero) throws(BulwarkError) {
        guard maximumWait >= .zero else {
            throw .invalidArgument(field: "maximumWait", rule: "must be at least 0 (got \(maximumWait))")
        }
        self.limiter = limiter
        self.maximumWait = maximumWait
    }

    /// Wraps `limiter` as a pipeline does by default: waiting at most the limiter's own
    /// `RateLimitingPolicy/maximumWait` when it has one, refusing at once otherwise.
    @inlinable
    public init(inPipeline limiter: Limiter) {
        self.limiter = limiter
        self.maximumWait = max(.zero, limiter.maximumWait ?? .zero)
    }

    /// Asks the limiter for the context's cost, waiting at most ``maximumWait`` (and never past
    /// the context's deadline), then runs `operation`; a refusal is returned as a value.
    @inlinable @inline(__always)
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        var asked = context
        asked.maximumWait = context.maximumWait.map { min($0, maximumWait) } ?? maximumWait
        asked.rejectEarly = true
        let ran = Atomic<Bool>(false)
        let outcome = await limiter.executeOutcome(asked) { handed in
            ran.store(true, ordering: .relaxed)
            var handed = handed
            handed.maximumWait = context.maximumWait
            handed.rejectEarly = context.rejectEarly
            return await operation(handed)
        }
        if case .rejected(.waitTimedOut) = outcome, !ran.load(ordering: .relaxed) {
            return timedOut(context)
        }
        return outcome
    }

    /// The answer for a waiter that ran out of time before it was admitted: the limiter's
    /// readiness as a retry-after when time will free it.
    @usableFromInline
    func timedOut<Success>(_ context: ResilienceContext) -> ExecutionOutcome<Success> {
        switch limiter.readiness(for: context) {
        case .ready: .rejected(.rateLimited(retryAfter: .zero))
        case .notReady(let retryAfter?): .rejected(.rateLimited(retryAfter: retryAfter))
        case .notReady(nil): .rejected(.waitTimedOut)
        }
    }

    /// The limiter's readiness.
    public func readiness(for context: ResilienceContext) -> Readiness {
        limiter.readiness(for: context)
    }
}

extension RateLimitingPolicy {
    /// This limiter as a pipeline stage that waits at most `maximumWait` for its quota (and never
    /// past the context's deadline), refusing with the predicted retry-after beyond that.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when `maximumWait` is negative.
    public func waiting(upTo maximumWait: Duration) throws(BulwarkError) -> RateLimitStage<Self> {
        try RateLimitStage(self, maximumWait: maximumWait)
    }
}

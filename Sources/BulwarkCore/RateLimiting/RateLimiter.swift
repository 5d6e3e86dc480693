/// How a waiting call wants to wait: until when, how urgently, and on whose behalf.
public struct WaitOptions: Sendable, Hashable {
    /// The latest time by which the call must be admitted, or `nil` to wait as long as it takes.
    public var deadline: Deadline?
    /// How urgent the call is; used by priority waiting orders.
    public var priority: Priority
    /// The partition the call waits for; used by fair waiting orders.
    public var partitionKey: String?
    /// Whether to refuse the call at once, with ``BulwarkError/rateLimited(retryAfter:)`` carrying
    /// the predicted wait, when that wait would end after ``deadline``, rather than queue it until
    /// the deadline for nothing.
    ///
    /// The prediction counts what the waiting order puts ahead of the caller, as the queue stands
    /// when it arrives; waiters ahead that give up later could have let it in sooner. Off by
    /// default: the caller then waits until its deadline.
    public var rejectEarly: Bool
    /// The longest the call will wait, counted from when the limiter reads its clock: the
    /// effective deadline is the earlier of ``deadline`` and `now + maximumWait`. `nil` for no
    /// bound but the deadline; `.zero` never waits.
    public var maximumWait: Duration?

    /// Creates waiting options.
    public init(
        deadline: Deadline? = nil,
        priority: Priority = .normal,
        partitionKey: String? = nil,
        rejectEarly: Bool = false,
        maximumWait: Duration? = nil
    ) {
        self.deadline = deadline
        self.priority = priority
        self.partitionKey = partitionKey
        self.rejectEarly = rejectEarly
        self.maximumWait = maximumWait
    }

    /// The effective deadline in nanoseconds at the reading `now`: the earlier of ``deadline``
    /// and `now + maximumWait` (a negative maximum counts as zero), or `nil` when neither is set.
    @inlinable
    public func deadlineNanoseconds(at now: Int64) -> Int64? {
        let bound = maximumWait.map { now.addingSaturating(max(0, $0.saturatingNanoseconds)) }
        guard let deadline = deadline?.nanoseconds(resolvedAt: now) else { return bound }
        return bound.map { min($0, deadline) } ?? deadline
    }
}

/// A policy that admits calls against a quota and, as a policy, may wait for it as the context's
/// ``WaitOptions`` say: every ``RateLimiter``, and the partitioned limiter, chains, token budgets,
/// success quotas and the Redis limiters.
///
/// It marks the stages a `Pipeline` wraps so that they refuse at once unless told to wait
/// (`limiter.waiting(upTo:)`) or created with a ``maximumWait`` of their own (a shaper's maximum
/// delay), as Polly's, .NET's and Resilience4j's users expect of a limiter inside a pipeline.
/// Used on its own, its `execute` waits until the context's deadline.
public protocol RateLimitingPolicy: ResiliencePolicy {
    /// The longest the policy lets any caller wait, when it was created with such a bound; `nil`
    /// (the default) when only the caller's deadline bounds the wait.
    var maximumWait: Duration? { get }
}

extension RateLimitingPolicy {
    /// No bound of the policy's own.
    public var maximumWait: Duration? { nil }
}

/// The contract of every Bulwark rate limiter: answer at once, or wait in a bounded queue.
///
/// ``tryAcquire(cost:)`` never waits: it takes the cost and says so, or says how long until it
/// could. ``acquire(cost:options:)`` waits in the limiter's queue, in the queue's order, until the
/// cost is admitted, the deadline passes or the task is cancelled. A waiter that gives up takes
/// nothing from the limiter: capacity is only taken when a waiter is admitted.
///
///     let limiter = try TokenBucketRateLimiter(capacity: 40, refill: 40, every: .seconds(60))
///     let now = try limiter.tryAcquire()              // answers at once
///     try await limiter.acquire(deadline: .after(.seconds(10)))   // waits its turn
///
/// A rate limiter is also a ``ResiliencePolicy``: `execute` waits for the context's cost until the
/// context's deadline, then runs the operation.
public protocol RateLimiter: RateLimitingPolicy {
    /// Takes `cost` if it is available now and nobody is queued ahead; never waits.
    ///
    /// A cost of zero is a probe: it is always allowed, takes nothing, and reports what remains.
    ///
    /// - Throws: ``BulwarkError/invalidArgument(field:rule:)`` when `cost` is negative or larger
    ///   than the limiter could ever admit.
    func tryAcquire(cost: Int) throws(BulwarkError) -> RateLimitDecision

    /// Takes `cost`, waiting in the limiter's queue until it is admitted.
    ///
    /// - Returns: The allowed decision.
    /// - Throws: ``BulwarkError/rateLimited(retryAfter:)`` when the predicted wait is refused
    ///   early (``WaitOptions/rejectEarly``, or a limiter's maximum wait),
    ///   ``BulwarkError/queueFull(limit:)`` when the queue is full,
    ///   ``BulwarkError/waitTimedOut`` when the deadline passes first, `CancellationError` when the
    ///   task is cancelled first, ``BulwarkError/invalidArgument(field:rule:)`` for a bad cost.
    func acquire(cost: Int, options: WaitOptions) async throws -> RateLimitDecision
}

extension RateLimiter {
    /// Takes one permit if it is available now; never waits.
    @inlinable
    public func tryAcquire() throws(BulwarkError) -> RateLimitDecision {
        try tryAcquire(cost: 1)
    }

    /// Takes `cost`, waiting in the limiter's queue until it is admitted or `deadline` passes
    /// (with `rejectEarly`, refused at once when the predicted wait ends after the deadline).
    @discardableResult
    public func acquire(
        cost: Int = 1,
        deadline: Deadline? = nil,
        priority: Priority = .normal,
        partitionKey: String? = nil,
        rejectEarly: Bool = false
    ) async throws -> RateLimitDecision {
        try await acquire(
            cost: cost,
            options: WaitOptions(deadline: deadline, priority: priority, partitionKey: partitionKey, rejectEarly: rejectEarly)
        )
    }

    /// Takes `cost`, waiting at most `timeout` for it.
    @discardableResult
    public func acquire(cost: Int = 1, timeout: Duration) async throws -> RateLimitDecision {
        try await acquire(cost: cost, options: WaitOptions(deadline: .after(timeout)))
    }

    /// Waits for the context's cost (until the context's deadline), then runs `operation`.
    public func execute<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success {
        _ = try await acquire(cost: context.cost, options: context.waitOptions)
        return try await operation(context)
    }
}

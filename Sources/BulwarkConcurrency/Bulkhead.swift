public import BulwarkCore
public import BulwarkEngine

/// The bulkhead: at most ``limit`` units of work in flight at once (each call weighs its cost), the
/// others waiting in the shared engine's queue, in its order (FIFO, LIFO, or any `WaitOrder`).
///
/// A permit is returned when the work ends, however it ends: by construction, not by discipline.
/// ``withPermit(cost:options:_:)`` (and `execute(_:_:)`, which makes the bulkhead a
/// `ResiliencePolicy`) releases it when the body returns, throws or is cancelled; a caller that
/// must hold a permit across calls takes a ``BulkheadPermit``, which cannot be copied and releases
/// itself when it goes out of scope, if nobody released it before. A waiter that times out or is
/// cancelled holds nothing.
///
///     let provider = try Bulkhead(limit: 5)                       // 5 model calls in flight
///     let reply = try await provider.withPermit(options: .init(deadline: .after(.seconds(10)))) {
///         try await client.chat(request)
///     }
public final class Bulkhead<C: NanosecondClock>: OutcomePolicy {
    /// The engine running the concurrency limit.
    @usableFromInline let limiter: InMemoryRateLimiter<ConcurrencyLimit, C>

    /// The most units in flight at once.
    public var limit: Int { limiter.limit }

    /// The units in flight now (above ``limit`` while a composite's charge holds it in debt).
    public var inFlight: Int {
        let (free, unitsPerPermit) = limiter.snapshot(at: limiter.clock.nowNanoseconds).remainingFraction
        return limiter.limit - Int(free / unitsPerPermit)
    }

    /// Where the bulkhead's events go: refusals, queueing and wait time-outs.
    public var events: EventChannel { limiter.events }

    /// How many callers are waiting for a permit now.
    public var waitingCount: Int { limiter.waitingCount }

    /// Creates a bulkhead on `clock` (which only times the waiters' deadlines).
    ///
    /// - Parameters:
    ///   - limit: The most units in flight at once.
    ///   - queueLimit: The most callers that may wait (0: no waiting).
    ///   - order: The order in which waiters are served; FIFO by default, or `LIFOWaitOrder`.
    ///   - maximumWait: The longest a caller may wait; `nil` for no bound but its deadline.
    ///   - clock: The clock deadlines are read on.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming the field and the rule.
    public init(
        limit: Int,
        queueLimit: Int = InMemoryRateLimiter<ConcurrencyLimit, C>.defaultQueueLimit,
        order: any WaitOrder = FIFOWaitOrder(),
        maximumWait: Duration? = nil,
        clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        limiter = try InMemoryRateLimiter(
            configuration: .init(limit: limit), queueLimit: queueLimit, order: order, maximumWait: maximumWait, clock: clock
        )
    }

    /// Takes `cost` (already validated) if it is free now and nobody waits. A concurrency limit does
    /// not change with time, so no clock is read unless callers wait (serving them needs one).
    @inlinable
    func tryAdmit(_ cost: Int) -> (decision: RateLimitDecision, admittedAt: Int64) {
        if let admitted = limiter.tryAdmitAtLastReading(cost: cost) { return admitted }
        return limiter.tryAdmit(cost: cost, at: limiter.clock.nowNanoseconds)
    }

    /// Takes `cost` units if they are free now and nobody waits; never waits.
    ///
    /// - Returns: The permit, or `nil` when the bulkhead is full.
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when `cost` is not in `1 ... limit`.
    @inlinable
    public func tryAcquirePermit(cost: Int = 1) throws(BulwarkError) -> BulkheadPermit? {
        try validate(cost)
        let (decision, admittedAt) = tryAdmit(cost)
        guard decision.isAllowed else {
            limiter.events.emit(.limiterDenied(cost: cost, retryAfter: decision.retryAfter))
            return nil
        }
        return BulkheadPermit(owner: self, cost: cost, admittedAt: admittedAt)
    }

    /// Takes `cost` units, waiting in the queue until they are free.
    ///
    /// - Throws: `BulwarkError/queueFull(limit:)`, `BulwarkError/waitTimedOut`,
    ///   `CancellationError`, or `BulwarkError/invalidArgument(field:rule:)` for a bad cost.
    @inlinable
    public func acquirePermit(cost: Int = 1, options: WaitOptions = WaitOptions()) async throws -> BulkheadPermit {
        try validate(cost)
        let (decision, admittedAt) = tryAdmit(cost)
        if decision.isAllowed { return BulkheadPermit(owner: self, cost: cost, admittedAt: admittedAt) }
        let (_, waitedUntil) = try await limiter.admit(cost: cost, options: options)
        return BulkheadPermit(owner: self, cost: cost, admittedAt: waitedUntil)
    }

    /// Runs `body` holding `cost` units, released when it returns, throws or is cancelled.
    ///
    /// - Throws: What ``acquirePermit(cost:options:)`` throws, or what `body` throws.
    @inlinable
    public func withPermit<Result: Sendable>(
        cost: Int = 1,
        options: WaitOptions = WaitOptions(),
        _ body: () async throws -> Result
    ) async throws -> Result {
        let permit = try await acquirePermit(cost: cost, options: options)
        do {
            let result = try await body()
            permit.release()
            return result
        } catch {
            permit.release()
            throw error
        }
    }

    /// Runs `operation` holding the context's cost; a refusal is returned as a value, not thrown.
    @inlinable @inline(__always)
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        let cost = context.cost
        guard cost >= 1, cost <= limit else { return .rejected(invalidCost(cost)) }
        let admittedAt: Int64
        let immediate = tryAdmit(cost)
        if _fastPath(immediate.decision.isAllowed) {
            admittedAt = immediate.admittedAt
        } else {
            switch await limiter.admission(cost: cost, options: context.waitOptions, context: context) {
            case .success(let admission): admittedAt = admission.admittedAt
            case .rejected(let error): return .rejected(error)
            case .failure(let error): return .failure(error)
            }
        }
        let outcome = await operation(context)
        release(cost, admittedAt: admittedAt)
        return outcome
    }

    /// Not ready when the context's cost is not free now, is not one a call may take (below 1 or
    /// above the limit), or callers wait ahead of it.
    public func readiness(for context: ResilienceContext) -> Readiness {
        guard context.cost >= 1 else { return .notReady(retryAfter: nil) }
        return limiter.readiness(for: context)
    }

    /// Gives `cost` units back and lets the next waiter in.
    @inlinable
    func release(_ cost: Int, admittedAt: Int64) {
        limiter.refundAtLastReading(cost, admittedAt: admittedAt)
    }

    @usableFromInline
    func validate(_ cost: Int) throws(BulwarkError) {
        guard cost >= 1, cost <= limit else { throw invalidCost(cost) }
    }

    @usableFromInline
    func invalidCost(_ cost: Int) -> BulwarkError {
        .invalidArgument(field: "cost", rule: "must be between 1 and the limit \(limit) (got \(cost))")
    }
}

/// Units of a bulkhead held by one caller: released exactly once, by `release()` or, failing
/// that, when the permit goes out of scope.
///
/// It cannot be copied, so it cannot be released twice; it can be moved (into a task, a stored
/// property of another non-copyable owner) and released there.
///
///     let permit = try await bulkhead.acquirePermit(cost: 2)
///     try await stream(response)
///     permit.release()               // or let it go out of scope
public struct BulkheadPermit: ~Copyable, Sendable {
    private let owner: any PermitOwner
    /// The units this permit holds.
    public let cost: Int
    private let admittedAt: Int64

    @usableFromInline
    init(owner: any PermitOwner, cost: Int, admittedAt: Int64) {
        self.owner = owner
        self.cost = cost
        self.admittedAt = admittedAt
    }

    /// Gives the units back now and lets the next waiter in.
    public consuming func release() {
        // The deinit below runs as `self` is consumed here.
    }

    deinit {
        owner.release(cost, admittedAt: admittedAt)
    }
}

/// What a permit gives its units back to.
@usableFromInline
protocol PermitOwner: AnyObject, Sendable {
    func release(_ cost: Int, admittedAt: Int64)
}

extension Bulkhead: PermitOwner {}

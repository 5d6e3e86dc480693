public import BulwarkCore
import Synchronization

/// A rate limiter that keeps its state in this process: an algorithm behind a lock, with a
/// waiting queue.
///
/// Every algorithm module (token bucket, leaky bucket, windows, GCRA, concurrency) is used through
/// this one type; each module names its specialisation, e.g. `TokenBucketRateLimiter<C>` is
/// `InMemoryRateLimiter<TokenBucket, C>`. The limiter adds four things to the algorithm's pure
/// arithmetic:
///
/// - **Safety under concurrency.** The algorithm's state sits behind a lock (one compare-exchange
///   to take, one store to release); a decision holds it for a few nanoseconds and the clock is
///   read before taking it. A permitted ``tryAcquire(cost:)`` allocates nothing.
/// - **A waiting room.** ``acquire(cost:options:)`` joins a bounded queue served in the order of a
///   pluggable ``WaitOrder``. Only the waiter the order names next may be admitted, and
///   ``tryAcquire(cost:)`` is refused while anyone waits, so nobody overtakes the queue.
/// - **Exact wake-ups.** One timer task sleeps on the injected clock until the next moment
///   something can change (the head becomes admissible or a deadline passes), so a waiter is
///   admitted at the exact nanosecond its cost becomes available, and times out at its deadline.
/// - **Early answers.** A caller whose predicted wait is longer than ``maximumWait``, or (when it
///   asks with `WaitOptions/rejectEarly`) ends after its deadline, is refused at once with
///   `BulwarkError/rateLimited(retryAfter:)` carrying that prediction, instead of waiting for
///   nothing.
///
/// A waiter takes capacity only when it is admitted: one that times out or is cancelled leaves
/// the limiter exactly as if it had never asked, and the next waiter is re-examined at once.
///
/// It deliberately does not partition by key (`PartitionedRateLimiter` holds a state per key) and
/// does not share state between processes (the Redis store does).
///
///     let limiter = try InMemoryRateLimiter<TokenBucket, ContinuousClock>(
///         configuration: .init(capacity: 40, refill: 40, every: .seconds(60)),
///         queueLimit: 100, clock: ContinuousClock())
///     try await limiter.acquire(cost: 1, deadline: .after(.seconds(10)))
public final class InMemoryRateLimiter<Algorithm: RateLimitAlgorithm, C: NanosecondClock>: RateLimiter {
    @usableFromInline
    struct State: Sendable {
        @usableFromInline var algorithm: Algorithm
        @usableFromInline var waiting: WaitingRoom
    }

    /// The clock the limiter reads and its waiters sleep on.
    public let clock: C

    /// The most the algorithm admits at once; a larger cost is refused with an error.
    public let limit: Int

    /// The most waiters the queue holds; `acquire` beyond it throws `BulwarkError/queueFull(limit:)`.
    public let queueLimit: Int

    /// The longest a caller may wait: one whose predicted wait is longer is refused at once, and
    /// no waiter stays queued longer. `nil` when only the caller's deadline bounds the wait.
    public var maximumWait: Duration? { maximumWaitNanoseconds.map { .nanoseconds($0) } }

    let maximumWaitNanoseconds: Int64?

    @usableFromInline
    let state: LockedValue<State>

    /// Where the limiter's events go: denials, queueing, queue-full refusals and wait time-outs.
    public let events: EventChannel

    private let nextWaiterID = Atomic<UInt64>(0)

    /// Creates a limiter running `Algorithm` configured by `configuration`.
    ///
    /// - Parameters:
    ///   - configuration: The algorithm's configuration.
    ///   - queueLimit: The most waiters ``acquire(cost:options:)`` may queue (0 disables waiting);
    ///     `queueLimit × limit` must fit in half an `Int`, so the queue's total cost stays exact.
    ///   - order: The order in which waiters are served; FIFO by default.
    ///   - maximumWait: The longest any caller may wait (see ``maximumWait``); `nil` for no bound.
    ///   - clock: The clock to read and to sleep on.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for a configuration the
    ///   algorithm rejects, a `queueLimit` that is negative or too large for the limit, an order
    ///   that is not empty, or a negative ``maximumWait``.
    public convenience init(
        configuration: Algorithm.Configuration,
        queueLimit: Int = defaultQueueLimit,
        order: any WaitOrder = FIFOWaitOrder(),
        maximumWait: Duration? = nil,
        clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        let algorithm = try Algorithm(configuration: configuration, now: clock.nowNanoseconds)
        try self.init(algorithm: algorithm, queueLimit: queueLimit, order: order, maximumWait: maximumWait, clock: clock)
    }

    /// Creates a limiter around an algorithm value already created (a partition that needs a
    /// waiting room, a configuration validated once for many keys).
    package init(
        algorithm: Algorithm,
        queueLimit: Int,
        order: any WaitOrder,
        maximumWait: Duration?,
        clock: C = ContinuousClock()
    ) throws(BulwarkError) {
        guard queueLimit >= 0 else {
            throw .invalidConfiguration(field: "queueLimit", rule: "must be at least 0")
        }
        // The queue's total cost, plus one more request, must stay an exact Int.
        guard queueLimit <= (Int.max / 2) / max(1, algorithm.limit) else {
            throw .invalidConfiguration(
                field: "queueLimit",
                rule: "× the limit \(algorithm.limit) must be at most \(Int.max / 2) (got \(queueLimit))"
            )
        }
        guard order.count == 0 else {
            throw .invalidConfiguration(field: "order", rule: "must be empty (holds \(order.count) tickets)")
        }
        if let maximumWait, maximumWait < .zero {
            throw .invalidConfiguration(field: "maximumWait", rule: "must be at least 0 (got \(maximumWait))")
        }
        self.clock = clock
        self.limit = algorithm.limit
        self.queueLimit = queueLimit
        self.maximumWaitNanoseconds = maximumWait?.saturatingNanoseconds
        self.state = LockedValue(State(algorithm: algorithm, waiting: WaitingRoom(order: order, now: algorithm.updatedAt)))
        self.events = EventChannel(defaultName: String(describing: Algorithm.self))
    }

    /// How many callers are waiting in the queue now.
    public var waitingCount: Int {
        state.withLock { $0.waiting.count }
    }

    /// Takes `cost` if it is available now and nobody is queued; never waits, never allocates.
    ///
    /// A cost of zero is a probe: allowed, takes nothing, reports what remains. While callers are
    /// queued (after serving what fell due by now) any positive cost is denied, with a retry-after
    /// that counts the whole queue: a caller that does not wait comes after every waiter.
    ///
    /// - Throws: `BulwarkError/invalidArgument(field:rule:)` when `cost` is negative or above
    ///   ``limit``.
    @inlinable
    public func tryAcquire(cost: Int) throws(BulwarkError) -> RateLimitDecision {
        guard cost >= 0, cost <= limit else { throw invalidCost(cost) }
        let now = clock.nowNanoseconds
        let decision = state.withLock { state -> RateLimitDecision? in
            guard _fastPath(state.waiting.count == 0) else { return nil }
            return cost > 0 ? state.algorithm.tryConsume(cost, at: now) : state.algorithm.snapshot(at: now, retryAfterNanoseconds: 0)
        }
        let answer = decision ?? decideArriving(cost, at: now).decision
        if !answer.isAllowed { events.emit(.limiterDenied(cost: cost, retryAfter: answer.retryAfter)) }
        return answer
    }

    /// Takes `cost`, waiting in the queue until it is admitted, the deadline passes or the task is
    /// cancelled.
    ///
    /// When nobody is queued and the cost is available it returns at once. Otherwise the caller
    /// joins the queue and is admitted at the exact moment its turn comes and its cost is
    /// available. A waiter whose deadline has already passed on entry is answered at once. A
    /// caller is refused at once, without queueing, when its predicted wait exceeds
    /// ``maximumWait`` or, with `WaitOptions/rejectEarly`, would end after its deadline.
    ///
    /// - Returns: The allowed decision, with what remained after this caller was admitted.
    /// - Throws: `BulwarkError/rateLimited(retryAfter:)` (refused early, with the predicted
    ///   wait), `BulwarkError/queueFull(limit:)`, `BulwarkError/waitTimedOut`,
    ///   `CancellationError`, or `BulwarkError/invalidArgument(field:rule:)` for a bad cost.
    @discardableResult
    public func acquire(cost: Int, options: WaitOptions) async throws -> RateLimitDecision {
        try await admit(cost: cost, options: options).decision
    }

    @usableFromInline
    func invalidCost(_ cost: Int) -> BulwarkError {
        .invalidArgument(
            field: "cost",
            rule: cost < 0 ? "must be at least 0 (got \(cost))" : "must be at most the limit \(limit) (got \(cost))"
        )
    }

    /// Like ``acquire(cost:options:)``, and also says at which reading the cost was admitted (what
    /// a later refund of it must be told). A composite waiting here (a chain) passes its own
    /// channel as `reporting`, so that its observer hears the caller was queued.
    @usableFromInline
    package func admit(
        cost: Int, options: WaitOptions, reporting: EventChannel? = nil, alsoReporting: EventChannel? = nil
    ) async throws -> (decision: RateLimitDecision, admittedAt: Int64) {
        switch await admission(cost: cost, options: options, reporting: reporting, alsoReporting: alsoReporting) {
        case .success(let admitted): return (admitted.decision, admitted.admittedAt)
        case .rejected(let error): throw error
        case .failure(let error): throw error
        }
    }

    /// Like `admit(cost:options:reporting:alsoReporting:)`, with a refusal as a value rather
    /// than a thrown error (the no-throw entry points box nothing), and the events of the wait
    /// emitted. The queueing event also goes to `reporting` and `alsoReporting`, the channels of
    /// the composites (a partitioned limiter, a chain over it) that wait here on behalf of their
    /// caller; refusals they report themselves.
    @usableFromInline
    package func admission(
        cost: Int, options: WaitOptions, context: ResilienceContext? = nil,
        reporting: EventChannel? = nil, alsoReporting: EventChannel? = nil
    ) async -> ExecutionOutcome<Admitted> {
        guard cost >= 0, cost <= limit else { return .rejected(invalidCost(cost)) }
        let now = clock.nowNanoseconds
        // Admitted at once when nobody is queued and the cost is there (or it is a probe).
        let immediate = tryAdmit(cost: cost, at: now)
        if immediate.decision.isAllowed { return .success(Admitted(immediate)) }
        var deadline = options.deadlineNanoseconds(at: now) ?? .max
        if let maximumWaitNanoseconds {
            deadline = min(deadline, now.addingSaturating(maximumWaitNanoseconds))
        }
        let id = nextWaiterID.wrappingAdd(1, ordering: .relaxed).newValue
        let ticket = WaitTicket(
            id: id, cost: cost, priority: options.priority, partitionKey: options.partitionKey, enqueuedAt: now,
            deadline: deadline
        )
        let request = WaitRequest(ticket: ticket, rejectEarly: options.rejectEarly)
        let outcome = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                let (resumptions, queuedBehind) = state.withLock { state in
                    enqueue(request, continuation: continuation, into: &state)
                }
                for resumption in resumptions { resumption.resume() }
                if let queuedBehind {
                    events.emit(.limiterQueued(cost: cost, waiting: queuedBehind), context: context)
                    if let reporting, reporting !== events {
                        reporting.emit(.limiterQueued(cost: cost, waiting: queuedBehind), context: context)
                    }
                    if let alsoReporting, alsoReporting !== events {
                        alsoReporting.emit(.limiterQueued(cost: cost, waiting: queuedBehind), context: context)
                    }
                }
            }
        } onCancel: {
            withdraw(id)
        }
        switch outcome {
        case .admitted(let decision, let admittedAt):
            return .success(Admitted((decision, admittedAt)))
        case .rejected(let retryAfter):
            events.emit(.limiterDenied(cost: cost, retryAfter: .nanoseconds(retryAfter)), context: context)
            return .rejected(.rateLimited(retryAfter: .nanoseconds(retryAfter)))
        case .timedOut:
            events.emit(.limiterWaitTimedOut(cost: cost), context: context)
            return .rejected(.waitTimedOut)
        case .cancelled:
            return .failure(CancellationError())
        case .queueFull(let limit):
            events.emit(.limiterQueueFull(cost: cost, limit: limit), context: context)
            return .rejected(.queueFull(limit: limit))
        }
    }

    /// Waits for the context's cost (until the context's deadline), then runs `operation`.
    ///
    /// - Throws: What ``acquire(cost:options:)`` throws, or what `operation` threw.
    @inlinable
    public func execute<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async throws -> Success
    ) async throws -> Success {
        if _fastPath(admitsAtOnce(context.cost)) { return try await operation(context) }
        switch await admission(cost: context.cost, options: context.waitOptions, context: context) {
        case .success: return try await operation(context)
        case .rejected(let error): throw error
        case .failure(let error): throw error
        }
    }

    /// Waits for the context's cost (until the context's deadline), then runs `operation`; a
    /// refusal is returned as a value, not thrown.
    @inlinable
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        if _fastPath(admitsAtOnce(context.cost)) { return await operation(context) }
        switch await admission(cost: context.cost, options: context.waitOptions, context: context) {
        case .success: return await operation(context)
        case .rejected(let error): return .rejected(error)
        case .failure(let error): return .failure(error)
        }
    }

    /// Takes `cost` if it is valid, available now and nobody waits; the fast path of `execute`.
    @inlinable
    func admitsAtOnce(_ cost: Int) -> Bool {
        cost >= 0 && cost <= limit && tryAdmit(cost: cost, at: clock.nowNanoseconds).decision.isAllowed
    }

    /// Not ready when the context's cost, behind the cost already queued, is not available now,
    /// with the predicted wait as the retry-after (none for a concurrency limit, which time alone
    /// does not free), or when the cost is one no call may take. Takes nothing.
    public func readiness(for context: ResilienceContext) -> Readiness {
        let cost = context.cost
        guard cost >= 0, cost <= limit else { return .notReady(retryAfter: nil) }
        let now = clock.nowNanoseconds
        let wait = state.withLock { state in
            state.algorithm.nanosecondsUntilAdmitted(queuedAhead: state.waiting.queuedCost, cost: cost, at: now)
        }
        if wait == 0 || cost == 0 { return .ready }
        return .notReady(retryAfter: wait == .max ? nil : .nanoseconds(wait))
    }
}

/// A cost the engine admitted: the decision, and the reading it was admitted at (what a refund
/// of it must be told).
@usableFromInline
package struct Admitted: Sendable {
    /// The allowed decision.
    @usableFromInline package var decision: RateLimitDecision
    /// The reading the cost was admitted at.
    @usableFromInline package var admittedAt: Int64

    @usableFromInline
    package init(_ pair: (decision: RateLimitDecision, admittedAt: Int64)) {
        decision = pair.decision
        admittedAt = pair.admittedAt
    }
}

extension InMemoryRateLimiter {
    /// The decision for a caller that does not wait, arriving while others do: the queue is first
    /// served up to `now` (its events in time order, as if the timer had been on time), then the
    /// caller is decided as ``tryAcquire(cost:)`` says. Says at which reading an allowed cost was
    /// admitted.
    @usableFromInline
    func decideArriving(_ cost: Int, at now: Int64) -> (decision: RateLimitDecision, admittedAt: Int64) {
        let (result, resumptions) = state.withLock { state -> ((decision: RateLimitDecision, admittedAt: Int64), [Resumption]) in
            let resumptions = state.drain(at: now)
            let result: (decision: RateLimitDecision, admittedAt: Int64)
            if cost > 0, state.waiting.count == 0 {
                result = (state.algorithm.tryConsume(cost, at: now), state.algorithm.updatedAt)
            } else {
                result = (state.decideBehindQueue(cost, at: now), now)
            }
            arm(&state, now: now)
            return (result, resumptions)
        }
        for resumption in resumptions { resumption.resume() }
        return result
    }
}

extension InMemoryRateLimiter.State {
    /// The decision for a probe, or for a positive cost of a caller that does not wait while others
    /// do: denied, with a retry-after that counts the whole queue (at least one nanosecond: the
    /// queue is served first).
    @usableFromInline
    func decideBehindQueue(_ cost: Int, at now: Int64) -> RateLimitDecision {
        if cost == 0 {
            return algorithm.snapshot(at: now, retryAfterNanoseconds: 0)
        }
        let wait = algorithm.nanosecondsUntilAdmitted(queuedAhead: waiting.queuedCost, cost: cost, at: now)
        return algorithm.snapshot(at: now, retryAfterNanoseconds: max(1, wait))
    }
}

extension InMemoryRateLimiter {
    /// How many callers wait in a limiter's queue when no `queueLimit` is given: 1,024. Every
    /// limiter, bulkhead and configuration takes its default from here.
    public static var defaultQueueLimit: Int { 1024 }
}

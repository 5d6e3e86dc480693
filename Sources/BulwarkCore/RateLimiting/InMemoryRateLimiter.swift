import Synchronization

/// A rate limiter that keeps its state in this process: an algorithm behind a lock, with a
/// waiting queue.
///
/// Every algorithm module (token bucket, leaky bucket, windows, GCRA) is used through this one
/// type; each module names its specialisation, e.g. `TokenBucketLimiter<C>` is
/// `InMemoryRateLimiter<TokenBucket, C>`. The limiter adds three things to the algorithm's pure
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
///
/// A waiter takes capacity only when it is admitted: one that times out or is cancelled leaves
/// the limiter exactly as if it had never asked, and the next waiter is re-examined at once.
///
/// It deliberately does not partition by key (a keyed limiter holds one per key) and does not
/// share state between processes (the Redis store does).
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

    /// The most waiters the queue holds; `acquire` beyond it throws ``BulwarkError/queueFull(limit:)``.
    public let queueLimit: Int

    @usableFromInline
    let state: LockedValue<State>

    private let nextWaiterID = Atomic<UInt64>(0)

    /// Creates a limiter running `Algorithm` configured by `configuration`.
    ///
    /// - Parameters:
    ///   - configuration: The algorithm's configuration.
    ///   - queueLimit: The most waiters ``acquire(cost:options:)`` may queue (0 disables waiting);
    ///     `queueLimit × limit` must fit in half an `Int`, so the queue's total cost stays exact.
    ///   - order: The order in which waiters are served; FIFO by default.
    ///   - clock: The clock to read and to sleep on.
    /// - Throws: ``BulwarkError/invalidConfiguration(field:rule:)`` for a configuration the
    ///   algorithm rejects, or a `queueLimit` that is negative or too large for the limit.
    public init(
        configuration: Algorithm.Configuration,
        queueLimit: Int = 1024,
        order: any WaitOrder = FIFOWaitOrder(),
        clock: C
    ) throws(BulwarkError) {
        guard queueLimit >= 0 else {
            throw .invalidConfiguration(field: "queueLimit", rule: "must be at least 0")
        }
        let now = clock.nowNanoseconds
        let algorithm = try Algorithm(configuration: configuration, now: now)
        // The queue's total cost, plus one more request, must stay an exact Int.
        guard queueLimit <= (Int.max / 2) / max(1, algorithm.limit) else {
            throw .invalidConfiguration(
                field: "queueLimit",
                rule: "× the limit \(algorithm.limit) must be at most \(Int.max / 2) (got \(queueLimit))"
            )
        }
        self.clock = clock
        self.limit = algorithm.limit
        self.queueLimit = queueLimit
        self.state = LockedValue(State(algorithm: algorithm, waiting: WaitingRoom(order: order, now: now)))
    }

    /// How many callers are waiting in the queue now.
    public var waitingCount: Int {
        state.withLock { $0.waiting.count }
    }

    /// Takes `cost` if it is available now and nobody is queued; never waits, never allocates.
    ///
    /// A cost of zero is a probe: allowed, takes nothing, reports what remains. While callers are
    /// queued any positive cost is denied, with a retry-after that counts the queue ahead.
    ///
    /// - Throws: ``BulwarkError/invalidArgument(field:rule:)`` when `cost` is negative or above
    ///   ``limit``.
    @inlinable
    public func tryAcquire(cost: Int) throws(BulwarkError) -> RateLimitDecision {
        guard cost >= 0, cost <= limit else { throw invalidCost(cost) }
        let now = clock.nowNanoseconds
        return state.withLock { state in
            if _fastPath(cost > 0 && state.waiting.count == 0) {
                return state.algorithm.tryConsume(cost, at: now)
            }
            if cost == 0 {
                return state.algorithm.snapshot(at: now, retryAfterNanoseconds: 0)
            }
            return state.deniedBehindQueue(cost, at: now)
        }
    }

    /// Takes `cost`, waiting in the queue until it is admitted, the deadline passes or the task is
    /// cancelled.
    ///
    /// When nobody is queued and the cost is available it returns at once. Otherwise the caller
    /// joins the queue and is admitted at the exact moment its turn comes and its cost is
    /// available. A waiter whose deadline has already passed on entry is answered at once.
    ///
    /// - Returns: The allowed decision, with what remained after this caller was admitted.
    /// - Throws: ``BulwarkError/queueFull(limit:)``, ``BulwarkError/waitTimedOut``,
    ///   `CancellationError`, or ``BulwarkError/invalidArgument(field:rule:)`` for a bad cost.
    @discardableResult
    public func acquire(cost: Int, options: WaitOptions) async throws -> RateLimitDecision {
        // Admitted at once when nobody is queued and the cost is there (or it is a probe).
        let immediate = try tryAcquire(cost: cost)
        if immediate.isAllowed { return immediate }
        let now = clock.nowNanoseconds
        let deadline = options.deadline?.nanoseconds(resolvedAt: now) ?? .max

        let id = nextWaiterID.wrappingAdd(1, ordering: .relaxed).newValue
        let ticket = WaitTicket(
            id: id, cost: cost, priority: options.priority, partitionKey: options.partitionKey, enqueuedAt: now
        )
        let outcome = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                let immediate = state.withLock { state in
                    enqueue(ticket, deadline: deadline, continuation: continuation, into: &state)
                }
                immediate?.resume()
            }
        } onCancel: {
            withdraw(id)
        }
        switch outcome {
        case .admitted(let decision): return decision
        case .timedOut: throw BulwarkError.waitTimedOut
        case .cancelled: throw CancellationError()
        case .queueFull(let limit): throw BulwarkError.queueFull(limit: limit)
        }
    }

    @usableFromInline
    func invalidCost(_ cost: Int) -> BulwarkError {
        .invalidArgument(
            field: "cost",
            rule: cost < 0 ? "must be at least 0 (got \(cost))" : "must be at most the limit \(limit) (got \(cost))"
        )
    }

    /// Queues a waiter, or says why it is answered at once.
    private func enqueue(
        _ ticket: WaitTicket,
        deadline: Int64,
        continuation: UnsafeContinuation<WaitOutcome, Never>,
        into state: inout State
    ) -> Resumption? {
        let now = clock.nowNanoseconds
        if Task.isCancelled {
            return Resumption(continuation: continuation, outcome: .cancelled)
        }
        if state.waiting.count == 0 {
            let decision = state.algorithm.tryConsume(ticket.cost, at: now)
            if decision.isAllowed {
                return Resumption(continuation: continuation, outcome: .admitted(decision))
            }
        }
        if deadline <= now {
            return Resumption(continuation: continuation, outcome: .timedOut)
        }
        if state.waiting.count >= queueLimit {
            return Resumption(continuation: continuation, outcome: .queueFull(limit: queueLimit))
        }
        state.waiting.enqueue(ticket, deadline: deadline, continuation: continuation, at: now)
        arm(&state, now: now)
        return nil
    }

    /// Removes a cancelled waiter (if it is still queued) and re-examines the queue.
    ///
    /// What fell due before the cancellation is served first, so a waiter whose turn had come
    /// (its timer merely late) is admitted rather than cancelled.
    private func withdraw(_ id: UInt64) {
        let now = clock.nowNanoseconds
        let resumptions = state.withLock { state -> [Resumption] in
            var resumptions = state.drain(at: now)
            if let waiter = state.waiting.remove(id: id) {
                resumptions.append(Resumption(continuation: waiter.continuation, outcome: .cancelled))
                resumptions += state.drain(at: now)
            }
            arm(&state, now: now)
            return resumptions
        }
        for resumption in resumptions { resumption.resume() }
    }

    /// The timer woke: admit and expire what is due, and sleep until the next event.
    private func timerFired(generation: UInt64) {
        let now = clock.nowNanoseconds
        let resumptions = state.withLock { state -> [Resumption] in
            guard state.waiting.timer?.generation == generation else { return [] }
            state.waiting.timer = nil
            let resumptions = state.drain(at: now)
            arm(&state, now: now)
            return resumptions
        }
        for resumption in resumptions { resumption.resume() }
    }

    /// Makes sure a timer wakes at the next moment the queue can change, and none while it is empty.
    private func arm(_ state: inout State, now: Int64) {
        guard let fireAt = state.nextEvent(at: now), fireAt < .max else {
            state.waiting.timer?.task.cancel()
            state.waiting.timer = nil
            return
        }
        if let timer = state.waiting.timer, timer.fireAt <= fireAt { return }
        state.waiting.timer?.task.cancel()
        state.waiting.timerGeneration &+= 1
        let generation = state.waiting.timerGeneration
        let task = Task { [self] in
            do {
                try await clock.sleep(untilNanoseconds: fireAt)
            } catch where Task.isCancelled {
                return  // a newer timer or an empty queue replaced this one
            } catch {
                // A clock that fails to sleep: look at the queue now rather than never.
            }
            timerFired(generation: generation)
        }
        state.waiting.timer = WaitingRoom.Timer(generation: generation, fireAt: fireAt, task: task)
    }
}

extension InMemoryRateLimiter.State {
    /// The decision for a positive cost arriving while others wait: denied, with a retry-after that
    /// counts everything queued ahead (at least one nanosecond: the queue is served first).
    @usableFromInline
    func deniedBehindQueue(_ cost: Int, at now: Int64) -> RateLimitDecision {
        let wait = algorithm.nanosecondsUntilAvailable(waiting.queuedCost + cost, at: now)
        return algorithm.snapshot(at: now, retryAfterNanoseconds: max(1, wait))
    }

    /// Serves the queue up to `now`, replaying its events in time order, and returns whom to answer.
    ///
    /// The events are the head's cost becoming available and the waiters' deadlines. Each is
    /// handled at the instant it happened, even when the timer (or a test's clock) arrives later:
    /// a waiter whose cost was there by its deadline is admitted with the figures of that instant,
    /// and one whose deadline came first times out, whatever `now` has become since. When the
    /// head's cost becomes available exactly at a deadline, admission wins.
    mutating func drain(at now: Int64) -> [Resumption] {
        var resumptions: [Resumption] = []
        var time = min(waiting.servedUntil, now)
        while let head = waiting.next(at: time) {
            // Not before it joined: a waiter cannot be served before it arrived.
            let ready = max(head.enqueuedAt, time.addingSaturating(algorithm.nanosecondsUntilAvailable(head.cost, at: time)))
            let deadline = waiting.earliestDeadline
            if ready <= deadline {
                guard ready <= now, let waiter = waiting.waiter(id: head.id) else { break }
                let decision = algorithm.tryConsume(head.cost, at: ready)
                guard decision.isAllowed else { break }  // an algorithm contradicting itself: stop
                waiting.remove(id: head.id)
                resumptions.append(Resumption(continuation: waiter.continuation, outcome: .admitted(decision)))
                time = ready
            } else {
                guard deadline <= now else { break }
                for id in waiting.expired(at: deadline) {
                    if let waiter = waiting.remove(id: id) {
                        resumptions.append(Resumption(continuation: waiter.continuation, outcome: .timedOut))
                    }
                }
                time = deadline
            }
        }
        waiting.servedUntil = max(waiting.servedUntil, now)
        return resumptions
    }

    /// The next moment the queue can change (the head's cost becomes available, or a deadline
    /// passes), never earlier than one nanosecond from `now`; `nil` when nobody waits.
    func nextEvent(at now: Int64) -> Int64? {
        guard waiting.count > 0 else { return nil }
        var next = waiting.earliestDeadline
        if let head = waiting.next(at: now) {
            next = min(next, now.addingSaturating(algorithm.nanosecondsUntilAvailable(head.cost, at: now)))
        }
        return max(next, now.addingSaturating(1))
    }
}

public import BulwarkCore
public import BulwarkEngine
import Synchronization

/// A bounded queue of jobs (not waiters), served in a pluggable `WaitOrder`: the priority queue,
/// the fair queue and the timeout queue are this type with a different order.
///
/// - **Order.** `FIFOWaitOrder` by default; ``PriorityWaitOrder`` (with ageing) makes it a
///   priority queue, ``FairWaitOrder`` a fair queue across partitions, ``DeadlineWaitOrder`` a
///   queue that serves the job due first. These are the orders the limiters' waiting rooms use.
/// - **Capacity.** At most `capacity` jobs; one more is handled by the ``JobQueueOverflow``
///   policy: refused, or an older or less urgent job dropped for it.
/// - **Expiry.** A job with a deadline that is still queued at that deadline is removed at that
///   exact clock reading (a timer sleeps on the injected clock until the earliest deadline) and
///   handed to `onRemoval` as ``JobQueueRemoval/expired``; a dropped job is handed over the same
///   way, so nothing leaves silently.
/// - **Dequeue.** ``tryDequeue()`` answers at once; ``dequeue()`` waits (first come, first served
///   among dequeuers) until a job arrives, the queue is closed and empty, or the task is cancelled.
/// - **Cancel by id**, ``close()`` to stop intake, ``removeAll()`` to hand back what is queued.
///
/// Every operation takes O(log n) amortised (the order's, the deadlines' heap and the eviction
/// order's tree), plus O(d) in the number of dequeuers waiting (a handful of workers).
///
/// Memory: a queued job takes its payload plus about 170 bytes with the first-in-first-out order
/// (72 for the job's record, 25 for the index by id, 16 for its deadline, 57 for the order's
/// ticket), 48 more with an overflow policy that drops jobs (the eviction order); the fair order
/// about the same, the priority and deadline orders about 197 (an 80-byte tree node in place of
/// the ticket). Storage is given back as the queue drains, all of it once the
/// queue is empty. The least urgent job of
/// ``JobQueueOverflow/rejectLowestPriority`` is judged by its own priority, ageing aside.
/// `onRemoval` runs outside the queue's lock, on the task that caused the removal (the expiry
/// timer's for expiries).
///
///     let queue = try JobQueue<Request, ContinuousClock>(
///         order: try PriorityWaitOrder(ageing: .init(every: .milliseconds(50))),
///         capacity: 1_000, overflow: .rejectLowestPriority, clock: ContinuousClock())
///     let id = try queue.enqueue(request, priority: .high, deadline: .after(.seconds(30)))
///     while let next = try await queue.dequeue() { await handle(next.job) }
public final class JobQueue<Job: Sendable, C: NanosecondClock>: Sendable {
    /// A job, the end of the queue, or a cancelled wait: how a waiting dequeue ends.
    @usableFromInline
    enum Delivery: Sendable {
        case job(QueuedJob<Job>)
        case closed
        case cancelled
    }

    /// Which job the overflow policy gives up first: the smallest key.
    @usableFromInline
    struct EvictionKey: Comparable, Sendable {
        @usableFromInline var major: Int
        @usableFromInline var minor: UInt64
        @usableFromInline var id: UInt64
        @inlinable
        init(major: Int, minor: UInt64, id: UInt64) {
            (self.major, self.minor, self.id) = (major, minor, id)
        }
        @inlinable
        static func < (a: Self, b: Self) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
        @inlinable
        static func == (a: Self, b: Self) -> Bool { a.major == b.major && a.minor == b.minor }
    }

    @usableFromInline
    struct State: Sendable {
        @usableFromInline var jobs: JobStore<Job>
        @usableFromInline var eviction = CostTree<EvictionKey>()
        @usableFromInline var dequeuers: [(id: UInt64, continuation: UnsafeContinuation<Delivery, Never>)] = []
        var timer = WakeUpTimer()
        @usableFromInline var isClosed = false
        @usableFromInline var nextID: UInt64 = 0
    }

    /// The clock the queue reads and its expiry timer sleeps on.
    public let clock: C
    /// The most jobs the queue holds.
    public let capacity: Int
    /// What one more job does to a full queue.
    public let overflow: JobQueueOverflow
    @usableFromInline let onRemoval: @Sendable (QueuedJob<Job>, JobQueueRemoval) -> Void
    @usableFromInline let state: LockedValue<State>
    private let nextDequeuerID = Atomic<UInt64>(0)

    /// Creates an empty queue.
    ///
    /// - Parameters:
    ///   - order: The order jobs are served in (it must be empty); FIFO by default.
    ///   - capacity: The most jobs held (at least 0; 0 queues nothing and only hands a job to a
    ///     dequeuer already waiting).
    ///   - overflow: What one more job does to a full queue.
    ///   - clock: The clock deadlines are read on.
    ///   - onRemoval: Told of every job that leaves without being dequeued (expired or dropped).
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` for a negative capacity or an
    ///   order that is not empty.
    public init(
        order: any WaitOrder = FIFOWaitOrder(),
        capacity: Int,
        overflow: JobQueueOverflow = .rejectNewest,
        clock: C = ContinuousClock(),
        onRemoval: @escaping @Sendable (QueuedJob<Job>, JobQueueRemoval) -> Void = { _, _ in }
    ) throws(BulwarkError) {
        guard capacity >= 0 else {
            throw .invalidConfiguration(field: "capacity", rule: "must be at least 0 (got \(capacity))")
        }
        guard order.count == 0 else {
            throw .invalidConfiguration(field: "order", rule: "must be empty (holds \(order.count))")
        }
        self.clock = clock
        self.capacity = capacity
        self.overflow = overflow
        self.onRemoval = onRemoval
        self.state = LockedValue(State(jobs: JobStore(order: order)))
    }

    /// How many jobs are queued (expired ones not yet removed included, until the next operation).
    public var count: Int { state.withLock { $0.jobs.count } }

    /// Whether a ``dequeue()`` is waiting for a job.
    public var isWaitingForJobs: Bool { state.withLock { !$0.dequeuers.isEmpty } }

    /// Whether ``close()`` was called.
    public var isClosed: Bool { state.withLock { $0.isClosed } }

    /// Queues a job; returns its id.
    ///
    /// A dequeuer already waiting receives it at once. When the queue is full the overflow policy
    /// decides: the newcomer is refused, or a queued job is dropped (and reported) for it.
    ///
    /// - Parameters:
    ///   - job: The work.
    ///   - priority: Its urgency.
    ///   - partitionKey: Whose share it counts against.
    ///   - cost: Its weight (at least 0).
    ///   - deadline: When it expires if still queued; `nil` for never.
    /// - Throws: `BulwarkError/queueFull(limit:)` when refused for room,
    ///   `BulwarkError/waitTimedOut` when its deadline has already passed,
    ///   `BulwarkError/shutDown` after ``close()``, `BulwarkError/invalidArgument(field:rule:)`
    ///   for a negative cost, or one so large that `capacity + 1` of them would overflow half an
    ///   `Int`.
    @inlinable
    @discardableResult
    public func enqueue(
        _ job: Job, priority: Priority = .normal, partitionKey: String? = nil, cost: Int = 1, deadline: Deadline? = nil
    ) throws(BulwarkError) -> UInt64 {
        guard cost >= 0 else { throw .invalidArgument(field: "cost", rule: "must be at least 0 (got \(cost))") }
        // The queue's total cost must stay an exact Int.
        let maximumCost = (Int.max / 2) / (capacity + 1)
        guard cost <= maximumCost else {
            throw .invalidArgument(field: "cost", rule: "must be at most \(maximumCost) (got \(cost))")
        }
        let now = clock.nowNanoseconds
        let deadlineNanoseconds = deadline?.nanoseconds(resolvedAt: now)
        var removed: [(QueuedJob<Job>, JobQueueRemoval)] = []
        defer { for (job, reason) in removed { onRemoval(job, reason) } }
        let outcome = state.withLock { state -> Result<(UInt64, UnsafeContinuation<Delivery, Never>?, QueuedJob<Job>), BulwarkError> in
            removed = expire(&state, at: now)
            guard !state.isClosed else { return .failure(.shutDown) }
            if let deadlineNanoseconds, deadlineNanoseconds <= now { return .failure(.waitTimedOut) }
            let queued = QueuedJob(
                id: state.nextID, job: job, priority: priority, partitionKey: partitionKey, cost: cost, enqueuedAt: now,
                deadline: deadlineNanoseconds
            )
            if !state.dequeuers.isEmpty {
                state.nextID += 1
                return .success((queued.id, state.dequeuers.removeFirst().continuation, queued))
            }
            if state.jobs.count >= capacity {
                guard let victim = evictionVictim(state, for: queued) else { return .failure(.queueFull(limit: capacity)) }
                if let dropped = take(&state, id: victim, served: false) { removed.append((dropped, .dropped)) }
            }
            state.nextID += 1
            state.jobs.enqueue(queued)
            if overflow != .rejectNewest { state.eviction.insert(evictionKey(queued), cost: 0) }
            arm(&state, now: now)
            return .success((queued.id, nil, queued))
        }
        switch outcome {
        case .success(let (id, dequeuer, queued)):
            dequeuer?.resume(returning: .job(queued))
            return id
        case .failure(let error):
            throw error
        }
    }

    /// Takes the job the order serves next, if any; never waits.
    @inlinable
    public func tryDequeue() -> QueuedJob<Job>? {
        let now = clock.nowNanoseconds
        var removed: [(QueuedJob<Job>, JobQueueRemoval)] = []
        defer { for (job, reason) in removed { onRemoval(job, reason) } }
        return state.withLock { state in
            removed = expire(&state, at: now)
            return serve(&state, at: now)
        }
    }

    /// Takes the job the order serves next, waiting for one if the queue is empty.
    ///
    /// - Returns: The job, or `nil` once the queue is closed and empty.
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    public func dequeue() async throws -> QueuedJob<Job>? {
        if let job = tryDequeue() { return job }
        let id = nextDequeuerID.wrappingAdd(1, ordering: .relaxed).newValue
        let delivery = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Delivery, Never>) in
                let now = clock.nowNanoseconds
                var removed: [(QueuedJob<Job>, JobQueueRemoval)] = []
                let immediate = state.withLock { state -> Delivery? in
                    removed = expire(&state, at: now)
                    if Task.isCancelled { return .cancelled }
                    if let job = serve(&state, at: now) { return .job(job) }
                    if state.isClosed { return .closed }
                    state.dequeuers.append((id, continuation))
                    return nil
                }
                for (job, reason) in removed { onRemoval(job, reason) }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let continuation = state.withLock { state in
                state.dequeuers.firstIndex { $0.id == id }.map { state.dequeuers.remove(at: $0).continuation }
            }
            continuation?.resume(returning: .cancelled)
        }
        switch delivery {
        case .job(let job): return job
        case .closed: return nil
        case .cancelled: throw CancellationError()
        }
    }

    /// Removes a queued job by id; returns it, or `nil` when it is not queued (already dequeued,
    /// expired, dropped or never there). `onRemoval` is not told: the caller has it. A job whose
    /// deadline has passed is reported expired, not returned.
    @inlinable
    @discardableResult
    public func cancel(id: UInt64) -> QueuedJob<Job>? {
        let now = clock.nowNanoseconds
        var removed: [(QueuedJob<Job>, JobQueueRemoval)] = []
        defer { for (job, reason) in removed { onRemoval(job, reason) } }
        return state.withLock { state in
            removed = expire(&state, at: now)
            let job = take(&state, id: id, served: false)
            arm(&state, now: now)
            return job
        }
    }

    /// Stops intake: ``enqueue(_:priority:partitionKey:cost:deadline:)`` throws
    /// `BulwarkError/shutDown` from now on; what is queued can still be dequeued, after which
    /// ``dequeue()`` returns `nil`.
    public func close() {
        _ = close(removingAll: false)
    }

    /// Stops intake and, when `removingAll`, removes every queued job in the same step (no
    /// dequeue can take one in between): the hand-back of a shutdown.
    ///
    /// - Returns: The jobs removed, in the order they would have been served. Jobs whose deadline
    ///   has passed are reported expired instead.
    public func close(removingAll: Bool) -> [QueuedJob<Job>] {
        let (jobs, dequeuers) = withRemovals { state, now in
            state.isClosed = true
            let jobs = removingAll ? takeAll(&state, at: now) : []
            defer { state.dequeuers.removeAll() }
            return (jobs, state.dequeuers.map(\.continuation))
        }
        for dequeuer in dequeuers { dequeuer.resume(returning: .closed) }
        return jobs
    }

    /// Removes every queued job and returns them in the order they would have been served; the
    /// queue stays open. Jobs whose deadline has passed are reported expired instead.
    public func removeAll() -> [QueuedJob<Job>] {
        withRemovals { state, now in takeAll(&state, at: now) }
    }

    /// Runs `body` under the lock after expiring what is due, and tells `onRemoval` of the
    /// expired jobs once the lock is released.
    private func withRemovals<Result>(_ body: (inout State, Int64) -> Result) -> Result {
        let now = clock.nowNanoseconds
        var removed: [(QueuedJob<Job>, JobQueueRemoval)] = []
        defer { for (job, reason) in removed { onRemoval(job, reason) } }
        return state.withLock { state in
            removed = expire(&state, at: now)
            return body(&state, now)
        }
    }

    private func takeAll(_ state: inout State, at now: Int64) -> [QueuedJob<Job>] {
        var jobs: [QueuedJob<Job>] = []
        while let next = state.jobs.next(at: now), let job = take(&state, id: next.id, served: true) {
            jobs.append(job)
        }
        state.timer.cancel()
        return jobs
    }

    // MARK: - Under the lock

    @inlinable
    func serve(_ state: inout State, at now: Int64) -> QueuedJob<Job>? {
        guard let next = state.jobs.next(at: now) else { return nil }
        let job = take(&state, id: next.id, served: true)
        arm(&state, now: now)
        return job
    }

    @inlinable
    func take(_ state: inout State, id: UInt64, served: Bool) -> QueuedJob<Job>? {
        guard let job = served ? state.jobs.removeServed(id: id) : state.jobs.remove(id: id) else { return nil }
        if overflow != .rejectNewest { state.eviction.remove(evictionKey(job)) }
        return job
    }

    /// Removes the jobs whose deadline is at or before `now`, earliest first.
    @inlinable
    func expire(_ state: inout State, at now: Int64) -> [(QueuedJob<Job>, JobQueueRemoval)] {
        guard state.jobs.earliestDeadline <= now else { return [] }
        var expired: [(QueuedJob<Job>, JobQueueRemoval)] = []
        while let job = state.jobs.removeExpired(at: now) {
            if overflow != .rejectNewest { state.eviction.remove(evictionKey(job)) }
            expired.append((job, .expired))
        }
        arm(&state, now: now)
        return expired
    }

    @inlinable
    func evictionKey(_ job: QueuedJob<Job>) -> EvictionKey {
        switch overflow {
        case .rejectNewest, .dropOldest: EvictionKey(major: 0, minor: job.id, id: job.id)
        case .rejectLowestPriority: EvictionKey(major: job.priority.rawValue, minor: .max - job.id, id: job.id)
        }
    }

    /// The job to drop for `newcomer` in a full queue, or `nil` to refuse the newcomer.
    @inlinable
    func evictionVictim(_ state: State, for newcomer: QueuedJob<Job>) -> UInt64? {
        guard let first = state.eviction.first else { return nil }
        switch overflow {
        case .rejectNewest: return nil
        case .dropOldest: return first.key.id
        case .rejectLowestPriority: return first.key.major < newcomer.priority.rawValue ? first.key.id : nil
        }
    }

    @usableFromInline
    func arm(_ state: inout State, now: Int64) {
        let earliest = state.jobs.earliestDeadline
        state.timer.arm(at: earliest == .max ? nil : max(earliest, now.addingSaturating(1)), clock: clock) { [self] generation in
            timerFired(generation: generation)
        }
    }

    private func timerFired(generation: UInt64) {
        let now = clock.nowNanoseconds
        let removed = state.withLock { state -> [(QueuedJob<Job>, JobQueueRemoval)] in
            guard state.timer.fired(generation: generation) else { return [] }
            let removed = expire(&state, at: now)
            arm(&state, now: now)
            return removed
        }
        for (job, reason) in removed { onRemoval(job, reason) }
    }
}


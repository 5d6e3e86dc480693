public import BulwarkCore
public import BulwarkEngine
public import BulwarkQueues
public import ServiceLifecycle
import Synchronization

/// Runs jobs with N workers through a pipeline, in the order of a waiting order, as a
/// swift-service-lifecycle `Service`: the task guard every outgoing call of an application can
/// pass through.
///
/// - **Submit.** ``submit(_:priority:partitionKey:cost:deadline:)`` queues a job and returns its
///   result (or throws its error) when a worker has run it; ``enqueue(_:priority:partitionKey:cost:deadline:)``
///   queues it and returns at once (its failure goes to the dead-letter queue only).
/// - **Order and bounds.** Jobs wait in a `JobQueue` in any `WaitOrder` (priority with ageing,
///   fair across tenants, earliest deadline first), bounded by `capacity` with an overflow policy.
/// - **Workers.** `workers` child tasks of ``run()`` take jobs one at a time and run the handler
///   through `pipeline` (retry, breaker, timeout, limiter…), with the job's priority, partition,
///   cost and deadline in the context.
/// - **Nothing is lost.** A job that fails after the pipeline's retries is answered with its error
///   and added to the `DeadLetterQueue` with its attempts; a job whose deadline passes while
///   queued is answered with `BulwarkError/waitTimedOut`, one dropped for room with
///   `BulwarkError/queueFull(limit:)`; a fire-and-forget job that ends any of these ways goes
///   to the dead-letter queue.
/// - **Graceful shutdown.** On the service group's graceful shutdown, intake stops (new jobs throw
///   `BulwarkError/shutDown`); then ``ShutdownMode/drain`` runs what is queued to the end, and
///   ``ShutdownMode/handBack`` answers every queued submitter with `BulwarkError/shutDown`
///   (their jobs were not run) and adds queued fire-and-forget jobs to the dead-letter queue.
///   If ``run()`` is cancelled instead, running jobs see the cancellation and what is queued is
///   handed back.
///
/// The workers, and the task that writes dead letters, are child tasks of ``run()``; the only
/// other task is the job queue's expiry timer, which sleeps while queued jobs have deadlines.
/// Jobs submitted before ``run()`` starts wait in the queue. Run it once.
///
/// To replay dead letters, ``enqueue(_:priority:partitionKey:cost:deadline:)`` them (a letter is
/// removed once its job is queued again, and a new failure makes a new letter); replaying through
/// ``submit(_:priority:partitionKey:cost:deadline:)`` keeps the letter until the job succeeds,
/// and a failure adds a second one.
///
///     let scheduler = try WorkScheduler<Prompt, Completion, ContinuousClock>(
///         workers: 8, order: try FairWaitOrder(), pipeline: Pipeline { retry; breaker },
///         clock: ContinuousClock()
///     ) { prompt, context in try await provider.complete(prompt) }
///     let group = ServiceGroup(services: [scheduler], logger: logger)   // run with the app
///     let completion = try await scheduler.submit(prompt, partitionKey: tenant, deadline: .after(.seconds(30)))
public final class WorkScheduler<Job: Codable & Sendable, Output: Sendable, C: NanosecondClock>: Service, Sendable {
    /// Runs one job.
    public typealias Handler = @Sendable (Job, ResilienceContext) async throws -> Output

    /// What a graceful shutdown does with the jobs still queued.
    public enum ShutdownMode: Sendable, Hashable {
        /// Run them all, then stop.
        case drain
        /// Answer their submitters with `BulwarkError/shutDown` without running them.
        case handBack
    }

    /// A queued job and who waits for its result.
    struct Item: Sendable {
        var job: Job
        var submittedAt: Int64
        var reply: Reply<Output>?
    }

    /// What the scheduler has done so far.
    public struct Statistics: Sendable, Hashable {
        /// Jobs run to success.
        public var succeeded = 0
        /// Jobs that failed after the pipeline's retries (dead-lettered).
        public var failed = 0
        /// Jobs whose deadline passed while queued.
        public var expired = 0
        /// Jobs dropped by the overflow policy.
        public var dropped = 0
        /// Jobs handed back, unrun, at shutdown.
        public var handedBack = 0
    }

    /// The number of workers: the most jobs running at once.
    public let workers: Int
    /// What a graceful shutdown does with queued jobs.
    public let shutdownMode: ShutdownMode
    /// Where failed work goes.
    public let deadLetters: DeadLetterQueue<Job>
    /// The clock deadlines are read on.
    public let clock: C
    private let queue: JobQueue<Item, C>
    private let pipeline: any ResiliencePolicy
    private let handler: Handler
    /// Letters waiting to be written, and the signal that wakes the writer.
    private let pendingLetters = LockedValue<[Letter]>([])
    private let letterSignals: AsyncStream<Void>
    private let letterSignal: AsyncStream<Void>.Continuation
    private let counts = LockedValue(Statistics())

    /// Work for the dead-letter queue, produced where no `await` is possible.
    struct Letter: Sendable {
        var item: QueuedJob<Item>
        var error: any Error
        var attempts: Int
    }

    /// Creates a scheduler; it runs jobs once ``run()`` runs.
    ///
    /// - Parameters:
    ///   - workers: The most jobs running at once (at least 1).
    ///   - order: The order queued jobs are served in; FIFO by default.
    ///   - capacity: The most jobs queued (at least 0).
    ///   - overflow: What one more job does to a full queue.
    ///   - pipeline: The policies every job runs through.
    ///   - deadLetters: Where failed work goes; in memory by default.
    ///   - shutdownMode: What a graceful shutdown does with queued jobs.
    ///   - clock: The clock deadlines are read on.
    ///   - handler: Runs one job.
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming a bad argument.
    public init(
        workers: Int,
        order: any WaitOrder = FIFOWaitOrder(),
        capacity: Int = 1_024,
        overflow: JobQueueOverflow = .rejectNewest,
        pipeline: any ResiliencePolicy = PassThrough(),
        deadLetters: DeadLetterQueue<Job> = DeadLetterQueue(),
        shutdownMode: ShutdownMode = .drain,
        clock: C,
        handler: @escaping Handler
    ) throws(BulwarkError) {
        guard workers >= 1 else {
            throw .invalidConfiguration(field: "workers", rule: "must be at least 1 (got \(workers))")
        }
        (letterSignals, letterSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let pending = pendingLetters
        let signal = letterSignal
        let counts = counts
        queue = try JobQueue(order: order, capacity: capacity, overflow: overflow, clock: clock) { item, reason in
            counts.withLock { reason == .expired ? ($0.expired += 1) : ($0.dropped += 1) }
            let error: BulwarkError = reason == .expired ? .waitTimedOut : .queueFull(limit: capacity)
            if let reply = item.job.reply {
                reply.resolve(.failure(error))
            } else {
                pending.withLock { $0.append(Letter(item: item, error: error, attempts: 0)) }
                signal.yield()
            }
        }
        self.workers = workers
        self.shutdownMode = shutdownMode
        self.deadLetters = deadLetters
        self.clock = clock
        self.pipeline = pipeline
        self.handler = handler
    }

    /// What the scheduler has done so far.
    public var statistics: Statistics { counts.withLock { $0 } }

    /// How many jobs are queued.
    public var queuedCount: Int { queue.count }

    /// Queues a job and returns its result once a worker has run it.
    ///
    /// Cancelling the caller while the job is queued removes it (`CancellationError`); once it
    /// runs, it runs to the end and its result is returned.
    ///
    /// - Throws: The job's error after the pipeline's retries; `BulwarkError/waitTimedOut`
    ///   when its deadline passed while queued; `BulwarkError/queueFull(limit:)` when refused
    ///   or dropped for room; `BulwarkError/shutDown` when the scheduler is shutting down or
    ///   handed it back; `BulwarkError/invalidArgument(field:rule:)` for a bad cost.
    public func submit(
        _ job: Job, priority: Priority = .normal, partitionKey: String? = nil, cost: Int = 1, deadline: Deadline? = nil
    ) async throws -> Output {
        let reply = Reply<Output>()
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Result<Output, any Error>, Never>) in
                reply.attach(continuation)
                guard !Task.isCancelled else { return reply.resolve(.failure(CancellationError())) }
                do {
                    let item = Item(job: job, submittedAt: deadLetters.wallClock(), reply: reply)
                    let id = try queue.enqueue(item, priority: priority, partitionKey: partitionKey, cost: cost, deadline: deadline)
                    if reply.queued(as: id), queue.cancel(id: id) != nil {
                        reply.resolve(.failure(CancellationError()))  // cancelled before it was queued
                    }
                } catch {
                    reply.resolve(.failure(error))
                }
            }
        } onCancel: {
            if let id = reply.cancel(), queue.cancel(id: id) != nil {
                reply.resolve(.failure(CancellationError()))
            }
        }
        return try result.get()
    }

    /// Queues a job and returns its id at once; if it fails, expires, is dropped or is handed
    /// back, it goes to the dead-letter queue.
    ///
    /// - Throws: `BulwarkError/queueFull(limit:)`, `BulwarkError/waitTimedOut` (a deadline
    ///   already past), `BulwarkError/shutDown` or `BulwarkError/invalidArgument(field:rule:)`:
    ///   the job was not queued.
    @discardableResult
    public func enqueue(
        _ job: Job, priority: Priority = .normal, partitionKey: String? = nil, cost: Int = 1, deadline: Deadline? = nil
    ) throws(BulwarkError) -> UInt64 {
        let item = Item(job: job, submittedAt: deadLetters.wallClock(), reply: nil)
        return try queue.enqueue(item, priority: priority, partitionKey: partitionKey, cost: cost, deadline: deadline)
    }

    /// Runs the workers until a graceful shutdown (or cancellation), then stops as
    /// ``shutdownMode`` says; returns once every queued job is answered and every dead letter
    /// written.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.writeDeadLetters() }
                await withTaskGroup(of: Void.self) { workers in
                    for _ in 0 ..< self.workers {
                        workers.addTask { await self.work() }
                    }
                }
                // The workers stopped: closed and drained, or cancelled. Answer what is left.
                self.handBack()
                self.letterSignal.finish()
            }
        } onGracefulShutdown: {
            if self.shutdownMode == .handBack { self.handBack() } else { self.queue.close() }
        }
        // What the writer had not written when it stopped (a cancelled run, or a store that
        // refused a letter once) is written here.
        await writeDeadLetters(retrying: true)
    }

    // MARK: - Workers

    private func work() async {
        // A cancelled worker stops taking jobs: run() then hands back what is queued.
        while !Task.isCancelled, let item = try? await queue.dequeue() {
            await run(item)
        }
    }

    private func run(_ item: QueuedJob<Item>) async {
        let context = ResilienceContext(
            operationName: "job", partitionKey: item.partitionKey, priority: item.priority, cost: item.cost,
            deadline: item.deadline.map { .at(NanosecondInstant(nanoseconds: $0)) }
        )
        let attempts = Atomic<Int>(0)
        let handler = handler
        let job = item.job.job
        let outcome = await pipeline.executeOutcome(context) { context -> ExecutionOutcome<Output> in
            attempts.add(1, ordering: .relaxed)
            do {
                return .success(try await handler(job, context))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let output):
            counts.withLock { $0.succeeded += 1 }
            item.job.reply?.resolve(.success(output))
        case .rejected(let error as any Error), .failure(let error):
            counts.withLock { $0.failed += 1 }
            item.job.reply?.resolve(.failure(error))
            await write(Letter(item: item, error: error, attempts: attempts.load(ordering: .relaxed)))
        }
    }

    /// Closes the queue and answers every queued job without running it (in one step, so no
    /// worker takes a job in between).
    private func handBack() {
        let items = queue.close(removingAll: true)
        counts.withLock { $0.handedBack += items.count }
        for item in items {
            if let reply = item.job.reply {
                reply.resolve(.failure(BulwarkError.shutDown))
            } else {
                pendingLetters.withLock { $0.append(Letter(item: item, error: BulwarkError.shutDown, attempts: 0)) }
                letterSignal.yield()
            }
        }
    }

    /// The writer: writes the pending letters each time it is woken, until the signal finishes.
    private func writeDeadLetters() async {
        for await _ in letterSignals {
            await writeDeadLetters(retrying: false)
        }
    }

    /// Writes the pending letters; one the store refuses stays pending (and, when `retrying`, is
    /// tried once more).
    private func writeDeadLetters(retrying: Bool) async {
        for _ in 0 ..< (retrying ? 2 : 1) {
            let letters = pendingLetters.withLock { pending in
                defer { pending.removeAll() }
                return pending
            }
            for letter in letters {
                await write(letter)
            }
        }
    }

    private func write(_ letter: Letter) async {
        do {
            try await deadLetters.add(
                letter.item.job.job, error: letter.error, attempts: letter.attempts, priority: letter.item.priority,
                partitionKey: letter.item.partitionKey, submittedAt: letter.item.job.submittedAt
            )
        } catch {
            // The store refused it: keep it pending.
            pendingLetters.withLock { $0.append(letter) }
        }
    }
}

extension WorkScheduler where C == ContinuousClock {
    /// Creates a scheduler on the continuous clock.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` naming a bad argument.
    public convenience init(
        workers: Int,
        order: any WaitOrder = FIFOWaitOrder(),
        capacity: Int = 1_024,
        overflow: JobQueueOverflow = .rejectNewest,
        pipeline: any ResiliencePolicy = PassThrough(),
        deadLetters: DeadLetterQueue<Job> = DeadLetterQueue(),
        shutdownMode: ShutdownMode = .drain,
        handler: @escaping Handler
    ) throws(BulwarkError) {
        try self.init(
            workers: workers, order: order, capacity: capacity, overflow: overflow, pipeline: pipeline,
            deadLetters: deadLetters, shutdownMode: shutdownMode, clock: ContinuousClock(), handler: handler
        )
    }
}

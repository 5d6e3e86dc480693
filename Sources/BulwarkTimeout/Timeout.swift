public import BulwarkCore

/// The timeout policy: cancels the operation when it has run for ``duration``, and reports
/// `BulwarkError/timedOut(after:)`.
///
/// Placed outermost in a pipeline it bounds the whole call, retries and backoffs included (an
/// overall timeout); placed innermost it bounds each attempt (a per-attempt timeout), and a retry
/// around it retries attempts that timed out.
///
/// **Design and cost.** Swift can only cancel a task it does not run on without making the
/// cancellation stick to the caller, so the operation runs in one child task (an `async let`,
/// allocated from the caller's task allocator). The deadline is not a second sleeping child per
/// call: every call of one policy is watched by a single timer task, which sleeps until the
/// earliest deadline of a heap of calls in flight (O(log n) to arm and disarm, no allocation once
/// warm) and cancels the calls whose deadline has passed. Calls of one duration arrive in deadline
/// order, so the timer wakes about once per ``duration``, not once per call. The timer sleeps out
/// the time it was started for even when its calls end first, so a `Timeout` and its timer task
/// outlive the last call by at most ``duration``.
///
/// **Cooperative cancellation.** At the deadline the operation's task is cancelled; Swift cannot
/// stop code that ignores cancellation, and structured concurrency does not let the caller leave
/// before its child ends. So:
/// - an operation that stops and throws `CancellationError` (as `Task.sleep` and AsyncHTTPClient
///   do) ends the call at the deadline with `BulwarkError/timedOut(after:)`; one that throws an
///   error of its own (URLSession's `URLError(.cancelled)`) ends it with that error, which a
///   caller may map;
/// - an operation that ignores cancellation holds the caller until it ends; if it then succeeds,
///   its value is returned (the work is done; discarding it helps nobody), and if it fails, its own
///   error is. A `ResilienceEvent/Kind/timeoutFired(after:)` event is emitted either way.
/// This is Polly v8's (cooperative) timeout; Resilience4j's `TimeLimiter` instead abandons the
/// future, which a structured Swift call cannot do.
///
///     let timeout = try Timeout(.seconds(30))
///     let reply = try await timeout.execute(context) { _ in try await provider.chat(request) }
public final class Timeout<C: NanosecondClock>: OutcomePolicy {
    /// How long the operation may run.
    public let duration: Duration
    /// The clock deadlines are read and slept on.
    public let clock: C
    /// Where the policy's events go: timeouts that fired.
    public let events = EventChannel(defaultName: "Timeout")

    @usableFromInline let nanoseconds: Int64
    private let watch = LockedValue(Watch())

    private struct Watch {
        var calls = DeadlineHeap()
        /// The running timer's generation and the reading it sleeps until; `nil` when none runs.
        var timer: (generation: UInt64, wakeAt: Int64, task: Task<Void, Never>)?
        var generation: UInt64 = 0
    }

    /// Creates a timeout of ``duration`` on `clock`.
    ///
    /// - Throws: `BulwarkError/invalidConfiguration(field:rule:)` when ``duration`` is shorter than
    ///   1 ns.
    public init(_ duration: Duration, clock: C = ContinuousClock()) throws(BulwarkError) {
        guard duration >= .nanoseconds(1) else {
            throw .invalidConfiguration(field: "duration", rule: "must be at least 1 ns (got \(duration))")
        }
        self.duration = duration
        self.clock = clock
        self.nanoseconds = duration.saturatingNanoseconds
    }

    /// Runs `operation` in a child task cancelled at the deadline; a time-out is
    /// `ExecutionOutcome/rejected(_:)` with `BulwarkError/timedOut(after:)`.
    @inlinable
    public func executeOutcome<Success: Sendable>(
        _ context: ResilienceContext,
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>
    ) async -> ExecutionOutcome<Success> {
        let deadline = clock.nowNanoseconds.addingSaturating(nanoseconds)
        async let watched = run(operation, context, until: deadline)
        let (outcome, fired) = await watched
        guard _slowPath(fired) else { return outcome }
        return timedOut(outcome, context)
    }

    /// The outcome of a call whose deadline fired: a cancellation it caused becomes a time-out.
    @usableFromInline
    func timedOut<Success: Sendable>(_ outcome: ExecutionOutcome<Success>, _ context: ResilienceContext) -> ExecutionOutcome<Success> {
        events.emit(.timeoutFired(after: duration), context: context)
        if case .failure(let error) = outcome, error is CancellationError, !Task.isCancelled {
            return .rejected(.timedOut(after: duration))
        }
        return outcome
    }

    /// In the child task: watched from start to end; says whether the deadline fired.
    @inlinable
    func run<Success: Sendable>(
        _ operation: @Sendable (ResilienceContext) async -> ExecutionOutcome<Success>,
        _ context: ResilienceContext,
        until deadline: Int64
    ) async -> (ExecutionOutcome<Success>, Bool) {
        guard let slot = withUnsafeCurrentTask(body: { task in task.map { arm($0, until: deadline) } }) else {
            return (await operation(context), false)
        }
        let outcome = await operation(context)
        return (outcome, await disarm(slot))
    }

    @usableFromInline
    func arm(_ task: UnsafeCurrentTask, until deadline: Int64) -> Int {
        watch.withLock { watch in
            let slot = watch.calls.arm(task, until: deadline)
            if let timer = watch.timer, timer.wakeAt <= deadline { return slot }
            // No timer, or one sleeping past this deadline: a new one replaces it. It is created
            // under the lock, so no other call can see the gap between the two.
            watch.timer?.task.cancel()
            watch.generation &+= 1
            let generation = watch.generation
            watch.timer = (generation, deadline, Task { [self] in await runTimer(generation: generation) })
            return slot
        }
    }

    /// Stops watching a call (waiting while the timer is cancelling it, so its task outlives the
    /// cancellation); says whether its deadline fired.
    @usableFromInline
    func disarm(_ slot: Int) async -> Bool {
        while true {
            let fired = watch.withLock { watch -> Bool? in
                watch.calls.isFiring(slot) ? nil : watch.calls.disarm(slot)
            }
            if let fired { return fired }
            await Task.yield()
        }
    }

    /// The timer: sleeps until the earliest deadline watched, cancels every call due, and goes on
    /// until it wakes with nobody watched or a newer timer replaced it.
    ///
    /// It sleeps out the time it was started for even if its calls end first, so that calls
    /// arriving meanwhile (their deadlines later) find it running and start no task of their own.
    private func runTimer(generation: UInt64) async {
        var woken = false
        while true {
            let wakeAt = watch.withLock { watch -> Int64? in
                guard watch.generation == generation, let timer = watch.timer else { return nil }
                if let earliest = watch.calls.earliest {
                    watch.timer?.wakeAt = earliest
                    return earliest
                }
                if woken {
                    watch.timer = nil
                    return nil
                }
                return timer.wakeAt
            }
            guard let wakeAt else { return }
            try? await clock.sleep(untilNanoseconds: wakeAt)
            woken = true
            let now = clock.nowNanoseconds
            var due: [(slot: Int, task: UnsafeCurrentTask)] = []
            watch.withLock { watch in
                guard watch.generation == generation else { return }
                while let call = watch.calls.popDue(at: now) { due.append(call) }
            }
            guard !due.isEmpty else { continue }
            for call in due { call.task.cancel() }
            watch.withLock { watch in
                for call in due { watch.calls.markFired(call.slot) }
            }
        }
    }
}

